//! Local stand-in for the Cognito user-pool authorizer. Tokens are HS256 JWTs signed with a
//! local key (no user pool, no JWKS, no network) whose claims have the shape of Cognito ACCESS
//! tokens, so the functions see exactly what they get in AWS.

use super::GatewayError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// The scope every access token from Cognito's own sign-in API (SRP, password) carries; the
/// template's secured routes require it.
pub const COGNITO_ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// The claims of a Cognito access token (what [`LocalAuth::mint`] signs). Public so that tests
/// and tools can forge the wrong ones too (an id token, an expired token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub sub: String,
    /// Cognito leaves the claim out for a user in no group.
    #[serde(
        rename = "cognito:groups",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// `access` (an id token says `id`; API Gateway only takes access tokens on scoped routes).
    pub token_use: String,
    /// Space-separated OAuth scopes.
    pub scope: String,
    pub auth_time: i64,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    /// Absent from a client-credentials token (a machine has no user name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
}

/// Why a request was refused 401 (logged; the client only ever sees `Unauthorized`, as from
/// API Gateway, so that a probe learns nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("no token in the {0} header")]
    Missing(String),
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's signature does not verify with the local key")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is not an access token (token_use {0:?})")]
    NotAnAccessToken(String),
    #[error("the token has none of the scopes {0:?}")]
    MissingScope(Vec<String>),
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// The local token authority: signs and verifies with one HS256 key and issuer.
#[derive(Clone)]
pub struct LocalAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    client_id: String,
}

impl std::fmt::Debug for LocalAuth {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAuth")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl LocalAuth {
    /// An authority for `key` (any bytes; keep it out of version control if the stack is
    /// reachable from other machines) and `issuer` (checked on every token).
    pub fn new(key: &[u8], issuer: &str) -> Self {
        LocalAuth {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            issuer: issuer.to_owned(),
            client_id: "local-client".to_owned(),
        }
    }

    /// The app client id written into minted tokens (Cognito's `client_id` claim).
    pub fn with_client_id(mut self, client_id: &str) -> Self {
        self.client_id = client_id.to_owned();
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The claims of an access token for `sub`, in `groups`, valid for `ttl` from now.
    pub fn claims(&self, sub: &str, groups: &[&str], ttl: Duration) -> AccessTokenClaims {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        AccessTokenClaims {
            sub: sub.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            token_use: "access".to_owned(),
            scope: COGNITO_ADMIN_SCOPE.to_owned(),
            auth_time: now,
            iss: self.issuer.clone(),
            exp: now.saturating_add(ttl),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: self.client_id.clone(),
            username: sub.to_owned(),
        }
    }

    /// The claims of a client-credentials access token (a store's system): `sub` and
    /// `client_id` are the app client `client`, `scope` holds `scopes`, and there is no user
    /// name and no group, as in Cognito.
    pub fn client_claims(
        &self,
        client: &str,
        scopes: &[String],
        ttl: Duration,
    ) -> AccessTokenClaims {
        let mut claims = self.claims(client, &[], ttl);
        claims.scope = scopes.join(" ");
        claims.client_id = client.to_owned();
        claims.username = String::new();
        claims
    }

    /// Signs any claims (HS256).
    pub fn sign(&self, claims: &AccessTokenClaims) -> Result<String, GatewayError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| GatewayError::Token(e.to_string()))
    }

    /// A signed access token for `sub`, in `groups`, valid for `ttl`.
    pub fn mint(&self, sub: &str, groups: &[&str], ttl: Duration) -> Result<String, GatewayError> {
        self.sign(&self.claims(sub, groups, ttl))
    }

    /// Verifies signature, `exp` (no leeway: issuer and gateway share a clock), `iss` and
    /// `token_use == "access"`; returns the token's claims as they are in the token.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthFailure> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthFailure::Expired,
            ErrorKind::InvalidIssuer => AuthFailure::WrongIssuer,
            ErrorKind::InvalidSignature => AuthFailure::BadSignature,
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => AuthFailure::Malformed,
            _ => AuthFailure::Invalid(e.to_string()),
        })?;
        let claims = data.claims;
        match claims.get("token_use").and_then(Value::as_str) {
            Some("access") => Ok(claims),
            other => Err(AuthFailure::NotAnAccessToken(
                other.unwrap_or_default().to_owned(),
            )),
        }
    }
}

/// The token in `header_value`: `Bearer <jwt>` or the bare token (API Gateway's Cognito
/// authorizer takes both).
pub(crate) fn token_from_header(header_value: &str) -> Option<&str> {
    let v = header_value.trim();
    if v.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => v,
    };
    (!token.is_empty()).then_some(token)
}

/// Whether the token's `scope` grants one of `required` (none required: any token).
pub(crate) fn has_scope(claims: &Map<String, Value>, required: &[String]) -> bool {
    if required.is_empty() {
        return true;
    }
    let granted = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    granted
        .split_whitespace()
        .any(|s| required.iter().any(|r| r == s))
}

/// The claims as API Gateway REST's Cognito authorizer hands them to a Lambda: every value a
/// string, arrays comma-joined (`cognito:groups` → `"admin,baristas"`, which
/// `domain::identity::parse_groups` reads), and `exp`/`iat` rendered as dates
/// (`Tue Mar 03 21:16:01 UTC 2020`), as observed in AWS events.
pub(crate) fn authorizer_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) => {
                Some(items.iter().filter_map(text).collect::<Vec<_>>().join(","))
            }
            Value::Object(_) => Some(v.to_string()),
        }
    }
    claims
        .iter()
        .filter_map(|(k, v)| {
            let date = matches!(k.as_str(), "exp" | "iat")
                .then(|| v.as_i64())
                .flatten()
                .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
                .map(|d| d.format("%a %b %d %H:%M:%S UTC %Y").to_string());
            let s = date.or_else(|| text(v))?;
            Some((k.clone(), Value::String(s)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_or_bare() {
        assert_eq!(token_from_header("Bearer abc"), Some("abc"));
        assert_eq!(token_from_header("bearer   abc "), Some("abc"));
        assert_eq!(token_from_header("abc"), Some("abc"));
        assert_eq!(token_from_header("Bearer "), None);
        assert_eq!(token_from_header("  "), None);
    }

    #[test]
    fn claims_are_strings_like_api_gateway_rest() {
        let raw = json!({
            "sub": "u1", "cognito:groups": ["admin", "baristas"], "exp": 1583270161,
            "auth_time": 1583266561, "flag": true, "none": null
        });
        let c = authorizer_claims(raw.as_object().unwrap());
        assert_eq!(c["cognito:groups"], "admin,baristas");
        assert_eq!(c["exp"], "Tue Mar 03 21:16:01 UTC 2020");
        assert_eq!(c["auth_time"], "1583266561");
        assert_eq!(c["flag"], "true");
        assert!(!c.contains_key("none"));
    }

    #[test]
    fn scopes() {
        let c = json!({"scope": "openid aws.cognito.signin.user.admin"});
        let c = c.as_object().unwrap();
        assert!(has_scope(c, &[COGNITO_ADMIN_SCOPE.to_owned()]));
        assert!(!has_scope(c, &["orders/write".to_owned()]));
        assert!(has_scope(c, &[]));
    }
}
