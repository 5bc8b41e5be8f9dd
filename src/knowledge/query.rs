//! Query understanding: from conversation turns to weighted terms.
//!
//! The latest customer turn weighs most, earlier customer turns less, the agent's turns least;
//! chit-chat and function words weigh nothing; synonyms add their group's other words.

use std::collections::HashMap;

use jieba_rs::Jieba;

use super::synonyms::{QueryLanguage, Synonyms};
use super::tokenize::{grams, normalize, words};
use super::SearchOptions;
use crate::conversation::{Role, Turn};

/// Where a query term came from; only `Word` terms count towards coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Word,
    Synonym,
}

#[derive(Debug, Clone)]
pub struct Term {
    pub text: String,
    pub weight: f32,
    pub source: Source,
}

#[derive(Debug, Clone, Default)]
pub struct Analyzed {
    /// Word terms (jieba), with synonyms.
    pub words: Vec<Term>,
    /// Character bigrams of the content text.
    pub grams: Vec<Term>,
}

/// Weight of each turn, oldest first.
fn turn_weights(turns: &[Turn], opts: &SearchOptions) -> Vec<f32> {
    let mut weights = vec![0.0; turns.len()];
    let mut customer_seen = 0i32;
    for (i, turn) in turns.iter().enumerate().rev() {
        let w = match turn.role {
            Role::Customer => {
                let w = opts.turn_decay.powi(customer_seen);
                customer_seen += 1;
                w
            }
            Role::Agent => opts.agent_weight * opts.turn_decay.powi(customer_seen),
        };
        weights[i] = w;
    }
    weights
}

fn bump(map: &mut HashMap<String, (f32, Source)>, text: &str, weight: f32, source: Source) {
    let e = map
        .entry(text.to_string())
        .or_insert((0.0, Source::Synonym));
    e.0 = e.0.max(weight);
    if source == Source::Word {
        e.1 = Source::Word;
    }
}

/// Turns a conversation into weighted terms.
pub fn analyze(
    turns: &[Turn],
    jieba: &Jieba,
    lang: &QueryLanguage,
    synonyms: &Synonyms,
    opts: &SearchOptions,
) -> Analyzed {
    let weights = turn_weights(turns, opts);
    let mut word_map: HashMap<String, (f32, Source)> = HashMap::new();
    let mut gram_map: HashMap<String, (f32, Source)> = HashMap::new();
    for (turn, &w) in turns.iter().zip(&weights) {
        if w <= 0.0 || turn.text.trim().is_empty() {
            continue;
        }
        let text = if opts.understand {
            lang.strip_chitchat(&lang.normalize(&turn.text))
        } else {
            normalize(&turn.text)
        };
        let keep = |t: &str| !opts.understand || !lang.is_stopword(t);
        for t in words(jieba, &text, opts.query_search_mode) {
            if keep(&t) {
                bump(&mut word_map, &t, w, Source::Word);
            }
        }
        if opts.grams {
            for g in grams(&text) {
                if keep(&g) {
                    bump(&mut gram_map, &g, w * opts.gram_weight, Source::Word);
                }
            }
        }
        if opts.synonyms && opts.synonym_weight > 0.0 {
            let sw = w * opts.synonym_weight;
            for (matched, group) in synonyms.matches(&text) {
                if !keep(&matched) {
                    continue;
                }
                for member in group.iter().filter(|m| **m != matched) {
                    for t in words(jieba, member, false) {
                        if keep(&t) {
                            bump(&mut word_map, &t, sw, Source::Synonym);
                        }
                    }
                }
            }
        }
    }
    let collect = |m: HashMap<String, (f32, Source)>| {
        let mut v: Vec<Term> = m
            .into_iter()
            .map(|(text, (weight, source))| Term {
                text,
                weight,
                source,
            })
            .collect();
        // Deterministic order (the index does not care, tests and debugging do).
        v.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.text.cmp(&b.text))
        });
        v
    };
    Analyzed {
        words: collect(word_map),
        grams: collect(gram_map),
    }
}
