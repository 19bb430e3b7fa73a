fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<sqs_poller::Handler<function::AwsPlatform>>()
}
