//! Eligibility, GP practice lookup, and the caller part of a search.

use super::extract::{Params, Reader, parse_id, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::CallerInput;
use crate::domain::Gender;
use crate::geo::{Postcode, codes};
use actix_web::{HttpRequest, HttpResponse, web};

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

/// Can this service see this caller, and why
#[utoipa::path(get, path = "/v1/services/{id}/eligibility", params(super::doc::IdPath, CallerParameters), responses(
    (status = 200, description = "The answer with its reason, and what was understood of the caller.", body = crate::directory::EligibilityView),
    super::doc::Always, super::doc::OneRecord,
))]
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

/// The same question with the caller's details in a JSON body, kept out of URLs and logs
///
/// The body has the GET's parameters as fields, so the caller's postcode and practice
/// stay out of URLs (and so out of every log on the way).
#[utoipa::path(post, path = "/v1/services/{id}/eligibility", params(super::doc::IdPath), request_body = inline(CallerParameters), responses(
    (status = 200, description = "The answer with its reason, and what was understood of the caller.", body = crate::directory::EligibilityView),
    super::doc::Always, super::doc::OneRecord, super::doc::WithBody,
))]
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

/// The same lookup with the words in a JSON body, kept out of URLs and logs
#[utoipa::path(post, path = "/v1/gp-practices", request_body = inline(PracticeParameters), responses(
    (status = 200, description = "Matching practices, the exact code first, then active ones.", body = inline(Practices)),
    super::doc::Always, super::doc::WithBody,
))]
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

/// Find a GP practice by name, address, postcode or ODS code (for autocomplete)
#[utoipa::path(get, path = "/v1/gp-practices", params(PracticeParameters), responses(
    (status = 200, description = "Matching practices, the exact code first, then active ones.", body = inline(Practices)),
    super::doc::Always,
))]
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
    Ok(HttpResponse::Ok().json(Practices { practices }))
}

/// Practices found.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Practices {
    practices: Vec<crate::storage::geo::PracticeSummary>,
}

/// Who the caller is, as [`caller_input`] reads it.
#[derive(serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `caller_input` reads.
struct CallerParameters {
    postcode: Option<super::doc::Postcode>,
    gp: Option<super::doc::GpCode>,
    #[param(minimum = 0, maximum = 120)]
    #[schema(minimum = 0, maximum = 120)]
    age: Option<u8>,
    gender: Option<Gender>,
}

/// A practice lookup, as [`find_practices`] reads it.
#[derive(serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `find_practices` reads.
struct PracticeParameters {
    /// Every word must appear in the name, address, postcode or code.
    #[param(min_length = 2, max_length = 100)]
    #[schema(min_length = 2, max_length = 100)]
    q: String,
    #[param(minimum = 1, maximum = 50, default = 10)]
    #[schema(minimum = 1, maximum = 50, default = 10)]
    limit: Option<u8>,
}
