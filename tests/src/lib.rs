//! Shared helpers of the system tests: reading the project's own definition files.

use serde_json::Value;

/// The order workflow, as committed (placeholders not yet substituted).
pub fn workflow_text() -> String {
    std::fs::read_to_string(local::workspace_root().join("statemachine/order-processor.asl.json"))
        .unwrap_or_default()
}

pub fn workflow() -> Value {
    serde_json::from_str(&workflow_text()).unwrap_or(Value::Null)
}

pub fn template() -> serde_yaml::Value {
    let text =
        std::fs::read_to_string(local::workspace_root().join("template.yaml")).unwrap_or_default();
    serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::Null)
}

/// Every state of a definition, including those inside Parallel branches and Map processors,
/// as (name, state).
pub fn all_states(definition: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(states) = definition.get("States").and_then(Value::as_object) {
        for (name, state) in states {
            out.push((name.clone(), state.clone()));
            for branch in state
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(all_states(branch));
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(p) = state.get(key) {
                    out.extend(all_states(p));
                }
            }
        }
    }
    out
}

/// The `${Name}` placeholders in a text.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names.sort();
    names.dedup();
    names
}
