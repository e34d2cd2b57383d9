//! Sets of documents of one segment, one bit each: what filters keep, what a question
//! matches, what each facet value covers.

use tantivy::DocId;

/// One bit per document of a segment.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Bits(pub(super) Vec<u64>);

impl Bits {
    pub(super) fn empty(max_doc: u32) -> Self {
        Self(vec![0; (max_doc as usize).div_ceil(64)])
    }

    pub(super) fn insert(&mut self, doc: DocId) {
        if let Some(w) = self.0.get_mut(doc as usize / 64) {
            *w |= 1 << (doc % 64);
        }
    }

    /// Puts `doc` in the set or takes it out.
    pub(super) fn set(&mut self, doc: DocId, present: bool) {
        if let Some(w) = self.0.get_mut(doc as usize / 64) {
            if present {
                *w |= 1 << (doc % 64);
            } else {
                *w &= !(1 << (doc % 64));
            }
        }
    }

    pub(super) fn contains(&self, doc: DocId) -> bool {
        self.0
            .get(doc as usize / 64)
            .is_some_and(|w| w >> (doc % 64) & 1 == 1)
    }

    pub(super) fn union_with(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    pub(super) fn full(max_doc: u32) -> Self {
        let mut set = Self(vec![u64::MAX; (max_doc as usize).div_ceil(64)]);
        if let Some(last) = set.0.last_mut()
            && !max_doc.is_multiple_of(64)
        {
            *last = (1 << (max_doc % 64)) - 1;
        }
        set
    }

    pub(super) fn len(&self) -> usize {
        self.count_both(self) as usize
    }

    /// Calls `each` with the position of every word that has a document.
    pub(super) fn for_each_word(&self, mut each: impl FnMut(usize)) {
        for (i, w) in self.0.iter().enumerate() {
            if *w != 0 {
                each(i);
            }
        }
    }

    /// Calls `each` with every document in the set, in order.
    pub(super) fn for_each(&self, mut each: impl FnMut(DocId)) {
        for (i, &word) in self.0.iter().enumerate() {
            let mut w = word;
            while w != 0 {
                each((i * 64) as DocId + w.trailing_zeros());
                w &= w - 1;
            }
        }
    }

    /// Keeps the documents for which `keep` (called in order) says so.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(DocId) -> bool) {
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

    pub(super) fn subtract(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= !b;
        }
    }

    /// Keeps only the documents also in `other`, calling `dropped` with each one it
    /// takes out.
    pub(super) fn intersect_with_each_dropped(
        &mut self,
        other: &Bits,
        mut dropped: impl FnMut(DocId),
    ) {
        for (i, (a, b)) in self.0.iter_mut().zip(&other.0).enumerate() {
            let mut gone = *a & !b;
            *a &= b;
            while gone != 0 {
                dropped((i * 64) as DocId + gone.trailing_zeros());
                gone &= gone - 1;
            }
        }
    }

    pub(super) fn intersect_with(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }

    /// How many documents are in both sets. Facets call this a few dozen times per
    /// search, so it uses the processor's population count where it has one.
    pub(super) fn count_both(&self, other: &Bits) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512vpopcntdq") {
                // SAFETY: the processor has these instructions.
                return unsafe { count_both_avx512(&self.0, &other.0) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has these instructions.
                return unsafe { count_both_avx2(&self.0, &other.0) };
            }
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the processor has the instruction.
                return unsafe { count_both_popcnt(&self.0, &other.0) };
            }
        }
        count_both_portable(&self.0, &other.0)
    }

    /// The union of the sets in `sets` whose bit is set in `mask`.
    pub(super) fn union_of(max_doc: u32, sets: &[Bits], mask: u64) -> Bits {
        let mut out = Bits::empty(max_doc);
        for (i, set) in sets.iter().enumerate() {
            if mask >> i & 1 == 1 {
                out.union_with(set);
            }
        }
        out
    }
}

/// A set of documents kept between searches (the documents with a term, or a word near
/// a misspelt one): a bit set, or the documents themselves when they are few, as most
/// coverage terms (a practice, a ward) and near spellings are. A list of a few hundred
/// documents is quicker to add to a bit set, and far smaller to keep, than a million
/// bits.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum KeptDocs {
    Dense(Bits),
    /// In order, no repeats.
    Sparse(Vec<DocId>),
}

impl KeptDocs {
    /// A list holds at most one document in this many of the segment's: adding a list
    /// to a bit set costs a few times more per document than a bit set's word does.
    const SPARSE_AT_MOST_ONE_IN: usize = 256;

    /// The set of `docs` (in order, no repeats) of a segment of `max_doc` documents.
    pub(super) fn of(max_doc: u32, docs: Vec<DocId>) -> Self {
        if docs.len() <= max_doc as usize / Self::SPARSE_AT_MOST_ONE_IN {
            return Self::Sparse(docs);
        }
        let mut set = Bits::empty(max_doc);
        for d in docs {
            set.insert(d);
        }
        Self::Dense(set)
    }

    /// An empty set for `postings` documents at most (some perhaps repeated, in order
    /// within each run given to [`KeptDocs::extend`], not across them), dense when so
    /// many would make it dense anyway: setting bits costs far less than sorting a long
    /// list.
    pub(super) fn with_room(max_doc: u32, postings: usize) -> Self {
        match postings <= max_doc as usize / Self::SPARSE_AT_MOST_ONE_IN {
            true => Self::Sparse(Vec::with_capacity(postings)),
            false => Self::Dense(Bits::empty(max_doc)),
        }
    }

    /// Adds documents to a set begun with [`KeptDocs::with_room`].
    pub(super) fn extend(&mut self, docs: &[DocId]) {
        match self {
            Self::Dense(set) => docs.iter().for_each(|&d| set.insert(d)),
            Self::Sparse(list) => list.extend_from_slice(docs),
        }
    }

    /// The set begun with [`KeptDocs::with_room`], its list put in order.
    pub(super) fn done(self) -> Self {
        match self {
            Self::Sparse(mut list) => {
                list.sort_unstable();
                list.dedup();
                Self::Sparse(list)
            }
            dense => dense,
        }
    }

    /// Memory the set takes.
    pub(super) fn bytes(&self) -> usize {
        match self {
            Self::Dense(b) => b.0.len() * 8,
            Self::Sparse(docs) => docs.len() * 4,
        }
    }

    /// Adds the set's documents to `set`.
    pub(super) fn add_to(&self, set: &mut Bits) {
        match self {
            Self::Dense(b) => set.union_with(b),
            Self::Sparse(docs) => docs.iter().for_each(|&d| set.insert(d)),
        }
    }

    /// Takes the set's documents out of `set`.
    pub(super) fn remove_from(&self, set: &mut Bits) {
        match self {
            Self::Dense(b) => set.subtract(b),
            Self::Sparse(docs) => docs.iter().for_each(|&d| set.set(d, false)),
        }
    }

    /// Calls `each` with every document in the set, in order.
    #[cfg(test)]
    pub(super) fn for_each(&self, mut each: impl FnMut(DocId)) {
        match self {
            Self::Dense(b) => b.for_each(each),
            Self::Sparse(docs) => docs.iter().for_each(|&d| each(d)),
        }
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

/// Counted 32 bytes at a time (the compiler's vector population count).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn count_both_avx2(a: &[u64], b: &[u64]) -> u64 {
    count_both_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn count_both_popcnt(a: &[u64], b: &[u64]) -> u64 {
    count_both_portable(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut dropped = Vec::new();
        a.clone()
            .intersect_with_each_dropped(&b, |d| dropped.push(d));
        assert_eq!(dropped, [0, 64]);
        a.intersect_with(&b);
        assert_eq!(a.count_both(&a), 2);
        a.set(63, false);
        a.set(7, true);
        assert!(!a.contains(63) && a.contains(7) && a.contains(129));
    }

    #[test]
    fn runs_of_documents_make_the_same_set_as_one_sorted_list() {
        let runs: [&[DocId]; 3] = [&[5, 9, 700], &[1, 9], &[3, 5, 1000]];
        for room in [8, 400] {
            let mut set = KeptDocs::with_room(1024, room);
            runs.iter().for_each(|run| set.extend(run));
            let set = set.done();
            assert_eq!(matches!(set, KeptDocs::Dense(_)), room > 4);
            let mut listed = Vec::new();
            set.for_each(|d| listed.push(d));
            assert_eq!(listed, [1, 3, 5, 9, 700, 1000]);
        }
    }

    #[test]
    fn few_documents_are_kept_as_a_list_and_many_as_bits() {
        let few = KeptDocs::of(1024, vec![3, 700]);
        assert!(matches!(few, KeptDocs::Sparse(_)));
        let many = KeptDocs::of(1024, (0..100).collect());
        assert!(matches!(many, KeptDocs::Dense(_)));
        assert!(few.bytes() < many.bytes());
        for set in [&few, &many] {
            let mut bits = Bits::empty(1024);
            bits.insert(1000);
            set.add_to(&mut bits);
            let mut without = bits.clone();
            set.remove_from(&mut without);
            assert_eq!(without.len(), 1);
            let mut listed = Vec::new();
            set.for_each(|d| listed.push(d));
            assert!(listed.iter().all(|&d| bits.contains(d)));
            assert!(bits.contains(1000) && !listed.contains(&1000));
            assert_eq!(bits.len(), listed.len() + 1);
        }
        assert_eq!(many.bytes(), 128);
    }
}
