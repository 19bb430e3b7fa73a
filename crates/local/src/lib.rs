//! The local stack's storage: an embedded DynamoDB (dynoxide) served on loopback, with the
//! tables that `template.yaml` declares and the seed data. The functions' real
//! `aws-sdk-dynamodb` code runs against it unchanged; only the endpoint differs.

pub mod dynamo;
pub mod gateway;
pub mod queue;
pub mod rules;
pub mod tables;
pub mod template;
pub mod testing;

pub use dynamo::EmbeddedDynamo;
pub use tables::{TableSpec, table_specs};
pub use template::Template;

use std::path::PathBuf;

/// The workspace root (where `template.yaml` lives).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The template's `Resources`, each with its logical id (CloudFormation tags such as `!Ref`
/// are kept as tagged YAML values, which the readers resolve or ignore).
pub fn template_resources(template_yaml: &str) -> Result<serde_yaml::Mapping, LocalError> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(template_yaml).map_err(|e| LocalError::Template(e.to_string()))?;
    doc.get("Resources")
        .and_then(|r| r.as_mapping())
        .cloned()
        .ok_or_else(|| LocalError::Template("no Resources section".into()))
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("embedded DynamoDB: {0}")]
    Dynamo(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
