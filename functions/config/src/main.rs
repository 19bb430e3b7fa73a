fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<config::Handler<function::AwsPlatform>>()
}
