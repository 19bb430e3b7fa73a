//! Intrinsic functions (`States.Format(...)`, `States.Array(...)`, ...), used
//! as values of `.$` keys in `Parameters`, `ItemSelector` and
//! `ResultSelector`.
//!
//! Calls are parsed once, when the definition is loaded, so syntax errors and
//! wrong argument counts are definition errors; type errors and the like are
//! found at run time and raise `States.IntrinsicFailure`.

use crate::error::StateError;
use crate::path::{Path, type_name};
use base64::Engine as _;
use serde_json::{Number, Value};

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

/// Parses an intrinsic call such as `States.Format('{}', $.a)`.
pub fn parse(src: &str) -> Result<Call, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut p = Parser { s: &chars, i: 0 };
    p.ws();
    let call = p.call(0)?;
    p.ws();
    if p.i != chars.len() {
        return Err(format!(
            "unexpected text after the intrinsic call in '{src}' at position {}",
            p.i
        ));
    }
    Ok(call)
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > 10 {
            return Err("intrinsic functions nested too deeply".into());
        }
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.i += 1;
        }
        let name: String = self.s[start..self.i].iter().collect();
        let func =
            Func::from_name(&name).ok_or_else(|| format!("unknown intrinsic function '{name}'"))?;
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg(depth)?);
                self.ws();
                match self.peek() {
                    Some(',') => self.i += 1,
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' in arguments of {name}")),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(format!(
                "{name} takes {} argument(s), got {}",
                if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                },
                args.len()
            ));
        }
        Ok(Call { func, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => {
                self.i += 1;
                let mut value = String::new();
                let mut raw = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => {
                            let Some(n) = self.s.get(self.i + 1).copied() else {
                                return Err("unterminated escape in string literal".into());
                            };
                            raw.push('\\');
                            raw.push(n);
                            value.push(n);
                            self.i += 2;
                        }
                        Some('\'') => {
                            self.i += 1;
                            break;
                        }
                        Some(c) => {
                            raw.push(c);
                            value.push(c);
                            self.i += 1;
                        }
                    }
                }
                Ok(Arg::Str { value, raw })
            }
            Some('$') => {
                // A path runs to the next ',' or ')' outside brackets/quotes.
                let start = self.i;
                let mut depth_b = 0usize;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    if let Some(q) = quote {
                        if c == '\\' {
                            self.i += 1;
                        } else if c == q {
                            quote = None;
                        }
                    } else {
                        match c {
                            '\'' | '"' => quote = Some(c),
                            '[' | '(' => depth_b += 1,
                            ']' => depth_b = depth_b.saturating_sub(1),
                            ')' if depth_b == 0 => break,
                            ')' => depth_b -= 1,
                            ',' if depth_b == 0 => break,
                            _ => {}
                        }
                    }
                    self.i += 1;
                }
                let text: String = self.s[start..self.i.min(self.s.len())].iter().collect();
                Ok(Arg::Path(Path::parse(text.trim_end())?))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.i += 1;
                }
                let text: String = self.s[start..self.i].iter().collect();
                let v: Value =
                    serde_json::from_str(&text).map_err(|_| format!("invalid number '{text}'"))?;
                Ok(Arg::Literal(v))
            }
            Some(_) => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    let end = self.i + word.len();
                    if end <= self.s.len()
                        && self.s[self.i..end].iter().collect::<String>() == word
                        && !self
                            .s
                            .get(end)
                            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
                    {
                        self.i = end;
                        return Ok(Arg::Literal(v));
                    }
                }
                Ok(Arg::Call(Box::new(self.call(depth + 1)?)))
            }
            None => Err("unexpected end of intrinsic function".into()),
        }
    }
}

fn fail<T>(msg: impl Into<String>) -> Result<T, StateError> {
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

fn as_int(v: &Value, what: &str) -> Result<i64, StateError> {
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

fn as_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, StateError> {
    match v {
        Value::String(s) => Ok(s),
        other => fail(format!("{what} must be a string, got {}", type_name(other))),
    }
}

fn as_array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, StateError> {
    match v {
        Value::Array(a) => Ok(a),
        other => fail(format!("{what} must be an array, got {}", type_name(other))),
    }
}

/// Formats one `States.Format` argument: strings verbatim, other scalars in
/// their JSON form (integers stay integers).
fn format_arg(v: &Value) -> Result<String, StateError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok("null".into()),
        other => fail(format!(
            "States.Format arguments must be strings, numbers, booleans or null, got {}",
            type_name(other)
        )),
    }
}

/// Expands `{}` placeholders. `escaped` says whether `\x` escapes are still
/// present in `template` (a literal as written) or not (a value from a path).
fn format(template: &str, escaped: bool, args: &[Value]) -> Result<Value, StateError> {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escaped => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let Some(a) = args.get(next) else {
                    return fail("States.Format has more placeholders than arguments");
                };
                out.push_str(&format_arg(a)?);
                next += 1;
            }
            c => out.push(c),
        }
    }
    if next != args.len() {
        return fail(format!(
            "States.Format has {next} placeholder(s) but {} argument(s)",
            args.len()
        ));
    }
    Ok(Value::String(out))
}

/// Builds a JSON number from an i64 result.
fn int(i: i64) -> Value {
    Value::Number(Number::from(i))
}

/// Evaluates a parsed call against the effective input and context object.
pub fn evaluate(call: &Call, input: &Value, ctx: &Value) -> Result<Value, StateError> {
    // `parse` checks this already, but `Call` can also be built by hand;
    // the argument indexing below relies on it.
    let (min, max) = call.func.arity();
    if call.args.len() < min || call.args.len() > max {
        return fail(format!("wrong number of arguments for {:?}", call.func));
    }
    if call.func == Func::Format {
        // The template keeps its escapes when it is a literal.
        let (template, escaped) = match &call.args[0] {
            Arg::Str { raw, .. } => (raw.clone(), true),
            other => (
                as_str(&eval_arg(other, input, ctx)?, "States.Format template")?.to_string(),
                false,
            ),
        };
        let args = call.args[1..]
            .iter()
            .map(|a| eval_arg(a, input, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        return format(&template, escaped, &args);
    }
    let a = call
        .args
        .iter()
        .map(|a| eval_arg(a, input, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    match call.func {
        Func::Format => unreachable_format(),
        Func::StringToJson => {
            let s = as_str(&a[0], "States.StringToJson argument")?;
            serde_json::from_str(s)
                .or_else(|e| fail(format!("States.StringToJson: invalid JSON: {e}")))
        }
        Func::JsonToString => serde_json::to_string(&a[0])
            .map(Value::String)
            .or_else(|e| fail(e.to_string())),
        Func::Array => Ok(Value::Array(a)),
        Func::ArrayPartition => {
            let arr = as_array(&a[0], "States.ArrayPartition array")?;
            let size = as_int(&a[1], "States.ArrayPartition chunk size")?;
            if size <= 0 {
                return fail("States.ArrayPartition chunk size must be positive");
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        Func::ArrayContains => {
            let arr = as_array(&a[0], "States.ArrayContains array")?;
            Ok(Value::Bool(arr.iter().any(|x| json_eq(x, &a[1]))))
        }
        Func::ArrayRange => {
            let start = as_int(&a[0], "States.ArrayRange start")?;
            let end = as_int(&a[1], "States.ArrayRange end")?;
            let step = as_int(&a[2], "States.ArrayRange step")?;
            if step == 0 {
                return fail("States.ArrayRange step must not be 0");
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0 && x <= end) || (step < 0 && x >= end) {
                if out.len() >= 1000 {
                    return fail("States.ArrayRange would produce more than 1000 items");
                }
                out.push(int(x));
                match x.checked_add(step) {
                    Some(n) => x = n,
                    None => break,
                }
            }
            Ok(Value::Array(out))
        }
        Func::ArrayGetItem => {
            let arr = as_array(&a[0], "States.ArrayGetItem array")?;
            let idx = as_int(&a[1], "States.ArrayGetItem index")?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| arr.get(i))
                .cloned()
                .map_or_else(
                    || fail(format!("States.ArrayGetItem index {idx} is out of bounds")),
                    Ok,
                )
        }
        Func::ArrayLength => Ok(int(
            as_array(&a[0], "States.ArrayLength argument")?.len() as i64
        )),
        Func::ArrayUnique => {
            let arr = as_array(&a[0], "States.ArrayUnique argument")?;
            let mut out: Vec<Value> = Vec::new();
            for v in arr {
                if !out.iter().any(|o| json_eq(o, v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Func::Base64Encode => {
            let s = as_str(&a[0], "States.Base64Encode argument")?;
            if s.chars().count() > 10_000 {
                return fail("States.Base64Encode input exceeds 10000 characters");
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        Func::Base64Decode => {
            let s = as_str(&a[0], "States.Base64Decode argument")?;
            if s.chars().count() > 10_000 {
                return fail("States.Base64Decode input exceeds 10000 characters");
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .or_else(|e| fail(format!("States.Base64Decode: invalid base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .or_else(|_| fail("States.Base64Decode: decoded data is not UTF-8"))
        }
        Func::Hash => {
            let data = as_str(&a[0], "States.Hash data")?;
            let alg = as_str(&a[1], "States.Hash algorithm")?;
            Ok(Value::String(hash(data.as_bytes(), alg)?))
        }
        Func::JsonMerge => {
            let (Value::Object(left), Value::Object(right)) = (&a[0], &a[1]) else {
                return fail("States.JsonMerge arguments must be objects");
            };
            match &a[2] {
                Value::Bool(false) => {}
                Value::Bool(true) => {
                    return fail("States.JsonMerge only supports shallow merge (false)");
                }
                other => {
                    return fail(format!(
                        "States.JsonMerge third argument must be a boolean, got {}",
                        type_name(other)
                    ));
                }
            }
            let mut out = left.clone();
            for (k, v) in right {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        Func::MathRandom => {
            use rand::{RngExt, SeedableRng};
            let start = as_int(&a[0], "States.MathRandom start")?;
            let end = as_int(&a[1], "States.MathRandom end")?;
            if start >= end {
                return fail("States.MathRandom start must be less than end");
            }
            let n = match a.get(2) {
                Some(seed) => {
                    let seed = as_int(seed, "States.MathRandom seed")?;
                    rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
                }
                None => rand::rng().random_range(start..end),
            };
            Ok(int(n))
        }
        Func::MathAdd => {
            let (Value::Number(x), Value::Number(y)) = (&a[0], &a[1]) else {
                return fail("States.MathAdd arguments must be numbers");
            };
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x
                    .checked_add(y)
                    .map(int)
                    .map_or_else(|| fail("States.MathAdd overflow"), Ok);
            }
            let sum = x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0);
            Ok(number_from_f64(sum))
        }
        Func::StringSplit => {
            let s = as_str(&a[0], "States.StringSplit string")?;
            let delims = as_str(&a[1], "States.StringSplit delimiter")?;
            if delims.is_empty() {
                return Ok(Value::Array(vec![Value::String(s.to_string())]));
            }
            // Every character of the second argument is a delimiter.
            Ok(Value::Array(
                s.split(|c| delims.contains(c))
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

fn unreachable_format() -> Result<Value, StateError> {
    fail("internal error: States.Format dispatched twice")
}

/// Numeric-aware equality: `1` and `1.0` are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
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

fn hash(data: &[u8], alg: &str) -> Result<String, StateError> {
    use sha2::Digest;
    let bytes: Vec<u8> = match alg {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return fail(format!(
                "States.Hash algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, got '{other}'"
            ));
        }
    };
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(src: &str, input: Value) -> Result<Value, StateError> {
        let call = parse(src).map_err(StateError::intrinsic)?;
        evaluate(&call, &input, &json!({"Execution": {"Name": "ex"}}))
    }

    #[test]
    fn parse_errors() {
        assert!(parse("States.Nope(1)").is_err());
        assert!(parse("States.Format('a'").is_err());
        assert!(parse("States.ArrayLength(1, 2)").is_err());
        assert!(parse("States.UUID(1)").is_err());
        assert!(parse("States.Array(1) x").is_err());
    }

    #[test]
    fn format() {
        assert_eq!(
            run(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            )
            .unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            run(
                r"States.Format('{} \{\} it\'s {} {} {}', 1, 2.5, true, null)",
                json!({})
            )
            .unwrap(),
            json!("1 {} it's 2.5 true null")
        );
        assert_eq!(
            run("States.Format('{}', $$.Execution.Name)", json!({})).unwrap(),
            json!("ex")
        );
        assert!(run("States.Format('{} {}', 1)", json!({})).is_err());
        assert!(run("States.Format('{}', $.o)", json!({"o": {}})).is_err());
    }

    #[test]
    fn json_functions() {
        assert_eq!(
            run("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).unwrap(),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            run(
                "States.JsonToString($.o)",
                json!({"o": {"b": 1, "a": [true, null]}})
            )
            .unwrap(),
            json!("{\"b\":1,\"a\":[true,null]}")
        );
        assert_eq!(
            run(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": 1, "n": {"p": 1}}, "b": {"y": 2, "n": {"q": 2}}})
            )
            .unwrap(),
            json!({"x": 1, "n": {"q": 2}, "y": 2})
        );
        assert!(run("States.JsonMerge($.a, $.a, true)", json!({"a": {}})).is_err());
        let e = run("States.StringToJson('{')", json!({})).unwrap_err();
        assert_eq!(e.error, "States.IntrinsicFailure");
    }

    #[test]
    fn arrays() {
        assert_eq!(
            run(
                "States.Array('a', 1, $.x, States.Array())",
                json!({"x": {"k": 1}})
            )
            .unwrap(),
            json!(["a", 1, {"k": 1}, []])
        );
        assert_eq!(
            run(
                "States.ArrayPartition($.a, 4)",
                json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
            )
            .unwrap(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            run("States.ArrayContains($.a, 3)", json!({"a": [1, 2, 3]})).unwrap(),
            json!(true)
        );
        assert_eq!(
            run("States.ArrayContains($.a, 'x')", json!({"a": [1, 2, 3]})).unwrap(),
            json!(false)
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run("States.ArrayRange(5, 1, -2)", json!({})).unwrap(),
            json!([5, 3, 1])
        );
        assert!(run("States.ArrayRange(1, 2000, 1)", json!({})).is_err());
        assert!(run("States.ArrayRange(1, 2, 0)", json!({})).is_err());
        assert_eq!(
            run("States.ArrayGetItem($.a, 1)", json!({"a": [1, 2, 3]})).unwrap(),
            json!(2)
        );
        assert!(run("States.ArrayGetItem($.a, 5)", json!({"a": [1]})).is_err());
        assert_eq!(
            run("States.ArrayLength($.a)", json!({"a": [1, 2, 3]})).unwrap(),
            json!(3)
        );
        assert_eq!(
            run(
                "States.ArrayUnique($.a)",
                json!({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
            )
            .unwrap(),
            json!([1, 2, 3, 4])
        );
    }

    #[test]
    fn encoding_and_hash() {
        assert_eq!(
            run("States.Base64Encode('Data to encode')", json!({})).unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(),
            json!("Data to encode")
        );
        assert!(run("States.Base64Decode('***')", json!({})).is_err());
        assert_eq!(
            run("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            run("States.Hash('abc', 'MD5')", json!({})).unwrap(),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            run("States.Hash('abc', 'SHA-256')", json!({})).unwrap(),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        for alg in ["SHA-384", "SHA-512"] {
            let v = run(&format!("States.Hash('abc', '{alg}')"), json!({})).unwrap();
            let len = if alg == "SHA-384" { 96 } else { 128 };
            assert_eq!(v.as_str().unwrap().len(), len);
        }
        assert!(run("States.Hash('abc', 'SHA-3')", json!({})).is_err());
    }

    #[test]
    fn math_string_uuid() {
        assert_eq!(
            run("States.MathAdd(1, 2)", json!({})).unwrap().to_string(),
            "3"
        );
        assert_eq!(
            run("States.MathAdd($.v, -1)", json!({"v": 111})).unwrap(),
            json!(110)
        );
        assert_eq!(
            run("States.MathAdd(1.5, 1)", json!({})).unwrap(),
            json!(2.5)
        );
        for _ in 0..20 {
            let v = run("States.MathRandom(1, 5)", json!({})).unwrap();
            let n = v.as_i64().unwrap();
            assert!((1..5).contains(&n));
        }
        let a = run("States.MathRandom(1, 1000, 7)", json!({})).unwrap();
        let b = run("States.MathRandom(1, 1000, 7)", json!({})).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            run(
                "States.StringSplit($.s, $.d)",
                json!({"s": "This.is+a,test=string", "d": ".+,="})
            )
            .unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
        assert_eq!(
            run("States.StringSplit('1,2,3', ',')", json!({})).unwrap(),
            json!(["1", "2", "3"])
        );
        let u = run("States.UUID()", json!({})).unwrap();
        assert_eq!(u.as_str().unwrap().len(), 36);
        assert_ne!(u, run("States.UUID()", json!({})).unwrap());
    }

    #[test]
    fn nested_calls_and_paths_with_commas() {
        assert_eq!(
            run(
                "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), $['a,b'])",
                json!({"arn": "x/y/z", "a,b": "q"})
            )
            .unwrap(),
            json!("y.q")
        );
        let e = run("States.ArrayLength($.missing)", json!({})).unwrap_err();
        assert_eq!(e.error, "States.IntrinsicFailure");
    }
}
