//! Link checking: a cycle visits services' websites and referral URLs politely, keeps
//! every result, and turns repeated failures into flags that search shows as warnings.
//!
//! What lives here (may import `domain` and `storage`, where results are kept; never
//! `search`, `directory` or the front doors): `checker` (one polite request and what it
//! found), `policy` (when a run of failures becomes a flag), and the cycle in this file.

pub mod checker;
pub mod policy;

use crate::domain::{Service, ServiceStatus};
use crate::storage::links::CycleRecord;
use crate::storage::{ServiceFilter, Store, ts};
use checker::{CheckResult, Checker};
use chrono::Utc;
use policy::{LinkPolicy, LinkState};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// The lease that lets one replica run a cycle at a time.
pub const LEASE: &str = "link-check";

/// A service's URLs worth checking: its website and its referral form.
pub fn service_urls(s: &Service) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(u) = &s.content.url {
        out.push(("website", u.as_str().to_string()));
    }
    if let Some(u) = &s.content.referral.url
        && out.iter().all(|(_, x)| x != u.as_str())
    {
        out.push(("referral", u.as_str().to_string()));
    }
    out
}

/// What a cycle did.
#[derive(Debug, Default, Serialize)]
pub struct CycleReport {
    /// URLs checked in this cycle.
    pub urls: usize,
    /// Checks by finding (`ok`, `not_found`, `timeout`, …).
    pub by_finding: BTreeMap<String, usize>,
    /// Checks by outcome (`ok`, `moved`, `hard`, `transient`, `unverifiable`).
    pub by_outcome: BTreeMap<String, usize>,
    /// URLs whose flag changed, with the new flag (`null` when cleared).
    pub flag_changes: Vec<(String, Option<&'static str>)>,
    /// How long the cycle took, in seconds.
    pub seconds: f64,
}

/// Which URLs a cycle visits: every URL never checked or in a failing run, and enough of
/// the healthy ones, oldest check first, that each is seen at least every `spread_days`.
fn due(
    urls: &[String],
    states: &HashMap<String, (LinkState, String)>,
    spread_days: u32,
) -> Vec<String> {
    let cutoff = ts(&(Utc::now() - chrono::Duration::days(i64::from(spread_days.max(1)))));
    let mut out = Vec::new();
    let mut healthy: Vec<(&String, &String)> = Vec::new();
    for u in urls {
        match states.get(u) {
            None => out.push(u.clone()),
            Some((s, _)) if s.hard_days > 0 || s.transient_days > 0 => out.push(u.clone()),
            Some((_, checked)) => healthy.push((u, checked)),
        }
    }
    healthy.sort_by(|a, b| a.1.cmp(b.1));
    let share = healthy.len().div_ceil(spread_days.max(1) as usize);
    let overdue = healthy
        .iter()
        .filter(|(_, c)| c.as_str() <= cutoff.as_str())
        .count();
    out.extend(
        healthy
            .into_iter()
            .take(share.max(overdue))
            .map(|(u, _)| u.clone()),
    );
    out
}

/// Runs one cycle if this holder gets the lease; `None` when another replica is running
/// one. `each` sees every result (for a progress bar).
pub async fn run_cycle(
    store: &Store,
    checker: &Arc<Checker>,
    policy: &LinkPolicy,
    spread_days: u32,
    holder: &str,
    each: impl Fn(&CheckResult) + Send + Sync + 'static,
) -> anyhow::Result<Option<CycleReport>> {
    let started = Utc::now();
    let lease_for = chrono::Duration::hours(12);
    if !store
        .take_lease(LEASE, holder, started, started + lease_for)
        .await?
    {
        return Ok(None);
    }
    let result = cycle(store, checker, policy, spread_days, holder, each).await;
    store.release_lease(LEASE, holder).await?;
    result.map(Some)
}

async fn cycle(
    store: &Store,
    checker: &Arc<Checker>,
    policy: &LinkPolicy,
    spread_days: u32,
    holder: &str,
    each: impl Fn(&CheckResult) + Send + Sync + 'static,
) -> anyhow::Result<CycleReport> {
    let started = Utc::now();
    let clock = std::time::Instant::now();
    let mut services_by_url: HashMap<String, Vec<Uuid>> = HashMap::new();
    let filter = ServiceFilter {
        statuses: vec![
            ServiceStatus::Active,
            ServiceStatus::TemporarilyClosed,
            ServiceStatus::Inactive,
        ],
        ..ServiceFilter::default()
    };
    let mut after = None;
    loop {
        let page = store.list_services(&filter, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for s in &page {
            for (_, u) in service_urls(s) {
                services_by_url.entry(u).or_default().push(s.id);
            }
        }
    }
    let mut urls: Vec<String> = services_by_url.keys().cloned().collect();
    urls.sort();
    let mut states = store.link_states().await?;
    let todo = due(&urls, &states, spread_days);
    let results = checker.check_all(todo, each).await;
    let today = Utc::now().date_naive();
    let mut report = CycleReport {
        urls: results.len(),
        ..CycleReport::default()
    };
    let mut touched = Vec::new();
    for r in &results {
        let (mut state, _) = states.remove(&r.url).unwrap_or_default();
        let before = state.flag;
        policy::apply(&mut state, r, today, policy);
        store.record_check(r, &state, Utc::now()).await?;
        metrics::counter!("signpost_link_checks_total", "outcome" => r.outcome.as_str())
            .increment(1);
        *report
            .by_outcome
            .entry(r.outcome.as_str().into())
            .or_default() += 1;
        *report.by_finding.entry(r.finding.into()).or_default() += 1;
        if state.flag != before {
            report
                .flag_changes
                .push((r.url.clone(), state.flag.map(|f| f.as_str())));
            touched.extend(services_by_url.get(&r.url).into_iter().flatten().copied());
        }
    }
    // Services whose flags changed are re-indexed, so search shows the warning at once.
    touched.sort();
    touched.dedup();
    store.touch_services(&touched).await?;
    report.seconds = clock.elapsed().as_secs_f64();
    store
        .record_cycle(&CycleRecord {
            holder: holder.to_string(),
            started_at: ts(&started),
            finished_at: ts(&Utc::now()),
            urls: results.len() as i64,
            duration_ms: (report.seconds * 1000.0) as i64,
        })
        .await?;
    Ok(report)
}
