fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<qr_validator::Handler<function::AwsPlatform>>()
}
