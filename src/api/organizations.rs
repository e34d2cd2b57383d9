//! `/v1/organizations`: create, read, list, update, retire.

use super::AppState;
use super::extract::{Admin, Params, if_match, parse_id, require_json};
use super::problem::ApiError;
use super::services::{MERGE_PATCH, WithLocation, check_same_id, page, page_params, with_etag};
use crate::domain::{self, Organization, merge_patch, parse_organization};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

/// Create an organisation
///
/// Administrators. Answers 201 with its location.
#[utoipa::path(post, path = "/v1/organizations", security(("bearer" = []), ("apiKey" = [])), request_body = crate::domain::OrganizationInput, responses(
    (status = 201, description = "Created.", body = crate::domain::Organization, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."), ("Location" = String, description = "The new record's path."))),
    super::doc::Always, super::doc::Restricted, super::doc::WithBody,
))]
pub async fn create_organization(
    Admin(actor): Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input = parse_organization(domain::parse_json(&body)?)?;
    let org = state.directory.create_organization(input, &actor).await?;
    Ok(with_etag(HttpResponse::Created(), org.meta.version, &org)
        .customize_location(&format!("/v1/organizations/{}", org.id)))
}

/// Read an organisation
#[utoipa::path(get, path = "/v1/organizations/{id}", params(super::doc::IdPath), responses(
    (status = 200, description = "The organisation.", body = crate::domain::Organization, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::OneRecord,
))]
pub async fn get_organization(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let org = state.directory.organization(id).await?;
    Ok(with_etag(HttpResponse::Ok(), org.meta.version, &org))
}

/// List organisations in id order
#[utoipa::path(get, path = "/v1/organizations", params(super::doc::Page), responses(
    (status = 200, description = "A page.", body = super::services::ListPage<crate::domain::Organization>),
    super::doc::Always,
))]
pub async fn list_organizations(
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["limit", "cursor"])?;
    let (limit, cursor) = page_params(&params)?;
    let items = state
        .directory
        .list_organizations(cursor, limit + 1)
        .await?;
    Ok(HttpResponse::Ok().json(page(items, limit, |o: &Organization| o.id)))
}

/// Replace an organisation's details
///
/// Administrators; `If-Match` optional.
#[utoipa::path(put, path = "/v1/organizations/{id}", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), request_body = crate::domain::OrganizationInput, responses(
    (status = 200, description = "Replaced.", body = crate::domain::Organization, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Versioned,
))]
pub async fn replace_organization(
    Admin(actor): Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    require_json(&req, &[])?;
    let input = parse_organization(domain::parse_json(&body)?)?;
    check_same_id(input.server.id, id)?;
    let content = input.content;
    let org = state
        .directory
        .edit_organization(id, expected, false, &actor, move |_| Ok(content.clone()))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), org.meta.version, &org))
}

/// Change some of an organisation's details (JSON merge patch)
///
/// Administrators.
#[utoipa::path(patch, path = "/v1/organizations/{id}", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), request_body(content(
    (Object = "application/merge-patch+json"), (Object = "application/json"),
)), responses(
    (status = 200, description = "Changed.", body = crate::domain::Organization, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Versioned,
))]
pub async fn patch_organization(
    Admin(actor): Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    require_json(&req, &[MERGE_PATCH])?;
    let patch = domain::parse_json(&body)?;
    for key in ["id", "version", "created_at", "last_modified", "retired"] {
        if patch.get(key).is_some() {
            return Err(ApiError::field(
                key,
                format!("'{key}' cannot be changed with PATCH"),
            ));
        }
    }
    let org = state
        .directory
        .edit_organization(id, expected, false, &actor, move |current| {
            let mut merged = serde_json::to_value(&current.content).unwrap_or(Value::Null);
            merge_patch(&mut merged, &patch);
            let input = parse_organization(merged)?;
            Ok(input.content)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), org.meta.version, &org))
}

/// Retire an organisation and its running services
///
/// Administrators.
#[utoipa::path(delete, path = "/v1/organizations/{id}", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), responses(
    (status = 200, description = "Retired.", body = crate::domain::Organization, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::Versioned,
))]
pub async fn retire_organization(
    Admin(actor): Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    let org = state
        .directory
        .edit_organization(id, expected, true, &actor, move |current| {
            Ok(current.content.clone())
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), org.meta.version, &org))
}
