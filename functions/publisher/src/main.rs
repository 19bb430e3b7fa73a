fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<publisher::Handler<function::AwsPlatform>>()
}
