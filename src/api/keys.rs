//! API keys: issuing, listing and revoking them (administrators).

use super::AppState;
use super::extract::{Admin, Params, require_json};
use super::problem::ApiError;
use crate::directory::KeyInput;
use crate::domain::access::ApiKey;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};

/// Create a key; the secret (sp_ and 64 hex digits, 256 random bits) is returned this once only and stored as a SHA-256 hash
///
/// A partner key names its organisation; other keys do not.
#[utoipa::path(post, path = "/v1/admin/keys", security(("bearer" = []), ("apiKey" = [])), request_body = crate::directory::KeyInput, responses(
    (status = 201, description = "The key and its secret, shown this once.", body = IssuedKey),
    super::doc::Always, super::doc::Restricted, super::doc::WithBody,
))]
pub async fn create_key(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input: KeyInput = parse_body(&body)?;
    let (key, secret) = state.directory.issue_key(input).await?;
    Ok(HttpResponse::Created().json(IssuedKey {
        key,
        secret,
        note: "the secret is shown only now: store it safely",
    }))
}

/// A new key with its secret.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct IssuedKey {
    key: ApiKey,
    /// `sp_` and 64 hex digits.
    secret: String,
    note: &'static str,
}

/// Every key.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Keys {
    keys: Vec<ApiKey>,
}

/// Every API key (never a secret)
#[utoipa::path(get, path = "/v1/admin/keys", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "Every key, without secrets.", body = Keys),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn list_keys(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.directory.keys().await?;
    Ok(HttpResponse::Ok().json(Keys { keys }))
}

/// Revoke a key; it stops working at once
#[utoipa::path(delete, path = "/v1/admin/keys/{id}", security(("bearer" = []), ("apiKey" = [])), params(
    ("id" = String, Path, description = "The key's id, as listed."),
), responses(
    (status = 204, description = "Revoked."),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord,
))]
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
