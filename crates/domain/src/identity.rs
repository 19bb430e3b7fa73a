//! The caller, as established by the verified token (Cognito `sub` and `cognito:groups`).
//! Nothing in a request body can change who the caller is.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub sub: String,
    pub groups: Vec<String>,
    /// The token's OAuth scopes (a store system's client-credentials token carries
    /// `orders-api/...` scopes; a customer's carries Cognito's own).
    pub scopes: Vec<String>,
}

pub const ADMIN_GROUP: &str = "admin";

impl Caller {
    pub fn new(sub: impl Into<String>, groups: Vec<String>) -> Self {
        Caller {
            sub: sub.into(),
            groups,
            scopes: Vec::new(),
        }
    }

    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes = scopes;
        self
    }

    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }

    /// Admin-only routes answer 403 with a message rather than the original's empty body.
    pub fn require_admin(&self) -> Result<(), crate::AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(crate::AppError::forbidden(
                "This action requires membership of the admin group",
            ))
        }
    }
}

/// Parses the `cognito:groups` claim in any of the shapes API Gateway hands it over: a JSON
/// array, a string like `"[admin, baristas]"` (REST API authorizer), or a plain `"admin"`.
pub fn parse_groups(claim: Option<&serde_json::Value>) -> Vec<String> {
    match claim {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(str::to_owned)
            .collect(),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split([',', ' '])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_parse_from_every_claim_shape() {
        assert_eq!(parse_groups(Some(&json!(["admin", "x"]))), ["admin", "x"]);
        assert_eq!(
            parse_groups(Some(&json!("[admin, baristas]"))),
            ["admin", "baristas"]
        );
        assert_eq!(parse_groups(Some(&json!("admin"))), ["admin"]);
        assert_eq!(parse_groups(Some(&json!("[]"))), Vec::<String>::new());
        assert_eq!(parse_groups(None), Vec::<String>::new());
        assert_eq!(parse_groups(Some(&json!(42))), Vec::<String>::new());
    }

    #[test]
    fn only_the_admin_group_is_admin() {
        assert!(Caller::new("a", vec!["admin".into()]).is_admin());
        assert!(!Caller::new("a", vec!["administrators".into()]).is_admin());
        let err = Caller::new("a", vec![]).require_admin().unwrap_err();
        assert_eq!(err.status(), 403);
    }
}
