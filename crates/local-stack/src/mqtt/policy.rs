//! Who may subscribe to what: the local counterpart of the IoT policy that decides, per topic,
//! what a frontend's identity may read in AWS.
//!
//! * A customer may subscribe to their own topic (`serverlesspresso-user-<their sub>`) and to
//!   `serverlesspresso-config`; an admin (group `admin` in `cognito:groups`) also to
//!   `serverlesspresso-admin`, which carries task tokens and QR codes.
//! * A filter is allowed only if every topic it can match is allowed. A filter with a wildcard
//!   (`+`, `#`) matches infinitely many topic names while an identity is allowed finitely many,
//!   so a wildcard filter is never allowed (not even `serverlesspresso-user-alice/#`: it also
//!   matches `serverlesspresso-user-alice/x`); an allowed filter is exactly an allowed topic.
//! * Nobody publishes but the stack: [`super::front`] closes a client's connection at its first
//!   PUBLISH, whoever the client is.

use serde_json::{Map, Value};

/// The Cognito group whose members see the admin topic (as the API's admin routes).
pub use domain::identity::ADMIN_GROUP;
pub use domain::realtime::{ADMIN_TOPIC, CONFIG_TOPIC, USER_TOPIC_PREFIX};

/// Whom a connection belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The broker runs without authentication ([`super::MqttBroker::start`], for tests and
    /// tools): there is nobody to tell apart, so every filter is allowed.
    Anyone,
    /// The holder of a verified local token.
    User { sub: String, admin: bool },
}

impl Identity {
    /// The identity in a verified token's claims; `None` without a (non-empty) `sub`.
    pub fn from_claims(claims: &Map<String, Value>) -> Option<Identity> {
        let sub = claims.get("sub")?.as_str()?;
        if sub.is_empty() {
            return None;
        }
        // Cognito writes the groups as an array; a comma-joined string (API Gateway's rendering)
        // is read too, so that a hand-made token means what it seems to.
        let admin = match claims.get("cognito:groups") {
            Some(Value::Array(groups)) => groups.iter().any(|g| g.as_str() == Some(ADMIN_GROUP)),
            Some(Value::String(groups)) => groups.split(',').any(|g| g.trim() == ADMIN_GROUP),
            _ => false,
        };
        Some(Identity::User {
            sub: sub.to_owned(),
            admin,
        })
    }

    /// Whether this identity may subscribe to `filter` (see the module documentation).
    pub fn may_subscribe(&self, filter: &str) -> bool {
        let (sub, admin) = match self {
            Identity::Anyone => return true,
            Identity::User { sub, admin } => (sub, *admin),
        };
        if filter.contains(['+', '#']) {
            return false;
        }
        let groups = if admin {
            vec![ADMIN_GROUP.to_owned()]
        } else {
            vec![]
        };
        domain::realtime::may_read(&domain::Caller::new(sub.as_str(), groups), filter)
    }

    /// The client id the broker sees for a client that asked for `requested`: prefixed with the
    /// identity, so that one user cannot take over another's session (MQTT hands a client id's
    /// session, subscriptions included, to whoever connects with that id) nor the stack's own
    /// link. The length of `sub` comes first, so that no two (sub, id) pairs give the same
    /// result. An empty id (the broker should assign one) gets a random one.
    pub fn broker_client_id(&self, requested: &str) -> String {
        let requested = if requested.is_empty() {
            uuid::Uuid::new_v4().simple().to_string()
        } else {
            requested.to_owned()
        };
        match self {
            Identity::Anyone => format!("anyone:{requested}"),
            Identity::User { sub, .. } => format!("{}:{sub}:{requested}", sub.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(sub: &str, admin: bool) -> Identity {
        Identity::User {
            sub: sub.to_owned(),
            admin,
        }
    }

    #[test]
    fn identity_from_claims() {
        let claims = |v: Value| v.as_object().cloned().unwrap_or_default();
        let admin = claims(json!({"sub": "a", "cognito:groups": ["baristas", "admin"]}));
        assert_eq!(Identity::from_claims(&admin), Some(user("a", true)));
        let joined = claims(json!({"sub": "a", "cognito:groups": "baristas, admin"}));
        assert_eq!(Identity::from_claims(&joined), Some(user("a", true)));
        let customer = claims(json!({"sub": "c", "cognito:groups": ["admins"]}));
        assert_eq!(Identity::from_claims(&customer), Some(user("c", false)));
        assert_eq!(Identity::from_claims(&claims(json!({"sub": ""}))), None);
        assert_eq!(Identity::from_claims(&claims(json!({"sub": 7}))), None);
    }

    #[test]
    fn customers_read_their_own_topic_and_the_config() {
        let alice = user("alice", false);
        assert!(alice.may_subscribe("serverlesspresso-user-alice"));
        assert!(alice.may_subscribe(CONFIG_TOPIC));
        for refused in [
            ADMIN_TOPIC,
            "serverlesspresso-user-bob",
            "serverlesspresso-user-",
            "serverlesspresso-user-alice/x",
            "",
        ] {
            assert!(!alice.may_subscribe(refused), "{refused}");
        }
    }

    #[test]
    fn admins_also_read_the_admin_topic_but_no_other_customer() {
        let admin = user("boss", true);
        assert!(admin.may_subscribe(ADMIN_TOPIC));
        assert!(admin.may_subscribe(CONFIG_TOPIC));
        assert!(admin.may_subscribe("serverlesspresso-user-boss"));
        assert!(!admin.may_subscribe("serverlesspresso-user-alice"));
    }

    #[test]
    fn wildcards_are_refused_even_where_they_start_with_an_allowed_topic() {
        let admin = user("alice", true);
        for filter in [
            "#",
            "+",
            "serverlesspresso-#",
            "serverlesspresso-user-+",
            "serverlesspresso-user-alice/#",
            "serverlesspresso-admin/+",
            "+/serverlesspresso-admin",
            "$share/g/serverlesspresso-admin/#",
        ] {
            assert!(!admin.may_subscribe(filter), "{filter}");
        }
        // A sub with a wildcard in it does not make a wildcard filter allowed.
        assert!(!user("#", false).may_subscribe("serverlesspresso-user-#"));
        assert!(Identity::Anyone.may_subscribe("#"));
    }

    #[test]
    fn client_ids_are_per_identity() {
        let a = user("a", false).broker_client_id("b:c");
        let b = user("a:b", false).broker_client_id("c");
        assert_ne!(a, b);
        assert_ne!(
            user("a", false).broker_client_id(""),
            user("a", false).broker_client_id("")
        );
        assert!(
            !user("x", false)
                .broker_client_id(super::super::LINK_ID_PREFIX)
                .starts_with(super::super::LINK_ID_PREFIX)
        );
    }
}
