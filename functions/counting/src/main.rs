fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<counting::Handler>()
}
