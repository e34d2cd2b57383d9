//! The shortlist page: a frame the page's script fills from this tab's storage.

use super::session::Visitor;
use super::{Chrome, render};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

#[derive(Template)]
#[template(path = "shortlist.html")]
struct ShortlistPage {
    chrome: Chrome,
}

/// `GET /shortlist`
pub async fn get(visitor: Visitor) -> HttpResponse {
    render(
        &ShortlistPage {
            chrome: Chrome::new("Shortlist", &visitor),
        },
        StatusCode::OK,
    )
}
