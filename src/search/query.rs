//! From what a navigator types to a [`Plan`]: words, stems, typos, neighbouring words and
//! what the lexicon understood (needs, risk, languages); and from filters to a
//! [`StateFilter`] that the collector checks.

use super::schema::{self, Fields, accepting_ord, gender_ord, with_analyzers};
use crate::domain::{Accepting, DeliveryMode, Gender, ServiceStatus};
use crate::geo::eligibility::{Caller, RULE_KINDS};
use crate::understand::{self, Lexicon, Understanding, normalise};
use tantivy::Term;

/// The longest question accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 300;
/// Words searched for beyond this many are ignored (the whole question is understood).
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
/// What the question's strongest need adds to a service in its category.
pub const CATEGORY_SCORE: f32 = 10.0;
/// Needs less sure than this only add to the score of services that match anyway: a
/// bare word such as "company" or "walking" says too little to bring in a whole category.
pub const WEAK_NEED: f32 = 0.45;
/// What words count for beside needs (see [`Plan::word_weight`]).
pub const WORDS_BESIDE_NEEDS: f32 = 0.25;
/// What a language the question names adds to a service that lists it.
pub const LANGUAGE_SCORE: f32 = 3.0;
/// Boosts on BM25 for a question's stem in the name, and two of its words side by side.
const NAME_BOOST: f32 = 2.0;
const PAIR_BOOST: f32 = 3.0;

/// One word of the question.
#[derive(Debug, Clone)]
pub struct Word {
    /// Its stem in the catch-all field.
    pub stem: Term,
    /// For a word the directory does not contain: the word as typed and how many edits a
    /// near spelling may be away.
    pub typo: Option<(Term, u8)>,
    /// The word as typed (normalised), for explanations.
    pub label: String,
}

/// What a question matches and how matches score, for the collector to evaluate term at a
/// time (see `collect`). A service matches when it has every word (or, for
/// [`Plan::any_word`], any word) or is in one of the categories; its score is the sum of
/// its words' scores (only when the words are what it matched by), each category's score,
/// and the boosts.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The question's words a service must have (all, or any with `any_word`), each scored.
    pub words: Vec<Word>,
    /// Match services with any of `words` rather than all of them.
    pub any_word: bool,
    /// Categories of the needs the question expresses, most confident first.
    pub categories: Vec<NeedScore>,
    /// Terms that only add to the score of what matches anyway, with their boost.
    pub boosts: Vec<(Term, f32)>,
    /// Services in this category come before every other match (the question expresses
    /// risk: crisis services first).
    pub first: Option<String>,
    /// Languages the question names: services listing one gain [`LANGUAGE_SCORE`]; when
    /// the question has no other words or needs, they are what matches.
    pub languages: Vec<String>,
    /// What words and boosts count for: 1 alone, [`WORDS_BESIDE_NEEDS`] when the
    /// question expresses needs (the needs say what kind of service; words then order
    /// services within and beside them).
    pub word_weight: f32,
}

/// How much a need counts, from 0 to 1: its confidence, and how much of the question
/// said it: a need said by "lost my partner" counts for more than one said by "cancer"
/// in "lost my partner to cancer".
fn strength(need: &understand::Need, all: &[understand::Need]) -> f32 {
    let said = |n: &understand::Need| {
        n.because
            .iter()
            .map(|b| b.split_whitespace().count())
            .max()
            .unwrap_or(1) as f32
    };
    let most = all.iter().map(said).fold(1.0, f32::max);
    need.confidence * (0.5 + 0.5 * said(need) / most)
}

/// A need of the question as a plan uses it.
#[derive(Debug, Clone)]
pub struct NeedScore {
    /// The taxonomy category.
    pub category: String,
    /// What being in it adds to a service's score.
    pub score: f32,
    /// Whether it matches services by itself (a weak need, below [`WEAK_NEED`], only adds
    /// to services that match anyway).
    pub matches: bool,
    /// Whether its best service is shown on the first screen even when others outscore
    /// it (see `collect::DIVERSE_NEEDS`): for needs at least [`CLEAR_NEED`].
    pub shown: bool,
}

/// Needs at least this sure get their best service on the first screen.
pub const CLEAR_NEED: f32 = 0.8;

/// One content word of the question: its stem, and the word as typed when the directory
/// does not contain it (so it may match with a typo).
#[derive(Debug, Clone)]
pub struct ContentWord {
    /// The word's stem, as the catch-all field indexes it.
    pub stem: String,
    /// The word as typed, lower-cased and accent-folded but not stemmed.
    pub plain: String,
    /// True when the directory lacks the word as typed, so near spellings may match.
    pub typo_prone: bool,
}

/// The scored part of a search: the question's content words and what they understood.
pub struct TextQuery {
    /// Words that carry the question (not stop words, not language names), each once.
    pub content: Vec<ContentWord>,
    /// Needs, risk and languages the question expresses.
    pub understanding: Understanding,
    /// Stems of the words to highlight in snippets.
    pub highlight: Vec<String>,
    fields: Fields,
}

/// How one word of the question may match: its stem anywhere in the service's text,
/// or, for a word the directory does not contain, the word with a typo or two.
fn word(f: &Fields, w: &ContentWord) -> Word {
    let distance = match w.plain.chars().count() {
        0..=3 => None,
        4..=8 => Some(1),
        _ => Some(2),
    };
    Word {
        stem: Term::from_field_text(f.all, &w.stem),
        typo: distance
            .filter(|_| w.typo_prone)
            .map(|d| (Term::from_field_text(f.plain, &w.plain), d)),
        label: w.plain.clone(),
    }
}

/// The scored part of a search: `None` when the question has no words. `known` tells
/// whether the directory contains a word as typed; only other words are matched with
/// typos, as looking for near spellings of a correctly spelled word costs time and
/// mostly finds noise.
pub fn text_query(
    f: &Fields,
    q: &str,
    lexicon: &Lexicon,
    known: impl Fn(&str) -> bool,
) -> Option<TextQuery> {
    let words = normalise(q);
    if words.is_empty() {
        return None;
    }
    // Understood whole (a caller's story often says the risk at its end); only the words
    // searched for are capped.
    let understanding = understand::understand(lexicon, &words);
    let mut content: Vec<String> = words
        .iter()
        .zip(&understanding.language_words)
        .filter(|(w, language)| !**language && !STOP_WORDS.contains(&w.as_str()))
        .map(|(w, _)| w.clone())
        .collect();
    if content.is_empty() && understanding.needs.is_empty() && understanding.languages.is_empty() {
        content = words.clone();
    }
    content.truncate(MAX_WORDS);
    // Each content word once, with its stem and, when the analyser keeps it, the word.
    let mut pairs: Vec<ContentWord> = Vec::new();
    for w in &content {
        let plain = analyse(w, false);
        let Some(stem) = analyse(w, true).into_iter().next() else {
            continue;
        };
        if !pairs.iter().any(|p| p.stem == stem) {
            let plain = plain.into_iter().next().unwrap_or_else(|| w.clone());
            pairs.push(ContentWord {
                typo_prone: !known(&plain),
                stem,
                plain,
            });
        }
    }
    let highlight = pairs.iter().map(|p| p.stem.clone()).collect();
    Some(TextQuery {
        content: pairs,
        understanding,
        highlight,
        fields: *f,
    })
}

impl TextQuery {
    /// A plan that needs every word of `keep` (indexes into [`TextQuery::content`]), or
    /// any of them, or one of the question's needs.
    pub fn plan(&self, keep: &[usize], any_word: bool) -> Plan {
        let f = &self.fields;
        let chosen: Vec<&ContentWord> = keep.iter().filter_map(|&i| self.content.get(i)).collect();
        let stems: Vec<&str> = chosen.iter().map(|w| w.stem.as_str()).collect();
        // Only add to the score of what matches anyway: words in the name, words of the
        // question side by side in the name or description.
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
        let u = &self.understanding;
        Plan {
            words: chosen.iter().map(|w| word(f, w)).collect(),
            any_word,
            categories: u
                .needs
                .iter()
                .map(|n| NeedScore {
                    category: n.id.clone(),
                    score: CATEGORY_SCORE * strength(n, &u.needs),
                    matches: n.confidence >= WEAK_NEED,
                    shown: n.confidence >= CLEAR_NEED,
                })
                .collect(),
            boosts,
            first: u.risk_raised().then(|| understand::CRISIS.to_string()),
            languages: u.languages.iter().map(|l| l.code.to_string()).collect(),
            word_weight: if u.needs.iter().all(|n| n.confidence < WEAK_NEED) {
                1.0
            } else {
                WORDS_BESIDE_NEEDS
            },
        }
    }

    /// The plan that needs every content word (or a need).
    pub fn strict(&self) -> Plan {
        self.plan(&(0..self.content.len()).collect::<Vec<_>>(), false)
    }

    /// A plan matching the categories of `needs` alone, the first need first.
    pub fn needs_only(&self, needs: &[String]) -> Plan {
        Plan {
            word_weight: 1.0,
            categories: needs
                .iter()
                .enumerate()
                .map(|(i, n)| NeedScore {
                    category: n.clone(),
                    score: CATEGORY_SCORE / (1.0 + i as f32),
                    matches: true,
                    shown: false,
                })
                .collect(),
            first: self
                .understanding
                .risk_raised()
                .then(|| understand::CRISIS.to_string()),
            ..Plan::default()
        }
    }
}

/// Filters a search can apply; each is AND-ed, values within one are OR-ed.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Taxonomy ids, any of which a service must be in; empty for any.
    pub categories: Vec<String>,
    /// Delivery modes, any of which a service must offer; empty for any.
    pub delivery_modes: Vec<DeliveryMode>,
    /// Statuses, any of which a service must have; empty for any (not the API's default).
    pub statuses: Vec<ServiceStatus>,
    /// Only services whose fresh capacity news says this; None for any.
    pub accepting: Option<Accepting>,
    /// Capacity updated before this (unix seconds) counts as unknown.
    pub capacity_fresh_after: i64,
    /// Only services people may refer themselves to.
    pub self_referral: bool,
    /// Only services open to someone this old, in years.
    pub age: Option<u8>,
    /// Only services open to this gender; `Any` keeps every service.
    pub gender: Option<Gender>,
    /// ISO 639 codes, any of which a service must offer (one listing none counts as `en`).
    pub languages: Vec<String>,
    /// Only free services (true) or only charging ones (false); those that do not say are out.
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
    /// The eligibility filter for this caller; with `include_unknown`, services whose answer is unknown stay.
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
    /// Only services people may refer themselves to.
    pub self_referral: bool,
    /// Only services open to someone this old, in years.
    pub age: Option<u8>,
    /// A position in `GENDERS`, other than "any".
    pub gender: Option<u64>,
    /// 1 free, 0 charges.
    pub free: Option<u64>,
    /// Keep services within this many km of this point (latitude, longitude), and remote ones.
    pub within: Option<((f64, f64), f64)>,
    /// Coverage tokens: one of the first needed, none of the second allowed.
    pub coverage: Option<(Vec<String>, Vec<String>)>,
}

impl StateFilter {
    /// The filter these filters make, as bit masks over the packed state.
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

    fn understood(q: &str) -> TextQuery {
        let (_, f) = schema::build();
        text_query(&f, q, &Lexicon::built_in(), |_| true).expect("a question")
    }

    #[test]
    fn needs_become_categories_and_risk_puts_crisis_first() {
        let t = understood("the bailiffs are coming round");
        let plan = t.strict();
        assert!(plan.categories.iter().any(|n| n.category == "debt"));
        assert!(plan.first.is_none());
        let plan = understood("he took a load of pills").strict();
        assert_eq!(plan.first.as_deref(), Some("crisis"));
    }

    #[test]
    fn language_names_are_preferences_not_words() {
        let t = understood("farsi speaking counsellor");
        let words: Vec<&str> = t.content.iter().map(|w| w.plain.as_str()).collect();
        assert_eq!(words, vec!["counsellor"]);
        assert_eq!(t.strict().languages, vec!["fa".to_string()]);
    }

    #[test]
    fn stop_words_alone_are_still_looked_for() {
        let t = understood("the");
        assert_eq!(t.content.len(), 1);
    }
}
