//! Intrinsic functions (`States.Format(...)`, `States.Array(...)`, ...), used
//! as values of `.$` keys in `Parameters`, `ItemSelector` and
//! `ResultSelector`.
//!
//! Calls are parsed once, when the definition is loaded, so syntax errors and
//! wrong argument counts are definition errors; type errors and the like are
//! found at run time and raise `States.IntrinsicFailure`.

use crate::error::StateError;
use crate::path::{Path, type_name};
use serde_json::{Number, Value};

mod array;
mod json;
mod math;
mod parser;
mod string;
#[cfg(test)]
mod tests;

pub use parser::parse;

/// The supported intrinsic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `States.Format(template, args...)`
    Format,
    /// `States.StringToJson(string)`
    StringToJson,
    /// `States.JsonToString(value)`
    JsonToString,
    /// `States.Array(values...)`
    Array,
    /// `States.ArrayPartition(array, size)`
    ArrayPartition,
    /// `States.ArrayContains(array, value)`
    ArrayContains,
    /// `States.ArrayRange(start, end, step)`
    ArrayRange,
    /// `States.ArrayGetItem(array, index)`
    ArrayGetItem,
    /// `States.ArrayLength(array)`
    ArrayLength,
    /// `States.ArrayUnique(array)`
    ArrayUnique,
    /// `States.Base64Encode(string)`
    Base64Encode,
    /// `States.Base64Decode(string)`
    Base64Decode,
    /// `States.Hash(data, algorithm)`
    Hash,
    /// `States.JsonMerge(a, b, false)`
    JsonMerge,
    /// `States.MathRandom(start, end[, seed])`
    MathRandom,
    /// `States.MathAdd(a, b)`
    MathAdd,
    /// `States.StringSplit(string, delimiters)`
    StringSplit,
    /// `States.UUID()`
    Uuid,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "States.Format" => Func::Format,
            "States.StringToJson" => Func::StringToJson,
            "States.JsonToString" => Func::JsonToString,
            "States.Array" => Func::Array,
            "States.ArrayPartition" => Func::ArrayPartition,
            "States.ArrayContains" => Func::ArrayContains,
            "States.ArrayRange" => Func::ArrayRange,
            "States.ArrayGetItem" => Func::ArrayGetItem,
            "States.ArrayLength" => Func::ArrayLength,
            "States.ArrayUnique" => Func::ArrayUnique,
            "States.Base64Encode" => Func::Base64Encode,
            "States.Base64Decode" => Func::Base64Decode,
            "States.Hash" => Func::Hash,
            "States.JsonMerge" => Func::JsonMerge,
            "States.MathRandom" => Func::MathRandom,
            "States.MathAdd" => Func::MathAdd,
            "States.StringSplit" => Func::StringSplit,
            "States.UUID" => Func::Uuid,
            _ => return None,
        })
    }

    /// Allowed argument counts (min, max).
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Format => (1, usize::MAX),
            Func::Array => (0, usize::MAX),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, 1),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::Hash
            | Func::MathAdd
            | Func::StringSplit => (2, 2),
            Func::ArrayRange | Func::JsonMerge => (3, 3),
            Func::MathRandom => (2, 3),
            Func::Uuid => (0, 0),
        }
    }
}

/// An argument of an intrinsic call.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A quoted string literal: `raw` keeps the escapes (needed by
    /// `States.Format`, where `\{` is a literal brace), `value` has them
    /// resolved.
    Str {
        /// Unescaped text.
        value: String,
        /// Text as written between the quotes.
        raw: String,
    },
    /// A JSON literal: number, `true`, `false` or `null`.
    Literal(Value),
    /// A path over the input (`$...`) or context (`$$...`).
    Path(Path),
    /// A nested call.
    Call(Box<Call>),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Which function.
    pub func: Func,
    /// Its arguments.
    pub args: Vec<Arg>,
}

pub(super) fn fail<T>(msg: impl Into<String>) -> Result<T, StateError> {
    Err(StateError::intrinsic(msg.into()))
}

fn eval_arg(arg: &Arg, input: &Value, ctx: &Value) -> Result<Value, StateError> {
    match arg {
        Arg::Str { value, .. } => Ok(Value::String(value.clone())),
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => match p.select(input, ctx) {
            Some(v) => Ok(v),
            None => fail(format!(
                "The JsonPath argument '{}' could not be found in the input",
                p.as_str()
            )),
        },
        Arg::Call(c) => evaluate(c, input, ctx),
    }
}

pub(super) fn as_int(v: &Value, what: &str) -> Result<i64, StateError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            match n.as_f64() {
                // 2.0 is accepted as an integer; 2.5 is not.
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                _ => fail(format!("{what} must be an integer, got {n}")),
            }
        }
        other => fail(format!(
            "{what} must be an integer, got {}",
            type_name(other)
        )),
    }
}

pub(super) fn as_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, StateError> {
    match v {
        Value::String(s) => Ok(s),
        other => fail(format!("{what} must be a string, got {}", type_name(other))),
    }
}

pub(super) fn as_array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, StateError> {
    match v {
        Value::Array(a) => Ok(a),
        other => fail(format!("{what} must be an array, got {}", type_name(other))),
    }
}

/// Builds a JSON number from an i64 result.
pub(super) fn int(i: i64) -> Value {
    Value::Number(Number::from(i))
}

/// Evaluates a parsed call against the effective input and context object.
pub fn evaluate(call: &Call, input: &Value, ctx: &Value) -> Result<Value, StateError> {
    // `parse` checks this already, but `Call` can also be built by hand;
    // the argument indexing in the families relies on it.
    let (min, max) = call.func.arity();
    if call.args.len() < min || call.args.len() > max {
        return fail(format!("wrong number of arguments for {:?}", call.func));
    }
    if call.func == Func::Format {
        // The template is not evaluated like the other arguments: a literal
        // keeps its escapes.
        return string::format_call(&call.args, input, ctx);
    }
    let a = call
        .args
        .iter()
        .map(|a| eval_arg(a, input, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    match call.func {
        Func::Format => fail("internal error: States.Format dispatched twice"),
        Func::StringToJson => json::string_to_json(&a[0]),
        Func::JsonToString => json::json_to_string(&a[0]),
        Func::JsonMerge => json::merge(&a[0], &a[1], &a[2]),
        Func::Array => Ok(Value::Array(a)),
        Func::ArrayPartition => array::partition(&a[0], &a[1]),
        Func::ArrayContains => array::contains(&a[0], &a[1]),
        Func::ArrayRange => array::range(&a[0], &a[1], &a[2]),
        Func::ArrayGetItem => array::get_item(&a[0], &a[1]),
        Func::ArrayLength => array::length(&a[0]),
        Func::ArrayUnique => array::unique(&a[0]),
        Func::Base64Encode => string::base64_encode(&a[0]),
        Func::Base64Decode => string::base64_decode(&a[0]),
        Func::Hash => string::hash(&a[0], &a[1]),
        Func::StringSplit => string::split(&a[0], &a[1]),
        Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        Func::MathRandom => math::random(&a[0], &a[1], a.get(2)),
        Func::MathAdd => math::add(&a[0], &a[1]),
    }
}

/// Integral floats become JSON integers (so 3.0 prints as 3).
pub fn number_from_f64(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        int(f as i64)
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}
