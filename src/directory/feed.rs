//! What a published feed lists: every service anyone may see (defunct ones left out),
//! in numbered pages, filtered by organisation, category, age, date, words and place.

use super::{CallerInput, Directory, DirectoryError, PlaceInput};
use crate::domain::{Organization, Service, ServiceStatus};
use crate::geo::Postcode;
use crate::search::SearchRequest;
use crate::search::query::Filters;
use crate::storage::ServiceFilter;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// The most a search by words or place answers (its best matches, by relevance).
pub const FEED_SEARCH_LIMIT: usize = 1000;

/// A feed's question.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    /// Words, answered by the search index, best first.
    pub search: Option<String>,
    /// Taxonomy ids to keep services of (a feed gives one at most); empty for any.
    pub categories: Vec<String>,
    /// Only this organisation's services.
    pub organization_id: Option<Uuid>,
    /// Only services changed after this time.
    pub modified_after: Option<DateTime<Utc>>,
    /// Services open to someone this old or older.
    pub open_from_age: Option<u8>,
    /// Services open to someone this old or younger.
    pub open_to_age: Option<u8>,
    /// Services covering this postcode (coverage that cannot be decided is kept).
    pub postcode: Option<Postcode>,
    /// With `postcode`: only services within this many metres of its centre.
    pub proximity_m: Option<f64>,
    /// From 0.
    pub offset: u64,
    /// Services per page.
    pub limit: u32,
}

impl FeedQuery {
    /// True when words or a place order the answer (the search index answers it).
    pub fn by_relevance(&self) -> bool {
        self.search.is_some() || self.postcode.is_some()
    }

    fn filter(&self) -> ServiceFilter {
        ServiceFilter {
            organization_id: self.organization_id,
            excluded_statuses: vec![ServiceStatus::Defunct],
            categories: self.categories.clone(),
            modified_after: self.modified_after,
            open_from_age: self.open_from_age,
            open_to_age: self.open_to_age,
            ..ServiceFilter::default()
        }
    }
}

/// One page of a feed, and how many match in all.
pub struct FeedPage {
    /// This page's services, in id order or, with words or a place, by relevance.
    pub services: Vec<Service>,
    /// How many services match in all, across every page.
    pub total: u64,
}

/// What a feed shows: everything but services closed for good.
const FEED_STATUSES: &[ServiceStatus] = &[
    ServiceStatus::Active,
    ServiceStatus::TemporarilyClosed,
    ServiceStatus::Inactive,
];

impl Directory {
    /// A page of the feed's services. Without words or a place, every match in id order;
    /// with them, the best `FEED_SEARCH_LIMIT` matches by relevance.
    #[tracing::instrument(name = "directory.feed_services", skip_all)]
    pub async fn feed_services(&self, q: FeedQuery) -> Result<FeedPage, DirectoryError> {
        let filter = q.filter();
        if !q.by_relevance() {
            let (services, total) = self.store.page_services(&filter, q.offset, q.limit).await?;
            return Ok(FeedPage { services, total });
        }
        let request = SearchRequest {
            q: q.search.clone().unwrap_or_default(),
            filters: Filters {
                categories: q.categories.clone(),
                statuses: FEED_STATUSES.to_vec(),
                ..Filters::default()
            },
            limit: FEED_SEARCH_LIMIT,
            ..SearchRequest::default()
        };
        let place = PlaceInput {
            who: CallerInput {
                postcode: q.postcode.clone(),
                ..CallerInput::default()
            },
            include_unknown: true,
            by_distance: false,
            within_km: q.proximity_m.map(|m| m / 1000.0),
        };
        let found = self.search(request, place).await?;
        let ids: Vec<Uuid> = found
            .hits
            .iter()
            .filter_map(|h| {
                serde_json::from_str::<serde_json::Value>(h.service.get())
                    .ok()
                    .and_then(|v| v["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()))
            })
            .collect();
        let mut by_id: HashMap<Uuid, Service> = self
            .store
            .get_services(&ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let keep = |s: &Service| {
            let c = &s.content;
            filter
                .organization_id
                .is_none_or(|o| o == s.organization.id)
                && filter
                    .modified_after
                    .is_none_or(|t| s.meta.last_modified > t)
                && filter
                    .open_from_age
                    .is_none_or(|a| c.maximum_age.is_none_or(|m| m >= a))
                && filter
                    .open_to_age
                    .is_none_or(|a| c.minimum_age.is_none_or(|m| m <= a))
        };
        let matching: Vec<Service> = ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .filter(|s| keep(s))
            .collect();
        let total = matching.len() as u64;
        let services = matching
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(q.limit as usize)
            .collect();
        Ok(FeedPage { services, total })
    }

    /// The next `limit` services of a feed without words or place, in id order after
    /// `after`: how a whole feed is streamed, a chunk at a time, however large.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn feed_after(
        &self,
        q: &FeedQuery,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Service>, DirectoryError> {
        Ok(self.store.list_services(&q.filter(), after, limit).await?)
    }

    /// A page of organisations (retired ones left out), and how many there are.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn feed_organizations(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Organization>, u64), DirectoryError> {
        Ok(self.store.page_organizations(offset, limit).await?)
    }

    /// An organisation and the services it runs that a feed shows.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn feed_organization(
        &self,
        id: Uuid,
    ) -> Result<(Organization, Vec<Service>), DirectoryError> {
        let org = self
            .store
            .get_organization(id)
            .await?
            .filter(|o| !o.retired)
            .ok_or_else(|| DirectoryError::NotFound(format!("there is no organisation {id}")))?;
        let filter = ServiceFilter {
            organization_id: Some(id),
            excluded_statuses: vec![ServiceStatus::Defunct],
            ..ServiceFilter::default()
        };
        let (services, _) = self.store.page_services(&filter, 0, 1000).await?;
        Ok((org, services))
    }

    /// A service a feed shows, or `NotFound` (closed for good counts as gone).
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn feed_service(&self, id: Uuid) -> Result<Service, DirectoryError> {
        let s = self.service(id).await?;
        if s.content.status == ServiceStatus::Defunct {
            return Err(DirectoryError::NotFound(format!(
                "there is no service {id} in the feed (it has closed for good)"
            )));
        }
        Ok(s)
    }
}
