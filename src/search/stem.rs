//! English stemming that remembers the stems it has made.
//!
//! A directory says the same words over and over (every service in a category repeats
//! its name and description), and the Snowball stemmer was a fifth of the processor time
//! of building an index of 1,000,000 services. Each analyser keeps its own memo of the
//! words it has stemmed, so a word is stemmed once per indexing thread; the stems are the
//! stemmer's, unchanged.

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// How many words a memo holds before it starts again (a few megabytes at most).
const REMEMBERED: usize = 1 << 16;

/// The English Snowball stemmer as a token filter, remembering what it stemmed.
#[derive(Clone, Copy, Default)]
pub struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter {
            inner,
            memo: Memo::default(),
        }
    }
}

/// A tokenizer whose tokens come out stemmed.
pub struct MemoStemmerFilter<T> {
    inner: T,
    memo: Memo,
}

/// A copy starts with an empty memo: analysers are copied for each indexing thread,
/// and copying a full memo would cost more than filling it again.
impl<T: Clone> Clone for MemoStemmerFilter<T> {
    fn clone(&self) -> Self {
        MemoStemmerFilter {
            inner: self.inner.clone(),
            memo: Memo::default(),
        }
    }
}

struct Memo {
    stemmer: frostem::Stemmer,
    stems: FxHashMap<String, String>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            stems: FxHashMap::default(),
        }
    }
}

impl Memo {
    /// Replaces `word` with its stem.
    fn stem(&mut self, word: &mut String) {
        if let Some(stem) = self.stems.get(word.as_str()) {
            if stem != word {
                word.clone_from(stem);
            }
            return;
        }
        if self.stems.len() >= REMEMBERED {
            self.stems.clear();
        }
        let stem = self.stemmer.stem(word).into_owned();
        let word = std::mem::replace(word, stem.clone());
        self.stems.insert(word, stem);
    }
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
            memo: &mut self.memo,
        }
    }
}

pub struct MemoStemmerStream<'a, T> {
    tail: T,
    memo: &'a mut Memo,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        self.memo.stem(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{Language, SimpleTokenizer, Stemmer, TextAnalyzer};

    fn stems(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn remembered_stems_are_the_stemmers_own() {
        let mut memo = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(MemoStemmer)
            .build();
        let mut plain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .build();
        let text = "running runs ran counselling counsellors bereaved bereavement \
                    generously generous a an the debts debt housing houses";
        // Twice: the second pass reads every stem from the memo.
        for _ in 0..2 {
            assert_eq!(stems(&mut memo, text), stems(&mut plain, text));
        }
        // A memo that fills starts again and stays right.
        let many: String = (0..REMEMBERED + 10).map(|i| format!("w{i}ing ")).collect();
        assert_eq!(stems(&mut memo, &many), stems(&mut plain, &many));
        assert_eq!(stems(&mut memo, text), stems(&mut plain, text));
    }
}
