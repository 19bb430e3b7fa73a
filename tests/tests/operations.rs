//! The template's operations wiring: every dead-letter queue and the workflow have alarms that
//! notify the operations topic, and every function's log group is declared with a retention.

use serde_yaml::Value;

fn resources() -> serde_yaml::Mapping {
    let text = std::fs::read_to_string(local::workspace_root().join("template.yaml")).unwrap();
    local::template_resources(&text).unwrap()
}

fn of_type<'a>(res: &'a serde_yaml::Mapping, ty: &str) -> Vec<(&'a str, &'a Value)> {
    res.iter()
        .filter(|(_, r)| r["Type"] == *ty)
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

/// The text of a `!Ref X` / `!GetAtt X.Y` value, or a plain string.
fn target(v: &Value) -> String {
    match v {
        Value::Tagged(t) => target(&t.value),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn notifies_operations(alarm: &Value) -> bool {
    alarm["Properties"]["AlarmActions"]
        .as_sequence()
        .is_some_and(|a| a.iter().any(|x| target(x) == "OperationsTopic"))
}

#[test]
fn every_dead_letter_queue_has_an_alarm_that_notifies_operations() {
    let res = resources();
    let alarms = of_type(&res, "AWS::CloudWatch::Alarm");
    let queues = of_type(&res, "AWS::SQS::Queue");
    let dlqs: Vec<&str> = queues
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| id.ends_with("DLQ"))
        .collect();
    assert!(dlqs.len() >= 5, "{dlqs:?}");
    for dlq in dlqs {
        let watched = alarms.iter().any(|(_, a)| {
            a["Properties"]["Dimensions"]
                .as_sequence()
                .is_some_and(|d| {
                    d.iter()
                        .any(|d| target(&d["Value"]) == format!("{dlq}.QueueName"))
                })
                && notifies_operations(a)
        });
        assert!(watched, "{dlq} has no alarm to the operations topic");
    }
}

#[test]
fn every_alarm_notifies_operations_and_the_workflow_is_watched() {
    let res = resources();
    let alarms = of_type(&res, "AWS::CloudWatch::Alarm");
    for (id, a) in &alarms {
        assert!(notifies_operations(a), "{id} notifies nobody");
    }
    for metric in ["ExecutionsFailed", "ExecutionsTimedOut"] {
        assert!(
            alarms
                .iter()
                .any(|(_, a)| a["Properties"]["MetricName"] == *metric),
            "no alarm on {metric}"
        );
    }
}

#[test]
fn every_function_has_a_log_group_with_a_retention() {
    let res = resources();
    let groups = of_type(&res, "AWS::Logs::LogGroup");
    for (function, _) in of_type(&res, "AWS::Serverless::Function") {
        let name = format!("/aws/lambda/${{{function}}}");
        let group = groups
            .iter()
            .find(|(_, g)| target(&g["Properties"]["LogGroupName"]) == name);
        let Some((_, group)) = group else {
            panic!("{function} has no declared log group")
        };
        assert!(group["Properties"]["RetentionInDays"].as_u64().is_some());
    }
}

#[test]
fn function_alarms_cover_every_function() {
    let res = resources();
    let functions: Vec<&str> = of_type(&res, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let alarms = of_type(&res, "AWS::CloudWatch::Alarm");
    // A metric-math alarm takes at most 10 queries, so the functions are split over
    // FunctionXAlarm, FunctionXAlarm2, ...
    for metric in ["Errors", "Throttles"] {
        let prefix = format!("Function{metric}Alarm");
        let mut watched: Vec<String> = Vec::new();
        for (id, a) in alarms.iter().filter(|(id, _)| id.starts_with(&prefix)) {
            let queries = a["Properties"]["Metrics"].as_sequence().unwrap();
            assert!(queries.len() <= 10, "{id} has {} queries", queries.len());
            for q in queries {
                if let Some(d) = q["MetricStat"]["Metric"]["Dimensions"].as_sequence() {
                    assert_eq!(q["MetricStat"]["Metric"]["MetricName"], *metric, "{id}");
                    watched.push(target(&d[0]["Value"]));
                }
            }
        }
        for f in &functions {
            assert!(watched.iter().any(|w| w == f), "no {prefix}* watches {f}");
        }
    }
}
