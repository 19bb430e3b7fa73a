fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<manage_state::Handler<function::AwsPlatform>>()
}
