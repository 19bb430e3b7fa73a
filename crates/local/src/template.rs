//! The one reader of `template.yaml`: parsed once when the local stack starts, CloudFormation's
//! tags normalised once to their long JSON form (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` →
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` → `{"Fn::Sub": s}`, ...), and references resolved to
//! their local values. Every emulator takes what it needs from it: tables, queues, bus rules,
//! event sources, the API's OpenAPI body, the workflow and its substitutions, and each
//! function's environment.

use crate::LocalError;
use crate::queue::QueueSpec;
use crate::rules::Rule;
use crate::tables::TableSpec;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many templates this process has parsed (see [`Template::parse_count`]).
static PARSES: AtomicUsize = AtomicUsize::new(0);

/// The local account and region in the ARNs the local stack hands out.
const LOCAL_ACCOUNT: &str = "000000000000";
const LOCAL_REGION: &str = "local";

#[derive(Debug, Clone)]
pub struct Template {
    /// The whole document, intrinsics in long form.
    doc: Value,
    /// Every parameter's value: its default, or an override.
    parameters: BTreeMap<String, String>,
    /// Where relative paths in the template (`DefinitionUri`) start.
    dir: PathBuf,
}

/// Something that feeds a function: a SAM `SQS` event (a queue) or `DynamoDB` event (a
/// table's stream), named by the logical id of the queue or table.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSource {
    pub source: String,
    pub function: String,
    pub batch_size: usize,
}

/// The workflow: its ASL file and its `DefinitionSubstitutions` resolved to local values.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub logical_id: String,
    pub definition_path: PathBuf,
    pub substitutions: HashMap<String, String>,
}

impl Template {
    /// The project's `template.yaml`.
    pub fn load() -> Result<Template, LocalError> {
        let root = crate::workspace_root();
        let text = std::fs::read_to_string(root.join("template.yaml"))?;
        let mut template = Template::parse(&text)?;
        template.dir = root;
        Ok(template)
    }

    /// Parses a template (relative paths start at the current directory).
    pub fn parse(yaml: &str) -> Result<Template, LocalError> {
        let raw: serde_yaml::Value =
            serde_yaml::from_str(yaml).map_err(|e| LocalError::Template(e.to_string()))?;
        let doc = normalise(&raw);
        if !doc["Resources"].is_object() {
            return Err(LocalError::Template("no Resources section".into()));
        }
        let parameters = doc["Parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, p)| Some((name.clone(), scalar(p.get("Default")?)?)))
            .collect();
        let parses = PARSES.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(parses, "template parsed");
        Ok(Template {
            doc,
            parameters,
            dir: PathBuf::from("."),
        })
    }

    /// How many templates this process has parsed: the local stack parses one per start.
    pub fn parse_count() -> usize {
        PARSES.load(Ordering::Relaxed)
    }

    /// Replaces parameter values (as `sam deploy --parameter-overrides` would); a name the
    /// template does not declare is an error.
    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<(), LocalError> {
        if self.doc["Parameters"].get(name).is_none() {
            return Err(LocalError::Template(format!("no parameter {name}")));
        }
        self.parameters.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// The value of parameter `name` (its override, else its default).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// The whole document, intrinsics in long form.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every resource with its logical id.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.doc["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, r)| (id.as_str(), r))
    }

    /// The resources of CloudFormation type `ty`.
    pub fn resources_of_type<'a>(
        &'a self,
        ty: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources()
            .filter(move |(_, r)| r["Type"].as_str() == Some(ty))
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.doc["Resources"][id]["Type"].as_str()
    }

    pub fn tables(&self) -> Result<Vec<TableSpec>, LocalError> {
        crate::tables::specs(self)
    }

    pub fn queues(&self) -> Vec<QueueSpec> {
        crate::queue::specs(self)
    }

    pub fn rules(&self) -> Vec<Rule> {
        crate::rules::rules(self)
    }

    /// Queues that feed functions (SAM's default batch size: 10).
    pub fn sqs_sources(&self) -> Vec<EventSource> {
        self.event_sources("SQS", "Queue", 10)
    }

    /// Table streams that feed functions (SAM's default batch size: 100).
    pub fn stream_sources(&self) -> Vec<EventSource> {
        self.event_sources("DynamoDB", "Stream", 100)
    }

    /// The function events of type `kind` whose `property` names the source.
    fn event_sources(&self, kind: &str, property: &str, default_batch: usize) -> Vec<EventSource> {
        let mut out = Vec::new();
        for (id, res) in self.resources() {
            for ev in res["Properties"]["Events"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let ev = ev.1;
                if ev["Type"].as_str() == Some(kind)
                    && let Some(source) = logical_id(&ev["Properties"][property])
                {
                    out.push(EventSource {
                        source,
                        function: id.to_owned(),
                        batch_size: ev["Properties"]["BatchSize"]
                            .as_u64()
                            .map_or(default_batch, |b| b as usize),
                    });
                }
            }
        }
        out
    }

    /// The one workflow (`AWS::Serverless::StateMachine`), its substitutions resolved.
    pub fn state_machine(&self) -> Result<StateMachine, LocalError> {
        let (id, machine) = self
            .resources_of_type("AWS::Serverless::StateMachine")
            .next()
            .ok_or_else(|| LocalError::Template("no AWS::Serverless::StateMachine".into()))?;
        let props = &machine["Properties"];
        let uri = props["DefinitionUri"].as_str().ok_or_else(|| {
            LocalError::Template(format!("{id} has no DefinitionUri file to read"))
        })?;
        let mut substitutions = HashMap::new();
        for (key, v) in props["DefinitionSubstitutions"]
            .as_object()
            .into_iter()
            .flatten()
        {
            substitutions.insert(key.clone(), self.resolve(v)?);
        }
        Ok(StateMachine {
            logical_id: id.to_owned(),
            definition_path: self.dir.join(uri),
            substitutions,
        })
    }

    /// A function's environment variables: `Globals.Function.Environment`, then its own, each
    /// resolved to its local value (`!Ref Table` → the local table name, `!Ref Parameter` →
    /// the parameter's value, ...).
    pub fn function_environment(&self, id: &str) -> Result<BTreeMap<String, String>, LocalError> {
        self.function_environment_with(id, &[])
    }

    /// [`function_environment`](Self::function_environment), with `local_values` standing for
    /// the variables whose AWS value names something that exists only in a deployment (a
    /// CloudFront distribution's domain: locally the stack serves those files itself).
    pub fn function_environment_with(
        &self,
        id: &str,
        local_values: &[(&str, &str)],
    ) -> Result<BTreeMap<String, String>, LocalError> {
        if self.resource_type(id).is_none() {
            return Err(LocalError::Template(format!("no resource {id}")));
        }
        let global = &self.doc["Globals"]["Function"]["Environment"]["Variables"];
        let own = &self.doc["Resources"][id]["Properties"]["Environment"]["Variables"];
        let mut vars = BTreeMap::new();
        for (name, v) in [global, own]
            .into_iter()
            .filter_map(Value::as_object)
            .flatten()
        {
            let value = match local_values.iter().find(|(n, _)| n == name) {
                Some((_, local)) => (*local).to_owned(),
                None => self
                    .resolve(v)
                    .map_err(|e| LocalError::Template(format!("{id} {name}: {e}")))?,
            };
            vars.insert(name.clone(), value);
        }
        Ok(vars)
    }

    /// The local value of a template value: a literal, a parameter, or a resource (a
    /// function's, queue's, topic's or state machine's local ARN; a table's local name; the
    /// bus's name). An attribute of a custom resource, which only a deployment computes,
    /// becomes a placeholder naming it.
    pub fn resolve(&self, value: &Value) -> Result<String, LocalError> {
        if let Some(s) = scalar(value) {
            return Ok(s);
        }
        if let Some(sub) = value.get("Fn::Sub") {
            return self.substitute(sub);
        }
        let Some(id) = logical_id(value) else {
            return Err(LocalError::Template(format!(
                "cannot resolve {value} locally"
            )));
        };
        if let Some(p) = self.parameter(&id) {
            return Ok(p.to_owned());
        }
        let arn = |service: &str, kind: &str| {
            format!("arn:aws:{service}:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{kind}{id}")
        };
        match self.resource_type(&id) {
            Some("AWS::Serverless::Function" | "AWS::Lambda::Function") => {
                Ok(arn("lambda", "function:"))
            }
            Some("AWS::SNS::Topic") => Ok(arn("sns", "")),
            Some("AWS::SQS::Queue") => Ok(arn("sqs", "")),
            Some("AWS::Serverless::StateMachine") => Ok(arn("states", "stateMachine:")),
            Some("AWS::Events::EventBus") => {
                self.resolve(&self.doc["Resources"][id.as_str()]["Properties"]["Name"])
            }
            Some("AWS::DynamoDB::Table") => Ok(id),
            // A resource that exists only in a deployment (a custom resource's result, the
            // identity pool, a CloudFront distribution): a placeholder that names it, so a
            // function whose local build does not use it still builds, and one that does use
            // it fails visibly instead of reaching AWS.
            Some(_) => {
                let attr = value["Fn::GetAtt"][1].as_str().unwrap_or("Ref");
                Ok(format!("{id}.{attr}.local.invalid"))
            }
            None => Err(LocalError::Template(format!(
                "cannot resolve {id} locally: no such parameter or resource"
            ))),
        }
    }

    /// `Fn::Sub` with `${Name}`, `${Name.Attr}` and the pseudo parameters.
    fn substitute(&self, sub: &Value) -> Result<String, LocalError> {
        let (text, vars) = match sub {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) => (a[0].as_str().unwrap_or_default(), a[1].as_object()),
            _ => return Err(LocalError::Template(format!("malformed Fn::Sub {sub}"))),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| LocalError::Template(format!("unclosed ${{ in {text:?}")))?;
            let name = &rest[start + 2..start + end];
            let value = match (vars.and_then(|v| v.get(name)), name) {
                (Some(v), _) => self.resolve(v)?,
                (None, "AWS::Region") => LOCAL_REGION.to_owned(),
                (None, "AWS::AccountId") => LOCAL_ACCOUNT.to_owned(),
                (None, "AWS::Partition") => "aws".to_owned(),
                (None, "AWS::StackName") => "coffee-local".to_owned(),
                (None, n) => match n.split_once('.') {
                    Some((id, attr)) => self.resolve(&json!({ "Fn::GetAtt": [id, attr] }))?,
                    None => self.resolve(&json!({ "Ref": n }))?,
                },
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A literal as the string an environment variable would hold.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The logical id a reference points at: `{"Fn::GetAtt": [X, Attr]}` or `{"Ref": X}`.
pub fn logical_id(v: &Value) -> Option<String> {
    if let Some(g) = v.get("Fn::GetAtt") {
        return g[0].as_str().map(str::to_owned);
    }
    v.get("Ref").and_then(Value::as_str).map(str::to_owned)
}

/// YAML to JSON with every CloudFormation short-form tag in its long form; a dotted
/// `Fn::GetAtt` string (short or long form) becomes `[resource, attribute]`; non-string keys
/// become strings.
fn normalise(v: &serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(normalise).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                out.insert(key, normalise(v));
            }
            long_get_att(Value::Object(out))
        }
        Y::Tagged(t) => {
            let name = t.tag.to_string();
            let name = name.trim_start_matches('!');
            let key = match name {
                "Ref" | "Condition" => name.to_owned(),
                _ => format!("Fn::{name}"),
            };
            long_get_att(json!({ key: normalise(&t.value) }))
        }
    }
}

fn long_get_att(mut v: Value) -> Value {
    if let Some(Value::String(s)) = v.get("Fn::GetAtt")
        && let Some((id, attr)) = s.split_once('.')
    {
        v["Fn::GetAtt"] = json!([id, attr]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
Parameters:
  BusName: {Type: String, Default: Shop}
  Hours: {Type: Number, Default: 7}
Globals:
  Function:
    Environment:
      Variables:
        BUS: !Ref Bus
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Ref BusName}
  T:
    Type: AWS::DynamoDB::Table
  F:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TABLE: !Ref T
          HOURS: !Ref Hours
          SELF: !GetAtt F.Arn
          LONG: {"Fn::GetAtt": "F.Arn"}
          SUB: !Sub "${AWS::Region}/${T}/${BusName}"
          ENDPOINT: !GetAtt Endpoint.Address
  Endpoint:
    Type: Custom::Endpoint
"#;

    #[test]
    fn short_tags_become_long_form_and_keys_become_strings() {
        let t =
            Template::parse("Resources: {}\nX:\n  a: !Ref R\n  b: !Sub 'x${Y}'\n  1: c\n").unwrap();
        assert_eq!(
            t.document()["X"],
            json!({"a": {"Ref": "R"}, "b": {"Fn::Sub": "x${Y}"}, "1": "c"})
        );
    }

    #[test]
    fn tags_are_normalised_and_resolved_to_local_values() {
        let mut t = Template::parse(YAML).unwrap();
        assert_eq!(
            t.document()["Resources"]["F"]["Properties"]["Environment"]["Variables"]["SELF"],
            json!({"Fn::GetAtt": ["F", "Arn"]})
        );
        let env = t.function_environment("F").unwrap();
        let get = |k: &str| env[k].as_str();
        assert_eq!(get("BUS"), "Shop");
        assert_eq!(get("TABLE"), "T");
        assert_eq!(get("HOURS"), "7");
        assert_eq!(get("SELF"), "arn:aws:lambda:local:000000000000:function:F");
        assert_eq!(get("LONG"), get("SELF"));
        assert_eq!(get("SUB"), "local/T/Shop");
        assert_eq!(get("ENDPOINT"), "Endpoint.Address.local.invalid");
        t.set_parameter("Hours", "9").unwrap();
        assert_eq!(t.function_environment("F").unwrap()["HOURS"], "9");
        assert!(t.set_parameter("Nope", "1").is_err());
        assert!(t.function_environment("Missing").is_err());
    }

    #[test]
    fn the_projects_workflow_substitutions_resolve_to_local_names() {
        let machine = Template::load().unwrap().state_machine().unwrap();
        let subs = machine.substitutions;
        assert_eq!(
            subs["ManageStateFunctionArn"],
            "arn:aws:lambda:local:000000000000:function:ManageStateFunction"
        );
        assert_eq!(subs["EventBusName"], "Serverlesspresso");
        assert_eq!(
            subs["OrderTopicArn"],
            "arn:aws:sns:local:000000000000:OrderTopic"
        );
        assert!(
            machine
                .definition_path
                .ends_with("statemachine/order-processor.asl.json")
        );
    }

    #[test]
    fn the_projects_event_sources_are_read() {
        let t = Template::load().unwrap();
        let mut fed: Vec<_> = t
            .stream_sources()
            .into_iter()
            .map(|s| (s.source, s.function, s.batch_size))
            .collect();
        fed.sort_unstable();
        let fed: Vec<_> = fed
            .iter()
            .map(|(s, f, b)| (s.as_str(), f.as_str(), *b))
            .collect();
        assert_eq!(
            fed,
            [
                ("ConfigTable", "ConfigFunction", 10),
                ("OrdersApiTable", "SqsPollerFunction", 10)
            ]
        );
        let sources = t.sqs_sources();
        assert_eq!(sources.len(), 1);
        assert_eq!(
            (sources[0].source.as_str(), sources[0].function.as_str()),
            ("OrderQueue", "SqsPollerFunction")
        );
    }
}
