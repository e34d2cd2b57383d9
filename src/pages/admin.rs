//! Administrators: the review queue with resolve, what link checking found, keys (made,
//! shown once, revoked), and the questions search could not answer.

use super::forms::{Errors, Form};
use super::session::{Visitor, refused, sign_in_first};
use super::{Chrome, message, render};
use crate::api::AppState;
use crate::directory::admin::LinkSummary;
use crate::directory::review::ReviewItem;
use crate::directory::{DirectoryError, KeyInput};
use crate::domain::access::{ApiKey, Principal, Role};
use crate::domain::fields::Name;
use crate::storage::understanding::Gap;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

/// The search-gaps report covers this many days.
const GAP_DAYS: u32 = 30;

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    items: Vec<ReviewItem>,
    links: LinkSummary,
    keys: Vec<ApiKey>,
    gaps: Vec<Gap>,
    gap_days: u32,
    /// A key just made: its secret, shown this once.
    secret: Option<(String, String)>,
    form: Form,
    errors: Errors,
    done: Option<&'static str>,
}

fn admin(visitor: &Visitor) -> Result<Principal, HttpResponse> {
    match visitor.principal() {
        None => Err(sign_in_first(visitor)),
        Some(p) if p.role != Role::Admin => Err(message(
            visitor,
            StatusCode::FORBIDDEN,
            "For administrators only",
            "Sign in with an administrator key to see this page.",
        )),
        Some(p) => Ok(p.clone()),
    }
}

/// `GET /admin`
pub async fn get(req: HttpRequest, visitor: Visitor, state: web::Data<AppState>) -> HttpResponse {
    let who = match admin(&visitor) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let done = match Form::parse(req.query_string().as_bytes()).get("done") {
        Some("resolved") => Some("Marked as dealt with."),
        Some("revoked") => Some("The key is revoked: it stopped working at once."),
        _ => None,
    };
    show(
        &visitor,
        &state,
        &who,
        None,
        Form::default(),
        Errors::default(),
        done,
    )
    .await
}

async fn show(
    visitor: &Visitor,
    state: &AppState,
    who: &Principal,
    secret: Option<(String, String)>,
    form: Form,
    errors: Errors,
    done: Option<&'static str>,
) -> HttpResponse {
    let d = &state.directory;
    let loaded = async {
        Ok::<_, DirectoryError>((
            d.review_queue(who).await?,
            d.link_summary().await?,
            d.keys().await?,
            d.search_gaps(GAP_DAYS).await?,
        ))
    }
    .await;
    let (items, links, keys, gaps) = match loaded {
        Ok(all) => all,
        Err(e) => {
            tracing::error!(error = %e, "administration page");
            return message(
                visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                "This page is not available just now",
                "The directory did not answer; try again in a moment.",
            );
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &AdminPage {
            chrome: Chrome::new("Administration", visitor),
            items,
            links,
            keys,
            gaps,
            gap_days: GAP_DAYS,
            secret,
            form,
            errors,
            done,
        },
        status,
    )
}

/// `POST /admin/keys`: a new key, its secret shown once on the page that answers.
pub async fn create_key(
    visitor: Visitor,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let who = match admin(&visitor) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let form = Form::parse(&body);
    if !visitor.csrf_ok(&form) {
        return refused(&visitor);
    }
    let mut errors = Errors::default();
    let name = Name::parse(&form.text("key_name"))
        .map_err(|e| errors.add("key_name", format!("Name: {e}")))
        .ok();
    let role = Role::parse(&form.text("role"));
    if role.is_none() {
        errors.add("role", "Choose what the key may do");
    }
    let organization_id = match form.text("organization_id") {
        o if o.is_empty() => None,
        o => uuid::Uuid::parse_str(&o)
            .map_err(|_| {
                errors.add(
                    "organization_id",
                    "Organisation: paste the organisation's id, e.g. 0190a1b2-…",
                )
            })
            .ok(),
    };
    let expires_in_days = match form.text("expires_in_days") {
        d if d.is_empty() => None,
        // The range is the directory's to check (its error lands beside the field).
        d => d.parse::<u32>().ok().or_else(|| {
            errors.add(
                "expires_in_days",
                "Expires: a whole number of days, or empty for a key that does not expire",
            );
            None
        }),
    };
    let (Some(name), Some(role), true) = (name, role, errors.is_empty()) else {
        return show(&visitor, &state, &who, None, form, errors, None).await;
    };
    let input = KeyInput {
        name,
        role,
        organization_id,
        expires_in_days,
    };
    match state.directory.issue_key(input).await {
        Ok((key, secret)) => {
            show(
                &visitor,
                &state,
                &who,
                Some((key.name, secret)),
                Form::default(),
                errors,
                None,
            )
            .await
        }
        Err(DirectoryError::Invalid(list)) => {
            for f in list {
                errors.add(f.field, f.message);
            }
            show(&visitor, &state, &who, None, form, errors, None).await
        }
        Err(e) => {
            tracing::error!(error = %e, "creating a key from the page");
            errors.add("key_name", "The key could not be made just now; try again.");
            show(&visitor, &state, &who, None, form, errors, None).await
        }
    }
}

/// `POST /admin/keys/{id}/revoke`
pub async fn revoke_key(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if let Err(page) = admin(&visitor) {
        return page;
    }
    let form = Form::parse(&body);
    if !visitor.csrf_ok(&form) {
        return refused(&visitor);
    }
    match state.directory.revoke_key(&path).await {
        Ok(()) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/admin?done=revoked#keys"))
            .finish(),
        Err(DirectoryError::NotFound(m)) => {
            message(&visitor, StatusCode::NOT_FOUND, "No such key", m)
        }
        Err(e) => {
            tracing::error!(error = %e, "revoking a key from the page");
            message(
                &visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                "The key was not revoked",
                "The directory did not answer; try again in a moment.",
            )
        }
    }
}
