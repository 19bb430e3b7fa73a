//! What the benches share.

use local::gateway::LocalAuth;
use local_stack::Stack;

/// The API without the template's throttle (50 req/s, burst 100), which would turn a benchmark
/// into 429s.
pub fn unthrottled_app(stack: &Stack, auth: &LocalAuth) -> axum::Router {
    let unthrottled = local::gateway::Throttle {
        rate_per_second: 1e9,
        burst: 1_000_000,
    };
    local_stack::web::app_with_throttle(stack, auth, Some(unthrottled)).expect("app")
}
