//! Finding services for a caller: search with the caller's place, one service's
//! eligibility, GP practice lookup. Every front door (API, pages) asks these.

use super::{Directory, DirectoryError};
use crate::domain::{Gender, Service};
use crate::geo::Postcode;
use crate::geo::eligibility::{Answer, Caller, PracticeInfo, assess};
use crate::search::query::EligibilityFilter;
use crate::search::{SearchRequest, SearchResponse, Sort, Warning};
use crate::storage::access::HistoryEntry;
use crate::storage::geo::{Origin, PracticeSummary};
use serde::Serialize;
use uuid::Uuid;

/// Who the caller is, as a front door read it (all validated, none required).
#[derive(Debug, Clone, Default)]
pub struct CallerInput {
    /// Where the caller lives.
    pub postcode: Option<Postcode>,
    /// A GP practice code, already checked for shape.
    pub gp: Option<String>,
    /// The caller's age in years.
    pub age: Option<u8>,
    /// The caller's gender, checked against each service's `gender`.
    pub gender: Option<Gender>,
}

impl CallerInput {
    /// True when the caller's place is known well enough to check coverage.
    pub fn has_place(&self) -> bool {
        self.postcode.is_some() || self.gp.is_some()
    }
}

/// Where a search is asked from, and what the place may do to the results.
#[derive(Debug, Clone, Default)]
pub struct PlaceInput {
    /// Who the caller is: where they live, their GP practice, age and gender.
    pub who: CallerInput,
    /// Keep services whose coverage cannot be decided for this caller.
    pub include_unknown: bool,
    /// Nearest first instead of by relevance; needs a place whose location is known.
    pub by_distance: bool,
    /// Keep only services within this many km (telephone and online ones always stay).
    pub within_km: Option<f64>,
}

/// What the service understood of the caller, returned beside answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallerView {
    /// The caller's postcode as understood, normalised (`M14 5AB`); null when none was given.
    pub postcode: Option<String>,
    /// The GP practice given, when the reference data knows it.
    pub gp_practice: Option<PracticeInfo>,
    /// Whether the reference data knows the practice given; null when none was given.
    pub gp_known: Option<bool>,
    /// Where distances are measured from; null when no location is known.
    pub location: Option<Origin>,
    /// What to check with the caller: a terminated postcode, a practice no longer active.
    pub notes: Vec<String>,
}

impl CallerView {
    fn new(caller: &Caller, origin: Option<Origin>) -> Self {
        CallerView {
            postcode: caller.postcode.as_ref().map(|p| p.to_string()),
            gp_practice: caller.practice.clone(),
            gp_known: caller.gp.as_ref().map(|_| caller.practice.is_some()),
            location: origin,
            notes: caller.notes(),
        }
    }
}

/// Can one service see one caller, and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EligibilityView {
    /// The service asked about, with its coverage rules.
    pub service: ServiceRef,
    /// The answer, and each check that led to it.
    pub eligibility: Answer,
    /// What was understood of the caller.
    pub caller: CallerView,
}

/// A service named in an answer about it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceRef {
    /// The service's UUID.
    pub id: Uuid,
    /// The service's name.
    pub name: String,
    /// The service's coverage rules, as checked.
    pub coverage: crate::domain::Coverage,
}

/// Changes shown on a service's page, newest first.
const HISTORY_SHOWN: usize = 5;

/// One service as its page shows it.
#[derive(Debug)]
pub struct ServiceDetail {
    /// The record, without its staff-only fields unless the reader is staff.
    pub service: Service,
    /// The warnings search shows beside it (temporarily closed, capacity unknown, …).
    pub warnings: Vec<Warning>,
    /// Whether it can see the caller given; None when no caller details were given.
    pub eligibility: Option<EligibilityView>,
    /// The latest changes (staff only), newest first.
    pub history: Vec<HistoryEntry>,
}

impl Directory {
    /// A service by id, or `NotFound` naming it.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn service(&self, id: Uuid) -> Result<Service, DirectoryError> {
        self.store
            .get_service(id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("there is no service {id}")))
    }

    /// What the reference data knows of this caller, and where distances start.
    async fn caller(&self, who: CallerInput) -> Result<(Caller, Option<Origin>), DirectoryError> {
        let caller = self
            .store
            .caller(who.postcode, who.gp, who.age, who.gender)
            .await?;
        let origin = self.store.origin(&caller).await?;
        Ok((caller, origin))
    }

    /// Searches; with a place, keeps what covers the caller and measures distances.
    #[tracing::instrument(name = "directory.search", skip_all)]
    pub async fn search(
        &self,
        mut request: SearchRequest,
        place: PlaceInput,
    ) -> Result<SearchResponse, DirectoryError> {
        if !place.who.has_place() {
            return Ok(self.index.search(request).await?);
        }
        let (caller, origin) = self.caller(place.who).await?;
        request.origin = origin.map(|o| (o.latitude, o.longitude));
        if place.by_distance || place.within_km.is_some() {
            let Some(o) = origin else {
                let p = caller
                    .postcode
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                return Err(DirectoryError::BadQuery {
                    name: "postcode".into(),
                    detail: format!(
                        "no location is known for '{p}' (a pseudo-postcode, or neither the postcode nor its district is in the loaded reference data), so results cannot be sorted or limited by distance"
                    ),
                });
            };
            let point = (o.latitude, o.longitude);
            if place.by_distance {
                request.sort = Sort::Distance(point);
            }
            request.filters.within = place.within_km.map(|km| (point, km));
        }
        request.filters.eligibility = Some(EligibilityFilter::for_caller(
            &caller,
            place.include_unknown,
        ));
        let view = serde_json::to_value(CallerView::new(&caller, origin)).unwrap_or_default();
        request.caller = Some(caller);
        let mut response = self.index.search(request).await?;
        response.caller = Some(view);
        Ok(response)
    }

    /// Whether one service can see this caller, check by check.
    #[tracing::instrument(name = "directory.eligibility", skip_all, fields(service = %id))]
    pub async fn eligibility(
        &self,
        id: Uuid,
        who: CallerInput,
    ) -> Result<EligibilityView, DirectoryError> {
        let service = self.service(id).await?;
        self.assess(&service, who).await
    }

    async fn assess(
        &self,
        service: &Service,
        who: CallerInput,
    ) -> Result<EligibilityView, DirectoryError> {
        let (caller, origin) = self.caller(who).await?;
        let c = &service.content;
        let eligibility = assess(&c.coverage, c.minimum_age, c.maximum_age, c.gender, &caller);
        Ok(EligibilityView {
            service: ServiceRef {
                id: service.id,
                name: c.name.as_str().to_string(),
                coverage: c.coverage.clone(),
            },
            eligibility,
            caller: CallerView::new(&caller, origin),
        })
    }

    /// Everything a navigator needs to refer to one service: the record (staff fields
    /// only for staff), the warnings search shows, eligibility for a caller when one is
    /// given, and for staff the latest changes.
    #[tracing::instrument(name = "directory.service_detail", skip_all, fields(service = %id))]
    pub async fn service_detail(
        &self,
        id: Uuid,
        who: Option<CallerInput>,
        staff: bool,
    ) -> Result<ServiceDetail, DirectoryError> {
        let service = self.service(id).await?;
        let warnings = self.index.warnings_for(id)?.unwrap_or_default();
        let eligibility = match who {
            Some(w) if w.has_place() || w.age.is_some() || w.gender.is_some() => {
                Some(self.assess(&service, w).await?)
            }
            _ => None,
        };
        let history = if staff {
            let mut h = self.store.history("service", id).await?;
            h.reverse();
            h.truncate(HISTORY_SHOWN);
            h
        } else {
            Vec::new()
        };
        Ok(ServiceDetail {
            service: if staff {
                service
            } else {
                service.without_staff_fields()
            },
            warnings,
            eligibility,
            history,
        })
    }

    /// GP practices whose name, address, postcode or code matches `q`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_practices(
        &self,
        q: &str,
        limit: u32,
    ) -> Result<Vec<PracticeSummary>, DirectoryError> {
        Ok(self.store.find_practices(q, limit).await?)
    }
}
