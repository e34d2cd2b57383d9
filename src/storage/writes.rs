//! The statements writes are made of, written once for both backends. Each runs inside
//! the caller's transaction, so a record, its audit row and its change-log entry are
//! committed together or not at all.

use super::access::Audit;
use super::{CHANGE_LOG_LOCK, StoreError, ts};
use crate::domain::{Organization, Service};
use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Database, Pool, Transaction};
use uuid::Uuid;

/// Begins a write transaction. On PostgreSQL it also takes the change-log lock, so that
/// change numbers are committed in the order they were given (the index follows the log
/// by number); SQLite has one writing connection, which orders writes already.
pub(crate) async fn begin_write<DB: Database>(
    pool: &Pool<DB>,
) -> anyhow::Result<Transaction<'static, DB>>
where
    Transaction<'static, DB>: Writes,
{
    let mut tx = pool.begin().await.context("starting a transaction")?;
    tx.lock_change_log().await?;
    Ok(tx)
}

/// The writes every kind of record shares, on a transaction of either backend.
pub(crate) trait Writes {
    /// Takes the change-log lock on PostgreSQL (see [`begin_write`]).
    async fn lock_change_log(&mut self) -> anyhow::Result<()>;

    /// Inserts a service (`expected` None) or replaces it if it is still at version
    /// `expected`, with its categories, and logs the change; returns its change number.
    async fn write_service(
        &mut self,
        svc: &Service,
        expected: Option<i64>,
    ) -> Result<i64, StoreError>;

    /// Inserts an organisation (`expected` None) or replaces it if it is still at version
    /// `expected`.
    async fn write_organization(
        &mut self,
        org: &Organization,
        expected: Option<i64>,
    ) -> Result<(), StoreError>;

    /// The stored version of the record `id` in `table` (`services` or `organizations`),
    /// to say why a conditional write wrote nothing.
    async fn version_of(&mut self, table: &'static str, id: String) -> anyhow::Result<Option<i64>>;

    /// Writes one row of the audit trail: who did what to which record, and when.
    async fn write_audit(
        &mut self,
        entity: &str,
        id: Uuid,
        version: i64,
        at: &DateTime<Utc>,
        audit: &Audit,
    ) -> anyhow::Result<()>;

    /// Logs a change of each of these services without changing them (their derived
    /// facts changed); returns the last change number.
    async fn log_changes(
        &mut self,
        ids: &[Uuid],
        at: &DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>>;
}

/// `($1, $2), ($3, $4), …`: the placeholders of a multi-row `VALUES` (both backends read
/// `$n`), for `rows` rows of `columns` values.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a statement is refused with when the row is not at the version the writer read.
fn conflict(expected: Option<i64>, current: Option<i64>) -> StoreError {
    match (expected, current) {
        (None, _) => StoreError::AlreadyExists,
        (Some(_), Some(current)) => StoreError::VersionMismatch { current },
        (Some(_), None) => StoreError::NotFound,
    }
}

impl<DB> Writes for Transaction<'_, DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    async fn lock_change_log(&mut self) -> anyhow::Result<()> {
        if DB::NAME == <sqlx::Postgres as Database>::NAME {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CHANGE_LOG_LOCK)
                .execute(&mut **self)
                .await
                .context("taking the change-log lock")?;
        }
        Ok(())
    }

    async fn write_service(
        &mut self,
        svc: &Service,
        expected: Option<i64>,
    ) -> Result<i64, StoreError> {
        let doc = serde_json::to_string(&svc.content).context("serialising a service")?;
        let id = svc.id.to_string();
        let query = match expected {
            None => sqlx::query_scalar::<DB, i64>(
                "INSERT INTO services (id, organization_id, status, doc, version, created_at, last_modified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING version",
            ),
            Some(_) => sqlx::query_scalar::<DB, i64>(
                "UPDATE services SET organization_id = $2, status = $3, doc = $4, version = $5, \
                 created_at = $6, last_modified = $7 WHERE id = $1 AND version = $8 RETURNING version",
            ),
        }
        .bind(id.clone())
        .bind(svc.organization.id.to_string())
        .bind(svc.content.status.as_str())
        .bind(doc)
        .bind(svc.meta.version)
        .bind(ts(&svc.meta.created_at))
        .bind(ts(&svc.meta.last_modified));
        let query = match expected {
            Some(v) => query.bind(v),
            None => query,
        };
        let written = query
            .fetch_optional(&mut **self)
            .await
            .context("writing a service")?;
        if written.is_none() {
            let current = self.version_of("services", id.clone()).await?;
            return Err(conflict(expected, current));
        }
        sqlx::query("DELETE FROM service_categories WHERE service_id = $1")
            .bind(id.clone())
            .execute(&mut **self)
            .await
            .context("clearing categories")?;
        // One statement for all of them: each statement is a round trip.
        let mut categories: Vec<&str> = svc.content.categories.iter().map(|c| c.as_str()).collect();
        categories.sort_unstable();
        categories.dedup();
        if !categories.is_empty() {
            let sql = format!(
                "INSERT INTO service_categories (category, service_id) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(categories.len(), 2)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for c in categories {
                q = q.bind(c.to_string()).bind(id.clone());
            }
            q.execute(&mut **self).await.context("writing categories")?;
        }
        let seq = sqlx::query_scalar::<DB, i64>(
            "INSERT INTO change_log (service_id, changed_at) VALUES ($1, $2) RETURNING seq",
        )
        .bind(id)
        .bind(ts(&svc.meta.last_modified))
        .fetch_one(&mut **self)
        .await
        .context("appending to the change log")?;
        Ok(seq)
    }

    async fn write_organization(
        &mut self,
        org: &Organization,
        expected: Option<i64>,
    ) -> Result<(), StoreError> {
        let doc = serde_json::to_string(&org.content).context("serialising an organisation")?;
        let query = match expected {
            None => sqlx::query_scalar::<DB, i64>(
                "INSERT INTO organizations (id, name, doc, retired, version, created_at, last_modified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING version",
            ),
            Some(_) => sqlx::query_scalar::<DB, i64>(
                "UPDATE organizations SET name = $2, doc = $3, retired = $4, version = $5, \
                 created_at = $6, last_modified = $7 WHERE id = $1 AND version = $8 RETURNING version",
            ),
        }
        .bind(org.id.to_string())
        .bind(org.content.name.as_str().to_string())
        .bind(doc)
        .bind(org.retired)
        .bind(org.meta.version)
        .bind(ts(&org.meta.created_at))
        .bind(ts(&org.meta.last_modified));
        let query = match expected {
            Some(v) => query.bind(v),
            None => query,
        };
        let written = query
            .fetch_optional(&mut **self)
            .await
            .context("writing an organisation")?;
        if written.is_none() {
            let current = self.version_of("organizations", org.id.to_string()).await?;
            return Err(conflict(expected, current));
        }
        Ok(())
    }

    async fn version_of(&mut self, table: &'static str, id: String) -> anyhow::Result<Option<i64>> {
        sqlx::query_scalar::<DB, i64>(&format!("SELECT version FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **self)
            .await
            .with_context(|| format!("reading a version in {table}"))
    }

    async fn write_audit(
        &mut self,
        entity: &str,
        id: Uuid,
        version: i64,
        at: &DateTime<Utc>,
        audit: &Audit,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (entity, entity_id, version, at, actor, role, action, changes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entity.to_string())
        .bind(id.to_string())
        .bind(version)
        .bind(ts(at))
        .bind(audit.actor.key_id.clone())
        .bind(audit.actor.role.as_str())
        .bind(audit.action)
        .bind(serde_json::to_string(&audit.changes).context("serialising changes")?)
        .execute(&mut **self)
        .await
        .context("writing the audit trail")?;
        Ok(())
    }

    async fn log_changes(
        &mut self,
        ids: &[Uuid],
        at: &DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        let at = ts(at);
        let mut last: Option<i64> = None;
        for chunk in ids.chunks(500) {
            let sql = format!(
                "INSERT INTO change_log (service_id, changed_at) VALUES {} RETURNING seq",
                placeholders(chunk.len(), 2)
            );
            let mut q = sqlx::query_scalar::<DB, i64>(&sql);
            for id in chunk {
                q = q.bind(id.to_string()).bind(at.clone());
            }
            let seqs = q
                .fetch_all(&mut **self)
                .await
                .context("appending to the change log")?;
            last = last.max(seqs.into_iter().max());
        }
        Ok(last)
    }
}
