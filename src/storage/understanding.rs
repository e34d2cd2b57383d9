//! Lexicon entries added at run time (with their audit rows) and the daily counts of
//! questions that found nothing or only partial matches.

use super::access::Audit;
use super::on_pool;
use super::writes::Writes;
use super::{Backend, Store, ts};
use crate::understand::NewEntry;
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

/// A lexicon entry as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredEntry {
    /// The entry's UUID.
    pub id: Uuid,
    /// A taxonomy category id, or `risk`.
    pub need: String,
    /// The line as given.
    pub phrase: String,
    /// How sure the phrase alone is of the need, above 0 and at most 1.
    pub confidence: f64,
    /// When it was added (RFC 3339).
    pub created_at: String,
    /// The key id that added it (`admin-key`, `cli`, or `key_…`).
    pub created_by: String,
}

/// One line of the search-gaps report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Gap {
    /// The question, normalised and stripped (see `understand::gaps`).
    pub question: String,
    /// `none` (nothing found), `suggested` (only the closest needs) or `partial`.
    pub kind: String,
    /// Times it was asked on the days reported.
    pub count: i64,
    /// The first of those days it was counted, `YYYY-MM-DD`.
    pub first_day: String,
    /// The last of those days it was counted, `YYYY-MM-DD`.
    pub last_day: String,
}

/// Days of gap counts kept; older days are deleted when counts are added.
pub const GAP_DAYS_KEPT: i64 = 90;

impl Store {
    /// Every run-time lexicon entry, oldest first.
    pub async fn lexicon_entries(&self) -> anyhow::Result<Vec<NewEntry>> {
        Ok(self
            .stored_lexicon_entries()
            .await?
            .into_iter()
            .map(|e| NewEntry {
                need: e.need,
                phrase: e.phrase,
                confidence: e.confidence as f32,
            })
            .collect())
    }

    /// Every run-time lexicon entry with who added it and when, oldest first.
    pub async fn stored_lexicon_entries(&self) -> anyhow::Result<Vec<StoredEntry>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(
                "SELECT id, need, phrase, confidence, created_at, created_by FROM lexicon_entries \
                 ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await
            .context("reading the lexicon entries")?;
            rows.iter()
                .map(|r| {
                    let id: String = r.try_get(0)?;
                    Ok(StoredEntry {
                        id: id.parse().context("a stored lexicon entry id")?,
                        need: r.try_get(1)?,
                        phrase: r.try_get(2)?,
                        confidence: r.try_get(3)?,
                        created_at: r.try_get(4)?,
                        created_by: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    /// How many run-time lexicon entries there are.
    pub async fn lexicon_entry_count(&self) -> anyhow::Result<usize> {
        on_pool!(self, read, pool => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lexicon_entries")
                .fetch_one(pool)
                .await
                .context("counting the lexicon entries")?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    /// Stores a lexicon entry and its audit row (`audit`, whose changes say what was
    /// added) in one transaction.
    pub async fn add_lexicon_entry(
        &self,
        entry: &NewEntry,
        audit: &Audit,
        at: DateTime<Utc>,
    ) -> anyhow::Result<StoredEntry> {
        let stored = StoredEntry {
            id: Uuid::now_v7(),
            need: entry.need.clone(),
            phrase: entry.phrase.clone(),
            confidence: f64::from(entry.confidence),
            created_at: ts(&at),
            created_by: audit.actor.key_id.clone(),
        };
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            sqlx::query(
                "INSERT INTO lexicon_entries (id, need, phrase, confidence, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(stored.id.to_string())
            .bind(&stored.need)
            .bind(&stored.phrase)
            .bind(stored.confidence)
            .bind(&stored.created_at)
            .bind(&stored.created_by)
            .execute(&mut *tx)
            .await
            .context("storing a lexicon entry")?;
            tx.write_audit("lexicon", stored.id, 1i64, &at, audit).await?;
            tx.commit().await.context("committing a lexicon entry")?;
        });
        Ok(stored)
    }

    /// Adds counted questions to `day`'s counts, and deletes days older than
    /// [`GAP_DAYS_KEPT`].
    pub async fn add_search_gaps(
        &self,
        day: NaiveDate,
        counts: &[((String, &'static str), u64)],
    ) -> anyhow::Result<()> {
        let day_text = day.to_string();
        let oldest = (day - chrono::Duration::days(GAP_DAYS_KEPT)).to_string();
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            for ((question, kind), n) in counts {
                sqlx::query(
                    "INSERT INTO search_gaps (day, question, kind, count) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (day, question, kind) DO UPDATE SET count = search_gaps.count + excluded.count",
                )
                .bind(&day_text)
                .bind(question)
                .bind(*kind)
                .bind(i64::try_from(*n).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await
                .context("counting a search gap")?;
            }
            sqlx::query("DELETE FROM search_gaps WHERE day < $1")
                .bind(&oldest)
                .execute(&mut *tx)
                .await
                .context("deleting old search gaps")?;
            tx.commit().await.context("committing search gaps")?;
        });
        Ok(())
    }

    /// Questions counted at least `min_count` times on the days from `since` on, most
    /// asked first.
    pub async fn search_gaps(
        &self,
        since: NaiveDate,
        min_count: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Gap>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(
                "SELECT question, kind, CAST(SUM(count) AS BIGINT) AS n, MIN(day), MAX(day) FROM search_gaps \
                 WHERE day >= $1 GROUP BY question, kind HAVING SUM(count) >= $2 \
                 ORDER BY n DESC, question LIMIT $3",
            )
            .bind(since.to_string())
            .bind(min_count)
            .bind(limit)
            .fetch_all(pool)
            .await
            .context("reading search gaps")?;
            rows.iter()
                .map(|r| {
                    Ok(Gap {
                        question: r.try_get(0)?,
                        kind: r.try_get(1)?,
                        count: r.try_get(2)?,
                        first_day: r.try_get(3)?,
                        last_day: r.try_get(4)?,
                    })
                })
                .collect()
        })
    }
}
