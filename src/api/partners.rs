//! Keeping entries current: quick capacity/status/verify updates, history, and
//! navigators' reports.

use super::extract::{Editor, Staff, etag, if_match, parse_id, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::keeping::StatusChange;
use crate::domain::fields::Text;
use crate::domain::{Capacity, Service, ServiceStatus, parse_body};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

/// The service after a quick update, with its new ETag.
fn updated(service: Service) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(etag(service.meta.version))
        .json(service)
}

/// Update capacity only (partner of the organisation, or admin); the time is stamped by the server
///
/// Taking referrals, waiting time (only with waitlist), places. Nothing else changes.
#[utoipa::path(put, path = "/v1/services/{id}/capacity", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), request_body = Capacity, responses(
    (status = 200, description = "The service after the change; searchable in the next request.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Versioned,
))]
pub async fn put_capacity(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    require_json(&req, &[])?;
    let capacity: Capacity = parse_body(&body)?;
    let service = state
        .directory
        .set_capacity(id, if_match(&req)?, &actor, capacity)
        .await?;
    Ok(updated(service))
}

/// A status change. A temporary closure needs a reason and may have a reopening date in
/// the future; other statuses have neither.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: ServiceStatus,
    /// Required with temporarily_closed.
    #[serde(default)]
    reason: Option<Text>,
    /// In the future; only with temporarily_closed. The service reopens by itself then.
    #[serde(default)]
    reopens_on: Option<NaiveDate>,
}

/// Change status only; temporarily_closed needs a reason and may have a future reopens_on, on which the service reopens by itself
#[utoipa::path(put, path = "/v1/services/{id}/status", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), request_body = StatusInput, responses(
    (status = 200, description = "The service after the change; searchable in the next request.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody, super::doc::Versioned,
))]
pub async fn put_status(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    require_json(&req, &[])?;
    let input: StatusInput = parse_body(&body)?;
    let change = StatusChange {
        status: input.status,
        reason: input.reason,
        reopens_on: input.reopens_on,
    };
    let service = state
        .directory
        .set_status(id, if_match(&req)?, &actor, change)
        .await?;
    Ok(updated(service))
}

/// "Still accurate": sets assured_date to today and changes nothing else
#[utoipa::path(post, path = "/v1/services/{id}/verify", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath, super::doc::IfMatch), responses(
    (status = 200, description = "The service after the change; searchable in the next request.", body = Service, headers(("ETag" = String, description = "The record's version, quoted, for If-Match."))),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::Versioned,
))]
pub async fn verify(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let service = state.directory.verify(id, if_match(&req)?, &actor).await?;
    Ok(updated(service))
}

/// Every change to the service, with who (key id and role), when, and field-level before/after
#[utoipa::path(get, path = "/v1/services/{id}/history", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath), responses(
    (status = 200, description = "Oldest first.", body = History),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord,
))]
pub async fn history(
    Staff(who): Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let entries = state.directory.service_history(&who, id).await?;
    Ok(HttpResponse::Ok().json(History {
        service_id: id,
        history: entries,
    }))
}

/// A service's history.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct History {
    service_id: uuid::Uuid,
    history: Vec<crate::storage::access::HistoryEntry>,
}

/// A problem seen on a call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    /// closed, wrong_phone, not_taking_referrals, wrong_details or other.
    #[schema(pattern = "^(closed|wrong_phone|not_taking_referrals|wrong_details|other)$")]
    kind: String,
    /// Required for other.
    #[serde(default)]
    text: Option<Text>,
}

/// Report a problem seen on a call (any key); it goes to the review queue
#[utoipa::path(post, path = "/v1/services/{id}/reports", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath), request_body = ReportInput, responses(
    (status = 201, description = "The report.", body = crate::storage::access::Report),
    super::doc::Always, super::doc::OneRecord, super::doc::WithBody,
))]
pub async fn create_report(
    Staff(who): Staff,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    require_json(&req, &[])?;
    let input: ReportInput = parse_body(&body)?;
    let report = state
        .directory
        .report(
            id,
            &input.kind,
            input.text.map(|t| t.as_str().to_string()),
            &who,
        )
        .await?;
    Ok(HttpResponse::Created().json(report))
}
