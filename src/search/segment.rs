//! What searches read of a segment besides its posting lists, made once when the segment
//! is loaded (a tantivy `Warmer`) or kept from an earlier search: segments never change,
//! so none of it goes stale.

use super::StoredHit;
use super::bits::Bits;
use super::collect::rank_class;
use super::schema::{self, GENDERS, REMOTE_MODES, State, Traits};
use crate::domain::{DeliveryMode, ServiceStatus, taxonomy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, FuzzyTermQuery, Query};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Searcher, SearcherGeneration, SegmentReader, Term, Warmer};

/// Values worked out from a segment on demand and kept, at most `limit` of them (past
/// that, all are forgotten and the busy ones soon come back).
struct Kept<K, V> {
    values: Mutex<HashMap<K, Arc<V>>>,
    limit: usize,
}

impl<K: Eq + std::hash::Hash + Clone, V> Kept<K, V> {
    fn new(limit: usize) -> Self {
        Self {
            values: Mutex::new(HashMap::new()),
            limit,
        }
    }

    /// The value for `key`, worked out with `read` unless kept from before.
    fn get_or_read<E>(&self, key: &K, read: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        if let Some(v) = self.values.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(v);
        }
        let v = Arc::new(read()?);
        if let Ok(mut kept) = self.values.lock() {
            if kept.len() >= self.limit {
                kept.clear();
            }
            kept.insert(key.clone(), v.clone());
        }
        Ok(v)
    }
}

/// One service as a segment's fast fields describe it.
#[derive(Clone, Copy, Default)]
pub(super) struct Record {
    pub(super) state: u64,
    pub(super) categories: u64,
    pub(super) traits: u64,
    /// Unix seconds of the last capacity update.
    pub(super) capacity_updated: Option<i64>,
    pub(super) coords: Option<(f64, f64)>,
}

/// The days from which capacity and verification count as recent (see [`rank_class`]).
pub type Freshness = (u64, u64);

/// What a segment's searches read, copied out of its fast fields once when the segment is
/// loaded: a bit set for each value filters and facets ask about, and the few per-document
/// values that are not yes-or-no, each in its own array so that a search reads only what
/// it needs.
pub struct SegmentVitals {
    pub(super) max_doc: u32,
    pub(super) states: Vec<u64>,
    /// Youngest and oldest age served.
    pub(super) ages: Vec<[u8; 2]>,
    /// Minutes since 1970 of the last capacity update (rounded down); 0 for never.
    pub(super) capacity_minutes: Vec<u32>,
    /// NaN when the service has no coordinates.
    pub(super) coords: Vec<[f32; 2]>,
    pub(super) by_status: Vec<Bits>,
    pub(super) by_mode: Vec<Bits>,
    pub(super) by_category: Vec<Bits>,
    /// By [`schema::accepting_ord`].
    pub(super) by_accepting: Vec<Bits>,
    /// By [`Traits::free`].
    pub(super) by_free: Vec<Bits>,
    /// By [`Traits::gender`].
    pub(super) by_gender: Vec<Bits>,
    pub(super) self_referral: Bits,
    /// Reached by telephone or online, so never too far away.
    pub(super) remote: Bits,
    /// Each document's [`rank_class`] for the freshness last asked for: it changes once a
    /// day, so it is kept until then.
    classes: Mutex<Option<(Freshness, Arc<Vec<u8>>)>>,
    /// The documents with a term, for terms filters ask about again and again (a
    /// caller's coverage tokens, languages): a segment never changes, so neither do these.
    term_sets: Kept<Term, Bits>,
    /// The documents with a word a typo or two from a term (a word of a question that
    /// the directory does not contain), by term and edits allowed: finding those words
    /// in the segment's dictionary is costly, and callers' words recur.
    near_sets: Kept<(Term, u8), Bits>,
    /// Hits decoded from the segment's stored documents, for the next search that shows
    /// them (as Solr's document cache does): a segment's documents never change.
    stored: Kept<DocId, StoredHit>,
}

/// Decoded hits a segment keeps at most (a few KiB each).
const STORED_KEPT: usize = 2048;

/// Memory a segment may keep in document sets of each kind (terms, near spellings).
const SETS_KEPT_BYTES: usize = 16 << 20;

/// Document sets of each kind a segment keeps at most: up to 1024, fewer for segments
/// so large that a set takes much room (12 KiB a set at 100,000 services).
fn sets_kept(max_doc: u32) -> usize {
    (SETS_KEPT_BYTES / (max_doc as usize / 8).max(1)).clamp(64, 1024)
}

impl SegmentVitals {
    fn read(segment: &SegmentReader) -> tantivy::Result<Self> {
        let ff = segment.fast_fields();
        let state = ff.u64(schema::STATE)?;
        let traits = ff.u64(schema::TRAITS)?;
        let categories = ff.u64(schema::CATEGORY_MASK)?;
        let capacity_updated = ff.i64(schema::CAPACITY_UPDATED)?;
        let lat = ff.f64(schema::LATITUDE)?;
        let lon = ff.f64(schema::LONGITUDE)?;
        Ok(Self::from_records(
            segment.max_doc(),
            (0..segment.max_doc()).map(|d| Record {
                state: state.first(d).unwrap_or(0),
                categories: categories.first(d).unwrap_or(0),
                traits: traits.first(d).unwrap_or(0),
                capacity_updated: capacity_updated.first(d),
                coords: lat.first(d).zip(lon.first(d)),
            }),
        ))
    }

    pub(super) fn from_records(max_doc: u32, records: impl Iterator<Item = Record>) -> Self {
        let sets = |n: usize| vec![Bits::empty(max_doc); n];
        let mut v = Self {
            max_doc,
            states: Vec::with_capacity(max_doc as usize),
            ages: Vec::with_capacity(max_doc as usize),
            capacity_minutes: Vec::with_capacity(max_doc as usize),
            coords: Vec::with_capacity(max_doc as usize),
            by_status: sets(ServiceStatus::ALL.len()),
            by_mode: sets(DeliveryMode::ALL.len()),
            by_category: sets(taxonomy::CATEGORIES.len()),
            by_accepting: sets(4),
            by_free: sets(3),
            by_gender: sets(GENDERS.len()),
            self_referral: Bits::empty(max_doc),
            remote: Bits::empty(max_doc),
            classes: Mutex::new(None),
            term_sets: Kept::new(sets_kept(max_doc)),
            near_sets: Kept::new(sets_kept(max_doc)),
            stored: Kept::new(STORED_KEPT),
        };
        for (d, r) in (0..max_doc).zip(records) {
            let state = State::unpack(r.state);
            let traits = Traits::unpack(r.traits);
            for (sets, value) in [
                (&mut v.by_status, state.status),
                (&mut v.by_accepting, state.accepting),
                (&mut v.by_free, traits.free),
                (&mut v.by_gender, traits.gender),
            ] {
                if let Some(set) = sets.get_mut(value as usize) {
                    set.insert(d);
                }
            }
            for (sets, mask) in [
                (&mut v.by_mode, state.modes),
                (&mut v.by_category, r.categories),
            ] {
                for (i, set) in sets.iter_mut().enumerate() {
                    if mask >> i & 1 == 1 {
                        set.insert(d);
                    }
                }
            }
            if traits.self_referral {
                v.self_referral.insert(d);
            }
            if state.modes & REMOTE_MODES != 0 {
                v.remote.insert(d);
            }
            v.states.push(r.state);
            v.ages.push([traits.min_age, traits.max_age]);
            v.capacity_minutes.push(
                r.capacity_updated
                    .filter(|t| *t > 0)
                    .map_or(0, |t| u32::try_from(t / 60).unwrap_or(u32::MAX)),
            );
            v.coords.push(match r.coords {
                Some((lat, lon)) => [lat as f32, lon as f32],
                None => [f32::NAN; 2],
            });
        }
        v
    }

    pub(super) fn coords(&self, doc: DocId) -> Option<(f64, f64)> {
        let [lat, lon] = *self.coords.get(doc as usize)?;
        (!lat.is_nan() && !lon.is_nan()).then(|| (f64::from(lat), f64::from(lon)))
    }

    /// The documents of the segment that have `term`, kept for next time.
    pub(super) fn with_term(
        &self,
        segment: &SegmentReader,
        term: &Term,
    ) -> tantivy::Result<Arc<Bits>> {
        self.term_sets.get_or_read(term, || {
            let mut set = Bits::empty(self.max_doc);
            for_each_posting(segment, term, IndexRecordOption::Basic, |d, _| {
                set.insert(d)
            })?;
            Ok(set)
        })
    }

    /// The documents of the segment with a word at most `distance` edits from `term`
    /// (a swap counting as one), kept for next time.
    pub(super) fn near(
        &self,
        segment: &SegmentReader,
        term: &Term,
        distance: u8,
    ) -> tantivy::Result<Arc<Bits>> {
        self.near_sets.get_or_read(&(term.clone(), distance), || {
            let weight = FuzzyTermQuery::new(term.clone(), distance, true)
                .weight(EnableScoring::disabled_from_schema(segment.schema()))?;
            let mut set = Bits::empty(self.max_doc);
            weight.for_each_no_score(segment, &mut |docs| {
                for &d in docs {
                    set.insert(d);
                }
            })?;
            Ok(set)
        })
    }

    /// The decoded hit of a document, read with `read` unless kept from before.
    pub fn stored(
        &self,
        doc: DocId,
        read: impl FnOnce() -> anyhow::Result<StoredHit>,
    ) -> anyhow::Result<Arc<StoredHit>> {
        self.stored.get_or_read(&doc, read)
    }

    /// Each document's rank class for this freshness.
    pub(super) fn classes(&self, fresh: Freshness) -> Arc<Vec<u8>> {
        let mut kept = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        match &*kept {
            Some((f, classes)) if *f == fresh => classes.clone(),
            _ => {
                let classes: Arc<Vec<u8>> = Arc::new(
                    self.states
                        .iter()
                        .map(|s| rank_class(State::unpack(*s), fresh))
                        .collect(),
                );
                *kept = Some((fresh, classes.clone()));
                classes
            }
        }
    }
}

/// [`SegmentVitals`] of every live segment, filled as the reader loads new segments.
#[derive(Default)]
pub struct VitalsCache {
    segments: RwLock<HashMap<SegmentId, Arc<SegmentVitals>>>,
}

impl VitalsCache {
    /// The segment's vitals, read now if the reader has not warmed it yet.
    pub fn get(&self, segment: &SegmentReader) -> tantivy::Result<Arc<SegmentVitals>> {
        let id = segment.segment_id();
        if let Some(v) = self.segments.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(v);
        }
        let v = Arc::new(SegmentVitals::read(segment)?);
        if let Ok(mut m) = self.segments.write() {
            m.insert(id, v.clone());
        }
        Ok(v)
    }
}

impl Warmer for VitalsCache {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for segment in searcher.segment_readers() {
            self.get(segment)?;
        }
        Ok(())
    }

    fn garbage_collect(&self, live: &[&SearcherGeneration]) {
        if let Ok(mut m) = self.segments.write() {
            m.retain(|id, _| live.iter().any(|g| g.segments().contains_key(id)));
        }
    }
}

/// Calls `each(doc, term frequency)` for every document of the segment that has `term`,
/// deleted ones included, reading the posting list a block at a time.
pub(super) fn for_each_posting(
    segment: &SegmentReader,
    term: &Term,
    record: IndexRecordOption,
    mut each: impl FnMut(DocId, u32),
) -> tantivy::Result<()> {
    let index = segment.inverted_index(term.field())?;
    let Some(mut block) = index.read_block_postings(term, record)? else {
        return Ok(());
    };
    let with_freqs = record.has_freq();
    while !block.docs().is_empty() {
        if with_freqs {
            for (&d, &tf) in block.docs().iter().zip(block.freqs()) {
                each(d, tf);
            }
        } else {
            for &d in block.docs() {
                each(d, 1);
            }
        }
        block.advance();
    }
    Ok(())
}
