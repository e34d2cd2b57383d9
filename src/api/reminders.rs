//! Who keeps an organisation's entries current, and the reminders sent to them.

use super::extract::{Admin, Editor, Params, parse_id, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::DirectoryError;
use crate::directory::reminders::ContactInput;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

/// `GET /v1/organizations/{id}/update-contacts`: staff only, never in the public API.
pub async fn get_contacts(
    Editor(who): Editor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let org = parse_id(&path)?;
    let contacts = state.directory.update_contacts(org, &who).await?;
    Ok(HttpResponse::Ok().json(json!({ "contacts": contacts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactsBody {
    contacts: Vec<ContactInput>,
}

/// `PUT /v1/organizations/{id}/update-contacts`: replaces the list.
pub async fn put_contacts(
    Editor(who): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let org = parse_id(&path)?;
    require_json(&req, &[])?;
    let input: ContactsBody = parse_body(&body)?;
    let contacts = state
        .directory
        .set_update_contacts(org, input.contacts, &who)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "contacts": contacts })))
}

/// `GET /v1/admin/reminders`: what was sent, answered, failed and escalated.
pub async fn list_reminders(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["limit"])?;
    let limit = params.int_in("limit", 1, 1000)?.unwrap_or(100);
    let reminders = state.directory.reminders(limit as u32).await?;
    Ok(HttpResponse::Ok().json(json!({ "reminders": reminders })))
}

/// `POST /v1/admin/reminders/run`: a reminder cycle now (409 when no mail server is
/// configured or another cycle is running).
pub async fn run_reminders(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let Some(job) = state.reminders.clone() else {
        return Err(DirectoryError::Busy(
            "no mail server is configured (SIGNPOST_SMTP_HOST), so no reminders can go".into(),
        )
        .into());
    };
    let directory = state.directory.clone();
    let holder = super::request_holder();
    let report = super::run_to_end(
        "the run",
        "a reminder run is going on already; try again when it ends",
        async move {
            directory
                .run_reminders(&job.mailer, &job.reminders, &holder)
                .await
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
