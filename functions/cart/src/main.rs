fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<cart::Handler<function::AwsPlatform>>()
}
