//! `/v1/organizations`: create, read, list, update, retire.

use super::AppState;
use super::extract::{Admin, Params, if_match, parse_id, require_json};
use super::problem::ApiError;
use super::services::{MERGE_PATCH, WithLocation, check_same_id, page, page_params, with_etag};
use crate::domain::{self, Organization, merge_patch, parse_organization};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

/// `POST /v1/organizations` (administrators): 201 with its location.
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

/// `GET /v1/organizations/{id}`: open to anyone, with its ETag.
pub async fn get_organization(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let org = state.directory.organization(id).await?;
    Ok(with_etag(HttpResponse::Ok(), org.meta.version, &org))
}

/// `GET /v1/organizations`: a page in id order (`limit`, `cursor`).
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

/// `PUT /v1/organizations/{id}` (administrators; `If-Match` optional).
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

/// `PATCH /v1/organizations/{id}`: a JSON merge patch (administrators).
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

/// `DELETE /v1/organizations/{id}`: retires it (administrators).
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
