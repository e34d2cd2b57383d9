//! What of a question that found nothing (or only partial matches) may be counted, so
//! that administrators learn what the lexicon is missing without anything personal being
//! kept. A navigator's question can hold health facts and names; what is counted is the
//! question's words with everything that could identify someone taken out:
//! - any word with a digit (postcodes, GP practice codes, phone numbers, dates, ages),
//!   an `@` or a web address;
//! - any word written with a capital letter and small letters after the first word (a
//!   name, a street, a place); words in capitals only ("PIP", "DV") are kept;
//! - punctuation and case;
//!
//! and questions are counted per day only, never with the time, the caller's postcode or
//! GP, or the key that searched. The report shows a question only once it was counted at
//! least k times (see `storage`), so a question one caller's details made unique is never
//! shown.

use super::normalise;

/// Words kept of one question.
pub const MAX_WORDS: usize = 12;

/// The question as counted, or `None` when nothing countable is left.
pub fn normalised(q: &str) -> Option<String> {
    let mut kept: Vec<String> = Vec::new();
    for (i, raw) in q.split_whitespace().enumerate() {
        let looks_personal = raw.chars().any(|c| c.is_ascii_digit())
            || raw.contains('@')
            || raw.contains("://")
            || raw.starts_with("www.");
        if looks_personal {
            continue;
        }
        // "Sarah", "Jones", "Wilmslow": a capital then small letters, after the first
        // word. Capitals only ("PIP", "UC", "DV") are how navigators write services.
        let mut letters = raw.chars().filter(|c| c.is_alphabetic());
        let capitalised =
            letters.next().is_some_and(char::is_uppercase) && raw.chars().any(char::is_lowercase);
        if i > 0 && capitalised {
            continue;
        }
        kept.extend(normalise(raw));
    }
    kept.truncate(MAX_WORDS);
    (!kept.is_empty()).then(|| kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(q: &str) -> Option<String> {
        normalised(q)
    }

    #[test]
    fn strips_what_could_identify_someone() {
        assert_eq!(
            n("Miscarriage support M11 1AA P84004").as_deref(),
            Some("miscarriage support")
        );
        assert_eq!(
            n("my wife Sarah Jones died on 3/4 call 07700900123 sarah@example.com").as_deref(),
            Some("my wife died on call")
        );
        assert_eq!(n("M1 1AE 0161 123 4567"), None);
        assert_eq!(
            n("Struggling with debt, can't sleep, PIP stopped").as_deref(),
            Some("struggling with debt cant sleep pip stopped")
        );
        assert_eq!(n("help for Mrs Smith").as_deref(), Some("help for"));
    }
}
