//! What link checking found: per service, and a summary for administrators.

use super::extract::{Admin, Staff, parse_id};
use super::problem::ApiError;
use crate::api::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// Checks kept per URL in an answer.
const HISTORY: i64 = 50;

/// `GET /v1/services/{id}/link-checks`: each URL's state and its latest checks.
pub async fn service_link_checks(
    Staff(who): Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let urls = state
        .directory
        .service_link_checks(&who, id, HISTORY)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "service_id": id, "urls": urls })))
}

/// `GET /v1/admin/link-checks`: counts by outcome, flags, worst hosts, the last cycle.
pub async fn summary(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.directory.link_summary().await?))
}
