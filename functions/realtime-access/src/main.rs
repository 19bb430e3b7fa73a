fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<realtime_access::Handler>()
}
