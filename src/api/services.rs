//! `/v1/services` and `/v1/organizations`: create, read, list, update, retire.

use super::extract::{Editor, Params, Reader, etag, if_match, parse_id, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::DirectoryError;
use crate::domain::{self, Service, ServiceStatus, parse_service};
use crate::storage::ServiceFilter;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;
pub(super) const MERGE_PATCH: &str = "application/merge-patch+json";

/// A JSON answer with the record version as its ETag.
pub(super) fn with_etag(
    mut builder: actix_web::HttpResponseBuilder,
    version: i64,
    body: &impl serde::Serialize,
) -> HttpResponse {
    builder.insert_header(etag(version)).json(body)
}

/// `limit` (1 to `MAX_PAGE`, default `DEFAULT_PAGE`) and `cursor` (the previous page's `next_cursor`).
pub(super) fn page_params(params: &Params) -> Result<(u32, Option<Uuid>), ApiError> {
    let limit = params.int_in("limit", 1, MAX_PAGE)?.unwrap_or(DEFAULT_PAGE) as u32;
    let cursor = match params.one("cursor")? {
        None => None,
        Some(c) => Some(Uuid::parse_str(c).map_err(|_| {
            ApiError::parameter(
                "cursor",
                "'cursor' must be the next_cursor value from the previous page",
            )
        })?),
    };
    Ok((limit, cursor))
}

/// A page of a list in id order.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct ListPage<T> {
    items: Vec<T>,
    /// The `cursor` of the next page; null on the last.
    next_cursor: Option<Uuid>,
}

/// A page of at most `limit` items and the cursor of the next, if any.
pub(super) fn page<T: serde::Serialize>(
    mut items: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> Uuid,
) -> ListPage<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more { items.last().map(&id) } else { None };
    ListPage { items, next_cursor }
}

/// A service body that must not try to change the id in the path.
pub(super) fn check_same_id(input_id: Option<Uuid>, path_id: Uuid) -> Result<(), ApiError> {
    match input_id {
        Some(id) if id != path_id => Err(ApiError::field(
            "id",
            "the id in the body differs from the id in the path",
        )),
        _ => Ok(()),
    }
}

/// Create a service
///
/// Editors: an administrator, or a partner for its own organisation. Answers 201 with its
/// location once it is searchable.
#[utoipa::path(post, path = "/v1/services", security(("bearer" = []), ("apiKey" = [])), request_body = domain::ServiceInput, responses(
    (status = 201, description = "Created; searchable in the next request.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."), ("Location" = String, description = "The new record's path."))),
    super::doc::Always, super::doc::Restricted, super::doc::WithBody,
))]
pub async fn create_service(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input = parse_service(domain::parse_json(&body)?)?;
    let service = state.directory.create_service(input, &actor).await?;
    Ok(
        with_etag(HttpResponse::Created(), service.meta.version, &service)
            .customize_location(&format!("/v1/services/{}", service.id)),
    )
}

/// Adds a `Location` header to a built response.
pub(super) trait WithLocation {
    fn customize_location(self, location: &str) -> HttpResponse;
}

impl WithLocation for HttpResponse {
    fn customize_location(mut self, location: &str) -> HttpResponse {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(location) {
            self.headers_mut()
                .insert(actix_web::http::header::LOCATION, v);
        }
        self
    }
}

/// What a caller may see of a service.
fn visible(service: Service, who: &Option<crate::domain::access::Principal>) -> Service {
    match who {
        Some(_) => service,
        None => service.without_staff_fields(),
    }
}

/// Read a service
///
/// Staff-only fields (named contacts, referral instructions) only for a key.
#[utoipa::path(get, path = "/v1/services/{id}", params(super::doc::IdPath), responses(
    (status = 200, description = "The service.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::OneRecord,
))]
pub async fn get_service(
    Reader(who): Reader,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let service = state.directory.service(id).await?;
    let service = visible(service, &who);
    Ok(with_etag(
        HttpResponse::Ok(),
        service.meta.version,
        &service,
    ))
}

/// List services in id order
///
/// Filtered by organisation, status, category and change time.
#[utoipa::path(get, path = "/v1/services", params(ServiceListFilters, super::doc::Page), responses(
    (status = 200, description = "A page.", body = ListPage<Service>),
    super::doc::Always,
))]
pub async fn list_services(
    Reader(who): Reader,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[
        "organization_id",
        "status",
        "category",
        "modified_after",
        "limit",
        "cursor",
    ])?;
    let (limit, cursor) = page_params(&params)?;
    let organization_id = match params.one("organization_id")? {
        None => None,
        Some(v) => Some(Uuid::parse_str(v).map_err(|_| {
            ApiError::parameter(
                "organization_id",
                format!("'{v}' is not an organisation id (a UUID)"),
            )
        })?),
    };
    let statuses = params
        .all("status")
        .into_iter()
        .map(|s| {
            ServiceStatus::parse(s).ok_or_else(|| {
                ApiError::parameter(
                    "status",
                    format!(
                        "'{s}' is not a status: use active, temporarily_closed, inactive or defunct"
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let categories = params
        .all("category")
        .into_iter()
        .map(|c| {
            domain::fields::CategoryId::parse(c)
                .map(|c| c.as_str().to_string())
                .map_err(|e| ApiError::parameter("category", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let modified_after = match params.one("modified_after")? {
        None => None,
        Some(v) => Some(
            chrono::DateTime::parse_from_rfc3339(v)
                .map_err(|_| {
                    ApiError::parameter(
                        "modified_after",
                        format!(
                            "'{v}' is not a timestamp: use RFC 3339, such as 2026-11-01T00:00:00Z"
                        ),
                    )
                })?
                .with_timezone(&chrono::Utc),
        ),
    };
    let filter = ServiceFilter {
        organization_id,
        statuses,
        categories,
        modified_after,
        ..ServiceFilter::default()
    };
    let items = state
        .directory
        .list_services(&filter, cursor, limit + 1)
        .await?
        .into_iter()
        .map(|s| visible(s, &who))
        .collect();
    Ok(HttpResponse::Ok().json(page(items, limit, |s: &Service| s.id)))
}

/// Replace a service's content
///
/// Editors; `If-Match` optional. Answers once the change is searchable.
#[utoipa::path(put, path = "/v1/services/{id}", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), request_body = domain::ServiceInput, responses(
    (status = 200, description = "Replaced; searchable in the next request.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Versioned,
))]
pub async fn replace_service(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    require_json(&req, &[])?;
    let input = parse_service(domain::parse_json(&body)?)?;
    check_same_id(input.server.id, id)?;
    let moved_to = match input.organization {
        Some(domain::OrganizationRef::Existing(org)) => Some(org),
        Some(domain::OrganizationRef::Embedded(ref o)) => o.server.id,
        None => None,
    };
    let content = input.content;
    let service = state
        .directory
        .edit_service(id, expected, &actor, "update", move |current| {
            if moved_to.is_some_and(|o| o != current.organization.id) {
                return Err(DirectoryError::field(
                    "organization_id",
                    "a service cannot move to another organisation; retire it and create it there",
                ));
            }
            Ok(content.clone())
        })
        .await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        service.meta.version,
        &service,
    ))
}

/// Change some fields (JSON merge patch, RFC 7396)
///
/// Editors. Answers once the change is searchable.
#[utoipa::path(patch, path = "/v1/services/{id}", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), request_body(content(
    (Object = "application/merge-patch+json"), (Object = "application/json"),
)), responses(
    (status = 200, description = "Changed; searchable in the next request.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Versioned,
))]
pub async fn patch_service(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    require_json(&req, &[MERGE_PATCH])?;
    let patch = domain::parse_json(&body)?;
    let service = state
        .directory
        .patch_service(id, expected, &actor, &patch)
        .await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        service.meta.version,
        &service,
    ))
}

/// Retire a service (it stays on record as defunct)
///
/// Kept, no longer found by search; answers once that is so.
#[utoipa::path(delete, path = "/v1/services/{id}", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), responses(
    (status = 200, description = "Retired.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::Versioned,
))]
pub async fn retire_service(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    let service = state.directory.retire_service(id, expected, &actor).await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        service.meta.version,
        &service,
    ))
}

/// What [`list_services`] filters by.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `list_services` reads.
struct ServiceListFilters {
    organization_id: Option<Uuid>,
    #[param(style = Form, explode)]
    status: Option<Vec<ServiceStatus>>,
    #[param(style = Form, explode)]
    category: Option<Vec<domain::fields::CategoryId>>,
    /// Only services changed after this time.
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
}
