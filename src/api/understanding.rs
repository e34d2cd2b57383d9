//! What search learns from: the search-gaps report and the lexicon's run-time entries.

use super::extract::{Admin, Params, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::LexiconInput;
use crate::domain::parse_body;
use crate::storage::understanding::GAP_DAYS_KEPT;
use actix_web::{HttpRequest, HttpResponse, web};

/// Questions that found nothing or only partial matches
///
/// Normalised questions with digits, email addresses and capitalised words that could be
/// names taken out, counted per day; a question is shown only once asked at least k times
/// (--gap-min-count, default 3). Nothing else about a search is kept.
#[utoipa::path(get, path = "/v1/admin/search-gaps", security(("bearer" = []), ("apiKey" = [])), params(
    ("days" = Option<u8>, Query, minimum = 1, maximum = 90, description = "Days to look back (default 30)."),
), responses(
    (status = 200, description = "The gaps, most asked first.", body = SearchGaps),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn search_gaps(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["days"])?;
    let days = params.int_in("days", 1, GAP_DAYS_KEPT)?.unwrap_or(30) as u32;
    let gaps = state.directory.search_gaps(days).await?;
    Ok(HttpResponse::Ok().json(SearchGaps {
        days,
        min_count: state.search_settings.gap_min_count,
        gaps,
    }))
}

/// The search-gaps report.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct SearchGaps {
    days: u32,
    /// How many times a question must be asked before it is shown.
    min_count: u32,
    gaps: Vec<crate::storage::understanding::Gap>,
}

/// The lexicon's run-time entries.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct LexiconEntries {
    /// Phrases once alternatives of several words are expanded.
    phrases: usize,
    /// Wordings recognised, every one-word alternative counted.
    wordings: u64,
    entries: Vec<crate::storage::understanding::StoredEntry>,
}

/// The lexicon entries administrators added
///
/// The shipped files are in `src/understand/lexicon/`.
#[utoipa::path(get, path = "/v1/admin/lexicon", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "The entries, oldest first, and how many phrases the whole lexicon holds.", body = LexiconEntries),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn list_lexicon(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let entries = state.directory.lexicon_entries().await?;
    let (phrases, wordings) = state.directory.lexicon_size();
    Ok(HttpResponse::Ok().json(LexiconEntries {
        phrases,
        wordings,
        entries,
    }))
}

/// Add a phrase for a need; searches use it at once
///
/// The phrase is a line in the lexicon's format (src/understand/lexicon/README.md). The
/// entry goes into the audit trail.
#[utoipa::path(post, path = "/v1/admin/lexicon", security(("bearer" = []), ("apiKey" = [])), request_body = LexiconInput, responses(
    (status = 201, description = "Added.", body = crate::storage::understanding::StoredEntry),
    super::doc::Always, super::doc::Restricted, super::doc::WithBody,
))]
pub async fn add_lexicon(
    Admin(by): Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input: LexiconInput = parse_body(&body)?;
    let entry = state.directory.add_lexicon_entry(input, &by).await?;
    Ok(HttpResponse::Created().json(entry))
}
