//! The directory's domain: services, organisations, their fields and how input becomes them.
//!
//! What lives here (no I/O; may import only `geo`, for postcodes and codes in fields and
//! coverage rules): `service` (the records), `fields` (field types that cannot hold a bad
//! value), `coverage` (who a service sees), `taxonomy`, `access` (keys and roles), `text`
//! (normalising words), `schema` (the API description of records put together by hand),
//! and in this file how a JSON body becomes a record, naming every wrong field.

pub mod access;
pub mod coverage;
pub mod fields;
mod schema;
pub mod service;
pub mod taxonomy;
pub mod text;

pub use coverage::{Coverage, CoverageRule};
pub use service::*;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

/// One thing wrong with one field of the input.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as a path into the body, e.g. `phones[0].number`.
    #[schema(examples("phones[0].number"))]
    pub field: String,
    /// What is wrong and what would be valid, in plain English.
    pub message: String,
}

impl FieldError {
    /// An error naming the field and what would be valid.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a body could not become a domain value.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not JSON at all, or not an object.
    #[error("the body is not a JSON object: {0}")]
    NotJson(String),
    /// JSON, but some fields are wrong.
    #[error("{} field(s) are not valid", .0.len())]
    Invalid(Vec<FieldError>),
}

/// Server-kept fields, accepted on input so an exported record can be imported again.
#[derive(Debug, Clone, Default)]
pub struct ServerFields {
    /// The id the input gave, if any: kept on create, must match the path on update.
    pub id: Option<Uuid>,
    /// The version an exported record carried; kept only by an NDJSON import.
    pub version: Option<i64>,
    /// When an exported record was created; kept only by an NDJSON import.
    pub created_at: Option<DateTime<Utc>>,
    /// When an exported record last changed; kept only by an NDJSON import.
    pub last_modified: Option<DateTime<Utc>>,
}

/// A new or changed organisation.
#[derive(Debug, Clone)]
pub struct OrganizationInput {
    /// The server's fields the input carried (an exported record has them).
    pub server: ServerFields,
    /// Whether an exported organisation was retired; kept only by an NDJSON import.
    pub retired: Option<bool>,
    /// What the organisation says about itself.
    pub content: OrganizationContent,
}

/// Which organisation a service belongs to.
#[derive(Debug, Clone)]
pub enum OrganizationRef {
    /// An organisation that must already exist.
    Existing(Uuid),
    /// An organisation given in full: used if its id exists, created otherwise.
    Embedded(Box<OrganizationInput>),
}

/// A new or changed service.
#[derive(Debug, Clone)]
pub struct ServiceInput {
    /// The server's fields the input carried (an exported record has them).
    pub server: ServerFields,
    /// Its organisation, by `organization_id` or embedded; None when the input named neither.
    pub organization: Option<OrganizationRef>,
    /// Everything a partner or administrator edits about the service.
    pub content: ServiceContent,
}

/// Parses bytes as a JSON object.
pub fn parse_json(bytes: &[u8]) -> Result<Value, InputError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| InputError::NotJson(e.to_string()))?;
    if !value.is_object() {
        return Err(InputError::NotJson("expected a JSON object {...}".into()));
    }
    Ok(value)
}

/// Parses a JSON object body into `T`, naming the field that does not fit.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InputError> {
    let value = parse_json(bytes)?;
    serde_path_to_error::deserialize(value)
        .map_err(|e| InputError::Invalid(vec![field_error("", e)]))
}

fn field_error(prefix: &str, err: serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path = err.path().to_string();
    let message = err.into_inner().to_string();
    let field = match (prefix.is_empty(), path.as_str()) {
        (true, ".") => "body".to_string(),
        (true, p) => p.to_string(),
        (false, ".") => prefix.to_string(),
        (false, p) => format!("{prefix}.{p}"),
    };
    FieldError::new(field, message)
}

fn take<T: DeserializeOwned>(
    obj: &mut Map<String, Value>,
    key: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let value = obj.remove(key)?;
    if value.is_null() {
        return None;
    }
    let field = if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    };
    match serde_path_to_error::deserialize(value) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(field_error(&field, e));
            None
        }
    }
}

fn take_server_fields(
    obj: &mut Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> ServerFields {
    ServerFields {
        id: take(obj, "id", prefix, errors),
        version: take(obj, "version", prefix, errors),
        created_at: take(obj, "created_at", prefix, errors),
        last_modified: take(obj, "last_modified", prefix, errors),
    }
}

fn content<T: DeserializeOwned>(
    obj: Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match serde_path_to_error::deserialize(Value::Object(obj)) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(field_error(prefix, e));
            None
        }
    }
}

fn organization_from(
    mut obj: Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<OrganizationInput> {
    let server = take_server_fields(&mut obj, prefix, errors);
    let retired = take(&mut obj, "retired", prefix, errors);
    let content = content(obj, prefix, errors)?;
    Some(OrganizationInput {
        server,
        retired,
        content,
    })
}

/// Turns a JSON object into an organisation, naming every field that is wrong.
pub fn parse_organization(value: Value) -> Result<OrganizationInput, InputError> {
    let Value::Object(obj) = value else {
        return Err(InputError::NotJson("expected a JSON object {...}".into()));
    };
    let mut errors = Vec::new();
    let org = organization_from(obj, "", &mut errors);
    match org {
        Some(org) if errors.is_empty() => Ok(org),
        _ => Err(InputError::Invalid(errors)),
    }
}

/// Turns a JSON object into a service, naming every field that is wrong.
pub fn parse_service(value: Value) -> Result<ServiceInput, InputError> {
    let Value::Object(mut obj) = value else {
        return Err(InputError::NotJson("expected a JSON object {...}".into()));
    };
    let mut errors = Vec::new();
    let server = take_server_fields(&mut obj, "", &mut errors);
    // Read-only, computed by the server: accepted so exported records import unchanged.
    obj.remove("link_health");
    // Where a record came from is kept by the pulls that bring it, not by its content.
    obj.remove("source");
    let by_id: Option<Uuid> = take(&mut obj, "organization_id", "", &mut errors);
    let embedded = match obj.remove("organization") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => organization_from(o, "organization", &mut errors),
        Some(_) => {
            errors.push(FieldError::new(
                "organization",
                "expected an organisation object, or use organization_id",
            ));
            None
        }
    };
    let organization = match (by_id, embedded) {
        (Some(id), Some(org)) if org.server.id.is_some_and(|o| o != id) => {
            errors.push(FieldError::new(
                "organization_id",
                "organization_id and organization.id disagree",
            ));
            None
        }
        (_, Some(org)) => Some(OrganizationRef::Embedded(Box::new(org))),
        (Some(id), None) => Some(OrganizationRef::Existing(id)),
        (None, None) => None,
    };
    let content: Option<ServiceContent> = content(obj, "", &mut errors);
    if let Some(c) = &content {
        errors.extend(c.problems());
    }
    match content {
        Some(content) if errors.is_empty() => Ok(ServiceInput {
            server,
            organization,
            content,
        }),
        _ => Err(InputError::Invalid(errors)),
    }
}

/// Applies an RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "organization_id": "0192f7a4-0000-7000-8000-000000000001",
            "name": "Debt advice drop-in",
            "description": "Free, confidential debt advice.",
            "categories": ["debt"],
            "delivery_modes": ["in_person"],
            "referral": {"route": "self_referral"}
        })
    }

    fn fields(v: Value) -> Vec<String> {
        match parse_service(v) {
            Err(InputError::Invalid(e)) => e.into_iter().map(|e| e.field).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn minimal_service_parses() {
        let s = parse_service(minimal()).unwrap();
        assert_eq!(s.content.name.as_str(), "Debt advice drop-in");
        assert!(matches!(s.organization, Some(OrganizationRef::Existing(_))));
    }

    #[test]
    fn errors_name_the_field() {
        let mut v = minimal();
        v["phones"] = json!([{"number": "12"}]);
        assert_eq!(fields(v), vec!["phones[0].number"]);
        let mut v = minimal();
        v["colour"] = json!("red");
        assert_eq!(fields(v), vec!["colour"]);
        let mut v = minimal();
        v["referral"] = json!({"route": "self_referral", "when": "now"});
        assert_eq!(fields(v), vec!["referral.when"]);
        let mut v = minimal();
        v["minimum_age"] = json!(30);
        v["maximum_age"] = json!(18);
        assert_eq!(fields(v), vec!["maximum_age"]);
        let mut v = minimal();
        v["status"] = json!("temporarily_closed");
        assert_eq!(fields(v), vec!["temporary_closure"]);
        let mut v = minimal();
        v["organization_id"] = json!("not-a-uuid");
        assert_eq!(fields(v), vec!["organization_id"]);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut t, &json!({"a": null, "b": {"c": 5}}));
        assert_eq!(t, json!({"b": {"c": 5, "d": 3}}));
    }
}
