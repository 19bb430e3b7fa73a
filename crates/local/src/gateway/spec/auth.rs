//! A route's authorizer: the Cognito user-pool scheme its `security` requirement names.

use super::AuthRule;
use super::routes::Parser;
use serde_json::Value;

impl Parser<'_> {
    pub(super) fn auth_rule(&self, op: &Value) -> Result<Option<AuthRule>, String> {
        let Some(requirements) = op.get("security").or_else(|| self.doc.get("security")) else {
            return Ok(None);
        };
        let requirements = requirements
            .as_array()
            .ok_or("security is not a list of requirements")?;
        let Some(req) = requirements.first() else {
            return Ok(None);
        };
        if requirements.len() > 1 {
            return Err(
                "several security requirements; API Gateway uses one authorizer per \
                        method"
                    .into(),
            );
        }
        let req = req
            .as_object()
            .ok_or("a security requirement is not a map")?;
        let mut entries = req.iter();
        let Some((scheme_name, scopes)) = entries.next() else {
            return Ok(None); // `- {}`: anonymous access
        };
        if entries.next().is_some() {
            return Err("a security requirement names several schemes".into());
        }
        let scheme = self
            .doc
            .pointer(&format!(
                "/components/securitySchemes/{}",
                scheme_name.replace('~', "~0").replace('/', "~1")
            ))
            .ok_or_else(|| format!("security scheme {scheme_name:?} is not defined"))?;
        let authorizer = scheme.get("x-amazon-apigateway-authorizer");
        let cognito = scheme
            .get("x-amazon-apigateway-authtype")
            .and_then(Value::as_str)
            == Some("cognito_user_pools")
            || authorizer
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
                == Some("cognito_user_pools");
        if !cognito {
            return Err(format!(
                "security scheme {scheme_name:?} is not a Cognito user pool authorizer, the only \
                 kind the local gateway emulates"
            ));
        }
        let header = authorizer
            .and_then(|a| a.get("identitySource"))
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix("method.request.header."))
            .or_else(|| {
                (scheme.get("in").and_then(Value::as_str) == Some("header"))
                    .then(|| scheme.get("name").and_then(Value::as_str))
                    .flatten()
            })
            .unwrap_or("Authorization")
            .to_ascii_lowercase();
        let scopes = scopes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        Ok(Some(AuthRule { header, scopes }))
    }
}
