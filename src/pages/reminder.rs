//! The page a link in a reminder opens: it says what the click will do and asks to
//! confirm (a GET never changes anything, so mail scanners that follow links change
//! nothing); the POST from it answers, once.

use super::forms::{Errors, Form};
use super::session::{Sessions, Visitor, start_session};
use super::view::Listed;
use super::{Chrome, message, render};
use crate::api::AppState;
use crate::directory::DirectoryError;
use crate::directory::reminders::{Answer, Answered, LinkRefused, OpenedLink, capacity_answer};
use crate::domain::fields::Text;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

/// A partner session opened from "edit the details" lasts this long.
const EDIT_SESSION: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The page a reminder link opens: confirm, change or close the entry.
#[derive(Template)]
#[template(path = "reminder.html")]
pub struct LinkPage {
    /// The page's frame: its title and who is signed in.
    pub chrome: Chrome,
    /// The link's token (its id and signature), posted back to answer.
    pub token: String,
    /// What the link does: accurate, capacity, closed_until, closed or edit.
    pub action: String,
    /// That action in words, e.g. "Everything is still accurate".
    pub action_text: &'static str,
    /// The service the link is about.
    pub service: Listed,
    /// The day the link stops working, in words, e.g. "21 March 2026".
    pub expires: String,
    /// What is wrong with the answer, by field.
    pub errors: Errors,
    /// The answer as typed, shown again with its errors.
    pub form: Form,
}

fn page(
    visitor: &Visitor,
    token: &str,
    opened: OpenedLink,
    errors: Errors,
    form: Form,
) -> LinkPage {
    LinkPage {
        chrome: Chrome::new(
            format!("Check {}", opened.service.content.name.as_str()),
            visitor,
        ),
        token: token.to_string(),
        action: opened.link.action.clone(),
        action_text: opened.action_text,
        expires: opened.link.expires_at.format("%-d %B %Y").to_string(),
        service: Listed::from_service(&opened.service),
        errors,
        form,
    }
}

fn refused(visitor: &Visitor, why: LinkRefused) -> HttpResponse {
    let status = match &why {
        LinkRefused::NotValid => StatusCode::NOT_FOUND,
        LinkRefused::Expired(_) | LinkRefused::Used(_) => StatusCode::GONE,
        LinkRefused::Directory(DirectoryError::Forbidden(_)) => StatusCode::FORBIDDEN,
        LinkRefused::Directory(DirectoryError::NotFound(_)) => StatusCode::NOT_FOUND,
        LinkRefused::Directory(e) => {
            tracing::error!(error = %e, "answering a reminder link");
            return message(
                visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                "This did not work just now",
                "Nothing was changed. Try the link again in a minute.",
            );
        }
    };
    message(visitor, status, "This link cannot be used", why.to_string())
}

/// `GET /r/{token}`
pub async fn get(
    visitor: Visitor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    match state.directory.open_link(&path).await {
        Ok(opened) => render(
            &page(&visitor, &path, opened, Errors::default(), Form::default()),
            StatusCode::OK,
        ),
        Err(why) => refused(&visitor, why),
    }
}

/// Reads the answer the page's form gives for `action`.
fn answer(action: &str, form: &Form, errors: &mut Errors) -> Option<Answer> {
    match action {
        "accurate" => Some(Answer::Accurate),
        "closed" => Some(Answer::Closed),
        "edit" => Some(Answer::Edit),
        "capacity" => {
            let weeks = match form
                .get("waiting_weeks")
                .map(str::trim)
                .filter(|w| !w.is_empty())
            {
                None => None,
                Some(w) => match w.parse::<u16>() {
                    Ok(n) if n <= 520 => Some(n),
                    _ => {
                        errors.add(
                            "waiting_weeks",
                            "Enter the waiting time as a number of weeks, for example 6",
                        );
                        return None;
                    }
                },
            };
            match capacity_answer(form.get("accepting").unwrap_or(""), weeks) {
                Ok(c) => Some(Answer::Capacity(c)),
                Err(_) => {
                    errors.add("accepting", "Choose whether it is taking referrals");
                    None
                }
            }
        }
        "closed_until" => {
            let reason = Text::parse(form.get("reason").unwrap_or("").trim());
            let reopens_on = match form
                .get("reopens_on")
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                None => Ok(None),
                Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map(Some),
            };
            match (reason, reopens_on) {
                (Ok(reason), Ok(reopens_on)) if !reason.as_str().is_empty() => {
                    Some(Answer::ClosedUntil { reopens_on, reason })
                }
                (reason, reopens_on) => {
                    if reason.map_or(true, |r| r.as_str().is_empty()) {
                        errors.add(
                            "reason",
                            "Say why it is closed, for example: staff shortage",
                        );
                    }
                    if reopens_on.is_err() {
                        errors.add("reopens_on", "Enter the date it reopens as year-month-day, for example 2027-01-31, or leave it empty");
                    }
                    None
                }
            }
        }
        _ => None,
    }
}

/// `POST /r/{token}`
pub async fn post(
    visitor: Visitor,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    let opened = match state.directory.open_link(&path).await {
        Ok(o) => o,
        Err(why) => return refused(&visitor, why),
    };
    let mut errors = Errors::default();
    let Some(given) = answer(&opened.link.action, &form, &mut errors) else {
        return render(
            &page(&visitor, &path, opened, errors, form),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    match state.directory.answer_link(&path, given).await {
        Ok(Answered::Changed(service)) => message(
            &visitor,
            StatusCode::OK,
            "Thank you",
            format!(
                "{} is up to date in the directory now: navigators see your answer from their next search.",
                service.content.name.as_str()
            ),
        ),
        Ok(Answered::EditAs(principal, id)) => start_session(
            &visitor,
            &sessions,
            principal,
            EDIT_SESSION,
            &format!("/partner/services/{id}"),
        ),
        Err(LinkRefused::Directory(DirectoryError::Invalid(list))) => {
            let opened = match state.directory.open_link(&path).await {
                Ok(o) => o,
                Err(why) => return refused(&visitor, why),
            };
            for f in list {
                errors.add(f.field, f.message);
            }
            render(
                &page(&visitor, &path, opened, errors, form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(why) => refused(&visitor, why),
    }
}
