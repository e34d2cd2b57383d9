//! One pass over the matches of a search: the total, the facet counts and the best page,
//! ranked by relevance and state (or distance).
//!
//! What each match costs is what makes broad questions ("lonely" matches one service in
//! eight) fast or slow, so the pass touches as little memory per match as it can: filters
//! on status, delivery mode and coverage are one bit set per segment and query, built from
//! per-segment bit sets; ranking reads one byte per match (the service's rank class);
//! facets are counted at the end by intersecting the set of matches with per-value bit
//! sets. Only the rarer filters (age, gender, cost, self-referral, accepting, distance)
//! and sorting by distance read a match's full record.

use super::StoredHit;
use super::query::{CATEGORY_SCORE, Plan, StateFilter, TYPO_SCORE};
use super::schema::{self, Fields, GENDERS, REMOTE_MODES, State, Traits};
use crate::domain::{DeliveryMode, ServiceStatus, taxonomy};
use crate::geo::eligibility::distance_km;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tantivy::collector::TopNComputer;
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::query::{Bm25Weight, EnableScoring, FuzzyTermQuery, Query, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{
    DocAddress, DocId, Score, Searcher, SearcherGeneration, SegmentReader, Term, Warmer,
};

/// One bit per document of a segment.
#[derive(Clone, Debug, PartialEq)]
struct Bits(Vec<u64>);

impl Bits {
    fn empty(max_doc: u32) -> Self {
        Self(vec![0; (max_doc as usize).div_ceil(64)])
    }

    fn insert(&mut self, doc: DocId) {
        if let Some(w) = self.0.get_mut(doc as usize / 64) {
            *w |= 1 << (doc % 64);
        }
    }

    fn contains(&self, doc: DocId) -> bool {
        self.0
            .get(doc as usize / 64)
            .is_some_and(|w| w >> (doc % 64) & 1 == 1)
    }

    fn union_with(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    fn full(max_doc: u32) -> Self {
        let mut set = Self(vec![u64::MAX; (max_doc as usize).div_ceil(64)]);
        if let Some(last) = set.0.last_mut()
            && !max_doc.is_multiple_of(64)
        {
            *last = (1 << (max_doc % 64)) - 1;
        }
        set
    }

    fn len(&self) -> usize {
        self.count_both(self) as usize
    }

    /// Calls `each` with the position of every word that has a document.
    fn for_each_word(&self, mut each: impl FnMut(usize)) {
        for (i, w) in self.0.iter().enumerate() {
            if *w != 0 {
                each(i);
            }
        }
    }

    /// Calls `each` with every document in the set, in order.
    fn for_each(&self, mut each: impl FnMut(DocId)) {
        for (i, &word) in self.0.iter().enumerate() {
            let mut w = word;
            while w != 0 {
                each((i * 64) as DocId + w.trailing_zeros());
                w &= w - 1;
            }
        }
    }

    /// Keeps the documents for which `keep` (called in order) says so.
    fn retain(&mut self, mut keep: impl FnMut(DocId) -> bool) {
        for (i, word) in self.0.iter_mut().enumerate() {
            let mut w = *word;
            while w != 0 {
                let bit = w.trailing_zeros();
                if !keep((i * 64) as DocId + bit) {
                    *word &= !(1 << bit);
                }
                w &= w - 1;
            }
        }
    }

    fn subtract(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= !b;
        }
    }

    fn intersect_with(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }

    /// How many documents are in both sets. Facets call this a few dozen times per
    /// search, so it uses the processor's population count where it has one.
    fn count_both(&self, other: &Bits) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512vpopcntdq") {
                // SAFETY: the processor has these instructions.
                return unsafe { count_both_avx512(&self.0, &other.0) };
            }
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the processor has the instruction.
                return unsafe { count_both_popcnt(&self.0, &other.0) };
            }
        }
        count_both_portable(&self.0, &other.0)
    }

    /// The union of the sets in `sets` whose bit is set in `mask`.
    fn union_of(max_doc: u32, sets: &[Bits], mask: u64) -> Bits {
        let mut out = Bits::empty(max_doc);
        for (i, set) in sets.iter().enumerate() {
            if mask >> i & 1 == 1 {
                out.union_with(set);
            }
        }
        out
    }
}

#[inline(always)]
fn count_both_portable(a: &[u64], b: &[u64]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u64::from((x & y).count_ones()))
        .sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn count_both_avx512(a: &[u64], b: &[u64]) -> u64 {
    count_both_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn count_both_popcnt(a: &[u64], b: &[u64]) -> u64 {
    count_both_portable(a, b)
}

/// One service as a segment's fast fields describe it.
#[derive(Clone, Copy, Default)]
struct Record {
    state: u64,
    categories: u64,
    traits: u64,
    /// Unix seconds of the last capacity update.
    capacity_updated: Option<i64>,
    coords: Option<(f64, f64)>,
}

/// The days from which capacity and verification count as recent (see [`rank_class`]).
type Freshness = (u64, u64);

/// What a segment's searches read, copied out of its fast fields once when the segment is
/// loaded: a bit set for each value filters and facets ask about, and the few per-document
/// values that are not yes-or-no, each in its own array so that a search reads only what
/// it needs.
pub struct SegmentVitals {
    max_doc: u32,
    states: Vec<u64>,
    /// Youngest and oldest age served.
    ages: Vec<[u8; 2]>,
    /// Minutes since 1970 of the last capacity update (rounded down); 0 for never.
    capacity_minutes: Vec<u32>,
    /// NaN when the service has no coordinates.
    coords: Vec<[f32; 2]>,
    by_status: Vec<Bits>,
    by_mode: Vec<Bits>,
    by_category: Vec<Bits>,
    /// By [`accepting_ord`].
    by_accepting: Vec<Bits>,
    /// By [`Traits::free`].
    by_free: Vec<Bits>,
    /// By [`Traits::gender`].
    by_gender: Vec<Bits>,
    self_referral: Bits,
    /// Reached by telephone or online, so never too far away.
    remote: Bits,
    /// Each document's [`rank_class`] for the freshness last asked for: it changes once a
    /// day, so it is kept until then.
    classes: Mutex<Option<(Freshness, Arc<Vec<u8>>)>>,
    /// The documents with a term, for terms filters ask about again and again (a
    /// caller's coverage tokens, languages): a segment never changes, so neither do these.
    term_sets: Mutex<HashMap<Term, Arc<Bits>>>,
    /// Hits decoded from the segment's stored documents, for the next search that shows
    /// them (as Solr's document cache does): a segment's documents never change.
    stored: Mutex<HashMap<DocId, Arc<StoredHit>>>,
}

/// Decoded hits a segment keeps at most (a few KiB each).
const STORED_KEPT: usize = 2048;

/// Terms whose documents a segment keeps at most (about 12 KiB each per 100,000 services).
const TERM_SETS_KEPT: usize = 1024;

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

    fn from_records(max_doc: u32, records: impl Iterator<Item = Record>) -> Self {
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
            term_sets: Mutex::new(HashMap::new()),
            stored: Mutex::new(HashMap::new()),
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

    fn coords(&self, doc: DocId) -> Option<(f64, f64)> {
        let [lat, lon] = *self.coords.get(doc as usize)?;
        (!lat.is_nan() && !lon.is_nan()).then(|| (f64::from(lat), f64::from(lon)))
    }

    /// The documents of the segment that have `term`, kept for next time.
    fn with_term(&self, segment: &SegmentReader, term: &Term) -> tantivy::Result<Arc<Bits>> {
        if let Some(set) = self
            .term_sets
            .lock()
            .ok()
            .and_then(|m| m.get(term).cloned())
        {
            return Ok(set);
        }
        let mut set = Bits::empty(self.max_doc);
        for_each_posting(segment, term, IndexRecordOption::Basic, |d, _| {
            set.insert(d)
        })?;
        let set = Arc::new(set);
        if let Ok(mut kept) = self.term_sets.lock() {
            if kept.len() >= TERM_SETS_KEPT {
                kept.clear();
            }
            kept.insert(term.clone(), set.clone());
        }
        Ok(set)
    }

    /// The decoded hit of a document, read with `read` unless kept from before.
    pub fn stored(
        &self,
        doc: DocId,
        read: impl FnOnce() -> anyhow::Result<StoredHit>,
    ) -> anyhow::Result<Arc<StoredHit>> {
        if let Some(hit) = self.stored.lock().ok().and_then(|m| m.get(&doc).cloned()) {
            return Ok(hit);
        }
        let hit = Arc::new(read()?);
        if let Ok(mut kept) = self.stored.lock() {
            if kept.len() >= STORED_KEPT {
                kept.clear();
            }
            kept.insert(doc, hit.clone());
        }
        Ok(hit)
    }

    /// Each document's rank class for this freshness.
    fn classes(&self, fresh: Freshness) -> Arc<Vec<u8>> {
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

/// How results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Sort {
    /// Relevance scaled by state.
    #[default]
    Relevance,
    /// Nearest to this point first; services without coordinates last (remote ones
    /// before the rest).
    Distance((f64, f64)),
}

/// What of a service's state ranking looks at, in one byte: status (2 bits), capacity
/// (3 bits: [`State::accepting`], or 4 when the news is stale), recently verified (1 bit)
/// and link flagged (1 bit). `fresh` holds the first [`State`] days of capacity news and
/// verification that still count as recent.
pub fn rank_class(state: State, fresh: Freshness) -> u8 {
    let (fresh_capacity, fresh_assured) = fresh;
    let capacity = if state.capacity_day < fresh_capacity {
        4
    } else {
        state.accepting.min(3)
    };
    (state.status.min(3)
        | capacity << 2
        | u64::from(state.assured_day >= fresh_assured) << 5
        | u64::from(state.link_flagged) << 6) as u8
}

/// How much a service of this [`rank_class`] scales its relevance: open, accepting and
/// recently verified first; closed and flagged last.
pub fn class_factor(class: u8) -> f32 {
    let status = match class & 0b11 {
        0 => 1.0,
        1 => 0.5,
        _ => 0.2,
    };
    let capacity = match (class >> 2) & 0b111 {
        0 => 1.0,
        1 => 0.9,
        2 => 0.6,
        _ => 0.85,
    };
    let verified = if class >> 5 & 1 == 1 { 1.0 } else { 0.9 };
    let links = if class >> 6 & 1 == 1 { 0.5 } else { 1.0 };
    status * capacity * verified * links
}

/// [`class_factor`] of every class, looked up per match.
fn class_factors() -> [f32; 128] {
    std::array::from_fn(|c| class_factor(c as u8))
}

/// Facet counts, indexed like `taxonomy::CATEGORIES`, `DeliveryMode::ALL` and
/// `ServiceStatus::ALL`.
pub struct FacetTally {
    pub category: Vec<u64>,
    pub mode: Vec<u64>,
    pub status: Vec<u64>,
}

impl FacetTally {
    fn new() -> Self {
        Self {
            category: vec![0; taxonomy::CATEGORIES.len()],
            mode: vec![0; DeliveryMode::ALL.len()],
            status: vec![0; ServiceStatus::ALL.len()],
        }
    }

    fn add(&mut self, other: &FacetTally) {
        for (total, part) in [
            (&mut self.category, &other.category),
            (&mut self.mode, &other.mode),
            (&mut self.status, &other.status),
        ] {
            for (t, v) in total.iter_mut().zip(part) {
                *t += v;
            }
        }
    }

    /// Counts the documents of `matched` with each value. When few of its words have
    /// any document, only those words are looked at.
    fn count(matched: &Bits, vitals: &SegmentVitals) -> Self {
        let occupied: Vec<usize> = (0..matched.0.len())
            .filter(|&i| matched.0[i] != 0)
            .collect();
        let sparse = occupied.len() * 8 < matched.0.len();
        let count = |sets: &[Bits]| {
            sets.iter()
                .map(|set| match sparse {
                    true => occupied
                        .iter()
                        .map(|&i| u64::from((matched.0[i] & set.0[i]).count_ones()))
                        .sum(),
                    false => matched.count_both(set),
                })
                .collect()
        };
        Self {
            category: count(&vitals.by_category),
            mode: count(&vitals.by_mode),
            status: count(&vitals.by_status),
        }
    }
}

/// What a search finds: the page (best first), the total and the facet counts.
pub struct Found {
    pub page: Vec<(Score, DocAddress)>,
    pub total: usize,
    pub facets: FacetTally,
}

/// A search's page, ranking and filters; [`PageCollector::search`] runs a [`Plan`] with
/// them.
pub struct PageCollector {
    pub limit: usize,
    pub offset: usize,
    pub sort: Sort,
    /// First [`State`] days of capacity news and verification that still count as recent.
    pub fresh_capacity: u64,
    pub fresh_assured: u64,
    pub filter: StateFilter,
    pub fields: Fields,
    pub vitals: Arc<VitalsCache>,
}

/// Calls `each(doc, term frequency)` for every document of the segment that has `term`,
/// deleted ones included, reading the posting list a block at a time.
fn for_each_posting(
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

/// The documents of one segment that have any of `tokens` in `field`.
fn having_any(
    vitals: &SegmentVitals,
    segment: &SegmentReader,
    field: Field,
    tokens: &[String],
) -> tantivy::Result<Bits> {
    let mut set = Bits::empty(segment.max_doc());
    for t in tokens {
        set.union_with(&*vitals.with_term(segment, &Term::from_field_text(field, t))?);
    }
    Ok(set)
}

/// The documents of one segment in category `id`.
fn in_category(
    vitals: &SegmentVitals,
    segment: Option<(&SegmentReader, &Fields)>,
    id: &str,
) -> tantivy::Result<Bits> {
    if let Some(set) = taxonomy::CATEGORIES
        .iter()
        .position(|c| c.id == id)
        .and_then(|i| vitals.by_category.get(i))
    {
        return Ok(set.clone());
    }
    // Not in the taxonomy, so not in the per-segment sets.
    match segment {
        Some((segment, f)) => having_any(vitals, segment, f.category, &[id.to_string()]),
        None => Ok(Bits::empty(vitals.max_doc)),
    }
}

/// A [`StateFilter`] for one segment: the yes-or-no filters as one bit set, and what is
/// left to check per match.
struct SegmentFilter {
    /// Documents the yes-or-no filters keep; `None` for all.
    allowed: Option<Bits>,
    age: Option<u8>,
    /// Capacity news needed from this minute on (the `accepting` filter).
    capacity_from_minute: Option<u32>,
    within: Option<((f64, f64), f64)>,
}

impl SegmentFilter {
    /// `segment` is where the filters that read terms (languages, coverage and categories
    /// outside the taxonomy) look them up.
    fn new(
        filter: &StateFilter,
        vitals: &SegmentVitals,
        segment: Option<(&SegmentReader, &Fields)>,
    ) -> tantivy::Result<Self> {
        let max_doc = vitals.max_doc;
        let mut allowed: Option<Bits> = None;
        let mut narrow = |set: &Bits| match &mut allowed {
            Some(a) => a.intersect_with(set),
            None => allowed = Some(set.clone()),
        };
        if filter.statuses != 0 {
            narrow(&Bits::union_of(max_doc, &vitals.by_status, filter.statuses));
        }
        if filter.modes != 0 {
            narrow(&Bits::union_of(max_doc, &vitals.by_mode, filter.modes));
        }
        let none = Bits::empty(max_doc);
        let one = |sets: &[Bits], value: u64| sets.get(value as usize).unwrap_or(&none).clone();
        if let Some((wanted, _)) = filter.accepting {
            narrow(&one(&vitals.by_accepting, wanted));
        }
        if filter.self_referral {
            narrow(&vitals.self_referral);
        }
        if let Some(free) = filter.free {
            narrow(&one(&vitals.by_free, free));
        }
        if let Some(g) = filter.gender {
            // Services for everyone, and those for this gender.
            narrow(&Bits::union_of(max_doc, &vitals.by_gender, 1 | 1 << g));
        }
        if !filter.categories.is_empty() {
            let mut set = Bits::empty(max_doc);
            for c in &filter.categories {
                set.union_with(&in_category(vitals, segment, c)?);
            }
            narrow(&set);
        }
        if let Some((segment, f)) = segment {
            if !filter.languages.is_empty() {
                narrow(&having_any(vitals, segment, f.language, &filter.languages)?);
            }
            if let Some((include, exclude)) = &filter.coverage {
                let mut set = having_any(vitals, segment, f.coverage, include)?;
                set.subtract(&having_any(vitals, segment, f.coverage, exclude)?);
                narrow(&set);
            }
        }
        Ok(Self {
            allowed,
            age: filter.age,
            capacity_from_minute: filter.accepting.map(|(_, fresh_after)| {
                u32::try_from((fresh_after.max(0) as u64).div_ceil(60)).unwrap_or(u32::MAX)
            }),
            within: filter.within,
        })
    }

    /// Whether the filters that read a document's own values keep it (the bit set is
    /// checked before).
    fn keeps_each(&self, v: &SegmentVitals, doc: DocId) -> bool {
        let i = doc as usize;
        self.age.is_none_or(|age| {
            v.ages
                .get(i)
                .is_some_and(|[min, max]| *min <= age && age <= *max)
        }) && self.capacity_from_minute.is_none_or(|from| {
            v.capacity_minutes
                .get(i)
                .is_some_and(|m| *m != 0 && *m >= from)
        }) && self.within.is_none_or(|(origin, km)| {
            v.remote.contains(doc) || v.coords(doc).is_some_and(|p| near(origin, p, km))
        })
    }
}

/// Whether `p` is within `km` of `origin`; points further north or south than that are
/// ruled out without trigonometry.
fn near(origin: (f64, f64), p: (f64, f64), km: f64) -> bool {
    const KM_PER_DEGREE_OF_LATITUDE: f64 = 6371.0 * std::f64::consts::PI / 180.0;
    // Coordinates are kept as f32: allow for their rounding.
    (p.0 - origin.0).abs() * KM_PER_DEGREE_OF_LATITUDE <= km + 0.01 && distance_km(origin, p) <= km
}

/// A plan's BM25 weights (from the whole index's statistics) and typo matchers.
struct Weights {
    words: Vec<(Bm25Weight, Option<Box<dyn Weight>>)>,
    boosts: Vec<Bm25Weight>,
}

impl Weights {
    fn new(searcher: &Searcher, plan: &Plan) -> tantivy::Result<Self> {
        let bm25 = |term: &Term| Bm25Weight::for_terms(searcher, std::slice::from_ref(term));
        let words = plan
            .words
            .iter()
            .map(|w| {
                let typo = match &w.typo {
                    Some((term, distance)) => Some(
                        FuzzyTermQuery::new(term.clone(), *distance, true)
                            .weight(EnableScoring::disabled_from_searcher(searcher))?,
                    ),
                    None => None,
                };
                Ok((bm25(&w.stem)?, typo))
            })
            .collect::<tantivy::Result<_>>()?;
        let boosts = plan
            .boosts
            .iter()
            .map(|(term, boost)| Ok(bm25(term)?.boost_by(*boost)))
            .collect::<tantivy::Result<_>>()?;
        Ok(Self { words, boosts })
    }
}

thread_local! {
    /// Each document's score so far, kept between searches on a thread so that a search
    /// only has to clear it.
    static SCORES: RefCell<Vec<Score>> = const { RefCell::new(Vec::new()) };
}

/// Adds `weight`'s BM25 score of `term` to the score of each document of `within` (all
/// when `None`) that has it; `seen` gets those documents.
fn add_term_scores(
    segment: &SegmentReader,
    term: &Term,
    weight: &Bm25Weight,
    within: Option<&Bits>,
    scores: &mut [Score],
    mut seen: Option<&mut Bits>,
) -> tantivy::Result<()> {
    let norms = match segment.fieldnorms_readers().get_field(term.field())? {
        Some(n) => n,
        None => FieldNormReader::constant(segment.max_doc(), 1),
    };
    for_each_posting(segment, term, IndexRecordOption::WithFreqs, |d, tf| {
        if within.is_some_and(|w| !w.contains(d)) {
            return;
        }
        if let Some(s) = scores.get_mut(d as usize) {
            *s += weight.score(norms.fieldnorm_id(d), tf);
        }
        if let Some(seen) = seen.as_deref_mut() {
            seen.insert(d);
        }
    })
}

/// Term at a time: the documents of a segment among `allowed` (all when `None`) that
/// `plan` matches, with their scores summed into `scores` (all zero to begin with); and
/// the documents whose scores it wrote.
/// Only documents that can still match are scored: with every word needed, each word
/// (rarest first) is scored only where the words before it all are, and boosts only
/// where the plan matches.
fn evaluate(
    segment: &SegmentReader,
    fields: &Fields,
    plan: &Plan,
    weights: &Weights,
    vitals: &SegmentVitals,
    allowed: Option<&Bits>,
    scores: &mut [Score],
) -> tantivy::Result<(Bits, Bits)> {
    let max_doc = segment.max_doc();
    let mut words: Vec<_> = plan.words.iter().zip(&weights.words).collect();
    if !plan.any_word {
        let mut freqs = Vec::with_capacity(words.len());
        for (word, _) in &words {
            freqs.push(
                segment
                    .inverted_index(word.stem.field())?
                    .doc_freq(&word.stem)?,
            );
        }
        let mut order: Vec<usize> = (0..words.len()).collect();
        order.sort_by_key(|&i| freqs[i]);
        words = order.into_iter().map(|i| words[i]).collect();
    }
    let mut every: Option<Bits> = None;
    let mut any = Bits::empty(max_doc);
    for (word, (bm25, typo)) in words {
        let within = match (&every, plan.any_word) {
            (Some(e), false) => Some(e),
            _ => allowed,
        };
        let mut has = Bits::empty(max_doc);
        add_term_scores(segment, &word.stem, bm25, within, scores, Some(&mut has))?;
        if let Some(typo) = typo {
            typo.for_each_no_score(segment, &mut |docs| {
                for &d in docs {
                    if within.is_some_and(|w| !w.contains(d)) {
                        continue;
                    }
                    has.insert(d);
                    if let Some(s) = scores.get_mut(d as usize) {
                        *s += TYPO_SCORE;
                    }
                }
            })?;
        }
        any.union_with(&has);
        match &mut every {
            Some(e) => e.intersect_with(&has),
            None => every = Some(has),
        }
    }
    let mut written = any.clone();
    let mut matched = match every {
        Some(every) if !plan.any_word => {
            // A document with only some of the words matches by a category if at all,
            // and then its words do not count.
            any.subtract(&every);
            any.for_each(|d| scores[d as usize] = 0.0);
            every
        }
        _ => any,
    };
    for c in &plan.categories {
        let mut set = in_category(vitals, Some((segment, fields)), c)?;
        if let Some(a) = allowed {
            set.intersect_with(a);
        }
        set.for_each(|d| scores[d as usize] += CATEGORY_SCORE);
        matched.union_with(&set);
    }
    if let Some(a) = allowed {
        matched.intersect_with(a);
    }
    for ((term, _), bm25) in plan.boosts.iter().zip(&weights.boosts) {
        add_term_scores(segment, term, bm25, Some(&matched), scores, None)?;
    }
    written.union_with(&matched);
    Ok((matched, written))
}

impl PageCollector {
    /// Runs `plan` (`None`: every service the filters keep) over every segment.
    pub fn search(&self, searcher: &Searcher, plan: Option<&Plan>) -> tantivy::Result<Found> {
        let weights = plan.map(|p| Weights::new(searcher, p)).transpose()?;
        let mut found = Found {
            page: Vec::new(),
            total: 0,
            facets: FacetTally::new(),
        };
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let part = SCORES.with_borrow_mut(|scores| {
                let n = segment.max_doc() as usize;
                if scores.len() < n {
                    scores.resize(n, 0.0);
                }
                let searched = self.search_segment(
                    ord as u32,
                    segment,
                    plan.zip(weights.as_ref()),
                    &mut scores[..n],
                );
                // Leave every score at zero for the next search: clearing only what was
                // written costs less than clearing all.
                match &searched {
                    Ok((_, written)) => written.for_each_word(|i| {
                        scores[(i * 64).min(n)..((i + 1) * 64).min(n)].fill(0.0);
                    }),
                    Err(_) => scores.clear(),
                }
                searched.map(|(found, _)| found)
            })?;
            found.total += part.total;
            found.facets.add(&part.facets);
            found.page.extend(part.page);
        }
        found
            .page
            .sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        found.page = found
            .page
            .into_iter()
            .skip(self.offset)
            .take(self.limit.max(1))
            .collect();
        Ok(found)
    }

    /// The segment's part of the search, and the documents whose scores it wrote.
    fn search_segment(
        &self,
        segment_ord: u32,
        segment: &SegmentReader,
        plan: Option<(&Plan, &Weights)>,
        scores: &mut [Score],
    ) -> tantivy::Result<(Found, Bits)> {
        let vitals = self.vitals.get(segment)?;
        let in_segment = Some((segment, &self.fields));
        let filter = SegmentFilter::new(&self.filter, &vitals, in_segment)?;
        let allowed = filter.allowed.as_ref();
        let (mut matched, written) = match plan {
            Some((plan, weights)) => evaluate(
                segment,
                &self.fields,
                plan,
                weights,
                &vitals,
                allowed,
                scores,
            )?,
            None => (
                allowed
                    .cloned()
                    .unwrap_or_else(|| Bits::full(vitals.max_doc)),
                Bits::empty(vitals.max_doc),
            ),
        };
        let alive = segment.alive_bitset();
        let classes = vitals.classes((self.fresh_capacity, self.fresh_assured));
        let factors = class_factors();
        let mut top = TopNComputer::new_with_comparator(
            self.limit.max(1).saturating_add(self.offset),
            NaturalComparator,
        );
        matched.retain(|doc| {
            if alive.is_some_and(|a| a.is_deleted(doc)) || !filter.keeps_each(&vitals, doc) {
                return false;
            }
            // With no words, every match scores the same and state alone orders.
            let score = scores.get(doc as usize).copied().unwrap_or(0.0);
            let base = if score > 0.0 { score } else { 1.0 };
            let class = classes.get(doc as usize).copied().unwrap_or(0);
            let relevance = base * factors[usize::from(class & 0x7f)];
            top.push(self.sort_key(&vitals, doc, relevance), doc);
            true
        });
        let total = matched.len();
        let facets = if total == 0 {
            FacetTally::new()
        } else {
            FacetTally::count(&matched, &vitals)
        };
        let found = Found {
            page: top
                .into_vec()
                .into_iter()
                .map(|d| (d.sort_key, DocAddress::new(segment_ord, d.doc)))
                .collect(),
            total,
            facets,
        };
        Ok((found, written))
    }

    /// The key results are ordered by, higher first.
    fn sort_key(&self, vitals: &SegmentVitals, doc: DocId, relevance: Score) -> Score {
        let Sort::Distance(origin) = self.sort else {
            return relevance;
        };
        // Nearest first, then remote, then the rest; relevance breaks ties within the
        // last two.
        match vitals.coords(doc) {
            Some(p) => -(distance_km(origin, p) as f32),
            None if vitals.remote.contains(doc) => -1.0e6 + relevance.min(1.0e3),
            None => -2.0e6 + relevance.min(1.0e3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(state: State) -> f32 {
        class_factor(rank_class(state, (5, 5)))
    }

    #[test]
    fn ranking_prefers_open_and_verified() {
        let state = |status, accepting, assured_day| State {
            status,
            accepting,
            modes: 1,
            capacity_day: 10,
            assured_day,
            link_flagged: false,
        };
        let open = factor(state(0, 0, 10));
        let closed = factor(state(1, 0, 10));
        let full = factor(state(0, 2, 10));
        let unverified = factor(state(0, 0, 1));
        let stale = factor(State {
            capacity_day: 1,
            ..state(0, 0, 10)
        });
        assert!(open > unverified && unverified > full && full > closed);
        assert!(stale < open && stale > full);
        let flagged = factor(State {
            link_flagged: true,
            ..state(0, 0, 10)
        });
        assert!(flagged < open && flagged < unverified);
    }

    #[test]
    fn every_class_fits_the_table() {
        let worst = State {
            status: 3,
            accepting: 3,
            modes: 0xff,
            capacity_day: 0,
            assured_day: 0,
            link_flagged: true,
        };
        assert!(usize::from(rank_class(worst, (5, 5))) < class_factors().len());
    }

    #[test]
    fn each_filter_keeps_or_drops_a_service() {
        use crate::domain::{Accepting, Gender};
        use crate::search::query::Filters;
        use crate::search::schema::gender_ord;
        let state = State {
            status: 0,
            accepting: 1,
            modes: 1 << DeliveryMode::Telephone as u64,
            ..State::default()
        };
        let traits = Traits {
            self_referral: true,
            free: 2,
            gender: gender_ord(Gender::Female),
            min_age: 18,
            max_age: 65,
        };
        // Two services: the first the one asked about, the second in person in Bolton.
        let records = [
            Record {
                state: state.pack(),
                traits: traits.pack(),
                capacity_updated: Some(120),
                ..Record::default()
            },
            Record {
                state: State { modes: 1, ..state }.pack(),
                coords: Some((53.578, -2.429)),
                ..Record::default()
            },
        ];
        let vitals = SegmentVitals::from_records(2, records.into_iter());
        let keeps = |filters: Filters, doc: DocId| {
            let filter =
                SegmentFilter::new(&StateFilter::new(&filters), &vitals, None).expect("filter");
            filter.allowed.as_ref().is_none_or(|a| a.contains(doc))
                && filter.keeps_each(&vitals, doc)
        };
        assert!(keeps(Filters::default(), 0));
        assert!(keeps(
            Filters {
                statuses: vec![ServiceStatus::Active],
                delivery_modes: vec![DeliveryMode::Online, DeliveryMode::Telephone],
                accepting: Some(Accepting::Waitlist),
                capacity_fresh_after: 120,
                self_referral: true,
                age: Some(65),
                gender: Some(Gender::Female),
                ..Filters::default()
            },
            0
        ));
        let drops = [
            Filters {
                statuses: vec![ServiceStatus::Inactive],
                ..Filters::default()
            },
            Filters {
                delivery_modes: vec![DeliveryMode::InPerson],
                ..Filters::default()
            },
            // Waiting list, but the news is older than the cut-off.
            Filters {
                accepting: Some(Accepting::Waitlist),
                capacity_fresh_after: 121,
                ..Filters::default()
            },
            Filters {
                accepting: Some(Accepting::Open),
                ..Filters::default()
            },
            Filters {
                age: Some(17),
                ..Filters::default()
            },
            Filters {
                gender: Some(Gender::Male),
                ..Filters::default()
            },
            // Cost not stated: neither free nor paid.
            Filters {
                free: Some(true),
                ..Filters::default()
            },
            Filters {
                free: Some(false),
                ..Filters::default()
            },
        ];
        for filters in drops {
            assert!(!keeps(filters.clone(), 0), "{filters:?}");
        }
        assert!(keeps(
            Filters {
                gender: Some(Gender::Any),
                ..Filters::default()
            },
            0
        ));
        // From Manchester (about 16 km away): the telephone service is never too far, the
        // one in Bolton only within 20 km; no capacity news is never fresh.
        let from_manchester = |km| Filters {
            within: Some(((53.4794, -2.2453), km)),
            ..Filters::default()
        };
        assert!(keeps(from_manchester(1.0), 0));
        assert!(keeps(from_manchester(20.0), 1));
        assert!(!keeps(from_manchester(10.0), 1));
        assert!(!keeps(
            Filters {
                accepting: Some(Accepting::Waitlist),
                capacity_fresh_after: -1000,
                ..Filters::default()
            },
            1
        ));
    }

    #[test]
    fn bit_sets_count_what_both_hold() {
        let mut a = Bits::empty(130);
        let mut b = Bits::empty(130);
        for d in [0, 63, 64, 129] {
            a.insert(d);
        }
        for d in [63, 129, 5] {
            b.insert(d);
        }
        assert_eq!(a.count_both(&b), 2);
        assert!(a.contains(129) && !a.contains(128) && !a.contains(1000));
        let u = Bits::union_of(130, &[a.clone(), b.clone()], 0b10);
        assert_eq!(u, b);
        a.intersect_with(&b);
        assert_eq!(a.count_both(&a), 2);
    }
}
