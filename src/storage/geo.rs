//! Reference data for eligibility: replaced a kind at a time, read a row at a time.

use super::on_pool;
use super::{Backend, Store, ts};
use crate::domain::Gender;
use crate::geo::Postcode;
use crate::geo::eligibility::{Caller, PostcodeInfo, PracticeInfo};
use crate::geo::reference::{
    DistrictCentroid, GeoKind, PcnLink, PostcodeRecord, Practice, PracticeStatus, SubIcb,
};
use anyhow::Context;
use chrono::Utc;
use sqlx::{QueryBuilder, Row};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a reference lookup is kept. Reference data changes when a release is
/// imported (monthly at most); an import by this process forgets every lookup at once,
/// one by another process is seen within this time.
const REFERENCE_KEPT_FOR: Duration = Duration::from_secs(60);
/// Lookups kept per kind at most; past that, the oldest half-minute's worth goes.
const REFERENCE_KEPT: usize = 20_000;

/// Answers of one kind of reference lookup, by key, with when they were read.
struct RecentLookups<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V> Default for RecentLookups<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> RecentLookups<V> {
    fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (read, value) = entries.get(key)?;
        (read.elapsed() < REFERENCE_KEPT_FOR).then(|| value.clone())
    }

    fn put(&self, key: &str, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= REFERENCE_KEPT {
                entries.retain(|_, (read, _)| read.elapsed() < REFERENCE_KEPT_FOR / 2);
                if entries.len() >= REFERENCE_KEPT {
                    entries.clear();
                }
            }
            entries.insert(key.to_string(), (Instant::now(), value));
        }
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// The answer for `key`, read with `read` unless kept and recent.
    async fn get_or_read<F>(&self, key: &str, read: F) -> anyhow::Result<V>
    where
        F: std::future::Future<Output = anyhow::Result<V>>,
    {
        if let Some(kept) = self.get(key) {
            return Ok(kept);
        }
        let value = read.await?;
        self.put(key, value.clone());
        Ok(value)
    }
}

/// The reference lookups a search makes to understand its caller (a practice is three
/// queries, a postcode one, a district one or two), kept for [`REFERENCE_KEPT_FOR`] so
/// that a busy navigator service does not ask the database the same thing many times a
/// second.
#[derive(Default)]
pub(super) struct ReferenceCache {
    practices: RecentLookups<Option<PracticeInfo>>,
    postcodes: RecentLookups<Option<PostcodeInfo>>,
    districts: RecentLookups<Option<(f64, f64)>>,
}

impl ReferenceCache {
    fn clear(&self) {
        self.practices.clear();
        self.postcodes.clear();
        self.districts.clear();
    }
}

/// One column value of a reference row.
pub enum Cell {
    /// A text value, or NULL.
    Text(Option<String>),
    /// A floating-point value, or NULL.
    Real(Option<f64>),
    /// A boolean.
    Bool(bool),
}

/// A reference row and the table it lives in.
pub trait GeoRow {
    /// The table the rows go into.
    const TABLE: &'static str;
    /// Its columns, in the order `cells` gives them.
    const COLUMNS: &'static [&'static str];
    /// The row's values.
    fn cells(self) -> Vec<Cell>;
}

impl GeoRow for Practice {
    const TABLE: &'static str = "gp_practices";
    const COLUMNS: &'static [&'static str] = &[
        "code", "name", "address", "postcode", "status", "icb", "sub_icb", "search",
    ];
    fn cells(self) -> Vec<Cell> {
        let search = format!(
            "{} {} {} {} {}",
            self.name,
            self.address,
            self.postcode,
            self.postcode.replace(' ', ""),
            self.code
        )
        .to_lowercase();
        vec![
            Cell::Text(Some(self.code)),
            Cell::Text(Some(self.name)),
            Cell::Text(Some(self.address)),
            Cell::Text(Some(self.postcode)),
            Cell::Text(Some(self.status.as_str().to_string())),
            Cell::Text(self.icb),
            Cell::Text(self.sub_icb),
            Cell::Text(Some(search)),
        ]
    }
}

impl GeoRow for PcnLink {
    const TABLE: &'static str = "practice_pcns";
    const COLUMNS: &'static [&'static str] = &["practice", "pcn", "pcn_name", "started"];
    fn cells(self) -> Vec<Cell> {
        vec![
            Cell::Text(Some(self.practice)),
            Cell::Text(Some(self.pcn)),
            Cell::Text(Some(self.pcn_name)),
            Cell::Text(self.started.map(|d| d.to_string())),
        ]
    }
}

impl GeoRow for DistrictCentroid {
    const TABLE: &'static str = "postcode_districts";
    const COLUMNS: &'static [&'static str] =
        &["outcode", "latitude", "longitude", "non_geographic"];
    fn cells(self) -> Vec<Cell> {
        vec![
            Cell::Text(Some(self.outcode)),
            Cell::Real(Some(self.latitude)),
            Cell::Real(Some(self.longitude)),
            Cell::Bool(self.non_geographic),
        ]
    }
}

impl GeoRow for PostcodeRecord {
    const TABLE: &'static str = "postcodes";
    const COLUMNS: &'static [&'static str] = &[
        "postcode",
        "latitude",
        "longitude",
        "local_authority",
        "sub_icb",
        "icb",
        "terminated",
    ];
    fn cells(self) -> Vec<Cell> {
        vec![
            Cell::Text(Some(self.postcode)),
            Cell::Real(self.latitude),
            Cell::Real(self.longitude),
            Cell::Text(self.local_authority),
            Cell::Text(self.sub_icb),
            Cell::Text(self.icb),
            Cell::Text(self.terminated),
        ]
    }
}

impl GeoRow for SubIcb {
    const TABLE: &'static str = "sub_icbs";
    const COLUMNS: &'static [&'static str] = &["ons", "ods", "name"];
    fn cells(self) -> Vec<Cell> {
        vec![
            Cell::Text(Some(self.ons)),
            Cell::Text(Some(self.ods)),
            Cell::Text(Some(self.name)),
        ]
    }
}

/// Rows per INSERT: well under SQLite's limit on bound parameters.
const BATCH: usize = 1000;

/// A release of one kind of reference data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GeoRelease {
    /// Which reference data: `practices`, `pcns`, `districts`, `postcodes` or `sub_icbs`.
    pub kind: String,
    /// The name of the file it was imported from.
    pub source: String,
    /// Rows imported.
    pub rows: i64,
    /// When it was imported, as an RFC 3339 time (UTC).
    pub imported_at: String,
}

/// A practice as the finder lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PracticeSummary {
    /// ODS practice code, e.g. `P84004`.
    pub code: String,
    /// The practice's name as ODS publishes it, usually in capitals.
    pub name: String,
    /// The address lines, joined with ", ".
    pub address: String,
    /// The practice's postcode.
    pub postcode: String,
    /// active, inactive, dormant or proposed.
    pub status: String,
    /// ODS code of its Primary Care Network, e.g. `U49529`; null when it is in none.
    pub pcn: Option<String>,
    /// The network's name as ePCN gives it.
    pub pcn_name: Option<String>,
    /// ODS code of the sub-ICB location that commissions it, e.g. `14L`.
    pub sub_icb: Option<String>,
    /// ODS code of its integrated care board, e.g. `QOP`.
    pub icb: Option<String>,
}

const PRACTICE_SELECT: &str = "SELECT p.code, p.name, p.address, p.postcode, p.status, \
     n.pcn, n.pcn_name, p.sub_icb, p.icb FROM gp_practices p \
     LEFT JOIN practice_pcns n ON n.practice = p.code";

fn practice_from_row<R: Row>(row: &R) -> anyhow::Result<PracticeSummary>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(PracticeSummary {
        code: row.try_get(0)?,
        name: row.try_get(1)?,
        address: row.try_get(2)?,
        postcode: row.try_get(3)?,
        status: row.try_get(4)?,
        pcn: row.try_get(5)?,
        pcn_name: row.try_get(6)?,
        sub_icb: row.try_get(7)?,
        icb: row.try_get(8)?,
    })
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// Replaces all reference data of `kind` with `rows`, in one transaction: readers see
    /// the old release or the new one, never a mixture. Returns the rows written.
    pub async fn replace_geo<T: GeoRow>(
        &self,
        kind: GeoKind,
        source: &str,
        rows: impl IntoIterator<Item = anyhow::Result<T>>,
        mut progress: impl FnMut(usize),
    ) -> anyhow::Result<usize> {
        let mut written = 0usize;
        let mut rows = rows.into_iter().peekable();
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            sqlx::query(&format!("DELETE FROM {}", T::TABLE))
                .execute(&mut *tx)
                .await
                .with_context(|| format!("clearing {}", T::TABLE))?;
            while rows.peek().is_some() {
                let batch: Vec<Vec<Cell>> = rows
                    .by_ref()
                    .take(BATCH)
                    .map(|r| r.map(GeoRow::cells))
                    .collect::<anyhow::Result<_>>()?;
                let n = batch.len();
                let mut q = QueryBuilder::new(format!(
                    "INSERT INTO {} ({}) ",
                    T::TABLE,
                    T::COLUMNS.join(", ")
                ));
                q.push_values(batch, |mut b, cells| {
                    for cell in cells {
                        match cell {
                            Cell::Text(v) => b.push_bind(v),
                            Cell::Real(v) => b.push_bind(v),
                            Cell::Bool(v) => b.push_bind(v),
                        };
                    }
                });
                q.push(format!(" ON CONFLICT ({}) DO NOTHING", T::COLUMNS[0]));
                q.build()
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("writing {}", T::TABLE))?;
                written += n;
                progress(n);
            }
            sqlx::query(
                "INSERT INTO geo_releases (kind, source, rows, imported_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind) DO UPDATE SET source = excluded.source, rows = excluded.rows, \
                 imported_at = excluded.imported_at",
            )
            .bind(kind.as_str())
            .bind(source)
            .bind(written as i64)
            .bind(ts(&Utc::now()))
            .execute(&mut *tx)
            .await
            .context("recording the release")?;
            tx.commit().await.context("committing")?;
        });
        self.reference.clear();
        Ok(written)
    }

    /// The reference data loaded, one release per kind.
    pub async fn geo_releases(&self) -> anyhow::Result<Vec<GeoRelease>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query("SELECT kind, source, rows, imported_at FROM geo_releases ORDER BY kind")
                .fetch_all(pool)
                .await
                .context("reading releases")?;
            rows.iter()
                .map(|r| {
                    Ok(GeoRelease {
                        kind: r.try_get(0)?,
                        source: r.try_get(1)?,
                        rows: r.try_get(2)?,
                        imported_at: r.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    /// A practice with its network and, where ONSPD knows its postcode, the ONS codes of
    /// its sub-ICB and ICB.
    pub async fn practice(&self, code: &str) -> anyhow::Result<Option<PracticeInfo>> {
        self.reference
            .practices
            .get_or_read(code, self.read_practice(code))
            .await
    }

    async fn read_practice(&self, code: &str) -> anyhow::Result<Option<PracticeInfo>> {
        let found = on_pool!(self, read, pool => {
            let row = sqlx::query(&format!("{PRACTICE_SELECT} WHERE p.code = $1"))
                .bind(code)
                .fetch_optional(pool)
                .await
                .context("reading a GP practice")?;
            row.as_ref().map(practice_from_row).transpose()?
        });
        let Some(p) = found else {
            return Ok(None);
        };
        let sub_icb_ons = match &p.sub_icb {
            Some(ods) => on_pool!(self, read, pool => {
                sqlx::query_scalar::<_, String>("SELECT ons FROM sub_icbs WHERE ods = $1 ORDER BY ons")
                    .bind(ods)
                    .fetch_all(pool)
                    .await
                    .context("reading sub-ICB codes")?
            }),
            None => Vec::new(),
        };
        let icb_ons = self.postcode(&p.postcode).await?.and_then(|pc| pc.icb);
        Ok(Some(PracticeInfo {
            status: PracticeStatus::parse(&p.status).unwrap_or(PracticeStatus::Active),
            code: p.code,
            name: p.name,
            postcode: p.postcode,
            pcn: p.pcn,
            pcn_name: p.pcn_name,
            sub_icb: p.sub_icb,
            sub_icb_ons,
            icb: p.icb,
            icb_ons,
        }))
    }

    /// Practices whose name, address, postcode or code contain every word of `q`,
    /// active ones first.
    pub async fn find_practices(
        &self,
        q: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<PracticeSummary>> {
        let words: Vec<String> = q
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .take(8)
            .map(|w| format!("%{}%", like_escape(&w.to_lowercase())))
            .collect();
        on_pool!(self, read, pool => {
            let mut b = QueryBuilder::new(PRACTICE_SELECT);
            b.push(" WHERE TRUE");
            for w in &words {
                b.push(" AND p.search LIKE ").push_bind(w.clone()).push(" ESCAPE '\\'");
            }
            b.push(" ORDER BY CASE WHEN p.code = ")
                .push_bind(q.trim().to_uppercase())
                .push(" THEN 0 WHEN p.status = 'active' THEN 1 ELSE 2 END, p.name LIMIT ")
                .push_bind(i64::from(limit));
            let rows = b.build().fetch_all(pool).await.context("finding GP practices")?;
            rows.iter().map(practice_from_row).collect()
        })
    }

    /// What ONSPD says of a postcode, if loaded.
    pub async fn postcode(&self, postcode: &str) -> anyhow::Result<Option<PostcodeInfo>> {
        self.reference
            .postcodes
            .get_or_read(postcode, self.read_postcode(postcode))
            .await
    }

    async fn read_postcode(&self, postcode: &str) -> anyhow::Result<Option<PostcodeInfo>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query(
                "SELECT latitude, longitude, local_authority, sub_icb, icb, terminated \
                 FROM postcodes WHERE postcode = $1",
            )
            .bind(postcode)
            .fetch_optional(pool)
            .await
            .context("reading a postcode")?;
            row.map(|r| -> anyhow::Result<PostcodeInfo> {
                let lat: Option<f64> = r.try_get(0)?;
                let lon: Option<f64> = r.try_get(1)?;
                Ok(PostcodeInfo {
                    location: lat.zip(lon),
                    local_authority: r.try_get(2)?,
                    sub_icb: r.try_get(3)?,
                    icb: r.try_get(4)?,
                    terminated: r.try_get(5)?,
                })
            })
            .transpose()
        })
    }

    /// The centroid of a postcode district (outward code), if loaded.
    pub async fn district_centroid(&self, outcode: &str) -> anyhow::Result<Option<(f64, f64)>> {
        self.reference
            .districts
            .get_or_read(outcode, self.read_district_centroid(outcode))
            .await
    }

    async fn read_district_centroid(&self, outcode: &str) -> anyhow::Result<Option<(f64, f64)>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query(
                "SELECT latitude, longitude FROM postcode_districts WHERE outcode = $1 AND NOT non_geographic",
            )
            .bind(outcode)
            .fetch_optional(pool)
            .await
            .context("reading a postcode district")?;
            row.map(|r| -> anyhow::Result<(f64, f64)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()
        })
    }
}

/// Where a caller's distances are measured from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Origin {
    /// Latitude in degrees (WGS84).
    pub latitude: f64,
    /// Longitude in degrees (WGS84).
    pub longitude: f64,
    /// `postcode` (the unit's own centroid) or `district` (the district's centroid).
    #[schema(value_type = String, pattern = "^(postcode|district)$")]
    pub from: &'static str,
}

impl Store {
    /// What the reference data knows of a caller's postcode and GP practice.
    pub async fn caller(
        &self,
        postcode: Option<Postcode>,
        gp: Option<String>,
        age: Option<u8>,
        gender: Option<Gender>,
    ) -> anyhow::Result<Caller> {
        let postcode_info = match &postcode {
            Some(p) if !p.is_pseudo() => self.postcode(&p.to_string()).await?,
            _ => None,
        };
        let practice = match &gp {
            Some(code) => self.practice(code).await?,
            None => None,
        };
        Ok(Caller {
            postcode,
            postcode_info,
            gp,
            practice,
            age,
            gender,
        })
    }

    /// The caller's location: their postcode's own centroid, else its district's.
    pub async fn origin(&self, caller: &Caller) -> anyhow::Result<Option<Origin>> {
        let Some(p) = caller.postcode.as_ref().filter(|p| !p.is_pseudo()) else {
            return Ok(None);
        };
        if let Some((latitude, longitude)) = caller.postcode_info.as_ref().and_then(|i| i.location)
        {
            return Ok(Some(Origin {
                latitude,
                longitude,
                from: "postcode",
            }));
        }
        for outcode in [p.outward(), p.district()] {
            if let Some((latitude, longitude)) = self.district_centroid(outcode).await? {
                return Ok(Some(Origin {
                    latitude,
                    longitude,
                    from: "district",
                }));
            }
        }
        Ok(None)
    }
}
