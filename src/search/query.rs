//! From what a navigator types to a [`Plan`]: words, stems, typos, neighbouring words and
//! the synonym list; and from filters to a [`StateFilter`] that the collector checks.

use super::schema::{self, Fields, accepting_ord, gender_ord, with_analyzers};
use crate::domain::{Accepting, DeliveryMode, Gender, ServiceStatus};
use crate::geo::eligibility::{Caller, RULE_KINDS};
use std::sync::LazyLock;
use tantivy::Term;

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
    with_analyzers(|plain, stem| {
        let analyzer = if stemmed { stem } else { plain };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    })
}

/// What a word of the question adds when it matches by its stem (scored as BM25 on the
/// catch-all field) or, failing that, by a near spelling.
pub const TYPO_SCORE: f32 = 0.8;
/// What a category the synonym list maps the question to adds.
pub const CATEGORY_SCORE: f32 = 2.5;
/// Boosts on BM25 for a question's stem in the name, two of its words side by side, and
/// the directory's words for what the caller said in the name.
const NAME_BOOST: f32 = 2.0;
const PAIR_BOOST: f32 = 3.0;
const SYNONYM_NAME_BOOST: f32 = 1.5;

/// One word of the question.
#[derive(Debug, Clone)]
pub struct Word {
    /// Its stem in the catch-all field.
    pub stem: Term,
    /// For a word the directory does not contain: the word as typed and how many edits a
    /// near spelling may be away.
    pub typo: Option<(Term, u8)>,
}

/// What a question matches and how matches score, for the collector to evaluate term at a
/// time (see `collect`). A service matches when it has every word (or, for
/// [`Plan::any_word`], any word) or is in one of the categories; its score is the sum of
/// its words' scores (only when the words are what it matched by), [`CATEGORY_SCORE`] for
/// each category it is in, and the boosts.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub words: Vec<Word>,
    pub any_word: bool,
    pub categories: Vec<String>,
    /// Terms that only add to the score of what matches anyway, with their boost.
    pub boosts: Vec<(Term, f32)>,
}

/// The scored part of a search, in two strengths.
pub struct TextQuery {
    /// Services that match every word of the question (each word by its stem in any
    /// text field, or with a typo), or are in a category the synonym list maps the
    /// question to. Phrases and synonym words only add to the score.
    pub strict: Plan,
    /// Services that match any word: asked when nothing matches `strict`.
    pub loose: Plan,
    /// Stems of the words to highlight in snippets.
    pub highlight: Vec<String>,
}

/// How one word of the question may match: its stem anywhere in the service's text,
/// or, for a word the directory does not contain (`plain` is `Some` only then), the word
/// with a typo or two.
fn word(f: &Fields, stem: &str, plain: Option<&str>) -> Word {
    let distance = plain.and_then(|word| match word.chars().count() {
        0..=3 => None,
        4..=8 => Some(1),
        _ => Some(2),
    });
    Word {
        stem: Term::from_field_text(f.all, stem),
        typo: plain
            .zip(distance)
            .map(|(word, d)| (Term::from_field_text(f.plain, word), d)),
    }
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
    let words: Vec<Word> = pairs
        .iter()
        .map(|(stem, plain)| word(f, stem, plain.as_deref()))
        .collect();

    // Only add to the score of what matches anyway: words in the name, words of the
    // question side by side in the name or description, the directory's words for what
    // the caller said in the name.
    let mut boosts: Vec<(Term, f32)> = stems
        .iter()
        .map(|s| (Term::from_field_text(f.name, s), NAME_BOOST))
        .collect();
    for pair in stems.windows(2) {
        boosts.push((
            Term::from_field_text(f.pairs, &schema::pair(pair[0], pair[1])),
            PAIR_BOOST,
        ));
    }
    let synonym_stems = analyse(&expansion.words.join(" "), true);
    for stem in &synonym_stems {
        boosts.push((Term::from_field_text(f.name, stem), SYNONYM_NAME_BOOST));
    }
    let mut highlight: Vec<String> = stems.iter().map(|s| s.to_string()).collect();
    highlight.extend(synonym_stems);
    // Words the analysers drop entirely (say, one 50 letters long) leave a plan that
    // matches nothing.
    let strict = Plan {
        words,
        any_word: false,
        categories: expansion.categories,
        boosts,
    };
    let loose = Plan {
        any_word: true,
        ..strict.clone()
    };
    Some(TextQuery {
        strict,
        loose,
        highlight,
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
    /// The coverage tokens a service needs one of (`include`) and must have none of
    /// (`exclude`).
    pub fn token_sets(&self) -> (Vec<String>, Vec<String>) {
        let mut include: Vec<String> = self.tokens.iter().map(|t| format!("in:{t}")).collect();
        let mut exclude: Vec<String> = self.tokens.iter().map(|t| format!("ex:{t}")).collect();
        for k in &self.unknown_kinds {
            if self.include_unknown {
                include.push(format!("inkind:{k}"));
            } else {
                exclude.push(format!("exkind:{k}"));
            }
        }
        (include, exclude)
    }
}

/// The filters as the collector checks them (see `collect::SegmentFilter`).
#[derive(Debug, Clone, Default)]
pub struct StateFilter {
    /// Taxonomy categories, any of which a service must be in.
    pub categories: Vec<String>,
    /// Languages, any of which a service must offer.
    pub languages: Vec<String>,
    /// Bit `i` for `ServiceStatus::ALL[i]`; 0 keeps every status.
    pub statuses: u64,
    /// Bit `i` for `DeliveryMode::ALL[i]`; 0 keeps every mode.
    pub modes: u64,
    /// This [`accepting_ord`], with a capacity update at or after this (unix seconds).
    pub accepting: Option<(u64, i64)>,
    pub self_referral: bool,
    pub age: Option<u8>,
    /// A position in `GENDERS`, other than "any".
    pub gender: Option<u64>,
    /// 1 free, 0 charges.
    pub free: Option<u64>,
    pub within: Option<((f64, f64), f64)>,
    /// Coverage tokens: one of the first needed, none of the second allowed.
    pub coverage: Option<(Vec<String>, Vec<String>)>,
}

impl StateFilter {
    pub fn new(filters: &Filters) -> Self {
        let bits = |positions: &mut dyn Iterator<Item = Option<usize>>| {
            positions.flatten().fold(0u64, |m, p| m | 1 << p)
        };
        Self {
            categories: filters.categories.clone(),
            languages: filters.languages.clone(),
            statuses: bits(
                &mut filters
                    .statuses
                    .iter()
                    .map(|s| ServiceStatus::ALL.iter().position(|x| x == s)),
            ),
            modes: bits(
                &mut filters
                    .delivery_modes
                    .iter()
                    .map(|m| DeliveryMode::ALL.iter().position(|x| x == m)),
            ),
            accepting: filters
                .accepting
                .map(|a| (accepting_ord(Some(a)), filters.capacity_fresh_after)),
            self_referral: filters.self_referral,
            age: filters.age,
            gender: filters.gender.filter(|g| *g != Gender::Any).map(gender_ord),
            free: filters.free.map(u64::from),
            within: filters.within,
            coverage: filters
                .eligibility
                .as_ref()
                .map(EligibilityFilter::token_sets),
        }
    }
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
