//! The API description, built from the code: each handler's `#[utoipa::path]` (method,
//! path, parameters, body, responses; its doc comment is the summary) and the types it
//! reads and answers with (their `ToSchema`). `openapi.yaml` is this document written
//! out by `signpost openapi`; a test fails when the two differ in anything.
//!
//! Here live only the parts operations share: the problem responses, the id, If-Match
//! and paging parameters, the postcode and GP code schemas, and the security schemes.

#![allow(dead_code)] // The parameter and response types below exist to be described.

use super::problem::Problem;
use utoipa::openapi::path::PathsBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, ServerBuilder,
};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToResponse, ToSchema};

/// What the document says about the API as a whole.
const ABOUT: &str =
    "The directory of local community services behind NHS Talking Therapies signposting.
Public fields are open to read; staff-only fields (named contacts, referral
instructions) need any API key; writes need an admin key or a partner key of the
service's organisation (`Authorization: Bearer <key>` or `X-Api-Key: <key>`). A
missing, malformed, unknown, revoked or expired key is 401; the wrong role or
organisation is 403. Every error is an RFC 9457 `application/problem+json` document
naming the field or parameter and what would be valid.
";

macro_rules! problem_responses {
    ($($name:ident: $description:literal;)*) => {$(
        #[doc = $description]
        #[derive(ToResponse)]
        #[response(description = $description, content_type = "application/problem+json")]
        pub struct $name(Problem);
    )*};
}

problem_responses! {
    Unavailable: "The database cannot be reached or written just now (down, restarting, its disk full); try again after Retry-After seconds.";
    BadRequest: "A parameter, header or the body's JSON syntax is not valid.";
    Unauthorized: "No API key, or not a valid one.";
    Forbidden: "The key's role or organisation may not do this, or the server was started without an administrator key.";
    NotFound: "No record with this id.";
    Conflict: "Another change or job is under way; read again and retry.";
    PreconditionFailed: "If-Match names an older version; `current_version` says the newest.";
    PayloadTooLarge: "The body is larger than 1 MiB.";
    UnsupportedMediaType: "The body is not sent as application/json (or application/merge-patch+json for PATCH).";
    Unprocessable: "JSON, but fields are not valid; `errors` names each field.";
    TooManyRequests: "Too many requests from this address or key just now; try again after Retry-After seconds.";
}

/// Answers every `/v1` route may give: a bad parameter or header, a bad key, the
/// database away.
#[derive(IntoResponses)]
pub enum Always {
    /// 400: a parameter, header or the body's JSON syntax is not valid.
    #[response(status = 400)]
    BadRequest(#[ref_response] BadRequest),
    /// 401: no API key, or not a valid one.
    #[response(status = 401)]
    Unauthorized(#[ref_response] Unauthorized),
    /// 429: too many requests from this address or key just now.
    #[response(status = 429)]
    TooManyRequests(#[ref_response] TooManyRequests),
    /// 503: the database cannot be reached or written just now.
    #[response(status = 503)]
    Unavailable(#[ref_response] Unavailable),
}

/// Routes open to some keys only.
#[derive(IntoResponses)]
pub enum Restricted {
    /// 403: the key's role or organisation may not do this.
    #[response(status = 403)]
    Forbidden(#[ref_response] Forbidden),
}

/// Routes about one record, which may not exist.
#[derive(IntoResponses)]
pub enum OneRecord {
    /// 404: no record with this id.
    #[response(status = 404)]
    NotFound(#[ref_response] NotFound),
}

/// Routes that read a JSON body.
#[derive(IntoResponses)]
pub enum WithBody {
    /// 413: the body is larger than 1 MiB.
    #[response(status = 413)]
    PayloadTooLarge(#[ref_response] PayloadTooLarge),
    /// 415: the body is not sent as JSON.
    #[response(status = 415)]
    UnsupportedMediaType(#[ref_response] UnsupportedMediaType),
    /// 422: JSON, but fields are not valid.
    #[response(status = 422)]
    Unprocessable(#[ref_response] Unprocessable),
}

/// Changes to a versioned record (`If-Match`), or jobs one at a time.
#[derive(IntoResponses)]
pub enum Contended {
    /// 409: another change or job is under way.
    #[response(status = 409)]
    Conflict(#[ref_response] Conflict),
}

/// Changes to a versioned record (`If-Match`).
#[derive(IntoResponses)]
pub enum Versioned {
    /// 409: others kept changing the record, and nothing was written.
    #[response(status = 409)]
    Conflict(#[ref_response] Conflict),
    /// 412: `If-Match` names an older version.
    #[response(status = 412)]
    PreconditionFailed(#[ref_response] PreconditionFailed),
}

/// The record's id in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    /// A UUID. A malformed id is a 400 naming `id`.
    pub id: uuid::Uuid,
}

/// The version a change is made to.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// The ETag from your last read, e.g. `"3"`. A stale one is a 412 with the current
    /// version; without it the change is applied to the newest version.
    #[param(rename = "If-Match", pattern = r#"^\s*(\*|(W/)?"[0-9]{1,18}")\s*$"#)]
    pub if_match: Option<String>,
}

/// A page of a list in id order.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<uuid::Uuid>,
}

/// A full UK postcode, any case, with or without its space, e.g. M14 5AB.
#[derive(serde::Deserialize)]
pub struct Postcode(String);

impl PartialSchema for Postcode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A full UK postcode, any case, with or without its space, e.g. M14 5AB.",
            ))
            .min_length(Some(5))
            .pattern(Some(crate::geo::postcode::PATTERN))
            .into()
    }
}

impl ToSchema for Postcode {}

/// An NHS ODS GP practice code.
#[derive(serde::Deserialize)]
pub struct GpCode(String);

impl PartialSchema for GpCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An NHS ODS GP practice code, a letter and five digits, e.g. P84004.",
            ))
            .pattern(Some(crate::geo::codes::GP_PRACTICE_PATTERN))
            .into()
    }
}

impl ToSchema for GpCode {}

/// Schemas an operation refers to, as utoipa collects them.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// The whole document: every route of [`super::ENDPOINTS`], the schemas they refer to and
/// the shared parts above.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut schemas = Schemas::new();
    for endpoint in super::ENDPOINTS {
        paths = (endpoint.describe)(paths);
        (endpoint.schemas)(&mut schemas);
    }
    // The problem responses below refer to it.
    schemas.push((Problem::name().into_owned(), Problem::schema()));
    Problem::schemas(&mut schemas);
    let components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        )
        .schemas_from_iter(schemas)
        .response_from::<Unavailable>()
        .response_from::<BadRequest>()
        .response_from::<Unauthorized>()
        .response_from::<Forbidden>()
        .response_from::<NotFound>()
        .response_from::<Conflict>()
        .response_from::<PreconditionFailed>()
        .response_from::<PayloadTooLarge>()
        .response_from::<UnsupportedMediaType>()
        .response_from::<Unprocessable>()
        .response_from::<TooManyRequests>()
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("signpost")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(ABOUT)),
        )
        .servers(Some([ServerBuilder::new()
            .url("http://127.0.0.1:8080")
            .build()]))
        .paths(paths)
        .components(Some(components))
        .build()
}

/// The document as YAML, as `openapi.yaml` holds it.
pub fn yaml() -> String {
    serde_yaml_ng::to_string(&document()).expect("an OpenAPI document serialises")
}
