//! A submitted form, and what a page shows of a field: its value and its error.

use crate::api::extract::Params;
use crate::api::problem::ApiError;
use std::collections::BTreeMap;

/// The fields of an `application/x-www-form-urlencoded` body, in order.
#[derive(Debug, Default, Clone)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads a body; bytes that are not a form give an empty form (every field missing).
    pub fn parse(body: &[u8]) -> Self {
        Form(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A form from name/value pairs (a record's values, to show in a form).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Form(pairs)
    }

    /// Every field, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Sets `name` to one value.
    pub fn set(&mut self, name: &str, value: String) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_string(), value));
    }

    /// True when `name` has the value `value` (a checked box or radio).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    /// The first value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or "" when missing.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_string()
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The non-empty fields among `names`, as parameters the API's parsers read.
    pub fn params(&self, names: &[&str]) -> Params {
        Params::from_pairs(
            self.0
                .iter()
                .filter(|(k, v)| names.contains(&k.as_str()) && !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect(),
        )
    }
}

/// Errors by field name, shown beside each field and in a summary at the top.
#[derive(Debug, Default)]
pub struct Errors(BTreeMap<String, String>);

impl Errors {
    /// Adds an error message for `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// Files an API error under the field it names ("form" when it names none).
    pub fn add_api(&mut self, e: &ApiError) {
        match e {
            ApiError::BadParameter { name, detail } => self.add(name.clone(), detail.clone()),
            ApiError::Invalid(errors) => {
                for f in errors {
                    self.add(f.field.clone(), f.message.clone());
                }
            }
            other => self.add("form", other.to_string()),
        }
    }

    /// The error message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// True when the form has no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (field, message) pairs in a stable order, for the summary.
    pub fn list(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}
