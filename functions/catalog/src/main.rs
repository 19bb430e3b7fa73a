fn main() -> Result<(), lambda_runtime::Error> {
    function::run::<catalog::Handler>()
}
