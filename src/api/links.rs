//! What link checking found: per service, and a summary for administrators.

use super::extract::{Admin, Staff, parse_id};
use super::problem::ApiError;
use crate::links::service_urls;
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// Checks kept per URL in an answer.
const HISTORY: i64 = 50;

/// `GET /v1/services/{id}/link-checks`: each URL's state and its latest checks.
pub async fn service_link_checks(
    Staff(who): Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let store = &state.directory.store;
    let service = super::services::find_service_for(store, &who, id).await?;
    let states = store.link_states().await?;
    let mut urls = Vec::new();
    for (kind, url) in service_urls(&service) {
        let checks = store
            .link_checks(std::slice::from_ref(&url), HISTORY)
            .await?;
        let (link_state, last_checked) = match states.get(&url) {
            Some((s, at)) => (Some(s), Some(at)),
            None => (None, None),
        };
        urls.push(json!({
            "url": url,
            "kind": kind,
            "state": link_state,
            "last_checked": last_checked,
            "checks": checks,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({ "service_id": id, "urls": urls })))
}

/// `GET /v1/admin/link-checks`: counts by outcome, flags, worst hosts, the last cycle.
pub async fn summary(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = &state.directory.store;
    let states = store.link_states().await?;
    let mut by_outcome: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_flag: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failing_by_host: HashMap<String, usize> = HashMap::new();
    for (url, (s, _)) in &states {
        let outcome = s.last_outcome.map_or("unchecked", |o| o.as_str());
        *by_outcome.entry(outcome).or_default() += 1;
        if let Some(f) = s.flag {
            *by_flag.entry(f.as_str()).or_default() += 1;
        }
        if s.hard_days > 0 || s.transient_days > 0 {
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            *failing_by_host.entry(host).or_default() += 1;
        }
    }
    let mut worst: Vec<(String, usize)> = failing_by_host.into_iter().collect();
    worst.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    worst.truncate(10);
    Ok(HttpResponse::Ok().json(json!({
        "urls": states.len(),
        "by_outcome": by_outcome,
        "flags": by_flag,
        "worst_hosts": worst.into_iter().map(|(host, failing)| json!({"host": host, "failing_urls": failing})).collect::<Vec<_>>(),
        "last_cycle": store.last_cycle().await?,
    })))
}
