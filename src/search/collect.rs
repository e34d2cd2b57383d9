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
use tantivy::columnar::StrColumn;
use tantivy::index::SegmentId;
use tantivy::{DocAddress, DocId, Score, Searcher, SearcherGeneration, SegmentReader, Warmer};

/// What filters, ranking and facets read of one service, side by side in memory.
#[derive(Clone, Copy, Default)]
struct DocVitals {
    state: u64,
    traits: u64,
    categories: u64,
    capacity_updated: i64,
}

/// What filters, ranking, facets and distance read of every match, copied out of a
/// segment's fast fields once: an array index per match instead of columnar decoding.
pub struct SegmentVitals {
    docs: Vec<DocVitals>,
    /// Each document's coverage token ordinals: `coverage[coverage_at[d]..coverage_at[d + 1]]`.
    coverage: Vec<u32>,
    coverage_at: Vec<u32>,
    /// The coverage tokens' dictionary, to find a caller's tokens' ordinals.
    coverage_terms: Option<StrColumn>,
    /// Latitude and longitude; NaN where the service has no coordinates.
    coords: Vec<(f64, f64)>,
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
        let docs = 0..segment.max_doc();
        let coverage_terms = ff.str(schema::COVERAGE)?;
        let mut coverage = Vec::new();
        let mut coverage_at = Vec::with_capacity(segment.max_doc() as usize + 1);
        for d in docs.clone() {
            coverage_at.push(coverage.len() as u32);
            if let Some(c) = &coverage_terms {
                coverage.extend(c.term_ords(d).map(|o| o as u32));
            }
        }
        coverage_at.push(coverage.len() as u32);
        Ok(Self {
            coverage,
            coverage_at,
            coverage_terms,
            docs: docs
                .clone()
                .map(|d| DocVitals {
                    state: state.first(d).unwrap_or(0),
                    traits: traits.first(d).unwrap_or(0),
                    categories: categories.first(d).unwrap_or(0),
                    capacity_updated: capacity_updated.first(d).unwrap_or(i64::MIN),
                })
                .collect(),
            coords: docs
                .map(|d| match (lat.first(d), lon.first(d)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => (f64::NAN, f64::NAN),
                })
                .collect(),
        })
    }

    fn coverage_of(&self, doc: DocId) -> &[u32] {
        let at = |d: usize| self.coverage_at.get(d).copied().unwrap_or(0) as usize;
        let d = doc as usize;
        self.coverage.get(at(d)..at(d + 1)).unwrap_or(&[])
    }

    /// The ordinals of those of `tokens` that some document of the segment has, sorted.
    fn ordinals(&self, tokens: &[String]) -> tantivy::Result<Vec<u32>> {
        let mut out = Vec::new();
        if let Some(c) = &self.coverage_terms {
            for t in tokens {
                if let Some(o) = c.dictionary().term_ord(t)? {
                    out.push(o as u32);
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    pub fn coords(&self, doc: DocId) -> Option<(f64, f64)> {
        self.coords
            .get(doc as usize)
            .copied()
            .filter(|(lat, lon)| !lat.is_nan() && !lon.is_nan())
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
    pub vitals: Arc<VitalsCache>,
}

/// A caller's coverage tokens as one segment's ordinals.
struct CoverageCheck {
    include: Vec<u32>,
    exclude: Vec<u32>,
}

impl CoverageCheck {
    fn allows(&self, tokens: &[u32]) -> bool {
        tokens.iter().any(|t| self.include.binary_search(t).is_ok())
            && !tokens.iter().any(|t| self.exclude.binary_search(t).is_ok())
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
    fn sort_key(&self, doc: DocId, state: State, score: Score) -> Score {
        // With no words, every match scores the same and state alone orders.
        let base = if score > 0.0 { score } else { 1.0 };
        let relevance = base * rank_factor(state, self.fresh_capacity, self.fresh_assured);
        let Sort::Distance(origin) = self.sort else {
            return relevance;
        };
        // Nearest first, then remote, then the rest; relevance breaks ties within the
        // last two.
        match self.vitals.coords(doc) {
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
            Some((include, exclude)) => Some(CoverageCheck {
                include: vitals.ordinals(include)?,
                exclude: vitals.ordinals(exclude)?,
            }),
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
            if !self
                .filter
                .keeps(state, Traits::unpack(v.traits), v.capacity_updated)
                || !self.filter.near_enough(state, || self.vitals.coords(doc))
                || self
                    .coverage
                    .as_ref()
                    .is_some_and(|c| !c.allows(self.vitals.coverage_of(doc)))
            {
                continue;
            }
            self.total += 1;
            bump_bits(&mut self.facets.category, v.categories);
            bump_bits(&mut self.facets.mode, state.modes);
            bump_bits(&mut self.facets.status, 1 << state.status);
            let key = self.sort_key(doc, state, score);
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
