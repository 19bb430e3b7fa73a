//! Typed access to a state's fields, with errors that name the state.

use super::{Dynamic, IoPath, positive_int};
use crate::error::DefinitionError;
use crate::path::Path;
use crate::template::Template;
use serde_json::{Map, Value};

/// Field access with errors that name the state.
pub(super) struct Fields<'a> {
    pub(super) m: &'a Map<String, Value>,
    pub(super) state: &'a str,
}

impl Fields<'_> {
    pub(super) fn err(&self, msg: impl Into<String>) -> DefinitionError {
        DefinitionError::at(self.state, msg)
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<String>, DefinitionError> {
        match self.m.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(format!("'{key}' must be a string"))),
        }
    }

    pub(super) fn path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        self.string(key)?
            .map(|s| Path::parse(&s).map_err(|e| self.err(format!("invalid '{key}': {e}"))))
            .transpose()
    }

    pub(super) fn ref_path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        self.string(key)?
            .map(|s| {
                Path::parse_reference(&s).map_err(|e| self.err(format!("invalid '{key}': {e}")))
            })
            .transpose()
    }

    pub(super) fn io_path(&self, key: &str) -> Result<IoPath, DefinitionError> {
        match self.m.get(key) {
            None => Ok(IoPath::Whole),
            Some(Value::Null) => Ok(IoPath::Null),
            Some(_) => Ok(self.path(key)?.map_or(IoPath::Whole, IoPath::Path)),
        }
    }

    pub(super) fn template(&self, key: &str) -> Result<Option<Template>, DefinitionError> {
        self.m
            .get(key)
            .map(|v| Template::compile(v).map_err(|e| self.err(format!("invalid '{key}': {e}"))))
            .transpose()
    }

    pub(super) fn pos_int(&self, key: &str) -> Result<Option<u64>, DefinitionError> {
        self.m
            .get(key)
            .map(|v| {
                positive_int(v)
                    .ok_or_else(|| self.err(format!("'{key}' must be a positive integer")))
            })
            .transpose()
    }

    pub(super) fn dynamic(
        &self,
        key: &str,
        path_key: &str,
    ) -> Result<Option<Dynamic>, DefinitionError> {
        match (self.pos_int(key)?, self.ref_path(path_key)?) {
            (Some(_), Some(_)) => {
                Err(self.err(format!("'{key}' and '{path_key}' cannot both be specified")))
            }
            (Some(n), None) => Ok(Some(Dynamic::Fixed(n))),
            (None, Some(p)) => Ok(Some(Dynamic::Path(p))),
            (None, None) => Ok(None),
        }
    }
}
