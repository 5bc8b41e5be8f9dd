//! Query understanding: from conversation turns to weighted terms.
//!
//! The latest customer turn weighs most, earlier customer turns less, the agent's turns least;
//! chit-chat and function words weigh nothing; synonyms add their group's other words.

use std::collections::{HashMap, HashSet};

use jieba_rs::Jieba;

use super::homophone::Homophones;
use super::synonyms::{QueryLanguage, Synonyms};
use super::tokenize::{grams, normalize, words};
use super::SearchOptions;
use crate::conversation::{Role, Turn};

/// One thing the customer asked about: a word, or a synonym group found in the text, with the
/// terms that express it. Coverage and no-answer detection count concepts, not terms, so a
/// word with many synonyms does not outweigh two distinct questions.
#[derive(Debug, Clone)]
pub struct Concept {
    /// `(term, weight)`, the customer's own words first.
    pub terms: Vec<(String, f32)>,
    /// Found through a synonym group (domain vocabulary), not a bare word.
    pub group: bool,
    /// For a group: the group's whole members, the customer's word among them. A text holds the
    /// concept when it holds one of these; the words jieba cuts out of them (店铺 from 店铺券,
    /// 签收 from 不签收) are searched but are no evidence of it.
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Analyzed {
    pub concepts: Vec<Concept>,
    /// Character bigrams of the content text.
    pub grams: Vec<(String, f32)>,
}

/// Turns weighing less than this are ignored.
const MIN_TURN_WEIGHT: f32 = 0.02;
/// Turns weighing less than this contribute words but no n-grams.
const GRAM_MIN_TURN_WEIGHT: f32 = 0.5;
/// Only the start of a very long turn is read.
const MAX_TURN_CHARS: usize = 500;

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

type Weights = HashMap<String, f32>;

fn bump(map: &mut Weights, text: &str, weight: f32) {
    let e = map.entry(text.to_string()).or_insert(0.0);
    *e = e.max(weight);
}

fn sorted(m: HashMap<String, f32>) -> Vec<(String, f32)> {
    let mut v: Vec<(String, f32)> = m.into_iter().collect();
    // Deterministic order (the index does not care, tests and debugging do).
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Turns a conversation into weighted concepts.
///
/// `member_words` holds the word tokens of synonym members, computed once per load (tokenizing
/// every member of every matched group per query cost more than the search itself).
pub fn analyze(
    turns: &[Turn],
    jieba: &Jieba,
    lang: &QueryLanguage,
    homophones: &Homophones,
    synonyms: &Synonyms,
    member_words: &HashMap<String, Vec<String>>,
    opts: &SearchOptions,
) -> Analyzed {
    let weights = turn_weights(turns, opts);
    // Concept key → its own terms (weight w) and synonyms (weight w × synonym_weight).
    let mut concepts: HashMap<String, (Weights, Weights)> = HashMap::new();
    let mut members: HashMap<String, HashSet<String>> = HashMap::new();
    let mut gram_map: HashMap<String, f32> = HashMap::new();
    for (turn, &w) in turns.iter().zip(&weights) {
        // Far-back turns weigh next to nothing; a pasted essay must not blow up the query.
        if w < MIN_TURN_WEIGHT || turn.text.trim().is_empty() {
            continue;
        }
        let raw: String = turn.text.chars().take(MAX_TURN_CHARS).collect();
        let text = if opts.understand {
            let text = lang.strip_chitchat(&lang.normalize(&raw));
            homophones.correct(jieba, &text)
        } else {
            normalize(&raw)
        };
        let keep = |t: &str| !opts.understand || !lang.is_stopword(t);
        let tokens: Vec<String> = words(jieba, &text, opts.query_search_mode, opts.hmm)
            .into_iter()
            .filter(|t| keep(t))
            .collect();
        let mut covered: HashSet<String> = HashSet::new();
        if opts.synonyms && opts.synonym_weight > 0.0 {
            let token_set: HashSet<String> = tokens.iter().cloned().collect();
            for m in synonyms.matches(&text, &token_set) {
                if !keep(&m.matched) {
                    continue;
                }
                let key = format!("\u{1}{}", m.group);
                let whole = members.entry(key.clone()).or_default();
                whole.insert(m.matched.clone());
                whole.extend(m.members.iter().map(|x| x.to_string()));
                let entry = concepts.entry(key).or_default();
                let own: Vec<String> = words(jieba, &m.matched, opts.query_search_mode, opts.hmm)
                    .into_iter()
                    .filter(|t| keep(t))
                    .collect();
                for t in &own {
                    bump(&mut entry.0, t, w);
                }
                // Query tokens inside the matched words belong to this concept.
                for t in &tokens {
                    if m.matched.contains(t.as_str()) {
                        covered.insert(t.clone());
                        bump(&mut entry.0, t, w);
                    }
                }
                for member in m.members.iter().filter(|x| **x != m.matched) {
                    let whole = member.chars().count();
                    let tokens = match member_words.get(member) {
                        Some(t) => t.clone(),
                        None => words(jieba, member, opts.query_search_mode, opts.hmm),
                    };
                    for t in tokens {
                        // A lone character or number cut out of a longer synonym (天 from
                        // 7天退) does not stand for it.
                        let n = t.chars().count();
                        let fragment =
                            n < whole && (n == 1 || t.chars().all(|c| c.is_ascii_digit()));
                        if keep(&t) && !fragment {
                            bump(&mut entry.1, &t, w * opts.synonym_weight);
                        }
                    }
                }
            }
        }
        for t in tokens.iter().filter(|t| !covered.contains(*t)) {
            bump(&mut concepts.entry(t.clone()).or_default().0, t, w);
        }
        // The n-gram safety net covers the turns that matter most; older turns match by words
        // (each gram is a posting list to walk).
        if opts.grams && w >= GRAM_MIN_TURN_WEIGHT {
            let token_set: HashSet<&str> = tokens.iter().map(String::as_str).collect();
            for g in grams(&text) {
                // A bigram that is also a query word adds cost, not evidence.
                if keep(&g) && !token_set.contains(g.as_str()) {
                    bump(&mut gram_map, &g, w * opts.gram_weight);
                }
            }
            // A one-character word also matches the words containing it (修 → 维修, 返修).
            for t in tokens.iter().filter(|t| t.chars().count() == 1) {
                if t.chars().all(|c| !c.is_ascii()) {
                    bump(&mut gram_map, t, w * opts.char_weight);
                }
            }
        }
    }
    let mut keys: Vec<String> = concepts.keys().cloned().collect();
    keys.sort();
    let concepts = keys
        .into_iter()
        .filter_map(|k| {
            let whole = members.remove(&k);
            concepts
                .remove(&k)
                .map(|c| (k.starts_with('\u{1}'), c, whole))
        })
        .map(|(group, (own, mut syn), whole)| {
            for t in own.keys() {
                syn.remove(t);
            }
            let mut terms = sorted(own);
            terms.extend(sorted(syn));
            let mut members: Vec<String> = whole.unwrap_or_default().into_iter().collect();
            members.sort();
            Concept {
                terms,
                group,
                members,
            }
        })
        .filter(|c| !c.terms.is_empty())
        .collect();
    Analyzed {
        concepts,
        grams: sorted(gram_map),
    }
}
