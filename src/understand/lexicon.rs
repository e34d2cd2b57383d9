//! The lay-language lexicon: phrases callers use, each mapped to a need with a
//! confidence (see `lexicon/README.md` for the file format). Phrases are compiled into a
//! trie of word stems, so reading a question costs a walk from each of its words, however
//! large the lexicon; words the lexicon does not know are matched to its words with a
//! typo or two through a table of deletions (as SymSpell does).

use super::{Need, RISK, normalise};
use crate::domain::taxonomy;
use rustc_hash::FxHashMap;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer,
};

/// The files shipped with signpost, by need: `lexicon/NEED.txt`.
macro_rules! lexicon_files {
    ($($need:literal),* $(,)?) => {
        &[$(($need, include_str!(concat!("lexicon/", $need, ".txt")))),*]
    };
}
const FILES: &[(&str, &str)] = lexicon_files!(
    "risk",
    "crisis",
    "debt",
    "benefits",
    "money",
    "food",
    "befriending",
    "bereavement",
    "carers",
    "employment",
    "housing",
    "homelessness",
    "domestic_abuse",
    "sexual_violence",
    "drugs_alcohol",
    "gambling",
    "physical_activity",
    "parenting",
    "young_people",
    "older_people",
    "lgbtq",
    "refugees",
    "esol",
    "digital_skills",
    "arts",
    "volunteering",
    "peer_support",
    "long_term_conditions",
    "disability",
    "mental_wellbeing",
    "legal",
    "education",
    "veterans",
    "women",
    "men",
    "community",
    "green_spaces",
);

/// What a `*` in a phrase may skip.
const GAP_WORDS: usize = 3;
/// A risk phrase at least this sure raises risk by itself.
pub const RISK_ALONE: f32 = 0.8;
/// Weaker risk cues in one question raise it when their confidences add up to this
/// (words counted once): "can't cope" and "tablets", say.
pub const RISK_TOGETHER: f32 = 0.8;
/// Words that deny what follows them in a note ("denies self harm", "no SI", "not
/// suicidal"): a risk phrase right after one does not count.
const DENIALS: [&str; 8] = [
    "no", "not", "never", "denies", "denied", "denying", "nil", "without",
];
/// Words that may stand between a denial and what it denies ("no current SI", "denies
/// any thoughts of", "not actively suicidal", "never had thoughts of"), at most
/// [`DENIAL_FILLER_WORDS`] of them.
const DENIAL_FILLERS: [&str; 25] = [
    "any",
    "going",
    "to",
    "gonna",
    "thoughts",
    "thought",
    "of",
    "personal",
    "had",
    "been",
    "talk",
    "history",
    "intent",
    "current",
    "currently",
    "active",
    "actively",
    "recent",
    "ongoing",
    "apparent",
    "obvious",
    "immediate",
    "acute",
    "further",
    "evidence",
];

/// Words that make a "no" before a phrase an answer, not a denial ("if I say no they
/// will kill me"): punctuation is gone by the time phrases are read.
const ANSWERED: [&str; 6] = ["say", "says", "said", "saying", "answer", "answered"];
/// Words a phrase starts with when it is a sentence of its own ("no, he will kill me",
/// "not now, I want to die"), which a denial before it cannot reach.
const SUBJECTS: [&str; 21] = [
    "i", "im", "ill", "id", "ive", "he", "hes", "hell", "hed", "she", "shes", "shell", "shed",
    "they", "theyre", "theyll", "we", "you", "its", "thats", "theres",
];

/// Whether the words before `start` deny what starts there.
fn denied(words: &[String], start: usize) -> bool {
    let before = |n: usize| start.checked_sub(n).map(|i| words[i].as_str());
    if words
        .get(start)
        .is_some_and(|w| SUBJECTS.contains(&w.as_str()))
        || (before(1).is_some_and(|w| DENIALS.contains(&w))
            && before(2).is_some_and(|w| ANSWERED.contains(&w)))
    {
        return false;
    }
    // Back over the fillers, then the denial itself.
    (1..=DENIAL_FILLER_WORDS + 1)
        .map_while(before)
        .find(|w| !DENIAL_FILLERS.contains(w))
        .is_some_and(|w| DENIALS.contains(&w))
}

/// How many [`DENIAL_FILLERS`] a denial may reach across.
const DENIAL_FILLER_WORDS: usize = 3;

/// Words right after a denied phrase that take the denial back ("not suicidal exactly,
/// just…", "not suicidal but…"): the phrase still does not count, but the denial no
/// longer silences the risk model, which reads what comes next.
const HEDGES: [&str; 7] = ["exactly", "as", "but", "just", "though", "really", "before"];

/// Words that deny the short phrase right before them in a note ("SI denied", "SH nil",
/// "SI neg").
const DENIALS_AFTER: [&str; 4] = ["denied", "nil", "none", "neg"];
/// What may follow such a denial for it to be one: a note going on to what the caller
/// wants ("SI screen neg, needs housing"). Anything else may be what was denied or
/// refused ("passive SI, nil plan", "suicidal, denied a bed", "self harm, denied
/// everything"), and punctuation is gone by the time phrases are read.
const AFTER_DENIAL: [&str; 12] = [
    "needs",
    "need",
    "wants",
    "want",
    "requests",
    "requesting",
    "looking",
    "asking",
    "seeking",
    "referred",
    "today",
    "currently",
];
/// The longest phrase a denial after it can reach: a note's short words ("SI", "self
/// harm", "passive SI"), not an event ("took an overdose, denied").
const DENIED_AFTER_WORDS: usize = 2;

/// Whether the words after the phrase `start..end` deny it in a note. Unlike a denial
/// before a phrase, this does not silence the risk model: the note may go on to what
/// the caller did.
fn denied_after(words: &[String], start: usize, end: usize) -> bool {
    if end - start > DENIED_AFTER_WORDS {
        return false;
    }
    let at = |i: usize| words.get(i).map(String::as_str);
    let denial = match at(end) {
        Some("screen" | "screened" | "screening") => {
            matches!(at(end + 1), Some("neg" | "negative" | "clear")).then_some(end + 2)
        }
        Some(w) if DENIALS_AFTER.contains(&w) => Some(end + 1),
        _ => None,
    };
    denial.is_some_and(|next| at(next).is_none_or(|w| AFTER_DENIAL.contains(&w)))
}

/// Words after a risk exception's match that bring its story back to now: "tried to end
/// her life two years ago and again last night", "thoughts of suicide years ago and
/// they're back". The syntax cannot say where a question ends, so an exception written
/// for a past ("… years ago") would otherwise swallow what follows it.
const BACK_TO_NOW: [&str; 4] = ["again", "tonight", "tonite", "today"];
/// Two words that do the same ("last night", "they're back", "and still do").
const BACK_TO_NOW_PAIRS: [(&str, &str); 19] = [
    ("shes", "back"),
    ("hes", "back"),
    ("still", "dont"),
    ("still", "do"),
    ("still", "feel"),
    ("still", "want"),
    ("last", "night"),
    ("this", "morning"),
    ("this", "week"),
    ("right", "now"),
    ("since", "yesterday"),
    ("theyre", "back"),
    ("are", "back"),
    ("is", "back"),
    ("its", "back"),
    ("come", "back"),
    ("came", "back"),
    ("coming", "back"),
    ("creeping", "back"),
];
/// A word right before "anymore" ("any more") that ends the past instead: "had those
/// thoughts years ago but not anymore"; unless what is no more is being well ("was fine
/// but not any more", [`WELL`] a word or two before).
const ENDED_BEFORE_ANYMORE: [&str; 2] = ["not", "no"];
/// Words that may follow a clause-ending "any more" (besides [`SUBJECTS`]).
const CLAUSE_STARTS: [&str; 14] = [
    "and", "but", "so", "since", "now", "because", "cos", "lol", "as", "though", "then", "its",
    "it", "really",
];
/// See [`ENDED_BEFORE_ANYMORE`].
const WELL: [&str; 11] = [
    "fine", "ok", "okay", "well", "better", "good", "coping", "managing", "alright", "safe",
    "stable",
];
/// How far after an exception's match [`BACK_TO_NOW`] is looked for.
const BACK_TO_NOW_WORDS: usize = 6;
/// Words that make a later "again" a condition, not a return: "my boss will kill me if
/// I'm late again".
const CONDITION: [&str; 2] = ["if", "unless"];
/// How far before the end of an exception's match a [`CONDITION`] may be: the exception
/// itself may end on it ("… will kill me if I'm").
const CONDITION_BEFORE: usize = 3;

/// The definition in `risk.txt` of the means of harm that, right after a risk exception's
/// match, show it was not the idiom it looked like: "going to end it with my partner" is
/// a break-up, "… with my partner's insulin" is not (stems make "partner's" the
/// exception's "partner").
const MEANS: &str = "MEANS";
/// The definition in `risk.txt` of words that, in the same place, say the idiom or game
/// was meant for real: "shooting people on the xbox and at school tomorrow".
const FOR_REAL: &str = "FOR_REAL";

/// Numbers written as words, by value, for `#` and `#N+` ("five years ago" as "5 years
/// ago").
const NUMBER_WORDS: [(&str, u32); 28] = [
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
    ("hundred", 100),
];

/// The number a question's word stands for: digits, or a number written as a word.
fn number_value(plain: &str) -> Option<u32> {
    if !plain.is_empty() && plain.chars().all(|c| c.is_ascii_digit()) {
        // Digits too long for a u32 are still a number.
        return Some(plain.parse().unwrap_or(u32::MAX));
    }
    NUMBER_WORDS
        .iter()
        .find(|(word, _)| *word == plain)
        .map(|(_, value)| *value)
}

/// The definition in `risk.txt` of the words that tell a risk as past ("two years ago",
/// "as a teenager", "in 2016"); with [`NOW_WELL`] they take a risk phrase out: "tried to
/// take my life in 2016, I'm fine now and want a new hobby".
const PAST: &str = "PAST";
/// The definition in `risk.txt` of the words that say the person is well now.
const NOW_WELL: &str = "NOW_WELL";
/// How far before a risk phrase a [`PAST`] may start: "two years ago I tried to …".
const PAST_BEFORE: usize = 5;
/// How far after a risk phrase a [`PAST`] may start: "… my life after my diagnosis in 2018".
const PAST_AFTER: usize = 6;

/// The definition in `risk.txt` of words that make the risk phrase after them a subject
/// talked about, not how anyone is: "a film about", "training on the signs of".
const ABOUT: &str = "ABOUT";
/// The definition in `risk.txt` of words that do the same right after the phrase:
/// "suicide prevention", "trafficking survivors".
const TOPIC: &str = "TOPIC";
/// How many words may stand between an [`ABOUT`] and the risk phrase it makes a subject:
/// "a novel about a trafficked girl".
const ABOUT_GAP: usize = 2;
/// How far before a risk phrase an [`ABOUT`] is looked for to start.
const ABOUT_BEFORE: usize = 8;
/// The definition in `risk.txt` of pieces of work a subject is studied or told in:
/// "dissertation", "EPQ", "stats", "a play".
const STUDY: &str = "STUDY";
/// The definition in `risk.txt` of risk phrases that are bare subjects: "suicide",
/// "self harm", "overdose".
const BARE: &str = "BARE";
/// Words that link a [`STUDY`] to the [`BARE`] subject after it.
const STUDY_LINKS: [&str; 10] = [
    "on",
    "about",
    "into",
    "around",
    "of",
    "covering",
    "exploring",
    "regarding",
    "re",
    "with",
];

/// The definition in `risk.txt` of a verb and an idiom of being worn down: "(is|are)
/// killing me". A risk phrase inside it does not count when what is doing the killing,
/// the words before the verb, is not a [`PERSON`]: "the commute is killing me", "that
/// exam nearly killed me"; "he is killing me" still counts.
const WEARING: &str = "WEARING";
/// The definition in `risk.txt` of who can kill: pronouns and people.
const PERSON: &str = "PERSON";
/// How many words before a [`WEARING`] a [`PERSON`] may start: "my ex husband is …".
const PERSON_BEFORE: usize = 2;

/// How far after an exception's match [`MEANS`] and [`FOR_REAL`] are looked for: the
/// match may end on a possessive ("… end it with my"), and the means come after whose
/// they are.
const MEANS_WORDS: usize = 2;

/// The definition called `name` among `risk.txt`'s `names`, read as a phrase.
fn named(names: &HashMap<String, String>, name: &str) -> Result<Vec<Token>, LexiconError> {
    let bad = |e: String| LexiconError::BadPhrase(format!("lexicon/{RISK}.txt ${name}: {e}"));
    let value = names
        .get(name)
        .ok_or_else(|| bad("is not defined".into()))?;
    let line = parse_line(value)
        .map_err(bad)?
        .ok_or_else(|| bad("is empty".into()))?;
    Ok(line.phrase)
}

/// Whether the words after `end` bring a past back to now (see [`BACK_TO_NOW`]).
fn back_to_now(words: &[String], end: usize) -> bool {
    let after = &words[end.min(words.len())..(end + BACK_TO_NOW_WORDS).min(words.len())];
    let word = |at: Option<usize>| at.and_then(|a| words.get(a)).map(String::as_str);
    let ended = |i: usize| {
        let before = (end + i).checked_sub(1);
        word(before).is_some_and(|b| ENDED_BEFORE_ANYMORE.contains(&b))
            && ![2, 3]
                .iter()
                .any(|back| word((end + i).checked_sub(*back)).is_some_and(|w| WELL.contains(&w)))
    };
    after.iter().enumerate().any(|(i, w)| {
        let next = after.get(i + 1).map(String::as_str);
        match (w.as_str(), next) {
            ("anymore", _) => !ended(i),
            // "Any more" ends a clause ("I can't do it any more, and…"); before a noun it
            // asks for more of something ("any more events like that").
            ("any", Some("more")) => {
                !ended(i)
                    && words.get(end + i + 2).is_none_or(|w| {
                        SUBJECTS.contains(&w.as_str()) || CLAUSE_STARTS.contains(&w.as_str())
                    })
            }
            ("again", _) => !words[end.saturating_sub(CONDITION_BEFORE)..end + i]
                .iter()
                .any(|w| CONDITION.contains(&w.as_str())),
            (w, next) => {
                BACK_TO_NOW.contains(&w)
                    || next.is_some_and(|next| BACK_TO_NOW_PAIRS.contains(&(w, next)))
            }
        }
    })
}

/// The longest phrase accepted at run time, in characters.
pub const MAX_PHRASE_CHARS: usize = 300;

/// Why a lexicon line cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LexiconError {
    /// The need is neither a taxonomy id nor `risk`; carries the need given.
    #[error("'{0}' is not a need: use a category id from GET /v1/taxonomy, or 'risk'")]
    UnknownNeed(String),
    /// The phrase is too long, empty, or not in the lexicon's format; carries why.
    #[error("{0}")]
    BadPhrase(String),
    /// The confidence is not above 0 and at most 1.
    #[error("the confidence must be above 0 and at most 1")]
    BadConfidence,
}

/// An entry added at run time (by an administrator).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewEntry {
    /// A taxonomy category id, or `risk`.
    pub need: String,
    /// A line in the lexicon's format.
    pub phrase: String,
    /// How sure the phrase alone is of the need, above 0 and at most 1.
    pub confidence: f32,
}

thread_local! {
    static STEMMER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(Stemmer::new(Language::English))
            .build(),
    );
}

/// The English stem of one normalised word (the search index's stemmer).
pub fn stem(word: &str) -> String {
    STEMMER.with_borrow_mut(|a| {
        let mut stream = a.token_stream(word);
        let mut out = String::new();
        while let Some(t) = stream.next() {
            out.push_str(&t.text);
        }
        if out.is_empty() {
            word.to_string()
        } else {
            out
        }
    })
}

/// One position of a phrase.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A word, by its stem; and as written, so near spellings of it are found too.
    Word { stem: String, plain: String },
    /// Any word starting so (normalised, not stemmed).
    Prefix(String),
    /// Up to [`GAP_WORDS`] words of any kind.
    Gap,
    /// Any number ("took 30 tablets").
    Number,
    /// A number at least this ("#65+": "my 85 year old dad").
    AtLeast(u32),
    /// Any one of these words: the one-word alternatives of a group.
    AnyOf(Vec<(String, String)>),
    /// Any one of these sequences (one may be empty): a group with alternatives of
    /// several words, compiled once however many lines use it.
    Group(Vec<Vec<Token>>),
}

impl Token {
    /// The fewest question words this can match.
    fn shortest(&self) -> usize {
        match self {
            Token::Gap => 0,
            Token::Group(alternatives) => alternatives
                .iter()
                .map(|a| a.iter().map(Token::shortest).sum())
                .min()
                .unwrap_or(0),
            _ => 1,
        }
    }

    /// How many wordings this stands for, each one-word alternative counted.
    fn wordings(&self) -> u64 {
        match self {
            Token::AnyOf(words) => words.len() as u64,
            Token::Group(alternatives) => alternatives
                .iter()
                .map(|a| wordings(a))
                .fold(0u64, u64::saturating_add),
            _ => 1,
        }
    }
}

/// One wording a sequence stands for, as plain words: the `k`-th alternative of each
/// group (round), nothing for a gap.
fn sample(tokens: &[Token], k: usize, out: &mut Vec<String>) {
    for t in tokens {
        match t {
            Token::Word { plain, .. } => out.push(plain.clone()),
            Token::Prefix(p) => out.push(p.clone()),
            Token::Gap => {}
            Token::Number => out.push("3".into()),
            Token::AtLeast(n) => out.push(n.to_string()),
            Token::AnyOf(words) => out.push(words[k % words.len()].1.clone()),
            Token::Group(alternatives) => sample(&alternatives[k % alternatives.len()], k, out),
        }
    }
}

/// Where a sequence of tokens, compared by their written words, can end when it starts
/// at `at` in the question; the ends are pushed to `out`. For the few named lists signpost
/// reads itself (see [`MEANS`]), not the trie every phrase is read with.
fn ends_at(tokens: &[Token], words: &[String], at: usize, out: &mut Vec<usize>) {
    let Some((first, rest)) = tokens.split_first() else {
        out.push(at);
        return;
    };
    let word = words.get(at).map(String::as_str);
    let one = match first {
        Token::Word { plain, .. } => word == Some(plain.as_str()),
        Token::AnyOf(alternatives) => word.is_some_and(|w| alternatives.iter().any(|a| a.1 == w)),
        Token::Prefix(p) => word.is_some_and(|w| w.starts_with(p.as_str())),
        Token::Number => word.and_then(number_value).is_some(),
        Token::AtLeast(n) => word.and_then(number_value).is_some_and(|v| v >= *n),
        Token::Gap => {
            for skip in 0..=GAP_WORDS.min(words.len().saturating_sub(at)) {
                ends_at(rest, words, at + skip, out);
            }
            return;
        }
        Token::Group(alternatives) => {
            let mut middles = Vec::new();
            for a in alternatives {
                ends_at(a, words, at, &mut middles);
            }
            middles.sort_unstable();
            middles.dedup();
            for m in middles {
                ends_at(rest, words, m, out);
            }
            return;
        }
    };
    if one {
        ends_at(rest, words, at + 1, out);
    }
}

/// Where the named list `tokens` matches in the question, starting from `from` up to (not
/// including) `to`: each match's start and end.
fn spans(tokens: &[Token], words: &[String], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for at in from..to.min(words.len()) {
        let mut ends = Vec::new();
        ends_at(tokens, words, at, &mut ends);
        spans.extend(ends.into_iter().filter(|&e| e > at).map(|e| (at, e)));
    }
    spans
}

/// A few wordings of every shipped line: (need, words, confidence, is an exception).
/// The risk model learns from them beside its labelled questions.
pub fn sample_wordings(per_line: usize) -> Vec<(&'static str, Vec<String>, f32, bool)> {
    let mut out = Vec::new();
    for (need, text) in FILES {
        for (_, _, parsed) in parse_file(text) {
            let Ok(Some(line)) = parsed else { continue };
            for k in 0..per_line {
                let mut words = Vec::new();
                sample(&line.phrase, k, &mut words);
                if !words.is_empty() {
                    out.push((*need, words, line.confidence, line.exception));
                }
            }
        }
    }
    out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    out
}

/// How many wordings a sequence stands for.
fn wordings(tokens: &[Token]) -> u64 {
    tokens
        .iter()
        .map(Token::wordings)
        .fold(1u64, u64::saturating_mul)
}

/// A parsed line: its phrase, its confidence and whether it is an exception.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    phrase: Vec<Token>,
    confidence: f32,
    exception: bool,
}

/// What one line of a file is: a phrase line, nothing (a comment, a blank or a
/// definition), or why it cannot be used.
type ParsedLine = Result<Option<Line>, String>;

/// A file's lines, each with its number, its text and what it parses to.
type FileLines<'a> = Vec<(usize, &'a str, ParsedLine)>;

/// The lines of a lexicon file, each with its number, its text and what it parses to;
/// `$NAME = (a|b|…)` lines name a group of alternatives that later lines of the same file
/// use as `$NAME`.
fn parse_file(text: &str) -> FileLines<'_> {
    parse_file_and_names(text).0
}

/// As [`parse_file`], with the file's definitions by name (each with the names it uses
/// written out).
fn parse_file_and_names(text: &str) -> (FileLines<'_>, HashMap<String, String>) {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let parsed = substitute(raw, &names).and_then(|line| {
            let trimmed = line.trim();
            if let Some(def) = trimmed.strip_prefix('$')
                && let Some((name, value)) = def.split_once('=')
            {
                let name = name.trim();
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    return Err(format!("'${name}': a name is capital letters and '_'"));
                }
                names.insert(name.to_string(), value.trim().to_string());
                return Ok(None);
            }
            parse_line(&line)
        });
        out.push((n + 1, raw, parsed));
    }
    (out, names)
}

/// `raw` with each `$NAME` replaced by its definition, in parentheses.
fn substitute(raw: &str, names: &HashMap<String, String>) -> Result<String, String> {
    if !raw.contains('$') {
        return Ok(raw.to_string());
    }
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        // A definition's own name is left for the caller to read.
        if out.trim().is_empty() && after[len..].trim_start().starts_with('=') {
            out.push('$');
            out.push_str(name);
        } else {
            let value = names
                .get(name)
                .ok_or_else(|| format!("'${name}' is not defined above this line"))?;
            out.push('(');
            out.push_str(value);
            out.push(')');
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads one line of a lexicon file; `None` for blank lines and comments.
fn parse_line(raw: &str) -> Result<Option<Line>, String> {
    let mut text = raw.trim();
    // A comment starts with '#'; "#65+" at the start is a number.
    let comment = text.starts_with('#') && !text[1..].starts_with(|c: char| c.is_ascii_digit());
    if text.is_empty() || comment {
        return Ok(None);
    }
    let exception = text.starts_with('-');
    if exception {
        text = text[1..].trim_start();
    }
    let mut confidence = 1.0f32;
    if let Some(at) = text.rfind('@') {
        let value = text[at + 1..].trim();
        confidence = value
            .parse::<f32>()
            .ok()
            .filter(|c| *c > 0.0 && *c <= 1.0)
            .ok_or_else(|| {
                format!("'@{value}' is not a confidence: use a number above 0 and at most 1")
            })?;
        text = text[..at].trim_end();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let phrase = tidy(sequence(&chars, &mut pos)?);
    match chars.get(pos) {
        None => {}
        Some(')') => return Err("a ')' has no '(' before it".into()),
        Some(_) => return Err("'|' belongs inside (a|b) alternatives".into()),
    }
    if phrase.iter().map(Token::shortest).sum::<usize>() == 0 {
        return Err("the phrase has no words (or every word in it is optional)".into());
    }
    Ok(Some(Line {
        phrase,
        confidence,
        exception,
    }))
}

/// A group's alternatives as tokens: those that are one plain word gathered into one
/// [`Token::AnyOf`]; one alternative left is written in place, several make a
/// [`Token::Group`].
fn group(alternatives: Vec<Vec<Token>>) -> Vec<Token> {
    let mut words: Vec<(String, String)> = Vec::new();
    let mut rest: Vec<Vec<Token>> = Vec::new();
    for alt in alternatives {
        match alt.as_slice() {
            [Token::Word { stem, plain }] => {
                if !words.iter().any(|(s, _)| s == stem) {
                    words.push((stem.clone(), plain.clone()));
                }
            }
            [Token::AnyOf(more)] => {
                for (stem, plain) in more {
                    if !words.iter().any(|(s, _)| s == stem) {
                        words.push((stem.clone(), plain.clone()));
                    }
                }
            }
            _ => rest.push(alt),
        }
    }
    words.sort();
    match words.len() {
        0 => {}
        1 => {
            let (stem, plain) = words.remove(0);
            rest.push(vec![Token::Word { stem, plain }]);
        }
        _ => rest.push(vec![Token::AnyOf(words)]),
    }
    rest.dedup();
    if rest.len() == 1 {
        rest.remove(0)
    } else {
        vec![Token::Group(rest)]
    }
}

/// Reads words and `(a|b)` groups (which may nest) from `pos` up to an unmatched `)` or
/// `|` or the end.
fn sequence(chars: &[char], pos: &mut usize) -> Result<Vec<Token>, String> {
    let mut phrase: Vec<Token> = Vec::new();
    loop {
        while chars.get(*pos).is_some_and(|c| c.is_whitespace()) {
            *pos += 1;
        }
        match chars.get(*pos) {
            None | Some(')') | Some('|') => return Ok(phrase),
            Some('(') => {
                *pos += 1;
                let mut alternatives = Vec::new();
                loop {
                    alternatives.push(tidy_inner(sequence(chars, pos)?));
                    match chars.get(*pos) {
                        Some('|') => *pos += 1,
                        Some(')') => {
                            *pos += 1;
                            break;
                        }
                        _ => {
                            return Err(
                                "a '(' has no ')' after it: write alternatives as (a|b)".into()
                            );
                        }
                    }
                }
                phrase.extend(group(alternatives));
            }
            Some(_) => {
                let start = *pos;
                while chars
                    .get(*pos)
                    .is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '|'))
                {
                    *pos += 1;
                }
                let word: String = chars[start..*pos].iter().collect();
                phrase.extend(tokens(&word)?);
            }
        }
    }
}

impl std::hash::Hash for Token {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Token::Word { stem, .. } => (0u8, stem).hash(state),
            Token::Prefix(p) => (1u8, p).hash(state),
            Token::Gap => 2u8.hash(state),
            Token::Number => 3u8.hash(state),
            Token::AtLeast(n) => (5u8, n).hash(state),
            Token::AnyOf(words) => (4u8, words).hash(state),
            Token::Group(alternatives) => (6u8, alternatives).hash(state),
        }
    }
}
impl Eq for Token {}

fn word_token(plain: &str) -> Token {
    Token::Word {
        stem: stem(plain),
        plain: plain.to_string(),
    }
}

/// Two gaps in a row mean no more than one.
fn tidy_inner(mut p: Vec<Token>) -> Vec<Token> {
    p.dedup_by(|a, b| *a == Token::Gap && *b == Token::Gap);
    p
}

/// Gaps at either end of a phrase or twice in a row mean nothing more than one gap or none.
fn tidy(p: Vec<Token>) -> Vec<Token> {
    let mut p = tidy_inner(p);
    while p.first() == Some(&Token::Gap) {
        p.remove(0);
    }
    while p.last() == Some(&Token::Gap) {
        p.pop();
    }
    if p.iter().all(|t| *t == Token::Gap) {
        p.clear();
    }
    p
}

/// The tokens of one alternative (or one bare word): words, `*` gaps and `word*` prefixes.
fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    for part in text.split_whitespace() {
        if part == "*" {
            out.push(Token::Gap);
        } else if part == "#" {
            out.push(Token::Number);
        } else if let Some(n) = part.strip_prefix('#').and_then(|p| p.strip_suffix('+')) {
            let n = n
                .parse()
                .map_err(|_| format!("'{part}': write a number at least N as #N+"))?;
            out.push(Token::AtLeast(n));
        } else if let Some(prefix) = part.strip_suffix('*') {
            let words = normalise(prefix);
            match words.as_slice() {
                [] => return Err(format!("'{part}': a prefix needs letters before '*'")),
                [.., last] if last.len() < 3 => {
                    return Err(format!(
                        "'{part}': a prefix needs at least three letters before '*'"
                    ));
                }
                [init @ .., last] => {
                    out.extend(init.iter().map(|w| word_token(w)));
                    out.push(Token::Prefix(last.clone()));
                }
            }
        } else if part.contains('*') {
            return Err(format!(
                "'{part}': '*' stands alone (a gap) or ends a word (a prefix)"
            ));
        } else {
            out.extend(normalise(part).iter().map(|w| word_token(w)));
        }
    }
    Ok(out)
}

/// What a phrase that ends at a trie node says.
#[derive(Debug, Clone, Copy)]
struct End {
    need: u16,
    confidence: f32,
    exception: bool,
}

#[derive(Debug, Default)]
struct Node {
    /// (word id, node), sorted by word id.
    next: Vec<(u32, u32)>,
    prefixes: Vec<(String, u32)>,
    gap: Option<u32>,
    number: Option<u32>,
    /// (lowest, node) for [`Token::AtLeast`].
    at_least: Vec<(u32, u32)>,
    /// (word ids, sorted; node) for [`Token::AnyOf`], while the lexicon is built.
    any_of: Vec<(Vec<u32>, u32)>,
    /// The same edges by each of their words: (word id, node), sorted (made when the
    /// lexicon is built: a walk looks up the question's word instead of trying every
    /// set, thousands a question).
    any_of_by_word: Vec<(u32, u32)>,
    /// (group, node) for [`Token::Group`]: the group's own trie is walked first.
    groups: Vec<(u32, u32)>,
    /// The same edges by a word a group can start with: (word id, group, node), sorted
    /// (made when the lexicon is built, so a walk tries only groups that can match).
    groups_by_word: Vec<(u32, u32, u32)>,
    /// Groups that can start with any word (a prefix, a number, a gap, or nothing).
    groups_any: Vec<(u32, u32)>,
    /// An alternative of a group ends here.
    group_end: bool,
    ends: Vec<End>,
}

/// A run of a node's edges in one of [`Trie`]'s shared arrays.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn slice<T>(self, all: &[T]) -> &[T] {
        &all[self.start as usize..(self.start + self.len) as usize]
    }
}

/// Appends `items` to `all`, returning where they are.
fn span_of<T>(all: &mut Vec<T>, items: impl IntoIterator<Item = T>) -> Span {
    let start = all.len() as u32;
    all.extend(items);
    Span {
        start,
        len: all.len() as u32 - start,
    }
}

/// No such edge.
const NONE: u32 = u32::MAX;

/// A node as a walk reads it: one cache line, its edges in the trie's shared arrays.
/// A question visits about a thousand nodes spread over the whole lexicon; with a node
/// in four cache lines (a [`Node`] with its own vectors), waiting for memory was a third
/// of reading a question.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Packed {
    next: Span,
    any_of_by_word: Span,
    groups_by_word: Span,
    groups_any: Span,
    ends: Span,
    gap: u32,
    /// Index into [`Trie::rare`] (prefixes, numbers), or [`NONE`].
    rare: u32,
    group_end: bool,
}

/// The edges few nodes have.
#[derive(Debug, Default)]
struct Rare {
    prefixes: Vec<(String, u32)>,
    number: Option<u32>,
    at_least: Vec<(u32, u32)>,
}

/// The compiled trie, made from the [`Node`]s once the lexicon is built.
#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<Packed>,
    next: Vec<(u32, u32)>,
    any_of_by_word: Vec<(u32, u32)>,
    groups_by_word: Vec<(u32, u32, u32)>,
    groups_any: Vec<(u32, u32)>,
    ends: Vec<End>,
    rare: Vec<Rare>,
}

impl Trie {
    fn freeze(nodes: Vec<Node>) -> Self {
        let mut t = Trie::default();
        t.nodes.reserve(nodes.len());
        for n in nodes {
            let rare = if n.prefixes.is_empty() && n.number.is_none() && n.at_least.is_empty() {
                NONE
            } else {
                t.rare.push(Rare {
                    prefixes: n.prefixes,
                    number: n.number,
                    at_least: n.at_least,
                });
                t.rare.len() as u32 - 1
            };
            let packed = Packed {
                next: span_of(&mut t.next, n.next),
                any_of_by_word: span_of(&mut t.any_of_by_word, n.any_of_by_word),
                groups_by_word: span_of(&mut t.groups_by_word, n.groups_by_word),
                groups_any: span_of(&mut t.groups_any, n.groups_any),
                ends: span_of(&mut t.ends, n.ends),
                gap: n.gap.unwrap_or(NONE),
                rare,
                group_end: n.group_end,
            };
            t.nodes.push(packed);
        }
        t
    }
}

/// Where each (group, starting word) ends, for one question.
type GroupMemo = std::cell::RefCell<FxHashMap<(u32, usize), std::rc::Rc<[usize]>>>;

/// What a walk of the trie reached.
enum Reached {
    /// A phrase of a need.
    End(End),
    /// The end of an alternative of a group.
    GroupEnd,
}

/// A phrase of the lexicon found in a question: words `start..end`.
#[derive(Debug, Clone, Copy)]
struct Found {
    end_info: End,
    start: usize,
    end: usize,
}

/// One word of the question as the lexicon sees it.
struct QuestionWord<'a> {
    plain: &'a str,
    /// Lexicon words it is: its own stem, or near spellings of it.
    ids: Vec<u32>,
}

/// The compiled lexicon. Cheap to share; rebuilt whole when an entry is added.
pub struct Lexicon {
    /// Need names by index: `risk` and the taxonomy's ids.
    needs: Vec<String>,
    vocabulary: FxHashMap<String, u32>,
    words: Vec<String>,
    /// Deletions of each word (one, or two for long words) → the words.
    deletions: FxHashMap<String, Vec<u32>>,
    /// The trie while the lexicon is built; empty afterwards.
    nodes: Vec<Node>,
    /// The trie as questions are read with it.
    trie: Trie,
    /// Each group's trie, by group id, and the groups by what they hold.
    group_roots: Vec<u32>,
    group_ids: HashMap<Vec<Vec<Token>>, u32>,
    /// Each word's stem and the spellings phrases wrote it with, by word id.
    forms: Vec<Vec<String>>,
    /// Which needs each word appears in (for suggestions), by word id.
    word_needs: Vec<Vec<u16>>,
    /// Phrases in all (after expanding alternatives), for reports.
    phrase_count: usize,
    /// Wordings in all: phrases with each one-word group counted for each of its words.
    wording_count: u64,
    /// `risk.txt`'s `$MEANS`, `$FOR_REAL`, `$PAST`, `$NOW_WELL`, `$ABOUT`, `$TOPIC`,
    /// `$STUDY`, `$BARE`, `$WEARING` and `$PERSON` (see [`MEANS`], [`FOR_REAL`], [`PAST`],
    /// [`ABOUT`], [`STUDY`] and [`WEARING`]).
    means: Vec<Token>,
    for_real: Vec<Token>,
    past: Vec<Token>,
    now_well: Vec<Token>,
    about: Vec<Token>,
    topic: Vec<Token>,
    study: Vec<Token>,
    bare: Vec<Token>,
    wearing: Vec<Token>,
    person: Vec<Token>,
}

/// The one lexicon built from the shipped files alone.
static BUILT_IN: LazyLock<std::sync::Arc<Lexicon>> = LazyLock::new(|| {
    std::sync::Arc::new(Lexicon::new(&[]).expect("the shipped lexicon files parse"))
});

fn need_ids() -> Vec<String> {
    std::iter::once(RISK.to_string())
        .chain(taxonomy::CATEGORIES.iter().map(|c| c.id.to_string()))
        .collect()
}

/// Checks an entry an administrator wants to add: a known need and a phrase that parses.
pub fn check_entry(entry: &NewEntry) -> Result<(), LexiconError> {
    if !need_ids().contains(&entry.need) {
        return Err(LexiconError::UnknownNeed(entry.need.clone()));
    }
    if entry.phrase.chars().count() > MAX_PHRASE_CHARS {
        return Err(LexiconError::BadPhrase(format!(
            "the phrase is too long: at most {MAX_PHRASE_CHARS} characters"
        )));
    }
    if !(entry.confidence > 0.0 && entry.confidence <= 1.0) {
        return Err(LexiconError::BadConfidence);
    }
    match parse_line(&entry.phrase) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(LexiconError::BadPhrase(
            "the phrase is empty or a comment".into(),
        )),
        Err(e) => Err(LexiconError::BadPhrase(e)),
    }
}

impl Lexicon {
    /// The shipped files alone.
    pub fn built_in() -> std::sync::Arc<Lexicon> {
        BUILT_IN.clone()
    }

    /// The shipped files plus entries added at run time.
    pub fn new(extra: &[NewEntry]) -> Result<Lexicon, LexiconError> {
        let mut lexicon = Lexicon {
            needs: need_ids(),
            vocabulary: FxHashMap::default(),
            words: Vec::new(),
            deletions: FxHashMap::default(),
            nodes: vec![Node::default()],
            trie: Trie::default(),
            group_roots: Vec::new(),
            group_ids: HashMap::new(),
            word_needs: Vec::new(),
            forms: Vec::new(),
            phrase_count: 0,
            wording_count: 0,
            means: Vec::new(),
            for_real: Vec::new(),
            past: Vec::new(),
            now_well: Vec::new(),
            about: Vec::new(),
            topic: Vec::new(),
            study: Vec::new(),
            bare: Vec::new(),
            wearing: Vec::new(),
            person: Vec::new(),
        };
        for (need, text) in FILES {
            let (lines, names) = parse_file_and_names(text);
            if *need == RISK {
                lexicon.means = named(&names, MEANS)?;
                lexicon.for_real = named(&names, FOR_REAL)?;
                lexicon.past = named(&names, PAST)?;
                lexicon.now_well = named(&names, NOW_WELL)?;
                lexicon.about = named(&names, ABOUT)?;
                lexicon.topic = named(&names, TOPIC)?;
                lexicon.study = named(&names, STUDY)?;
                lexicon.bare = named(&names, BARE)?;
                lexicon.wearing = named(&names, WEARING)?;
                lexicon.person = named(&names, PERSON)?;
            }
            for (n, _, line) in lines {
                let line = line.map_err(|e| {
                    LexiconError::BadPhrase(format!("lexicon/{need}.txt line {n}: {e}"))
                })?;
                if let Some(line) = line {
                    lexicon.add(need, &line)?;
                }
            }
        }
        for entry in extra {
            check_entry(entry)?;
            let line = parse_line(&entry.phrase)
                .map_err(LexiconError::BadPhrase)?
                .ok_or_else(|| LexiconError::BadPhrase("empty phrase".into()))?;
            let line = Line {
                confidence: entry.confidence.min(line.confidence),
                ..line
            };
            lexicon.add(&entry.need, &line)?;
        }
        lexicon.index_deletions();
        lexicon.index_groups();
        lexicon.trie = Trie::freeze(std::mem::take(&mut lexicon.nodes));
        Ok(lexicon)
    }

    /// Phrases in the lexicon once alternatives are expanded.
    pub fn phrase_count(&self) -> usize {
        self.phrase_count
    }

    /// Wordings the lexicon recognises: phrases with every one-word alternative counted.
    pub fn wording_count(&self) -> u64 {
        self.wording_count
    }

    fn word_id(&mut self, stem: &str) -> u32 {
        if let Some(&id) = self.vocabulary.get(stem) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(stem.to_string());
        self.forms.push(vec![stem.to_string()]);
        self.word_needs.push(Vec::new());
        self.vocabulary.insert(stem.to_string(), id);
        id
    }

    fn add(&mut self, need: &str, line: &Line) -> Result<(), LexiconError> {
        let need_index =
            self.needs
                .iter()
                .position(|n| n == need)
                .ok_or_else(|| LexiconError::UnknownNeed(need.to_string()))? as u16;
        let node = self.insert(0, &line.phrase, need_index, line);
        self.nodes[node as usize].ends.push(End {
            need: need_index,
            confidence: line.confidence,
            exception: line.exception,
        });
        self.phrase_count += 1;
        self.wording_count = self.wording_count.saturating_add(wordings(&line.phrase));
        Ok(())
    }

    /// Adds the path of `tokens` from `node`; returns the node it ends at.
    fn insert(&mut self, mut node: u32, tokens: &[Token], need: u16, line: &Line) -> u32 {
        for token in tokens {
            let n = node as usize;
            node = match token {
                Token::Word { stem, plain } => {
                    let id = self.word_for(stem, plain, need, line);
                    match self.nodes[n].next.binary_search_by_key(&id, |&(w, _)| w) {
                        Ok(i) => self.nodes[n].next[i].1,
                        Err(i) => {
                            let next = self.push_node();
                            self.nodes[n].next.insert(i, (id, next));
                            next
                        }
                    }
                }
                Token::Prefix(p) => match self.nodes[n].prefixes.iter().find(|(q, _)| q == p) {
                    Some(&(_, next)) => next,
                    None => {
                        let next = self.push_node();
                        self.nodes[n].prefixes.push((p.clone(), next));
                        next
                    }
                },
                Token::Gap => match self.nodes[n].gap {
                    Some(next) => next,
                    None => {
                        let next = self.push_node();
                        self.nodes[n].gap = Some(next);
                        next
                    }
                },
                Token::Number => match self.nodes[n].number {
                    Some(next) => next,
                    None => {
                        let next = self.push_node();
                        self.nodes[n].number = Some(next);
                        next
                    }
                },
                Token::AtLeast(lowest) => {
                    match self.nodes[n].at_least.iter().find(|(l, _)| l == lowest) {
                        Some(&(_, next)) => next,
                        None => {
                            let next = self.push_node();
                            self.nodes[n].at_least.push((*lowest, next));
                            next
                        }
                    }
                }
                Token::AnyOf(words) => {
                    let mut ids: Vec<u32> = words
                        .iter()
                        .map(|(stem, plain)| self.word_for(stem, plain, need, line))
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    match self.nodes[n].any_of.iter().find(|(set, _)| *set == ids) {
                        Some(&(_, next)) => next,
                        None => {
                            let next = self.push_node();
                            self.nodes[n].any_of.push((ids, next));
                            next
                        }
                    }
                }
                Token::Group(alternatives) => {
                    let group = self.group(alternatives, need, line);
                    match self.nodes[n].groups.iter().find(|(g, _)| *g == group) {
                        Some(&(_, next)) => next,
                        None => {
                            let next = self.push_node();
                            self.nodes[n].groups.push((group, next));
                            next
                        }
                    }
                }
            };
        }
        node
    }

    /// The id of a group, compiling its trie the first time it is seen.
    fn group(&mut self, alternatives: &[Vec<Token>], need: u16, line: &Line) -> u32 {
        if let Some(&id) = self.group_ids.get(alternatives) {
            return id;
        }
        let root = self.push_node();
        for alternative in alternatives {
            let end = self.insert(root, alternative, need, line);
            self.nodes[end as usize].group_end = true;
        }
        let id = self.group_roots.len() as u32;
        self.group_roots.push(root);
        self.group_ids.insert(alternatives.to_vec(), id);
        id
    }

    /// The id of a word of a phrase of `need`, recording its spelling.
    fn word_for(&mut self, stem: &str, plain: &str, need: u16, line: &Line) -> u32 {
        let id = self.word_id(stem);
        self.vocabulary.entry(plain.to_string()).or_insert(id);
        if !self.forms[id as usize].iter().any(|f| f == plain) {
            self.forms[id as usize].push(plain.to_string());
        }
        if !line.exception && !self.word_needs[id as usize].contains(&need) {
            self.word_needs[id as usize].push(need);
        }
        id
    }

    fn push_node(&mut self) -> u32 {
        self.nodes.push(Node::default());
        (self.nodes.len() - 1) as u32
    }

    /// Files each node's group and word-set edges by the words they can start with.
    fn index_groups(&mut self) {
        let ids = std::mem::take(&mut self.group_ids);
        let mut firsts: Vec<(Vec<u32>, bool)> = vec![(Vec::new(), true); self.group_roots.len()];
        for (alternatives, id) in &ids {
            firsts[*id as usize] = self.first_of_group(alternatives);
        }
        for node in &mut self.nodes {
            for &(group, next) in &node.groups {
                let (words, any) = &firsts[group as usize];
                if *any {
                    node.groups_any.push((group, next));
                } else {
                    node.groups_by_word
                        .extend(words.iter().map(|&w| (w, group, next)));
                }
            }
            node.groups_by_word.sort_unstable();
            node.groups = Vec::new();
            for (set, next) in std::mem::take(&mut node.any_of) {
                node.any_of_by_word.extend(set.iter().map(|&w| (w, next)));
            }
            node.any_of_by_word.sort_unstable();
            node.any_of_by_word.dedup();
        }
    }

    /// The words a group can start with, or `true` when it can start with any.
    fn first_of_group(&self, alternatives: &[Vec<Token>]) -> (Vec<u32>, bool) {
        let mut words = Vec::new();
        for alternative in alternatives {
            let (w, any) = self.first_of(alternative);
            if any {
                return (Vec::new(), true);
            }
            words.extend(w);
        }
        words.sort_unstable();
        words.dedup();
        (words, false)
    }

    /// The words a sequence can start with, or `true` when it can start with any.
    fn first_of(&self, tokens: &[Token]) -> (Vec<u32>, bool) {
        let id = |stem: &String| self.vocabulary.get(stem).copied();
        match tokens.first() {
            None | Some(Token::Gap | Token::Prefix(_) | Token::Number | Token::AtLeast(_)) => {
                (Vec::new(), true)
            }
            Some(Token::Word { stem, .. }) => (id(stem).into_iter().collect(), false),
            Some(Token::AnyOf(words)) => (words.iter().filter_map(|(s, _)| id(s)).collect(), false),
            Some(Token::Group(alternatives)) => {
                if alternatives
                    .iter()
                    .any(|a| a.iter().map(Token::shortest).sum::<usize>() == 0)
                {
                    return (Vec::new(), true);
                }
                self.first_of_group(alternatives)
            }
        }
    }

    fn index_deletions(&mut self) {
        let mut deletions: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        for (w, &id) in &self.vocabulary {
            if w.chars().count() < 4 {
                continue;
            }
            for d in deletions_of(w, max_edits(w)) {
                let ids = deletions.entry(d).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        self.deletions = deletions;
    }

    /// The lexicon words a question word may be: its stem, or when the lexicon does not
    /// know it, words a typo or two away (one from five letters, two from nine).
    fn ids_of(&self, plain: &str) -> Vec<u32> {
        let s = stem(plain);
        if let Some(&id) = self.vocabulary.get(&s) {
            return vec![id];
        }
        if let Some(&id) = self.vocabulary.get(plain) {
            return vec![id];
        }
        let letters = plain.chars().count();
        if letters < 4 || plain.chars().any(|c| c.is_ascii_digit()) {
            return Vec::new();
        }
        // Four letters: only two letters swapped ("lfie"); any other edit of so short a
        // word is too often another word.
        let swap_only = letters == 4;
        let allowed = if letters >= 9 { 2 } else { 1 };
        let mut out: Vec<u32> = Vec::new();
        for candidate in [&s, &plain.to_string()] {
            for d in deletions_of(candidate, allowed) {
                for &id in self.deletions.get(&d).into_iter().flatten() {
                    let near = self.forms[id as usize].iter().any(|form| {
                        if swap_only {
                            is_swap(candidate, form)
                        } else {
                            edit_distance(candidate, form, allowed) <= allowed.min(max_edits(form))
                        }
                    });
                    if near && !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
        out
    }

    /// Walks the trie from `node` at question word `i`, telling `out` what it reaches
    /// and at which word it stops.
    fn walk(
        &self,
        node: u32,
        q: &[QuestionWord],
        i: usize,
        memo: &GroupMemo,
        out: &mut dyn FnMut(Reached, usize),
    ) {
        let t = &self.trie;
        let n = &t.nodes[node as usize];
        if n.group_end {
            out(Reached::GroupEnd, i);
        }
        for e in n.ends.slice(&t.ends) {
            out(Reached::End(*e), i);
        }
        let word = q.get(i);
        if let Some(word) = word {
            let next = n.next.slice(&t.next);
            for id in &word.ids {
                if let Ok(k) = next.binary_search_by_key(id, |&(w, _)| w) {
                    self.walk(next[k].1, q, i + 1, memo, out);
                }
            }
            if let Some(rare) = t.rare.get(n.rare as usize) {
                for (prefix, next) in &rare.prefixes {
                    if word.plain.starts_with(prefix.as_str()) {
                        self.walk(*next, q, i + 1, memo, out);
                    }
                }
                let value = number_value(word.plain);
                if let Some(next) = rare.number
                    && value.is_some()
                {
                    self.walk(next, q, i + 1, memo, out);
                }
                if let Some(value) = value {
                    for (lowest, next) in &rare.at_least {
                        if value >= *lowest {
                            self.walk(*next, q, i + 1, memo, out);
                        }
                    }
                }
            }
            let any_of = n.any_of_by_word.slice(&t.any_of_by_word);
            let any_of_edges = |id: u32| {
                let from = any_of.partition_point(|e| e.0 < id);
                any_of[from..]
                    .iter()
                    .take_while(move |e| e.0 == id)
                    .map(|e| e.1)
            };
            if let [id] = word.ids[..] {
                // One reading of the word (nearly always): its edges are already distinct.
                for next in any_of_edges(id) {
                    self.walk(next, q, i + 1, memo, out);
                }
            } else if !any_of.is_empty() {
                let mut edges: Vec<u32> =
                    word.ids.iter().flat_map(|&id| any_of_edges(id)).collect();
                edges.sort_unstable();
                edges.dedup();
                for next in edges {
                    self.walk(next, q, i + 1, memo, out);
                }
            }
        }
        if n.gap != NONE {
            for skip in 0..=GAP_WORDS {
                if i + skip < q.len() {
                    self.walk(n.gap, q, i + skip, memo, out);
                }
            }
        }
        let by_word_edges = n.groups_by_word.slice(&t.groups_by_word);
        let by_word = word.into_iter().flat_map(|word| {
            word.ids.iter().flat_map(|id| {
                let from = by_word_edges.partition_point(|e| e.0 < *id);
                by_word_edges[from..]
                    .iter()
                    .take_while(move |e| e.0 == *id)
                    .map(|e| (e.1, e.2))
            })
        });
        for (group, next) in n
            .groups_any
            .slice(&t.groups_any)
            .iter()
            .copied()
            .chain(by_word)
        {
            for &j in self.group_ends(group, q, i, memo).iter() {
                self.walk(next, q, j, memo, out);
            }
        }
    }

    /// Where the alternatives of `group` that start at question word `i` end; worked
    /// out once per question (many phrases share a group such as `$PERSON`).
    fn group_ends(
        &self,
        group: u32,
        q: &[QuestionWord],
        i: usize,
        memo: &GroupMemo,
    ) -> std::rc::Rc<[usize]> {
        if let Some(ends) = memo.borrow().get(&(group, i)) {
            return ends.clone();
        }
        let mut ends: Vec<usize> = Vec::new();
        self.walk(
            self.group_roots[group as usize],
            q,
            i,
            memo,
            &mut |reached, j| {
                if matches!(reached, Reached::GroupEnd) && !ends.contains(&j) {
                    ends.push(j);
                }
            },
        );
        let ends: std::rc::Rc<[usize]> = ends.into();
        memo.borrow_mut().insert((group, i), ends.clone());
        ends
    }

    /// Whether a means of harm ([`MEANS`]) or a sign it was meant for real ([`FOR_REAL`])
    /// starts within [`MEANS_WORDS`] words after an exception's match at `end`.
    fn undone_after(&self, words: &[String], end: usize) -> bool {
        [&self.means, &self.for_real]
            .iter()
            .any(|list| !spans(list, words, end, end + MEANS_WORDS).is_empty())
    }

    /// Whether the risk phrase at `start..end` is told as a past the caller is well from:
    /// a [`PAST`] next to it, a [`NOW_WELL`] elsewhere in the question, and nothing after
    /// either that brings the story back to now ([`BACK_TO_NOW`]). `now_well` keeps the
    /// question's [`NOW_WELL`] spans once found, for its other risk phrases.
    fn past_and_well(
        &self,
        words: &[String],
        start: usize,
        end: usize,
        now_well: &OnceCell<Vec<(usize, usize)>>,
    ) -> bool {
        let near = start.saturating_sub(PAST_BEFORE)..end + PAST_AFTER;
        let past = spans(&self.past, words, near.start, near.end);
        if past.is_empty() || back_to_now(words, end) {
            return false;
        }
        let mut well = now_well
            .get_or_init(|| spans(&self.now_well, words, 0, words.len()))
            .iter()
            .filter(|&&(s, e)| e <= start || s >= end)
            .peekable();
        well.peek().is_some()
            && !well.any(|&(_, e)| back_to_now(words, e))
            && !past.iter().any(|&(_, e)| back_to_now(words, e))
    }

    /// Whether the risk phrase at `start..end` is a subject talked about rather than how
    /// anyone is: an [`ABOUT`] ending at most [`ABOUT_GAP`] words before it, or a
    /// [`TOPIC`] right after it, and nothing after it that brings it to now
    /// ([`BACK_TO_NOW`]).
    fn told_as_subject(&self, words: &[String], start: usize, end: usize) -> bool {
        if back_to_now(words, end) {
            return false;
        }
        let about = spans(
            &self.about,
            words,
            start.saturating_sub(ABOUT_BEFORE),
            start,
        );
        about
            .iter()
            .any(|&(_, e)| e <= start && start - e <= ABOUT_GAP)
            || !spans(&self.topic, words, end, end + 1).is_empty()
            || self.studied(words, start, end)
    }

    /// Whether the risk phrase at `start..end` is a bare subject ([`BARE`]: "suicide",
    /// "self harm") that a piece of work ([`STUDY`]) up to [`ABOUT_BEFORE`] words before
    /// it is on: "my dissertation on post-stroke depression and suicide", "researching
    /// suicide risk". The words between must link the two ("on", "about", "into"…) or be
    /// none, and name nobody: "my dissertation is due and I think about suicide" counts.
    fn studied(&self, words: &[String], start: usize, end: usize) -> bool {
        let bare = spans(&self.bare, words, start, start + 1)
            .iter()
            .any(|&(_, e)| e == end);
        let on_it = |&(_, e): &(usize, usize)| {
            let between = &words[e.min(start)..start];
            e <= start
                && (between.is_empty() || between.iter().any(|w| STUDY_LINKS.contains(&w.as_str())))
                && !between.iter().any(|w| SUBJECTS.contains(&w.as_str()))
        };
        let from = start.saturating_sub(ABOUT_BEFORE);
        bare && spans(&self.study, words, from, start).iter().any(on_it)
    }

    /// Whether the risk phrase at `start..end` lies inside an idiom of being worn down
    /// ([`WEARING`]) whose subject is not a [`PERSON`], with no means of harm or sign it
    /// is meant for real after it: "the smell from next door is killing me".
    fn worn_down(&self, words: &[String], start: usize, end: usize) -> bool {
        // The widest idiom around the phrase: "nearly killed me" is read with its
        // "nearly", so that the word before it is the subject.
        let widest = spans(&self.wearing, words, start.saturating_sub(3), start + 1)
            .into_iter()
            .filter(|&(s, e)| s <= start && end <= e)
            .min_by_key(|&(s, e)| (s, std::cmp::Reverse(e)));
        widest.is_some_and(|(s, e)| {
            s > 0
                && !spans(&self.person, words, s.saturating_sub(PERSON_BEFORE), s)
                    .iter()
                    .any(|&(_, pe)| pe == s)
                && !self.undone_after(words, e)
        })
    }

    /// Every phrase of the lexicon in the question, exceptions applied: a match that shares
    /// a word with an exception of its own need does not count.
    fn find(&self, words: &[String]) -> Vec<Found> {
        let q: Vec<QuestionWord> = words
            .iter()
            .map(|w| QuestionWord {
                plain: w,
                ids: self.ids_of(w),
            })
            .collect();
        let mut found = Vec::new();
        let memo = GroupMemo::default();
        for start in 0..q.len() {
            self.walk(0, &q, start, &memo, &mut |reached, end| {
                if let Reached::End(end_info) = reached {
                    found.push(Found {
                        end_info,
                        start,
                        end,
                    });
                }
            });
        }
        let exceptions: Vec<Found> = found
            .iter()
            .filter(|f| f.end_info.exception)
            .copied()
            .collect();
        found.retain(|f| {
            !f.end_info.exception
                && !exceptions.iter().any(|x| {
                    x.end_info.need == f.end_info.need
                        && x.start < f.end
                        && f.start < x.end
                        && !(self.needs[x.end_info.need as usize] == RISK
                            && (back_to_now(words, x.end) || self.undone_after(words, x.end)))
                })
        });
        found
    }

    /// The needs the question expresses (most confident first), and the words that
    /// expressed risk (empty when none).
    pub fn needs(&self, words: &[String]) -> (Vec<Need>, Vec<String>) {
        let (needs, risk, _) = self.read(words);
        (needs, risk)
    }

    /// As [`Lexicon::needs`], and whether the question denied a risk phrase ("denies self
    /// harm"): a note that rules risk out, which the risk model must not overrule.
    pub fn read(&self, words: &[String]) -> (Vec<Need>, Vec<String>, bool) {
        let mut needs: Vec<Need> = Vec::new();
        let mut risk: Vec<String> = Vec::new();
        // Risk cues: (words, confidence, span), each kept once per span.
        let mut cues: Vec<(String, f32, (usize, usize))> = Vec::new();
        let found = self.find(words);
        let now_well = OnceCell::new();
        // A denied risk phrase takes the shorter phrases inside it along.
        // Each with whether it silences the model too: a denial before a phrase sure
        // of risk does, unless a hedge right after the phrase takes it back.
        let risky = || {
            found
                .iter()
                .filter(|f| self.needs[f.end_info.need as usize] == RISK)
        };
        let mut denials: Vec<(usize, usize, bool)> = risky()
            .filter_map(|f| {
                let before = denied(words, f.start);
                let silences = before
                    && f.end_info.confidence >= RISK_ALONE
                    && words
                        .get(f.end)
                        .is_none_or(|w| !HEDGES.contains(&w.as_str()));
                (before || denied_after(words, f.start, f.end))
                    .then_some((f.start, f.end, silences))
            })
            .collect();
        // A denial reaches along a list: "denies thoughts of suicide or self harm".
        loop {
            let chained: Vec<(usize, usize, bool)> = risky()
                .filter(|f| {
                    f.start >= 2
                        && matches!(words[f.start - 1].as_str(), "or" | "nor")
                        && denials.iter().any(|d| d.1 == f.start - 1)
                        && !denials.iter().any(|d| (d.0, d.1) == (f.start, f.end))
                })
                .map(|f| (f.start, f.end, false))
                .collect();
            if chained.is_empty() {
                break;
            }
            denials.extend(chained);
        }
        for f in found {
            let because = words[f.start..f.end].join(" ");
            let name = &self.needs[f.end_info.need as usize];
            if name == RISK {
                if denials.iter().any(|&(s, e, _)| s <= f.start && f.end <= e)
                    || self.past_and_well(words, f.start, f.end, &now_well)
                    || self.told_as_subject(words, f.start, f.end)
                    || self.worn_down(words, f.start, f.end)
                {
                    continue;
                }
                match cues.iter_mut().find(|c| c.2 == (f.start, f.end)) {
                    Some(c) => c.1 = c.1.max(f.end_info.confidence),
                    None => cues.push((because, f.end_info.confidence, (f.start, f.end))),
                }
                continue;
            }
            match needs.iter_mut().find(|n| n.id == *name) {
                Some(n) => {
                    n.confidence = n.confidence.max(f.end_info.confidence);
                    if !n.because.contains(&because) {
                        n.because.push(because);
                    }
                }
                None => needs.push(Need {
                    id: name.clone(),
                    confidence: f.end_info.confidence,
                    because: vec![because],
                }),
            }
        }
        // A shorter phrase inside a longer one it matched with says nothing more.
        for n in &mut needs {
            let all = n.because.clone();
            n.because
                .retain(|b| !all.iter().any(|o| o != b && o.contains(b.as_str())));
        }
        // A phrase sure of risk raises it alone; weaker cues raise it together, each
        // counted once however many phrases share its words.
        let strongest = cues.iter().map(|c| c.1).fold(0.0, f32::max);
        let mut together = 0.0;
        let mut counted: Vec<usize> = Vec::new();
        let mut by_confidence = cues.clone();
        by_confidence.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (_, confidence, (start, end)) in &by_confidence {
            if (*start..*end).all(|w| !counted.contains(&w)) {
                together += confidence;
                counted.extend(*start..*end);
            }
        }
        if strongest >= RISK_ALONE || together >= RISK_TOGETHER {
            risk = cues.into_iter().map(|c| c.0).collect();
            risk.dedup();
        }
        risk.sort_by_key(|r| std::cmp::Reverse(r.len()));
        let all = risk.clone();
        risk.retain(|b| !all.iter().any(|o| o != b && o.contains(b.as_str())));
        needs.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.id.cmp(&b.id))
        });
        (needs, risk, denials.iter().any(|d| d.2))
    }

    /// Needs whose words are closest to a question that matched nothing: words that share
    /// a beginning with the question's or are up to two typos away. Best first, at most
    /// `limit`.
    pub fn closest_needs(&self, words: &[String], limit: usize) -> Vec<String> {
        let mut score: HashMap<u16, f32> = HashMap::new();
        for w in words {
            if w.chars().count() < 4 || w.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            let s = stem(w);
            let mut near: Vec<u32> = self.ids_of(w);
            if near.is_empty() {
                near = self
                    .words
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| {
                        v.chars().count() >= 4
                            && (v.starts_with(s.as_str())
                                || (s.starts_with(v.as_str()) && v.len() + 1 >= s.len())
                                || edit_distance(&s, v, 2) <= 2)
                    })
                    .map(|(id, _)| id as u32)
                    .collect();
            }
            for id in near {
                let needs = &self.word_needs[id as usize];
                for &n in needs {
                    if self.needs[n as usize] != RISK {
                        *score.entry(n).or_default() += 1.0 / needs.len() as f32;
                    }
                }
            }
        }
        let mut ranked: Vec<(u16, f32)> = score.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked
            .into_iter()
            .take(limit)
            .map(|(n, _)| self.needs[n as usize].clone())
            .collect()
    }
}

/// Edits allowed to reach a lexicon word: one from four letters of stem, two from eight.
fn max_edits(word: &str) -> usize {
    if word.chars().count() >= 8 { 2 } else { 1 }
}

/// Whether `a` is `b` with two neighbouring letters swapped.
fn is_swap(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(differ.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

/// `word` and every string made by deleting up to `edits` of its letters.
fn deletions_of(word: &str, edits: usize) -> HashSet<String> {
    let mut out: HashSet<String> = HashSet::from([word.to_string()]);
    let mut frontier = vec![word.to_string()];
    for _ in 0..edits {
        let mut next = Vec::new();
        for w in &frontier {
            let chars: Vec<char> = w.chars().collect();
            for i in 0..chars.len() {
                let d: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, c)| c)
                    .collect();
                if out.insert(d.clone()) {
                    next.push(d);
                }
            }
        }
        frontier = next;
    }
    out
}

/// Edit distance with adjacent swaps counting one (optimal string alignment), or
/// `limit + 1` when it is more than `limit`.
pub fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()].min(limit + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs_of(lexicon: &Lexicon, q: &str) -> Vec<String> {
        lexicon
            .needs(&normalise(q))
            .0
            .into_iter()
            .map(|n| n.id)
            .collect()
    }

    /// Whether the lexicon alone (without the risk model) reads risk in `q`.
    fn raises(l: &Lexicon, q: &str) -> bool {
        !l.needs(&normalise(q)).1.is_empty()
    }

    fn small(lines: &[(&str, &str)]) -> Lexicon {
        let extra: Vec<NewEntry> = lines
            .iter()
            .map(|(need, phrase)| NewEntry {
                need: need.to_string(),
                phrase: phrase.to_string(),
                confidence: 1.0,
            })
            .collect();
        Lexicon::new(&extra).expect("lexicon")
    }

    #[test]
    fn every_shipped_line_parses_and_every_need_has_a_file() {
        for (need, text) in FILES {
            assert!(
                need_ids().contains(&need.to_string()),
                "{need}.txt is not a need"
            );
            for (n, line, parsed) in parse_file(text) {
                assert!(
                    parsed.is_ok(),
                    "lexicon/{need}.txt line {n}: {line:?}: {parsed:?}"
                );
            }
        }
        for c in taxonomy::CATEGORIES {
            assert!(
                FILES.iter().any(|(n, _)| *n == c.id),
                "no lexicon file for {}",
                c.id
            );
        }
        assert!(Lexicon::built_in().wording_count() > 1_000_000);
    }

    #[test]
    fn every_shipped_phrase_finds_its_own_need() {
        // Each line, written out with its first alternatives and gaps and prefixes filled
        // in, must be understood as its file's need (unless another line's exception
        // covers it).
        let lexicon = Lexicon::built_in();
        let mut missed = Vec::new();
        for (need, text) in FILES {
            for (_, line, parsed) in parse_file(text) {
                let Ok(Some(parsed)) = parsed else {
                    continue;
                };
                if parsed.exception {
                    continue;
                }
                let example = example_of(&parsed);
                let question = normalise(&example);
                let (needs, risk) = lexicon.needs(&question);
                let found = if *need == RISK && parsed.confidence < RISK_ALONE {
                    // A cue: found, though it raises risk only with others.
                    lexicon
                        .find(&question)
                        .iter()
                        .any(|f| lexicon.needs[f.end_info.need as usize] == RISK)
                } else if *need == RISK {
                    !risk.is_empty()
                } else {
                    needs.iter().any(|n| n.id == *need)
                };
                if !found {
                    missed.push(format!("{need}: {line:?} (as {example:?})"));
                }
            }
        }
        assert!(
            missed.is_empty(),
            "{} lines not understood:\n{}",
            missed.len(),
            missed.join("\n")
        );
    }

    /// A question a line stands for: its shortest wording, with the words as the line
    /// spells them, a prefix as itself, a gap as nothing.
    fn example_of(parsed: &Line) -> String {
        example(&parsed.phrase).join(" ")
    }

    fn example(tokens: &[Token]) -> Vec<String> {
        tokens
            .iter()
            .flat_map(|t| match t {
                Token::Word { plain, .. } => vec![plain.clone()],
                Token::AnyOf(words) => words.first().map(|(_, p)| p.clone()).into_iter().collect(),
                Token::Prefix(p) => vec![p.clone()],
                Token::Number => vec!["20".to_string()],
                Token::AtLeast(n) => vec![n.to_string()],
                Token::Gap => Vec::new(),
                Token::Group(alternatives) => alternatives
                    .iter()
                    .map(|a| example(a))
                    .min_by_key(Vec::len)
                    .unwrap_or_default(),
            })
            .collect()
    }

    #[test]
    fn phrases_alternatives_gaps_and_prefixes() {
        let l = small(&[
            ("debt", "cant pay (my|the) (bills|rent)"),
            ("bereavement", "my (wife|husband) * died"),
            ("homelessness", "sleeping in (my|the|a) car"),
            ("mental_wellbeing", "(really|) panick*"),
        ]);
        assert!(needs_of(&l, "I can't pay the bills").contains(&"debt".to_string()));
        assert!(needs_of(&l, "my husband suddenly died").contains(&"bereavement".to_string()));
        assert!(needs_of(&l, "my wife died").contains(&"bereavement".to_string()));
        assert!(
            needs_of(&l, "been sleeping in my car for a week")
                .contains(&"homelessness".to_string())
        );
        assert!(needs_of(&l, "panicky all the time").contains(&"mental_wellbeing".to_string()));
        let l = small(&[
            ("older_people", "#65+ (year|yr) old"),
            ("debt", "owe # (quiddles|zlotniks)"),
        ]);
        assert!(needs_of(&l, "my 85 yr old dad").contains(&"older_people".to_string()));
        assert!(!needs_of(&l, "my 40 year old son").contains(&"older_people".to_string()));
        assert!(needs_of(&l, "i owe 900 zlotniks").contains(&"debt".to_string()));
        assert!(!needs_of(&l, "i owe many zlotniks").contains(&"debt".to_string()));
    }

    #[test]
    fn typos_reach_lexicon_words() {
        let l = small(&[("bereavement", "bereavement"), ("befriending", "lonely")]);
        assert!(needs_of(&l, "bereavment").contains(&"bereavement".to_string()));
        assert!(needs_of(&l, "berevement support").contains(&"bereavement".to_string()));
        assert!(needs_of(&l, "lonley").contains(&"befriending".to_string()));
    }

    #[test]
    fn a_past_that_comes_back_to_now_is_not_an_exception() {
        let l = small(&[
            ("risk", "tried to end (my|her) life"),
            ("risk", "-tried to end (my|her) life # years ago"),
        ]);
        let raised = |q: &str| raises(&l, q);
        assert!(!raised(
            "she tried to end her life 2 years ago, doing well, wants to volunteer"
        ));
        assert!(raised(
            "she tried to end her life 2 years ago and again last night"
        ));
        assert!(raised(
            "I tried to end my life 3 years ago and the thoughts are back"
        ));
        assert!(raised(
            "I tried to end my life 3 years ago, was fine but not any more"
        ));
        assert!(raised(
            "I tried to end my life 3 years ago, cant cope anymore"
        ));
        assert!(!raised(
            "I tried to end my life 3 years ago but not anymore, want a peer group"
        ));
        assert!(!raised(
            "she tried to end her life 2 years ago, no more thoughts like that"
        ));
        // "again" after "if" is a condition, not a return.
        assert!(!raised(
            "she tried to end her life 2 years ago, worried if it happens again"
        ));
    }

    #[test]
    fn a_means_of_harm_after_an_idiom_ends_the_exception() {
        let l = small(&[
            ("risk", "going to end it"),
            ("risk", "ending it"),
            ("risk", "-end it with my (partner|boyfriend)"),
            ("risk", "-ending it with my"),
        ]);
        let raised = |q: &str| raises(&l, q);
        assert!(!raised("im going to end it with my boyfriend"));
        assert!(!raised(
            "going to end it with my partner, where do I stand on the flat"
        ));
        assert!(raised("going to end it with my partners insulin"));
        assert!(raised("im going to end it with my partner's pills tonight"));
        assert!(!raised("im ending it with my girlfriend"));
        assert!(raised("im ending it with my mums tablets"));
        // The means are risk.txt's own lists: a rope and a blade as well as pills.
        assert!(raised("im ending it with my dressing gown cord"));
        assert!(raised("going to end it with my razor blades"));
    }

    #[test]
    fn a_game_meant_for_real_ends_the_exception() {
        let l = Lexicon::built_in();
        let raised = |q: &str| raises(&l, q);
        assert!(!raised("he spends all night shooting people on the xbox"));
        assert!(raised(
            "he keeps saying hes shooting people on the xbox and at school tomorrow"
        ));
        assert!(raised("shooting people on the xbox and for real next"));
    }

    #[test]
    fn a_risk_told_as_a_past_the_caller_is_well_from_does_not_count() {
        // A made-up phrase, so that no shipped exception answers instead; the lists of
        // pasts and of being well are the shipped ones.
        let l = small(&[("risk", "zorbled my wibbles")]);
        let raised = |q: &str| raises(&l, q);
        // A past beside the phrase, and well now, after or before it.
        assert!(!raised(
            "zorbled my wibbles in 2016, im fine now honestly, just want a new hobby"
        ));
        assert!(!raised(
            "had a bad patch two years ago and zorbled my wibbles. doing well now, any walking group"
        ));
        assert!(!raised(
            "in a good place these days. i used to zorbled my wibbles as a teenager"
        ));
        // Either alone is not enough.
        assert!(raised("zorbled my wibbles in 2016"));
        assert!(raised("zorbled my wibbles, im fine now honestly"));
        // "I'm fine" alone is how callers mask.
        assert!(raised(
            "everyone thinks im fine but i zorbled my wibbles years ago"
        ));
        // A past far from the phrase is another story's.
        assert!(raised(
            "we moved here years ago and it was a lovely place to live but i zorbled my wibbles, fine now"
        ));
        // Something after either brings it back to now.
        assert!(raised(
            "zorbled my wibbles in 2016, was doing well since, but the thoughts are back"
        ));
        assert!(raised(
            "zorbled my wibbles years ago, fine now, but again last night"
        ));
    }

    #[test]
    fn again_after_if_is_a_condition_not_a_return() {
        let l = small(&[
            ("risk", "zorble me"),
            ("risk", "-boss will zorble me if (i|im)"),
            ("risk", "-mum will zorble me"),
        ]);
        // The "if" ends the exception's match, or follows it.
        assert!(!raises(&l, "my boss will zorble me if im late again lol"));
        assert!(!raises(&l, "my mum will zorble me if i fail again"));
        assert!(raises(&l, "my mum will zorble me, she did it again"));
    }

    #[test]
    fn an_idiom_of_being_worn_down_counts_only_when_a_person_does_it() {
        let l = Lexicon::built_in();
        let raised = |q: &str| raises(&l, q);
        // Made-up subjects, so that no shipped exception answers instead.
        assert!(!raised("the zorbles are killing me, any help"));
        assert!(!raised("my wibble is absolutely killing me"));
        assert!(raised("my husband is killing me"));
        assert!(raised("he's killing me"));
        assert!(raised("stop you're killing me"));
        assert!(raised("is killing me"));
        assert!(!raised("that zorble absolutely killed me"));
        assert!(raised("he nearly killed me last night"));
        assert!(raised(
            "the zorbles are killing me and I mean that literally"
        ));
    }

    #[test]
    fn a_risk_told_as_a_subject_does_not_count() {
        // A made-up phrase again; the lists of subjects are the shipped ones.
        let l = small(&[("risk", "zorbled my wibbles")]);
        let raised = |q: &str| raises(&l, q);
        // Something made about it, taught about it, or what it names right after it.
        assert!(!raised(
            "our youth club is showing a documentary about zorbled my wibbles"
        ));
        assert!(!raised("a novel about a zorbled my wibbles girl"));
        assert!(!raised("how do staff spot the signs of zorbled my wibbles"));
        assert!(!raised(
            "zorbled my wibbles awareness training for our team"
        ));
        // A verb is not a subject: "he talks about" counts, "a talk about" does not.
        assert!(raised("he talks about zorbled my wibbles every night"));
        assert!(!raised("we want to run a talk about zorbled my wibbles"));
        // Too far from the phrase, or brought to now after it.
        assert!(raised(
            "i watched a documentary about farming and then i zorbled my wibbles"
        ));
        assert!(raised(
            "read a book about zorbled my wibbles and did it again last night"
        ));
        // Where a risk is told or found is not a subject.
        assert!(raised("he posted a story on snapchat zorbled my wibbles"));
        assert!(raised("found signs of zorbled my wibbles on her arms"));
        // A bare subject that a piece of work is on, with nobody named between.
        let raised = |q: &str| raises(&Lexicon::built_in(), q);
        assert!(!raised(
            "writing my dissertation on post stroke depression and suicide"
        ));
        assert!(!raised("researching suicide risk for my masters"));
        assert!(raised("my dissertation is due and i think about suicide"));
        assert!(raised(
            "dissertation deadline tomorrow, suicide is on my mind"
        ));
    }

    #[test]
    fn a_number_written_as_a_word_is_a_number() {
        // Made-up words, so that no shipped line answers instead.
        let l = small(&[
            ("community", "zorbled # wibbles"),
            ("community", "-zorbled # wibbles # yonks ago"),
            ("arts", "#65+ glorps"),
        ]);
        let needs = |q: &str| -> Vec<String> {
            l.needs(&normalise(q)).0.into_iter().map(|n| n.id).collect()
        };
        assert_eq!(needs("she zorbled twenty wibbles"), ["community"]);
        assert_eq!(needs("zorbled 30 wibbles"), ["community"]);
        assert!(needs("zorbled many wibbles").is_empty());
        assert!(needs("zorbled five wibbles five yonks ago").is_empty());
        assert_eq!(needs("seventy glorps"), ["arts"]);
        assert_eq!(needs("70 glorps"), ["arts"]);
        assert!(needs("fifty glorps").is_empty());
    }

    #[test]
    fn exceptions_cancel_their_own_need_only() {
        let l = small(&[
            ("risk", "crisis"),
            ("risk", "-crisis loan"),
            ("money", "crisis loan"),
        ]);
        let (_, risk) = l.needs(&normalise("I'm in crisis"));
        assert!(!risk.is_empty());
        let (needs, risk) = l.needs(&normalise("how do I get a crisis loan"));
        assert!(risk.is_empty());
        assert!(needs.iter().any(|n| n.id == "money"));
    }

    #[test]
    fn a_denied_risk_phrase_does_not_count_but_a_phrase_with_its_own_no_does() {
        let l = small(&[
            ("risk", "suicidal"),
            ("risk", "self harm"),
            ("risk", "no reason to live"),
        ]);
        let raised = |q: &str| raises(&l, q);
        assert!(raised("feeling suicidal"));
        assert!(!raised("pt reports no suicidal ideation"));
        assert!(!raised("not actively suicidal, low mood"));
        assert!(!raised("denies any self harm"));
        assert!(!raised("denies self harm ideas"));
        assert!(raised("not suicidal but cutting, self harm daily"));
        assert!(raised("says there is no reason to live"));
        // A "no" that answers, or a phrase that is a sentence of its own, denies nothing.
        let l = small(&[("risk", "they will kill me"), ("risk", "want to die")]);
        let raised = |q: &str| raises(&l, q);
        assert!(raised("if I say no, they will kill me"));
        assert!(raised("no they will kill me"));
        assert!(raised("I said no want to die"));
        // A note's denial after its short words; an event after "denied" is not one.
        let l = small(&[
            ("risk", "si"),
            ("risk", "suicidal"),
            ("risk", "took an overdose"),
        ]);
        let raised = |q: &str| raises(&l, q);
        assert!(!raised("SI denied"));
        assert!(!raised("SI denied, needs housing"));
        assert!(!raised("SI screen neg, wants a running club"));
        assert!(!raised("suicidal nil"));
        assert!(raised("suicidal, denied a bed at the crisis house"));
        assert!(raised("suicidal none of my friends care"));
        assert!(raised("passive SI, nil plan or intent"));
        assert!(raised("low mood, SI neg thoughts daily"));
        assert!(raised("took an overdose, denied"));
        assert!(raised("SI"));
        // It takes the phrase out, but leaves the model to read the rest of the note.
        assert!(!l.read(&normalise("SI denied")).2);
        assert!(l.read(&normalise("denies SI")).2);
        // A denial reaches across a few fillers, and along a list.
        assert!(!raised("never had thoughts of suicidal acts"));
        assert!(!raised("denies thoughts of SI or suicidal plans"));
        assert!(raised("a history of SI"));
        // A hedge after the denied phrase, or a denied phrase too weak to raise risk by
        // itself, leaves the model to read the rest.
        assert!(!l.read(&normalise("not suicidal exactly, just tired")).2);
        let weak = Lexicon::new(&[NewEntry {
            need: "risk".into(),
            phrase: "zorbled wibbles".into(),
            confidence: 0.3,
        }])
        .expect("lexicon");
        assert!(!weak.read(&normalise("no zorbled wibbles")).2);
    }

    #[test]
    fn confidence_is_the_best_phrase() {
        let l = Lexicon::new(&[
            NewEntry {
                need: "mental_wellbeing".into(),
                phrase: "stressed".into(),
                confidence: 0.4,
            },
            NewEntry {
                need: "mental_wellbeing".into(),
                phrase: "stressed out of my mind".into(),
                confidence: 0.9,
            },
        ])
        .expect("lexicon");
        let (needs, _) = l.needs(&normalise("stressed out of my mind"));
        let n = needs
            .iter()
            .find(|n| n.id == "mental_wellbeing")
            .expect("need");
        assert!(n.confidence >= 0.9);
        assert_eq!(n.because, vec!["stressed out of my mind".to_string()]);
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(parse_line("(a|b").unwrap_err().contains("')'"));
        assert!(parse_line("debt @2").unwrap_err().contains("confidence"));
        assert!(parse_line("a*b").unwrap_err().contains("'*'"));
        assert!(parse_line("ab*").unwrap_err().contains("three letters"));
        assert!(parse_line("*").unwrap_err().contains("no words"));
        assert!(parse_line("(a|) (|b)").unwrap_err().contains("no words"));
        assert_eq!(parse_line("  # comment"), Ok(None));
        let parsed = parse_file("$WHO = (my|his)\n$WHO (wife|husband) died\n$NOPE x");
        assert_eq!(parsed[0].2, Ok(None));
        assert!(matches!(parsed[1].2, Ok(Some(_))));
        assert!(parsed[2].2.as_ref().unwrap_err().contains("not defined"));
        let e = check_entry(&NewEntry {
            need: "astrology".into(),
            phrase: "stars".into(),
            confidence: 1.0,
        });
        assert!(matches!(e, Err(LexiconError::UnknownNeed(_))));
    }

    #[test]
    fn closest_needs_for_unknown_words() {
        let l = small(&[("debt", "bailiffs"), ("bereavement", "bereavement")]);
        let near = l.closest_needs(&normalise("bailif"), 3);
        assert_eq!(near.first().map(String::as_str), Some("debt"));
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("lonely", "lonley", 2), 1);
        assert_eq!(edit_distance("bereavement", "berevment", 2), 2);
        assert_eq!(edit_distance("abc", "xyz", 1), 2);
    }
}
