//! The realtime topics and who may read them: one definition for the publisher (which topics an
//! event goes to), the local MQTT broker (who may subscribe) and the realtime-access route
//! (which topics a signed-in frontend is told to subscribe to). The IoT policies in
//! `template.yaml` say the same in IAM terms (tested in `tests/tests/realtime_policies.rs`).

use crate::Caller;

/// Baristas' and displays' topic: every application event, task tokens included. Admins only.
pub const ADMIN_TOPIC: &str = "serverlesspresso-admin";
/// Store open/closed changes, read by every app.
pub const CONFIG_TOPIC: &str = "serverlesspresso-config";
/// One customer's order updates; the user's `sub` follows the prefix.
pub const USER_TOPIC_PREFIX: &str = "serverlesspresso-user-";

/// The topic of the customer whose user-pool `sub` this is.
pub fn user_topic(sub: &str) -> String {
    format!("{USER_TOPIC_PREFIX}{sub}")
}

/// Every topic `caller` may read: their own, the config topic, and the admin topic for admins.
pub fn readable_topics(caller: &Caller) -> Vec<String> {
    let mut topics = vec![user_topic(&caller.sub), CONFIG_TOPIC.to_owned()];
    if caller.is_admin() {
        topics.push(ADMIN_TOPIC.to_owned());
    }
    topics
}

/// Whether `caller` may read `topic` (an exact topic name, no wildcards).
pub fn may_read(caller: &Caller, topic: &str) -> bool {
    readable_topics(caller).iter().any(|t| t == topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(sub: &str) -> Caller {
        Caller::new(sub, vec![])
    }

    #[test]
    fn a_customer_reads_their_own_topic_and_the_config_topic_only() {
        let alice = customer("alice");
        assert_eq!(
            readable_topics(&alice),
            ["serverlesspresso-user-alice", "serverlesspresso-config"]
        );
        assert!(!may_read(&alice, ADMIN_TOPIC));
        assert!(!may_read(&alice, "serverlesspresso-user-bob"));
        // Not a prefix match: alice may not read alice2's topic.
        assert!(!may_read(&alice, "serverlesspresso-user-alice2"));
    }

    #[test]
    fn an_admin_also_reads_the_admin_topic() {
        let barista = Caller::new("b1", vec!["admin".into()]);
        assert!(may_read(&barista, ADMIN_TOPIC));
        assert!(may_read(&barista, "serverlesspresso-user-b1"));
        assert!(!may_read(&barista, "serverlesspresso-user-alice"));
    }
}
