//! The template's YAML as JSON, CloudFormation's short-form tags included.

use serde_json::{Value, json};

/// YAML → JSON. CloudFormation short-form tags become their long form (`!Ref X` →
/// `{"Ref": "X"}`, `!Sub s` → `{"Fn::Sub": s}`), non-string keys become strings.
pub(crate) fn yaml_to_json(v: &serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s.clone(),
                        Y::Number(n) => n.to_string(),
                        Y::Bool(b) => b.to_string(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{name}")
            };
            json!({ key: yaml_to_json(&t.value) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_long_form_intrinsics() {
        let y: serde_yaml::Value =
            serde_yaml::from_str("a: !Ref X\nb: !Sub 'x${Y}'\n1: c").unwrap();
        assert_eq!(
            yaml_to_json(&y),
            json!({"a": {"Ref": "X"}, "b": {"Fn::Sub": "x${Y}"}, "1": "c"})
        );
    }
}
