//! Running a search: a question's [`Plan`] and the filters, evaluated a segment at a
//! time, give the total, the facet counts and the best page, ranked by relevance and
//! state (or distance).
//!
//! Broad questions ("lonely" matches one service in eight) are what make search fast or
//! slow, so each match costs as little as it can. The filters come first, as one bit set
//! made from the segment's per-value bit sets (see `segment`); the plan is evaluated term
//! at a time, each posting list read a block at a time and its BM25 scores added to a
//! per-thread array, skipping documents that can no longer match; one pass over the
//! matching bits reads each match's score and one-byte rank class and keeps the best
//! page; facets are counted by intersecting the matches with per-value bit sets. Only
//! the age, capacity-news and distance filters and sorting by distance read a match's
//! own values.

use super::bits::{Bits, KeptDocs};
use super::query::{LANGUAGE_SCORE, Plan, StateFilter, TYPO_SCORE};
use super::schema::Fields;
use super::segment::{SegmentVitals, VitalsCache, for_each_posting_within};
use crate::domain::{DeliveryMode, ServiceStatus, taxonomy};
use crate::geo::eligibility::distance_km;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tantivy::collector::TopNComputer;
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::fastfield::AliveBitSet;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::query::Bm25Weight;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, Term};

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
    /// The best matches that come first ([`Plan::first`]), at most [`FIRST_LIMIT`].
    first: Vec<(Score, DocAddress)>,
    /// The best matches in score order, each with the plan's needs it is in (bit `k` for
    /// the `k`th of [`DIVERSE_NEEDS`]); the page is made from these.
    ranked: Vec<Ranked>,
    /// The best match of each of the plan's first needs.
    need_best: Vec<Option<Ranked>>,
}

/// A match: its sort key, where it is, and which of the plan's needs it is in.
type Ranked = (Score, DocAddress, u8);

/// A question that expresses several needs shows the best service of each of its first
/// this many needs among the first [`DIVERSE_WINDOW`] results ("lost my job and can't
/// pay the rent": employment and housing both on the first screen).
pub const DIVERSE_NEEDS: usize = 3;
/// See [`DIVERSE_NEEDS`].
pub const DIVERSE_WINDOW: usize = 5;

/// How many services a plan's [`Plan::first`] puts before every other match: enough
/// crisis services to act on at once, few enough that what else the question asked for
/// still shows on the first page.
pub const FIRST_LIMIT: usize = 3;

/// Best first, ties by address.
fn best_first(a: &(Score, DocAddress), b: &(Score, DocAddress)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

/// [`best_first`] for [`Ranked`] matches.
fn best_ranked(a: &Ranked, b: &Ranked) -> std::cmp::Ordering {
    best_first(&(a.0, a.1), &(b.0, b.1))
}

/// Moves the best match of each need that has none among the first [`DIVERSE_WINDOW`]
/// of `order` to the end of that window, in the needs' order.
fn diversify(order: &mut Vec<Ranked>, need_best: &[Option<Ranked>]) {
    let window = DIVERSE_WINDOW.min(order.len());
    let missing: Vec<Ranked> = need_best
        .iter()
        .enumerate()
        .filter_map(|(k, best)| {
            let best = (*best)?;
            let shown = order[..window].iter().any(|r| r.2 & (1 << k) != 0);
            (!shown).then_some(best)
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    order.retain(|r| !missing.iter().any(|m| m.1 == r.1));
    let at = DIVERSE_WINDOW
        .saturating_sub(missing.len())
        .min(order.len());
    for (i, m) in missing.into_iter().enumerate() {
        order.insert(at + i, m);
    }
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
    /// `filter` as each segment applies it, made once per search: a question that falls
    /// back to fewer words runs several plans with the same filters.
    pub(super) segment_filters: SegmentFilters,
}

/// Each segment's [`SegmentFilter`], by segment.
#[derive(Default)]
pub(super) struct SegmentFilters(Mutex<HashMap<SegmentId, Arc<SegmentFilter>>>);

/// The documents of one segment that have any of `tokens` in `field`.
fn having_any(
    vitals: &SegmentVitals,
    segment: &SegmentReader,
    field: Field,
    tokens: &[String],
) -> tantivy::Result<Bits> {
    let mut set = Bits::empty(segment.max_doc());
    for t in tokens {
        vitals
            .with_term(segment, &Term::from_field_text(field, t))?
            .add_to(&mut set);
    }
    Ok(set)
}

/// The documents of one segment in category `id` (the segment's own set for a category
/// of the taxonomy, not a copy).
fn in_category<'v>(
    vitals: &'v SegmentVitals,
    segment: Option<(&SegmentReader, &Fields)>,
    id: &str,
) -> tantivy::Result<Cow<'v, Bits>> {
    if let Some(set) = taxonomy::CATEGORIES
        .iter()
        .position(|c| c.id == id)
        .and_then(|i| vitals.by_category.get(i))
    {
        return Ok(Cow::Borrowed(set));
    }
    // Not in the taxonomy, so not in the per-segment sets.
    Ok(Cow::Owned(match segment {
        Some((segment, f)) => having_any(vitals, segment, f.category, &[id.to_string()])?,
        None => Bits::empty(vitals.max_doc),
    }))
}

/// A [`StateFilter`] for one segment: the yes-or-no filters as one bit set, and what is
/// left to check per match.
pub(super) struct SegmentFilter {
    /// Documents the yes-or-no filters keep; `None` for all.
    allowed: Option<Bits>,
    age: Option<u8>,
    /// Capacity news needed from this minute on (the `accepting` filter).
    capacity_from_minute: Option<u32>,
    within: Option<((f64, f64), f64)>,
    /// How many documents `allowed` holds.
    allowed_len: usize,
    /// Every live document all the filters keep, per-document ones included: worked out
    /// once the search has checked as many matches one by one as `allowed` holds (a
    /// broad question, or a fallback counting word after word), then read as bits.
    settled: std::sync::OnceLock<Bits>,
    /// Matches checked one by one so far.
    checked: std::sync::atomic::AtomicUsize,
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
        // A set of the segment's own is copied only when it is the first filter.
        let mut narrow = |set: Cow<Bits>| match &mut allowed {
            Some(a) => a.intersect_with(&set),
            None => allowed = Some(set.into_owned()),
        };
        if filter.statuses != 0 {
            narrow(Cow::Owned(Bits::union_of(
                max_doc,
                &vitals.by_status,
                filter.statuses,
            )));
        }
        if filter.modes != 0 {
            narrow(Cow::Owned(Bits::union_of(
                max_doc,
                &vitals.by_mode,
                filter.modes,
            )));
        }
        fn one(sets: &[Bits], value: u64, max_doc: u32) -> Cow<'_, Bits> {
            match sets.get(value as usize) {
                Some(set) => Cow::Borrowed(set),
                None => Cow::Owned(Bits::empty(max_doc)),
            }
        }
        if let Some((wanted, _)) = filter.accepting {
            narrow(one(&vitals.by_accepting, wanted, max_doc));
        }
        if filter.self_referral {
            narrow(Cow::Borrowed(&vitals.self_referral));
        }
        if let Some(free) = filter.free {
            narrow(one(&vitals.by_free, free, max_doc));
        }
        if let Some(g) = filter.gender {
            // Services for everyone, and those for this gender.
            narrow(Cow::Owned(Bits::union_of(
                max_doc,
                &vitals.by_gender,
                1 | 1 << g,
            )));
        }
        if !filter.categories.is_empty() {
            let mut set = Bits::empty(max_doc);
            for c in &filter.categories {
                set.union_with(&*in_category(vitals, segment, c)?);
            }
            narrow(Cow::Owned(set));
        }
        if let Some((segment, f)) = segment {
            if !filter.languages.is_empty() {
                narrow(Cow::Owned(having_any(
                    vitals,
                    segment,
                    f.language,
                    &filter.languages,
                )?));
            }
            if let Some((include, exclude)) = &filter.coverage {
                let mut set = having_any(vitals, segment, f.coverage, include)?;
                for t in exclude {
                    let term = Term::from_field_text(f.coverage, t);
                    vitals.with_term(segment, &term)?.remove_from(&mut set);
                }
                narrow(Cow::Owned(set));
            }
        }
        Ok(Self {
            allowed_len: allowed.as_ref().map_or(max_doc as usize, Bits::len),
            allowed,
            settled: std::sync::OnceLock::new(),
            checked: Default::default(),
            age: filter.age,
            capacity_from_minute: filter.accepting.map(|(_, fresh_after)| {
                u32::try_from((fresh_after.max(0) as u64).div_ceil(60)).unwrap_or(u32::MAX)
            }),
            within: filter.within,
        })
    }

    /// Whether any filter reads a document's own values.
    fn per_document(&self) -> bool {
        self.age.is_some() || self.capacity_from_minute.is_some() || self.within.is_some()
    }

    /// The documents of the segment, alive and kept by every filter, as one bit set,
    /// once checking `matches` more documents one by one would bring those checked to
    /// as many as making the set checks (so that it never costs more than twice the
    /// cheaper way); `None`: check them with [`SegmentFilter::keeps_each`].
    fn settled(
        &self,
        v: &SegmentVitals,
        alive: Option<&AliveBitSet>,
        matches: usize,
    ) -> Option<&Bits> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.settled.get().is_none()
            && self.checked.fetch_add(matches, Relaxed) + matches < self.allowed_len
        {
            return None;
        }
        Some(self.settled.get_or_init(|| {
            let mut set = self
                .allowed
                .clone()
                .unwrap_or_else(|| Bits::full(v.max_doc));
            set.retain(|doc| self.keeps_alive(v, alive, doc));
            set
        }))
    }

    /// Whether the document is not deleted and the filters that read its own values
    /// keep it (the bit set is checked before).
    fn keeps_alive(&self, v: &SegmentVitals, alive: Option<&AliveBitSet>, doc: DocId) -> bool {
        !alive.is_some_and(|a| a.is_deleted(doc)) && self.keeps_each(v, doc)
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

/// A plan's BM25 weights (from the whole index's statistics).
struct Weights {
    words: Vec<Bm25Weight>,
    boosts: Vec<Bm25Weight>,
}

impl Weights {
    fn new(searcher: &Searcher, plan: &Plan) -> tantivy::Result<Self> {
        let bm25 = |term: &Term| Bm25Weight::for_terms(searcher, std::slice::from_ref(term));
        let words = plan
            .words
            .iter()
            .map(|w| Ok(bm25(&w.stem)?.boost_by(plan.word_weight)))
            .collect::<tantivy::Result<_>>()?;
        let boosts = plan
            .boosts
            .iter()
            .map(|(term, boost)| Ok(bm25(term)?.boost_by(*boost * plan.word_weight)))
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
/// when `None`) that has it (no scores when `scores` is empty); `seen` gets those
/// documents.
fn add_term_scores(
    segment: &SegmentReader,
    term: &Term,
    weight: &Bm25Weight,
    within: Option<&Bits>,
    scores: &mut [Score],
    mut seen: Option<&mut Bits>,
) -> tantivy::Result<()> {
    if scores.is_empty() {
        if let Some(seen) = seen {
            for_each_posting_within(segment, term, IndexRecordOption::Basic, within, |d, _| {
                seen.insert(d)
            })?;
        }
        return Ok(());
    }
    let norms = match segment.fieldnorms_readers().get_field(term.field())? {
        Some(n) => n,
        None => FieldNormReader::constant(segment.max_doc(), 1),
    };
    for_each_posting_within(
        segment,
        term,
        IndexRecordOption::WithFreqs,
        within,
        |d, tf| {
            if let Some(s) = scores.get_mut(d as usize) {
                *s += weight.score(norms.fieldnorm_id(d), tf);
            }
            if let Some(seen) = seen.as_deref_mut() {
                seen.insert(d);
            }
        },
    )
}

/// Term at a time: the documents of a segment among `allowed` (all when `None`) that
/// `plan` matches, with their scores summed into `scores` (all zero to begin with; only
/// the matches' are not zero after; empty to find the matches without scoring them).
/// Only documents that can still match are scored: with every word needed, each word
/// (rarest first) is scored only where the words before it all are, and boosts only
/// where the plan matches.
fn evaluate<'v>(
    segment: &SegmentReader,
    fields: &Fields,
    plan: &Plan,
    weights: &Weights,
    vitals: &'v SegmentVitals,
    allowed: Option<&Bits>,
    scores: &mut [Score],
) -> tantivy::Result<Evaluated<'v>> {
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
    // With every word needed, a document that lacks a word has its score set back to
    // zero as it drops out.
    let mut by_words: Option<Bits> = None;
    for (word, bm25) in words {
        let within = match (&by_words, plan.any_word) {
            (Some(e), false) => Some(e),
            _ => allowed,
        };
        let mut has = Bits::empty(max_doc);
        add_term_scores(segment, &word.stem, bm25, within, scores, Some(&mut has))?;
        if let Some((term, distance)) = &word.typo {
            let score = TYPO_SCORE * plan.word_weight;
            match &*vitals.near(segment, term, *distance)? {
                KeptDocs::Dense(set) => add_to_each(set, within, score, scores, Some(&mut has)),
                KeptDocs::Sparse(docs) => {
                    for &d in docs {
                        if within.is_none_or(|w| w.contains(d)) {
                            has.insert(d);
                            if let Some(s) = scores.get_mut(d as usize) {
                                *s += score;
                            }
                        }
                    }
                }
            }
        }
        match &mut by_words {
            None => by_words = Some(has),
            Some(m) if plan.any_word => m.union_with(&has),
            Some(m) => m.intersect_with_each_dropped(&has, |d| {
                if let Some(s) = scores.get_mut(d as usize) {
                    *s = 0.0;
                }
            }),
        }
    }
    let mut matched = by_words.unwrap_or_else(|| Bits::empty(max_doc));
    // Boosts add to what matched by its words, not to what matched by a category alone.
    if !scores.is_empty() {
        for ((term, _), bm25) in plan.boosts.iter().zip(&weights.boosts) {
            add_term_scores(segment, term, bm25, Some(&matched), scores, None)?;
        }
    }
    let in_segment = Some((segment, fields));
    let shown = plan.categories.iter().filter(|n| n.shown).count();
    let mut need_sets = Vec::new();
    for need in plan.categories.iter().filter(|n| n.matches) {
        let set = in_category(vitals, in_segment, &need.category)?;
        add_to_each(&set, allowed, need.score, scores, Some(&mut matched));
        if need.shown && shown > 1 && need_sets.len() < DIVERSE_NEEDS {
            need_sets.push(set);
        }
    }
    // Weak needs only add to what matches anyway.
    for need in plan.categories.iter().filter(|n| !n.matches) {
        let set = in_category(vitals, in_segment, &need.category)?;
        add_to_each(&set, Some(&matched), need.score, scores, None);
    }
    let first = match &plan.first {
        Some(c) => {
            let set = in_category(vitals, in_segment, c)?;
            add_to_each(&set, allowed, 0.0, scores, Some(&mut matched));
            Some(set)
        }
        None => None,
    };
    if !plan.languages.is_empty() {
        let mut speaking = having_any(vitals, segment, fields.language, &plan.languages)?;
        if let Some(a) = allowed {
            speaking.intersect_with(a);
        }
        if plan.words.is_empty() && plan.categories.is_empty() {
            matched.union_with(&speaking);
        }
        speaking.for_each(|d| {
            if matched.contains(d)
                && let Some(s) = scores.get_mut(d as usize)
            {
                *s += LANGUAGE_SCORE;
            }
        });
    }
    // Every set added above was within `allowed`, so `matched` is too.
    Ok(Evaluated {
        matched,
        first,
        need_sets,
    })
}

/// Adds `score` to the score of each document of `set` that is in `within` (every one
/// when `None`), and puts those documents in `into` when given: one pass over the
/// segment's own set, no copy of it.
fn add_to_each(
    set: &Bits,
    within: Option<&Bits>,
    score: Score,
    scores: &mut [Score],
    mut into: Option<&mut Bits>,
) {
    for (i, &word) in set.0.iter().enumerate() {
        let w = word & within.map_or(u64::MAX, |m| m.0.get(i).copied().unwrap_or(0));
        if w == 0 {
            continue;
        }
        if let Some(into) = into.as_deref_mut()
            && let Some(t) = into.0.get_mut(i)
        {
            *t |= w;
        }
        if score != 0.0 && !scores.is_empty() {
            let mut bits = w;
            while bits != 0 {
                if let Some(s) = scores.get_mut(i * 64 + bits.trailing_zeros() as usize) {
                    *s += score;
                }
                bits &= bits - 1;
            }
        }
    }
}

/// Why a hit matched and scored as it did.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Explanation {
    /// Words of the question the service's text has (by their stems).
    pub words: Vec<String>,
    /// Words it matched, if at all, by a near spelling.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub near_spellings: Vec<String>,
    /// Needs of the question the service is in, with what each added.
    pub needs: Vec<ScoredNeed>,
    /// Boosts that applied.
    pub boosts: Vec<String>,
    /// Languages of the question the service lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// A crisis service put first because the question expresses risk.
    pub risk_first: bool,
    /// What the service's state (status, capacity, verification, links) multiplies its
    /// relevance by.
    pub state_factor: f32,
}

/// A need a hit is in, and what it added to the score.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScoredNeed {
    pub need: String,
    pub score: f32,
}

/// What [`evaluate`] found in a segment. Every document it gave a score is in `matched`.
struct Evaluated<'v> {
    /// The documents the plan matches.
    matched: Bits,
    /// The documents that come before all others ([`Plan::first`]), among others.
    first: Option<Cow<'v, Bits>>,
    /// With several needs, the documents of each of the first [`DIVERSE_NEEDS`] of them,
    /// among others.
    need_sets: Vec<Cow<'v, Bits>>,
}

/// Runs `search` with this thread's score of each of a segment's `max_doc` documents,
/// all zero to begin with; `search` says which it may have written (`None`: none), and
/// those are set back to zero for the next search (clearing only what was written costs
/// less than clearing all).
fn with_scores<T>(
    max_doc: u32,
    search: impl FnOnce(&mut [Score]) -> tantivy::Result<(T, Option<Bits>)>,
) -> tantivy::Result<T> {
    SCORES.with_borrow_mut(|scores| {
        let n = max_doc as usize;
        if scores.len() < n {
            scores.resize(n, 0.0);
        }
        let searched = search(&mut scores[..n]);
        match &searched {
            Ok((_, Some(written))) => written.for_each_word(|i| {
                scores[(i * 64).min(n)..((i + 1) * 64).min(n)].fill(0.0);
            }),
            Ok((_, None)) => {}
            Err(_) => scores.clear(),
        }
        searched.map(|(found, _)| found)
    })
}

impl PageCollector {
    /// How many services `plan` finds (`None`: every service the filters keep): the
    /// total of [`PageCollector::search`], without ranking them or counting facets.
    pub fn count(&self, searcher: &Searcher, plan: Option<&Plan>) -> tantivy::Result<usize> {
        let weights = plan.map(|p| Weights::new(searcher, p)).transpose()?;
        let mut total = 0;
        for segment in searcher.segment_readers() {
            let vitals = self.vitals.get(segment)?;
            // Matches only: no scores.
            let (filter, evaluated) =
                self.segment_matches(&vitals, segment, plan.zip(weights.as_ref()), &mut [])?;
            let alive = segment.alive_bitset();
            let matched = &evaluated.matched;
            total += match alive.is_none() && !filter.per_document() {
                true => matched.len(),
                false => match filter.settled(&vitals, alive, matched.len()) {
                    Some(kept) => matched.count_both(kept) as usize,
                    None => {
                        let mut n = 0;
                        matched.for_each(|doc| {
                            if filter.keeps_alive(&vitals, alive, doc) {
                                n += 1;
                            }
                        });
                        n
                    }
                },
            };
        }
        Ok(total)
    }

    /// Runs `plan` (`None`: every service the filters keep) over every segment.
    pub fn search(&self, searcher: &Searcher, plan: Option<&Plan>) -> tantivy::Result<Found> {
        let weights = plan.map(|p| Weights::new(searcher, p)).transpose()?;
        let mut found = Found {
            page: Vec::new(),
            total: 0,
            facets: FacetTally::new(),
            first: Vec::new(),
            ranked: Vec::new(),
            need_best: Vec::new(),
        };
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let part = with_scores(segment.max_doc(), |scores| {
                self.search_segment(ord as u32, segment, plan.zip(weights.as_ref()), scores)
            })?;
            found.total += part.total;
            found.facets.add(&part.facets);
            found.ranked.extend(part.ranked);
            found.first.extend(part.first);
            found
                .need_best
                .resize(part.need_best.len().max(found.need_best.len()), None);
            for (best, candidate) in found.need_best.iter_mut().zip(part.need_best) {
                if let Some(c) = candidate
                    && best.is_none_or(|b| best_ranked(&c, &b).is_lt())
                {
                    *best = Some(c);
                }
            }
        }
        found.first.sort_by(best_first);
        found.first.truncate(FIRST_LIMIT);
        found.ranked.sort_by(best_ranked);
        let first = std::mem::take(&mut found.first);
        let mut order: Vec<Ranked> = std::mem::take(&mut found.ranked)
            .into_iter()
            .filter(|r| !first.iter().any(|(_, f)| *f == r.1))
            .collect();
        let need_best: Vec<Option<Ranked>> = found
            .need_best
            .iter()
            .map(|b| b.filter(|b| !first.iter().any(|(_, f)| *f == b.1)))
            .collect();
        diversify(&mut order, &need_best);
        found.page = first
            .iter()
            .copied()
            .chain(
                order
                    .into_iter()
                    .map(|(score, address, _)| (score, address)),
            )
            .skip(self.offset)
            .take(self.limit.max(1))
            .collect();
        found.first = first;
        Ok(found)
    }

    /// What `plan` matches in the segment among what the yes-or-no filters allow (the
    /// filters that read each document's values are for the caller to apply).
    fn segment_matches<'v>(
        &self,
        vitals: &'v SegmentVitals,
        segment: &SegmentReader,
        plan: Option<(&Plan, &Weights)>,
        scores: &mut [Score],
    ) -> tantivy::Result<(Arc<SegmentFilter>, Evaluated<'v>)> {
        let id = segment.segment_id();
        let kept = self
            .segment_filters
            .0
            .lock()
            .ok()
            .and_then(|m| m.get(&id).cloned());
        let filter = match kept {
            Some(filter) => filter,
            None => {
                let made = Arc::new(SegmentFilter::new(
                    &self.filter,
                    vitals,
                    Some((segment, &self.fields)),
                )?);
                if let Ok(mut m) = self.segment_filters.0.lock() {
                    m.insert(id, made.clone());
                }
                made
            }
        };
        let evaluated = match plan {
            Some((plan, weights)) => evaluate(
                segment,
                &self.fields,
                plan,
                weights,
                vitals,
                filter.allowed.as_ref(),
                scores,
            )?,
            None => Evaluated {
                matched: filter
                    .allowed
                    .clone()
                    .unwrap_or_else(|| Bits::full(vitals.max_doc)),
                first: None,
                need_sets: Vec::new(),
            },
        };
        Ok((filter, evaluated))
    }

    /// The segment's part of the search, and the documents whose scores it wrote.
    fn search_segment(
        &self,
        segment_ord: u32,
        segment: &SegmentReader,
        plan: Option<(&Plan, &Weights)>,
        scores: &mut [Score],
    ) -> tantivy::Result<(Found, Option<Bits>)> {
        let vitals = self.vitals.get(segment)?;
        let (filter, evaluated) = self.segment_matches(&vitals, segment, plan, scores)?;
        let Evaluated {
            mut matched,
            first,
            need_sets,
        } = evaluated;
        let alive = segment.alive_bitset();
        let classes = vitals.classes((self.fresh_capacity, self.fresh_assured));
        let factors = class_factors();
        // Room for the page after the services that come first, whichever they are.
        // Room for the page after the services that come first and those moved up for
        // needs not shown otherwise, whichever they are. Each match is kept with the
        // needs it is in: (doc << 8) | needs.
        let mut top: TopNComputer<Score, u64, _> = TopNComputer::new_with_comparator(
            self.limit
                .max(1)
                .saturating_add(self.offset)
                .saturating_add(FIRST_LIMIT + DIVERSE_NEEDS),
            NaturalComparator,
        );
        let mut need_best: Vec<Option<(Score, DocId, u8)>> = vec![None; need_sets.len()];
        let mut top_first = TopNComputer::new_with_comparator(FIRST_LIMIT, NaturalComparator);
        let mut check_each = alive.is_some() || filter.per_document();
        if check_each && let Some(kept) = filter.settled(&vitals, alive, matched.len()) {
            matched.intersect_with_each_dropped(kept, |doc| {
                if let Some(s) = scores.get_mut(doc as usize) {
                    *s = 0.0;
                }
            });
            check_each = false;
        }
        // Ordered by relevance, a match whose score before its state (which only ever
        // scales it down, see [`class_factor`]) is no better than the worst of those kept
        // cannot be kept: most matches of a broad question end there.
        let by_relevance = self.sort == Sort::Relevance;
        let visit = |doc: DocId| -> bool {
            if check_each && !filter.keeps_alive(&vitals, alive, doc) {
                // Its score, if any, goes back to zero with the others'.
                if let Some(s) = scores.get_mut(doc as usize) {
                    *s = 0.0;
                }
                return false;
            }
            // With no words, every match scores the same and state alone orders.
            let score = scores.get(doc as usize).copied().unwrap_or(0.0);
            let base = if score > 0.0 { score } else { 1.0 };
            if by_relevance
                && top.threshold.is_some_and(|t| base <= t)
                && need_sets.iter().zip(&need_best).all(|(set, best)| {
                    best.is_some_and(|(b, _, _)| base <= b) || !set.contains(doc)
                })
                && first.as_ref().is_none_or(|f| {
                    top_first.threshold.is_some_and(|t| base <= t) || !f.contains(doc)
                })
            {
                return true;
            }
            let class = classes.get(doc as usize).copied().unwrap_or(0);
            let relevance = base * factors[usize::from(class & 0x7f)];
            let key = self.sort_key(&vitals, doc, relevance);
            if first.as_ref().is_some_and(|f| f.contains(doc)) {
                top_first.push(key, doc);
            }
            let mut needs = 0u8;
            for (k, set) in need_sets.iter().enumerate() {
                if set.contains(doc) {
                    needs |= 1 << k;
                }
            }
            for (k, best) in need_best.iter_mut().enumerate() {
                if needs & (1 << k) != 0 && best.is_none_or(|(b, _, _)| key > b) {
                    *best = Some((key, doc, needs));
                }
            }
            top.push(key, (u64::from(doc) << 8) | u64::from(needs));
            true
        };
        matched.retain(visit);
        let total = matched.len();
        let facets = if total == 0 {
            FacetTally::new()
        } else {
            FacetTally::count(&matched, &vitals)
        };
        let found = Found {
            page: Vec::new(),
            ranked: top
                .into_vec()
                .into_iter()
                .map(|d| {
                    let doc = (d.doc >> 8) as DocId;
                    (d.sort_key, DocAddress::new(segment_ord, doc), d.doc as u8)
                })
                .collect(),
            need_best: need_best
                .into_iter()
                .map(|b| b.map(|(key, doc, needs)| (key, DocAddress::new(segment_ord, doc), needs)))
                .collect(),
            total,
            facets,
            first: top_first
                .into_vec()
                .into_iter()
                .map(|d| (d.sort_key, DocAddress::new(segment_ord, d.doc)))
                .collect(),
        };
        // The documents kept are the only ones that may still hold a score.
        Ok((found, plan.map(|_| matched)))
    }

    /// Why the document at `address` matched `plan` and scored as it did.
    pub fn explain(
        &self,
        searcher: &Searcher,
        plan: &Plan,
        address: DocAddress,
    ) -> tantivy::Result<Explanation> {
        let segment = searcher.segment_reader(address.segment_ord);
        let doc = address.doc_id;
        let vitals = self.vitals.get(segment)?;
        let has = |term: &Term| -> tantivy::Result<bool> {
            let index = segment.inverted_index(term.field())?;
            Ok(index
                .read_postings(term, IndexRecordOption::Basic)?
                // A fresh posting list stands on its first document, which may be past
                // this one; seeking backwards is not allowed.
                .is_some_and(|mut p| p.doc() == doc || (p.doc() < doc && p.seek(doc) == doc)))
        };
        let label = |term: &Term| term.value().as_str().unwrap_or_default().replace('_', " ");
        let mut out = Explanation::default();
        for w in &plan.words {
            if has(&w.stem)? {
                out.words.push(w.label.clone());
            } else if w.typo.is_some() {
                out.near_spellings.push(w.label.clone());
            }
        }
        let in_segment = Some((segment, &self.fields));
        for need in &plan.categories {
            if in_category(&vitals, in_segment, &need.category)?.contains(doc) {
                out.needs.push(ScoredNeed {
                    need: need.category.clone(),
                    score: (need.score * 100.0).round() / 100.0,
                });
            }
        }
        for (term, boost) in &plan.boosts {
            if has(term)? {
                let place = if term.field() == self.fields.name {
                    "in the name"
                } else {
                    "side by side"
                };
                out.boosts
                    .push(format!("'{}' {place} (x{boost})", label(term)));
            }
        }
        if !plan.languages.is_empty() {
            let speaks = having_any(&vitals, segment, self.fields.language, &plan.languages)?;
            if speaks.contains(doc) {
                out.languages = plan.languages.clone();
            }
        }
        if let Some(c) = &plan.first {
            out.risk_first = in_category(&vitals, in_segment, c)?.contains(doc);
        }
        let classes = vitals.classes((self.fresh_capacity, self.fresh_assured));
        let class = classes.get(doc as usize).copied().unwrap_or(0);
        out.state_factor = class_factor(class & 0x7f);
        Ok(out)
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
    use crate::search::schema::{State, Traits, rank_class};
    use crate::search::segment::Record;

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
            let one_by_one = filter.allowed.as_ref().is_none_or(|a| a.contains(doc))
                && filter.keeps_each(&vitals, doc);
            // The set a broad question reads instead says the same.
            let settled = filter.settled(&vitals, None, 4).expect("settled");
            assert_eq!(settled.contains(doc), one_by_one);
            one_by_one
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
}
