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
use serde_json::json;

/// The service after a quick update, with its new ETag.
fn updated(service: Service) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(etag(service.meta.version))
        .json(service)
}

/// `PUT /v1/services/{id}/capacity`: taking referrals, waiting time, places. Nothing else
/// changes; the time is stamped by the server.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: ServiceStatus,
    #[serde(default)]
    reason: Option<Text>,
    #[serde(default)]
    reopens_on: Option<NaiveDate>,
}

/// `PUT /v1/services/{id}/status`: e.g. temporarily closed until a date, with a reason.
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

/// `POST /v1/services/{id}/verify`: "still accurate" — sets `assured_date` to today.
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

/// `GET /v1/services/{id}/history`: every change with who made it and what it changed.
pub async fn history(
    Staff(who): Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let entries = state.directory.service_history(&who, id).await?;
    Ok(HttpResponse::Ok().json(json!({ "service_id": id, "history": entries })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    kind: String,
    #[serde(default)]
    text: Option<Text>,
}

/// `POST /v1/services/{id}/reports`: a problem seen on a call, for the administrators.
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
