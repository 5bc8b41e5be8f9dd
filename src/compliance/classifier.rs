//! A sentence scorer learned from labeled replies, for open phrasing no frame covers.
//!
//! Naive Bayes over the character 1–3-grams of the normalized text (each gram counted once per
//! text, add-half smoothing), trained from JSONL case files when the rules load, so the model is
//! data the compliance officers own like the rules. It speaks where the rules are silent: a
//! sentence without a rule finding whose log-odds of "not pass" reach the threshold becomes one
//! finding at the configured severity (warn by default: a person decides), with the category
//! the labeled cases make most likely. Where it is much surer (`block_threshold`), it blocks,
//! also a sentence a rule only warned about: rules catch listed words, and unseen violations in
//! open language (你烦不烦啊, 保证用十年都不会坏) are what they miss.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::rules::CATEGORIES;
use super::Verdict;

/// Sentences shorter than this (in characters) are not scored: too little to go on.
const MIN_CHARS: usize = 4;

/// Counts of one gram over the training cases.
#[derive(Debug, Clone, Default)]
struct Counts {
    /// Cases expected `warn` or `block` / `pass` that contain the gram.
    flagged: u32,
    pass: u32,
    /// Labeled flagged cases containing the gram, per category of [`CATEGORIES`].
    by_category: [u16; CATEGORIES.len()],
}

/// A trained model.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Per gram: its log-odds weight and its row in `category_ll`.
    grams: HashMap<u64, (f32, u32)>,
    /// Per gram row: log-likelihood of the gram under each category (computed once at train
    /// time, so judging a sentence is additions only).
    category_ll: Vec<[f32; CATEGORIES.len()]>,
    /// Log of each category's labeled case count.
    category_prior: [f32; CATEGORIES.len()],
    /// Categories a finding may get: labeled in training, and not `unsupported_claim` (the
    /// grounding check's). Never empty, in [`CATEGORIES`] order.
    candidates: Vec<usize>,
    prior: f32,
    flagged: u32,
    pass: u32,
    pub threshold: f32,
}

/// Why a model could not be trained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainError {
    #[error("needs at least one pass and one warn or block case to train on")]
    NeedsBothKinds,
    #[error("category index {0} is out of range")]
    CategoryOutOfRange(usize),
    #[error("needs at least one warn or block case labeled with a category other than unsupported_claim")]
    NoCategory,
}

/// One training case (the evaluation format; extra keys such as `sources` are ignored).
#[derive(Debug, Deserialize)]
pub struct Example {
    pub text: String,
    pub expect: Verdict,
    #[serde(default)]
    pub category: Option<String>,
}

/// Character 1–3-grams of `text`, each once, as exact keys (three 21-bit code points). A run of
/// digits counts as one `#` and a run of Latin letters as one `a`: numbers and handles are the
/// detectors' and word lists' business, and the phone numbers and handles in flagged cases would
/// otherwise teach the model that any order number or model name is suspect. An address-like run
/// without a house number counts as one placeholder for the same reason: the streets of leaked orders in
/// flagged cases made every street read back to a customer suspect (blind probes 30 and 31,
/// session 13). A full address keeps its characters: it is what those cases leak.
pub fn grams(text: &str) -> Vec<u64> {
    const NONE: u64 = 0x1F_FFFF;
    // Beyond the last code point, so no text holds it (an e-mail's `@` is no address).
    const ADDRESS: u64 = 0x11_0000;
    let mut chars: Vec<u64> = Vec::with_capacity(text.len() / 2);
    let mut addresses = super::pii::address_spans(text)
        .filter(|&(_, _, sure)| !sure)
        .peekable();
    for (i, c) in text.char_indices() {
        while addresses.next_if(|&(_, end, _)| end <= i).is_some() {}
        if let Some(&(start, _, _)) = addresses.peek() {
            if start <= i {
                if start == i {
                    chars.push(ADDRESS);
                }
                continue;
            }
        }
        let class = if c.is_ascii_digit() {
            Some('#' as u64)
        } else if c.is_ascii_alphabetic() {
            Some('a' as u64)
        } else {
            None
        };
        if let Some(k) = class {
            if chars.last() != Some(&k) {
                chars.push(k);
            }
        } else {
            chars.push(c as u64);
        }
    }
    let mut out = Vec::with_capacity(chars.len() * 3);
    for i in 0..chars.len() {
        let a = chars[i];
        out.push(a | NONE << 21 | NONE << 42);
        if let Some(&b) = chars.get(i + 1) {
            out.push(a | b << 21 | NONE << 42);
            if let Some(&c) = chars.get(i + 2) {
                out.push(a | b << 21 | c << 42);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The grams a model judges a sentence by, or `None` for a sentence too short to judge.
pub fn sentence_grams(sentence: &str) -> Option<Vec<u64>> {
    (sentence.chars().count() >= MIN_CHARS).then(|| grams(sentence))
}

impl Classifier {
    /// Trains on normalized example texts; categories are indices of [`CATEGORIES`]. Fails
    /// without at least one `pass` and one flagged example, with an index out of range, or
    /// when no flagged example names a category a finding could carry.
    pub fn train(
        examples: &[(String, Verdict, Option<usize>)],
        threshold: f32,
    ) -> Result<Self, TrainError> {
        if let Some(&k) = examples
            .iter()
            .filter_map(|(_, _, c)| c.as_ref())
            .find(|&&k| k >= CATEGORIES.len())
        {
            return Err(TrainError::CategoryOutOfRange(k));
        }
        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut counts: Vec<Counts> = Vec::new();
        let (mut flagged, mut pass) = (0u32, 0u32);
        let mut by_category = [0u32; CATEGORIES.len()];
        let mut seen = HashSet::new();
        for (text, expect, category) in examples {
            if !seen.insert(text.as_str()) {
                continue;
            }
            let is_flagged = *expect != Verdict::Pass;
            if is_flagged {
                flagged += 1;
                if let Some(c) = category {
                    by_category[*c] += 1;
                }
            } else {
                pass += 1;
            }
            for g in grams(text) {
                let i = *index.entry(g).or_insert_with(|| {
                    counts.push(Counts::default());
                    (counts.len() - 1) as u32
                });
                let c = &mut counts[i as usize];
                if is_flagged {
                    c.flagged += 1;
                    if let Some(k) = category {
                        c.by_category[*k] = c.by_category[*k].saturating_add(1);
                    }
                } else {
                    c.pass += 1;
                }
            }
        }
        if flagged == 0 || pass == 0 {
            return Err(TrainError::NeedsBothKinds);
        }
        let candidates: Vec<usize> = (0..CATEGORIES.len())
            .filter(|&k| by_category[k] > 0 && CATEGORIES[k] != "unsupported_claim")
            .collect();
        if candidates.is_empty() {
            return Err(TrainError::NoCategory);
        }
        let mut category_prior = [f32::NEG_INFINITY; CATEGORIES.len()];
        for k in &candidates {
            category_prior[*k] = (by_category[*k] as f32).ln();
        }
        let category_ll = counts
            .iter()
            .map(|c| {
                let mut ll = [0f32; CATEGORIES.len()];
                for k in &candidates {
                    ll[*k] =
                        ((c.by_category[*k] as f32 + 0.5) / (by_category[*k] as f32 + 1.0)).ln();
                }
                ll
            })
            .collect();
        let (f, p) = (flagged as f32 + 1.0, pass as f32 + 1.0);
        let grams = index
            .into_iter()
            .map(|(g, i)| {
                let c = &counts[i as usize];
                let w = ((c.flagged as f32 + 0.5) / f).ln() - ((c.pass as f32 + 0.5) / p).ln();
                (g, (w, i))
            })
            .collect();
        Ok(Classifier {
            grams,
            category_ll,
            category_prior,
            candidates,
            prior: (flagged as f32 / pass as f32).ln(),
            flagged,
            pass,
            threshold,
        })
    }

    /// Log-odds that a normalized sentence should not pass (grams never seen add nothing).
    pub fn score(&self, sentence: &str) -> f32 {
        self.prior
            + grams(sentence)
                .iter()
                .filter_map(|g| self.grams.get(g))
                .map(|&(w, _)| w)
                .sum::<f32>()
    }

    /// The score and, when it reaches the threshold, the index in [`CATEGORIES`] of the most
    /// likely category among the labeled cases.
    pub fn judge(&self, sentence: &str) -> Option<(f32, usize)> {
        self.judge_grams(&sentence_grams(sentence)?)
    }

    /// [`Classifier::judge`] on grams from [`sentence_grams`], so that two models judging one
    /// sentence read it once.
    pub fn judge_grams(&self, grams: &[u64]) -> Option<(f32, usize)> {
        let known: Vec<(f32, u32)> = grams
            .iter()
            .filter_map(|g| self.grams.get(g).copied())
            .collect();
        let score = self.prior + known.iter().map(|&(w, _)| w).sum::<f32>();
        if score < self.threshold {
            return None;
        }
        // The first candidate wins a tie, so the pick never depends on iteration order.
        let mut best = (self.candidates[0], f32::NEG_INFINITY);
        for &k in &self.candidates {
            let ll = self.category_prior[k]
                + known
                    .iter()
                    .map(|&(_, i)| self.category_ll[i as usize][k])
                    .sum::<f32>();
            if ll > best.1 {
                best = (k, ll);
            }
        }
        Some((score, best.0))
    }

    /// Number of distinct texts trained on: (flagged, pass).
    pub fn trained_on(&self) -> (u32, u32) {
        (self.flagged, self.pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(t: &str, v: Verdict, c: Option<usize>) -> (String, Verdict, Option<usize>) {
        (t.to_string(), v, c)
    }

    #[test]
    fn a_street_without_a_house_number_is_one_placeholder_and_no_at_sign() {
        // Session 13: which street a reply reads back should not decide its verdict.
        let a = grams("地址是杭州市西湖区文三路那个没变吧");
        let b = grams("地址是广州市天河区体育西路那个没变吧");
        assert_eq!(a, b);
        assert_ne!(
            a,
            grams("地址是杭州市西湖区文三路88号那个没变吧"),
            "a full address keeps its characters"
        );
        assert!(!a.contains(&grams("@")[0]), "an e-mail's @ is no address");
    }

    #[test]
    fn grams_are_distinct_and_cover_one_to_three_characters() {
        let g = grams("微信微信");
        // 微, 信, 微信, 信微, 微信微, 信微信
        assert_eq!(g.len(), 6);
        assert_eq!(grams("12345"), grams("9"));
        assert_eq!(grams("vx"), grams("iphone"));
    }

    #[test]
    fn learns_which_words_go_with_which_verdict_and_category() {
        let med = CATEGORIES.iter().position(|c| *c == "medical_claims");
        let cases = vec![
            ex("喝了它胃病就好了", Verdict::Block, med),
            ex("吃了它关节病就好了", Verdict::Block, med),
            ex("用了以后失眠就好了", Verdict::Block, med),
            ex("您的快递已经发出了", Verdict::Pass, None),
            ex("您的订单已经发货了", Verdict::Pass, None),
            ex("您好，请问有什么可以帮您", Verdict::Pass, None),
        ];
        let c = Classifier::train(&cases, 0.0).expect("trains");
        // Above the threshold the category is judged; below it nothing is.
        let high = Classifier::train(&cases, 1e6).expect("trains");
        assert!(high.judge("喝了以后头痛就好了").is_none());
        assert_eq!(c.trained_on(), (3, 3));
        assert!(c.score("喝了以后头痛就好了") > c.score("您的包裹已经发出了"));
        let (_, k) = c.judge("喝了以后头痛就好了").expect("flagged");
        assert_eq!(CATEGORIES[k], "medical_claims");
        assert!(c.judge("您的包裹已经发出了").is_none());
    }

    #[test]
    fn needs_both_kinds_of_example() {
        let only_pass = vec![ex("您好", Verdict::Pass, None)];
        assert_eq!(
            Classifier::train(&only_pass, 0.0).err(),
            Some(TrainError::NeedsBothKinds)
        );
    }

    #[test]
    fn category_indexes_are_checked_and_a_finding_needs_a_category_to_carry() {
        let grounding = CATEGORIES.iter().position(|c| *c == "unsupported_claim");
        let unlabeled = vec![
            ex("喝了它胃病就好了", Verdict::Block, None),
            ex("这款比别家的好", Verdict::Warn, grounding),
            ex("您的快递已经发出了", Verdict::Pass, None),
        ];
        assert_eq!(
            Classifier::train(&unlabeled, 0.0).err(),
            Some(TrainError::NoCategory)
        );
        let out_of_range = vec![
            ex("喝了它胃病就好了", Verdict::Block, Some(CATEGORIES.len())),
            ex("您的快递已经发出了", Verdict::Pass, None),
        ];
        assert_eq!(
            Classifier::train(&out_of_range, 0.0).err(),
            Some(TrainError::CategoryOutOfRange(CATEGORIES.len()))
        );
    }
}
