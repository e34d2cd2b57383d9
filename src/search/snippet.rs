//! Snippets: the stretch of a description with the most words of the question, those
//! words in `<b>`, HTML-escaped. Only words that look like a question word are stemmed,
//! so a snippet costs a scan of the text rather than stemming all of it.

use super::schema::with_analyzers;
use crate::domain::text::escape_html_into;

/// The longest snippet, in characters (plus ellipses).
pub const SNIPPET_CHARS: usize = 180;
/// Characters shown before the first highlighted word when the snippet cannot start at
/// the beginning of the description.
const LEAD_CHARS: usize = 40;

/// Highlights the words whose stems are given.
#[derive(Debug, Clone, Default)]
pub struct Highlighter {
    stems: Vec<String>,
}

impl Highlighter {
    pub fn new(stems: Vec<String>) -> Self {
        Self { stems }
    }

    /// Byte ranges of the words of `text` that have one of the stems.
    fn matches(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.stems.is_empty() {
            return out;
        }
        with_analyzers(|plain, stemmed| {
            let mut words = plain.token_stream(text);
            while let Some(word) = words.next() {
                // A stem is its word's beginning, but for a changed last letter
                // ("happi" of "happy"): only words that start like that get stemmed.
                let looks_like = self.stems.iter().any(|s| {
                    let cut = s.char_indices().last().map_or(0, |(i, _)| i).max(1);
                    word.text.starts_with(s.get(..cut).unwrap_or(s))
                });
                if !looks_like {
                    continue;
                }
                let mut stream = stemmed.token_stream(&word.text);
                if let Some(stem) = stream.next()
                    && self.stems.contains(&stem.text)
                {
                    out.push((word.offset_from, word.offset_to));
                }
            }
        });
        out
    }

    /// The snippet of `text`: its start when no word matches.
    pub fn snippet(&self, text: &str) -> String {
        let found = self.matches(text);
        // The window holding the most matches, each window starting at a match.
        let mut best = (0, 0);
        for (i, (start, _)) in found.iter().enumerate() {
            let count = found[i..]
                .iter()
                .take_while(|(_, end)| char_count(&text[*start..*end]) <= SNIPPET_CHARS)
                .count();
            if count > best.1 {
                best = (i, count);
            }
        }
        let from = match found.get(best.0) {
            Some((first, _)) if char_count(&text[..*first]) + LEAD_CHARS > SNIPPET_CHARS => {
                word_start_before(text, *first, LEAD_CHARS)
            }
            _ => 0,
        };
        let to = word_end_within(text, from, SNIPPET_CHARS);
        let mut out = String::with_capacity(to - from + 32);
        if from > 0 {
            out.push('…');
        }
        let mut at = from;
        for &(start, end) in found.iter().filter(|(s, e)| *s >= from && *e <= to) {
            escape_html_into(&mut out, &text[at..start]);
            out.push_str("<b>");
            escape_html_into(&mut out, &text[start..end]);
            out.push_str("</b>");
            at = end;
        }
        escape_html_into(&mut out, &text[at..to]);
        if to < text.len() {
            out.push('…');
        }
        out
    }
}

fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// The start of the word that begins at most `chars` characters before `at`.
fn word_start_before(text: &str, at: usize, chars: usize) -> usize {
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(chars.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    match text[start..at].find(char::is_whitespace) {
        Some(space) if start > 0 => start + space + 1,
        _ => start,
    }
}

/// The end of the last whole word within `chars` characters from `from` (or the cut
/// itself when one word is longer than that).
fn word_end_within(text: &str, from: usize, chars: usize) -> usize {
    let rest = &text[from..];
    let cut = rest
        .char_indices()
        .nth(chars)
        .map_or(rest.len(), |(i, _)| i);
    if cut == rest.len() {
        return text.len();
    }
    match rest[..cut].rfind(char::is_whitespace) {
        Some(space) if space > 0 => from + space,
        _ => from + cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(stems: &[&str]) -> Highlighter {
        Highlighter::new(stems.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn highlights_word_forms_of_the_stems() {
        let s = h(&["worri", "happi"]).snippet("Worried? We're happy to help with worries.");
        assert_eq!(
            s,
            "<b>Worried</b>? We're <b>happy</b> to help with <b>worries</b>."
        );
        // Same beginning, other stem: not highlighted.
        assert_eq!(h(&["die"]).snippet("A diet club."), "A diet club.");
    }

    #[test]
    fn shows_the_stretch_with_most_matches_and_escapes() {
        let text = format!(
            "{} Debt advice <& help> with debt and debt letters. {}",
            "Intro words here. ".repeat(20),
            "Closing words. ".repeat(20)
        );
        let s = h(&["debt"]).snippet(&text);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<b>Debt</b> advice &lt;&amp; help&gt; with <b>debt</b>"));
        assert_eq!(s.matches("<b>").count(), 3);
        assert!(s.chars().count() <= SNIPPET_CHARS + 2 + 3 * 7 + 12);
    }

    #[test]
    fn no_match_gives_the_start() {
        let text = "word ".repeat(100);
        let s = h(&["debt"]).snippet(&text);
        assert!(s.ends_with('…') && !s.starts_with('…'));
        assert!(s.chars().count() <= SNIPPET_CHARS + 1);
        assert_eq!(h(&[]).snippet("Short."), "Short.");
        assert_eq!(h(&["x"]).snippet(""), "");
    }
}
