//! Partners keep their entries true: their services with what needs attention, "still
//! accurate" in one click, capacity and status in two, every detail in a form that shows
//! each field's error beside it. Every form carries the version it was made from: when
//! someone else changed the entry meanwhile, the page says so and shows the current
//! entry; nothing is overwritten silently.

use super::forms::{Errors, Form};
use super::session::{Visitor, refused, sign_in_first};
use super::view::{Alert, Listed, tone};
use super::{Chrome, message, render};
use crate::api::AppState;
use crate::directory::DirectoryError;
use crate::directory::keeping::StatusChange;
use crate::directory::review::{Attention, ReviewItem};
use crate::domain::access::{Principal, Role};
use crate::domain::fields::{Email, Name, Phone, Text, WebUrl};
use crate::domain::{Accepting, Capacity, Service, ServiceStatus};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// A row of the partner's list.
pub struct Row {
    /// The service as the list shows it.
    pub service: Listed,
    /// The warnings search shows beside it, in words with their weight.
    pub alerts: Vec<Alert>,
    /// The worst alert's weight: `danger`, `warn` or empty.
    pub tone: &'static str,
    /// Open review-queue items about it.
    pub items: Vec<ReviewItem>,
    /// Its capacity's `accepting` (`open`, `waitlist` or `closed`), or empty if never stated.
    pub accepting: String,
}

#[derive(Template)]
#[template(path = "partner.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    done: Option<&'static str>,
    admin: bool,
    /// For a partner: who is reminded to keep the entries current, as the form shows it.
    contacts: Option<Form>,
    errors: Errors,
}

/// Rows the contacts form offers.
const CONTACT_ROWS: usize = 3;

/// The contacts form filled with what is kept.
fn contacts_form(kept: &[crate::storage::reminders::UpdateContact]) -> Form {
    let mut pairs = Vec::new();
    for (i, c) in kept.iter().enumerate() {
        pairs.push((format!("name_{i}"), c.name.clone()));
        pairs.push((format!("email_{i}"), c.email.clone()));
    }
    Form::from_pairs(pairs)
}

/// What a finished action says at the top of the next page.
fn done_message(code: &str) -> Option<&'static str> {
    match code {
        "verified" => Some("Thank you: the entry is confirmed as accurate today."),
        "contacts" => {
            Some("Saved: reminders to keep these entries current go to the people listed.")
        }
        "capacity" => Some("Capacity saved: navigators see it now."),
        "status" => Some("Status saved: navigators see it now."),
        "details" => Some("Details saved: navigators see them now."),
        "resolved" => Some("Marked as dealt with."),
        _ => None,
    }
}

/// The signed-in partner or administrator, or the page to show instead.
pub fn keeper(visitor: &Visitor) -> Result<Principal, HttpResponse> {
    match visitor.principal() {
        None => Err(sign_in_first(visitor)),
        Some(p) if p.role == Role::Navigator => Err(message(
            visitor,
            StatusCode::FORBIDDEN,
            "Not available with a navigator key",
            "Keeping entries is for partner organisations and administrators.",
        )),
        Some(p) => Ok(p.clone()),
    }
}

fn done_of(req: &HttpRequest) -> Option<&'static str> {
    Form::parse(req.query_string().as_bytes())
        .get("done")
        .and_then(done_message)
}

/// `GET /partner`: the services this key keeps, those needing attention first.
pub async fn list(req: HttpRequest, visitor: Visitor, state: web::Data<AppState>) -> HttpResponse {
    let who = match keeper(&visitor) {
        Ok(p) => p,
        Err(page) => return page,
    };
    list_page(
        &visitor,
        &state,
        &who,
        done_of(&req),
        None,
        Errors::default(),
    )
    .await
}

/// The list page; `contacts` is the contacts form as posted (else as kept).
async fn list_page(
    visitor: &Visitor,
    state: &AppState,
    who: &Principal,
    done: Option<&'static str>,
    contacts: Option<Form>,
    errors: Errors,
) -> HttpResponse {
    let kept = match state.directory.attention(who).await {
        Ok(k) => k,
        Err(e) => return failure(visitor, e),
    };
    let contacts = match (who.role, who.organization_id, contacts) {
        (Role::Partner, Some(_), Some(posted)) => Some(posted),
        (Role::Partner, Some(org), None) => match state.directory.update_contacts(org, who).await {
            Ok(kept) => Some(contacts_form(&kept)),
            Err(e) => return failure(visitor, e),
        },
        _ => None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &ListPage {
            chrome: Chrome::new("Your services", visitor),
            rows: kept.into_iter().map(row).collect(),
            done,
            admin: who.role == Role::Admin,
            contacts,
            errors,
        },
        status,
    )
}

/// `POST /partner/contacts`: who is reminded to keep the organisation's entries current.
pub async fn contacts(
    visitor: Visitor,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let who = match keeper(&visitor) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let form = Form::parse(&body);
    if !visitor.csrf_ok(&form) {
        return refused(&visitor);
    }
    let Some(org) = who.organization_id.filter(|_| who.role == Role::Partner) else {
        return message(
            &visitor,
            StatusCode::FORBIDDEN,
            "Not available with this key",
            "Update contacts are kept here by an organisation's partners; administrators use PUT /v1/organizations/{id}/update-contacts.",
        );
    };
    let mut errors = Errors::default();
    let mut given = Vec::new();
    for i in 0..CONTACT_ROWS {
        let name = form.text(&format!("name_{i}")).trim().to_string();
        let email = form.text(&format!("email_{i}")).trim().to_string();
        if name.is_empty() && email.is_empty() {
            continue;
        }
        let parsed = (
            crate::domain::fields::Name::parse(&name),
            crate::domain::fields::Email::parse(&email),
        );
        match parsed {
            (Ok(name), Ok(email)) => {
                given.push(crate::directory::reminders::ContactInput { name, email })
            }
            (n, e) => {
                if n.is_err() {
                    errors.add(format!("name_{i}"), "Enter the person's name");
                }
                if e.is_err() {
                    errors.add(
                        format!("email_{i}"),
                        "Enter an email address like name@example.org",
                    );
                }
            }
        }
    }
    if !errors.is_empty() {
        return list_page(&visitor, &state, &who, None, Some(form), errors).await;
    }
    match state.directory.set_update_contacts(org, given, &who).await {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, "/partner?done=contacts"))
            .finish(),
        Err(e) => failure(&visitor, e),
    }
}

fn row(a: Attention) -> Row {
    let service = Listed::from_service(&a.service);
    let alerts: Vec<Alert> = a.warnings.iter().map(Alert::from_warning).collect();
    Row {
        tone: tone(&alerts),
        accepting: a
            .service
            .content
            .capacity
            .as_ref()
            .map_or("", |c| c.accepting.as_str())
            .to_string(),
        service,
        alerts,
        items: a.items,
    }
}

/// The page for an error the directory gave that no form can show.
fn failure(visitor: &Visitor, e: DirectoryError) -> HttpResponse {
    match e {
        DirectoryError::NotFound(m) => message(visitor, StatusCode::NOT_FOUND, "Not found", m),
        DirectoryError::Forbidden(m) => message(visitor, StatusCode::FORBIDDEN, "Not allowed", m),
        other => {
            tracing::error!(error = %other, "partner page");
            message(
                visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                "This page is not available just now",
                "The directory did not answer; nothing was changed. Try again in a moment.",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "keep.html")]
struct KeepPage {
    chrome: Chrome,
    service: Listed,
    alerts: Vec<Alert>,
    items: Vec<ReviewItem>,
    /// The values shown in the forms: the entry's, or what was just submitted.
    form: Form,
    errors: Errors,
    /// Set when someone else changed the entry since the form was made.
    conflict: Option<Conflict>,
    done: Option<&'static str>,
}

/// Someone else's change, shown beside what this person tried to save.
pub struct Conflict {
    /// The entry's version now, put in the form so that saving again applies to it.
    pub version: i64,
    /// (field, the entry now, what you sent) for each field that differs.
    pub differences: Vec<(String, String, String)>,
}

/// The entry's values as form fields.
fn form_of(s: &Service) -> Form {
    let c = &s.content;
    let mut pairs: Vec<(String, String)> = vec![
        ("version".into(), s.meta.version.to_string()),
        ("name".into(), c.name.as_str().into()),
        ("description".into(), c.description.as_str().into()),
        (
            "url".into(),
            c.url
                .as_ref()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "email".into(),
            c.email
                .as_ref()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "referral_route".into(),
            serde_json::to_value(c.referral.route)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ),
        (
            "referral_url".into(),
            c.referral
                .url
                .as_ref()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "referral_instructions".into(),
            c.referral
                .instructions
                .as_ref()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "opening_hours_description".into(),
            c.opening_hours_description
                .as_ref()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "minimum_age".into(),
            c.minimum_age.map(|a| a.to_string()).unwrap_or_default(),
        ),
        (
            "maximum_age".into(),
            c.maximum_age.map(|a| a.to_string()).unwrap_or_default(),
        ),
        ("status".into(), c.status.as_str().into()),
        (
            "reason".into(),
            c.temporary_closure
                .as_ref()
                .map(|t| t.reason.as_str().to_string())
                .unwrap_or_default(),
        ),
        (
            "reopens_on".into(),
            c.temporary_closure
                .as_ref()
                .and_then(|t| t.reopens_on)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
    ];
    for i in 0..PHONES {
        let p = c.phones.get(i);
        pairs.push((
            format!("phone_{i}"),
            p.map(|p| p.number.as_str().to_string()).unwrap_or_default(),
        ));
        pairs.push((
            format!("phone_{i}_label"),
            p.and_then(|p| p.description.as_ref())
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
        ));
    }
    if let Some(cap) = &c.capacity {
        pairs.push(("accepting".into(), cap.accepting.as_str().into()));
        pairs.push((
            "waiting_weeks".into(),
            cap.waiting_weeks.map(|w| w.to_string()).unwrap_or_default(),
        ));
        pairs.push((
            "places".into(),
            cap.places.map(|w| w.to_string()).unwrap_or_default(),
        ));
    }
    Form::from_pairs(pairs)
}

/// Phone rows in the details form.
pub const PHONES: usize = 3;

/// `GET /partner/services/{id}`
pub async fn keep(
    req: HttpRequest,
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let who = match keeper(&visitor) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Ok(id) = crate::api::extract::parse_id(path.trim()) else {
        return message(
            &visitor,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such service.",
        );
    };
    show_keep(
        &visitor,
        &state,
        &who,
        id,
        None,
        Errors::default(),
        None,
        done_of(&req),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn show_keep(
    visitor: &Visitor,
    state: &AppState,
    who: &Principal,
    id: Uuid,
    form_sent: Option<Form>,
    errors: Errors,
    conflict: Option<Conflict>,
    done: Option<&'static str>,
) -> HttpResponse {
    let kept = match state.directory.attention_for(who, id).await {
        Ok(k) => k,
        Err(e) => return failure(visitor, e),
    };
    let status = if conflict.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // The entry's values, with what was just sent on top (so the other forms keep theirs).
    let mut form = form_of(&kept.service);
    if let Some(sent) = form_sent {
        for (k, v) in sent.pairs().iter().filter(|(k, _)| k != "csrf") {
            form.set(k, v.clone());
        }
    }
    if let Some(c) = &conflict {
        // Saving again now is a deliberate choice over the current entry.
        form.set("version", c.version.to_string());
    }
    render(
        &KeepPage {
            chrome: Chrome::new(
                format!("Keep {}", kept.service.content.name.as_str()),
                visitor,
            ),
            service: Listed::from_service(&kept.service),
            alerts: kept.warnings.iter().map(Alert::from_warning).collect(),
            items: kept.items,
            form,
            errors,
            conflict,
            done,
        },
        status,
    )
}

/// What a form post needs before it changes anything: who, the service, the version.
struct Posted {
    who: Principal,
    id: Uuid,
    form: Form,
    version: Option<i64>,
}

fn posted(visitor: &Visitor, path: &str, body: &[u8]) -> Result<Posted, HttpResponse> {
    let who = keeper(visitor)?;
    let form = Form::parse(body);
    if !visitor.csrf_ok(&form) {
        return Err(refused(visitor));
    }
    let Ok(id) = crate::api::extract::parse_id(path.trim()) else {
        return Err(message(
            visitor,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such service.",
        ));
    };
    let version = form.text("version").parse().ok();
    Ok(Posted {
        who,
        id,
        form,
        version,
    })
}

/// Where to go after a change: back to the list or the service's page, saying it worked.
fn after(form: &Form, id: Uuid, done: &str) -> HttpResponse {
    let to = if form.get("back") == Some("list") {
        format!("/partner?done={done}")
    } else {
        format!("/partner/services/{id}?done={done}")
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Shows the outcome of a change: where next, the conflict, or the errors by field.
async fn outcome(
    visitor: &Visitor,
    state: &AppState,
    p: Posted,
    result: Result<Service, DirectoryError>,
    done: &str,
) -> HttpResponse {
    let mut errors = Errors::default();
    match result {
        Ok(_) => return after(&p.form, p.id, done),
        Err(DirectoryError::Stale { current }) => {
            let now = match state.directory.service(p.id).await {
                Ok(s) => form_of(&s),
                Err(e) => return failure(visitor, e),
            };
            let differences = differences(&now, &p.form);
            let conflict = Conflict {
                version: current,
                differences,
            };
            return show_keep(
                visitor,
                state,
                &p.who,
                p.id,
                Some(p.form),
                errors,
                Some(conflict),
                None,
            )
            .await;
        }
        Err(DirectoryError::Invalid(list)) => {
            for f in list {
                errors.add(form_field(&f.field), f.message);
            }
        }
        Err(e) => return failure(visitor, e),
    }
    show_keep(
        visitor,
        state,
        &p.who,
        p.id,
        Some(p.form),
        errors,
        None,
        None,
    )
    .await
}

/// The form field an error about a service field belongs beside.
fn form_field(path: &str) -> String {
    match path {
        "referral.url" => "referral_url".into(),
        "referral.instructions" => "referral_instructions".into(),
        "referral.route" | "referral" => "referral_route".into(),
        "temporary_closure.reason" => "reason".into(),
        p if p.starts_with("phones[") => {
            let i = p[7..].split(']').next().unwrap_or("0");
            format!("phone_{i}")
        }
        p if p.starts_with("capacity.") => p["capacity.".len()..].into(),
        p => p.into(),
    }
}

/// Fields whose value in the entry now differs from what was sent.
fn differences(now: &Form, sent: &Form) -> Vec<(String, String, String)> {
    now.pairs()
        .iter()
        .filter(|(k, _)| k != "version")
        .filter_map(|(k, v)| {
            let mine = sent.get(k)?;
            (mine.trim() != v.trim()).then(|| (label(k).to_string(), v.clone(), mine.to_string()))
        })
        .collect()
}

/// A form field's name in words.
pub fn label(field: &str) -> &str {
    match field {
        "name" => "Name",
        "description" => "What it offers",
        "url" => "Website",
        "email" => "Email",
        "referral_route" => "Who can refer",
        "referral_url" => "Referral form",
        "referral_instructions" => "How to refer",
        "opening_hours_description" => "Opening hours",
        "minimum_age" => "Youngest age",
        "maximum_age" => "Oldest age",
        "status" => "Status",
        "reason" => "Reason for closure",
        "reopens_on" => "Reopens on",
        "accepting" => "Taking referrals",
        "waiting_weeks" => "Waiting time (weeks)",
        "places" => "Places",
        "phone_0" | "phone_1" | "phone_2" => "Phone",
        "phone_0_label" | "phone_1_label" | "phone_2_label" => "Phone label",
        other => other,
    }
}

/// `POST /partner/services/{id}/verify`: still accurate.
pub async fn verify(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let p = match posted(&visitor, &path, &body) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let result = state.directory.verify(p.id, p.version, &p.who).await;
    outcome(&visitor, &state, p, result, "verified").await
}

/// `POST /partner/services/{id}/capacity`
pub async fn capacity(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let p = match posted(&visitor, &path, &body) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let mut errors = Errors::default();
    let accepting = match p.form.text("accepting").as_str() {
        "open" => Some(Accepting::Open),
        "waitlist" => Some(Accepting::Waitlist),
        "closed" => Some(Accepting::Closed),
        _ => {
            errors.add(
                "accepting",
                "Choose whether the service is taking referrals",
            );
            None
        }
    };
    let waiting_weeks = number(&p.form, "waiting_weeks", 0, 520, &mut errors);
    let places = number(&p.form, "places", 0, 100_000, &mut errors);
    let (Some(accepting), true) = (accepting, errors.is_empty()) else {
        return show_keep(
            &visitor,
            &state,
            &p.who,
            p.id,
            Some(p.form),
            errors,
            None,
            None,
        )
        .await;
    };
    let capacity = Capacity {
        accepting,
        waiting_weeks: waiting_weeks.map(|w| w as u16),
        places: places.map(|n| n as u32),
        updated_at: None,
    };
    let result = state
        .directory
        .set_capacity(p.id, p.version, &p.who, capacity)
        .await;
    outcome(&visitor, &state, p, result, "capacity").await
}

/// A whole number field between `min` and `max`, or nothing when left empty.
fn number(form: &Form, name: &str, min: i64, max: i64, errors: &mut Errors) -> Option<i64> {
    let raw = form.text(name);
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.add(
                name,
                format!(
                    "{}: enter a whole number from {min} to {max}, or leave it empty",
                    label(name)
                ),
            );
            None
        }
    }
}

/// `POST /partner/services/{id}/status`
pub async fn status(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let p = match posted(&visitor, &path, &body) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let mut errors = Errors::default();
    let status = ServiceStatus::parse(&p.form.text("status"));
    if status.is_none() {
        errors.add("status", "Choose the service's status");
    }
    let closed = status == Some(ServiceStatus::TemporarilyClosed);
    let reason = match p.form.text("reason") {
        r if r.is_empty() || !closed => None,
        r => Text::parse(&r).map_err(|e| errors.add("reason", e)).ok(),
    };
    let reopens_on = match p.form.text("reopens_on") {
        d if d.is_empty() || !closed => None,
        d => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| {
                errors.add(
                    "reopens_on",
                    "Enter the date as year-month-day, for example 2027-01-31",
                )
            })
            .ok(),
    };
    let (Some(status), true) = (status, errors.is_empty()) else {
        return show_keep(
            &visitor,
            &state,
            &p.who,
            p.id,
            Some(p.form),
            errors,
            None,
            None,
        )
        .await;
    };
    let change = StatusChange {
        status,
        reason,
        reopens_on,
    };
    let result = state
        .directory
        .set_status(p.id, p.version, &p.who, change)
        .await;
    outcome(&visitor, &state, p, result, "status").await
}

/// `POST /partner/services/{id}/details`: every detail in the form, as one change.
pub async fn details(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let p = match posted(&visitor, &path, &body) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let mut errors = Errors::default();
    let patch = details_patch(&p.form, &mut errors);
    if !errors.is_empty() {
        return show_keep(
            &visitor,
            &state,
            &p.who,
            p.id,
            Some(p.form),
            errors,
            None,
            None,
        )
        .await;
    }
    let result = state
        .directory
        .patch_service(p.id, p.version, &p.who, &patch)
        .await;
    outcome(&visitor, &state, p, result, "details").await
}

/// The details form as a merge patch; each field is checked with its own type so every
/// error can stand beside its field (the directory checks the whole entry again).
fn details_patch(form: &Form, errors: &mut Errors) -> Value {
    let mut patch = Map::new();
    let route = form.text("referral_route");
    if !["self_referral", "professional_referral", "both"].contains(&route.as_str()) {
        errors.add("referral_route", "Choose who can refer");
    }
    let mut text = |name: &str, required: bool, check: fn(&str) -> Result<(), String>| {
        let v = form.text(name);
        if v.is_empty() {
            if required {
                errors.add(name, format!("{} is required", label(name)));
            }
            return Value::Null;
        }
        match check(&v) {
            Ok(()) => Value::String(v),
            Err(e) => {
                errors.add(name, format!("{}: {e}", label(name)));
                Value::Null
            }
        }
    };
    let name = |s: &str| Name::parse(s).map(drop);
    let long = |s: &str| Text::parse(s).map(drop);
    let web = |s: &str| WebUrl::parse(s).map(drop);
    patch.insert("name".into(), text("name", true, name));
    patch.insert("description".into(), text("description", true, long));
    patch.insert("url".into(), text("url", false, web));
    patch.insert(
        "email".into(),
        text("email", false, |s| Email::parse(s).map(drop)),
    );
    patch.insert(
        "opening_hours_description".into(),
        text("opening_hours_description", false, long),
    );
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let number = text(&format!("phone_{i}"), false, |s| Phone::parse(s).map(drop));
        let description = text(&format!("phone_{i}_label"), false, |s| {
            crate::domain::fields::Label::parse(s).map(drop)
        });
        if !number.is_null() {
            let mut p = json!({ "number": number });
            if !description.is_null() {
                p["description"] = description;
            }
            phones.push(p);
        }
    }
    patch.insert("phones".into(), Value::Array(phones));
    let mut referral = json!({ "route": route });
    let url = text("referral_url", false, web);
    if !url.is_null() {
        referral["url"] = url;
    }
    let instructions = text("referral_instructions", false, long);
    if !instructions.is_null() {
        referral["instructions"] = instructions;
    }
    patch.insert("referral".into(), referral);
    for name in ["minimum_age", "maximum_age"] {
        let n = number(form, name, 0, 120, errors);
        patch.insert(name.into(), n.map_or(Value::Null, Value::from));
    }
    Value::Object(patch)
}

/// `POST /partner/items/{item}/resolve`: an open item dealt with, and how.
pub async fn resolve(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let who = match keeper(&visitor) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let form = Form::parse(&body);
    if !visitor.csrf_ok(&form) {
        return refused(&visitor);
    }
    let note = form.text("note");
    let note = if note.is_empty() {
        "dealt with".to_string()
    } else {
        note
    };
    let back = form.text("back");
    match state.directory.resolve(&path, &note, &who).await {
        Ok(()) | Err(DirectoryError::Busy(_)) => {
            let to = if back.starts_with('/') && !back.starts_with("//") {
                format!("{back}?done=resolved")
            } else {
                "/partner?done=resolved".into()
            };
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to))
                .finish()
        }
        Err(e) => failure(&visitor, e),
    }
}
