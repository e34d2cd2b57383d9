//! Forgetting on schedule: the change history, resolved reports and link checks older than
//! the operator's retention settings. Open reports, services, organisations and the current
//! state of each link are never purged.

use super::on_pool;
use super::{Backend, Store, ts};
use anyhow::Context;
use chrono::{DateTime, Utc};

/// What is older than each cutoff goes; `None` keeps that kind for good.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cutoffs {
    /// Change history older than this goes.
    pub history: Option<DateTime<Utc>>,
    /// Reports resolved before this, and review-queue resolutions, go.
    pub resolved_reports: Option<DateTime<Utc>>,
    /// Link checks and cycles older than this go (each URL's current state stays).
    pub link_checks: Option<DateTime<Utc>>,
}

/// How many rows a purge removed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Purged {
    /// History entries deleted.
    pub history: u64,
    /// Resolved reports deleted.
    pub resolved_reports: u64,
    /// Link checks deleted.
    pub link_checks: u64,
}

/// Each kind's statements: the rows older than the cutoff (`$1`, an RFC 3339 text time).
const HISTORY: &[&str] = &["DELETE FROM audit_log WHERE at < $1"];
const RESOLVED_REPORTS: &[&str] = &[
    "DELETE FROM reports WHERE resolved_at IS NOT NULL AND resolved_at < $1",
    "DELETE FROM review_resolutions WHERE resolved_at < $1",
];
const LINK_CHECKS: &[&str] = &[
    "DELETE FROM link_checks WHERE checked_at < $1",
    "DELETE FROM link_cycles WHERE finished_at < $1",
];

impl Store {
    /// Deletes what is older than `cutoffs`, one kind per transaction.
    pub async fn purge(&self, cutoffs: &Cutoffs) -> anyhow::Result<Purged> {
        Ok(Purged {
            history: self.delete_before(HISTORY, cutoffs.history).await?,
            resolved_reports: self
                .delete_before(RESOLVED_REPORTS, cutoffs.resolved_reports)
                .await?,
            link_checks: self.delete_before(LINK_CHECKS, cutoffs.link_checks).await?,
        })
    }

    /// Runs `statements` with the cutoff in one transaction; the first statement's row
    /// count is the kind's.
    async fn delete_before(
        &self,
        statements: &[&str],
        cutoff: Option<DateTime<Utc>>,
    ) -> anyhow::Result<u64> {
        let Some(cutoff) = cutoff else {
            return Ok(0);
        };
        let cutoff = ts(&cutoff);
        let mut counts = Vec::with_capacity(statements.len());
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a purge")?;
            for statement in statements {
                let done = sqlx::query(statement)
                    .bind(&cutoff)
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("purging: {statement}"))?;
                counts.push(done.rows_affected());
            }
            tx.commit().await.context("committing a purge")?;
        });
        Ok(counts.first().copied().unwrap_or(0))
    }
}
