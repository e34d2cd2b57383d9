//! Link checks, each URL's state, cycles, and the lease one replica holds to run them.

use super::on_pool;
use super::writes::{Writes, begin_write};
use super::{Backend, Store, ts};
use crate::links::checker::CheckResult;
use crate::links::policy::LinkState;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// One stored check.
#[derive(Debug, Clone, Serialize)]
pub struct StoredCheck {
    /// The URL checked.
    pub url: String,
    /// When, as an RFC 3339 time (UTC).
    pub checked_at: String,
    /// `ok`, `moved`, `hard`, `transient` or `unverifiable`.
    pub outcome: String,
    /// The finding in one word, e.g. `not_found` (see `CheckResult::finding`).
    pub finding: String,
    /// The last HTTP status received; null when no answer came.
    pub status: Option<i32>,
    /// What was seen, in words.
    pub detail: String,
    /// Where the check ended, after redirects.
    pub final_url: Option<String>,
    /// The new address of a moved page.
    pub suggested_url: Option<String>,
    /// Every redirect followed, in order, as a JSON array of `{url, status}`.
    pub hops: serde_json::Value,
}

/// The last cycle, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct CycleRecord {
    /// Who ran it: the lease holder, e.g. `cli-1234`, or a server's process id and a UUID.
    pub holder: String,
    /// When it began, as an RFC 3339 time (UTC).
    pub started_at: String,
    /// When it ended, as an RFC 3339 time (UTC).
    pub finished_at: String,
    /// URLs checked.
    pub urls: i64,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

impl Store {
    /// Stores a check and the URL's new state in one transaction.
    pub async fn record_check(
        &self,
        result: &CheckResult,
        state: &LinkState,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let state_json = serde_json::to_string(state).context("serialising a link state")?;
        let hops = serde_json::to_string(&result.hops).context("serialising hops")?;
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            sqlx::query(
                "INSERT INTO link_checks (url, checked_at, outcome, finding, status, detail, final_url, suggested_url, hops, attempts, elapsed_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&result.url)
            .bind(ts(&at))
            .bind(result.outcome.as_str())
            .bind(result.finding)
            .bind(result.status.map(i32::from))
            .bind(&result.detail)
            .bind(&result.final_url)
            .bind(&result.suggested_url)
            .bind(hops)
            .bind(result.attempts as i32)
            .bind(result.elapsed_ms as i64)
            .execute(&mut *tx)
            .await
            .context("storing a link check")?;
            sqlx::query(
                "INSERT INTO link_states (url, state, flag, checked_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (url) DO UPDATE SET state = excluded.state, flag = excluded.flag, checked_at = excluded.checked_at",
            )
            .bind(&result.url)
            .bind(state_json)
            .bind(state.flag.map(|f| f.as_str()))
            .bind(ts(&at))
            .execute(&mut *tx)
            .await
            .context("storing a link state")?;
            tx.commit().await.context("committing")?;
        });
        Ok(())
    }

    /// One URL's state and when it was last checked.
    pub async fn link_state(&self, url: &str) -> anyhow::Result<Option<(LinkState, String)>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query("SELECT state, checked_at FROM link_states WHERE url = $1")
                .bind(url)
                .fetch_optional(pool)
                .await
                .context("reading a link state")?;
            row.map(|r| -> anyhow::Result<(LinkState, String)> {
                let state: String = r.try_get(0)?;
                Ok((serde_json::from_str(&state).context("stored link state")?, r.try_get(1)?))
            })
            .transpose()
        })
    }

    /// Each URL's state and when it was last checked.
    pub async fn link_states(&self) -> anyhow::Result<HashMap<String, (LinkState, String)>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query("SELECT url, state, checked_at FROM link_states")
                .fetch_all(pool)
                .await
                .context("reading link states")?;
            let mut out = HashMap::with_capacity(rows.len());
            for r in rows {
                let state: String = r.try_get(1)?;
                out.insert(
                    r.try_get::<String, _>(0)?,
                    (serde_json::from_str(&state).context("stored link state")?, r.try_get(2)?),
                );
            }
            Ok(out)
        })
    }

    /// The latest checks of these URLs, newest first, at most `limit` per URL.
    pub async fn link_checks(
        &self,
        urls: &[String],
        limit: i64,
    ) -> anyhow::Result<Vec<StoredCheck>> {
        let mut out = Vec::new();
        for url in urls {
            on_pool!(self, read, pool => {
                let rows = sqlx::query(
                    "SELECT url, checked_at, outcome, finding, status, detail, final_url, suggested_url, hops \
                     FROM link_checks WHERE url = $1 ORDER BY seq DESC LIMIT $2",
                )
                .bind(url)
                .bind(limit)
                .fetch_all(pool)
                .await
                .context("reading link checks")?;
                for r in rows {
                    let hops: String = r.try_get(8)?;
                    out.push(StoredCheck {
                        url: r.try_get(0)?,
                        checked_at: r.try_get(1)?,
                        outcome: r.try_get(2)?,
                        finding: r.try_get(3)?,
                        status: r.try_get(4)?,
                        detail: r.try_get(5)?,
                        final_url: r.try_get(6)?,
                        suggested_url: r.try_get(7)?,
                        hops: serde_json::from_str(&hops).unwrap_or_default(),
                    });
                }
            });
        }
        Ok(out)
    }

    /// Takes or renews the lease `name` for `holder` until `until`; false while another
    /// holder's lease has not expired.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        on_pool!(self, write, pool => {
            let done = sqlx::query(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE leases.expires_at < $4 OR leases.holder = excluded.holder",
            )
            .bind(name)
            .bind(holder)
            .bind(ts(&until))
            .bind(ts(&now))
            .execute(pool)
            .await
            .context("taking a lease")?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Gives a lease back early.
    pub async fn release_lease(&self, name: &str, holder: &str) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await
                .context("releasing a lease")?;
        });
        Ok(())
    }

    /// Records how a link-check cycle went.
    pub async fn record_cycle(&self, c: &CycleRecord) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query(
                "INSERT INTO link_cycles (holder, started_at, finished_at, urls, duration_ms) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&c.holder)
            .bind(&c.started_at)
            .bind(&c.finished_at)
            .bind(c.urls)
            .bind(c.duration_ms)
            .execute(pool)
            .await
            .context("recording a cycle")?;
        });
        Ok(())
    }

    /// The last link-check cycle, if any ran.
    pub async fn last_cycle(&self) -> anyhow::Result<Option<CycleRecord>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query(
                "SELECT holder, started_at, finished_at, urls, duration_ms FROM link_cycles ORDER BY seq DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .context("reading cycles")?;
            row.map(|r| -> anyhow::Result<CycleRecord> {
                Ok(CycleRecord {
                    holder: r.try_get(0)?,
                    started_at: r.try_get(1)?,
                    finished_at: r.try_get(2)?,
                    urls: r.try_get(3)?,
                    duration_ms: r.try_get(4)?,
                })
            })
            .transpose()
        })
    }

    /// Logs a change for each service without changing it, so the index rebuilds their
    /// documents (for flags and other derived facts); returns the last sequence.
    pub async fn touch_services(&self, ids: &[uuid::Uuid]) -> anyhow::Result<Option<i64>> {
        if ids.is_empty() {
            return Ok(None);
        }
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            let last = tx.log_changes(ids, &Utc::now()).await?;
            tx.commit().await.context("committing")?;
            Ok(last)
        })
    }

    /// The flags raised on these URLs, with their evidence.
    pub async fn link_flags(&self, urls: &[String]) -> anyhow::Result<HashMap<String, LinkState>> {
        if urls.is_empty() {
            return Ok(HashMap::new());
        }
        on_pool!(self, read, pool => {
            let mut q = sqlx::QueryBuilder::new("SELECT url, state FROM link_states WHERE flag IS NOT NULL AND url IN (");
            let mut sep = q.separated(", ");
            for u in urls {
                sep.push_bind(u.clone());
            }
            q.push(")");
            let rows = q.build().fetch_all(pool).await.context("reading link flags")?;
            let mut out = HashMap::new();
            for r in rows {
                let state: String = r.try_get(1)?;
                out.insert(r.try_get::<String, _>(0)?, serde_json::from_str(&state).context("stored link state")?);
            }
            Ok(out)
        })
    }
}
