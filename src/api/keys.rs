//! API keys: issuing, listing and revoking them (administrators).

use super::AppState;
use super::extract::{Admin, Params, require_json};
use super::problem::ApiError;
use crate::directory::KeyInput;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// `POST /v1/admin/keys`.
pub async fn create_key(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input: KeyInput = parse_body(&body)?;
    let (key, secret) = state.directory.issue_key(input).await?;
    Ok(HttpResponse::Created().json(json!({
        "key": key,
        "secret": secret,
        "note": "the secret is shown only now: store it safely",
    })))
}

/// `GET /v1/admin/keys`: every key, without secrets.
pub async fn list_keys(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.directory.keys().await?;
    Ok(HttpResponse::Ok().json(json!({ "keys": keys })))
}

/// `DELETE /v1/admin/keys/{id}`: the key stops working at once.
pub async fn revoke_key(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let id = path.into_inner();
    state.directory.revoke_key(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}
