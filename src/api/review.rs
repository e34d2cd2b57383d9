//! The review queue: what staff should look at, and marking an item done.

use super::AppState;
use super::extract::{Staff, require_json};
use super::problem::ApiError;
use crate::domain::access::Role;
use crate::domain::fields::Text;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

/// `GET /v1/review-queue`
pub async fn review_queue(
    Staff(who): Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = state.directory.review_queue(&who).await?;
    Ok(HttpResponse::Ok().json(json!({ "total": items.len(), "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveInput {
    note: Text,
}

/// `POST /v1/review-queue/{item}/resolve`: dealt with, and how.
pub async fn resolve_item(
    Staff(who): Staff,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if who.role == Role::Navigator {
        return Err(ApiError::Forbidden(
            "the review queue is for administrators and partners".into(),
        ));
    }
    require_json(&req, &[])?;
    let input: ResolveInput = parse_body(&body)?;
    let item = path.into_inner();
    let note = input.note.as_str();
    state.directory.resolve(&item, note, &who).await?;
    Ok(HttpResponse::Ok().json(json!({"id": item, "resolved_by": who.key_id, "note": note})))
}
