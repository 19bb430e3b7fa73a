//! Throttling: token buckets, as API Gateway describes its own (a steady rate that refills a
//! bucket of `burst` requests), read from the stage's `MethodSettings`: the `/*` `*` entry is
//! the stage default, and an entry naming one resource and method (`/~1config` `GET`) gives
//! that method its own limits.

use serde_json::{Map, Value};
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second and bucket size. [`super::ApiSpec::throttle`] gives the template's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Steady-state refill rate (API Gateway's `ThrottlingRateLimit`, a double).
    pub rate_per_second: f64,
    /// Bucket capacity (`ThrottlingBurstLimit`): this many requests may arrive at once.
    pub burst: u32,
}

/// A method's own throttling: a stage `MethodSettings` entry naming one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodThrottle {
    /// The resource as the OpenAPI body writes it (`/config`, `/orders/{id}`).
    pub path: String,
    /// `GET`, `PUT`, ..., or `*` for every method of the resource.
    pub method: String,
    pub throttle: Throttle,
}

/// What a stage's `MethodSettings` say about throttling.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct StageThrottling {
    /// The `/*` `*` entry.
    pub(crate) default: Option<Throttle>,
    pub(crate) methods: Vec<MethodThrottle>,
}

/// Reads `MethodSettings` (a list of `{ResourcePath, HttpMethod, ThrottlingRateLimit,
/// ThrottlingBurstLimit, ...}`); `number` resolves a value (a literal or `!Ref` to a parameter
/// default). An entry without throttling fields (metrics, logging only) is skipped; an entry for
/// one method that sets only one limit takes the other from the stage default.
pub(crate) fn stage_throttling(
    props: &Value,
    number: impl Fn(Option<&Value>) -> Option<f64>,
) -> Result<StageThrottling, String> {
    let settings = props
        .get("MethodSettings")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let is_default = |s: &Value| field(s, "ResourcePath") == "/*" && field(s, "HttpMethod") == "*";
    let limits = |s: &Value| {
        (
            number(s.get("ThrottlingRateLimit")),
            number(s.get("ThrottlingBurstLimit")).map(|b| b as u32),
        )
    };
    let missing = |s: &Value, what: &str| {
        let path = field(s, "ResourcePath");
        format!("the stage's MethodSettings for {path} lack {what}")
    };
    let mut out = StageThrottling::default();
    if let Some(s) = settings.iter().find(|s| is_default(s)) {
        let (rate, burst) = limits(s);
        out.default = Some(Throttle {
            rate_per_second: rate.ok_or_else(|| missing(s, "ThrottlingRateLimit"))?,
            burst: burst.ok_or_else(|| missing(s, "ThrottlingBurstLimit"))?,
        });
    }
    for s in settings.iter().filter(|s| !is_default(s)) {
        let (rate, burst) = limits(s);
        if rate.is_none() && burst.is_none() {
            continue;
        }
        let method = field(s, "HttpMethod").to_ascii_uppercase();
        if method.is_empty() {
            return Err(missing(s, "HttpMethod"));
        }
        let default = out.default;
        let throttle = Throttle {
            rate_per_second: rate
                .or(default.map(|d| d.rate_per_second))
                .ok_or_else(|| missing(s, "ThrottlingRateLimit"))?,
            burst: burst
                .or(default.map(|d| d.burst))
                .ok_or_else(|| missing(s, "ThrottlingBurstLimit"))?,
        };
        out.methods.push(MethodThrottle {
            path: resource_path(field(s, "ResourcePath"))?,
            method,
            throttle,
        });
    }
    Ok(out)
}

/// A `MethodSettings` `ResourcePath` as the OpenAPI path it names: the leading `/` separates,
/// and every `/` of the path is written `~1` (`/~1orders~1{id}` is `/orders/{id}`; `/` alone
/// is the root).
fn resource_path(raw: &str) -> Result<String, String> {
    let escaped = raw
        .strip_prefix('/')
        .ok_or_else(|| format!("MethodSettings ResourcePath '{raw}' must start with '/'"))?;
    if escaped.is_empty() {
        return Ok("/".to_owned());
    }
    let path = escaped.replace("~1", "/").replace("~0", "~");
    if !path.starts_with('/') {
        return Err(format!(
            "MethodSettings ResourcePath '{raw}' must write each '/' of the path as ~1 (e.g. /~1config)"
        ));
    }
    Ok(path)
}

fn field<'a>(setting: &'a Value, key: &str) -> &'a str {
    setting.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Looks parameter-backed values up in the template's `Parameters` defaults.
pub(crate) fn parameter_default(params: &Map<String, Value>, name: &str) -> Option<f64> {
    params
        .get(name)
        .and_then(|p| p.get("Default"))
        .and_then(as_number)
}

pub(crate) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket. A negative or NaN rate refills nothing.
    pub(crate) fn new(t: Throttle) -> Self {
        let rate = if t.rate_per_second.is_finite() && t.rate_per_second > 0.0 {
            t.rate_per_second
        } else {
            0.0
        };
        let capacity = f64::from(t.burst);
        TokenBucket {
            rate,
            capacity,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&self) -> bool {
        // A poisoned lock only means another request panicked mid-update of two plain numbers;
        // the numbers are still usable, and the gateway must keep answering.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *state;
        let now = Instant::now();
        let refill = now.duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(settings: Value) -> Result<StageThrottling, String> {
        stage_throttling(&serde_json::json!({ "MethodSettings": settings }), |v| {
            v.and_then(as_number)
        })
    }

    #[test]
    fn method_settings_give_a_stage_default_and_per_method_limits() {
        let t = read(serde_json::json!([
            {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
            {"ResourcePath": "/~1config", "HttpMethod": "GET", "ThrottlingRateLimit": 10, "ThrottlingBurstLimit": "20"},
            {"ResourcePath": "/~1orders~1{id}", "HttpMethod": "*", "ThrottlingRateLimit": 5},
            {"ResourcePath": "/~1store", "HttpMethod": "PUT", "MetricsEnabled": true},
        ]))
        .unwrap();
        assert_eq!(
            t.default,
            Some(Throttle {
                rate_per_second: 50.0,
                burst: 100
            })
        );
        let method = |path: &str, method: &str, rate: f64, burst: u32| MethodThrottle {
            path: path.into(),
            method: method.into(),
            throttle: Throttle {
                rate_per_second: rate,
                burst,
            },
        };
        assert_eq!(
            t.methods,
            [
                method("/config", "GET", 10.0, 20),
                method("/orders/{id}", "*", 5.0, 100),
            ]
        );
    }

    #[test]
    fn unescaped_or_incomplete_method_settings_are_refused() {
        let one = |path: &str| {
            read(serde_json::json!([
                {"ResourcePath": path, "HttpMethod": "GET", "ThrottlingRateLimit": 1, "ThrottlingBurstLimit": 1}
            ]))
        };
        assert!(one("/config").unwrap_err().contains("~1"));
        assert!(one("~1config").unwrap_err().contains("start with"));
        assert_eq!(one("/").unwrap().methods[0].path, "/");
        let half = read(serde_json::json!([
            {"ResourcePath": "/~1config", "HttpMethod": "GET", "ThrottlingRateLimit": 1}
        ]));
        assert!(half.unwrap_err().contains("ThrottlingBurstLimit"));
    }

    #[test]
    fn burst_then_refuse_then_refill() {
        let b = TokenBucket::new(Throttle {
            rate_per_second: 1000.0,
            burst: 2,
        });
        assert!(b.try_take());
        assert!(b.try_take());
        // At 1000/s a token is back within a few ms.
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(b.try_take());

        let none = TokenBucket::new(Throttle {
            rate_per_second: f64::NAN,
            burst: 1,
        });
        assert!(none.try_take());
        assert!(!none.try_take());
    }
}
