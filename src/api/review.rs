//! The review queue: what staff should look at, and marking an item done.

use super::AppState;
use super::extract::{Staff, require_json};
use super::problem::ApiError;
use crate::domain::access::Role;
use crate::domain::fields::Text;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// What needs a person - open reports, entries not verified or with capacity not updated for too long (admin; partners see their organisation's part)
#[utoipa::path(get, path = "/v1/review-queue", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "Items, each with an id to resolve.", body = ReviewQueue),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn review_queue(
    Staff(who): Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = state.directory.review_queue(&who).await?;
    Ok(HttpResponse::Ok().json(ReviewQueue {
        total: items.len(),
        items,
    }))
}

/// The review queue.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ReviewQueue {
    total: usize,
    items: Vec<crate::directory::review::ReviewItem>,
}

/// A resolved item.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Resolved<'a> {
    id: String,
    /// The key that resolved it.
    resolved_by: &'a str,
    note: &'a str,
}

/// How an item was dealt with.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveInput {
    note: Text,
}

/// Resolve a review item with a note
#[utoipa::path(post, path = "/v1/review-queue/{item}/resolve", security(("bearer" = []), ("apiKey" = [])), params(
    ("item" = String, Path, description = "The item's id from the review queue."),
), request_body = ResolveInput, responses(
    (status = 200, description = "Resolved.", body = Resolved),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Contended,
))]
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
    Ok(HttpResponse::Ok().json(Resolved {
        id: item,
        resolved_by: &who.key_id,
        note,
    }))
}
