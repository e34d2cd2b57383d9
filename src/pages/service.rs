//! A service's page: everything needed to refer, eligibility for the caller being
//! helped (sent by POST, never in the URL), and "report a problem" for staff.

use super::forms::{Errors, Form};
use super::session::{Visitor, refused, sign_in_first};
use super::view::{Alert, Listed, VerdictView, tone};
use super::{Chrome, message, render};
use crate::api::AppState;
use crate::api::geo::caller_input;
use crate::directory::{DirectoryError, REPORT_KINDS, ServiceDetail};
use crate::geo::eligibility::distance_km;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

/// One location with its distance from the caller.
pub struct Place {
    /// Its address on one line: venue, street, town, postcode.
    pub address: String,
    /// Distance from the caller, e.g. "3.2 km away"; None unless both places have coordinates.
    pub distance: Option<String>,
}

/// One recent change, in words.
pub struct ChangeView {
    /// The day it was made, `YYYY-MM-DD`.
    pub at: String,
    /// Who made it, with their role, e.g. "admin-key (admin)".
    pub actor: String,
    /// The action and the fields it changed, e.g. "update: phones, url".
    pub what: String,
}

/// A service's page: everything a navigator needs to refer, with its warnings.
#[derive(Template)]
#[template(path = "service.html")]
pub struct ServicePage {
    /// The page's frame: its title and who is signed in.
    pub chrome: Chrome,
    /// The record; staff-only fields only when staff are signed in.
    pub service: Listed,
    /// The warnings search shows beside it, in words with their weight.
    pub alerts: Vec<Alert>,
    /// The worst alert's weight, for the page's edge: `danger`, `warn` or empty.
    pub tone: &'static str,
    /// Whether it can see the caller given; None when no caller details were given.
    pub verdict: Option<VerdictView>,
    /// What to check with the caller: a terminated postcode, a practice no longer active.
    pub caller_notes: Vec<String>,
    /// Each location, with its distance from the caller when known.
    pub places: Vec<Place>,
    /// The latest changes, newest first; empty unless staff are signed in.
    pub changes: Vec<ChangeView>,
    /// The caller fields as typed (for the "check for a caller" form).
    pub caller: Form,
    /// What is wrong with the caller or report form, by field.
    pub errors: Errors,
    /// The kinds of problem staff may report (`closed`, `wrong_phone`, …).
    pub report_kinds: &'static [&'static str],
    /// The report form as typed, shown again with its errors.
    pub report: Form,
    /// True just after a report was saved, to say so.
    pub reported: bool,
    /// True when staff are signed in: staff fields, history and the report form show.
    pub staff: bool,
}

const CALLER_FIELDS: &[&str] = &["postcode", "gp", "age", "gender"];

fn parse_id(raw: &str) -> Option<Uuid> {
    crate::api::extract::parse_id(raw.trim()).ok()
}

/// `GET /services/{id}`
pub async fn get(
    req: HttpRequest,
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let reported = Form::parse(req.query_string().as_bytes()).get("reported") == Some("1");
    show(
        &visitor,
        &state,
        &path,
        Form::default(),
        Errors::default(),
        None,
        reported,
    )
    .await
}

/// `POST /services/{id}`: the page with eligibility for the caller in the body.
pub async fn post(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    show(
        &visitor,
        &state,
        &path,
        form,
        Errors::default(),
        None,
        false,
    )
    .await
}

/// `POST /services/{id}/report`: staff report a problem seen on a call.
pub async fn report(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(who) = visitor.principal().cloned() else {
        return sign_in_first(&visitor);
    };
    let form = Form::parse(&body);
    if !visitor.csrf_ok(&form) {
        return refused(&visitor);
    }
    let Some(id) = parse_id(&path) else {
        return not_found(&visitor, &path);
    };
    let text = Some(form.text("text")).filter(|t| !t.is_empty());
    let mut errors = Errors::default();
    match state
        .directory
        .report(id, &form.text("kind"), text, &who)
        .await
    {
        Ok(_) => {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/services/{id}?reported=1")))
                .finish();
        }
        Err(DirectoryError::Invalid(list)) => {
            for f in list {
                errors.add(f.field, f.message);
            }
        }
        Err(DirectoryError::NotFound(_)) => return not_found(&visitor, &path),
        Err(e) => {
            tracing::error!(error = %e, "report from the page");
            errors.add("kind", "The report could not be saved just now; try again.");
        }
    }
    show(
        &visitor,
        &state,
        &path,
        Form::default(),
        errors,
        Some(form),
        false,
    )
    .await
}

fn not_found(visitor: &Visitor, raw: &str) -> HttpResponse {
    message(
        visitor,
        StatusCode::NOT_FOUND,
        "Service not found",
        format!("There is no service '{raw}'. It may have been removed; search again."),
    )
}

async fn show(
    visitor: &Visitor,
    state: &AppState,
    raw_id: &str,
    caller: Form,
    mut errors: Errors,
    report: Option<Form>,
    reported: bool,
) -> HttpResponse {
    let Some(id) = parse_id(raw_id) else {
        return not_found(visitor, raw_id);
    };
    let who = match caller_input(&caller.params(CALLER_FIELDS)) {
        Ok(who) => Some(who),
        Err(e) => {
            errors.add_api(&e);
            None
        }
    };
    let staff = visitor.principal().is_some();
    let detail = match state.directory.service_detail(id, who, staff).await {
        Ok(d) => d,
        Err(DirectoryError::NotFound(_)) => return not_found(visitor, raw_id),
        Err(e) => {
            tracing::error!(error = %e, "service page");
            return message(
                visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                "This page is not available just now",
                "The directory did not answer; try again in a moment.",
            );
        }
    };
    let page = page(visitor, detail, caller, errors, report, reported, staff);
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(&page, status)
}

fn page(
    visitor: &Visitor,
    detail: ServiceDetail,
    caller: Form,
    errors: Errors,
    report: Option<Form>,
    reported: bool,
    staff: bool,
) -> ServicePage {
    let service = Listed::from_service(&detail.service);
    let alerts: Vec<Alert> = detail.warnings.iter().map(Alert::from_warning).collect();
    let origin = detail
        .eligibility
        .as_ref()
        .and_then(|e| e.caller.location)
        .map(|o| (o.latitude, o.longitude));
    let places = service
        .locations
        .iter()
        .map(|l| Place {
            address: l.address(),
            distance: origin
                .zip(l.latitude.zip(l.longitude))
                .map(|(o, p)| format!("{:.1} km away", distance_km(o, p))),
        })
        .collect();
    let changes = detail
        .history
        .iter()
        .map(|h| ChangeView {
            at: h.at.get(..10).unwrap_or(&h.at).to_string(),
            actor: format!("{} ({})", h.actor, h.role),
            what: if h.changes.is_empty() {
                h.action.clone()
            } else {
                format!(
                    "{}: {}",
                    h.action,
                    h.changes
                        .iter()
                        .map(|c| c.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        })
        .collect();
    ServicePage {
        chrome: Chrome::new(service.name.clone(), visitor),
        tone: tone(&alerts),
        verdict: detail
            .eligibility
            .as_ref()
            .map(|e| VerdictView::new(&e.eligibility)),
        caller_notes: detail
            .eligibility
            .map(|e| e.caller.notes)
            .unwrap_or_default(),
        service,
        alerts,
        places,
        changes,
        caller,
        errors,
        report_kinds: REPORT_KINDS,
        report: report.unwrap_or_default(),
        reported,
        staff,
    }
}

/// A report kind in words.
pub fn report_label(kind: &str) -> &str {
    match kind {
        "closed" => "It has closed",
        "wrong_phone" => "The phone number is wrong",
        "not_taking_referrals" => "It is not taking referrals",
        "wrong_details" => "Other details are wrong",
        "other" => "Something else",
        other => other,
    }
}
