//! Functions by logical id, stored type-erased: JSON in, JSON out, as Lambda invokes them.

use crate::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars, invoke_json};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

trait Erased: Send + Sync {
    fn invoke(
        &self,
        payload: Value,
        context: Context,
    ) -> BoxFuture<'_, Result<Value, FunctionError>>;
}

impl<F: Function> Erased for F {
    fn invoke(
        &self,
        payload: Value,
        context: Context,
    ) -> BoxFuture<'_, Result<Value, FunctionError>> {
        Box::pin(invoke_json(self, payload, context))
    }
}

#[derive(Default)]
pub struct Registry {
    functions: BTreeMap<&'static str, Box<dyn Erased>>,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a built function under its logical id.
    pub fn insert<F: Function>(&mut self, function: F) {
        self.functions.insert(F::NAME, Box::new(function));
    }

    /// Builds `F` on `platform` with the settings read from `vars`, and registers it under
    /// its logical id. The error names the function and the variable.
    pub fn add<F: Build<P>, P: Platform>(
        &mut self,
        platform: &P,
        vars: &Vars,
    ) -> Result<(), SettingsError> {
        let built = <F::Settings as crate::Settings>::from_vars(vars)
            .and_then(|settings| F::build(settings, platform))
            .map_err(|e| SettingsError::Invalid(format!("{}: {e}", F::NAME)))?;
        self.insert(built);
        Ok(())
    }

    /// The logical ids registered, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.functions.keys().copied()
    }

    /// Invokes `function` with `payload`; `None` when no function has that name.
    pub fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> Option<BoxFuture<'_, Result<Value, FunctionError>>> {
        let f = self.functions.get(function)?;
        Some(f.invoke(payload, Context::now()))
    }
}
