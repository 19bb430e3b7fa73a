//! The realtime access policies of template.yaml, evaluated as documents: the identity-pool
//! roles (per-user topics through the `sub` principal tag) and the IoT policy attached to each
//! identity. IoT Core allows an authenticated Cognito identity what BOTH allow, so a request is
//! allowed here only when the role and the IoT policy each have a matching Allow statement
//! (none of them uses Deny or conditions on these actions; the test fails if one appears).

use serde_yaml::Value;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn resources() -> serde_yaml::Mapping {
    let text = std::fs::read_to_string(local::workspace_root().join("template.yaml")).unwrap();
    local::template_resources(&text).unwrap()
}

/// A policy string with the pseudo parameters filled in and the `sub` session tag of `who`.
/// `${!x}` is Fn::Sub's escape for a literal `${x}`, an IAM policy variable.
fn render(s: &str, who: &str) -> String {
    s.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::AccountId}", ACCOUNT)
        .replace("${!aws:PrincipalTag/sub}", who)
}

fn strings(v: &Value, who: &str) -> Vec<String> {
    match v {
        Value::String(s) => vec![render(s, who)],
        Value::Sequence(items) => items.iter().flat_map(|i| strings(i, who)).collect(),
        Value::Tagged(t) if t.tag == "!Sub" => strings(&t.value, who),
        other => panic!("unexpected policy value {other:?}"),
    }
}

/// `pattern` with IAM's `*` (any run of characters) and `?` (one character).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn allows(statements: &[Value], action: &str, resource: &str, who: &str) -> bool {
    statements.iter().any(|st| {
        assert_eq!(st["Effect"], Value::from("Allow"), "only Allow is modelled");
        assert!(st.get("Condition").is_none(), "conditions are not modelled");
        strings(&st["Action"], who).iter().any(|a| glob(a, action))
            && strings(&st["Resource"], who)
                .iter()
                .any(|r| glob(r, resource))
    })
}

fn role_statements(role: &str) -> Vec<Value> {
    let res = resources();
    let policies = res[role]["Properties"]["Policies"].as_sequence().unwrap();
    policies
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .unwrap()
                .clone()
        })
        .collect()
}

fn iot_policy_statements() -> Vec<Value> {
    let res = resources();
    res["RealtimeIotPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone()
}

/// What the holder of `role` with user-pool sub `who` may do, after the IoT policy's AND.
fn may(role: &str, who: &str, action: &str, what: &str) -> bool {
    let arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:{what}");
    allows(&role_statements(role), action, &arn, who)
        && allows(&iot_policy_statements(), action, &arn, who)
}

const CUSTOMER: &str = "RealtimeCustomerRole";
const ADMIN: &str = "RealtimeAdminRole";

#[test]
fn glob_matches_like_iam() {
    assert!(glob("topic/a-*", "topic/a-b"));
    assert!(!glob("topic/a-*", "topic/b"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("abc", "abcd"));
}

#[test]
fn a_customer_reads_only_their_own_topic_and_the_config_topic() {
    for (action, kind) in [("iot:Subscribe", "topicfilter"), ("iot:Receive", "topic")] {
        assert!(may(
            CUSTOMER,
            "alice",
            action,
            &format!("{kind}/serverlesspresso-user-alice")
        ));
        assert!(may(
            CUSTOMER,
            "alice",
            action,
            &format!("{kind}/serverlesspresso-config")
        ));
        assert!(
            !may(
                CUSTOMER,
                "alice",
                action,
                &format!("{kind}/serverlesspresso-user-bob")
            ),
            "{action} on another customer's topic"
        );
        assert!(
            !may(
                CUSTOMER,
                "alice",
                action,
                &format!("{kind}/serverlesspresso-admin")
            ),
            "{action} on the admin topic"
        );
        assert!(
            !may(
                CUSTOMER,
                "alice",
                action,
                &format!("{kind}/serverlesspresso-user-alice/#")
            ),
            "{action} on a wildcard below the own topic"
        );
        assert!(!may(CUSTOMER, "alice", action, &format!("{kind}/#")));
    }
}

#[test]
fn a_customer_connects_with_the_frontends_client_ids_only() {
    assert!(may(
        CUSTOMER,
        "alice",
        "iot:Connect",
        "client/serverlesspresso-4711"
    ));
    assert!(!may(CUSTOMER, "alice", "iot:Connect", "client/some-device"));
}

#[test]
fn nobody_may_publish() {
    for role in [CUSTOMER, ADMIN] {
        for topic in [
            "serverlesspresso-user-alice",
            "serverlesspresso-config",
            "serverlesspresso-admin",
        ] {
            assert!(!may(
                role,
                "alice",
                "iot:Publish",
                &format!("topic/{topic}")
            ));
        }
    }
}

#[test]
fn an_admin_also_reads_the_admin_topic_but_no_other_customers_topic() {
    for (action, kind) in [("iot:Subscribe", "topicfilter"), ("iot:Receive", "topic")] {
        assert!(may(
            ADMIN,
            "bob",
            action,
            &format!("{kind}/serverlesspresso-admin")
        ));
        assert!(may(
            ADMIN,
            "bob",
            action,
            &format!("{kind}/serverlesspresso-config")
        ));
        assert!(may(
            ADMIN,
            "bob",
            action,
            &format!("{kind}/serverlesspresso-user-bob")
        ));
        assert!(!may(
            ADMIN,
            "bob",
            action,
            &format!("{kind}/serverlesspresso-user-alice")
        ));
    }
}

#[test]
fn the_roles_grant_nothing_but_realtime_reads() {
    for role in [CUSTOMER, ADMIN] {
        for st in role_statements(role) {
            for action in strings(&st["Action"], "x") {
                assert!(
                    ["iot:Connect", "iot:Subscribe", "iot:Receive"].contains(&action.as_str()),
                    "{role} grants {action}"
                );
            }
        }
    }
}

#[test]
fn roles_are_mapped_from_groups_for_signed_in_users_only() {
    let res = resources();
    let pool = &res["IdentityPool"]["Properties"];
    assert_eq!(pool["AllowUnauthenticatedIdentities"], Value::from(false));
    let attach = &res["IdentityPoolRoles"]["Properties"];
    assert!(attach["Roles"].get("unauthenticated").is_none());
    let mapping = &attach["RoleMappings"]["userPool"];
    assert_eq!(mapping["Type"], Value::from("Token"));
    assert_eq!(
        mapping["AmbiguousRoleResolution"],
        Value::from("AuthenticatedRole")
    );
    let group_role = &res["AdminGroup"]["Properties"]["RoleArn"];
    let Value::Tagged(t) = group_role else {
        panic!("AdminGroup.RoleArn is not a !GetAtt")
    };
    assert_eq!(t.value, Value::from("RealtimeAdminRole.Arn"));
    let tags = &res["RealtimeIdentityPoolPrincipalTag"]["Properties"]["PrincipalTags"];
    assert_eq!(
        tags["sub"],
        Value::from("sub"),
        "the session tag sub is the token's sub"
    );
}
