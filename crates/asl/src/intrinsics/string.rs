//! String functions: `States.Format`, `States.StringSplit`, Base64 and
//! `States.Hash`.

use super::{Arg, as_str, eval_arg, fail};
use crate::error::StateError;
use crate::path::type_name;
use base64::Engine as _;
use serde_json::Value;

/// AWS limits the Base64 functions' input to this many characters.
const MAX_BASE64_INPUT: usize = 10_000;

/// `States.Format(template, args...)`: the template keeps its escapes when
/// it is a literal, and is taken as is when it comes from a path.
pub(super) fn format_call(args: &[Arg], input: &Value, ctx: &Value) -> Result<Value, StateError> {
    let Some((first, rest)) = args.split_first() else {
        return fail("States.Format needs a template");
    };
    let (template, escaped) = match first {
        Arg::Str { raw, .. } => (raw.clone(), true),
        other => (
            as_str(&eval_arg(other, input, ctx)?, "States.Format template")?.to_string(),
            false,
        ),
    };
    let values = rest
        .iter()
        .map(|a| eval_arg(a, input, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    format(&template, escaped, &values)
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

pub(super) fn split(s: &Value, delimiters: &Value) -> Result<Value, StateError> {
    let s = as_str(s, "States.StringSplit string")?;
    let delims = as_str(delimiters, "States.StringSplit delimiter")?;
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

pub(super) fn base64_encode(s: &Value) -> Result<Value, StateError> {
    let s = as_str(s, "States.Base64Encode argument")?;
    if s.chars().count() > MAX_BASE64_INPUT {
        return fail("States.Base64Encode input exceeds 10000 characters");
    }
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
    ))
}

pub(super) fn base64_decode(s: &Value) -> Result<Value, StateError> {
    let s = as_str(s, "States.Base64Decode argument")?;
    if s.chars().count() > MAX_BASE64_INPUT {
        return fail("States.Base64Decode input exceeds 10000 characters");
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .or_else(|e| fail(format!("States.Base64Decode: invalid base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .or_else(|_| fail("States.Base64Decode: decoded data is not UTF-8"))
}

pub(super) fn hash(data: &Value, algorithm: &Value) -> Result<Value, StateError> {
    let data = as_str(data, "States.Hash data")?;
    let alg = as_str(algorithm, "States.Hash algorithm")?;
    Ok(Value::String(digest_hex(data.as_bytes(), alg)?))
}

fn digest_hex(data: &[u8], alg: &str) -> Result<String, StateError> {
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
