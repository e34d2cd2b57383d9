//! From what a navigator types to a tantivy query: words, stems, typos, phrases and the
//! synonym list; and from filters to non-scoring clauses.

use super::schema::{
    Fields, LATITUDE, LONGITUDE, REMOTE_MODES, STATE, State, plain_analyzer, stemmed_analyzer,
};
use crate::domain::{Accepting, DeliveryMode, Gender, ServiceStatus};
use crate::geo::eligibility::{Caller, RULE_KINDS, distance_km};
use std::ops::Bound;
use std::sync::LazyLock;
use tantivy::Term;
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur, PhraseQuery,
    Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, SegmentReader};

/// The longest question accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 300;
/// Words beyond this many are ignored.
const MAX_WORDS: usize = 24;

/// Words that carry no need on their own ("I can't get to see my…").
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "been",
    "being",
    "but",
    "by",
    "can",
    "cannot",
    "cant",
    "could",
    "did",
    "do",
    "does",
    "dont",
    "feel",
    "feeling",
    "for",
    "from",
    "get",
    "getting",
    "got",
    "had",
    "has",
    "have",
    "he",
    "help",
    "her",
    "him",
    "his",
    "how",
    "i",
    "im",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "ive",
    "just",
    "lot",
    "lots",
    "me",
    "much",
    "my",
    "need",
    "needs",
    "no",
    "not",
    "of",
    "on",
    "or",
    "our",
    "really",
    "she",
    "so",
    "some",
    "someone",
    "something",
    "since",
    "that",
    "the",
    "their",
    "them",
    "there",
    "they",
    "this",
    "to",
    "very",
    "want",
    "wants",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "will",
    "with",
    "wont",
    "would",
    "you",
    "your",
    "support",
    "service",
    "services",
    "please",
    "looking",
    "find",
];

/// One line of the synonym list.
struct Synonym {
    phrases: Vec<Vec<String>>,
    categories: Vec<String>,
    words: Vec<String>,
}

static SYNONYMS: LazyLock<Vec<Synonym>> =
    LazyLock::new(|| parse_synonyms(include_str!("synonyms.txt")));

/// Lower-cases, drops apostrophes and turns other punctuation into spaces.
pub fn normalise(q: &str) -> Vec<String> {
    let cleaned: String = q
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}' | '`'))
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    cleaned.split_whitespace().map(str::to_string).collect()
}

fn parse_synonyms(text: &str) -> Vec<Synonym> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((left, right)) = line.split_once("=>") else {
            continue;
        };
        let phrases = left
            .split(',')
            .map(normalise)
            .filter(|p| !p.is_empty())
            .collect();
        let mut categories = Vec::new();
        let mut words = Vec::new();
        for item in right.split_whitespace() {
            match item.strip_prefix("category:") {
                Some(c) => categories.push(c.to_string()),
                None => words.push(item.to_lowercase()),
            }
        }
        out.push(Synonym {
            phrases,
            categories,
            words,
        });
    }
    out
}

/// True when `a` and `b` differ by at most one edit (insert, delete, substitute, swap).
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return true;
    }
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

fn phrase_in(words: &[String], phrase: &[String]) -> bool {
    if phrase.len() == 1 {
        let p = &phrase[0];
        return words
            .iter()
            .any(|w| w == p || (p.len() >= 6 && w.len() >= 6 && within_one_edit(w, p)));
    }
    words.windows(phrase.len()).any(|w| w == phrase)
}

/// What the synonym list adds to a question: categories and directory words.
#[derive(Debug, Default, PartialEq)]
pub struct Expansion {
    pub categories: Vec<String>,
    pub words: Vec<String>,
}

pub fn expand(words: &[String]) -> Expansion {
    let mut e = Expansion::default();
    for s in SYNONYMS.iter() {
        if s.phrases.iter().any(|p| phrase_in(words, p)) {
            for c in &s.categories {
                if !e.categories.contains(c) {
                    e.categories.push(c.clone());
                }
            }
            for w in &s.words {
                if !e.words.contains(w) {
                    e.words.push(w.clone());
                }
            }
        }
    }
    e
}

fn analyse(text: &str, stemmed: bool) -> Vec<String> {
    let mut analyzer = if stemmed {
        stemmed_analyzer()
    } else {
        plain_analyzer()
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(q: Box<dyn Query>, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(q, boost)))
}

/// The scored part of a search, in two strengths.
pub struct TextQuery {
    /// Services that match every word of the question (each word by its stem in any
    /// text field, or with a typo), or are in a category the synonym list maps the
    /// question to. Phrases and synonym words only add to the score.
    pub strict: Box<dyn Query>,
    /// Services that match any word: asked when nothing matches `strict`.
    pub loose: Box<dyn Query>,
}

/// How one word of the question may match: its stem in any text field, or, for a word
/// the directory does not contain (`plain` is `Some` only then), the word with up to one
/// or two typos.
fn word_clauses(f: &Fields, stem: &str, plain: Option<&str>) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out = vec![
        boosted(term_query(f.name, stem), 3.0),
        boosted(term_query(f.description, stem), 1.0),
        boosted(term_query(f.extra, stem), 1.5),
        boosted(term_query(f.category_text, stem), 0.7),
    ];
    if let Some(word) = plain {
        let distance = match word.chars().count() {
            0..=3 => None,
            4..=8 => Some(1),
            _ => Some(2),
        };
        if let Some(d) = distance {
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(f.plain, word), d, true);
            out.push(boosted(Box::new(fuzzy), 0.8));
        }
    }
    out
}

/// The scored part of a search: `None` when the question has no words. `known` tells
/// whether the directory contains a word as typed; only other words are matched with
/// typos, as looking for near spellings of a correctly spelled word costs time and
/// mostly finds noise.
pub fn text_query(f: &Fields, q: &str, known: impl Fn(&str) -> bool) -> Option<TextQuery> {
    let mut words = normalise(q);
    words.truncate(MAX_WORDS);
    if words.is_empty() {
        return None;
    }
    let expansion = expand(&words);
    let content: Vec<String> = words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    let content = if content.is_empty() && expansion.categories.is_empty() {
        words.clone()
    } else {
        content
    };
    // Each content word once, with its stem and, when the analyser keeps it, the word.
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    for word in &content {
        let plain = analyse(word, false);
        let Some(stem) = analyse(word, true).into_iter().next() else {
            continue;
        };
        if !pairs.iter().any(|(s, _)| *s == stem) {
            let typo_prone = plain.into_iter().next().filter(|p| !known(p));
            pairs.push((stem, typo_prone));
        }
    }
    let stems: Vec<&str> = pairs.iter().map(|(s, _)| s.as_str()).collect();

    // Matches on their own: every word, or a synonym category.
    let mut matches: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut any_word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if !pairs.is_empty() {
        let every_word = pairs
            .iter()
            .map(|(stem, plain)| {
                let clauses = word_clauses(f, stem, plain.as_deref());
                let q: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
                (Occur::Must, q)
            })
            .collect();
        matches.push((Occur::Should, Box::new(BooleanQuery::new(every_word))));
        for (stem, plain) in &pairs {
            any_word.extend(word_clauses(f, stem, plain.as_deref()));
        }
    }
    for c in &expansion.categories {
        let q = ConstScoreQuery::new(term_query(f.category, c), 2.5);
        matches.push((Occur::Should, Box::new(q.clone())));
        any_word.push((Occur::Should, Box::new(q)));
    }

    // Only add to the score of what matches anyway.
    let mut boosts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if stems.len() >= 2 {
        for (field, boost) in [(f.name, 4.0), (f.description, 2.0)] {
            let terms: Vec<Term> = stems
                .iter()
                .map(|s| Term::from_field_text(field, s))
                .collect();
            boosts.push(boosted(Box::new(PhraseQuery::new(terms)), boost));
        }
    }
    for stem in analyse(&expansion.words.join(" "), true) {
        boosts.push(boosted(term_query(f.name, &stem), 1.5));
        boosts.push(boosted(term_query(f.description, &stem), 0.8));
    }
    if matches.is_empty() {
        // Words the analysers drop entirely (say, one 50 letters long) match nothing.
        return Some(TextQuery {
            strict: Box::new(EmptyQuery),
            loose: Box::new(EmptyQuery),
        });
    }
    let with_boosts = |required: Vec<(Occur, Box<dyn Query>)>| -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(required)))];
        clauses.extend(boosts.iter().map(|(o, q)| (*o, q.box_clone())));
        Box::new(BooleanQuery::new(clauses))
    };
    Some(TextQuery {
        strict: with_boosts(matches),
        loose: with_boosts(any_word),
    })
}

/// Filters a search can apply; each is AND-ed, values within one are OR-ed.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub categories: Vec<String>,
    pub delivery_modes: Vec<DeliveryMode>,
    pub statuses: Vec<ServiceStatus>,
    pub accepting: Option<Accepting>,
    /// Capacity updated before this (unix seconds) counts as unknown.
    pub capacity_fresh_after: i64,
    pub self_referral: bool,
    pub age: Option<u8>,
    pub gender: Option<Gender>,
    pub languages: Vec<String>,
    pub free: Option<bool>,
    /// Keep services that can see this caller.
    pub eligibility: Option<EligibilityFilter>,
    /// Keep services within this many kilometres of this point, and remote ones.
    pub within: Option<((f64, f64), f64)>,
}

/// Who can be seen, as index terms: see `geo::eligibility`.
#[derive(Debug, Clone, Default)]
pub struct EligibilityFilter {
    /// Tokens of the rules the caller meets.
    pub tokens: Vec<String>,
    /// Rule kinds the caller cannot be checked against.
    pub unknown_kinds: Vec<&'static str>,
    /// Also keep services whose answer is `unknown`.
    pub include_unknown: bool,
}

impl EligibilityFilter {
    pub fn for_caller(caller: &Caller, include_unknown: bool) -> Self {
        let mut unknown_kinds: Vec<&'static str> = RULE_KINDS
            .iter()
            .copied()
            .filter(|k| caller.why_unknown(k).is_some())
            .collect();
        unknown_kinds.push("none");
        Self {
            tokens: caller.tokens(),
            unknown_kinds,
            include_unknown,
        }
    }

    /// Eligible: some include rule met, no exclude rule met, and no exclude rule that
    /// cannot be checked. With unknowns: some include rule met or not checkable, and no
    /// exclude rule met.
    fn clauses(&self, f: &Fields) -> Vec<(Occur, Box<dyn Query>)> {
        let mut include: Vec<String> = self.tokens.iter().map(|t| format!("in:{t}")).collect();
        let mut exclude: Vec<String> = self.tokens.iter().map(|t| format!("ex:{t}")).collect();
        for k in &self.unknown_kinds {
            if self.include_unknown {
                include.push(format!("inkind:{k}"));
            } else {
                exclude.push(format!("exkind:{k}"));
            }
        }
        fn strs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        vec![
            (Occur::Must, any_of(f.coverage, &strs(&include))),
            (Occur::MustNot, any_of(f.coverage, &strs(&exclude))),
        ]
    }
}

/// Services within `km` of `origin`, and those that work by telephone or online.
fn within_clause(origin: (f64, f64), km: f64) -> Box<dyn Query> {
    let predicate = FunctionPredicate::from(move |segment: &SegmentReader| {
        let ff = segment.fast_fields();
        let lat = ff.f64(LATITUDE).ok();
        let lon = ff.f64(LONGITUDE).ok();
        let state = ff.u64(STATE)?;
        Ok(move |doc: DocId| {
            let modes = State::unpack(state.first(doc).unwrap_or(0)).modes;
            if modes & REMOTE_MODES != 0 {
                return true;
            }
            let here = lat
                .as_ref()
                .and_then(|c| c.first(doc))
                .zip(lon.as_ref().and_then(|c| c.first(doc)));
            here.is_some_and(|p| distance_km(origin, p) <= km)
        })
    });
    Box::new(DocPredicateQuery::from(predicate))
}

fn any_of(field: Field, values: &[&str]) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        values
            .iter()
            .map(|v| (Occur::Should, term_query(field, v)))
            .collect(),
    ))
}

fn u64_range(field: Field, lo: u64, hi: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(field, lo)),
        Bound::Included(Term::from_field_u64(field, hi)),
    ))
}

/// Non-scoring clauses for the filters: each must match, or with `MustNot`, must not.
pub fn filter_clauses(f: &Fields, filters: &Filters) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out: Vec<(Occur, Box<dyn Query>)> =
        status_clause(f, &filters.statuses).into_iter().collect();
    let mut out_must: Vec<Box<dyn Query>> = Vec::new();
    if !filters.categories.is_empty() {
        let v: Vec<&str> = filters.categories.iter().map(String::as_str).collect();
        out_must.push(any_of(f.category, &v));
    }
    if !filters.delivery_modes.is_empty() {
        let v: Vec<&str> = filters.delivery_modes.iter().map(|m| m.as_str()).collect();
        out_must.push(any_of(f.delivery_mode, &v));
    }
    if let Some(a) = filters.accepting {
        out_must.push(term_query(f.accepting, a.as_str()));
        out_must.push(Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_i64(
                f.capacity_updated,
                filters.capacity_fresh_after,
            )),
            Bound::Unbounded,
        )));
    }
    if filters.self_referral {
        out_must.push(term_query(f.self_referral, "yes"));
    }
    if let Some(age) = filters.age {
        out_must.push(u64_range(f.min_age, 0, u64::from(age)));
        out_must.push(u64_range(f.max_age, u64::from(age), u64::from(u8::MAX)));
    }
    if let Some(g) = filters.gender
        && g != Gender::Any
    {
        out_must.push(any_of(f.gender, &["any", g.as_str()]));
    }
    if !filters.languages.is_empty() {
        let v: Vec<&str> = filters.languages.iter().map(String::as_str).collect();
        out_must.push(any_of(f.language, &v));
    }
    if let Some(free) = filters.free {
        out_must.push(term_query(f.free, if free { "yes" } else { "no" }));
    }
    out.extend(out_must.into_iter().map(|q| (Occur::Must, q)));
    if let Some(e) = &filters.eligibility {
        out.extend(e.clauses(f));
    }
    if let Some((origin, km)) = filters.within {
        out.push((Occur::Must, within_clause(origin, km)));
    }
    out
}

/// Every service has exactly one status, so "not one of the others" selects the same
/// services; it is the cheaper query when the wanted statuses are the common ones.
fn status_clause(f: &Fields, wanted: &[ServiceStatus]) -> Option<(Occur, Box<dyn Query>)> {
    if wanted.is_empty() {
        return None;
    }
    if wanted.contains(&ServiceStatus::Active) {
        let others: Vec<&str> = ServiceStatus::ALL
            .iter()
            .filter(|s| !wanted.contains(s))
            .map(|s| s.as_str())
            .collect();
        return (!others.is_empty()).then(|| (Occur::MustNot, any_of(f.status, &others)));
    }
    let v: Vec<&str> = wanted.iter().map(|s| s.as_str()).collect();
    Some((Occur::Must, any_of(f.status, &v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories(q: &str) -> Vec<String> {
        expand(&normalise(q)).categories
    }

    #[test]
    fn lay_words_map_to_categories() {
        assert!(categories("money worries").contains(&"debt".to_string()));
        assert!(categories("I can't pay my bills").contains(&"debt".to_string()));
        assert!(categories("my wife died last month").contains(&"bereavement".to_string()));
        assert!(categories("lonely since she passed away").contains(&"befriending".to_string()));
        assert!(categories("lost my job").contains(&"employment".to_string()));
        assert!(categories("cant sleep").contains(&"mental_wellbeing".to_string()));
        assert!(categories("bereavment").contains(&"bereavement".to_string()));
        assert!(categories("the weather").is_empty());
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit("lonely", "lonley"));
        assert!(within_one_edit("bailifs", "bailiffs"));
        assert!(within_one_edit("exercise", "exercize"));
        assert!(!within_one_edit("bills", "kilns"));
        assert!(!within_one_edit("abc", "abcde"));
    }

    #[test]
    fn query_syntax_is_just_text() {
        assert_eq!(
            normalise("debt AND (\"food\") -bank* ~2"),
            vec!["debt", "and", "food", "bank", "2"]
        );
    }
}
