//! How long the directory keeps its change history, resolved reports and link checks, and
//! the purge that forgets what is older (run by `serve` every six hours and by
//! `signpost purge`).

use crate::storage::Store;
use crate::storage::retention::{Cutoffs, Purged};
use chrono::{DateTime, Duration, Utc};

/// Days each kind is kept; 0 keeps it for good.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    /// Every write's audit row: who changed what, when (a service's history).
    pub history_days: u32,
    /// Navigators' reports once resolved, and review-queue resolutions.
    pub resolved_report_days: u32,
    /// Each link check's evidence and the cycles run (each link's current state stays).
    pub link_check_days: u32,
}

impl Retention {
    fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        let before = |days: u32| (days > 0).then(|| now - Duration::days(i64::from(days)));
        Cutoffs {
            history: before(self.history_days),
            resolved_reports: before(self.resolved_report_days),
            link_checks: before(self.link_check_days),
        }
    }
}

/// Deletes what `retention` no longer keeps, as of `now`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn purge(
    store: &Store,
    retention: &Retention,
    now: DateTime<Utc>,
) -> anyhow::Result<Purged> {
    let purged = store.purge(&retention.cutoffs(now)).await?;
    if purged != Purged::default() {
        tracing::info!(
            history = purged.history,
            resolved_reports = purged.resolved_reports,
            link_checks = purged.link_checks,
            "purged what the retention settings no longer keep"
        );
    }
    Ok(purged)
}

impl super::Directory {
    /// [`purge`] on this directory's database, as of now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_old(&self, retention: &Retention) -> anyhow::Result<Purged> {
        purge(&self.store, retention, Utc::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_keeps_for_good_and_days_count_back_from_now() {
        let now = Utc::now();
        let cutoffs = Retention {
            history_days: 0,
            resolved_report_days: 30,
            link_check_days: 1,
        }
        .cutoffs(now);
        assert_eq!(cutoffs.history, None);
        assert_eq!(cutoffs.resolved_reports, Some(now - Duration::days(30)));
        assert_eq!(cutoffs.link_checks, Some(now - Duration::days(1)));
    }
}
