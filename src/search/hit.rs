//! What a hit shows of a stored document, and where a service's live document is.

use super::schema::{self, Fields};
use super::segment;
use crate::domain::{
    Capacity, Coverage, Gender, Location, Provenance, ServiceStatus, TemporaryClosure,
};
use anyhow::Context;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::value::RawValue;
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

/// The parts of a stored summary that warnings and snippets read.
#[derive(Debug, Default, Deserialize)]
pub struct SummaryFacts {
    /// The service's description, for snippets.
    #[serde(default)]
    pub description: String,
    /// Youngest age accepted, in years.
    pub minimum_age: Option<u8>,
    /// Oldest age accepted, in years.
    pub maximum_age: Option<u8>,
    /// Which genders it is for.
    #[serde(default)]
    pub gender: Gender,
    /// Where it is delivered, for distances.
    #[serde(default)]
    pub locations: Vec<Location>,
    /// Its URLs' link-check flags, for warnings.
    #[serde(default)]
    pub link_flags: Vec<schema::LinkFlag>,
    /// Whether it is running; None reads as active.
    pub status: Option<ServiceStatus>,
    /// Why and until when it is closed, for the warning.
    pub temporary_closure: Option<TemporaryClosure>,
    /// Whether it is taking referrals, for the warnings.
    pub capacity: Option<Capacity>,
    /// When a person last confirmed it accurate, for the `not_verified` warning.
    pub assured_date: Option<NaiveDate>,
    /// Where a record from another directory's feed came from, for the source warnings.
    pub source: Option<Provenance>,
    /// The record's version (see `RecordMeta`).
    pub version: Option<i64>,
}

/// What a hit shows of a stored document, decoded once (see `SegmentVitals::stored`).
pub struct StoredHit {
    pub(super) summary: Box<RawValue>,
    pub(super) vitals: SummaryFacts,
    pub(super) coverage: Coverage,
}

impl StoredHit {
    pub(super) fn read(
        searcher: &Searcher,
        address: DocAddress,
        f: &Fields,
    ) -> anyhow::Result<Self> {
        let doc: TantivyDocument = searcher.doc(address).context("reading a stored document")?;
        Self::of_document(&doc, f)
    }

    /// The hit a document shows, read from the document itself.
    pub(super) fn of_document(doc: &TantivyDocument, f: &Fields) -> anyhow::Result<Self> {
        let text = |field| doc.get_first(field).and_then(|v| v.as_str());
        let raw = text(f.summary).unwrap_or("{}");
        Ok(Self {
            vitals: serde_json::from_str(raw).context("stored summary")?,
            summary: RawValue::from_string(raw.to_string()).context("stored summary")?,
            coverage: match text(f.coverage_doc) {
                Some(json) => serde_json::from_str(json).context("stored coverage")?,
                None => Coverage::default(),
            },
        })
    }
}

/// Where the live document of a service is.
pub(super) fn find(
    searcher: &Searcher,
    f: &Fields,
    id: uuid::Uuid,
) -> anyhow::Result<Option<DocAddress>> {
    let term = Term::from_field_text(f.id, &id.to_string());
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let mut found = None;
        segment::for_each_posting(
            segment,
            &term,
            tantivy::schema::IndexRecordOption::Basic,
            |doc, _| {
                if !segment.is_deleted(doc) {
                    found = Some(doc);
                }
            },
        )
        .context("finding a service in the index")?;
        if let Some(doc) = found {
            return Ok(Some(DocAddress::new(ord as u32, doc)));
        }
    }
    Ok(None)
}
