//! Who may put which events on the bus, read from template.yaml's policy documents: each
//! function (and the workflow) may emit only its own detail-types, so nothing can forge a
//! `Validator.NewOrder` for any user or an `OrderProcessor.WorkflowStarted` with its own token.

use serde_yaml::Value as Y;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Y {
    let text = std::fs::read_to_string(local::workspace_root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn strings(v: &Y) -> Vec<String> {
    match v {
        Y::String(s) => vec![s.clone()],
        Y::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every policy statement of a resource: SAM `Policies` (statements and policy templates) and
/// IAM role `Policies[].PolicyDocument`.
fn statements(resource: &Y) -> Vec<Y> {
    let props = &resource["Properties"];
    let mut found = Vec::new();
    for policy in props["Policies"].as_sequence().into_iter().flatten() {
        if let Some(doc) = policy.get("PolicyDocument") {
            found.extend(
                doc["Statement"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        } else if let Some(st) = policy.get("Statement") {
            found.extend(st.as_sequence().into_iter().flatten().cloned());
        } else {
            // A SAM policy template, kept whole so that the test can see it.
            found.push(policy.clone());
        }
    }
    found
}

/// Which detail-types each resource may put (`None` = any: an unconditioned grant).
fn put_events_grants() -> BTreeMap<String, Option<BTreeSet<String>>> {
    let doc = template();
    let mut grants = BTreeMap::new();
    for (id, resource) in doc["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap().to_owned();
        for st in statements(resource) {
            if st.get("EventBridgePutEventsPolicy").is_some() {
                grants.insert(id.clone(), None);
                continue;
            }
            if !strings(&st["Action"])
                .iter()
                .any(|a| a == "events:PutEvents")
            {
                continue;
            }
            let types = strings(&st["Condition"]["StringEquals"]["events:detail-type"]);
            let entry = grants.entry(id.clone()).or_insert(Some(BTreeSet::new()));
            match (entry, types.is_empty()) {
                (e, true) => *e = None,
                (Some(set), false) => set.extend(types),
                (None, false) => {}
            }
        }
    }
    grants
}

#[test]
fn every_emitter_may_put_only_its_own_detail_types() {
    let grants = put_events_grants();
    let expected: BTreeMap<&str, Vec<&str>> = [
        ("ConfigFunctionRole", vec!["ConfigService.ConfigChanged"]),
        ("QrValidatorFunction", vec!["Validator.NewOrder"]),
        ("CartFunction", vec!["Cart.CheckoutAccepted"]),
        (
            "OrderManagerFunction",
            vec![
                "OrderManager.MakeOrder",
                "OrderManager.OrderCancelled",
                "OrderManager.OrderCompleted",
            ],
        ),
        (
            "ManageStateFunction",
            vec![
                "OrderProcessor.OrderTimeOut",
                "OrderProcessor.ShopUnavailable",
            ],
        ),
        (
            "SendToRestaurantFunction",
            vec![
                "OrderManager.WaitingCompletion",
                "OrderProcessor.WaitingCompletion",
            ],
        ),
        (
            "OrderProcessorStateMachine",
            vec![
                "OrderProcessor.WorkflowStarted",
                "OrderProcessor.orderFinished",
            ],
        ),
    ]
    .into_iter()
    .collect();
    for (id, grant) in &grants {
        let Some(types) = grant else {
            panic!("{id} may put any event on the bus");
        };
        let want: BTreeSet<String> = expected
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} may put events; add it to this test"))
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(types, &want, "{id}");
    }
    assert_eq!(grants.len(), expected.len(), "{grants:?}");
}

#[test]
fn the_events_that_start_or_resume_orders_have_one_emitter_each() {
    let grants = put_events_grants();
    let emitters = |dt: &str| -> Vec<String> {
        grants
            .iter()
            .filter(|(_, g)| g.as_ref().is_none_or(|types| types.contains(dt)))
            .map(|(id, _)| id.clone())
            .collect()
    };
    assert_eq!(emitters("Validator.NewOrder"), ["QrValidatorFunction"]);
    assert_eq!(emitters("Cart.CheckoutAccepted"), ["CartFunction"]);
    assert_eq!(
        emitters("OrderProcessor.WorkflowStarted"),
        ["OrderProcessorStateMachine"]
    );
}
