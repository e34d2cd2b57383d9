//! A small learned check for risk, beside the lexicon's phrases: logistic regression over
//! word stems and stem pairs, trained once per process (a fraction of a second; the server
//! starts it in the background) from the labelled questions in `risk_examples.tsv`
//! and a few wordings of every lexicon line. The lexicon knows wordings exactly; the model weighs
//! words it has seen in risky questions against those it has seen in ordinary ones, and
//! so catches new wordings made of familiar parts. Either raising risk is enough.

use super::lexicon::stem;
use rustc_hash::FxHashMap;
use std::sync::{Arc, OnceLock};

/// The labelled questions shipped with signpost.
const EXAMPLES: &str = include_str!("risk_examples.tsv");
/// Common words that do not count as leaning towards risk, whatever their weight.
const SMALL_WORDS: [&str; 52] = [
    "a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "is", "it", "its", "i",
    "im", "my", "me", "he", "hes", "she", "shes", "his", "her", "we", "you", "be", "was", "so",
    "up", "out", "off", "do", "did", "gone", "over", "went", "going", "have", "been", "with",
    "from", "into", "about", "just", "that", "this", "they", "them", "then", "there", "what",
];
/// A word's weight above which it leans towards risk.
const LEANING: f32 = 0.3;
/// How many of a question's words must lean towards risk for the model to raise it.
/// One would recall a tenth more in cross validation (89.3% against 79.4% at 0.35, on
/// 25,013 examples, for 1.9 points more false alarms), but once the blind sets taught
/// the model that "door" leans (strangers and threats at the door), one word raised
/// "bailiffs at the door" (0.81), the commonest debt question there is; two it is.
pub const MIN_LEANING: usize = 2;
/// A probability at which the model raises risk whatever leans: a question it is this
/// sure of is made of word pairs it has only seen in risky questions ("the exit bag
/// arrives tomorrow", "self arming every night"), which the rule above would silence;
/// "bailiffs at the door" stays well below it.
pub const SURE: f32 = 0.9;
/// Wordings of each lexicon line learned from.
const WORDINGS_PER_LINE: usize = 2;
/// Passes over the examples while training.
const EPOCHS: usize = 20;
/// The orders the examples are seen in, one training each; the model is their average.
const SEEDS: [u64; 3] = [0x5eed, 0xbee5, 0xca11];
/// Step size of each update (Adagrad scales it per feature).
const LEARNING_RATE: f32 = 0.5;
/// Pull of every weight towards zero, so that rare words decide little.
const L2: f32 = 1e-4;
/// The probability above which the model raises risk. Chosen by five-fold cross
/// validation on the examples (`evaluate --cross-validate`, deciding as the server does):
/// a missed risk is far worse than an extra banner.
pub const THRESHOLD: f32 = 0.35;

/// The model trained on the shipped examples, once per process.
static BUILT_IN: OnceLock<Arc<RiskModel>> = OnceLock::new();

/// A trained model.
#[derive(Debug, Clone)]
pub struct RiskModel {
    weights: FxHashMap<String, f32>,
    bias: f32,
}

/// What the model thought of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskScore {
    /// How likely the question expresses risk, 0 to 1.
    pub probability: f32,
    /// The question's words that pushed most towards risk, strongest first.
    pub words: Vec<String>,
    /// How many of its words (common ones such as "gone" or "over" aside) lean towards
    /// risk by themselves.
    pub leaning: usize,
}

impl RiskScore {
    /// Whether the score may raise risk at all: said by at least [`MIN_LEANING`] leaning
    /// words, or [`SURE`].
    fn counts(&self) -> bool {
        self.leaning >= MIN_LEANING || self.probability >= SURE
    }
}

/// The question's features: its stems, each pair of neighbouring stems, and each pair
/// with one word between them (so "took all my tablets" and "took both my tablets" share
/// "took _ my": one unfamiliar word between two familiar ones no longer hides them). Each
/// feature keeps the plain words it came from, to say why.
fn features(words: &[String]) -> Vec<(String, String)> {
    let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
    let mut out: Vec<(String, String)> = Vec::with_capacity(stems.len() * 3);
    for (i, s) in stems.iter().enumerate() {
        out.push((s.clone(), words[i].clone()));
        if let Some(next) = stems.get(i + 1) {
            out.push((
                format!("{s} {next}"),
                format!("{} {}", words[i], words[i + 1]),
            ));
        }
        if let Some(after) = stems.get(i + 2) {
            out.push((
                format!("{s} _ {after}"),
                format!("{} {}", words[i], words[i + 2]),
            ));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Parses `risk_examples.tsv`-style text into (normalised words, is risk).
pub fn parse_examples(text: &str) -> Vec<(Vec<String>, bool)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (label, question) = l.split_once('\t')?;
            Some((super::normalise(question), label.trim() == "yes"))
        })
        .collect()
}

/// The labelled questions and, from the lexicon, a few wordings of each line: risk
/// phrases sure enough to raise risk alone as risky, risk exceptions and every other
/// need's phrases (crisis services aside) as ordinary.
pub fn shipped_examples() -> Vec<(Vec<String>, bool)> {
    let mut examples = parse_examples(EXAMPLES);
    for (need, words, confidence, exception) in super::lexicon::sample_wordings(WORDINGS_PER_LINE) {
        match need {
            super::RISK if exception => examples.push((words, false)),
            super::RISK if confidence >= super::lexicon::RISK_ALONE => examples.push((words, true)),
            super::RISK | super::CRISIS => {}
            _ => examples.push((words, false)),
        }
    }
    examples
}

impl RiskModel {
    /// The model trained on the shipped examples (trained once, on first use).
    pub fn built_in() -> Arc<RiskModel> {
        BUILT_IN
            .get_or_init(|| Arc::new(RiskModel::train(&shipped_examples())))
            .clone()
    }

    /// Whether the shipped model has been trained, so a search need not wait for it.
    pub fn built_in_is_trained() -> bool {
        BUILT_IN.get().is_some()
    }

    /// Trains on labelled questions, risky and ordinary ones weighing equally in total:
    /// the average of a few trainings that see the examples in different orders, so one
    /// example more or less does not move borderline questions by the luck of the order.
    pub fn train(examples: &[(Vec<String>, bool)]) -> RiskModel {
        // Features become numbers once, so the passes index arrays instead of hashing
        // and copying strings (training takes a fraction of a second, not seconds).
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let featured: Vec<(Vec<u32>, bool)> = examples
            .iter()
            .map(|(w, y)| {
                let fs = features(w)
                    .into_iter()
                    .map(|(f, _)| {
                        let next = ids.len() as u32;
                        *ids.entry(f).or_insert(next)
                    })
                    .collect();
                (fs, *y)
            })
            .collect();
        let mut summed = vec![0.0f32; ids.len()];
        let mut bias = 0.0;
        for seed in SEEDS {
            let (one, one_bias) = Self::train_once(&featured, ids.len(), seed);
            for (sum, w) in summed.iter_mut().zip(one) {
                if w.abs() > 1e-3 {
                    *sum += w / SEEDS.len() as f32;
                }
            }
            bias += one_bias / SEEDS.len() as f32;
        }
        let mut weights: FxHashMap<String, f32> = ids
            .into_iter()
            .map(|(f, id)| (f, summed[id as usize]))
            .collect();
        weights.retain(|_, w| w.abs() > 1e-3);
        RiskModel { weights, bias }
    }

    /// One training over featured examples, in orders fixed by `seed`: each feature's
    /// weight, and the bias.
    fn train_once(featured: &[(Vec<u32>, bool)], features: usize, seed: u64) -> (Vec<f32>, f32) {
        let positives = featured.iter().filter(|e| e.1).count().max(1) as f32;
        let negatives = featured.iter().filter(|e| !e.1).count().max(1) as f32;
        let total = positives + negatives;
        let (weight_yes, weight_no) = (total / (2.0 * positives), total / (2.0 * negatives));
        let mut weights = vec![0.0f32; features];
        let mut squares = vec![0.0f32; features];
        let (mut bias, mut bias_square) = (0.0f32, 0.0f32);
        // A fixed shuffle per pass, so training is the same on every start.
        let mut order: Vec<usize> = (0..featured.len()).collect();
        let mut seed = seed;
        for _ in 0..EPOCHS {
            for i in (1..order.len()).rev() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                order.swap(i, (seed >> 33) as usize % (i + 1));
            }
            for &i in &order {
                let (fs, y) = &featured[i];
                let z = bias + fs.iter().map(|&f| weights[f as usize]).sum::<f32>();
                let class_weight = if *y { weight_yes } else { weight_no };
                let error = (sigmoid(z) - if *y { 1.0 } else { 0.0 }) * class_weight;
                for &f in fs {
                    let w = &mut weights[f as usize];
                    let g = error + L2 * *w;
                    let s = &mut squares[f as usize];
                    *s += g * g;
                    *w -= LEARNING_RATE * g / (s.sqrt() + 1e-6);
                }
                bias_square += error * error;
                bias -= LEARNING_RATE * error / (bias_square.sqrt() + 1e-6);
            }
        }
        (weights, bias)
    }

    /// Scores a normalised question.
    pub fn score(&self, words: &[String]) -> RiskScore {
        let mut leaning = 0;
        let mut contributions: Vec<(f32, String)> = features(words)
            .into_iter()
            .filter_map(|(f, plain)| {
                let w = *self.weights.get(&f)?;
                if w > LEANING && !f.contains(' ') && !SMALL_WORDS.contains(&plain.as_str()) {
                    leaning += 1;
                }
                Some((w, plain))
            })
            .collect();
        let z = self.bias + contributions.iter().map(|c| c.0).sum::<f32>();
        contributions.sort_by(|a, b| b.0.total_cmp(&a.0));
        let words = contributions
            .into_iter()
            .filter(|c| c.0 > 0.5)
            .take(3)
            .map(|c| c.1)
            .collect();
        RiskScore {
            probability: sigmoid(z),
            words,
            leaning,
        }
    }

    /// Whether the model raises risk for a normalised question: likely enough, and either
    /// said by at least [`MIN_LEANING`] words (common ones such as "gone" or "over" aside)
    /// that lean towards risk by themselves, or at least [`SURE`] of it.
    pub fn raises(&self, words: &[String]) -> Option<RiskScore> {
        let score = self.score(words);
        (score.probability >= THRESHOLD && score.counts()).then_some(score)
    }
}

/// Five-fold cross validation on labelled questions: for each threshold, the share of
/// risky questions raised (recall) and of ordinary ones raised (false alarms), by a model
/// that never saw the question, deciding as [`RiskModel::raises`] does.
pub fn cross_validate(
    examples: &[(Vec<String>, bool)],
    thresholds: &[f32],
) -> Vec<(f32, f64, f64)> {
    const FOLDS: usize = 5;
    let mut scored: Vec<(f32, bool)> = Vec::with_capacity(examples.len());
    for fold in 0..FOLDS {
        let train: Vec<(Vec<String>, bool)> = examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS != fold)
            .map(|(_, e)| e.clone())
            .collect();
        let model = RiskModel::train(&train);
        for (i, (words, y)) in examples.iter().enumerate() {
            if i % FOLDS == fold {
                // As [`RiskModel::raises`] decides: too few leaning words, and not sure, raise
                // nothing.
                let score = model.score(words);
                let counts = score.counts();
                scored.push((if counts { score.probability } else { 0.0 }, *y));
            }
        }
    }
    let positives = scored.iter().filter(|s| s.1).count().max(1) as f64;
    let negatives = scored.iter().filter(|s| !s.1).count().max(1) as f64;
    thresholds
        .iter()
        .map(|&t| {
            let raised_yes = scored.iter().filter(|s| s.1 && s.0 >= t).count() as f64;
            let raised_no = scored.iter().filter(|s| !s.1 && s.0 >= t).count() as f64;
            (t, raised_yes / positives, raised_no / negatives)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::normalise;

    #[test]
    fn learns_from_examples_and_says_which_words_weighed() {
        let model = RiskModel::built_in();
        let s = model.score(&normalise(
            "she has been hoarding her tablets and wrote letters to the kids",
        ));
        assert!(s.probability > THRESHOLD, "{s:?}");
        assert!(!s.words.is_empty());
        let s = model.score(&normalise("help with council tax arrears"));
        assert!(s.probability < THRESHOLD, "{s:?}");
    }

    #[test]
    fn few_leaning_words_raise_only_when_the_model_is_sure() {
        let score = |probability, leaning| RiskScore {
            probability,
            words: Vec::new(),
            leaning,
        };
        assert!(score(0.4, MIN_LEANING).counts());
        assert!(!score(0.8, MIN_LEANING - 1).counts());
        assert!(score(SURE, 0).counts());
        // Word pairs seen only in risky questions, with no word leaning alone enough.
        let model = RiskModel::built_in();
        let q = normalise("the exit bag arrives tomorrow");
        assert!(model.raises(&q).is_some(), "{:?}", model.score(&q));
        // The commonest debt question stays quiet.
        let q = normalise("bailiffs at the door");
        assert!(model.raises(&q).is_none(), "{:?}", model.score(&q));
    }

    #[test]
    fn training_is_the_same_every_time() {
        let examples = parse_examples(EXAMPLES);
        let a = RiskModel::train(&examples[..300]);
        let b = RiskModel::train(&examples[..300]);
        let q = normalise("cant see a way forward anymore");
        assert_eq!(a.score(&q), b.score(&q));
    }
}
