//! EventBridge rules, read from `template.yaml`, and the event-pattern matching they need.
//!
//! Two ways the template declares a rule, both read: an `AWS::Events::Rule` resource (its
//! `EventPattern` and `Targets`), and a SAM function event of type `EventBridgeRule` /
//! `CloudWatchEvent` (its `Pattern`; the function is the target). Targets are named by logical
//! id (`!GetAtt PublisherFunction.Arn` → `PublisherFunction`), which is how the local stack
//! finds the function or queue to deliver to.

use crate::LocalError;
use crate::template::{Template, logical_id};
use serde_json::Value;

/// One rule: a pattern and where matching events go.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub pattern: Value,
    /// Logical ids of the targets (functions or queues).
    pub targets: Vec<String>,
    /// How long and how often a failed delivery to a function target is retried.
    pub retry: RetryPolicy,
}

/// A rule's `RetryPolicy`: EventBridge retries a failed delivery until either limit is reached,
/// then sends the event to the rule's dead-letter queue (or drops it when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all: `MaximumRetryAttempts` + 1.
    pub max_attempts: u32,
    /// `MaximumEventAgeInSeconds`.
    pub max_event_age: std::time::Duration,
}

impl Default for RetryPolicy {
    /// EventBridge's defaults: 185 retries within 24 hours.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 186,
            max_event_age: std::time::Duration::from_secs(86_400),
        }
    }
}

impl RetryPolicy {
    fn from_template(v: &Value) -> RetryPolicy {
        let d = RetryPolicy::default();
        RetryPolicy {
            max_attempts: v["MaximumRetryAttempts"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map_or(d.max_attempts, |n| n.saturating_add(1)),
            max_event_age: v["MaximumEventAgeInSeconds"]
                .as_u64()
                .map_or(d.max_event_age, std::time::Duration::from_secs),
        }
    }
}

impl Rule {
    pub fn matches(&self, event: &Value) -> bool {
        matches(&self.pattern, event)
    }
}

/// Every rule the template declares (parsing it: the local stack uses [`Template::rules`]).
pub fn rules_from_template(template_yaml: &str) -> Result<Vec<Rule>, LocalError> {
    Ok(Template::parse(template_yaml)?.rules())
}

/// Every rule of `template`.
pub(crate) fn rules(template: &Template) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (id, res) in template.resources() {
        match res["Type"].as_str() {
            Some("AWS::Events::Rule") => {
                let props = &res["Properties"];
                if props.get("EventPattern").is_none() {
                    continue; // a scheduled rule
                }
                let targets: Vec<&Value> =
                    props["Targets"].as_array().into_iter().flatten().collect();
                rules.push(Rule {
                    name: id.to_owned(),
                    pattern: plain(&props["EventPattern"]),
                    targets: targets
                        .iter()
                        .filter_map(|t| logical_id(&t["Arn"]))
                        .collect(),
                    // One policy per rule here (the template gives each rule one target).
                    retry: targets.first().map_or_else(RetryPolicy::default, |t| {
                        RetryPolicy::from_template(&t["RetryPolicy"])
                    }),
                });
            }
            Some("AWS::Serverless::Function") => {
                for (ev_name, ev) in res["Properties"]["Events"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    let kind = ev["Type"].as_str().unwrap_or_default();
                    if (kind == "EventBridgeRule" || kind == "CloudWatchEvent")
                        && ev["Properties"].get("Pattern").is_some()
                    {
                        rules.push(Rule {
                            name: format!("{id}.{ev_name}"),
                            pattern: plain(&ev["Properties"]["Pattern"]),
                            targets: vec![id.to_owned()],
                            retry: RetryPolicy::from_template(&ev["Properties"]["RetryPolicy"]),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    rules
}

/// A pattern with each intrinsic replaced by its plain argument (e.g. a `!Ref` to the bus
/// name parameter is not a pattern field we match on).
fn plain(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
        Value::Object(m) => match m.iter().next() {
            Some((k, inner)) if m.len() == 1 && (k == "Ref" || k.starts_with("Fn::")) => {
                plain(inner)
            }
            _ => Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        },
        other => other.clone(),
    }
}

/// EventBridge pattern matching, for the operators the template uses and the common ones:
/// exact values, `prefix`, `suffix`, `exists`, `anything-but` (value or list), `equals-ignore-case`,
/// and nested objects.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, want)| {
        let have = event.get(key);
        match want {
            Value::Object(_) => have.is_some_and(|h| h.is_object() && matches(want, h)),
            Value::Array(options) => options.iter().any(|o| value_matches(o, have)),
            _ => false,
        }
    })
}

fn value_matches(option: &Value, have: Option<&Value>) -> bool {
    // A field holding an array matches if any of its elements does.
    if let Some(Value::Array(items)) = have {
        return items.iter().any(|i| value_matches(option, Some(i)));
    }
    match option {
        Value::Object(op) => {
            let s = have.and_then(Value::as_str);
            if let Some(p) = op.get("prefix").and_then(Value::as_str) {
                return s.is_some_and(|s| s.starts_with(p));
            }
            if let Some(p) = op.get("suffix").and_then(Value::as_str) {
                return s.is_some_and(|s| s.ends_with(p));
            }
            if let Some(p) = op.get("equals-ignore-case").and_then(Value::as_str) {
                return s.is_some_and(|s| s.eq_ignore_ascii_case(p));
            }
            if let Some(e) = op.get("exists").and_then(Value::as_bool) {
                return have.is_some() == e;
            }
            if let Some(not) = op.get("anything-but") {
                let Some(h) = have else { return false };
                return match not {
                    Value::Array(list) => !list.contains(h),
                    other => other != h,
                };
            }
            false
        }
        exact => have == Some(exact),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(dt: &str) -> Value {
        json!({"source": "awsserverlessda.serverlesspresso", "detail-type": dt, "detail": {"userId": "u1", "n": 3}})
    }

    #[test]
    fn patterns_match_like_eventbridge() {
        let p = json!({"source": ["awsserverlessda.serverlesspresso"], "detail-type": [{"prefix": "OrderManager."}, {"prefix": "Validator."}]});
        assert!(matches(&p, &event("OrderManager.MakeOrder")));
        assert!(matches(&p, &event("Validator.NewOrder")));
        assert!(!matches(&p, &event("OrderProcessor.orderFinished")));
        assert!(!matches(
            &p,
            &json!({"source": "other", "detail-type": "Validator.NewOrder"})
        ));
        let exact = json!({"detail-type": ["Validator.NewOrder"]});
        assert!(matches(&exact, &event("Validator.NewOrder")));
        assert!(!matches(&exact, &event("Validator.NewOrders")));
        assert!(matches(&json!({"detail": {"n": [3]}}), &event("x")));
        assert!(!matches(&json!({"detail": {"n": [4]}}), &event("x")));
        assert!(matches(
            &json!({"detail": {"userId": [{"exists": true}]}}),
            &event("x")
        ));
        assert!(matches(
            &json!({"detail": {"missing": [{"exists": false}]}}),
            &event("x")
        ));
        assert!(matches(
            &json!({"detail-type": [{"anything-but": ["a", "b"]}]}),
            &event("c")
        ));
        assert!(!matches(
            &json!({"detail-type": [{"anything-but": "c"}]}),
            &event("c")
        ));
        assert!(matches(
            &json!({"detail-type": [{"suffix": ".NewOrder"}]}),
            &event("Validator.NewOrder")
        ));
        assert!(!matches(&json!("not an object"), &event("x")));
    }

    #[test]
    fn rules_are_read_from_both_template_styles() {
        let yaml = r#"
Resources:
  NewOrderRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref EventBus
      EventPattern:
        source: [awsserverlessda.serverlesspresso]
        detail-type: [Validator.NewOrder]
      Targets:
        - Id: queue
          Arn: !GetAtt OrderQueue.Arn
  Scheduled:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(1 minute)
      Targets: [{Id: x, Arn: {"Fn::GetAtt": [Robot, Arn]}}]
  OrderManagerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Started:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref EventBus
            Pattern:
              detail-type: [OrderProcessor.WorkflowStarted]
            RetryPolicy:
              MaximumRetryAttempts: 20
              MaximumEventAgeInSeconds: 300
        Api:
          Type: Api
          Properties: {Path: /x, Method: get}
"#;
        let rules = rules_from_template(yaml).unwrap();
        assert_eq!(rules.len(), 2);
        let q = rules.iter().find(|r| r.name == "NewOrderRule").unwrap();
        assert_eq!(q.targets, ["OrderQueue"]);
        assert!(q.matches(&event("Validator.NewOrder")));
        let f = rules
            .iter()
            .find(|r| r.name == "OrderManagerFunction.Started")
            .unwrap();
        assert_eq!(f.targets, ["OrderManagerFunction"]);
        assert!(f.matches(&event("OrderProcessor.WorkflowStarted")));
        assert_eq!(
            f.retry,
            RetryPolicy {
                max_attempts: 21,
                max_event_age: std::time::Duration::from_secs(300)
            }
        );
        // Without a policy, EventBridge's defaults.
        assert_eq!(q.retry, RetryPolicy::default());
        assert_eq!(q.retry.max_attempts, 186);
    }
}
