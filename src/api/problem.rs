//! One error body everywhere: RFC 9457 `application/problem+json`.

use crate::directory::DirectoryError;
use crate::domain::{FieldError, InputError};
use crate::storage::StoreError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every way a request can fail, each with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not an object (400).
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON but some fields are not valid, each named (422).
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    /// A query parameter, path segment or header is not valid (400).
    #[error("{detail}")]
    BadParameter {
        /// The query parameter, path segment or header at fault.
        name: String,
        /// What is wrong with it and what would be valid.
        detail: String,
    },
    /// No record with this id (404); the message says what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// Another change or job is under way (409).
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named an older version than the record's (412).
    #[error("the record has changed since you read it: the current version is {current}")]
    PreconditionFailed {
        /// The record's newest version, sent back as `current_version` and the ETag.
        current: i64,
    },
    /// No API key, or not one that may be used (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The key's role or organisation may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The body was not sent with this media type (415).
    #[error("send the body as JSON with the header 'Content-Type: {0}'")]
    UnsupportedMediaType(&'static str),
    /// The database cannot be reached or written just now (503, with `Retry-After: 5`).
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    /// Anything else: logged, and answered as a 500 without the details.
    #[error("something went wrong on our side; it has been logged")]
    Unexpected(anyhow::Error),
}

/// An unexpected error, unless it says the database is down, restarting, full or
/// read-only: then the client may try again shortly (503 with `Retry-After`).
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        match crate::storage::unavailable_because(&e) {
            Some(why) => {
                tracing::warn!(error = %e, "{why}; answering 503");
                ApiError::Unavailable(format!("{why}; try again in a few seconds"))
            }
            None => ApiError::Unexpected(e),
        }
    }
}

impl ApiError {
    /// A bad query parameter, path segment or header.
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadParameter {
            name: name.into(),
            detail: detail.into(),
        }
    }

    /// One invalid body field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::NotJson(_) => ("malformed-body", "The body is not valid JSON"),
            ApiError::Invalid(_) => ("validation", "Some fields are not valid"),
            ApiError::BadParameter { .. } => ("bad-parameter", "A request parameter is not valid"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PreconditionFailed { .. } => ("stale-version", "The record has changed"),
            ApiError::Unauthorized(_) => ("unauthorized", "An API key is required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Unavailable(_) => ("unavailable", "Not ready"),
            ApiError::Unexpected(_) => ("internal", "Internal error"),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::NotJson(m) => ApiError::NotJson(m),
            InputError::Invalid(errors) => ApiError::Invalid(errors),
        }
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::NotFound(m) => ApiError::NotFound(m),
            DirectoryError::Forbidden(m) => ApiError::Forbidden(m),
            DirectoryError::Unauthorized(m) => ApiError::Unauthorized(m),
            DirectoryError::Stale { current } => ApiError::PreconditionFailed { current },
            DirectoryError::Busy(m) => ApiError::Conflict(m),
            DirectoryError::Invalid(errors) => ApiError::Invalid(errors),
            DirectoryError::BadQuery { name, detail } => ApiError::BadParameter { name, detail },
            DirectoryError::Unexpected(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("no record with this id".into()),
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed { current },
            StoreError::AlreadyExists => {
                ApiError::field("id", "a record with this id already exists")
            }
            StoreError::Unexpected(e) => e.into(),
        }
    }
}

/// An RFC 9457 problem document: what went wrong, naming the field or parameter at fault.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A path naming the kind of problem, e.g. `/problems/validation`; sent as `type`.
    #[serde(rename = "type")]
    #[schema(examples("/problems/validation"))]
    pub kind: String,
    /// A short summary, the same for every problem of one `type`.
    pub title: String,
    /// The HTTP status code, as in the response's status line.
    pub status: u16,
    /// What went wrong this time and what would be valid, in plain English.
    pub detail: String,
    /// The query parameter, path segment or header at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Each field of the body that is not valid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// With 412, the newest version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl Problem {
    fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .content_type(PROBLEM_JSON)
            .json(self)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotJson(_) | ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Unexpected(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let (slug, title) = self.slug_and_title();
        let mut errors = Vec::new();
        let detail = match self {
            ApiError::Invalid(list) => {
                errors = list.clone();
                list.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            other => other.to_string(),
        };
        let mut response = Problem {
            kind: format!("/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            parameter: match self {
                ApiError::BadParameter { name, .. } => Some(name.clone()),
                _ => None,
            },
            errors,
            current_version: match self {
                ApiError::PreconditionFailed { current } => Some(*current),
                _ => None,
            },
        }
        .response();
        if let ApiError::PreconditionFailed { current } = self {
            response.headers_mut().insert(
                header::ETAG,
                HeaderValue::from_str(&format!("\"{current}\""))
                    .expect("digits are a valid header"),
            );
        }
        if let ApiError::Unavailable(_) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let ApiError::Unauthorized(_) = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"signpost\""),
            );
        }
        response
    }
}

/// Rewrites any error response that is not yet a problem document (unknown route, wrong
/// method, body too large, framework errors) into one, keeping its status.
pub fn problem_for_framework_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems, and the pages' own error pages, are already what the client should see.
    let answered = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html")
    });
    if answered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::NOT_FOUND => format!(
            "there is no route {} {}; see openapi.yaml for the routes",
            res.request().method(),
            res.request().path()
        ),
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "{} is not allowed on {}; see openapi.yaml for the methods",
            res.request().method(),
            res.request().path()
        ),
        StatusCode::PAYLOAD_TOO_LARGE => "the body is too large: send at most 1 MiB".to_string(),
        s if s.is_server_error() => "something went wrong on our side; it has been logged".into(),
        s => s.canonical_reason().unwrap_or("request failed").to_string(),
    };
    let problem = Problem {
        kind: format!("/problems/http-{}", status.as_u16()),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        parameter: None,
        errors: Vec::new(),
        current_version: None,
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut response: HttpResponse<BoxBody> = problem.response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
