//! Languages named in a question ("farsi speaking counsellor", "support in polish",
//! "speaks tigrinya"): each becomes a preference for services that list the language,
//! by its ISO 639-1 code (the code services list, see `domain::fields::Language`).

use super::LanguageMention;

/// (code, English name, names and words callers use for it). A name that is also an
/// ordinary English word or a nationality with other meanings (e.g. "english") is not
/// here: English is what every service speaks.
const LANGUAGES: &[(&str, &str, &[&str])] = &[
    ("ar", "Arabic", &["arabic"]),
    ("am", "Amharic", &["amharic"]),
    (
        "bn",
        "Bengali",
        &["bengali", "bangla", "bangladeshi", "sylheti"],
    ),
    ("bg", "Bulgarian", &["bulgarian"]),
    ("cs", "Czech", &["czech"]),
    ("cy", "Welsh", &["welsh"]),
    ("de", "German", &["german"]),
    ("el", "Greek", &["greek"]),
    ("es", "Spanish", &["spanish"]),
    ("fa", "Persian (Farsi)", &["farsi", "persian", "dari"]),
    ("fr", "French", &["french"]),
    ("gu", "Gujarati", &["gujarati"]),
    ("he", "Hebrew", &["hebrew"]),
    ("hi", "Hindi", &["hindi"]),
    ("hu", "Hungarian", &["hungarian"]),
    ("it", "Italian", &["italian"]),
    ("ja", "Japanese", &["japanese"]),
    ("ku", "Kurdish", &["kurdish", "sorani", "kurmanji"]),
    ("lt", "Lithuanian", &["lithuanian"]),
    ("lv", "Latvian", &["latvian"]),
    ("ne", "Nepali", &["nepali", "nepalese"]),
    ("pa", "Punjabi", &["punjabi", "panjabi", "gurmukhi"]),
    ("pl", "Polish", &["polish"]),
    ("ps", "Pashto", &["pashto", "pashtu", "pushto"]),
    ("pt", "Portuguese", &["portuguese"]),
    ("ro", "Romanian", &["romanian"]),
    ("ru", "Russian", &["russian"]),
    ("sk", "Slovak", &["slovak", "slovakian"]),
    ("so", "Somali", &["somali"]),
    ("sq", "Albanian", &["albanian"]),
    ("sw", "Swahili", &["swahili"]),
    ("ta", "Tamil", &["tamil"]),
    ("ti", "Tigrinya", &["tigrinya", "tigrigna", "eritrean"]),
    ("tr", "Turkish", &["turkish"]),
    ("uk", "Ukrainian", &["ukrainian"]),
    ("ur", "Urdu", &["urdu"]),
    ("vi", "Vietnamese", &["vietnamese"]),
    ("yo", "Yoruba", &["yoruba"]),
    ("zh", "Chinese", &["chinese", "cantonese", "mandarin"]),
];

/// Words that say the word beside them is a language ("polish speaking", "in polish"):
/// they go with it, so they are not looked for in the directory either.
const LANGUAGE_CONTEXT: &[&str] = &[
    "speaking",
    "speaker",
    "speakers",
    "speaks",
    "speak",
    "language",
    "languages",
    "interpreter",
    "interpreters",
    "interpreting",
    "translator",
    "translation",
    "in",
];

/// "polish" is also a verb and "turkish" and others are words in their own right only
/// rarely; "polish" alone counts as the language only beside a context word.
const NEEDS_CONTEXT: &[&str] = &["polish"];

/// Every language this module knows, as (ISO 639-1 code, English name), by name.
pub fn known() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = LANGUAGES.iter().map(|(c, n, _)| (*c, *n)).collect();
    all.sort_by_key(|(_, n)| *n);
    all
}

/// The languages the question names, and for each word whether it was part of naming one.
pub fn mentions(words: &[String]) -> (Vec<LanguageMention>, Vec<bool>) {
    let mut used = vec![false; words.len()];
    let mut out: Vec<LanguageMention> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let Some((code, name, _)) = LANGUAGES
            .iter()
            .find(|(_, _, names)| names.contains(&w.as_str()))
        else {
            continue;
        };
        let is_context = |j: Option<usize>| {
            j.and_then(|j| words.get(j))
                .is_some_and(|w| LANGUAGE_CONTEXT.contains(&w.as_str()))
        };
        let before = i.checked_sub(1).filter(|&j| is_context(Some(j)));
        let after = Some(i + 1).filter(|&j| is_context(Some(j)) && words[j] != "in");
        if NEEDS_CONTEXT.contains(&w.as_str()) && before.is_none() && after.is_none() {
            continue;
        }
        used[i] = true;
        let mut span = w.clone();
        if let Some(j) = before {
            used[j] = true;
            span = format!("{} {span}", words[j]);
        }
        if let Some(j) = after {
            used[j] = true;
            span = format!("{span} {}", words[j]);
        }
        if !out.iter().any(|m| m.code == *code) {
            out.push(LanguageMention {
                code,
                name,
                words: span,
            });
        }
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::normalise;

    fn codes(q: &str) -> Vec<&'static str> {
        mentions(&normalise(q)).0.iter().map(|m| m.code).collect()
    }

    #[test]
    fn names_and_context() {
        assert_eq!(codes("farsi speaking counsellor"), vec!["fa"]);
        assert_eq!(codes("bengali"), vec!["bn"]);
        assert_eq!(codes("speaks tigrinya"), vec!["ti"]);
        assert_eq!(codes("debt advice in romanian"), vec!["ro"]);
        assert_eq!(codes("support in Polish for my dad"), vec!["pl"]);
        assert_eq!(codes("urdu or punjabi"), vec!["ur", "pa"]);
        assert!(codes("polish my cv").is_empty());
        assert!(codes("money worries").is_empty());
    }

    #[test]
    fn context_words_go_with_the_language() {
        let words = normalise("farsi speaking counsellor");
        let (_, used) = mentions(&words);
        assert_eq!(used, vec![true, true, false]);
        let words = normalise("help in urdu with bills");
        let (_, used) = mentions(&words);
        assert_eq!(used, vec![false, true, true, false, false]);
    }
}
