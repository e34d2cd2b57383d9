//! The web pages: a second front door over the directory's use cases, for navigators,
//! practitioners, partners and administrators. Server-rendered HTML (askama templates in
//! `templates/`), forms that work without JavaScript, and assets served by the binary.
//!
//! May import: `directory`, `domain`, `geo`, `search` types, and `api` for the parsing
//! both doors share (query parameters, the search request). Nothing imports `pages`.
//!
//! Privacy: the caller's words, postcode, GP and age travel in POST bodies, never in a
//! URL; pages about a caller are sent with `Cache-Control: no-store`.

// A page handler's early return is the page to answer with instead (`Err(page)`), made
// once per request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod forms;
pub mod partner;
pub mod reminder;
pub mod search;
pub mod service;
pub mod session;
pub mod shortlist;
pub mod view;

use crate::domain::access::Role;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use session::Visitor;

/// The stylesheet, served by the binary itself.
const SITE_CSS: &str = include_str!("../../assets/site.css");
/// The one script: shortlist, GP suggestions, bookmarkable address bar.
const SITE_JS: &str = include_str!("../../assets/site.js");

/// Registers the pages and their assets.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(search::get))
            .route(web::post().to(search::post)),
    )
    .service(
        web::resource("/services/{id}")
            .route(web::get().to(service::get))
            .route(web::post().to(service::post)),
    )
    .service(web::resource("/services/{id}/report").route(web::post().to(service::report)))
    .service(web::resource("/partner").route(web::get().to(partner::list)))
    .service(web::resource("/partner/contacts").route(web::post().to(partner::contacts)))
    .service(web::resource("/partner/services/{id}").route(web::get().to(partner::keep)))
    .service(web::resource("/partner/services/{id}/verify").route(web::post().to(partner::verify)))
    .service(
        web::resource("/partner/services/{id}/capacity").route(web::post().to(partner::capacity)),
    )
    .service(web::resource("/partner/services/{id}/status").route(web::post().to(partner::status)))
    .service(
        web::resource("/partner/services/{id}/details").route(web::post().to(partner::details)),
    )
    .service(web::resource("/partner/items/{item}/resolve").route(web::post().to(partner::resolve)))
    .service(web::resource("/admin").route(web::get().to(admin::get)))
    .service(web::resource("/admin/keys").route(web::post().to(admin::create_key)))
    .service(web::resource("/admin/keys/{id}/revoke").route(web::post().to(admin::revoke_key)))
    .service(
        web::resource("/r/{token}")
            .route(web::get().to(reminder::get))
            .route(web::post().to(reminder::post)),
    )
    .service(web::resource("/shortlist").route(web::get().to(shortlist::get)))
    .service(
        web::resource("/sign-in")
            .route(web::get().to(session::sign_in_page))
            .route(web::post().to(session::sign_in)),
    )
    .service(web::resource("/sign-out").route(web::post().to(session::sign_out)))
    .service(web::resource("/assets/site.css").route(web::get().to(css)))
    .service(web::resource("/assets/site.js").route(web::get().to(js)));
}

async fn css() -> HttpResponse {
    asset("text/css; charset=utf-8", SITE_CSS)
}

async fn js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SITE_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// What every page's frame shows: the title and who is signed in.
pub struct Chrome {
    /// The page's title, shown in the browser tab before "– signpost".
    pub title: String,
    /// Who is signed in; None for a visitor who is not.
    pub staff: Option<StaffView>,
    /// The session's token for forms that change something (empty when signed out).
    pub csrf: String,
}

/// The signed-in member of staff, as the frame shows them.
pub struct StaffView {
    /// Their role in words: administrator, partner or navigator.
    pub role: &'static str,
    /// True for an administrator: the frame links to Administration.
    pub admin: bool,
    /// True for a partner: the frame links to their services.
    pub partner: bool,
}

impl Chrome {
    /// The page's frame for `visitor`, titled `title`.
    pub fn new(title: impl Into<String>, visitor: &Visitor) -> Self {
        Chrome {
            title: title.into(),
            staff: visitor.principal().map(|p| StaffView {
                role: match p.role {
                    Role::Admin => "administrator",
                    Role::Partner => "partner",
                    Role::Navigator => "navigator",
                },
                admin: p.role == Role::Admin,
                partner: p.role == Role::Partner,
            }),
            csrf: visitor.csrf().to_string(),
        }
    }
}

/// Renders a page; `private` pages (anything about a caller) are never stored.
pub fn render(page: &impl Template, status: actix_web::http::StatusCode) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown; this has been logged.")
        }
    }
}

/// A page that says what went wrong in words (unknown service, not allowed, …).
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// The page's frame: its title and who is signed in.
    pub chrome: Chrome,
    /// What went wrong, as the page's heading.
    pub heading: String,
    /// What went wrong in words, and what to do.
    pub text: String,
}

/// Shows a message page with a status.
pub fn message(
    visitor: &Visitor,
    status: actix_web::http::StatusCode,
    heading: &str,
    text: impl Into<String>,
) -> HttpResponse {
    render(
        &MessagePage {
            chrome: Chrome::new(heading, visitor),
            heading: heading.to_string(),
            text: text.into(),
        },
        status,
    )
}
