//! What search learns from: the search-gaps report and the lexicon's run-time entries.

use super::extract::{Admin, Params, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::LexiconInput;
use crate::domain::parse_body;
use crate::storage::understanding::GAP_DAYS_KEPT;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// `GET /v1/admin/search-gaps`: questions that found nothing or only partial matches,
/// normalised and stripped of anything personal, counted per day, each shown only once
/// asked at least k times.
pub async fn search_gaps(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["days"])?;
    let days = params.int_in("days", 1, GAP_DAYS_KEPT)?.unwrap_or(30) as u32;
    let gaps = state.directory.search_gaps(days).await?;
    Ok(HttpResponse::Ok().json(json!({
        "days": days,
        "min_count": state.search_settings.gap_min_count,
        "gaps": gaps,
    })))
}

/// `GET /v1/admin/lexicon`: the entries administrators added (the shipped files are in
/// `src/understand/lexicon/`).
pub async fn list_lexicon(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let entries = state.directory.lexicon_entries().await?;
    let (phrases, wordings) = state.directory.lexicon_size();
    Ok(HttpResponse::Ok().json(json!({
        "phrases": phrases,
        "wordings": wordings,
        "entries": entries,
    })))
}

/// `POST /v1/admin/lexicon`: adds an entry; searches use it at once.
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
