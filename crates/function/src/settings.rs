//! A function's settings: read from environment variables in AWS, and from the function's
//! `Environment` in `template.yaml` locally. Every default lives in the template; a missing or
//! malformed variable is an error that names it.

use std::collections::BTreeMap;
use std::str::FromStr;

/// The environment variables a function is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<String, String>);

impl Vars {
    /// This process's environment (a Lambda function's configuration).
    pub fn process() -> Self {
        Vars(std::env::vars().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A variable that must be set.
    pub fn required(&self, name: &str) -> Result<String, SettingsError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or_else(|| SettingsError::Missing(name.to_owned()))
    }

    /// A variable that must be set and parse as a `T`.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<T, SettingsError> {
        parse_value(name, &self.required(name)?)
    }

    /// A variable that may be unset (then `default`), but must parse when set.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, SettingsError> {
        self.get(name).map_or(Ok(default), |v| parse_value(name, v))
    }
}

fn parse_value<T: FromStr>(name: &str, value: &str) -> Result<T, SettingsError> {
    value.trim().parse().map_err(|_| SettingsError::Malformed {
        variable: name.to_owned(),
        value: value.to_owned(),
        expected: std::any::type_name::<T>(),
    })
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Vars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Vars(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A function's settings type.
pub trait Settings: Sized {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError>;

    /// From this process's environment (AWS).
    fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(&Vars::process())
    }
}

/// A function that needs no settings.
impl Settings for () {
    fn from_vars(_: &Vars) -> Result<Self, SettingsError> {
        Ok(())
    }
}

/// Why a function could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {0} is not set")]
    Missing(String),
    #[error("environment variable {variable} is malformed: {value:?} is not a {expected}")]
    Malformed {
        variable: String,
        value: String,
        expected: &'static str,
    },
    /// A setting was read but is not usable (an unknown provider, an endpoint that is no URL).
    #[error("{0}")]
    Invalid(String),
}

impl From<domain::AppError> for SettingsError {
    fn from(e: domain::AppError) -> Self {
        SettingsError::Invalid(e.message().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let vars: Vars = [("HOUR", "7"), ("BAD", "seven")].into_iter().collect();
        assert_eq!(vars.parse::<u32>("HOUR"), Ok(7));
        assert_eq!(
            vars.parse::<u32>("ABSENT"),
            Err(SettingsError::Missing("ABSENT".into()))
        );
        let err = vars.parse::<u32>("BAD").unwrap_err().to_string();
        assert_eq!(
            err,
            "environment variable BAD is malformed: \"seven\" is not a u32"
        );
        assert_eq!(vars.parse_or("ABSENT", 5u32), Ok(5));
        assert!(vars.parse_or("BAD", 5u32).is_err());
    }
}
