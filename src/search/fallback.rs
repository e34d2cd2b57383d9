//! Honest fallbacks: when nothing matches every word or a need, which words to leave out,
//! and the closest needs as suggestions.

use super::collect::Found;
use super::query::{Plan, TextQuery};
use super::response::MatchKind;
use crate::understand::Lexicon;

/// How a search with a question ended up matching.
pub(super) struct Outcome {
    pub(super) kind: Option<MatchKind>,
    /// The plan whose hits are shown.
    pub(super) plan: Option<Plan>,
    pub(super) ignored: Vec<String>,
    pub(super) suggestions: Vec<String>,
}

/// A service in this share of the services a search can see, or more, has a word too
/// common to find anything by alone.
pub(super) const COMMON_WORD_SHARE: usize = 5;

/// When nothing matches every word or a need: first leave out the words no service has
/// (even misspelt) and need the rest; then any of the rest, leaving out words too common
/// to mean anything alone; then the needs closest to the question's words.
pub(super) fn fallback(
    t: &TextQuery,
    lexicon: &Lexicon,
    run: &dyn Fn(Option<&Plan>) -> anyhow::Result<Found>,
    count: &dyn Fn(Option<&Plan>) -> anyhow::Result<usize>,
    outcome: &mut Outcome,
) -> anyhow::Result<Found> {
    let n = t.content.len();
    let mut counts = Vec::with_capacity(n);
    for i in 0..n {
        counts.push(count(Some(&t.plan(&[i], true)))?);
    }
    let known: Vec<usize> = (0..n).filter(|&i| counts[i] > 0).collect();
    let word_of = |i: usize| t.content[i].plain.clone();
    let unknown: Vec<String> = (0..n).filter(|&i| counts[i] == 0).map(word_of).collect();
    if known.len() >= 2 && known.len() < n {
        let plan = t.plan(&known, false);
        let found = run(Some(&plan))?;
        if found.total > 0 {
            outcome.kind = Some(MatchKind::Partial);
            outcome.plan = Some(plan);
            outcome.ignored = unknown;
            return Ok(found);
        }
    }
    if !known.is_empty() {
        let visible = count(None)?.max(1);
        let rare: Vec<usize> = known
            .iter()
            .copied()
            .filter(|&i| counts[i] * COMMON_WORD_SHARE <= visible)
            .collect();
        let (keep, mut ignored) = if rare.is_empty() || rare.len() == known.len() {
            (known.clone(), unknown.clone())
        } else {
            let common: Vec<String> = known
                .iter()
                .copied()
                .filter(|i| !rare.contains(i))
                .map(word_of)
                .collect();
            (rare, unknown.iter().cloned().chain(common).collect())
        };
        let plan = t.plan(&keep, true);
        let found = run(Some(&plan))?;
        if found.total > 0 {
            ignored.sort();
            outcome.kind = Some(MatchKind::Partial);
            outcome.plan = Some(plan);
            outcome.ignored = ignored;
            return Ok(found);
        }
    }
    let words: Vec<String> = t.content.iter().map(|w| w.plain.clone()).collect();
    outcome.suggestions = lexicon.closest_needs(&words, 3);
    if !outcome.suggestions.is_empty() {
        let plan = t.needs_only(&outcome.suggestions);
        let found = run(Some(&plan))?;
        if found.total > 0 {
            outcome.kind = Some(MatchKind::Suggested);
            outcome.plan = Some(plan);
            return Ok(found);
        }
    }
    outcome.kind = Some(MatchKind::None);
    run(Some(&Plan::default()))
}
