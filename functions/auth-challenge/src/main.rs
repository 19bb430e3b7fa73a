fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<auth_challenge::Handler>()
}
