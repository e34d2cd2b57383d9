//! The warnings a navigator must see before referring: closed, full, stale capacity,
//! broken links, not confirmed, copied from a feed that is failing or dropped the record.

use super::hit::SummaryFacts;
use super::response::Warning;
use super::settings::SearchSettings;
use crate::domain::{Accepting, ServiceStatus, SourceHealth};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub(super) fn warning(code: &'static str, message: impl Into<String>) -> Warning {
    Warning {
        code,
        message: message.into(),
    }
}

/// The warnings a navigator must see for this service; `sources` say how the feeds that
/// supply records stand.
pub fn warnings(
    v: &SummaryFacts,
    settings: &SearchSettings,
    sources: &HashMap<uuid::Uuid, SourceHealth>,
    now: DateTime<Utc>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(p) = &v.source {
        if let Some(gone) = p.vanished_at {
            out.push(warning(
                "source_vanished",
                format!(
                    "No longer listed by {} since {}: it may have closed; check before referring",
                    p.name,
                    gone.format("%-d %B %Y")
                ),
            ));
        }
        if let Some(health) = sources.get(&p.source_id)
            && let Some(why) = &health.failing
        {
            let since = health.last_success_at.map_or("never".to_string(), |t| {
                t.format("%-d %B %Y %H:%M").to_string()
            });
            out.push(warning(
                "source_out_of_date",
                format!(
                    "{} could not be read ({why}); this copy was last confirmed {since}",
                    p.name
                ),
            ));
        }
    }
    match v.status.unwrap_or(ServiceStatus::Active) {
        ServiceStatus::TemporarilyClosed => {
            let reason = v
                .temporary_closure
                .as_ref()
                .map_or("no reason given", |c| c.reason.as_str());
            let message = match v.temporary_closure.as_ref().and_then(|c| c.reopens_on) {
                Some(date) => {
                    format!("Temporarily closed ({reason}); expected to reopen on {date}")
                }
                None => format!("Temporarily closed ({reason}); no reopening date given"),
            };
            out.push(warning("temporarily_closed", message));
        }
        ServiceStatus::Inactive => {
            out.push(warning("inactive", "Not running at the moment (inactive)"))
        }
        ServiceStatus::Defunct => out.push(warning("defunct", "This service has closed for good")),
        ServiceStatus::Active => {}
    }
    match &v.capacity {
        Some(capacity) => {
            let updated = capacity.updated_at;
            if updated.is_none_or(|t| now - t > settings.capacity_stale_after) {
                let when =
                    updated.map_or("never".to_string(), |t| t.format("%-d %B %Y").to_string());
                out.push(warning(
                    "capacity_unknown",
                    format!("Capacity unknown: last updated {when}; check before referring"),
                ));
            } else {
                match capacity.accepting {
                    Accepting::Closed => out.push(warning(
                        "not_accepting",
                        "Not taking referrals at the moment",
                    )),
                    Accepting::Waitlist => out.push(warning(
                        "waiting_list",
                        match capacity.waiting_weeks {
                            Some(w) => format!("Waiting list: about {w} weeks"),
                            None => "Waiting list: length not given".into(),
                        },
                    )),
                    Accepting::Open => {}
                }
            }
        }
        None => out.push(warning(
            "capacity_unknown",
            "Capacity not stated; check before referring",
        )),
    }
    for f in &v.link_flags {
        let (code, what) = match f.flag.as_str() {
            "possibly_closed" => ("possibly_closed", "may have closed"),
            "unreachable" => ("link_unreachable", "has not answered for days"),
            _ => ("link_broken", "is broken"),
        };
        let mut message = format!(
            "{} {what}: {}",
            f.url,
            f.evidence.as_deref().unwrap_or("see the link checks")
        );
        if let Some(new) = &f.suggested_url {
            message.push_str(&format!("; it may have moved to {new}"));
        }
        out.push(warning(code, message));
    }
    match v.assured_date {
        None => out.push(warning(
            "not_verified",
            "Never confirmed as accurate by the provider",
        )),
        Some(d) if now.date_naive() - d > settings.verify_stale_after => out.push(warning(
            "not_verified",
            format!(
                "Not confirmed as accurate for {} months (last {})",
                (now.date_naive() - d).num_days() / 30,
                d.format("%-d %B %Y")
            ),
        )),
        Some(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vitals(v: serde_json::Value) -> SummaryFacts {
        serde_json::from_value(v).expect("vitals")
    }

    #[test]
    fn warnings_for_closed_full_and_stale() {
        let settings = SearchSettings::default();
        let now = Utc::now();
        let fresh = now.to_rfc3339();
        let w = warnings(
            &vitals(
                json!({"status": "temporarily_closed", "temporary_closure": {"reason": "summer break", "reopens_on": "2026-09-01"},
                    "capacity": {"accepting": "waitlist", "waiting_weeks": 6, "updated_at": fresh},
                    "assured_date": now.date_naive().to_string()}),
            ),
            &settings,
            &HashMap::new(),
            now,
        );
        let codes: Vec<_> = w.iter().map(|w| w.code).collect();
        assert_eq!(codes, vec!["temporarily_closed", "waiting_list"]);
        assert!(w[1].message.contains("6 weeks"));
        let w = warnings(
            &vitals(
                json!({"status": "active", "capacity": {"accepting": "open", "updated_at": "2020-01-01T00:00:00Z"}, "assured_date": "2020-01-01"}),
            ),
            &settings,
            &HashMap::new(),
            now,
        );
        let codes: Vec<_> = w.iter().map(|w| w.code).collect();
        assert_eq!(codes, vec!["capacity_unknown", "not_verified"]);
    }
}
