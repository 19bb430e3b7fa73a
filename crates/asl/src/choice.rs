//! Choice rules: parsing (at load time) and evaluation.

use crate::error::StateError;
use crate::path::Path;
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

/// A comparison operator (without the `Path` suffix, which is modelled by
/// [`Operand::Path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// String ==
    StringEquals,
    /// String <
    StringLessThan,
    /// String >
    StringGreaterThan,
    /// String <=
    StringLessThanEquals,
    /// String >=
    StringGreaterThanEquals,
    /// Wildcard match (`*`, with `\*` for a literal star).
    StringMatches,
    /// Number ==
    NumericEquals,
    /// Number <
    NumericLessThan,
    /// Number >
    NumericGreaterThan,
    /// Number <=
    NumericLessThanEquals,
    /// Number >=
    NumericGreaterThanEquals,
    /// Boolean ==
    BooleanEquals,
    /// Timestamp ==
    TimestampEquals,
    /// Timestamp <
    TimestampLessThan,
    /// Timestamp >
    TimestampGreaterThan,
    /// Timestamp <=
    TimestampLessThanEquals,
    /// Timestamp >=
    TimestampGreaterThanEquals,
    /// Value is JSON null.
    IsNull,
    /// The Variable path exists.
    IsPresent,
    /// Value is a number.
    IsNumeric,
    /// Value is a string.
    IsString,
    /// Value is a boolean.
    IsBoolean,
    /// Value is a string holding an RFC 3339 timestamp.
    IsTimestamp,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
    ("IsNull", Op::IsNull),
    ("IsPresent", Op::IsPresent),
    ("IsNumeric", Op::IsNumeric),
    ("IsString", Op::IsString),
    ("IsBoolean", Op::IsBoolean),
    ("IsTimestamp", Op::IsTimestamp),
];

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A literal value from the definition.
    Value(Value),
    /// A reference path (the `...Path` operator variants).
    Path(Path),
}

/// A Boolean expression of a Choice rule.
#[derive(Debug, Clone)]
pub enum Rule {
    /// All must hold.
    And(Vec<Rule>),
    /// At least one must hold.
    Or(Vec<Rule>),
    /// Negation.
    Not(Box<Rule>),
    /// `Variable <op> operand`.
    Compare {
        /// Path of the value to test.
        variable: Path,
        /// The operator.
        op: Op,
        /// The operand.
        operand: Operand,
    },
}

/// A top-level Choice rule with its transition.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The condition.
    pub rule: Rule,
    /// State to go to when it holds.
    pub next: String,
}

/// Parses one element of `Choices`.
pub fn parse_choice(v: &Value) -> Result<Choice, String> {
    let Value::Object(m) = v else {
        return Err("each element of Choices must be an object".into());
    };
    let next = match m.get("Next") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("'Next' of a choice rule must be a string".into()),
        None => return Err("a top-level choice rule must have a 'Next' field".into()),
    };
    let rule = parse_rule(m, true)?;
    Ok(Choice { rule, next })
}

fn parse_rule(m: &Map<String, Value>, top: bool) -> Result<Rule, String> {
    let mut keys: Vec<&str> = m
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "Comment")
        .collect();
    if top {
        keys.retain(|k| *k != "Next");
    } else if m.contains_key("Next") {
        return Err("a nested choice rule must not have a 'Next' field".into());
    }
    if let Some(v) = m.get("And") {
        if keys.len() != 1 {
            return Err("a rule with 'And' must have no other operator".into());
        }
        return Ok(Rule::And(sub_rules(v, "And")?));
    }
    if let Some(v) = m.get("Or") {
        if keys.len() != 1 {
            return Err("a rule with 'Or' must have no other operator".into());
        }
        return Ok(Rule::Or(sub_rules(v, "Or")?));
    }
    if let Some(v) = m.get("Not") {
        if keys.len() != 1 {
            return Err("a rule with 'Not' must have no other operator".into());
        }
        let Value::Object(o) = v else {
            return Err("'Not' must be a rule object".into());
        };
        return Ok(Rule::Not(Box::new(parse_rule(o, false)?)));
    }
    parse_comparison(m, &keys)
}

/// The rules of an `And`/`Or` list.
fn sub_rules(v: &Value, name: &str) -> Result<Vec<Rule>, String> {
    let Value::Array(items) = v else {
        return Err(format!("'{name}' must be a non-empty array of rules"));
    };
    if items.is_empty() {
        return Err(format!("'{name}' must be a non-empty array of rules"));
    }
    items
        .iter()
        .map(|i| match i {
            Value::Object(o) => parse_rule(o, false),
            _ => Err(format!("elements of '{name}' must be objects")),
        })
        .collect()
}

/// A `Variable` with one comparison operator; `keys` are the rule's fields
/// other than `Comment` and a top-level `Next`.
fn parse_comparison(m: &Map<String, Value>, keys: &[&str]) -> Result<Rule, String> {
    let variable = match m.get("Variable") {
        Some(Value::String(s)) => Path::parse(s).map_err(|e| format!("invalid 'Variable': {e}"))?,
        Some(_) => return Err("'Variable' must be a string".into()),
        None => return Err("a choice rule needs 'Variable' or And/Or/Not".into()),
    };
    let ops: Vec<&str> = keys.iter().copied().filter(|k| *k != "Variable").collect();
    if ops.len() != 1 {
        return Err(format!(
            "a choice rule must have exactly one comparison operator, found {}",
            if ops.is_empty() {
                "none".to_string()
            } else {
                ops.join(", ")
            }
        ));
    }
    let key = ops[0];
    let (base, is_path) = match key.strip_suffix("Path") {
        Some(b) if !b.is_empty() && !b.starts_with("Is") => (b, true),
        _ => (key, false),
    };
    let op = OPS
        .iter()
        .find(|(n, _)| *n == base)
        .map(|(_, o)| *o)
        .ok_or_else(|| format!("unknown comparison operator '{key}'"))?;
    let raw = &m[key];
    let operand = if is_path {
        let Value::String(s) = raw else {
            return Err(format!("'{key}' must be a path string"));
        };
        Operand::Path(Path::parse_reference(s).map_err(|e| format!("invalid '{key}': {e}"))?)
    } else {
        check_literal(op, key, raw)?;
        Operand::Value(raw.clone())
    };
    Ok(Rule::Compare {
        variable,
        op,
        operand,
    })
}

fn check_literal(op: Op, key: &str, v: &Value) -> Result<(), String> {
    use Op::*;
    let ok = match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals
        | StringMatches => v.is_string(),
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => v.is_number(),
        BooleanEquals | IsNull | IsPresent | IsNumeric | IsString | IsBoolean | IsTimestamp => {
            v.is_boolean()
        }
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => v.as_str().and_then(parse_timestamp).is_some(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid value for '{key}': {v}"))
    }
}

/// Parses an RFC 3339 timestamp as ASL uses them (`2016-03-14T01:59:00Z`).
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    // ASL requires an upper-case 'T' separator; chrono also accepts ' '.
    if s.len() < 11 || s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Evaluates a rule. A Variable (or `...Path` operand) that selects nothing
/// is a `States.Runtime` error, as in AWS, except for `IsPresent`.
pub fn evaluate(rule: &Rule, input: &Value, ctx: &Value) -> Result<bool, StateError> {
    match rule {
        Rule::And(rs) => {
            for r in rs {
                if !evaluate(r, input, ctx)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rs) => {
            for r in rs {
                if evaluate(r, input, ctx)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!evaluate(r, input, ctx)?),
        Rule::Compare {
            variable,
            op,
            operand,
        } => {
            let value = variable.select_cow(input, ctx);
            if *op == Op::IsPresent {
                let expected = matches!(operand, Operand::Value(Value::Bool(true)));
                return Ok(value.is_some() == expected);
            }
            let Some(value) = value else {
                return Err(StateError::runtime(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    variable.as_str()
                )));
            };
            let rhs = match operand {
                Operand::Value(v) => std::borrow::Cow::Borrowed(v),
                Operand::Path(p) => p.select_cow(input, ctx).ok_or_else(|| {
                    StateError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        p.as_str()
                    ))
                })?,
            };
            Ok(compare(*op, &value, &rhs))
        }
    }
}

fn compare(op: Op, v: &Value, rhs: &Value) -> bool {
    use Op::*;
    let is = |b: bool| rhs.as_bool() == Some(b);
    match op {
        IsNull => is(v.is_null()),
        IsNumeric => is(v.is_number()),
        IsString => is(v.is_string()),
        IsBoolean => is(v.is_boolean()),
        IsTimestamp => is(v.as_str().and_then(parse_timestamp).is_some()),
        IsPresent => true,
        BooleanEquals => matches!((v, rhs), (Value::Bool(a), Value::Bool(b)) if a == b),
        StringMatches => match (v, rhs) {
            (Value::String(s), Value::String(p)) => wildcard_match(p, s),
            _ => false,
        },
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals => {
            let (Value::String(a), Value::String(b)) = (v, rhs) else {
                return false;
            };
            ordered(op, a.as_str().cmp(b.as_str()))
        }
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => {
            let (Value::Number(a), Value::Number(b)) = (v, rhs) else {
                return false;
            };
            let ord = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => match x.partial_cmp(&y) {
                        Some(o) => o,
                        None => return false,
                    },
                    _ => return false,
                },
            };
            ordered(op, ord)
        }
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => {
            let (Some(a), Some(b)) = (
                v.as_str().and_then(parse_timestamp),
                rhs.as_str().and_then(parse_timestamp),
            ) else {
                return false;
            };
            ordered(op, a.cmp(&b))
        }
    }
}

fn ordered(op: Op, ord: std::cmp::Ordering) -> bool {
    use Op::*;
    use std::cmp::Ordering::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => ord == Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => ord == Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => ord == Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => ord != Greater,
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
            ord != Less
        }
        _ => false,
    }
}

/// `*` matches any run of characters; `\*` is a literal `*` and `\\` a
/// literal backslash.
pub fn wildcard_match(pattern: &str, s: &str) -> bool {
    // Tokenise the pattern into literal chars and stars.
    let mut toks: Vec<Option<char>> = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => toks.push(Some(n)),
                None => toks.push(Some('\\')),
            },
            '*' => toks.push(None),
            c => toks.push(Some(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    // Classic greedy matcher with backtracking to the last star.
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match toks.get(p) {
            Some(Some(c)) if *c == s[i] => {
                p += 1;
                i += 1;
            }
            Some(None) => {
                star = Some((p, i));
                p += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("log-*.txt", "log-2024.txt"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match(r"a\*", "a*"));
        assert!(!wildcard_match(r"a\*", "ab"));
        assert!(wildcard_match(r"a\\b", r"a\b"));
    }

    #[test]
    fn timestamps() {
        assert!(parse_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_timestamp("2016-03-14T01:59:00.123+02:00").is_some());
        assert!(parse_timestamp("2016-03-14 01:59:00Z").is_none());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
