//! Term and regex matching on normalized text.
//!
//! All terms and allow-list contexts of all rules go into one Aho-Corasick automaton, so the
//! cost of a scan does not grow with the number of terms. The automaton reports the longest
//! pattern at every start position (a leftmost-longest search restarted one character after
//! each match start, much faster than an overlapping search); every pattern also carries the
//! entries of the patterns that are its prefixes, so no shorter term at the same start is lost. A term hit is dropped when an allow
//! context of the same rule covers it, when the rule wants a negation check and a negation
//! stands just before it in the same clause, or when the rule names `near` words and none is
//! close by in the same sentence.

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use regex::Regex;

use super::normalize::Normalized;
use super::rules::{Rule, TermSource};

/// A rule hit in byte offsets of the normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    /// From a regex: an allow context that overlaps it (rather than contains it) clears it.
    pub regex: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    rule: usize,
    allow: bool,
    /// The term starts / ends with an ASCII letter: it must not continue a Latin word.
    ascii_start: bool,
    ascii_end: bool,
    /// Byte length of the pattern this entry belongs to (a prefix of the reported match).
    len: usize,
}

pub struct Matcher {
    ac: Option<AhoCorasick>,
    /// For every automaton pattern, the rules that use it.
    entries: Vec<Vec<Entry>>,
    regexes: Vec<(usize, Regex)>,
}

/// Characters that end a clause: a term, its allow context, negation and `near` words never
/// reach across them.
pub fn is_clause_end(c: char) -> bool {
    matches!(
        c,
        '。' | '！' | '？' | '；' | '，' | '!' | '?' | ';' | ',' | '\n' | '…'
    )
}

const NEGATORS: [&str; 9] = ["不", "没", "无", "非", "别", "勿", "禁止", "未", "莫"];
/// Words that contain a negator but do not negate what follows.
const NOT_NEGATING: [&str; 22] = [
    "要不",
    "不如",
    "不然",
    "不妨",
    "不过",
    "不错",
    "不好意思",
    "不少",
    "不仅",
    "不但",
    "不管",
    "不同",
    "无论",
    "非常",
    "别人",
    "别的",
    "别家",
    "无忧",
    "不停",
    "不断",
    "不久",
    "没事",
];
/// How many normalized characters before a hit are searched for a negation.
const NEGATION_WINDOW: usize = 12;
/// How many normalized characters either side of a hit are searched for `near` words.
const NEAR_WINDOW: usize = 16;

impl Matcher {
    pub fn build(terms: &[TermSource], regexes: Vec<(usize, Regex)>) -> Result<Matcher, String> {
        let mut patterns: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut entries: Vec<Vec<Entry>> = Vec::new();
        for t in terms {
            let p = *index.entry(t.term.clone()).or_insert_with(|| {
                patterns.push(t.term.clone());
                entries.push(Vec::new());
                patterns.len() - 1
            });
            let first = t.term.chars().next().unwrap_or(' ');
            let last = t.term.chars().last().unwrap_or(' ');
            let e = Entry {
                rule: t.rule,
                allow: t.allow,
                ascii_start: first.is_ascii_alphabetic(),
                ascii_end: last.is_ascii_alphabetic(),
                len: t.term.len(),
            };
            if !entries[p]
                .iter()
                .any(|x| x.rule == e.rule && x.allow == e.allow)
            {
                entries[p].push(e);
            }
        }
        // Prefix closure: a match of 最佳使用 also stands for 最佳 at the same start.
        let own = entries.clone();
        for (p, pat) in patterns.iter().enumerate() {
            for (cut, _) in pat.char_indices().skip(1) {
                if let Some(&q) = index.get(&pat[..cut]) {
                    entries[p].extend(own[q].iter().copied());
                }
            }
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            // Measured (BENCHMARKS.md): with thousands of terms a DFA's table no longer fits the
            // cache and scans slower than the contiguous NFA; small rule sets get the DFA.
            let kind = if patterns.len() <= 2_000 {
                AhoCorasickKind::DFA
            } else {
                AhoCorasickKind::ContiguousNFA
            };
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(kind))
                .build(&patterns)
                .or_else(|_| {
                    AhoCorasick::builder()
                        .match_kind(MatchKind::LeftmostLongest)
                        .build(&patterns)
                })
                .map_err(|e| format!("the term automaton could not be built: {e}"))?;
            Some(built)
        };
        Ok(Matcher {
            ac,
            entries,
            regexes,
        })
    }

    /// Every rule hit in `n`, after allow contexts, negation and `near` words; sorted by start.
    pub fn find(&self, n: &Normalized, rules: &[Rule]) -> Vec<Hit> {
        let text = n.text.as_str();
        let mut hits: Vec<Hit> = Vec::new();
        let mut allows: Vec<Hit> = Vec::new();
        if let Some(ac) = &self.ac {
            let mut from = 0;
            while from < text.len() {
                let Some(m) = ac.find(Input::new(text).range(from..)) else {
                    break;
                };
                let s = m.start();
                from = s + text[s..].chars().next().map_or(1, char::len_utf8);
                for entry in &self.entries[m.pattern().as_usize()] {
                    let e = s + entry.len;
                    if entry.allow {
                        allows.push(Hit {
                            rule: entry.rule,
                            start: s,
                            end: e,
                            regex: false,
                        });
                        continue;
                    }
                    if entry.ascii_start
                        && prev_char(text, s).is_some_and(|c| c.is_ascii_alphabetic())
                    {
                        continue;
                    }
                    if entry.ascii_end
                        && text[e..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphabetic())
                    {
                        continue;
                    }
                    hits.push(Hit {
                        rule: entry.rule,
                        start: s,
                        end: e,
                        regex: false,
                    });
                }
            }
        }
        for (rule, re) in &self.regexes {
            for m in re.find_iter(text) {
                if m.start() < m.end() {
                    hits.push(Hit {
                        rule: *rule,
                        start: m.start(),
                        end: m.end(),
                        regex: true,
                    });
                }
            }
        }
        if hits.is_empty() {
            return hits;
        }
        allows.sort_by_key(|a| a.start);
        hits.sort_by_key(|h| (h.start, h.rule, h.end));
        hits.dedup();
        hits.retain(|h| {
            let rule = &rules[h.rule];
            let allowed = covered(&allows, h);
            let negation = rule.negation && negated(text, h.start);
            let near_ok = rule.near.is_empty() || near(text, h, &rule.near);
            let unless = !rule.unless.is_empty() && in_sentence(text, h, &rule.unless);
            !allowed && !negation && near_ok && !unless
        });
        hits
    }
}

fn prev_char(text: &str, byte: usize) -> Option<char> {
    text[..byte].chars().next_back()
}

/// Whether an allow context of the hit's rule contains the hit (a term) or overlaps it (a
/// regex, whose match may take in words before the allowed phrase).
fn covered(allows: &[Hit], h: &Hit) -> bool {
    let upto = if h.regex {
        allows.partition_point(|a| a.start < h.end)
    } else {
        allows.partition_point(|a| a.start <= h.start)
    };
    allows[..upto].iter().any(|a| {
        a.rule == h.rule
            && if h.regex {
                a.end > h.start
            } else {
                a.end >= h.end
            }
    })
}

/// Up to `window` characters before byte `at`, stopping at a character for which `stop` holds.
fn text_before(text: &str, at: usize, window: usize, stop: fn(char) -> bool) -> &str {
    let mut start = at;
    for (taken, (i, c)) in text[..at].char_indices().rev().enumerate() {
        if taken >= window || stop(c) {
            break;
        }
        start = i;
    }
    &text[start..at]
}

fn text_after(text: &str, at: usize, window: usize, stop: fn(char) -> bool) -> &str {
    let mut end = at;
    for (taken, (i, c)) in text[at..].char_indices().enumerate() {
        if taken >= window || stop(c) {
            break;
        }
        end = at + i + c.len_utf8();
    }
    &text[at..end]
}

fn negated(text: &str, at: usize) -> bool {
    let mut before = text_before(text, at, NEGATION_WINDOW, is_clause_end).to_string();
    for w in NOT_NEGATING {
        before = before.replace(w, "_");
    }
    NEGATORS.iter().any(|n| before.contains(n))
}

/// Whether one of `words` is in the sentence around the hit: a fraud warning (请提高警惕，这可能是
/// 诈骗) often follows the clause that names the channel.
fn in_sentence(text: &str, h: &Hit, words: &[String]) -> bool {
    let start = text[..h.start]
        .char_indices()
        .rev()
        .find(|&(_, c)| is_sentence_end(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[h.end..]
        .char_indices()
        .find(|&(_, c)| is_sentence_end(c))
        .map_or(text.len(), |(i, _)| h.end + i);
    let sentence = &text[start..end];
    words.iter().any(|w| sentence.contains(w.as_str()))
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '\n' | '…')
}

/// Whether one of `words` is within `NEAR_WINDOW` characters of the hit in the same sentence
/// (加一下我的小号，号码是 kefu2025: the verb sits one clause before the handle).
fn near(text: &str, h: &Hit, words: &[String]) -> bool {
    let before = text_before(text, h.start, NEAR_WINDOW, is_sentence_end);
    let after = text_after(text, h.end, NEAR_WINDOW, is_sentence_end);
    let hit = &text[h.start..h.end];
    words.iter().any(|w| {
        before.contains(w.as_str()) || after.contains(w.as_str()) || hit.contains(w.as_str())
    })
}
