fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<process_payment::Handler>()
}
