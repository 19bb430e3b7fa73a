//! What the `/local/...` pages and the local stack's files and logs may show. Direct orders
//! carry a card number (`card`), which travels in queue bodies, the workflow's input and every
//! state's input and output; the workflow's callback tokens travel in events and task
//! parameters. Anyone holding a task token can resume or fail its workflow, and card numbers
//! are never shown: both are masked before anything is displayed.

use serde_json::{Map, Value};

/// Shown instead of a task token.
pub const REDACTED_TOKEN: &str = "[redacted task token]";

/// Shortest and longest digit runs treated as card numbers (ISO/IEC 7812 lengths).
const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// `value` with every card number masked (wherever it is: a `card` field, a JSON document held
/// in a string such as a queue body or a history event's input, or free text) and every task
/// token replaced by [`REDACTED_TOKEN`].
pub fn for_display(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(object(map)),
        Value::Array(items) => Value::Array(items.iter().map(for_display).collect()),
        Value::String(text) => Value::String(string(text)),
        other => other.clone(),
    }
}

fn object(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(key, v)| {
            let shown = match (key_kind(key), v) {
                (KeyKind::TaskToken, Value::String(_)) => Value::String(REDACTED_TOKEN.into()),
                (KeyKind::Card, Value::String(card)) => Value::String(mask_card(card)),
                (KeyKind::Card, Value::Number(n)) => Value::String(mask_card(&n.to_string())),
                _ => for_display(v),
            };
            (key.clone(), shown)
        })
        .collect()
}

enum KeyKind {
    TaskToken,
    Card,
    Other,
}

/// Keys are compared without case and separators: `TaskToken`, `taskToken`, `task_token`.
fn key_kind(key: &str) -> KeyKind {
    let folded: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match folded.as_str() {
        "tasktoken" => KeyKind::TaskToken,
        "card" | "cardnumber" | "pan" => KeyKind::Card,
        _ => KeyKind::Other,
    }
}

/// A string that holds a JSON document (queue bodies, history inputs and outputs) is redacted
/// as JSON and kept a string; any other text has its card-length digit runs masked.
fn string(text: &str) -> String {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(doc) = serde_json::from_str::<Value>(text)
    {
        return for_display(&doc).to_string();
    }
    mask_card_numbers(text)
}

/// Every digit, except the last four, as `*`: `4000000000000002` → `************0002`.
pub fn mask_card(card: &str) -> String {
    let digits = card.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    card.chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen + 4 > digits { c } else { '*' }
        })
        .collect()
}

/// Masks every run of 13 to 19 digits in free text (a card number in a message or an error).
pub fn mask_card_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if CARD_DIGITS.contains(&run.len()) {
            out.push_str(&mask_card(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cards_keep_their_last_four_digits() {
        assert_eq!(mask_card("4000000000000002"), "************0002");
        assert_eq!(mask_card("4000 0000 0000 0119"), "**** **** **** 0119");
        assert_eq!(mask_card("12"), "12");
        assert_eq!(
            mask_card_numbers("card 4000000000000002 declined at 12:00, order 1234"),
            "card ************0002 declined at 12:00, order 1234"
        );
    }

    #[test]
    fn cards_and_tokens_are_masked_at_any_depth_and_inside_json_strings() {
        let body = json!({"data": {"name": "Latte", "card": "4000000000000002"}, "userId": "u"});
        let page = json!({
            "input": {"orderId": "o1", "card": "4000000000000119", "quantity": 2},
            "history": [
                {"type": "TaskScheduled", "details": {"parameters": json!({
                    "Payload": {"taskToken": "tok-1", "request": {"card": 4000000000000002u64}}
                }).to_string()}},
                {"type": "TaskStateEntered", "input": body.to_string()},
            ],
            "detail": {"TaskToken": "tok-2", "Message": "paid with 4000000000000002"},
            "acceptedAt": 1_763_750_000_000u64,
        });
        let shown = for_display(&page);
        let text = shown.to_string();
        for secret in ["4000000000000002", "4000000000000119", "tok-1", "tok-2"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(shown["input"]["card"], "************0119");
        assert_eq!(shown["input"]["quantity"], 2, "other fields untouched");
        assert_eq!(shown["detail"]["TaskToken"], REDACTED_TOKEN);
        assert_eq!(
            shown["acceptedAt"], 1_763_750_000_000u64,
            "numbers are not cards"
        );
        let entered: Value =
            serde_json::from_str(shown["history"][1]["input"].as_str().unwrap()).unwrap();
        assert_eq!(entered["data"]["card"], "************0002");
        assert_eq!(entered["data"]["name"], "Latte");
    }
}
