//! The database: the truth the search index is derived from. SQLite by default,
//! PostgreSQL when the URL says `postgres://`; the same SQL runs on both.
//!
//! What lives here (this layer may import `domain`, `geo`, `understand` and the link
//! checker's result types from `links`, its neighbour; never `search`, `directory` or the
//! front doors): [`Store`] with records and the change log
//! in this file, writes in one transaction of either backend (`writes`), and one module
//! per kind of row: `access` (keys, history, reports), `geo` (reference data),
//! `links`, `reminders`, `retention`, `sources`, `understanding` (lexicon entries, gaps).

pub mod access;
pub mod geo;
pub mod links;
pub mod reminders;
pub mod retention;
pub mod sources;
pub mod understanding;
mod writes;

use crate::domain::{
    Organization, OrganizationContent, Provenance, RecordMeta, Service, ServiceContent,
    ServiceStatus,
};
use access::Audit;
use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;
use writes::{Writes, begin_write};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Serialises writers on PostgreSQL so change-log sequence order is commit order and a
/// replica following the log never skips a write that committed late.
const CHANGE_LOG_LOCK: i64 = 0x0051_676e_706f_7374;

/// What can go wrong with a write that the caller should answer differently.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No record with this id.
    #[error("not found")]
    NotFound,
    /// The record is no longer at the version the writer read.
    #[error("the record has changed: current version is {current}")]
    VersionMismatch {
        /// The version it is at now.
        current: i64,
    },
    /// A record with this id exists already.
    #[error("a record with this id already exists")]
    AlreadyExists,
    /// Anything else, such as the database being unreachable.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an error means the database cannot be reached or written just now (down or
/// restarting, out of connections, its disk full or read-only), so that asking again later
/// may succeed; `None` for any other error. The API answers these with 503, not 500.
pub fn unavailable_because(error: &anyhow::Error) -> Option<&'static str> {
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<sqlx::Error>()? {
            sqlx::Error::PoolTimedOut => Some("no database connection came free in time"),
            sqlx::Error::PoolClosed => Some("the database connections are closing"),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some("the database cannot be reached"),
            sqlx::Error::Database(db) => {
                let code = db.code()?;
                match code.parse::<u32>() {
                    // SQLite's primary result codes (the extended code's low byte).
                    Ok(n) => match n & 0xff {
                        5 | 6 => Some("the database is busy"),
                        8 => Some("the database is read-only"),
                        10 => Some("the database's disk cannot be read or written"),
                        13 => Some("the database's disk is full"),
                        _ => None,
                    },
                    // PostgreSQL's SQLSTATE classes: connection exceptions, insufficient
                    // resources (disk full, too many connections), operator intervention
                    // (shutting down, starting up), a read-only standby.
                    Err(_) if code.starts_with("08") => Some("the database connection was lost"),
                    Err(_) if code.starts_with("53") => Some("the database is out of resources"),
                    Err(_) if code.starts_with("57P") => Some("the database is restarting"),
                    Err(_) if code == "25006" => Some("the database is read-only"),
                    Err(_) => None,
                }
            }
            _ => None,
        })
}

struct SqlitePools {
    read: SqlitePool,
    /// One connection, so writers queue in the process instead of failing with SQLITE_BUSY.
    write: SqlitePool,
}

enum Backend {
    Sqlite(SqlitePools),
    Postgres(PgPools),
}

/// Writes have connections of their own, so that a burst of reads (searches placing
/// their callers) never keeps a partner's write waiting for a connection.
struct PgPools {
    read: PgPool,
    write: PgPool,
}

/// The directory's storage.
pub struct Store {
    backend: Backend,
    /// Reference lookups kept for a while (see [`geo::ReferenceCache`]).
    reference: geo::ReferenceCache,
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per
/// backend, so the same SQL serves both.
macro_rules! on_pool {
    ($store:expr, $which:ident, $pool:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite(s) => {
                let $pool = &s.$which;
                $body
            }
            Backend::Postgres(p) => {
                let $pool = &p.$which;
                $body
            }
        }
    };
}
use on_pool;

/// Filters for listing services.
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Only this organisation's services.
    pub organization_id: Option<Uuid>,
    /// Only services with one of these statuses; empty for any.
    pub statuses: Vec<ServiceStatus>,
    /// Leave out services with these statuses.
    pub excluded_statuses: Vec<ServiceStatus>,
    /// Taxonomy ids a service must have, every one of them.
    pub categories: Vec<String>,
    /// Only services changed after this time.
    pub modified_after: Option<DateTime<Utc>>,
    /// Only services open to someone this old or older (their maximum age, if any, is at
    /// least this).
    pub open_from_age: Option<u8>,
    /// Only services open to someone this old or younger (their minimum age, if any, is
    /// at most this).
    pub open_to_age: Option<u8>,
}

/// Adds `filter`'s conditions (after a `WHERE …`) to a service query; `age` is the
/// backend's SQL for reading an integer field of the stored document.
fn push_service_filter<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    filter: &'a ServiceFilter,
    age: fn(&str) -> String,
) where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(org) = filter.organization_id {
        q.push(" AND s.organization_id = ")
            .push_bind(org.to_string());
    }
    if !filter.statuses.is_empty() {
        q.push(" AND s.status IN (");
        let mut sep = q.separated(", ");
        for s in &filter.statuses {
            sep.push_bind(s.as_str());
        }
        q.push(")");
    }
    if !filter.excluded_statuses.is_empty() {
        q.push(" AND s.status NOT IN (");
        let mut sep = q.separated(", ");
        for s in &filter.excluded_statuses {
            sep.push_bind(s.as_str());
        }
        q.push(")");
    }
    for c in &filter.categories {
        q.push(" AND EXISTS (SELECT 1 FROM service_categories c WHERE c.service_id = s.id AND c.category = ")
            .push_bind(c.as_str())
            .push(")");
    }
    if let Some(after) = filter.modified_after {
        q.push(" AND s.last_modified > ").push_bind(ts(&after));
    }
    if let Some(a) = filter.open_from_age {
        let max = age("maximum_age");
        q.push(format!(" AND ({max} IS NULL OR {max} >= "))
            .push_bind(i64::from(a))
            .push(")");
    }
    if let Some(a) = filter.open_to_age {
        let min = age("minimum_age");
        q.push(format!(" AND ({min} IS NULL OR {min} <= "))
            .push_bind(i64::from(a))
            .push(")");
    }
}

fn sqlite_doc_int(field: &str) -> String {
    format!("CAST(json_extract(s.doc, '$.{field}') AS INTEGER)")
}

fn postgres_doc_int(field: &str) -> String {
    format!("((s.doc::jsonb)->>'{field}')::bigint")
}

/// Rows per statement when restoring an import batch (well under SQLite's and
/// PostgreSQL's limits on bound parameters).
const RESTORE_CHUNK: usize = 500;

/// Timestamps are stored as fixed-width RFC 3339 text so they sort as they compare.
pub fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("stored timestamp {s:?} is not RFC 3339"))?
        .with_timezone(&Utc))
}

fn parse_uuid(s: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(s).with_context(|| format!("stored id {s:?} is not a UUID"))
}

const SERVICE_SELECT: &str = "SELECT s.id, s.doc, s.version, s.created_at, s.last_modified, \
     o.id, o.doc, o.retired, o.version, o.created_at, o.last_modified, \
     r.source_id, src.name, r.record_id, r.copied_at, r.vanished_at \
     FROM services s JOIN organizations o ON o.id = s.organization_id \
     LEFT JOIN source_records r ON r.service_id = s.id \
     LEFT JOIN sources src ON src.id = r.source_id";

const ORG_SELECT: &str =
    "SELECT o.id, o.doc, o.retired, o.version, o.created_at, o.last_modified FROM organizations o";

fn org_from_row<R: Row>(row: &R, at: usize) -> anyhow::Result<Organization>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let doc: String = row.try_get(at + 1)?;
    let content: OrganizationContent =
        serde_json::from_str(&doc).context("stored organisation document does not parse")?;
    Ok(Organization {
        id: parse_uuid(&row.try_get::<String, _>(at)?)?,
        content,
        retired: row.try_get(at + 2)?,
        meta: RecordMeta {
            version: row.try_get(at + 3)?,
            created_at: parse_ts(&row.try_get::<String, _>(at + 4)?)?,
            last_modified: parse_ts(&row.try_get::<String, _>(at + 5)?)?,
        },
    })
}

fn service_from_row<R: Row>(row: &R) -> anyhow::Result<Service>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get(0)?;
    let doc: String = row.try_get(1)?;
    let content: ServiceContent = serde_json::from_str(&doc)
        .with_context(|| format!("stored document of service {id} does not parse"))?;
    Ok(Service {
        id: parse_uuid(&id)?,
        content,
        meta: RecordMeta {
            version: row.try_get(2)?,
            created_at: parse_ts(&row.try_get::<String, _>(3)?)?,
            last_modified: parse_ts(&row.try_get::<String, _>(4)?)?,
        },
        organization: org_from_row(row, 5)?,
        source: provenance_from_row(row, 11)?,
    })
}

fn provenance_from_row<R: Row>(row: &R, at: usize) -> anyhow::Result<Option<Provenance>>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let Some(source_id) = row.try_get::<Option<String>, _>(at)? else {
        return Ok(None);
    };
    let text = |i| row.try_get::<Option<String>, _>(at + i);
    Ok(Some(Provenance {
        source_id: parse_uuid(&source_id)?,
        name: text(1)?.unwrap_or_default(),
        record_id: text(2)?.unwrap_or_default(),
        copied_at: parse_ts(&text(3)?.unwrap_or_default())?,
        vanished_at: text(4)?.as_deref().map(parse_ts).transpose()?,
    }))
}

impl Store {
    /// Connects to `sqlite://…` (creating the file and its folder) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = |connections| {
                PgPoolOptions::new()
                    .max_connections(connections)
                    // Fail fast while the server is down or restarting: the API answers 503.
                    // No ping before each use: with the server shutting down, that ping
                    // could hold every request for 7–16 s (seen in the restart drill); a
                    // connection the restart broke fails its one request with 503 instead.
                    .acquire_timeout(Duration::from_secs(3))
                    .test_before_acquire(false)
                    .connect(url)
            };
            Backend::Postgres(PgPools {
                read: pool(16).await.context("connecting to PostgreSQL")?,
                write: pool(4).await.context("connecting to PostgreSQL")?,
            })
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("{url:?} is not a valid SQLite URL"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            if let Some(parent) = options.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating the folder {}", parent.display()))?;
            }
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .context("opening the SQLite database")?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .context("opening the SQLite database")?;
            Backend::Sqlite(SqlitePools { read, write })
        } else {
            anyhow::bail!(
                "the database URL must start with sqlite: or postgres:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            );
        };
        Ok(Store {
            backend,
            reference: geo::ReferenceCache::default(),
        })
    }

    /// Applies the backend's migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => SQLITE_MIGRATIONS.run(&s.write).await,
            Backend::Postgres(p) => POSTGRES_MIGRATIONS.run(&p.write).await,
        }
        .context("applying database migrations")
    }

    /// Writes a consistent copy of a SQLite database to `file` (a new file), while other
    /// connections go on reading and writing. PostgreSQL is backed up with its own tools
    /// (`pg_dump`), which this refuses with that advice.
    pub async fn backup_to(&self, file: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            !file.exists(),
            "{} exists already: back up into a new file",
            file.display()
        );
        match &self.backend {
            Backend::Sqlite(s) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(file.to_string_lossy().into_owned())
                    .execute(&s.read)
                    .await
                    .with_context(|| format!("copying the database into {}", file.display()))?;
                Ok(())
            }
            Backend::Postgres(_) => anyhow::bail!(
                "signpost backs up SQLite only; for PostgreSQL use pg_dump (e.g. pg_dump -Fc -f signpost.dump DATABASE_URL) and pg_restore"
            ),
        }
    }

    /// Which backend this is, for logs and readiness.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> anyhow::Result<()> {
        on_pool!(self, read, pool => {
            sqlx::query("SELECT 1").execute(pool).await.context("pinging the database")?;
        });
        Ok(())
    }

    /// The organisation with this id, if any.
    pub async fn get_organization(&self, id: Uuid) -> anyhow::Result<Option<Organization>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query(&format!("{ORG_SELECT} WHERE o.id = $1"))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .context("reading an organisation")?;
            row.map(|r| org_from_row(&r, 0)).transpose()
        })
    }

    /// Organisations in id order after `after`, at most `limit`.
    pub async fn list_organizations(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> anyhow::Result<Vec<Organization>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!("{ORG_SELECT} WHERE o.id > $1 ORDER BY o.id LIMIT $2"))
                .bind(after.map(|a| a.to_string()).unwrap_or_default())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .context("listing organisations")?;
            rows.iter().map(|r| org_from_row(r, 0)).collect()
        })
    }

    /// One numbered page of the organisations still in use, in id order, and how many.
    pub async fn page_organizations(
        &self,
        offset: u64,
        limit: u32,
    ) -> anyhow::Result<(Vec<Organization>, u64)> {
        on_pool!(self, read, pool => {
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations o WHERE NOT o.retired")
                .fetch_one(pool)
                .await
                .context("counting organisations")?;
            let rows = sqlx::query(&format!("{ORG_SELECT} WHERE NOT o.retired ORDER BY o.id LIMIT $1 OFFSET $2"))
                .bind(i64::from(limit))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
                .context("listing organisations")?;
            let page = rows.iter().map(|r| org_from_row(r, 0)).collect::<anyhow::Result<Vec<_>>>()?;
            Ok((page, u64::try_from(total).unwrap_or(0)))
        })
    }

    /// Stores a new organisation with its audit row.
    pub async fn insert_organization(
        &self,
        org: &Organization,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            tx.write_organization(org, None).await?;
            tx.write_audit("organization", org.id, org.meta.version, &org.meta.last_modified, audit).await?;
            tx.commit().await.context("committing")?;
        });
        Ok(())
    }

    /// Replaces an organisation if it is still at `expected` version; every one of its
    /// services is logged as changed, since they carry its name. Returns the last sequence.
    pub async fn update_organization(
        &self,
        org: &Organization,
        expected: i64,
        retire_services: bool,
        audit: &Audit,
    ) -> Result<Option<i64>, StoreError> {
        let mut last = None;
        let retired_with = Audit {
            actor: audit.actor.clone(),
            action: "retire",
            changes: vec![access::Change {
                field: "status".into(),
                before: serde_json::Value::Null,
                after: "defunct".into(),
            }],
        };
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            tx.write_organization(org, Some(expected)).await?;
            tx.write_audit("organization", org.id, org.meta.version, &org.meta.last_modified, audit).await?;
            let rows = sqlx::query(&format!("{SERVICE_SELECT} WHERE s.organization_id = $1"))
                .bind(org.id.to_string())
                .fetch_all(&mut *tx)
                .await
                .context("reading the organisation's services")?;
            for row in rows {
                let mut svc = service_from_row(&row)?;
                let version = svc.meta.version;
                let live = matches!(
                    svc.content.status,
                    ServiceStatus::Active | ServiceStatus::TemporarilyClosed
                );
                if retire_services && live {
                    let mut audit = retired_with.clone();
                    audit.changes[0].before = svc.content.status.as_str().into();
                    svc.content.status = ServiceStatus::Defunct;
                    svc.content.temporary_closure = None;
                    svc.meta.version += 1;
                    svc.meta.last_modified = org.meta.last_modified;
                    tx.write_audit("service", svc.id, svc.meta.version, &svc.meta.last_modified, &audit).await?;
                }
                last = Some(tx.write_service(&svc, Some(version)).await?);
            }
            tx.commit().await.context("committing")?;
        });
        Ok(last)
    }

    /// The service with this id, if any.
    pub async fn get_service(&self, id: Uuid) -> anyhow::Result<Option<Service>> {
        Ok(self.get_services(&[id]).await?.pop())
    }

    /// The services with these ids that exist, in no particular order.
    pub async fn get_services(&self, ids: &[Uuid]) -> anyhow::Result<Vec<Service>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, read, pool => {
            let mut q = QueryBuilder::new(SERVICE_SELECT);
            q.push(" WHERE s.id IN (");
            let mut sep = q.separated(", ");
            for id in ids {
                sep.push_bind(id.to_string());
            }
            q.push(")");
            let rows = q.build().fetch_all(pool).await.context("reading services")?;
            rows.iter().map(service_from_row).collect()
        })
    }

    /// Services matching `filter`, in id order after `after`, at most `limit`.
    pub async fn list_services(
        &self,
        filter: &ServiceFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> anyhow::Result<Vec<Service>> {
        let ids = self.service_ids(filter, after, 0, limit).await?;
        self.services_in_order(&ids).await
    }

    /// One numbered page of the services matching `filter`, in id order, and how many
    /// match in all (for feeds whose pages are numbered).
    pub async fn page_services(
        &self,
        filter: &ServiceFilter,
        offset: u64,
        limit: u32,
    ) -> anyhow::Result<(Vec<Service>, u64)> {
        let age = self.doc_int();
        let total: i64 = on_pool!(self, read, pool => {
            let mut q = QueryBuilder::new("SELECT COUNT(*) FROM services s WHERE TRUE");
            push_service_filter(&mut q, filter, age);
            q.build_query_scalar().fetch_one(pool).await.context("counting services")?
        });
        let ids = self.service_ids(filter, None, offset, limit).await?;
        let page = self.services_in_order(&ids).await?;
        Ok((page, u64::try_from(total).unwrap_or(0)))
    }

    /// The ids of the services matching `filter`, in id order. Ids first, records after:
    /// the ids come from the indexes alone, so a deep page or a long listing never sorts
    /// or reads the stored documents it skips.
    async fn service_ids(
        &self,
        filter: &ServiceFilter,
        after: Option<Uuid>,
        offset: u64,
        limit: u32,
    ) -> anyhow::Result<Vec<Uuid>> {
        let age = self.doc_int();
        let ids: Vec<String> = on_pool!(self, read, pool => {
            let mut q = QueryBuilder::new("SELECT s.id FROM services s WHERE s.id > ");
            q.push_bind(after.map(|a| a.to_string()).unwrap_or_default());
            push_service_filter(&mut q, filter, age);
            q.push(" ORDER BY s.id LIMIT ")
                .push_bind(i64::from(limit))
                .push(" OFFSET ")
                .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
            q.build_query_scalar().fetch_all(pool).await.context("listing service ids")?
        });
        ids.iter()
            .map(|id| Uuid::parse_str(id).with_context(|| format!("stored id {id:?}")))
            .collect()
    }

    /// The services with these ids, in this order.
    async fn services_in_order(&self, ids: &[Uuid]) -> anyhow::Result<Vec<Service>> {
        let mut by_id: std::collections::HashMap<Uuid, Service> = self
            .get_services(ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// The backend's SQL for an integer field of a service's stored document.
    fn doc_int(&self) -> fn(&str) -> String {
        match self.backend {
            Backend::Sqlite(_) => sqlite_doc_int,
            Backend::Postgres(_) => postgres_doc_int,
        }
    }

    /// Stores a new service (and its new organisation, if any); returns the change sequence.
    pub async fn insert_service(
        &self,
        svc: &Service,
        new_org: Option<&Organization>,
        audit: &Audit,
    ) -> Result<i64, StoreError> {
        let seq;
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            if let Some(org) = new_org {
                tx.write_organization(org, None).await?;
                tx.write_audit("organization", org.id, org.meta.version, &org.meta.last_modified, audit).await?;
            }
            seq = tx.write_service(svc, None).await?;
            tx.write_audit("service", svc.id, svc.meta.version, &svc.meta.last_modified, audit).await?;
            tx.commit().await.context("committing")?;
        });
        Ok(seq)
    }

    /// Replaces a service if it is still at version `expected`; returns the change sequence.
    pub async fn update_service(
        &self,
        svc: &Service,
        expected: i64,
        audit: &Audit,
    ) -> Result<i64, StoreError> {
        let seq;
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            seq = tx.write_service(svc, Some(expected)).await?;
            tx.write_audit("service", svc.id, svc.meta.version, &svc.meta.last_modified, audit).await?;
            tx.commit().await.context("committing")?;
        });
        Ok(seq)
    }

    /// Writes records exactly as given (an import of an export): organisations that do
    /// not exist yet are created, services are inserted or replaced. One transaction.
    pub async fn restore(
        &self,
        orgs: &[Organization],
        services: &[Service],
    ) -> Result<Option<i64>, StoreError> {
        let mut last = None;
        let import_audit = Audit {
            actor: crate::domain::access::Principal::system("import"),
            action: "import",
            changes: Vec::new(),
        };
        let audit_changes =
            serde_json::to_string(&import_audit.changes).context("serialising changes")?;
        on_pool!(self, write, pool => {
            let mut tx = begin_write(pool).await?;
            // Many rows per statement: a statement is a round trip to the database.
            for chunk in orgs.chunks(RESTORE_CHUNK) {
                let rows = chunk
                    .iter()
                    .map(|o| Ok((o, serde_json::to_string(&o.content)?)))
                    .collect::<Result<Vec<_>, serde_json::Error>>()
                    .context("serialising an organisation")?;
                let mut q = QueryBuilder::new(
                    "INSERT INTO organizations (id, name, doc, retired, version, created_at, last_modified) ",
                );
                q.push_values(rows, |mut b, (o, doc)| {
                    b.push_bind(o.id.to_string())
                        .push_bind(o.content.name.as_str().to_string())
                        .push_bind(doc)
                        .push_bind(o.retired)
                        .push_bind(o.meta.version)
                        .push_bind(ts(&o.meta.created_at))
                        .push_bind(ts(&o.meta.last_modified));
                });
                q.push(" ON CONFLICT (id) DO NOTHING");
                q.build().execute(&mut *tx).await.context("restoring organisations")?;
            }
            for chunk in services.chunks(RESTORE_CHUNK) {
                let rows = chunk
                    .iter()
                    .map(|s| Ok((s, serde_json::to_string(&s.content)?)))
                    .collect::<Result<Vec<_>, serde_json::Error>>()
                    .context("serialising a service")?;
                let mut q = QueryBuilder::new(
                    "INSERT INTO services (id, organization_id, status, doc, version, created_at, last_modified) ",
                );
                q.push_values(rows, |mut b, (s, doc)| {
                    b.push_bind(s.id.to_string())
                        .push_bind(s.organization.id.to_string())
                        .push_bind(s.content.status.as_str())
                        .push_bind(doc)
                        .push_bind(s.meta.version)
                        .push_bind(ts(&s.meta.created_at))
                        .push_bind(ts(&s.meta.last_modified));
                });
                q.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
                let inserted: std::collections::HashSet<String> = q
                    .build_query_scalar::<String>()
                    .fetch_all(&mut *tx)
                    .await
                    .context("restoring services")?
                    .into_iter()
                    .collect();
                // The first of each id the insert wrote is new; the rest (already stored, or
                // given twice) are replaced one by one, in the order given.
                let mut seen = std::collections::HashSet::new();
                let (new, existing): (Vec<&Service>, Vec<&Service>) = chunk
                    .iter()
                    .partition(|s| inserted.contains(&s.id.to_string()) && seen.insert(s.id));
                for svc in existing {
                    let current: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM services WHERE id = $1")
                            .bind(svc.id.to_string())
                            .fetch_optional(&mut *tx)
                            .await
                            .context("reading a service's version")?;
                    last = last.max(Some(tx.write_service(svc, current).await?));
                    tx.write_audit("service", svc.id, svc.meta.version, &svc.meta.last_modified, &import_audit).await?;
                }
                if new.is_empty() {
                    continue;
                }
                let categories: Vec<(String, String)> = new
                    .iter()
                    .flat_map(|s| {
                        s.content
                            .categories
                            .iter()
                            .map(|c| (c.as_str().to_string(), s.id.to_string()))
                    })
                    .collect();
                for part in categories.chunks(RESTORE_CHUNK * 4) {
                    let mut q = QueryBuilder::new("INSERT INTO service_categories (category, service_id) ");
                    q.push_values(part, |mut b, (c, id)| {
                        b.push_bind(c.clone()).push_bind(id.clone());
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await.context("writing categories")?;
                }
                let mut q = QueryBuilder::new("INSERT INTO change_log (service_id, changed_at) ");
                q.push_values(&new, |mut b, s| {
                    b.push_bind(s.id.to_string()).push_bind(ts(&s.meta.last_modified));
                });
                q.push(" RETURNING seq");
                let seqs: Vec<i64> = q
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .context("appending to the change log")?;
                last = last.max(seqs.into_iter().max());
                let mut q = QueryBuilder::new(
                    "INSERT INTO audit_log (entity, entity_id, version, at, actor, role, action, changes) ",
                );
                q.push_values(&new, |mut b, s| {
                    b.push_bind("service")
                        .push_bind(s.id.to_string())
                        .push_bind(s.meta.version)
                        .push_bind(ts(&s.meta.last_modified))
                        .push_bind(import_audit.actor.key_id.clone())
                        .push_bind(import_audit.actor.role.as_str())
                        .push_bind(import_audit.action)
                        .push_bind(audit_changes.clone());
                });
                q.build().execute(&mut *tx).await.context("writing the audit trail")?;
            }
            tx.commit().await.context("committing")?;
        });
        Ok(last)
    }

    /// The newest change-log sequence, 0 when nothing was ever written.
    pub async fn last_change(&self) -> anyhow::Result<i64> {
        on_pool!(self, read, pool => {
            let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM change_log")
                .fetch_one(pool)
                .await
                .context("reading the change log")?;
            Ok(seq.unwrap_or(0))
        })
    }

    /// When the first change after `seq` was made, if there is one.
    pub async fn first_change_after(&self, seq: i64) -> anyhow::Result<Option<(i64, String)>> {
        on_pool!(self, read, pool => {
            let row: Option<(i64, String)> = sqlx::query_as(
                "SELECT seq, changed_at FROM change_log WHERE seq > $1 ORDER BY seq LIMIT 1",
            )
            .bind(seq)
            .fetch_optional(pool)
            .await
            .context("reading the change log")?;
            Ok(row)
        })
    }

    /// Changes after `seq`, oldest first, at most `limit`: (sequence, service id).
    pub async fn changes_after(&self, seq: i64, limit: u32) -> anyhow::Result<Vec<(i64, Uuid)>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query("SELECT seq, service_id FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(seq)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .context("reading the change log")?;
            rows.iter()
                .map(|r| Ok((r.try_get::<i64, _>(0)?, parse_uuid(&r.try_get::<String, _>(1)?)?)))
                .collect()
        })
    }

    /// Number of services, for readiness and summaries.
    pub async fn count_services(&self) -> anyhow::Result<i64> {
        on_pool!(self, read, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM services")
                .fetch_one(pool)
                .await
                .context("counting services")
        })
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => {
                s.write.close().await;
                s.read.close().await;
            }
            Backend::Postgres(p) => {
                p.write.close().await;
                p.read.close().await;
            }
        }
    }
}
