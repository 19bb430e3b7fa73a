//! The local stack reads `template.yaml` once per start: every emulator (tables, queues, bus
//! rules, event sources, the workflow, the functions' settings, the API gateway) takes its part
//! from the one parsed template. Its own test binary, so no other test parses meanwhile.

use local_stack::{Stack, StackOptions, auth_key};

#[tokio::test]
async fn the_template_is_parsed_once_per_start() {
    let before = local::Template::parse_count();
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let keys = tempfile::tempdir().unwrap();
    let auth = auth_key(keys.path()).unwrap();
    let _app = local_stack::web::app(&stack, &auth).unwrap();
    assert_eq!(local::Template::parse_count() - before, 1);
    let mut served: Vec<_> = stack.hub.functions.names().collect();
    served.sort_unstable();
    // Every function of the template but the Cognito triggers (no Cognito locally).
    let mut expected: Vec<_> = stack
        .template
        .resources_of_type("AWS::Serverless::Function")
        .map(|(id, _)| id)
        .filter(|id| *id != "AuthChallengeFunction")
        .collect();
    expected.sort_unstable();
    assert_eq!(served, expected);
    stack.stop().await;
}
