//! One pass over the matches of a search: the total, the facet counts and the best page,
//! ranked by relevance and state (or distance), reading each match's state from memory.

use super::query::StateFilter;
use super::schema::{self, REMOTE_MODES, State, Traits};
use crate::domain::{DeliveryMode, ServiceStatus, taxonomy};
use crate::geo::eligibility::distance_km;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::collector::{Collector, SegmentCollector, TopNComputer};
use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{
    DocAddress, DocId, Score, Searcher, SearcherGeneration, SegmentReader, Term, Warmer,
};

/// What filters, ranking, facets and distance read of one service, side by side in 32
/// bytes: one memory read per match.
#[derive(Clone, Copy)]
struct DocVitals {
    state: u64,
    categories: u64,
    traits: u32,
    /// Minutes since 1970 of the last capacity update (rounded down); 0 for never.
    capacity_minute: u32,
    /// NaN when the service has no coordinates.
    latitude: f32,
    longitude: f32,
}

impl Default for DocVitals {
    fn default() -> Self {
        Self {
            state: 0,
            categories: 0,
            traits: 0,
            capacity_minute: 0,
            latitude: f32::NAN,
            longitude: f32::NAN,
        }
    }
}

impl DocVitals {
    fn capacity_updated(&self) -> i64 {
        match self.capacity_minute {
            0 => i64::MIN,
            m => i64::from(m) * 60,
        }
    }

    fn coords(&self) -> Option<(f64, f64)> {
        (!self.latitude.is_nan() && !self.longitude.is_nan())
            .then(|| (f64::from(self.latitude), f64::from(self.longitude)))
    }
}

/// [`DocVitals`] of every document of a segment, copied out of its fast fields once.
pub struct SegmentVitals {
    docs: Vec<DocVitals>,
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
        let docs = (0..segment.max_doc())
            .map(|d| {
                let (latitude, longitude) = match (lat.first(d), lon.first(d)) {
                    (Some(a), Some(b)) => (a as f32, b as f32),
                    _ => (f32::NAN, f32::NAN),
                };
                DocVitals {
                    state: state.first(d).unwrap_or(0),
                    categories: categories.first(d).unwrap_or(0),
                    traits: traits.first(d).unwrap_or(0) as u32,
                    capacity_minute: capacity_updated
                        .first(d)
                        .filter(|t| *t > 0)
                        .map_or(0, |t| u32::try_from(t / 60).unwrap_or(u32::MAX)),
                    latitude,
                    longitude,
                }
            })
            .collect();
        Ok(Self { docs })
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

/// How much a service's state scales its relevance: open, accepting and recently
/// verified first; closed and flagged last.
/// `fresh_capacity` and `fresh_assured` are the first [`State`] days that still count as
/// recent.
pub fn rank_factor(state: State, fresh_capacity: u64, fresh_assured: u64) -> f32 {
    let status = match state.status {
        0 => 1.0,
        1 => 0.5,
        _ => 0.2,
    };
    let capacity = match state.accepting {
        _ if state.capacity_day < fresh_capacity => 0.85,
        0 => 1.0,
        1 => 0.9,
        2 => 0.6,
        _ => 0.85,
    };
    let verified = if state.assured_day >= fresh_assured {
        1.0
    } else {
        0.9
    };
    let links = if state.link_flagged { 0.5 } else { 1.0 };
    status * capacity * verified * links
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
}

/// Adds one to `counts[i]` for every bit `i` set in `mask`.
fn bump_bits(counts: &mut [u64], mut mask: u64) {
    while mask != 0 {
        let i = mask.trailing_zeros() as usize;
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
        mask &= mask - 1;
    }
}

/// What one pass finds: the page (best first), the total and the facet counts.
pub struct Found {
    pub page: Vec<(Score, DocAddress)>,
    pub total: usize,
    pub facets: FacetTally,
}

/// Collects [`Found`] for a page of `limit` results after `offset`.
pub struct PageCollector {
    pub limit: usize,
    pub offset: usize,
    pub sort: Sort,
    /// First [`State`] days that still count as recent.
    pub fresh_capacity: u64,
    pub fresh_assured: u64,
    pub filter: StateFilter,
    /// Where coverage tokens are indexed, for the filter's coverage check.
    pub coverage_field: Field,
    pub vitals: Arc<VitalsCache>,
}

/// The documents of one segment whose coverage lets a caller in, one bit each: built from
/// the posting lists of the caller's tokens, then looked up for each match.
struct CoverageCheck {
    allowed: Vec<u64>,
}

impl CoverageCheck {
    fn new(
        segment: &SegmentReader,
        field: Field,
        include: &[String],
        exclude: &[String],
    ) -> tantivy::Result<Self> {
        let words = (segment.max_doc() as usize).div_ceil(64);
        let postings = segment.inverted_index(field)?;
        let bits = |tokens: &[String]| -> tantivy::Result<Vec<u64>> {
            let mut set = vec![0u64; words];
            for t in tokens {
                let term = Term::from_field_text(field, t);
                let Some(mut block) =
                    postings.read_block_postings(&term, IndexRecordOption::Basic)?
                else {
                    continue;
                };
                while !block.docs().is_empty() {
                    for &d in block.docs() {
                        set[d as usize / 64] |= 1 << (d % 64);
                    }
                    block.advance();
                }
            }
            Ok(set)
        };
        let mut allowed = bits(include)?;
        for (a, x) in allowed.iter_mut().zip(bits(exclude)?) {
            *a &= !x;
        }
        Ok(Self { allowed })
    }

    fn allows(&self, doc: DocId) -> bool {
        self.allowed
            .get(doc as usize / 64)
            .is_some_and(|w| w & 1 << (doc % 64) != 0)
    }
}

/// Matches handled together; see [`PageSegment::flush`].
const PENDING: usize = 256;

pub struct PageSegment {
    segment_ord: u32,
    pending: Vec<(DocId, Score)>,
    vitals: Arc<SegmentVitals>,
    top: TopNComputer<Score, DocId, NaturalComparator>,
    total: usize,
    facets: FacetTally,
    sort: Sort,
    fresh_capacity: u64,
    fresh_assured: u64,
    filter: StateFilter,
    coverage: Option<CoverageCheck>,
}

impl PageSegment {
    /// The key results are ordered by, higher first.
    fn sort_key(&self, coords: Option<(f64, f64)>, state: State, score: Score) -> Score {
        // With no words, every match scores the same and state alone orders.
        let base = if score > 0.0 { score } else { 1.0 };
        let relevance = base * rank_factor(state, self.fresh_capacity, self.fresh_assured);
        let Sort::Distance(origin) = self.sort else {
            return relevance;
        };
        // Nearest first, then remote, then the rest; relevance breaks ties within the
        // last two.
        match coords {
            Some(p) => -(distance_km(origin, p) as f32),
            None if state.modes & REMOTE_MODES != 0 => -1.0e6 + relevance.min(1.0e3),
            None => -2.0e6 + relevance.min(1.0e3),
        }
    }
}

impl Collector for PageCollector {
    type Fruit = Found;
    type Child = PageSegment;

    fn for_segment(
        &self,
        segment_ord: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageSegment> {
        let vitals = self.vitals.get(segment)?;
        let coverage = match &self.filter.coverage {
            Some((include, exclude)) => Some(CoverageCheck::new(
                segment,
                self.coverage_field,
                include,
                exclude,
            )?),
            None => None,
        };
        Ok(PageSegment {
            segment_ord,
            pending: Vec::with_capacity(PENDING),
            vitals,
            coverage,
            top: TopNComputer::new_with_comparator(
                self.limit.max(1).saturating_add(self.offset),
                NaturalComparator,
            ),
            total: 0,
            facets: FacetTally::new(),
            sort: self.sort,
            fresh_capacity: self.fresh_capacity,
            fresh_assured: self.fresh_assured,
            filter: self.filter.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Found>) -> tantivy::Result<Found> {
        let mut merged = Found {
            page: Vec::new(),
            total: 0,
            facets: FacetTally::new(),
        };
        for f in fruits {
            merged.total += f.total;
            merged.facets.add(&f.facets);
            merged.page.extend(f.page);
        }
        merged
            .page
            .sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        merged.page = merged
            .page
            .into_iter()
            .skip(self.offset)
            .take(self.limit.max(1))
            .collect();
        Ok(merged)
    }
}

impl PageSegment {
    /// Handles the buffered matches: their vitals are read in one tight loop first, so
    /// that the reads overlap instead of each waiting on memory in turn.
    fn flush(&mut self) {
        let matches = std::mem::take(&mut self.pending);
        let docs = &self.vitals.docs;
        let read: Vec<DocVitals> = matches
            .iter()
            .map(|(doc, _)| docs.get(*doc as usize).copied().unwrap_or_default())
            .collect();
        for (&(doc, score), v) in matches.iter().zip(read) {
            let state = State::unpack(v.state);
            if !self.filter.keeps(
                state,
                Traits::unpack(u64::from(v.traits)),
                v.capacity_updated(),
            ) || !self.filter.near_enough(state, v.coords())
                || self.coverage.as_ref().is_some_and(|c| !c.allows(doc))
            {
                continue;
            }
            self.total += 1;
            bump_bits(&mut self.facets.category, v.categories);
            bump_bits(&mut self.facets.mode, state.modes);
            bump_bits(&mut self.facets.status, 1 << state.status);
            let key = self.sort_key(v.coords(), state, score);
            self.top.push(key, doc);
        }
        self.pending = matches;
        self.pending.clear();
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = Found;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.pending.push((doc, score));
        if self.pending.len() == PENDING {
            self.flush();
        }
    }

    fn harvest(mut self) -> Found {
        self.flush();
        let segment_ord = self.segment_ord;
        Found {
            page: self
                .top
                .into_vec()
                .into_iter()
                .map(|d| (d.sort_key, DocAddress::new(segment_ord, d.doc)))
                .collect(),
            total: self.total,
            facets: self.facets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let open = rank_factor(state(0, 0, 10), 5, 5);
        let closed = rank_factor(state(1, 0, 10), 5, 5);
        let full = rank_factor(state(0, 2, 10), 5, 5);
        let unverified = rank_factor(state(0, 0, 1), 5, 5);
        assert!(open > unverified && unverified > full && full > closed);
        let flagged = rank_factor(
            State {
                link_flagged: true,
                ..state(0, 0, 10)
            },
            5,
            5,
        );
        assert!(flagged < open && flagged < unverified);
    }
}
