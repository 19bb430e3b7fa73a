//! Walks the order workflow's definition: the rules the project holds it to, which neither
//! SAM nor asl-validator checks.

use serde_json::Value;
use system_tests::{all_states, placeholders, template, workflow, workflow_text};

fn tasks() -> Vec<(String, Value)> {
    all_states(&workflow())
        .into_iter()
        .filter(|(_, s)| s["Type"] == "Task")
        .collect()
}

#[test]
fn the_workflow_has_tasks_to_check() {
    assert!(tasks().len() >= 8, "found only {} tasks", tasks().len());
}

#[test]
fn every_task_retries_and_catches() {
    for (name, state) in tasks() {
        let retry = state["Retry"].as_array().map_or(0, Vec::len);
        let catch = state["Catch"].as_array().map_or(0, Vec::len);
        assert!(retry > 0, "{name} has no Retry");
        assert!(catch > 0, "{name} has no Catch");
        // The last catcher takes everything, so no error can escape the failure paths.
        let last = &state["Catch"][catch - 1]["ErrorEquals"];
        assert_eq!(
            last,
            &serde_json::json!(["States.ALL"]),
            "{name}: last Catch is not States.ALL"
        );
    }
}

#[test]
fn no_retry_swallows_timeouts_or_business_errors() {
    for (name, state) in tasks() {
        for retrier in state["Retry"].as_array().into_iter().flatten() {
            for e in retrier["ErrorEquals"].as_array().into_iter().flatten() {
                let e = e.as_str().unwrap_or_default();
                if name == "Finish" {
                    continue; // finishing is retried on everything: it must happen
                }
                assert!(
                    !matches!(
                        e,
                        "States.ALL"
                            | "States.Timeout"
                            | "States.HeartbeatTimeout"
                            | "PaymentDeclined"
                            | "RestaurantRejected"
                            | "OrderClosed"
                    ),
                    "{name} retries {e}"
                );
            }
        }
    }
}

#[test]
fn every_callback_wait_has_a_heartbeat_and_catches_it() {
    let waits: Vec<_> = tasks()
        .into_iter()
        .filter(|(_, s)| {
            s["Resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(".waitForTaskToken"))
        })
        .collect();
    assert_eq!(waits.len(), 2, "the customer wait and the barista wait");
    for (name, state) in waits {
        let hb = state["HeartbeatSeconds"].as_u64();
        assert!(hb.is_some_and(|s| s > 0), "{name} has no HeartbeatSeconds");
        let catches_timeout = state["Catch"].as_array().into_iter().flatten().any(|c| {
            c["ErrorEquals"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e == "States.HeartbeatTimeout")
        });
        assert!(
            catches_timeout,
            "{name} does not catch its heartbeat timeout"
        );
        assert!(
            state.to_string().contains("$$.Task.Token"),
            "{name} never hands out its task token"
        );
    }
    let by_name = |n: &str| tasks().into_iter().find(|(k, _)| k == n).map(|(_, s)| s);
    assert_eq!(by_name("WaitForDrink").unwrap()["HeartbeatSeconds"], 300);
    assert_eq!(by_name("SendToBarista").unwrap()["HeartbeatSeconds"], 900);
}

#[test]
fn every_transition_target_exists_and_every_state_is_reachable() {
    let wf = workflow();
    let states = wf["States"].as_object().unwrap();
    let mut targets = vec![wf["StartAt"].as_str().unwrap().to_owned()];
    for (name, s) in states {
        let mut next: Vec<&str> = Vec::new();
        next.extend(s["Next"].as_str());
        next.extend(s["Default"].as_str());
        for c in s["Choices"].as_array().into_iter().flatten() {
            next.extend(c["Next"].as_str());
        }
        for c in s["Catch"].as_array().into_iter().flatten() {
            next.extend(c["Next"].as_str());
        }
        for n in next {
            assert!(states.contains_key(n), "{name} goes to unknown state {n}");
            targets.push(n.to_owned());
        }
    }
    for name in states.keys() {
        assert!(targets.contains(name), "{name} is unreachable");
    }
}

#[test]
fn every_path_to_an_end_passes_through_finish() {
    // Remove Finish from the graph: then no Succeed, Fail or End state may be reachable.
    let wf = workflow();
    let states = wf["States"].as_object().unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![wf["StartAt"].as_str().unwrap().to_owned()];
    while let Some(name) = todo.pop() {
        if name == "Finish" || !seen.insert(name.clone()) {
            continue;
        }
        let s = &states[&name];
        let terminal = s["End"] == true || s["Type"] == "Succeed" || s["Type"] == "Fail";
        assert!(
            !terminal,
            "{name} ends the execution without passing through Finish"
        );
        for key in ["Next", "Default"] {
            todo.extend(s[key].as_str().map(str::to_owned));
        }
        for list in ["Choices", "Catch"] {
            for c in s[list].as_array().into_iter().flatten() {
                todo.extend(c["Next"].as_str().map(str::to_owned));
            }
        }
    }
    assert!(seen.contains("WaitForDrink") && seen.contains("SendToBarista"));
}

#[test]
fn every_placeholder_is_a_definition_substitution_of_the_template() {
    let used = placeholders(&workflow_text());
    assert!(
        used.contains(&"ManageStateFunctionArn".to_owned()),
        "{used:?}"
    );
    let machines: Vec<serde_yaml::Value> = template()["Resources"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::StateMachine"))
        .map(|(_, r)| r.clone())
        .collect();
    assert_eq!(machines.len(), 1, "one order workflow in the template");
    let subs = machines[0]["Properties"]["DefinitionSubstitutions"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    let mut defined: Vec<String> = subs
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    defined.sort();
    assert_eq!(used, defined, "placeholders used vs substitutions defined");
    assert_eq!(
        machines[0]["Properties"]["DefinitionUri"].as_str(),
        Some("statemachine/order-processor.asl.json")
    );
}

#[test]
fn placeholders_are_found() {
    assert_eq!(
        placeholders("a ${X} b ${Y}${X} ${unterminated"),
        ["X".to_owned(), "Y".to_owned()]
    );
}

#[test]
fn failed_and_timed_out_executions_raise_alarms() {
    let resources = template()["Resources"].clone();
    let alarms: Vec<&serde_yaml::Value> = resources
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .filter(|r| r["Properties"]["Namespace"].as_str() == Some("AWS/States"))
        .collect();
    for metric in ["ExecutionsFailed", "ExecutionsTimedOut"] {
        let alarm = alarms
            .iter()
            .find(|a| a["Properties"]["MetricName"].as_str() == Some(metric))
            .unwrap_or_else(|| panic!("no alarm on {metric}"));
        let dims = format!("{:?}", alarm["Properties"]["Dimensions"]);
        assert!(
            dims.contains("StateMachineArn") && dims.contains("OrderProcessorStateMachine"),
            "{metric}: {dims}"
        );
        assert_eq!(alarm["Properties"]["Threshold"].as_u64(), Some(0));
    }
}
