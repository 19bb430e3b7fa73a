//! What the local stack reads from `template.yaml`, so it runs what AWS would run: the
//! workflow's `DefinitionSubstitutions` (resolved to local ARNs), the functions' settings (the
//! parameters' defaults), and which queue feeds which function.

use crate::StackError;
use crate::functions::FunctionSettings;
use domain::lifecycle::Pricing;
use domain::qr::QrPolicy;
use local::rules::logical_id;
use serde_yaml::Value as Y;
use std::collections::HashMap;

fn parse(template_yaml: &str) -> Result<Y, StackError> {
    serde_yaml::from_str(template_yaml).map_err(|e| StackError::Template(e.to_string()))
}

fn resource_type<'a>(doc: &'a Y, id: &str) -> Option<&'a str> {
    doc["Resources"][id]["Type"].as_str()
}

fn parameter_default(doc: &Y, name: &str) -> Option<String> {
    match &doc["Parameters"][name]["Default"] {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number<T: std::str::FromStr>(doc: &Y, name: &str, default: T) -> T {
    parameter_default(doc, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The local value of a template reference: a function's ARN, a parameter's default, a
/// topic's or bus's name/ARN.
fn resolve(doc: &Y, value: &Y) -> Result<String, StackError> {
    // References first: serde_yaml's `as_str` would see through a `!GetAtt` tag.
    let Some(id) = logical_id(value) else {
        return value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| StackError::Template(format!("cannot resolve {value:?} locally")));
    };
    if doc["Parameters"].get(id.as_str()).is_some() {
        return parameter_default(doc, &id)
            .ok_or_else(|| StackError::Template(format!("parameter {id} has no default")));
    }
    match resource_type(doc, &id) {
        Some("AWS::Serverless::Function") | Some("AWS::Lambda::Function") => {
            Ok(format!("arn:aws:lambda:local:000000000000:function:{id}"))
        }
        Some("AWS::SNS::Topic") => Ok(format!("arn:aws:sns:local:000000000000:{id}")),
        Some("AWS::SQS::Queue") => Ok(format!("arn:aws:sqs:local:000000000000:{id}")),
        Some("AWS::Events::EventBus") => {
            resolve(doc, &doc["Resources"][id.as_str()]["Properties"]["Name"])
        }
        Some("AWS::DynamoDB::Table") => Ok(id),
        other => Err(StackError::Template(format!(
            "cannot resolve {id} ({other:?}) locally"
        ))),
    }
}

/// The order workflow's `DefinitionSubstitutions`, resolved for the local stack.
pub fn local_substitutions(template_yaml: &str) -> Result<HashMap<String, String>, StackError> {
    let doc = parse(template_yaml)?;
    let machine = doc["Resources"]
        .as_mapping()
        .into_iter()
        .flatten()
        .find(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::StateMachine"))
        .map(|(_, r)| r.clone())
        .ok_or_else(|| StackError::Template("no AWS::Serverless::StateMachine".into()))?;
    let mut subs = HashMap::new();
    for (k, v) in machine["Properties"]["DefinitionSubstitutions"]
        .as_mapping()
        .into_iter()
        .flatten()
    {
        let key = k.as_str().unwrap_or_default().to_owned();
        subs.insert(key, resolve(&doc, v)?);
    }
    Ok(subs)
}

/// The settings the template hands the functions, from its parameters' defaults.
pub fn function_settings(template_yaml: &str) -> Result<FunctionSettings, StackError> {
    let doc = parse(template_yaml)?;
    let d = FunctionSettings::default();
    Ok(FunctionSettings {
        qr: QrPolicy {
            interval_minutes: number(&doc, "QrIntervalMinutes", d.qr.interval_minutes),
            tokens_per_bucket: number(&doc, "QrTokensPerBucket", d.qr.tokens_per_bucket),
        },
        reset_hour_utc: number(&doc, "OrderNumberResetHourUtc", d.reset_hour_utc),
        grace_seconds: number(&doc, "CancellationGraceSeconds", d.grace_seconds),
        pricing: Pricing {
            unit_price_cents: number(
                &doc,
                "DirectOrderUnitPriceCents",
                d.pricing.unit_price_cents,
            ),
        },
        cart_hold_ms: number(&doc, "CartHoldMinutes", d.cart_hold_ms / 60_000) * 60_000,
        ..d
    })
}

/// Something that feeds a function: a SAM `SQS` event (a queue) or `DynamoDB` event (a
/// table's stream), named by the logical id of the queue or table.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSource {
    pub source: String,
    pub function: String,
    pub batch_size: usize,
}

/// The function events of type `kind` whose `property` names the source (`SQS`/`Queue`,
/// `DynamoDB`/`Stream`), with SAM's default batch size when the template sets none.
fn event_sources(
    template_yaml: &str,
    kind: &str,
    property: &str,
    default_batch: usize,
) -> Result<Vec<EventSource>, StackError> {
    let doc = parse(template_yaml)?;
    let mut out = Vec::new();
    for (id, res) in doc["Resources"].as_mapping().into_iter().flatten() {
        for (_, ev) in res["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if ev["Type"].as_str() == Some(kind)
                && let Some(source) = logical_id(&ev["Properties"][property])
            {
                out.push(EventSource {
                    source,
                    function: id.as_str().unwrap_or_default().to_owned(),
                    batch_size: ev["Properties"]["BatchSize"]
                        .as_u64()
                        .map_or(default_batch, |b| b as usize),
                });
            }
        }
    }
    Ok(out)
}

/// Queues that feed functions.
pub fn sqs_sources(template_yaml: &str) -> Result<Vec<EventSource>, StackError> {
    event_sources(template_yaml, "SQS", "Queue", 10)
}

/// Table streams that feed functions.
pub fn stream_sources(template_yaml: &str) -> Result<Vec<EventSource>, StackError> {
    event_sources(template_yaml, "DynamoDB", "Stream", 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_templates_substitutions_resolve_to_local_names() {
        let template =
            std::fs::read_to_string(local::workspace_root().join("template.yaml")).unwrap();
        let subs = super::local_substitutions(&template).unwrap();
        assert_eq!(
            subs["ManageStateFunctionArn"],
            "arn:aws:lambda:local:000000000000:function:ManageStateFunction"
        );
        assert_eq!(subs["EventBusName"], "Serverlesspresso");
        assert_eq!(
            subs["OrderTopicArn"],
            "arn:aws:sns:local:000000000000:OrderTopic"
        );
        let settings = super::function_settings(&template).unwrap();
        assert_eq!(
            (settings.grace_seconds, settings.qr.tokens_per_bucket),
            (30, 10)
        );
        let streams = super::stream_sources(&template).unwrap();
        let mut fed: Vec<_> = streams
            .iter()
            .map(|s| (s.source.as_str(), s.function.as_str(), s.batch_size))
            .collect();
        fed.sort_unstable();
        assert_eq!(
            fed,
            [
                ("ConfigTable", "ConfigFunction", 10),
                ("OrdersApiTable", "SqsPollerFunction", 10)
            ]
        );
        let sources = super::sqs_sources(&template).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(
            (sources[0].source.as_str(), sources[0].function.as_str()),
            ("OrderQueue", "SqsPollerFunction")
        );
    }
}
