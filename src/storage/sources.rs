//! Other directories' feeds: the sources registered, which local record each of their
//! records became, and the likely duplicates their new records raised.

use super::access::Audit;
use super::on_pool;
use super::writes::{Writes, begin_write};
use super::{Backend, Store, StoreError, parse_ts, parse_uuid, ts};
use crate::domain::{Organization, Service};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

/// A registered source and how its pulls went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Source {
    /// The source's UUID, as `POST /v1/admin/sources/{id}/pull` takes it.
    pub id: Uuid,
    /// What navigators see as the records' origin, e.g. "Bolton Council"; unique.
    pub name: String,
    /// The feed's base URL (the one whose `/services` lists its services).
    pub url: String,
    /// When it was registered (UTC).
    pub added_at: DateTime<Utc>,
    /// `new` (never pulled), `ok` or `failing`.
    pub state: String,
    /// When the latest pull started; null if never pulled.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the latest pull that read to the end finished; null if none has.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last pull that read every record, and so could tell which vanished.
    pub last_full_at: Option<DateTime<Utc>>,
    /// What the next pull asks for as `modified_after`.
    pub next_modified_after: Option<DateTime<Utc>>,
    /// Why the latest pull failed; null once one succeeds.
    pub last_error: Option<String>,
    /// What the last pull did (as `POST /v1/admin/sources/{id}/pull` reports it).
    #[schema(value_type = Option<Object>)]
    pub last_report: Option<serde_json::Value>,
    /// Records from this source held here (vanished ones included).
    pub records: i64,
}

/// A new or changed record of a page, as a pull writes it.
pub struct SourcedWrite {
    /// The record's id in the source.
    pub record_id: String,
    /// The service as it will be stored, provenance included.
    pub service: Service,
    /// The version stored now; `None` for a new record.
    pub expected: Option<i64>,
    /// What the audit trail records of the write.
    pub audit: Audit,
}

/// What a pull writes for one page, in one transaction.
pub struct SourcedPage {
    /// New (`None` expected) and changed organisations.
    pub organizations: Vec<(Organization, Option<i64>, Audit)>,
    /// New and changed services.
    pub services: Vec<SourcedWrite>,
    /// Ids there of the records found unchanged.
    pub seen: Vec<String>,
    /// Records whose provenance alone changed (back after vanishing): their search
    /// summaries are rewritten.
    pub touched: Vec<Uuid>,
    /// The time the page's writes are stamped with.
    pub at: DateTime<Utc>,
}

/// How a pull ended, for [`Store::finish_pull`].
pub struct PullEnd<'a> {
    /// When the pull ended; on success, the source's `last_success_at`.
    pub at: DateTime<Utc>,
    /// Why the pull failed; None on success.
    pub error: Option<&'a str>,
    /// On success: the next pull's `modified_after`, and whether every record was read.
    pub next_modified_after: Option<DateTime<Utc>>,
    /// On success: whether every record was read, making this the last full pull.
    pub full: bool,
    /// The pull's report as JSON, kept as the source's `last_report`.
    pub report: &'a serde_json::Value,
}

const SOURCE_SELECT: &str = "SELECT s.id, s.name, s.url, s.added_at, s.state, s.last_attempt_at, \
     s.last_success_at, s.last_full_at, s.next_modified_after, s.last_error, s.last_report, \
     (SELECT COUNT(*) FROM source_records r WHERE r.source_id = s.id) FROM sources s";

fn source_from_row<R: Row>(row: &R) -> anyhow::Result<Source>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let when = |i: usize| -> anyhow::Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<String>, _>(i)?
            .as_deref()
            .map(parse_ts)
            .transpose()
    };
    Ok(Source {
        id: parse_uuid(&row.try_get::<String, _>(0)?)?,
        name: row.try_get(1)?,
        url: row.try_get(2)?,
        added_at: parse_ts(&row.try_get::<String, _>(3)?)?,
        state: row.try_get(4)?,
        last_attempt_at: when(5)?,
        last_success_at: when(6)?,
        last_full_at: when(7)?,
        next_modified_after: when(8)?,
        last_error: row.try_get(9)?,
        last_report: row
            .try_get::<Option<String>, _>(10)?
            .and_then(|r| serde_json::from_str(&r).ok()),
        records: row.try_get(11)?,
    })
}

impl Store {
    /// Registers a source; `AlreadyExists` when the name is taken.
    pub async fn add_source(&self, source: &Source) -> Result<(), StoreError> {
        on_pool!(self, write, pool => {
            let done = sqlx::query(
                "INSERT INTO sources (id, name, url, added_at, state) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(source.id.to_string())
            .bind(&source.name)
            .bind(&source.url)
            .bind(ts(&source.added_at))
            .bind(&source.state)
            .execute(pool)
            .await
            .context("registering a source")?;
            if done.rows_affected() == 0 {
                return Err(StoreError::AlreadyExists);
            }
        });
        Ok(())
    }

    /// Every registered source, by name.
    pub async fn sources(&self) -> anyhow::Result<Vec<Source>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!("{SOURCE_SELECT} ORDER BY s.name"))
                .fetch_all(pool)
                .await
                .context("reading sources")?;
            rows.iter().map(source_from_row).collect()
        })
    }

    /// Says a pull has started.
    pub async fn start_pull(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query("UPDATE sources SET last_attempt_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(ts(&at))
                .execute(pool)
                .await
                .context("starting a pull")?;
        });
        Ok(())
    }

    /// Records how a pull ended. A failed pull keeps the last good copy and the
    /// `modified_after` it will ask for again.
    pub async fn finish_pull(&self, id: Uuid, end: &PullEnd<'_>) -> anyhow::Result<()> {
        let report = end.report.to_string();
        on_pool!(self, write, pool => {
            match end.error {
                Some(e) => sqlx::query(
                    "UPDATE sources SET state = 'failing', last_error = $2, last_report = $3 WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(e)
                .bind(report),
                None => sqlx::query(
                    "UPDATE sources SET state = 'ok', last_error = NULL, last_report = $2, \
                     last_success_at = $3, next_modified_after = $4, \
                     last_full_at = CASE WHEN $5 THEN $3 ELSE last_full_at END WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(report)
                .bind(ts(&end.at))
                .bind(end.next_modified_after.as_ref().map(ts))
                .bind(end.full),
            }
            .execute(pool)
            .await
            .context("recording a pull")?;
        });
        Ok(())
    }

    /// Writes one page of a pull in one transaction: new and changed records (with their
    /// organisations) are written and logged for the index, every record of the page is
    /// marked seen. Returns the last change sequence.
    pub async fn write_sourced(
        &self,
        source_id: Uuid,
        page: &SourcedPage,
    ) -> Result<Option<i64>, StoreError> {
        let mut last = None;
        let source = source_id.to_string();
        let at_ts = ts(&page.at);
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            for (org, expected, audit) in &page.organizations {
                tx.write_organization(org, *expected).await?;
                tx.write_audit("organization", org.id, org.meta.version, &org.meta.last_modified, audit).await?;
            }
            for w in &page.services {
                last = last.max(Some(tx.write_service(&w.service, w.expected).await?));
                tx.write_audit("service", w.service.id, w.service.meta.version, &w.service.meta.last_modified, &w.audit).await?;
            }
            for chunk in page.services.chunks(500) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO source_records (source_id, record_id, service_id, copied_at, seen_at) ",
                );
                q.push_values(chunk, |mut b, w| {
                    b.push_bind(source.clone())
                        .push_bind(w.record_id.clone())
                        .push_bind(w.service.id.to_string())
                        .push_bind(at_ts.clone())
                        .push_bind(at_ts.clone());
                });
                q.push(
                    " ON CONFLICT (source_id, record_id) DO UPDATE SET copied_at = excluded.copied_at, \
                     seen_at = excluded.seen_at, vanished_at = NULL",
                );
                q.build().execute(&mut *tx).await.context("recording source records")?;
            }
            for chunk in page.seen.chunks(500) {
                let mut q = QueryBuilder::new("UPDATE source_records SET seen_at = ");
                q.push_bind(at_ts.clone())
                    .push(", vanished_at = NULL WHERE source_id = ")
                    .push_bind(source.clone())
                    .push(" AND record_id IN (");
                let mut sep = q.separated(", ");
                for r in chunk {
                    sep.push_bind(r.clone());
                }
                q.push(")");
                q.build().execute(&mut *tx).await.context("marking records seen")?;
            }
            if !page.touched.is_empty() {
                last = last.max(tx.log_changes(&page.touched, &page.at).await?);
            }
            tx.commit().await.context("committing")?;
        });
        Ok(last)
    }

    /// Marks the source's records a full pull did not find (not seen since `before`) as
    /// vanished; they stay, for a person to decide. Returns them and the last change
    /// sequence (their provenance, and so their search summaries, changed).
    pub async fn mark_vanished(
        &self,
        source_id: Uuid,
        before: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<(Vec<Uuid>, Option<i64>)> {
        let at_ts = ts(&at);
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            let ids: Vec<String> = sqlx::query_scalar(
                "UPDATE source_records SET vanished_at = $3 \
                 WHERE source_id = $1 AND seen_at < $2 AND vanished_at IS NULL RETURNING service_id",
            )
            .bind(source_id.to_string())
            .bind(ts(&before))
            .bind(&at_ts)
            .fetch_all(&mut *tx)
            .await
            .context("marking vanished records")?;
            let ids = ids.iter().map(|i| parse_uuid(i)).collect::<anyhow::Result<Vec<_>>>()?;
            let seq = tx.log_changes(&ids, &at).await?;
            tx.commit().await.context("committing")?;
            Ok((ids, seq))
        })
    }

    /// Keeps likely duplicates for the review queue (a pair already kept stays as it was).
    pub async fn add_possible_duplicates(
        &self,
        pairs: &[(Uuid, Uuid, String)],
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            for chunk in pairs.chunks(500) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO possible_duplicates (service_id, other_id, reason, found_at) ",
                );
                q.push_values(chunk, |mut b, (a, o, why)| {
                    b.push_bind(a.to_string())
                        .push_bind(o.to_string())
                        .push_bind(why.clone())
                        .push_bind(ts(&at));
                });
                q.push(" ON CONFLICT (service_id, other_id) DO NOTHING");
                q.build().execute(pool).await.context("keeping possible duplicates")?;
            }
        });
        Ok(())
    }

    /// Every kept pair: (new record, the record it may duplicate, why, when found).
    pub async fn possible_duplicates(&self) -> anyhow::Result<Vec<(Uuid, Uuid, String, String)>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(
                "SELECT service_id, other_id, reason, found_at FROM possible_duplicates ORDER BY found_at, service_id",
            )
            .fetch_all(pool)
            .await
            .context("reading possible duplicates")?;
            rows.iter()
                .map(|r| {
                    Ok((
                        parse_uuid(&r.try_get::<String, _>(0)?)?,
                        parse_uuid(&r.try_get::<String, _>(1)?)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                    ))
                })
                .collect()
        })
    }
}
