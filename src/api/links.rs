//! What link checking found: per service, and a summary for administrators.

use super::extract::{Admin, Staff, parse_id};
use super::problem::ApiError;
use crate::api::AppState;
use actix_web::{HttpResponse, web};

/// Checks kept per URL in an answer.
const HISTORY: i64 = 50;

/// What link checking found for the service's website and referral URL (any key; partners their own)
#[utoipa::path(get, path = "/v1/services/{id}/link-checks", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath), responses(
    (status = 200, description = "Each URL with its state and its latest checks.", body = ServiceLinkChecks),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord,
))]
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
    Ok(HttpResponse::Ok().json(ServiceLinkChecks {
        service_id: id,
        urls,
    }))
}

/// A service's URLs and what checking them found.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ServiceLinkChecks {
    service_id: uuid::Uuid,
    urls: Vec<crate::directory::records::UrlChecks>,
}

/// Link checking at a glance - URLs by last outcome, flags, the hosts with most failing URLs, the last cycle
#[utoipa::path(get, path = "/v1/admin/link-checks", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "The summary.", body = crate::directory::admin::LinkSummary),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn summary(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.directory.link_summary().await?))
}
