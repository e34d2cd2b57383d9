//! What link checking found: per service, and a summary for administrators.

use super::extract::{Admin, Staff, parse_id};
use super::problem::ApiError;
use crate::links::service_urls;
use crate::startup::AppState;
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
    let store = &state.directory.store;
    let service = super::services::find_service_for(store, &who, id).await?;
    let states = store.link_states().await?;
    let mut urls = Vec::new();
    for (kind, url) in service_urls(&service) {
        let checks = store
            .link_checks(std::slice::from_ref(&url), HISTORY)
            .await?;
        let (link_state, last_checked) = match states.get(&url) {
            Some((s, at)) => (Some(s), Some(at)),
            None => (None, None),
        };
        urls.push(json!({
            "url": url,
            "kind": kind,
            "state": link_state,
            "last_checked": last_checked,
            "checks": checks,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({ "service_id": id, "urls": urls })))
}

/// `GET /v1/admin/link-checks`: counts by outcome, flags, worst hosts, the last cycle.
pub async fn summary(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.directory.link_summary().await?))
}
