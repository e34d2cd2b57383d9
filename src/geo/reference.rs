//! Reference files as NHS and ONS publish them: NHS ODS `epraccur` (GP practices, current
//! and legacy layouts), ePCN practice-to-network links, postcode district centroids,
//! ONSPD-layout postcode files and the sub-ICB location code list.

use super::{Postcode, codes};
use anyhow::{Context, bail};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One kind of reference data, replaced whole on import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GeoKind {
    /// NHS ODS `epraccur.csv`: GP practices (other prescribing settings are dropped).
    Practices,
    /// NHS `ePCN` core partner details: which Primary Care Network each practice is in.
    Pcns,
    /// Postcode district centroids: `outcode,latitude,longitude,…,non_geographic`.
    Districts,
    /// ONSPD-layout postcodes (full ONSPD or the slim `postcode,latitude,longitude,…` form).
    Postcodes,
    /// Sub-ICB locations: ONS code → ODS code and name, as JSON.
    SubIcbs,
}

impl GeoKind {
    /// The name the API and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            GeoKind::Practices => "practices",
            GeoKind::Pcns => "pcns",
            GeoKind::Districts => "districts",
            GeoKind::Postcodes => "postcodes",
            GeoKind::SubIcbs => "sub_icbs",
        }
    }
}

/// A GP practice's lifecycle as ODS records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PracticeStatus {
    /// Open (ODS `A` or `ACTIVE`).
    Active,
    /// Closed (ODS `C` or `INACTIVE`).
    Inactive,
    /// Not operating for now, though not closed (ODS `D` or `DORMANT`).
    Dormant,
    /// Planned but not yet open (ODS `P` or `PROPOSED`).
    Proposed,
}

impl PracticeStatus {
    /// The name the API and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            PracticeStatus::Active => "active",
            PracticeStatus::Inactive => "inactive",
            PracticeStatus::Dormant => "dormant",
            PracticeStatus::Proposed => "proposed",
        }
    }

    /// The value with this name, if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" | "ACTIVE" | "A" => Some(PracticeStatus::Active),
            "inactive" | "INACTIVE" | "C" => Some(PracticeStatus::Inactive),
            "dormant" | "DORMANT" | "D" => Some(PracticeStatus::Dormant),
            "proposed" | "PROPOSED" | "P" => Some(PracticeStatus::Proposed),
            _ => None,
        }
    }
}

/// A GP practice from the NHS register (epraccur), with its PCN and sub-ICB.
#[derive(Debug, Clone, PartialEq)]
pub struct Practice {
    /// ODS practice code, a letter and five digits, e.g. `P84004`.
    pub code: String,
    /// The practice's name as ODS publishes it, usually in capitals.
    pub name: String,
    /// The address lines, joined with ", "; the postcode is separate.
    pub address: String,
    /// The practice's postcode, normalised when it parses, else as the file wrote it.
    pub postcode: String,
    /// Whether the practice is open, as ODS records it.
    pub status: PracticeStatus,
    /// ODS code of the integrated care board, e.g. `QOP`.
    pub icb: Option<String>,
    /// ODS code of the sub-ICB location that commissions it, e.g. `14L`.
    pub sub_icb: Option<String>,
}

/// Which `epraccur` export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpraccurLayout {
    /// Status `ACTIVE`/`INACTIVE`/`DORMANT`, field 26 role ids (`RO76` = GP practice).
    Current,
    /// Status `A`/`C`/`D`/`P`, field 26 a numeric prescribing setting (`4` = GP practice).
    Legacy,
}

/// What an import read: rows kept and rows passed over, with why.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// Rows read into the reference data.
    pub kept: usize,
    /// Rows passed over: not a GP practice, a bad code, an ended link, and so on.
    pub skipped: usize,
    /// For `epraccur`, the layout of its first row; None for other files and empty ones.
    pub layout: Option<EpraccurLayout>,
}

fn field(record: &csv::StringRecord, i: usize) -> &str {
    record.get(i).map(str::trim).unwrap_or("")
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Reads `epraccur`, keeping GP practices of any status and dropping other prescribing
/// settings (pharmacies, prisons, out-of-hours…). The layout is recognised per row.
pub fn read_epraccur(input: impl Read) -> anyhow::Result<(Vec<Practice>, ReadReport)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut out = Vec::new();
    let mut report = ReadReport::default();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("epraccur line {}", i + 1))?;
        if record.len() < 26 {
            bail!(
                "epraccur line {}: {} fields, expected 27 — is this an epraccur file?",
                i + 1,
                record.len()
            );
        }
        let status_raw = field(&record, 12);
        let setting = field(&record, 25);
        let layout = if status_raw.len() == 1 {
            EpraccurLayout::Legacy
        } else {
            EpraccurLayout::Current
        };
        report.layout.get_or_insert(layout);
        let is_practice = match layout {
            EpraccurLayout::Current => setting.split('|').any(|r| r.trim() == "RO76"),
            EpraccurLayout::Legacy => setting == "4",
        };
        let (Some(status), Ok(code)) = (
            PracticeStatus::parse(status_raw),
            codes::parse_gp_practice(field(&record, 0)),
        ) else {
            report.skipped += 1;
            continue;
        };
        if !is_practice {
            report.skipped += 1;
            continue;
        }
        let address: Vec<&str> = (4..9)
            .map(|k| field(&record, k))
            .filter(|s| !s.is_empty())
            .collect();
        let postcode = Postcode::parse(field(&record, 9))
            .map(|p| p.to_string())
            .unwrap_or_else(|_| field(&record, 9).to_string());
        out.push(Practice {
            code,
            name: field(&record, 1).to_string(),
            address: address.join(", "),
            postcode,
            status,
            icb: some(field(&record, 3)),
            sub_icb: some(field(&record, 14)),
        });
        report.kept += 1;
    }
    Ok((out, report))
}

/// A practice's membership of a Primary Care Network.
#[derive(Debug, Clone, PartialEq)]
pub struct PcnLink {
    /// The practice's ODS code, e.g. `P84004`.
    pub practice: String,
    /// The network's ODS code, e.g. `U49529`.
    pub pcn: String,
    /// The network's name as ePCN gives it.
    pub pcn_name: String,
    /// When the practice joined this network; None when the file does not say.
    pub started: Option<NaiveDate>,
}

fn ods_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// Reads ePCN core partner details. A practice listed more than once (it moved network)
/// keeps its current link: the one without an end date that started last.
pub fn read_pcn_links(input: impl Read) -> anyhow::Result<(Vec<PcnLink>, ReadReport)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers().context("reading the ePCN header")?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .with_context(|| format!("the ePCN file has no '{name}' column"))
    };
    let (practice_c, pcn_c, name_c) = (
        col("Partner Organisation Code")?,
        col("PCN Code")?,
        col("PCN Name")?,
    );
    let start_c = col("Practice to PCN Relationship Start Date").ok();
    let end_c = col("Practice to PCN Relationship End Date").ok();
    let mut current: HashMap<String, PcnLink> = HashMap::new();
    let mut report = ReadReport::default();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("ePCN line {}", i + 2))?;
        let ended = end_c.is_some_and(|c| !field(&record, c).is_empty());
        let (Ok(practice), Ok(pcn)) = (
            codes::parse_gp_practice(field(&record, practice_c)),
            codes::parse_pcn(field(&record, pcn_c)),
        ) else {
            report.skipped += 1;
            continue;
        };
        if ended {
            report.skipped += 1;
            continue;
        }
        let link = PcnLink {
            practice: practice.clone(),
            pcn,
            pcn_name: field(&record, name_c).to_string(),
            started: start_c.and_then(|c| ods_date(field(&record, c))),
        };
        match current.get(&practice) {
            Some(old) if old.started >= link.started => report.skipped += 1,
            _ => {
                current.insert(practice, link);
            }
        }
    }
    let mut out: Vec<PcnLink> = current.into_values().collect();
    out.sort_by(|a, b| a.practice.cmp(&b.practice));
    report.kept = out.len();
    Ok((out, report))
}

/// A postcode district's centre, for distances and district eligibility.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictCentroid {
    /// The district (outward code) in capitals, e.g. `M14`.
    pub outcode: String,
    /// Latitude of the district's centre in degrees (WGS84).
    pub latitude: f64,
    /// Longitude of the district's centre in degrees (WGS84).
    pub longitude: f64,
    /// True for a district with no area of its own (PO boxes); never a caller's origin.
    pub non_geographic: bool,
}

/// A latitude/longitude pair ONSPD means: Crown dependencies and postcodes without a
/// grid reference carry 99.999999 / 0.
fn coordinates(lat: &str, lon: &str) -> Option<(f64, f64)> {
    let (lat, lon) = (lat.parse::<f64>().ok()?, lon.parse::<f64>().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && lat != 0.0)
        .then_some((lat, lon))
}

fn header_index(headers: &csv::StringRecord) -> impl Fn(&str) -> Option<usize> + '_ {
    move |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    }
}

/// Reads postcode district centroids (`outcode,latitude,longitude,…,non_geographic`).
pub fn read_districts(input: impl Read) -> anyhow::Result<(Vec<DistrictCentroid>, ReadReport)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers().context("reading the header")?.clone();
    let col = header_index(&headers);
    let (Some(o), Some(la), Some(lo)) = (col("outcode"), col("latitude"), col("longitude")) else {
        bail!("a district file needs 'outcode', 'latitude' and 'longitude' columns");
    };
    let ng = col("non_geographic");
    let mut out = Vec::new();
    let mut report = ReadReport::default();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("line {}", i + 2))?;
        let outcode = field(&record, o).to_ascii_uppercase();
        match (
            super::postcode::parse_outward(&outcode),
            coordinates(field(&record, la), field(&record, lo)),
        ) {
            (Ok(_), Some((latitude, longitude))) => {
                out.push(DistrictCentroid {
                    outcode,
                    latitude,
                    longitude,
                    non_geographic: ng.is_some_and(|c| field(&record, c) == "1"),
                });
                report.kept += 1;
            }
            _ => report.skipped += 1,
        }
    }
    Ok((out, report))
}

/// One postcode as ONSPD describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostcodeRecord {
    /// The full postcode, normalised (`M14 5AB`).
    pub postcode: String,
    /// Latitude in degrees (WGS84); None without a grid reference (e.g. Crown dependencies).
    pub latitude: Option<f64>,
    /// Longitude in degrees (WGS84); None exactly when `latitude` is.
    pub longitude: Option<f64>,
    /// ONS code of the local authority district, e.g. `E08000003`; None when ONSPD has none.
    pub local_authority: Option<String>,
    /// ONS code of the sub-ICB location (E38…).
    pub sub_icb: Option<String>,
    /// ONS code of the ICB (E54…).
    pub icb: Option<String>,
    /// When the postcode was terminated (`YYYYMM`); `None` while it is live.
    pub terminated: Option<String>,
}

/// ONSPD writes `E99999999` and the like for "no such area".
fn ons_code(s: &str) -> Option<String> {
    (s.len() == 9 && !s.ends_with("99999999")).then(|| s.to_string())
}

/// Reads a postcode file: full ONSPD (`pcds`, `lat`, `long`, `oslaua`, `sicbl`, `icb`,
/// `doterm`) or the slim form (`postcode`, `latitude`, `longitude`, `lad`,
/// `sub_icb_location`, `icb`, `date_terminated`). Streams, as full ONSPD has millions of
/// rows; rows whose postcode does not parse are counted in `skipped` and passed over.
pub fn read_postcodes<R: Read>(
    input: R,
    skipped: Arc<AtomicUsize>,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<PostcodeRecord>>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers().context("reading the header")?.clone();
    let col = header_index(&headers);
    let either = |a: &str, b: &str| col(a).or_else(|| col(b));
    let Some(pc) = either("pcds", "postcode") else {
        bail!("a postcode file needs a 'pcds' (ONSPD) or 'postcode' column");
    };
    let lat = either("lat", "latitude");
    let lon = either("long", "longitude");
    let la = either("oslaua", "lad");
    let sicbl = either("sicbl", "sub_icb_location");
    let icb = col("icb");
    let term = either("doterm", "date_terminated");
    let get = |r: &csv::StringRecord, c: Option<usize>| c.map_or("", |c| field(r, c)).to_string();
    Ok(reader
        .into_records()
        .enumerate()
        .filter_map(move |(i, record)| {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    return Some(Err(anyhow::Error::new(e).context(format!("line {}", i + 2))));
                }
            };
            let Ok(postcode) = Postcode::parse(field(&record, pc)) else {
                skipped.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            let coords = coordinates(&get(&record, lat), &get(&record, lon));
            let terminated = get(&record, term);
            Some(Ok(PostcodeRecord {
                postcode: postcode.to_string(),
                latitude: coords.map(|c| c.0),
                longitude: coords.map(|c| c.1),
                local_authority: ons_code(&get(&record, la)),
                sub_icb: ons_code(&get(&record, sicbl)),
                icb: ons_code(&get(&record, icb)),
                terminated: (!terminated.is_empty()).then_some(terminated),
            }))
        }))
}

/// An NHS sub-ICB location: its ODS code, ONS code and name.
#[derive(Debug, Clone, PartialEq)]
pub struct SubIcb {
    /// ONS code, e.g. `E38000217`.
    pub ons: String,
    /// ODS code, e.g. `14L`.
    pub ods: String,
    /// The location's name.
    pub name: String,
}

/// Reads the sub-ICB location list: `{"E38000217": {"ccg19cdh": "14L", "name": "…"}, …}`.
pub fn read_sub_icbs(input: impl Read) -> anyhow::Result<(Vec<SubIcb>, ReadReport)> {
    #[derive(serde::Deserialize)]
    struct Entry {
        ccg19cdh: String,
        name: String,
    }
    let map: HashMap<String, Entry> =
        serde_json::from_reader(input).context("a sub-ICB file is a JSON object of ONS codes")?;
    let mut report = ReadReport::default();
    let mut out = Vec::new();
    for (ons, e) in map {
        match codes::parse_sub_icb(&e.ccg19cdh) {
            Ok(ods) if ons.starts_with("E38") => {
                out.push(SubIcb {
                    ons,
                    ods,
                    name: e.name,
                });
                report.kept += 1;
            }
            _ => report.skipped += 1,
        }
    }
    out.sort_by(|a, b| a.ons.cmp(&b.ons));
    Ok((out, report))
}
