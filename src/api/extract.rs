//! Turning the parts of a request into typed values, or a problem naming the part.

use super::problem::ApiError;
use crate::api::AppState;
use crate::domain::access::{Principal, Role};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use std::future::{Ready, ready};
use std::str::FromStr;
use uuid::Uuid;

/// The query string, parsed; repeated names are kept.
pub struct Params(Vec<(String, String)>);

impl FromRequest for Params {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = url::form_urlencoded::parse(req.query_string().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        ready(Ok(Params(pairs)))
    }
}

impl Params {
    /// Parameters from a JSON object body: each field a parameter, arrays for repeated
    /// ones; strings, numbers and booleans as the query string would carry them.
    pub fn from_json_body(body: &[u8]) -> Result<Self, ApiError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ApiError::NotJson(e.to_string()))?;
        let serde_json::Value::Object(fields) = value else {
            return Err(ApiError::NotJson(
                "expected one JSON object of search parameters, e.g. {\"q\": \"money worries\"}"
                    .into(),
            ));
        };
        let mut pairs = Vec::new();
        for (name, v) in fields {
            let mut push = |v: &serde_json::Value| -> Result<(), ApiError> {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    // 2.0 is the whole number 2, as JSON Schema reads it.
                    serde_json::Value::Number(n) => match n.as_f64() {
                        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => {
                            format!("{}", f as i64)
                        }
                        _ => n.to_string(),
                    },
                    serde_json::Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(ApiError::parameter(
                            name.clone(),
                            format!(
                                "'{name}' must be a string, number or true/false (an array of them when repeated); leave it out rather than send null"
                            ),
                        ));
                    }
                };
                pairs.push((name.clone(), text));
                Ok(())
            };
            match &v {
                serde_json::Value::Array(items) => items.iter().try_for_each(&mut push)?,
                other => push(other)?,
            }
        }
        Ok(Params(pairs))
    }

    /// Parameters from name/value pairs (a page's form, read with the API's rules).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Params(pairs)
    }

    /// Refuses any parameter not in `allowed`, naming it and the ones that are.
    pub fn allow_only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        if let Some((k, _)) = self.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(ApiError::parameter(
                k.clone(),
                format!(
                    "unknown query parameter '{k}'; this route takes: {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// The single value of `name`, if given; refuses it given twice.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::parameter(
                name,
                format!("'{name}' may be given only once"),
            ));
        }
        Ok(first)
    }

    /// Every value of a repeatable parameter; comma-separated values are split too.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Parses the value of `name` with `FromStr`, saying what is expected when it fails.
    pub fn parse<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>, ApiError> {
        match self.one(name)? {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                ApiError::parameter(name, format!("'{name}' must be {expected}; got '{v}'"))
            }),
        }
    }

    /// An integer in `min..=max`.
    pub fn int_in(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let expected = format!("a whole number from {min} to {max}");
        match self.parse::<i64>(name, &expected)? {
            Some(v) if !(min..=max).contains(&v) => Err(ApiError::parameter(
                name,
                format!("'{name}' must be {expected}; got {v}"),
            )),
            other => Ok(other),
        }
    }
}

/// Parses a path id.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::parameter(
            "id",
            format!(
                "'{raw}' is not an id: ids are UUIDs such as 0192f7a4-1c2b-7d3e-8f40-123456789abc"
            ),
        )
    })
}

/// Refuses bodies that do not say they are JSON.
pub fn require_json(req: &HttpRequest, also: &[&'static str]) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || also.contains(&mime.as_str()) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("application/json"))
    }
}

/// The version in `If-Match`, if the client sent one.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::parameter(
            "If-Match",
            "If-Match must be the ETag from your last read, such as \"3\"",
        )
    };
    let s = value.to_str().map_err(|_| bad())?.trim();
    if s == "*" {
        return Ok(None);
    }
    let s = s.strip_prefix("W/").unwrap_or(s);
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(bad)?;
    inner.parse::<i64>().map(Some).map_err(|_| bad())
}

/// The ETag for a record version.
pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The API key a request carries, from `Authorization: Bearer …` or `X-Api-Key`.
fn presented_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let s = v.to_str().map_err(|_| {
            ApiError::Unauthorized("the Authorization header is not readable text".into())
        })?;
        let key = s
            .strip_prefix("Bearer ")
            .or_else(|| s.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("use 'Authorization: Bearer <your API key>'".into())
            })?;
        return Ok(Some(key.trim().to_string()));
    }
    if let Some(v) = req.headers().get("x-api-key") {
        let s = v.to_str().map_err(|_| {
            ApiError::Unauthorized("the X-Api-Key header is not readable text".into())
        })?;
        return Ok(Some(s.trim().to_string()));
    }
    Ok(None)
}

/// Who the request's key belongs to: `None` without a key; a key that is malformed,
/// unknown, revoked or expired is refused with 401, never treated as anonymous.
async fn authenticate(req: &HttpRequest) -> Result<Option<Principal>, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| anyhow::anyhow!("application state is missing"))?;
    let Some(key) = presented_key(req)? else {
        return Ok(None);
    };
    Ok(Some(
        state
            .directory
            .authenticate(&key, state.admin_key_digest)
            .await?,
    ))
}

fn required(p: Option<Principal>) -> Result<Principal, ApiError> {
    p.ok_or_else(|| {
        ApiError::Unauthorized(
            "this route needs an API key: send 'Authorization: Bearer <key>'".into(),
        )
    })
}

/// Implements `FromRequest` for an authorisation extractor from a check of the caller.
macro_rules! auth_extractor {
    ($name:ident, $check:expr) => {
        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let check: fn(Option<Principal>) -> Result<$name, ApiError> = $check;
                    check(authenticate(&req).await?)
                })
            }
        }
    };
}

/// Any caller; `Some` when they sent a valid key. Staff-only fields are shown to keys.
pub struct Reader(pub Option<Principal>);
auth_extractor!(Reader, |p| Ok(Reader(p)));

/// A caller with a valid key of any role.
pub struct Staff(pub Principal);
auth_extractor!(Staff, |p| required(p).map(Staff));

/// An administrator or a partner; whether a partner may change a given record is checked
/// against its organisation.
pub struct Editor(pub Principal);
auth_extractor!(Editor, |p| {
    let p = required(p)?;
    match p.role {
        Role::Admin | Role::Partner => Ok(Editor(p)),
        Role::Navigator => Err(ApiError::Forbidden(
            "navigator keys can read and report, not edit".into(),
        )),
    }
});

/// An administrator: a handler that takes `Admin` cannot run for anyone else.
pub struct Admin(pub Principal);
auth_extractor!(Admin, |p| {
    let p = required(p)?;
    match p.role {
        Role::Admin => Ok(Admin(p)),
        _ => Err(ApiError::Forbidden(
            "this route is for administrators".into(),
        )),
    }
});
