//! API keys, the audit trail, navigators' reports and review-queue resolutions.

use super::on_pool;
use super::{Backend, Store, parse_ts, ts};
use crate::domain::access::{ApiKey, Principal, Role};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

/// One field's change: `before` and `after` are `null` when the field was absent.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Change {
    /// The field's path, nested fields dotted, e.g. `capacity.accepting`.
    pub field: String,
    /// Its value before; null when the field was absent.
    pub before: Value,
    /// Its value after; null when the field was removed.
    pub after: Value,
}

/// What the audit trail records of a write, beside the record itself.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Who made the change.
    pub actor: Principal,
    /// `create`, `update`, `retire`, `capacity`, `status`, `verify`, `reopen`, `import`…
    pub action: &'static str,
    /// Each field changed, as `diff` found it.
    pub changes: Vec<Change>,
}

/// Field-level differences between two JSON documents; nested objects are compared
/// field by field (`capacity.accepting`), arrays as a whole.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_into("", before, after, &mut out);
    out
}

fn diff_into(path: &str, before: &Value, after: &Value, out: &mut Vec<Change>) {
    if before == after {
        return;
    }
    if let (Value::Object(b), Value::Object(a)) = (before, after) {
        let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            diff_into(
                &p,
                b.get(k).unwrap_or(&Value::Null),
                a.get(k).unwrap_or(&Value::Null),
                out,
            );
        }
        return;
    }
    out.push(Change {
        field: path.to_string(),
        before: before.clone(),
        after: after.clone(),
    });
}

/// One entry of a record's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// Position in the audit log, increasing with every write.
    pub seq: i64,
    /// When the change was made, as an RFC 3339 time (UTC).
    pub at: String,
    /// The record's version this change made.
    pub version: i64,
    /// Key id, admin-key, scheduler or import; never a secret.
    pub actor: String,
    /// The actor's role then: admin, partner or navigator.
    pub role: String,
    /// create, update, retire, capacity, status, verify, reopen or import.
    pub action: String,
    /// Each field changed, with its value before and after.
    pub changes: Vec<Change>,
}

/// A navigator's report about a service.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The report's UUID.
    pub id: Uuid,
    /// The service reported on.
    pub service_id: Uuid,
    /// What is wrong: closed, wrong_phone, not_taking_referrals, wrong_details or other.
    pub kind: String,
    /// The navigator's own words; required for `other`.
    pub text: Option<String>,
    /// The id of the key that reported it; never the secret.
    pub reporter: String,
    /// When it was reported, as an RFC 3339 time (UTC).
    pub created_at: String,
    /// When it was resolved, as an RFC 3339 time (UTC); null while open.
    pub resolved_at: Option<String>,
    /// The key id of whoever resolved it; null while open.
    pub resolved_by: Option<String>,
    /// The note given when it was resolved; null while open.
    pub resolution: Option<String>,
}

fn key_from_row<R: Row>(row: &R) -> anyhow::Result<ApiKey>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = row.try_get(2)?;
    let org: Option<String> = row.try_get(3)?;
    let opt_ts = |s: Option<String>| s.as_deref().map(parse_ts).transpose();
    Ok(ApiKey {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        role: Role::parse(&role).with_context(|| format!("stored role {role:?}"))?,
        organization_id: org.as_deref().map(Uuid::parse_str).transpose()?,
        created_at: parse_ts(&row.try_get::<String, _>(4)?)?,
        expires_at: opt_ts(row.try_get(5)?)?,
        revoked_at: opt_ts(row.try_get(6)?)?,
    })
}

const KEY_SELECT: &str =
    "SELECT id, name, role, organization_id, created_at, expires_at, revoked_at FROM api_keys";

fn report_from_row<R: Row>(row: &R) -> anyhow::Result<Report>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Report {
        id: Uuid::parse_str(&row.try_get::<String, _>(0)?)?,
        service_id: Uuid::parse_str(&row.try_get::<String, _>(1)?)?,
        kind: row.try_get(2)?,
        text: row.try_get(3)?,
        reporter: row.try_get(4)?,
        created_at: row.try_get(5)?,
        resolved_at: row.try_get(6)?,
        resolved_by: row.try_get(7)?,
        resolution: row.try_get(8)?,
    })
}

const REPORT_SELECT: &str = "SELECT id, service_id, kind, text, reporter, created_at, resolved_at, resolved_by, resolution FROM reports";

impl Store {
    /// Stores a new key by the hash of its secret.
    pub async fn insert_key(&self, key: &ApiKey, secret_hash: &str) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query(
                "INSERT INTO api_keys (id, name, role, organization_id, secret_hash, created_at, expires_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(&key.id)
            .bind(&key.name)
            .bind(key.role.as_str())
            .bind(key.organization_id.map(|o| o.to_string()))
            .bind(secret_hash)
            .bind(ts(&key.created_at))
            .bind(key.expires_at.as_ref().map(ts))
            .execute(pool)
            .await
            .context("storing an API key")?;
        });
        Ok(())
    }

    /// The key whose secret hashes to `secret_hash`.
    pub async fn key_by_hash(&self, secret_hash: &str) -> anyhow::Result<Option<ApiKey>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query(&format!("{KEY_SELECT} WHERE secret_hash = $1"))
                .bind(secret_hash)
                .fetch_optional(pool)
                .await
                .context("looking up an API key")?;
            row.as_ref().map(key_from_row).transpose()
        })
    }

    /// Every API key, revoked ones included.
    pub async fn list_keys(&self) -> anyhow::Result<Vec<ApiKey>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!("{KEY_SELECT} ORDER BY created_at, id"))
                .fetch_all(pool)
                .await
                .context("listing API keys")?;
            rows.iter().map(key_from_row).collect()
        })
    }

    /// Revokes a key; false when there is no such key.
    pub async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> anyhow::Result<bool> {
        on_pool!(self, write, pool => {
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            )
            .bind(id)
            .bind(ts(&at))
            .execute(pool)
            .await
            .context("revoking an API key")?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Every change to a record, oldest first.
    pub async fn history(&self, entity: &str, id: Uuid) -> anyhow::Result<Vec<HistoryEntry>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(
                "SELECT seq, at, version, actor, role, action, changes FROM audit_log \
                 WHERE entity = $1 AND entity_id = $2 ORDER BY seq",
            )
            .bind(entity)
            .bind(id.to_string())
            .fetch_all(pool)
            .await
            .context("reading history")?;
            rows.iter()
                .map(|r| {
                    let changes: String = r.try_get(6)?;
                    Ok(HistoryEntry {
                        seq: r.try_get(0)?,
                        at: r.try_get(1)?,
                        version: r.try_get(2)?,
                        actor: r.try_get(3)?,
                        role: r.try_get(4)?,
                        action: r.try_get(5)?,
                        changes: serde_json::from_str(&changes).context("stored changes")?,
                    })
                })
                .collect()
        })
    }

    /// Stores a report about a service.
    pub async fn insert_report(&self, report: &Report) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query(
                "INSERT INTO reports (id, service_id, kind, text, reporter, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(report.id.to_string())
            .bind(report.service_id.to_string())
            .bind(&report.kind)
            .bind(&report.text)
            .bind(&report.reporter)
            .bind(&report.created_at)
            .execute(pool)
            .await
            .context("storing a report")?;
        });
        Ok(())
    }

    /// The reports nobody has resolved yet, oldest first.
    pub async fn open_reports(&self) -> anyhow::Result<Vec<Report>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!("{REPORT_SELECT} WHERE resolved_at IS NULL ORDER BY created_at"))
                .fetch_all(pool)
                .await
                .context("reading reports")?;
            rows.iter().map(report_from_row).collect()
        })
    }

    /// Resolves an open report; false when there is no open report with this id.
    pub async fn resolve_report(
        &self,
        id: Uuid,
        by: &str,
        note: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        on_pool!(self, write, pool => {
            let done = sqlx::query(
                "UPDATE reports SET resolved_at = $2, resolved_by = $3, resolution = $4 \
                 WHERE id = $1 AND resolved_at IS NULL",
            )
            .bind(id.to_string())
            .bind(ts(&at))
            .bind(by)
            .bind(note)
            .execute(pool)
            .await
            .context("resolving a report")?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Items of the review queue already resolved, by item id.
    pub async fn resolved_items(&self) -> anyhow::Result<std::collections::HashSet<String>> {
        on_pool!(self, read, pool => {
            let items: Vec<String> = sqlx::query_scalar("SELECT item FROM review_resolutions")
                .fetch_all(pool)
                .await
                .context("reading resolutions")?;
            Ok(items.into_iter().collect())
        })
    }

    /// Records that a review item was dealt with; false when it already was.
    pub async fn resolve_item(
        &self,
        item: &str,
        service_id: Uuid,
        by: &str,
        note: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        on_pool!(self, write, pool => {
            let done = sqlx::query(
                "INSERT INTO review_resolutions (item, service_id, resolved_at, resolved_by, note) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (item) DO NOTHING",
            )
            .bind(item)
            .bind(service_id.to_string())
            .bind(ts(&at))
            .bind(by)
            .bind(note)
            .execute(pool)
            .await
            .context("resolving a review item")?;
            Ok(done.rows_affected() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_nested_fields() {
        let before = json!({"name": "A", "capacity": {"accepting": "open", "updated_at": "x"}, "phones": [1]});
        let after = json!({"name": "A", "capacity": {"accepting": "closed", "updated_at": "y"}, "email": "e"});
        let fields: Vec<String> = diff(&before, &after).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            vec![
                "capacity.accepting",
                "capacity.updated_at",
                "email",
                "phones"
            ]
        );
    }
}
