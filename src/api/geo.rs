//! Eligibility, GP practice lookup, and the caller part of a search.

use super::extract::{Params, Reader, parse_id, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::CallerInput;
use crate::domain::Gender;
use crate::geo::{Postcode, codes};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

const MAX_PRACTICE_RESULTS: i64 = 50;

/// Who the caller is, as the query string says: `postcode`, `gp`, `age`, `gender`.
pub fn caller_input(params: &Params) -> Result<CallerInput, ApiError> {
    let postcode = params
        .one("postcode")?
        .map(|p| Postcode::parse(p).map_err(|e| ApiError::parameter("postcode", e)))
        .transpose()?;
    let gp = params
        .one("gp")?
        .map(|g| codes::parse_gp_practice(g).map_err(|e| ApiError::parameter("gp", e)))
        .transpose()?;
    let age = params.int_in("age", 0, 120)?.map(|a| a as u8);
    let gender = match params.one("gender")? {
        None => None,
        Some("any") => Some(Gender::Any),
        Some("female") => Some(Gender::Female),
        Some("male") => Some(Gender::Male),
        Some(v) => {
            return Err(ApiError::parameter(
                "gender",
                format!("'{v}' is not a valid gender: use female, male or any"),
            ));
        }
    };
    Ok(CallerInput {
        postcode,
        gp,
        age,
        gender,
    })
}

/// `GET /v1/services/{id}/eligibility`: can this service see this caller, and why.
pub async fn service_eligibility(
    _: Reader,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["postcode", "gp", "age", "gender"])?;
    let id = parse_id(&path)?;
    let who = caller_input(&params)?;
    let view = state.directory.eligibility(id, who).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /v1/services/{id}/eligibility` with the same parameters as a JSON body, so the
/// caller's postcode and practice stay out of URLs (and so out of every log on the way).
pub async fn service_eligibility_posted(
    reader: Reader,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let params = Params::from_json_body(&body)?;
    service_eligibility(reader, state, path, params).await
}

/// `POST /v1/gp-practices` with `{"q", "limit"}`: the lookup without the words in a URL.
pub async fn find_practices_posted(
    reader: Reader,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let params = Params::from_json_body(&body)?;
    find_practices(reader, state, params).await
}

/// `GET /v1/gp-practices?q=`: find a practice by name, address, postcode or code.
pub async fn find_practices(
    _: Reader,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["q", "limit"])?;
    let q = params.one("q")?.unwrap_or("").trim().to_string();
    if q.chars().count() < 2 || q.chars().count() > 100 {
        return Err(ApiError::parameter(
            "q",
            "'q' must be 2 to 100 characters: part of a practice's name, address or postcode, or its ODS code",
        ));
    }
    let limit = params
        .int_in("limit", 1, MAX_PRACTICE_RESULTS)?
        .unwrap_or(10) as u32;
    let practices = state.directory.find_practices(&q, limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "practices": practices })))
}
