//! Eligibility, GP practice lookup, and the caller part of a search.

use super::extract::{Params, parse_id};
use super::problem::ApiError;
use crate::domain::Gender;
use crate::geo::eligibility::{Caller, PracticeInfo, assess};
use crate::geo::{Postcode, codes};
use crate::startup::AppState;
use crate::storage::geo::Origin;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;

const MAX_PRACTICE_RESULTS: i64 = 50;

/// Who the caller is, as the query string says: `postcode`, `gp`, `age`, `gender`.
pub struct CallerParams {
    pub postcode: Option<Postcode>,
    pub gp: Option<String>,
    pub age: Option<u8>,
    pub gender: Option<Gender>,
}

impl CallerParams {
    pub fn parse(params: &Params) -> Result<Self, ApiError> {
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
        Ok(Self {
            postcode,
            gp,
            age,
            gender,
        })
    }

    /// True when the caller's place is known well enough to check coverage.
    pub fn has_place(&self) -> bool {
        self.postcode.is_some() || self.gp.is_some()
    }

    pub async fn resolve(self, state: &AppState) -> Result<Caller, ApiError> {
        Ok(state
            .directory
            .store
            .caller(self.postcode, self.gp, self.age, self.gender)
            .await?)
    }
}

/// What the service understood of the caller, returned beside answers.
#[derive(Serialize)]
pub struct CallerView<'a> {
    pub postcode: Option<String>,
    pub gp_practice: Option<&'a PracticeInfo>,
    pub gp_known: Option<bool>,
    pub location: Option<Origin>,
    pub notes: Vec<String>,
}

pub fn caller_view(caller: &Caller, origin: Option<Origin>) -> CallerView<'_> {
    CallerView {
        postcode: caller.postcode.as_ref().map(|p| p.to_string()),
        gp_practice: caller.practice.as_ref(),
        gp_known: caller.gp.as_ref().map(|_| caller.practice.is_some()),
        location: origin,
        notes: caller.notes(),
    }
}

/// `GET /v1/services/{id}/eligibility`: can this service see this caller, and why.
pub async fn service_eligibility(
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["postcode", "gp", "age", "gender"])?;
    let id = parse_id(&path)?;
    let who = CallerParams::parse(&params)?;
    let service = super::services::find_service(&state.directory.store, id).await?;
    let caller = who.resolve(&state).await?;
    let c = &service.content;
    let answer = assess(&c.coverage, c.minimum_age, c.maximum_age, c.gender, &caller);
    let origin = state.directory.store.origin(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({
        "service": {"id": service.id, "name": c.name, "coverage": c.coverage},
        "eligibility": answer,
        "caller": caller_view(&caller, origin),
    })))
}

/// `GET /v1/gp-practices?q=`: find a practice by name, address, postcode or code.
pub async fn find_practices(
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
    let practices = state.directory.store.find_practices(&q, limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "practices": practices })))
}
