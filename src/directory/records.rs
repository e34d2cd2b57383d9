//! Reading records and the workings behind them (one record, lists, history, link
//! checks), and the state of the store and index that operators watch. Front doors read
//! through these, never the store or the index themselves.

use super::{Directory, DirectoryError};
use crate::domain::access::{Principal, Role};
use crate::domain::{Organization, Service};
use crate::links::checker::Checker;
use crate::links::policy::{LinkPolicy, LinkState};
use crate::links::{CycleReport, service_urls};
use crate::search::RebuildReport;
use crate::storage::ServiceFilter;
use crate::storage::access::HistoryEntry;
use crate::storage::links::StoredCheck;
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

/// One URL of a service and what checking it found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UrlChecks {
    /// The URL as the record gives it.
    pub url: String,
    /// Where the URL sits on the record (`url`, `organization.url`, …).
    pub kind: &'static str,
    /// Runs of failures by day, flag, evidence, suggested new URL.
    #[schema(value_type = Option<Object>)]
    pub state: Option<LinkState>,
    /// When it was last checked, as an RFC 3339 time (UTC); null if never.
    pub last_checked: Option<String>,
    /// The latest checks, newest first, each with outcome, finding, status and the
    /// redirect hops.
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<StoredCheck>,
}

/// How the index stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndexState {
    /// Services in the search index.
    pub documents: u64,
    /// The last change-log sequence the index has applied.
    pub applied_seq: i64,
    /// Changes written but not yet searchable here.
    pub lag_changes: i64,
    /// How long the oldest of them has waited, in seconds (0 when none wait).
    pub lag_seconds: f64,
}

impl Directory {
    /// The service, if this staff key may see its workings: partners only their own.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn service_for(&self, who: &Principal, id: Uuid) -> Result<Service, DirectoryError> {
        let service = self.service(id).await?;
        if who.role == Role::Partner && !who.may_edit(service.organization.id) {
            return Err(DirectoryError::Forbidden(
                "this key may only see its own organisation's services".into(),
            ));
        }
        Ok(service)
    }

    /// The organisation with this id.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn organization(&self, id: Uuid) -> Result<Organization, DirectoryError> {
        self.store
            .get_organization(id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("there is no organisation {id}")))
    }

    /// Services matching `filter`, in id order after `after`, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_services(
        &self,
        filter: &ServiceFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Service>, DirectoryError> {
        Ok(self.store.list_services(filter, after, limit).await?)
    }

    /// Organisations in id order after `after`, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_organizations(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Organization>, DirectoryError> {
        Ok(self.store.list_organizations(after, limit).await?)
    }

    /// A service's history of changes, for staff who may see it.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn service_history(
        &self,
        who: &Principal,
        id: Uuid,
    ) -> Result<Vec<HistoryEntry>, DirectoryError> {
        self.service_for(who, id).await?;
        Ok(self.store.history("service", id).await?)
    }

    /// Each URL of a service with its state and at most `per_url` latest checks.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn service_link_checks(
        &self,
        who: &Principal,
        id: Uuid,
        per_url: i64,
    ) -> Result<Vec<UrlChecks>, DirectoryError> {
        let service = self.service_for(who, id).await?;
        let states = self.store.link_states().await?;
        let mut urls = Vec::new();
        for (kind, url) in service_urls(&service) {
            let checks = self
                .store
                .link_checks(std::slice::from_ref(&url), per_url)
                .await?;
            let (state, last_checked) = match states.get(&url) {
                Some((s, at)) => (Some(s.clone()), Some(at.clone())),
                None => (None, None),
            };
            urls.push(UrlChecks {
                url,
                kind,
                state,
                last_checked,
                checks,
            });
        }
        Ok(urls)
    }

    /// Runs a link-check cycle if this holder gets the lease (`None` while another runs).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn check_links(
        &self,
        checker: &Arc<Checker>,
        policy: &LinkPolicy,
        spread_days: u32,
        holder: &str,
    ) -> anyhow::Result<Option<CycleReport>> {
        crate::links::run_cycle(&self.store, checker, policy, spread_days, holder, |_| {}).await
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.store.backend_name()
    }

    /// Whether the database answers.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.store.ping().await
    }

    /// The index's size and progress, and how far it is behind the database.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn index_state(&self) -> Result<IndexState, DirectoryError> {
        let applied_seq = self.index.applied();
        let (lag_changes, lag_seconds) = match self.store.first_change_after(applied_seq).await? {
            None => (0, 0.0),
            Some((first, at)) => {
                let last = self.store.last_change().await?;
                let waited = chrono::DateTime::parse_from_rfc3339(&at)
                    .map(|t| (chrono::Utc::now() - t.to_utc()).num_milliseconds() as f64 / 1e3)
                    .unwrap_or(0.0);
                (last - first + 1, waited.max(0.0))
            }
        };
        Ok(IndexState {
            documents: self.index.num_docs(),
            applied_seq,
            lag_changes,
            lag_seconds,
        })
    }

    /// Builds the index again from the database.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rebuild_index(&self) -> Result<RebuildReport, DirectoryError> {
        Ok(self.index.rebuild().await?)
    }

    /// The lexicon in use: its phrases and the wordings they stand for.
    pub fn lexicon_size(&self) -> (usize, u64) {
        let lexicon = self.index.lexicon();
        (lexicon.phrase_count(), lexicon.wording_count())
    }

    /// Lets the index writer commit what it has applied, then closes the database.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        self.index.shutdown().await;
        self.store.close().await;
    }
}
