//! Reading the API from the template: the OpenAPI body becomes a table of compiled routes.
//! All the interpretation happens here, once; requests only look things up.

mod auth;
mod integrations;
mod routes;

use super::throttle::{MethodThrottle, as_number, parameter_default, stage_throttling};
use super::vtl::MessageTemplate;
use super::{GatewayError, Throttle};
use routes::{Parser, parse_template, same_shape};
use serde_json::{Map, Value};
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
        // The one template reader normalises the CloudFormation tags, as for the local stack.
        let template =
            crate::Template::parse(yaml).map_err(|e| GatewayError::Template(e.to_string()))?;
        Self::from_template_document(template.document(), wanted)
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
        let (id, api) = select_api(resources, wanted)?;
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
        spec.check_targets(resources)?;
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

    /// A route pointing at a resource the template does not define would only fail at deploy
    /// time in AWS; here it would be a confusing 502 at request time: refused at start.
    fn check_targets(&self, resources: &Map<String, Value>) -> Result<(), GatewayError> {
        for r in self.routes() {
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
        Ok(())
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

/// The template's one REST API resource (or the one named `wanted`): its logical id and body.
fn select_api<'a>(
    resources: &'a Map<String, Value>,
    wanted: Option<&str>,
) -> Result<(&'a String, &'a Value), GatewayError> {
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
    match apis.as_slice() {
        [one] => Ok(*one),
        [] => Err(GatewayError::Template(match wanted {
            Some(w) => format!("no REST API resource named {w}"),
            None => "no AWS::Serverless::Api or AWS::ApiGateway::RestApi resource".into(),
        })),
        several => {
            let ids: Vec<&str> = several.iter().map(|(id, _)| id.as_str()).collect();
            Err(GatewayError::Template(format!(
                "several REST APIs ({}); name the one to serve",
                ids.join(", ")
            )))
        }
    }
}

/// `!Ref Param` (or a literal) → the parameter's `Default`.
fn resolve_param<'a>(v: &'a Value, params: &'a Map<String, Value>) -> Option<&'a Value> {
    match v.get("Ref").and_then(Value::as_str) {
        Some(name) => params.get(name).and_then(|p| p.get("Default")),
        None => Some(v),
    }
}
