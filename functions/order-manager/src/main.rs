fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<order_manager::Handler<function::AwsPlatform>>()
}
