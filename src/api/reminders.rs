//! Who keeps an organisation's entries current, and the reminders sent to them.

use super::extract::{Admin, Editor, Params, parse_id, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::DirectoryError;
use crate::directory::reminders::ContactInput;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Who keeps the organisation's entries current (administrators and its partners only; never in the public API or the feed)
#[utoipa::path(get, path = "/v1/organizations/{id}/update-contacts", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath), responses(
    (status = 200, description = "The contacts.", body = Contacts),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord,
))]
pub async fn get_contacts(
    Editor(who): Editor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let org = parse_id(&path)?;
    let contacts = state.directory.update_contacts(org, &who).await?;
    Ok(HttpResponse::Ok().json(Contacts { contacts }))
}

/// An organisation's update contacts.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Contacts {
    contacts: Vec<crate::storage::reminders::UpdateContact>,
}

/// The update contacts to keep.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactsBody {
    #[schema(max_items = 20)]
    contacts: Vec<ContactInput>,
}

/// Replace the organisation's update contacts
#[utoipa::path(put, path = "/v1/organizations/{id}/update-contacts", security(("bearer" = []), ("apiKey" = [])), params(super::doc::IdPath), request_body = ContactsBody, responses(
    (status = 200, description = "The contacts kept (addresses lower-cased, repeats dropped).", body = Contacts),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::WithBody,
))]
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
    Ok(HttpResponse::Ok().json(Contacts { contacts }))
}

/// Reminders sent to update contacts, newest first, with what became of each
#[utoipa::path(get, path = "/v1/admin/reminders", security(("bearer" = []), ("apiKey" = [])), params(ReminderListParameters), responses(
    (status = 200, description = "Each reminder with its state, recipients, the services it asked about and why, any error, and when it was answered.", body = Reminders),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn list_reminders(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["limit"])?;
    let limit = params.int_in("limit", 1, 1000)?.unwrap_or(100);
    let reminders = state.directory.reminders(limit as u32).await?;
    Ok(HttpResponse::Ok().json(Reminders { reminders }))
}

/// Reminders, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Reminders {
    reminders: Vec<crate::storage::reminders::Reminder>,
}

/// What [`list_reminders`] reads.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `list_reminders` reads.
struct ReminderListParameters {
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u16>,
}

/// Run a reminder cycle now (one email per organisation that has update contacts and something to check)
///
/// 409 when no mail server is configured or another cycle is running.
#[utoipa::path(post, path = "/v1/admin/reminders/run", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "What the run did.", body = crate::directory::reminders::RunReport),
    super::doc::Always, super::doc::Restricted, super::doc::Contended,
))]
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
