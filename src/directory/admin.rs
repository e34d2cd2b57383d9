//! What administrators look after: keys, and what link checking found.

use super::{Directory, DirectoryError, KeyInput, issue_key, now};
use crate::domain::access::ApiKey;
use crate::storage::links::CycleRecord;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Hosts listed as failing most.
const WORST_HOSTS: usize = 10;

/// Link checking at a glance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkSummary {
    /// URLs known to the checker.
    pub urls: usize,
    /// URLs by the outcome of their latest check (`ok`, `hard`, `transient`, `unchecked`…).
    #[schema(value_type = BTreeMap<String, usize>)]
    pub by_outcome: BTreeMap<&'static str, usize>,
    /// URLs flagged to navigators, by flag.
    #[schema(value_type = BTreeMap<String, usize>)]
    pub flags: BTreeMap<&'static str, usize>,
    /// Hosts with most failing URLs.
    pub worst_hosts: Vec<HostFailures>,
    /// The last checking cycle: when, how many URLs, what it found.
    #[schema(value_type = Option<Object>)]
    pub last_cycle: Option<CycleRecord>,
}

/// A host and how many of its URLs are failing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HostFailures {
    /// The host name, e.g. `www.example.org`.
    pub host: String,
    /// Its URLs in a run of failures (hard or transient) that no success has ended.
    pub failing_urls: usize,
}

impl Directory {
    /// Every key, without secrets.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn keys(&self) -> Result<Vec<ApiKey>, DirectoryError> {
        Ok(self.store.list_keys().await?)
    }

    /// A new key; its secret is returned only now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_key(&self, input: KeyInput) -> Result<(ApiKey, String), DirectoryError> {
        issue_key(&self.store, input).await
    }

    /// Stops a key working at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_key(&self, id: &str) -> Result<(), DirectoryError> {
        if self.store.revoke_key(id, now()).await? {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(format!("there is no key '{id}'")))
        }
    }

    /// Counts by outcome and flag, the worst hosts, and the last cycle.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn link_summary(&self) -> Result<LinkSummary, DirectoryError> {
        let states = self.store.link_states().await?;
        let mut by_outcome: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut flags: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut failing_by_host: HashMap<String, usize> = HashMap::new();
        for (url, (s, _)) in &states {
            let outcome = s.last_outcome.map_or("unchecked", |o| o.as_str());
            *by_outcome.entry(outcome).or_default() += 1;
            if let Some(f) = s.flag {
                *flags.entry(f.as_str()).or_default() += 1;
            }
            if s.hard_days > 0 || s.transient_days > 0 {
                let host = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                *failing_by_host.entry(host).or_default() += 1;
            }
        }
        let mut worst: Vec<HostFailures> = failing_by_host
            .into_iter()
            .map(|(host, failing_urls)| HostFailures { host, failing_urls })
            .collect();
        worst.sort_by(|a, b| {
            b.failing_urls
                .cmp(&a.failing_urls)
                .then(a.host.cmp(&b.host))
        });
        worst.truncate(WORST_HOSTS);
        Ok(LinkSummary {
            urls: states.len(),
            by_outcome,
            flags,
            worst_hosts: worst,
            last_cycle: self.store.last_cycle().await?,
        })
    }
}
