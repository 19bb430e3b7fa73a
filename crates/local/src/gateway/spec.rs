//! Reading the API from the template: the OpenAPI body becomes a table of compiled routes.
//! All the interpretation happens here, once; requests only look things up.

use super::throttle::{MethodThrottle, as_number, parameter_default, stage_throttling};
use super::vtl::{self, MessageTemplate};
use super::{GatewayError, Throttle};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The API as the gateway serves it: routes, stage, default throttling, gateway responses.
/// Cloning is cheap (compiled models are shared).
#[derive(Clone)]
pub struct ApiSpec {
    pub(crate) resources: Vec<Resource>,
    pub(crate) gateway_responses: HashMap<String, GatewayResponse>,
    stage: String,
    throttle: Throttle,
    method_throttles: Vec<MethodThrottle>,
    /// The OpenAPI document as it was read (served at `/openapi.json`).
    document: Value,
}

/// One route, for listings (start-up banner, checks that every function is wired).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteInfo {
    /// `GET`, `PUT`, ..., or `ANY` (`x-amazon-apigateway-any-method`).
    pub method: String,
    /// The path template, e.g. `/orders/{id}`.
    pub path: String,
    /// Whether a token is required.
    pub secured: bool,
    pub target: RouteTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// `aws_proxy`: the function's logical id.
    Lambda(String),
    /// `aws` SQS `SendMessage`: the queue's logical id.
    Queue(String),
    /// `mock` (CORS preflights).
    Mock,
}

/// All the methods of one path template.
#[derive(Clone)]
pub(crate) struct Resource {
    pub template: String,
    pub segments: Vec<Segment>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    Param(String),
    /// `{name+}`: one or more trailing segments.
    Greedy(String),
}

#[derive(Clone)]
pub(crate) struct Route {
    pub method: String,
    pub auth: Option<AuthRule>,
    pub required_query: Vec<String>,
    pub required_headers: Vec<String>,
    pub body: BodyRule,
    pub integration: Integration,
}

/// A Cognito user-pool authorizer on a route.
#[derive(Clone)]
pub(crate) struct AuthRule {
    /// Where the token is read from (the scheme's `name`, normally `Authorization`).
    pub header: String,
    /// OAuth scopes of the security requirement; the token needs at least one (none listed:
    /// any access token).
    pub scopes: Vec<String>,
}

#[derive(Clone, Default)]
pub(crate) struct BodyRule {
    pub required: bool,
    pub model: Option<Arc<Model>>,
}

pub(crate) struct Model {
    pub validator: jsonschema::Validator,
}

#[derive(Clone)]
pub(crate) enum Integration {
    Lambda { function: String },
    Sqs(SqsIntegration),
    Mock(StaticResponse),
}

#[derive(Clone)]
pub(crate) struct SqsIntegration {
    pub queue: String,
    /// Request templates by content type (lower case).
    pub templates: Vec<(String, MessageTemplate)>,
    /// The integration response selected for SQS's 200.
    pub on_success: StaticResponse,
    /// The integration response selected for SQS failing with 500 (what a failed
    /// `send_message` stands for); `None`: answer 502.
    pub on_failure: Option<StaticResponse>,
}

/// A status, literal headers and a body that is either what the integration answered or a
/// literal from the template.
#[derive(Debug, Clone)]
pub(crate) struct StaticResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ResponseBody,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResponseBody {
    Passthrough,
    Literal(String),
}

/// An `x-amazon-apigateway-gateway-responses` entry: the status override and literal headers.
#[derive(Debug, Clone, Default)]
pub(crate) struct GatewayResponse {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
}

const METHODS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("patch", "PATCH"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// API Gateway's account-level defaults, used when the template sets no stage throttling.
const AWS_DEFAULT_THROTTLE: Throttle = Throttle {
    rate_per_second: 10_000.0,
    burst: 5_000,
};

impl ApiSpec {
    /// The one REST API of a SAM/CloudFormation template (`AWS::Serverless::Api` with a
    /// `DefinitionBody`, or `AWS::ApiGateway::RestApi` with a `Body`). With several, use
    /// [`ApiSpec::from_template_api`].
    pub fn from_template(template_yaml: &str) -> Result<ApiSpec, GatewayError> {
        Self::from_template_inner(template_yaml, None)
    }

    /// The REST API resource `logical_id` of the template.
    pub fn from_template_api(
        template_yaml: &str,
        logical_id: &str,
    ) -> Result<ApiSpec, GatewayError> {
        Self::from_template_inner(template_yaml, Some(logical_id))
    }

    fn from_template_inner(yaml: &str, wanted: Option<&str>) -> Result<ApiSpec, GatewayError> {
        let raw: serde_yaml::Value =
            serde_yaml::from_str(yaml).map_err(|e| GatewayError::Template(e.to_string()))?;
        Self::from_template_document(&yaml_to_json(&raw), wanted)
    }

    /// The REST API (`wanted`, or the only one) of a template already read as JSON with its
    /// intrinsics in long form ([`crate::Template::document`]).
    pub fn from_template_document(
        doc: &Value,
        wanted: Option<&str>,
    ) -> Result<ApiSpec, GatewayError> {
        let empty = Map::new();
        let params = doc
            .get("Parameters")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let resources = doc
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| GatewayError::Template("no Resources section".into()))?;
        let apis: Vec<(&String, &Value)> = resources
            .iter()
            .filter(|(id, r)| {
                let ty = r.get("Type").and_then(Value::as_str);
                matches!(
                    ty,
                    Some("AWS::Serverless::Api") | Some("AWS::ApiGateway::RestApi")
                ) && wanted.is_none_or(|w| w == id.as_str())
            })
            .collect();
        let (id, api) = match apis.as_slice() {
            [one] => *one,
            [] => {
                return Err(GatewayError::Template(match wanted {
                    Some(w) => format!("no REST API resource named {w}"),
                    None => "no AWS::Serverless::Api or AWS::ApiGateway::RestApi resource".into(),
                }));
            }
            several => {
                let ids: Vec<&str> = several.iter().map(|(id, _)| id.as_str()).collect();
                return Err(GatewayError::Template(format!(
                    "several REST APIs ({}); name the one to serve",
                    ids.join(", ")
                )));
            }
        };
        let props = api.get("Properties").unwrap_or(&Value::Null);
        let body = props
            .get("DefinitionBody")
            .or_else(|| props.get("Body"))
            .ok_or_else(|| {
                GatewayError::Template(format!(
                    "{id} has no inline DefinitionBody/Body (a DefinitionUri cannot be read here)"
                ))
            })?;
        let mut spec = Self::from_openapi(body)?;
        // A route pointing at a resource the template does not define would only fail at
        // deploy time in AWS; here it would be a confusing 502 at request time.
        for r in spec.routes() {
            let (id, types): (&str, &[&str]) = match &r.target {
                RouteTarget::Lambda(f) => {
                    (f, &["AWS::Serverless::Function", "AWS::Lambda::Function"])
                }
                RouteTarget::Queue(q) => (q, &["AWS::SQS::Queue"]),
                RouteTarget::Mock => continue,
            };
            let ty = resources
                .get(id)
                .and_then(|res| res.get("Type"))
                .and_then(Value::as_str);
            if !ty.is_some_and(|t| types.contains(&t)) {
                return Err(GatewayError::Route {
                    method: r.method,
                    path: r.path,
                    reason: format!(
                        "its integration names {id}, which is not a {} of the template",
                        types.join(" or ")
                    ),
                });
            }
        }
        if let Some(stage) = props
            .get("StageName")
            .and_then(|v| resolve_param(v, params))
            .and_then(|v| v.as_str().map(str::to_owned))
        {
            spec.stage = stage;
        }
        spec.read_throttling(props, params)?;
        Ok(spec)
    }

    /// An OpenAPI 3 document as JSON (tests, or an API defined elsewhere). Stage `Prod`,
    /// API Gateway's default account throttling.
    pub fn from_openapi(doc: &Value) -> Result<ApiSpec, GatewayError> {
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| GatewayError::Template("the OpenAPI body has no paths".into()))?;
        let mut parser = Parser::new(doc)?;
        let mut resources: Vec<Resource> = Vec::new();
        for (template, item) in paths {
            let segments = parse_template(template).map_err(|reason| GatewayError::Route {
                method: "*".into(),
                path: template.clone(),
                reason,
            })?;
            if let Some(other) = resources
                .iter()
                .find(|r| same_shape(&r.segments, &segments))
            {
                return Err(GatewayError::Route {
                    method: "*".into(),
                    path: template.clone(),
                    reason: format!("matches the same requests as {}", other.template),
                });
            }
            let item = parser.resolve(item).map_err(|reason| GatewayError::Route {
                method: "*".into(),
                path: template.clone(),
                reason,
            })?;
            let mut routes = Vec::new();
            for (key, method) in METHODS {
                let Some(op) = item.get(key) else { continue };
                let route =
                    parser
                        .route(method, item, op)
                        .map_err(|reason| GatewayError::Route {
                            method: method.into(),
                            path: template.clone(),
                            reason,
                        })?;
                routes.push(route);
            }
            resources.push(Resource {
                template: template.clone(),
                segments,
                routes,
            });
        }
        Ok(ApiSpec {
            resources,
            gateway_responses: parser.gateway_responses(),
            stage: "Prod".into(),
            throttle: AWS_DEFAULT_THROTTLE,
            method_throttles: Vec::new(),
            document: doc.clone(),
        })
    }

    /// The stage's throttling: the `/*` `*` `MethodSettings` entry (else the
    /// `ApiThrottleRateLimit`/`ApiThrottleBurstLimit` parameter defaults, else API Gateway's
    /// account defaults), and the entries for single methods, each of which must name a method
    /// the API serves (a misspelt path would silently throttle nothing).
    fn read_throttling(
        &mut self,
        props: &Value,
        params: &Map<String, Value>,
    ) -> Result<(), GatewayError> {
        let number =
            |v: Option<&Value>| v.and_then(|v| resolve_param(v, params)).and_then(as_number);
        let stage = stage_throttling(props, number).map_err(GatewayError::Template)?;
        let from_params = || {
            Some(Throttle {
                rate_per_second: parameter_default(params, "ApiThrottleRateLimit")?,
                burst: parameter_default(params, "ApiThrottleBurstLimit")? as u32,
            })
        };
        self.throttle = stage
            .default
            .or_else(from_params)
            .unwrap_or(AWS_DEFAULT_THROTTLE);
        let routes = self.routes();
        for m in &stage.methods {
            let served = routes
                .iter()
                .any(|r| r.path == m.path && (m.method == "*" || r.method == m.method));
            if !served {
                return Err(GatewayError::Template(format!(
                    "MethodSettings throttle {} {}, which the API does not serve",
                    m.method, m.path
                )));
            }
        }
        self.method_throttles = stage.methods;
        Ok(())
    }

    /// Every (method, path) served, sorted by path.
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.resources
            .iter()
            .flat_map(|res| {
                res.routes.iter().map(|r| RouteInfo {
                    method: r.method.clone(),
                    path: res.template.clone(),
                    secured: r.auth.is_some(),
                    target: match &r.integration {
                        Integration::Lambda { function } => RouteTarget::Lambda(function.clone()),
                        Integration::Sqs(s) => RouteTarget::Queue(s.queue.clone()),
                        Integration::Mock(_) => RouteTarget::Mock,
                    },
                })
            })
            .collect()
    }

    /// The stage name the template deploys (`StageName`, resolved through its parameter
    /// default), `Prod` when none.
    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// The stage-wide throttling the template deploys (`MethodSettings` for `/*` `*`, resolved
    /// through the parameter defaults; else the `ApiThrottleRateLimit`/`ApiThrottleBurstLimit`
    /// parameter defaults; else API Gateway's account defaults, 10000/s burst 5000).
    pub fn throttle(&self) -> Throttle {
        self.throttle
    }

    /// The methods the stage's `MethodSettings` give their own limits (`/config` `GET`).
    pub fn method_throttles(&self) -> &[MethodThrottle] {
        &self.method_throttles
    }

    /// The OpenAPI document the routes were read from, for clients and tools (served at
    /// `/openapi.json` by the local stack; fuzzed by schemathesis in CI).
    pub fn document(&self) -> &Value {
        &self.document
    }
}

impl std::fmt::Debug for ApiSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSpec")
            .field("stage", &self.stage)
            .field("throttle", &self.throttle)
            .field("method_throttles", &self.method_throttles)
            .field("routes", &self.routes())
            .finish_non_exhaustive()
    }
}

/// `!Ref Param` (or a literal) → the parameter's `Default`.
fn resolve_param<'a>(v: &'a Value, params: &'a Map<String, Value>) -> Option<&'a Value> {
    match v.get("Ref").and_then(Value::as_str) {
        Some(name) => params.get(name).and_then(|p| p.get("Default")),
        None => Some(v),
    }
}

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

fn parse_template(template: &str) -> Result<Vec<Segment>, String> {
    if !template.starts_with('/') {
        return Err("a path must start with /".into());
    }
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(
            |(i, part)| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                None if part.contains(['{', '}']) => {
                    Err(format!("segment {part:?} mixes text and a parameter"))
                }
                None => Ok(Segment::Literal((*part).to_owned())),
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if i == last && !greedy.is_empty() => {
                        Ok(Segment::Greedy(greedy.to_owned()))
                    }
                    Some(_) => Err(format!("{part} must be the last segment")),
                    None if name.is_empty() => Err("empty parameter name".into()),
                    None => Ok(Segment::Param(name.to_owned())),
                },
            },
        )
        .collect()
}

/// Two templates that differ only in parameter names match the same requests.
fn same_shape(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Segment::Literal(p), Segment::Literal(q)) => p == q,
            (Segment::Param(_), Segment::Param(_)) | (Segment::Greedy(_), Segment::Greedy(_)) => {
                true
            }
            _ => false,
        })
}

/// `'literal'` (a static mapping value) → `literal`.
fn static_value(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.to_owned())
}

/// A template string the gateway can return as is: no VTL references or directives.
fn is_literal_template(s: &str) -> bool {
    !s.contains('$') && !s.contains('#')
}

fn is_passthrough_template(s: &str) -> bool {
    matches!(
        s.trim(),
        "$input.body" | "$input.json('$')" | "$input.json(\"$\")"
    )
}

/// Whether `text` matches the whole of the Java-style `pattern` (API Gateway's integration
/// response selection). The regex engine is jsonschema's (`pattern` keyword), so that no extra
/// dependency is needed for a start-up-only check.
fn full_match(pattern: &str, text: &str) -> Result<bool, String> {
    let schema = json!({ "type": "string", "pattern": format!("^(?:{pattern})$") });
    let v = jsonschema::draft7::new(&schema)
        .map_err(|e| format!("selection pattern {pattern:?} is not a valid regex: {e}"))?;
    Ok(v.is_valid(&json!(text)))
}

struct Parser<'d> {
    doc: &'d Value,
    validators: HashMap<String, (bool, bool)>,
    default_validator: Option<String>,
    models: HashMap<String, Arc<Model>>,
}

impl<'d> Parser<'d> {
    fn new(doc: &'d Value) -> Result<Self, GatewayError> {
        let mut validators = HashMap::new();
        if let Some(map) = doc
            .get("x-amazon-apigateway-request-validators")
            .and_then(Value::as_object)
        {
            for (name, v) in map {
                let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
                validators.insert(
                    name.clone(),
                    (
                        flag("validateRequestBody"),
                        flag("validateRequestParameters"),
                    ),
                );
            }
        }
        let default_validator = doc
            .get("x-amazon-apigateway-request-validator")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(d) = &default_validator
            && !validators.contains_key(d)
        {
            return Err(GatewayError::Template(format!(
                "default request validator {d:?} is not defined"
            )));
        }
        Ok(Parser {
            doc,
            validators,
            default_validator,
            models: HashMap::new(),
        })
    }

    /// Follows local `$ref`s (`#/components/...`) to the value they name.
    fn resolve<'v>(&self, mut v: &'v Value) -> Result<&'v Value, String>
    where
        'd: 'v,
    {
        for _ in 0..16 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return Ok(v);
            };
            let pointer = r
                .strip_prefix('#')
                .ok_or_else(|| format!("$ref {r:?} is not local to the document"))?;
            v = self
                .doc
                .pointer(pointer)
                .ok_or_else(|| format!("$ref {r:?} points at nothing"))?;
        }
        Err("$ref chain too long (a cycle?)".into())
    }

    fn route(&mut self, method: &str, item: &Value, op: &Value) -> Result<Route, String> {
        let op = self.resolve(op)?;
        let validator = match op
            .get("x-amazon-apigateway-request-validator")
            .and_then(Value::as_str)
            .or(self.default_validator.as_deref())
        {
            None => (false, false),
            Some(name) => *self
                .validators
                .get(name)
                .ok_or_else(|| format!("request validator {name:?} is not defined"))?,
        };
        let (validate_body, validate_params) = validator;

        let mut required_query = Vec::new();
        let mut required_headers = Vec::new();
        if validate_params {
            // Path-level parameters apply to every operation; an operation's own entry with the
            // same name and location replaces it.
            let mut params: Vec<(String, String, bool)> = Vec::new();
            for list in [item.get("parameters"), op.get("parameters")]
                .into_iter()
                .flatten()
            {
                for p in list.as_array().into_iter().flatten() {
                    let p = self.resolve(p)?;
                    let name = p
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or("a parameter has no name")?;
                    let location = p.get("in").and_then(Value::as_str).unwrap_or("");
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    params.retain(|(n, l, _)| !(n == name && l == location));
                    params.push((name.to_owned(), location.to_owned(), required));
                }
            }
            for (name, location, required) in params {
                match (location.as_str(), required) {
                    ("query", true) => required_query.push(name),
                    ("header", true) => required_headers.push(name.to_ascii_lowercase()),
                    _ => {}
                }
            }
        }

        let body = if validate_body {
            self.body_rule(op)?
        } else {
            BodyRule::default()
        };

        Ok(Route {
            method: method.to_owned(),
            auth: self.auth_rule(op)?,
            required_query,
            required_headers,
            body,
            integration: self.integration(op)?,
        })
    }

    fn body_rule(&mut self, op: &Value) -> Result<BodyRule, String> {
        let Some(rb) = op.get("requestBody") else {
            return Ok(BodyRule::default());
        };
        let rb = self.resolve(rb)?;
        let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
        let content = rb.get("content").and_then(Value::as_object);
        let media = match content {
            None => None,
            Some(c) => match c.get("application/json") {
                Some(m) => Some(m),
                None if c.len() == 1 => c.values().next(),
                None if c.is_empty() => None,
                None => {
                    return Err(
                        "several request body media types without application/json; the local \
                         gateway validates one model per route"
                            .into(),
                    );
                }
            },
        };
        let model = match media.and_then(|m| m.get("schema")) {
            None => None,
            Some(schema) => Some(self.model(schema)?),
        };
        Ok(BodyRule { required, model })
    }

    /// Compiles a body schema once (a `$ref`ed model is shared by every route using it). The
    /// document's `components/schemas` travel with the schema so that local refs resolve;
    /// remote refs are refused by jsonschema (built without its resolvers).
    fn model(&mut self, schema: &Value) -> Result<Arc<Model>, String> {
        let key = schema
            .get("$ref")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(m) = key.as_ref().and_then(|k| self.models.get(k)) {
            return Ok(Arc::clone(m));
        }
        let schemas = self
            .doc
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or_else(|| json!({}));
        // Draft 4 is what API Gateway models are; `allOf` keeps a top-level `$ref` from hiding
        // the `components` member the refs point into.
        let root = json!({ "allOf": [schema], "components": { "schemas": schemas } });
        let validator = jsonschema::draft4::new(&root).map_err(|e| {
            format!(
                "request model {} does not compile: {e}",
                key.as_deref().unwrap_or("(inline)")
            )
        })?;
        let model = Arc::new(Model { validator });
        if let Some(k) = key {
            self.models.insert(k, Arc::clone(&model));
        }
        Ok(model)
    }

    fn auth_rule(&self, op: &Value) -> Result<Option<AuthRule>, String> {
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

    fn integration(&self, op: &Value) -> Result<Integration, String> {
        let integ = op
            .get("x-amazon-apigateway-integration")
            .ok_or("no x-amazon-apigateway-integration")?;
        let ty = integ
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        match ty.as_str() {
            "aws_proxy" => {
                let uri = sub_string(integ.get("uri")).ok_or("integration has no uri")?;
                Ok(Integration::Lambda {
                    function: lambda_function(&uri)?,
                })
            }
            "aws" => self.sqs_integration(integ).map(Integration::Sqs),
            "mock" => {
                let default = integ
                    .pointer("/responses/default")
                    .ok_or("mock integration without a default response")?;
                Ok(Integration::Mock(static_response(default, "mock")?))
            }
            other => Err(format!(
                "integration type {other:?} is not emulated (only aws_proxy, aws SQS SendMessage \
                 and mock)"
            )),
        }
    }

    fn sqs_integration(&self, integ: &Value) -> Result<SqsIntegration, String> {
        let uri = sub_string(integ.get("uri")).ok_or("integration has no uri")?;
        let path = uri
            .split_once(":sqs:path/")
            .map(|(_, p)| p)
            .ok_or_else(|| {
                format!(
                    "AWS integration uri {uri:?} is not an SQS path (…:sqs:path/<account>/<queue>); \
                     only SQS SendMessage is emulated"
                )
            })?;
        let last = path.rsplit('/').next().unwrap_or("");
        let queue = match last.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
            Some(expr) => expr
                .strip_suffix(".QueueName")
                .ok_or_else(|| format!("queue {last:?}: expected ${{Queue.QueueName}}"))?
                .to_owned(),
            None if !last.is_empty() && !last.contains('$') => last.to_owned(),
            None => return Err(format!("cannot read the queue from {uri:?}")),
        };

        // The request parameters only shape the HTTP call to SQS; two of them change what SQS
        // answers, so they must be what the emulation assumes.
        if let Some(params) = integ.get("requestParameters").and_then(Value::as_object) {
            for (k, v) in params {
                let value = static_value(v);
                match k.to_ascii_lowercase().as_str() {
                    "integration.request.header.content-type"
                        if value.as_deref() == Some("application/x-www-form-urlencoded") => {}
                    "integration.request.header.accept"
                        if value.as_deref() == Some("application/json") => {}
                    _ => {
                        return Err(format!(
                            "request parameter {k}: {v} is not emulated (only Content-Type \
                             'application/x-www-form-urlencoded' and Accept 'application/json')"
                        ));
                    }
                }
            }
        }

        let templates = integ
            .get("requestTemplates")
            .and_then(Value::as_object)
            .filter(|t| !t.is_empty())
            .ok_or("SQS integration without requestTemplates")?
            .iter()
            .map(|(ct, t)| {
                let t = t
                    .as_str()
                    .ok_or_else(|| format!("request template for {ct} is not a string"))?;
                let parsed = vtl::parse_send_message(t)
                    .map_err(|e| format!("request template for {ct}: {e}"))?;
                Ok((ct.trim().to_ascii_lowercase(), parsed))
            })
            .collect::<Result<Vec<_>, String>>()?;

        let responses = integ.get("responses").and_then(Value::as_object);
        let select = |status: &str| -> Result<Option<StaticResponse>, String> {
            let Some(responses) = responses else {
                return Ok(None);
            };
            for (pattern, r) in responses {
                if pattern != "default" && full_match(pattern, status)? {
                    return static_response(r, pattern).map(Some);
                }
            }
            responses
                .get("default")
                .map(|r| static_response(r, "default"))
                .transpose()
        };
        let on_success = select("200")?.unwrap_or(StaticResponse {
            status: 200,
            headers: Vec::new(),
            body: ResponseBody::Passthrough,
        });
        if !(200..300).contains(&on_success.status) {
            return Err(format!(
                "SQS's 200 is mapped to {}; the local gateway expects a 2xx",
                on_success.status
            ));
        }
        let on_failure = select("500")?;
        Ok(SqsIntegration {
            queue,
            templates,
            on_success,
            on_failure,
        })
    }

    fn gateway_responses(&self) -> HashMap<String, GatewayResponse> {
        let mut out = HashMap::new();
        let Some(map) = self
            .doc
            .get("x-amazon-apigateway-gateway-responses")
            .and_then(Value::as_object)
        else {
            return out;
        };
        for (ty, r) in map {
            let status = r
                .get("statusCode")
                .and_then(as_number)
                .and_then(|n| u16::try_from(n as i64).ok())
                .filter(|s| (400..600).contains(s));
            let mut headers = Vec::new();
            for (k, v) in r
                .get("responseParameters")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let name = k.strip_prefix("gatewayresponse.header.");
                match (name, static_value(v)) {
                    (Some(name), Some(value)) => headers.push((name.to_owned(), value)),
                    _ => tracing::warn!(
                        gateway_response = ty.as_str(),
                        parameter = k.as_str(),
                        "gateway response parameter is not a static header; ignored locally"
                    ),
                }
            }
            out.insert(ty.clone(), GatewayResponse { status, headers });
        }
        out
    }
}

/// A `uri` as a plain string or the string of `Fn::Sub` (plain or `[string, vars]` form).
fn sub_string(v: Option<&Value>) -> Option<String> {
    let v = v?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => match o.get("Fn::Sub")? {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first()?.as_str().map(str::to_owned),
            _ => None,
        },
        _ => None,
    }
}

/// `…/functions/${OrderManagerFunction.Arn}/invocations` → `OrderManagerFunction`; also a
/// literal function ARN (`arn:aws:lambda:…:function:name`) → `name`.
fn lambda_function(uri: &str) -> Result<String, String> {
    let arn = uri
        .split_once("/functions/")
        .and_then(|(_, rest)| rest.strip_suffix("/invocations"))
        .ok_or_else(|| format!("Lambda uri {uri:?} is not …/functions/<arn>/invocations"))?;
    if let Some(expr) = arn.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
        let id = expr.strip_suffix(".Arn").unwrap_or(expr);
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(id.to_owned());
        }
    } else if let Some((_, name)) = arn.split_once(":function:")
        && !name.is_empty()
        && !name.contains(['$', ':'])
    {
        return Ok(name.to_owned());
    }
    Err(format!(
        "cannot tell which function {arn:?} is (expected ${{Function.Arn}})"
    ))
}

/// An integration response (`mock` default, or an SQS one): status, static headers, and a body
/// that is the integration's (no template or a pass-through one) or a literal template.
fn static_response(r: &Value, which: &str) -> Result<StaticResponse, String> {
    let status = r
        .get("statusCode")
        .and_then(as_number)
        .and_then(|n| u16::try_from(n as i64).ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| format!("integration response {which:?} has no valid statusCode"))?;
    let mut headers = Vec::new();
    for (k, v) in r
        .get("responseParameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let name = k.strip_prefix("method.response.header.").ok_or_else(|| {
            format!("integration response {which:?}: parameter {k} is not a response header")
        })?;
        let value = static_value(v).ok_or_else(|| {
            format!(
                "integration response {which:?}: {k} is mapped from {v}, not a static 'value'; \
                 only static headers are emulated"
            )
        })?;
        headers.push((name.to_owned(), value));
    }
    let body = match r.get("responseTemplates").and_then(Value::as_object) {
        None => ResponseBody::Passthrough,
        Some(t) => {
            let template = t
                .get("application/json")
                .or_else(|| (t.len() == 1).then(|| t.values().next()).flatten())
                .and_then(Value::as_str);
            match template {
                None if t.is_empty() => ResponseBody::Passthrough,
                None => {
                    return Err(format!(
                        "integration response {which:?}: no application/json response template"
                    ));
                }
                Some(s) if is_passthrough_template(s) => ResponseBody::Passthrough,
                Some(s) if is_literal_template(s) => ResponseBody::Literal(s.to_owned()),
                Some(s) => {
                    return Err(format!(
                        "integration response {which:?}: template {s:?} uses VTL; only literal \
                         and pass-through ($input.body) templates are emulated"
                    ));
                }
            }
        }
    };
    Ok(StaticResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_into_segments() {
        assert_eq!(
            parse_template("/orders/{id}").unwrap(),
            vec![
                Segment::Literal("orders".into()),
                Segment::Param("id".into())
            ]
        );
        assert_eq!(
            parse_template("/files/{p+}").unwrap(),
            vec![
                Segment::Literal("files".into()),
                Segment::Greedy("p".into())
            ]
        );
        assert!(parse_template("/a/{p+}/b").is_err());
        assert!(parse_template("/a/x{id}").is_err());
        assert!(parse_template("a").is_err());
    }

    #[test]
    fn function_and_queue_ids_come_from_the_uri() {
        assert_eq!(
            lambda_function(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${OrderManagerFunction.Arn}/invocations"
            )
            .unwrap(),
            "OrderManagerFunction"
        );
        assert_eq!(
            lambda_function(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:fn1/invocations"
            )
            .unwrap(),
            "fn1"
        );
        assert!(lambda_function("arn:aws:apigateway:x:lambda:path/nothing").is_err());
    }

    #[test]
    fn selection_patterns_match_whole_statuses() {
        assert!(full_match(r"5\d{2}", "500").unwrap());
        assert!(!full_match(r"5\d{2}", "5000").unwrap());
        assert!(!full_match("4(0[1-9]|[1-9]\\d)", "400").unwrap());
        assert!(full_match("4(0[1-9]|[1-9]\\d)", "403").unwrap());
    }

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
