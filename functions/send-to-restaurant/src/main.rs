fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<send_to_restaurant::Handler<function::AwsPlatform>>()
}
