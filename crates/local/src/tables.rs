//! Table definitions read from `template.yaml`, so the local stack and the tests create exactly
//! the tables, keys and indexes that AWS gets.

use crate::LocalError;
use crate::template::Template;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification,
};
use serde::Deserialize;

/// One `AWS::DynamoDB::Table` resource: its logical id and the properties that shape it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    #[serde(skip)]
    pub logical_id: String,
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyElem>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Index>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<Index>,
    #[serde(default)]
    pub stream_specification: Option<StreamSpec>,
    #[serde(default, rename = "TimeToLiveSpecification")]
    pub ttl: Option<TtlSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElem {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Index {
    pub index_name: String,
    pub key_schema: Vec<KeyElem>,
    pub projection: ProjectionSpec,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionSpec {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpec {
    pub stream_view_type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlSpec {
    pub attribute_name: String,
    #[serde(default)]
    pub enabled: bool,
}

/// Every `AWS::DynamoDB::Table` in the template (parsing it: the local stack uses
/// [`Template::tables`]).
pub fn table_specs(template_yaml: &str) -> Result<Vec<TableSpec>, LocalError> {
    Template::parse(template_yaml)?.tables()
}

/// Every `AWS::DynamoDB::Table` of `template`.
pub(crate) fn specs(template: &Template) -> Result<Vec<TableSpec>, LocalError> {
    let mut specs = Vec::new();
    for (id, res) in template.resources_of_type("AWS::DynamoDB::Table") {
        let props = res
            .get("Properties")
            .cloned()
            .ok_or_else(|| LocalError::Template(format!("{id} has no Properties")))?;
        let mut spec: TableSpec = serde_json::from_value(props)
            .map_err(|e| LocalError::Template(format!("{id}: {e}")))?;
        spec.logical_id = id.to_owned();
        specs.push(spec);
    }
    Ok(specs)
}

fn keys(elems: &[KeyElem]) -> Result<Vec<KeySchemaElement>, LocalError> {
    elems
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| LocalError::Template(e.to_string()))
        })
        .collect()
}

fn projection(p: &ProjectionSpec) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(p.projection_type.as_str()))
        .set_non_key_attributes(
            (!p.non_key_attributes.is_empty()).then(|| p.non_key_attributes.clone()),
        )
        .build()
}

impl TableSpec {
    /// Creates the table as `name` unless it exists (a persistent data directory keeps its
    /// tables across restarts). Returns whether it was created.
    pub async fn create(&self, client: &Client, name: &str) -> Result<bool, LocalError> {
        let gsis = self.global_indexes()?;
        let lsis = self.local_indexes()?;
        let result = client
            .create_table()
            .table_name(name)
            .set_attribute_definitions(Some(self.attributes()?))
            .set_key_schema(Some(keys(&self.key_schema)?))
            .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
            .set_local_secondary_indexes((!lsis.is_empty()).then_some(lsis))
            .set_stream_specification(self.stream()?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => {
                return Err(
                    self.error(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
                );
            }
        }
        self.enable_ttl(client, name).await?;
        Ok(true)
    }

    fn error(&self, e: String) -> LocalError {
        LocalError::Dynamo(format!("{}: {e}", self.logical_id))
    }

    fn attributes(&self) -> Result<Vec<AttributeDefinition>, LocalError> {
        self.attribute_definitions
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| self.error(e.to_string()))
            })
            .collect()
    }

    fn global_indexes(&self) -> Result<Vec<GlobalSecondaryIndex>, LocalError> {
        self.global_secondary_indexes
            .iter()
            .map(|i| {
                GlobalSecondaryIndex::builder()
                    .index_name(&i.index_name)
                    .set_key_schema(Some(keys(&i.key_schema)?))
                    .projection(projection(&i.projection))
                    .build()
                    .map_err(|e| self.error(e.to_string()))
            })
            .collect()
    }

    fn local_indexes(&self) -> Result<Vec<LocalSecondaryIndex>, LocalError> {
        self.local_secondary_indexes
            .iter()
            .map(|i| {
                LocalSecondaryIndex::builder()
                    .index_name(&i.index_name)
                    .set_key_schema(Some(keys(&i.key_schema)?))
                    .projection(projection(&i.projection))
                    .build()
                    .map_err(|e| self.error(e.to_string()))
            })
            .collect()
    }

    fn stream(&self) -> Result<Option<StreamSpecification>, LocalError> {
        self.stream_specification
            .as_ref()
            .map(|s| {
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(s.stream_view_type.as_str()))
                    .build()
                    .map_err(|e| self.error(e.to_string()))
            })
            .transpose()
    }

    /// The table's TTL, set after creation (DynamoDB has no TTL in `CreateTable`).
    async fn enable_ttl(&self, client: &Client, name: &str) -> Result<(), LocalError> {
        let Some(ttl) = &self.ttl else {
            return Ok(());
        };
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(ttl.enabled)
            .build()
            .map_err(|e| self.error(e.to_string()))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| {
                self.error(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_template_declares_its_tables() {
        let yaml = std::fs::read_to_string(crate::workspace_root().join("template.yaml")).unwrap();
        let specs = table_specs(&yaml).unwrap();
        let mut ids: Vec<_> = specs.iter().map(|s| s.logical_id.as_str()).collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "CartTable",
                "CheckoutsTable",
                "ConfigTable",
                "CountingTable",
                "OrderTable",
                "OrdersApiTable",
                "ProductsTable",
                "ValidatorTable"
            ]
        );
        let api = specs
            .iter()
            .find(|s| s.logical_id == "OrdersApiTable")
            .unwrap();
        assert_eq!(api.local_secondary_indexes[0].index_name, "user-orders");
        let orders = specs.iter().find(|s| s.logical_id == "OrderTable").unwrap();
        let gsis: Vec<_> = orders
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert!(gsis.contains(&"GSI-status") && gsis.contains(&"GSI-userId"));
        assert_eq!(
            orders.local_secondary_indexes[0].index_name,
            "LSI-timestamp"
        );
        let validator = specs
            .iter()
            .find(|s| s.logical_id == "ValidatorTable")
            .unwrap();
        assert_eq!(validator.attribute_definitions[0].attribute_type, "N");
        assert_eq!(
            validator.ttl.as_ref().map(|t| t.attribute_name.as_str()),
            Some("expiresAt")
        );
    }

    #[test]
    fn templates_with_cloudformation_tags_parse() {
        let yaml = r#"
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Ref BusName
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-t"
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
"#;
        let specs = table_specs(yaml).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].logical_id, "T");
        assert!(table_specs("Resources: [").is_err());
    }
}
