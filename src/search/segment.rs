//! What searches read of a segment besides its posting lists, made once when the segment
//! is loaded (a tantivy `Warmer`) or kept from an earlier search: segments never change,
//! so none of it goes stale.

use super::bits::{Bits, KeptDocs};
use super::hit::StoredHit;
use super::schema::{self, Freshness, GENDERS, REMOTE_MODES, State, Traits, rank_class};
use crate::domain::{DeliveryMode, ServiceStatus, taxonomy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tantivy::fastfield::AliveBitSet;
use tantivy::index::SegmentId;
use tantivy::postings::{BlockSegmentPostings, Postings, TermInfo};
use tantivy::query::FuzzyTermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::schema::Value;
use tantivy::{
    DocId, DocSet, Searcher, SearcherGeneration, SegmentReader, TERMINATED, TantivyDocument, Term,
    Warmer,
};

/// Values worked out from a segment on demand and kept, up to a budget (past that, all
/// are forgotten and the busy ones soon come back).
struct SegmentMemo<K, V> {
    /// The values, and how much of the budget they take.
    values: Mutex<(HashMap<K, Arc<V>>, usize)>,
    budget: usize,
    /// How much of the budget a value takes.
    weigh: fn(&V) -> usize,
}

impl<K: Eq + std::hash::Hash + Clone, V> SegmentMemo<K, V> {
    fn new(budget: usize, weigh: fn(&V) -> usize) -> Self {
        Self {
            values: Mutex::new((HashMap::new(), 0)),
            budget,
            weigh,
        }
    }

    /// The value for `key`, worked out with `read` unless kept from before.
    fn get_or_read<E>(&self, key: &K, read: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        if let Some(v) = self.values.lock().ok().and_then(|m| m.0.get(key).cloned()) {
            return Ok(v);
        }
        let v = Arc::new(read()?);
        if let Ok(mut kept) = self.values.lock() {
            let weight = (self.weigh)(&v);
            if kept.1 + weight > self.budget {
                // Half of what is kept goes, whichever it is: with more values asked for
                // than fit, each still has an even chance of being kept, where
                // forgetting all at once would keep none of a cycle of questions.
                let (values, used) = &mut *kept;
                let keep = self.budget / 2;
                let weigh = self.weigh;
                let mut sum = 0;
                values.retain(|_, v| {
                    let w = weigh(v);
                    let fits = sum + w <= keep;
                    if fits {
                        sum += w;
                    }
                    fits
                });
                *used = sum;
            }
            kept.1 += weight;
            kept.0.insert(key.clone(), v.clone());
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

impl Record {
    /// The record a document will have once written (its fast fields).
    pub(super) fn of_document(doc: &TantivyDocument, f: &schema::Fields) -> Self {
        let u64_of = |field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        let f64_of = |field| doc.get_first(field).and_then(|v| v.as_f64());
        Self {
            state: u64_of(f.state),
            categories: u64_of(f.category_mask),
            traits: u64_of(f.traits),
            capacity_updated: doc.get_first(f.capacity_updated).and_then(|v| v.as_i64()),
            coords: f64_of(f.latitude).zip(f64_of(f.longitude)),
        }
    }
}

/// What a segment's searches read, copied out of its fast fields once when the segment is
/// loaded: a bit set for each value filters and facets ask about, and the few per-document
/// values that are not yes-or-no, each in its own array so that a search reads only what
/// it needs.
///
/// A partner's quick update (capacity, status, "still accurate") changes only the values
/// in the first group below; it is applied at once by [`SegmentVitals::patched`], a copy
/// of those values with the document changed that shares everything else, until the
/// index's next commit holds it (see `SearchIndex::patch`).
pub struct SegmentVitals {
    pub(super) max_doc: u32,
    // What quick updates change.
    pub(super) states: Vec<u64>,
    /// Minutes since 1970 of the last capacity update (rounded down); 0 for never.
    pub(super) capacity_minutes: Vec<u32>,
    pub(super) by_status: Vec<Bits>,
    /// By [`schema::accepting_ord`].
    pub(super) by_accepting: Vec<Bits>,
    /// Each document's [`rank_class`] for the freshness last asked for: it changes once a
    /// day, so it is kept until then.
    classes: Mutex<Option<(Freshness, Arc<Vec<u8>>)>>,
    /// Hits of documents changed by quick updates since the segment was written.
    patched: HashMap<DocId, Arc<StoredHit>>,
    // What only a new document changes.
    /// Youngest and oldest age served.
    pub(super) ages: Arc<Vec<[u8; 2]>>,
    /// NaN when the service has no coordinates.
    pub(super) coords: Arc<Vec<[f32; 2]>>,
    pub(super) by_mode: Arc<Vec<Bits>>,
    pub(super) by_category: Arc<Vec<Bits>>,
    /// By [`Traits::free`].
    pub(super) by_free: Arc<Vec<Bits>>,
    /// By [`Traits::gender`].
    pub(super) by_gender: Arc<Vec<Bits>>,
    pub(super) self_referral: Arc<Bits>,
    /// Reached by telephone or online, so never too far away.
    pub(super) remote: Arc<Bits>,
    /// The documents with a term, for terms filters ask about again and again (a
    /// caller's coverage tokens, languages): a segment never changes, so neither do these.
    term_sets: Arc<SegmentMemo<Term, KeptDocs>>,
    /// The documents with a word a typo or two from a term (a word of a question that
    /// the directory does not contain), by term and edits allowed: finding those words
    /// in the segment's dictionary is costly, and callers' words recur.
    near_sets: Arc<SegmentMemo<(Term, u8), KeptDocs>>,
    /// The words of the segment's dictionary near a term (by term and edits allowed),
    /// for the sets above: walking the dictionary with an automaton costs far more than
    /// reading the few words' postings, and a list of words is small enough to keep
    /// thousands of.
    near_words: Arc<SegmentMemo<(Term, u8), Vec<TermInfo>>>,
    /// Hits decoded from the segment's stored documents, for the next search that shows
    /// them (as Solr's document cache does): a segment's documents never change.
    stored: Arc<SegmentMemo<DocId, StoredHit>>,
}

/// Decoded hits a segment keeps at most (a few KiB each).
const STORED_KEPT: usize = 2048;

/// Lists of words near a term a segment keeps at most (a few dozen bytes each).
const NEAR_WORDS_KEPT: usize = 20_000;

/// Memory a segment may keep in document sets of each kind (terms, near spellings): a
/// thousand dense sets at 100,000 services, a hundred at a million, and many more of
/// the short lists most coverage terms and near spellings make.
const SETS_KEPT_BYTES: usize = 16 << 20;

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
        let n = max_doc as usize;
        let mut states = Vec::with_capacity(n);
        let mut ages = Vec::with_capacity(n);
        let mut capacity_minutes = Vec::with_capacity(n);
        let mut coords = Vec::with_capacity(n);
        let mut by_status = sets(ServiceStatus::ALL.len());
        let mut by_mode = sets(DeliveryMode::ALL.len());
        let mut by_category = sets(taxonomy::CATEGORIES.len());
        let mut by_accepting = sets(4);
        let mut by_free = sets(3);
        let mut by_gender = sets(GENDERS.len());
        let mut self_referral = Bits::empty(max_doc);
        let mut remote = Bits::empty(max_doc);
        for (d, r) in (0..max_doc).zip(records) {
            let state = State::unpack(r.state);
            let traits = Traits::unpack(r.traits);
            for (sets, value) in [
                (&mut by_status, state.status),
                (&mut by_accepting, state.accepting),
                (&mut by_free, traits.free),
                (&mut by_gender, traits.gender),
            ] {
                if let Some(set) = sets.get_mut(value as usize) {
                    set.insert(d);
                }
            }
            for (sets, mask) in [
                (&mut by_mode, state.modes),
                (&mut by_category, r.categories),
            ] {
                for (i, set) in sets.iter_mut().enumerate() {
                    if mask >> i & 1 == 1 {
                        set.insert(d);
                    }
                }
            }
            if traits.self_referral {
                self_referral.insert(d);
            }
            if state.modes & REMOTE_MODES != 0 {
                remote.insert(d);
            }
            states.push(r.state);
            ages.push([traits.min_age, traits.max_age]);
            capacity_minutes.push(capacity_minute(r.capacity_updated));
            coords.push(match r.coords {
                Some((lat, lon)) => [lat as f32, lon as f32],
                None => [f32::NAN; 2],
            });
        }
        Self {
            max_doc,
            states,
            capacity_minutes,
            by_status,
            by_accepting,
            classes: Mutex::new(None),
            patched: HashMap::new(),
            ages: Arc::new(ages),
            coords: Arc::new(coords),
            by_mode: Arc::new(by_mode),
            by_category: Arc::new(by_category),
            by_free: Arc::new(by_free),
            by_gender: Arc::new(by_gender),
            self_referral: Arc::new(self_referral),
            remote: Arc::new(remote),
            term_sets: Arc::new(SegmentMemo::new(SETS_KEPT_BYTES, KeptDocs::bytes)),
            near_sets: Arc::new(SegmentMemo::new(SETS_KEPT_BYTES, KeptDocs::bytes)),
            near_words: Arc::new(SegmentMemo::new(NEAR_WORDS_KEPT, |_| 1)),
            stored: Arc::new(SegmentMemo::new(STORED_KEPT, |_| 1)),
        }
    }

    /// A copy with document `doc` changed to `record` and showing `hit`, sharing all
    /// that a quick update cannot change; `None` when the record differs in any of that
    /// (categories, delivery modes, who it is for, place), which needs a new document.
    pub(super) fn patched(
        &self,
        doc: DocId,
        record: &Record,
        hit: Arc<StoredHit>,
        alive: Option<&AliveBitSet>,
    ) -> Option<SegmentVitals> {
        let d = doc as usize;
        let old = State::unpack(*self.states.get(d)?);
        let new = State::unpack(record.state);
        let traits = Traits::unpack(record.traits);
        let same_categories = self
            .by_category
            .iter()
            .enumerate()
            .all(|(i, set)| set.contains(doc) == (record.categories >> i & 1 == 1));
        let coords = match record.coords {
            Some((lat, lon)) => [lat as f32, lon as f32],
            None => [f32::NAN; 2],
        };
        let same_place = self.coords[d]
            .iter()
            .zip(coords)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        let unchanged = old.modes == new.modes
            && same_categories
            && same_place
            && self.ages[d] == [traits.min_age, traits.max_age]
            && self.self_referral.contains(doc) == traits.self_referral
            && self.by_free.get(traits.free as usize)?.contains(doc)
            && self.by_gender.get(traits.gender as usize)?.contains(doc);
        if !unchanged {
            return None;
        }
        let mut states = self.states.clone();
        states[d] = record.state;
        let mut capacity_minutes = self.capacity_minutes.clone();
        capacity_minutes[d] = capacity_minute(record.capacity_updated);
        let moved = |sets: &[Bits], value: u64| {
            let mut sets = sets.to_vec();
            for (i, set) in sets.iter_mut().enumerate() {
                set.set(doc, i as u64 == value);
            }
            sets
        };
        let classes = self
            .classes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(fresh, classes)| {
                let mut classes = classes.to_vec();
                classes[d] = rank_class(new, *fresh);
                (*fresh, Arc::new(classes))
            });
        // Documents replaced since by a commit are searched no more.
        let mut patched: HashMap<DocId, Arc<StoredHit>> = self
            .patched
            .iter()
            .filter(|(d, _)| alive.is_none_or(|a| a.is_alive(**d)))
            .map(|(d, h)| (*d, h.clone()))
            .collect();
        patched.insert(doc, hit);
        Some(SegmentVitals {
            max_doc: self.max_doc,
            states,
            capacity_minutes,
            by_status: moved(&self.by_status, new.status),
            by_accepting: moved(&self.by_accepting, new.accepting),
            classes: Mutex::new(classes),
            patched,
            ages: self.ages.clone(),
            coords: self.coords.clone(),
            by_mode: self.by_mode.clone(),
            by_category: self.by_category.clone(),
            by_free: self.by_free.clone(),
            by_gender: self.by_gender.clone(),
            self_referral: self.self_referral.clone(),
            remote: self.remote.clone(),
            term_sets: self.term_sets.clone(),
            near_sets: self.near_sets.clone(),
            near_words: self.near_words.clone(),
            stored: self.stored.clone(),
        })
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
    ) -> tantivy::Result<Arc<KeptDocs>> {
        self.term_sets.get_or_read(term, || {
            let mut docs = Vec::new();
            for_each_posting(segment, term, IndexRecordOption::Basic, |d, _| docs.push(d))?;
            Ok(KeptDocs::of(self.max_doc, docs))
        })
    }

    /// The documents of the segment with a word at most `distance` edits from `term`
    /// (a swap counting as one), kept for next time.
    pub(super) fn near(
        &self,
        segment: &SegmentReader,
        term: &Term,
        distance: u8,
    ) -> tantivy::Result<Arc<KeptDocs>> {
        let key = (term.clone(), distance);
        self.near_sets.get_or_read(&key, || {
            let index = segment.inverted_index(term.field())?;
            let words = self.near_words.get_or_read(&key, || {
                let automaton = FuzzyTermQuery::new(term.clone(), distance, true).automaton()?;
                let mut words = Vec::new();
                let mut stream = index.terms().search(automaton).into_stream()?;
                while stream.advance() {
                    words.push(stream.value().clone());
                }
                Ok::<_, tantivy::TantivyError>(words)
            })?;
            let postings = words
                .iter()
                .map(|info| info.doc_freq as usize)
                .sum::<usize>();
            let mut found = KeptDocs::with_room(self.max_doc, postings);
            for info in words.iter() {
                let block =
                    index.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
                for_each_block(block, |block| found.extend(block.docs()));
            }
            Ok(found.done())
        })
    }

    /// The decoded hit of a document, read with `read` unless kept from before.
    pub fn stored(
        &self,
        doc: DocId,
        read: impl FnOnce() -> anyhow::Result<StoredHit>,
    ) -> anyhow::Result<Arc<StoredHit>> {
        if let Some(hit) = self.patched.get(&doc) {
            return Ok(hit.clone());
        }
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

/// Minutes since 1970 of a capacity update at unix second `t`; 0 for never.
fn capacity_minute(t: Option<i64>) -> u32 {
    t.filter(|t| *t > 0)
        .map_or(0, |t| u32::try_from(t / 60).unwrap_or(u32::MAX))
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

    /// Puts `vitals` in place of the segment's (see [`SegmentVitals::patched`]); searches
    /// already running keep the ones they read.
    pub(super) fn replace(&self, segment: SegmentId, vitals: SegmentVitals) {
        if let Ok(mut m) = self.segments.write() {
            m.insert(segment, Arc::new(vitals));
        }
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

/// The postings of `term` are skipped through, not read, when `within` holds fewer than
/// one of this many of the term's documents.
const SEEK_WHEN_FEWER_THAN_ONE_IN: usize = 16;

/// [`for_each_posting`] for the documents of `within` only (all when `None`). When they
/// are far fewer than the term's documents (a common word after a rare one has narrowed
/// the question), the postings are skipped to each of them, a block of 128 documents at a
/// time, instead of all read.
pub(super) fn for_each_posting_within(
    segment: &SegmentReader,
    term: &Term,
    record: IndexRecordOption,
    within: Option<&Bits>,
    mut each: impl FnMut(DocId, u32),
) -> tantivy::Result<()> {
    let Some(within) = within else {
        return for_each_posting(segment, term, record, each);
    };
    let index = segment.inverted_index(term.field())?;
    let Some(info) = index.get_term_info(term)? else {
        return Ok(());
    };
    if within.len().saturating_mul(SEEK_WHEN_FEWER_THAN_ONE_IN) >= info.doc_freq as usize {
        return for_each_posting(segment, term, record, |d, tf| {
            if within.contains(d) {
                each(d, tf);
            }
        });
    }
    let mut postings = index.read_postings_from_terminfo(&info, record)?;
    let with_freqs = record.has_freq();
    for (i, &word) in within.0.iter().enumerate() {
        let mut w = word;
        while w != 0 {
            let d = (i * 64) as DocId + w.trailing_zeros();
            w &= w - 1;
            let at = match postings.doc() {
                at if at < d => postings.seek(d),
                at => at,
            };
            if at == TERMINATED {
                return Ok(());
            }
            if at == d {
                each(d, if with_freqs { postings.term_freq() } else { 1 });
            }
        }
    }
    Ok(())
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
    let Some(block) = index.read_block_postings(term, record)? else {
        return Ok(());
    };
    let with_freqs = record.has_freq();
    for_each_block(block, |block| {
        if with_freqs {
            for (&d, &tf) in block.docs().iter().zip(block.freqs()) {
                each(d, tf);
            }
        } else {
            for &d in block.docs() {
                each(d, 1);
            }
        }
    });
    Ok(())
}

/// Calls `each` with every block of `block`'s postings in turn.
fn for_each_block(mut block: BlockSegmentPostings, mut each: impl FnMut(&BlockSegmentPostings)) {
    while !block.docs().is_empty() {
        each(&block);
        block.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::schema::State;

    fn hit() -> Arc<StoredHit> {
        Arc::new(StoredHit {
            summary: serde_json::value::RawValue::from_string("{}".into()).unwrap(),
            vitals: Default::default(),
            coverage: Default::default(),
        })
    }

    #[test]
    fn a_full_memo_forgets_half_and_keeps_answering() {
        let memo: SegmentMemo<u32, u32> = SegmentMemo::new(10, |_| 1);
        let mut reads = 0;
        for round in 0..3 {
            for k in 0..30u32 {
                let v = memo
                    .get_or_read(&k, || {
                        reads += 1;
                        Ok::<_, ()>(k * 2)
                    })
                    .unwrap();
                assert_eq!(*v, k * 2, "round {round}");
                let (kept, used) = &*memo.values.lock().unwrap();
                assert!(
                    kept.len() <= 10 && *used == kept.len(),
                    "{used} for {}",
                    kept.len()
                );
            }
        }
        // Never everything forgotten at once: past the first fill, at least half stays.
        let kept = memo.values.lock().unwrap().0.len();
        assert!(kept > 5, "{kept}");
        assert!(reads <= 90);
    }

    #[test]
    fn postings_within_a_few_documents_are_skipped_to_and_the_same_as_read() {
        use tantivy::schema::{Schema, TEXT};
        let mut builder = Schema::builder();
        let word = builder.add_text_field("word", TEXT);
        let index = tantivy::Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for d in 0..2000u32 {
            let mut doc = TantivyDocument::default();
            doc.add_text(word, "common");
            if d % 3 == 0 {
                doc.add_text(word, "third");
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let segment = searcher.segment_reader(0);
        let max_doc = segment.max_doc();
        for term in ["common", "third", "absent"] {
            let term = Term::from_field_text(word, term);
            // Few enough to skip to (7 of 2,000), then too many (every other one).
            for step in [300, 2] {
                let mut within = Bits::empty(max_doc);
                (0..max_doc).step_by(step).for_each(|d| within.insert(d));
                let (mut read, mut skipped) = (Vec::new(), Vec::new());
                for_each_posting(segment, &term, IndexRecordOption::WithFreqs, |d, tf| {
                    if within.contains(d) {
                        read.push((d, tf));
                    }
                })
                .unwrap();
                let record = IndexRecordOption::WithFreqs;
                for_each_posting_within(segment, &term, record, Some(&within), |d, tf| {
                    skipped.push((d, tf))
                })
                .unwrap();
                assert_eq!(read, skipped, "{term:?} every {step}");
            }
        }
    }

    #[test]
    fn a_quick_update_changes_one_document_and_nothing_it_cannot() {
        let state = |status, accepting| {
            State {
                status,
                accepting,
                modes: 1,
                ..State::default()
            }
            .pack()
        };
        let record = |state| Record {
            state,
            categories: 0b10,
            ..Record::default()
        };
        let vitals = SegmentVitals::from_records(3, (0..3).map(|_| record(state(0, 0))));
        let fresh = (1, 1);
        let before = vitals.classes(fresh);
        let patched = vitals
            .patched(1, &record(state(1, 2)), hit(), None)
            .expect("a status and capacity change is a patch");
        assert!(patched.by_status[1].contains(1) && !patched.by_status[0].contains(1));
        assert!(patched.by_accepting[2].contains(1) && !patched.by_accepting[0].contains(1));
        assert!(patched.by_status[0].contains(0) && patched.by_status[0].contains(2));
        assert_eq!(patched.states[1], state(1, 2));
        assert_eq!(
            patched.classes(fresh)[1],
            rank_class(State::unpack(state(1, 2)), fresh)
        );
        assert_eq!(patched.classes(fresh)[0], before[0]);
        assert!(patched.patched.contains_key(&1) && !patched.patched.contains_key(&0));
        // The original is untouched: searches already running keep what they read.
        assert!(vitals.by_status[0].contains(1) && vitals.states[1] == state(0, 0));
        let mut moved = record(state(0, 0));
        moved.categories = 0b100;
        assert!(
            vitals.patched(1, &moved, hit(), None).is_none(),
            "categories"
        );
        let mut modes = State::unpack(state(0, 0));
        modes.modes = 2;
        assert!(
            vitals
                .patched(1, &record(modes.pack()), hit(), None)
                .is_none(),
            "modes"
        );
        let mut placed = record(state(0, 0));
        placed.coords = Some((51.5, -0.1));
        assert!(vitals.patched(1, &placed, hit(), None).is_none(), "place");
        assert!(
            vitals
                .patched(7, &record(state(0, 0)), hit(), None)
                .is_none(),
            "no such document"
        );
    }
}
