//! One check: rule hits, personal data and grounding turned into findings and a verdict.
//!
//! Hits are collected and merged as small plain records first; only the merged ones become
//! [`Finding`]s, whose rule texts are shared with the rule set rather than copied.

use std::cmp::Reverse;

use super::classifier::sentence_grams;
use super::grounding;
use super::matcher::is_sentence_end;
use super::normalize::Normalized;
use super::normalize::{count_chars, normalize};
use super::pii;
use super::rules::{RuleSet, CATEGORIES};
use super::{CheckResult, Finding, Grounding, Quote, Severity, Text, Verdict};

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Rule(u32),
    Pii(u32),
    Grounding,
    /// The classifier, with the index of the category it chose in [`CATEGORIES`].
    Model(u32),
}

/// A finding before it is written out: character span, source and severity. Kept to 24 bytes:
/// a text full of hits holds one per hit, and on large inputs the memory they take (fresh pages
/// for every check) costs more than the work done on them.
#[derive(Debug, Clone, Copy)]
struct Raw {
    start: u32,
    end: u32,
    source: Source,
    severity: Severity,
    /// Position of the rule id in sorted order, so findings sort by id as before.
    rank: u32,
}

impl Raw {
    /// Character offsets saturate at `u32::MAX` (a text of four billion characters is not a
    /// reply; it gets wrong spans, not a panic).
    fn new(start: usize, end: usize, source: Source, severity: Severity, rank: u32) -> Raw {
        let c = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Raw {
            start: c(start),
            end: c(end),
            source,
            severity,
            rank,
        }
    }
}

/// An index as stored in a [`Source`].
fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

pub(crate) fn check(set: &RuleSet, text: &str, g: &Grounding) -> CheckResult {
    let ranks = Ranks::new(set);
    let mut raws: Vec<Raw> = Vec::new();
    let n = normalize(text);
    let hits = set.matcher.find(&n, &set.rules);
    raws.reserve(hits.len());
    let mut cursor = n.cursor();
    for h in &hits {
        let (start, end) = cursor.span(h.start, h.end);
        raws.push(Raw::new(
            start,
            end,
            Source::Rule(idx(h.rule)),
            set.rules[h.rule].severity,
            ranks.rules[h.rule],
        ));
    }
    drop(hits);
    // Rule hits arrive in order of start, longest first; the few others are merged in below.
    let mut extra: Vec<Raw> = Vec::new();
    if !set.pii.is_empty() {
        let addresses = set.pii.iter().any(|r| r.kind == pii::PiiKind::Address);
        for m in pii::detect_with(text, addresses) {
            // Redaction masks every address-like span; a draft is flagged only for a sure one.
            if m.kind == pii::PiiKind::Address && !m.valid {
                continue;
            }
            for (i, rule) in set.pii.iter().enumerate().filter(|(_, r)| r.kind == m.kind) {
                extra.push(Raw::new(
                    m.start,
                    m.end,
                    Source::Pii(idx(i)),
                    if m.valid {
                        rule.severity
                    } else {
                        rule.severity_invalid
                    },
                    ranks.pii[i],
                ));
            }
        }
    }
    if let Some(sources) = &g.sources {
        for c in grounding::unsupported(text, sources) {
            extra.push(Raw::new(
                c.start,
                c.end,
                Source::Grounding,
                set.grounding.severity,
                ranks.grounding,
            ));
        }
    }
    let key = |r: &Raw| (r.start, Reverse(r.end), r.rank);
    if set.classifier.is_some() {
        if !extra.is_empty() || !raws.is_sorted_by_key(key) {
            raws.extend(std::mem::take(&mut extra));
            raws.sort_by_key(key);
        }
        extra = classify(set, &n, &raws, ranks.model);
    }
    if !extra.is_empty() || !raws.is_sorted_by_key(key) {
        raws.extend(extra);
        raws.sort_by_key(key);
    }
    let raws = merge(raws);
    let findings = materialize(set, text, &raws);
    let verdict = match raws.iter().map(|f| f.severity).max() {
        Some(Severity::Block) => Verdict::Block,
        Some(Severity::Warn) => Verdict::Warn,
        _ => Verdict::Pass,
    };
    CheckResult {
        verdict,
        findings,
        ruleset_version: set.version.clone(),
    }
}

/// Sentences of the normalized text the classifier flags: those without a warn or block finding
/// at its threshold, and those without a block finding at its block threshold.
/// `raws` are sorted by start.
fn classify(set: &RuleSet, n: &Normalized, raws: &[Raw], rank: u32) -> Vec<Raw> {
    let Some(c) = &set.classifier else {
        return Vec::new();
    };
    let text = n.text.as_str();
    let mut out = Vec::new();
    let mut cursor = n.cursor();
    let mut next = 0;
    let mut start = 0;
    for (i, ch) in text
        .char_indices()
        .chain(std::iter::once((text.len(), '\n')))
    {
        if !(is_sentence_end(ch) || ch == ';') {
            continue;
        }
        let (s, e) = (start, i);
        start = i + ch.len_utf8().min(text.len() - i);
        if s >= e {
            continue;
        }
        let (os, oe) = cursor.span(s, e);
        let (os, oe) = (idx(os), idx(oe));
        while next < raws.len() && raws[next].end <= os {
            next += 1;
        }
        let flagged = raws[next..]
            .iter()
            .take_while(|r| r.start < oe)
            .filter(|r| r.end > os)
            .map(|r| r.severity)
            .max();
        if flagged == Some(Severity::Block) {
            continue;
        }
        let Some(grams) = sentence_grams(&text[s..e]) else {
            continue;
        };
        // Where a rule already warned, the model adds something only when it is sure enough
        // to block.
        let judged = c
            .block
            .as_ref()
            .and_then(|b| b.judge_grams(&grams))
            .map(|(_, k)| (k, Severity::Block))
            .or_else(|| {
                (flagged < Some(Severity::Warn))
                    .then(|| c.model.judge_grams(&grams).map(|(_, k)| (k, c.severity)))
                    .flatten()
            });
        let Some((category, severity)) = judged else {
            continue;
        };
        out.push(Raw {
            start: os,
            end: oe,
            source: Source::Model(idx(category)),
            severity,
            rank,
        });
    }
    out
}

/// Rank of every rule id in sorted order (rules, then personal-data rules, then grounding).
struct Ranks {
    rules: Vec<u32>,
    pii: Vec<u32>,
    grounding: u32,
    model: u32,
}

impl Ranks {
    fn new(set: &RuleSet) -> Ranks {
        let mut ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
        ids.extend(set.pii.iter().map(|r| r.id.as_str()));
        ids.push(set.grounding.id.as_str());
        if let Some(c) = &set.classifier {
            ids.push(c.id.as_str());
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        let rank = |id: &str| sorted.partition_point(|s| *s < id) as u32;
        Ranks {
            rules: set.rules.iter().map(|r| rank(&r.id)).collect(),
            pii: set.pii.iter().map(|r| rank(&r.id)).collect(),
            grounding: rank(&set.grounding.id),
            model: set.classifier.as_ref().map_or(0, |c| rank(&c.id)),
        }
    }
}

/// Drops a hit that a longer or equal hit of the same rule, starting at or before it, already
/// covers (最好 inside 最好的). Input sorted by start, longest first. Compacts in place: on a text
/// full of hits a second buffer would be as large as the first.
fn merge(mut raws: Vec<Raw>) -> Vec<Raw> {
    let mut kept = 0;
    for i in 0..raws.len() {
        let f = raws[i];
        let covered = raws[..kept]
            .iter()
            .rev()
            .take_while(|p| p.end > f.start)
            .any(|p| p.source == f.source && f.end <= p.end);
        if !covered {
            raws[kept] = f;
            kept += 1;
        }
    }
    raws.truncate(kept);
    raws
}

/// Writes the findings out, quoting the original text of each span.
fn materialize(set: &RuleSet, text: &str, raws: &[Raw]) -> Vec<Finding> {
    let mut chars = CharBytes::new(text);
    let unsupported: Text = "unsupported_claim".into();
    let categories: Vec<Text> = CATEGORIES.iter().map(|&c| c.into()).collect();
    raws.iter()
        .map(|r| {
            let s = chars.byte(r.start as usize);
            let e = chars.byte_after(s, (r.end - r.start) as usize);
            let matched = Quote::from(&text[s..e]);
            let (rule, category, message, suggestion) = match r.source {
                Source::Rule(i) => {
                    let x = &set.rules[i as usize];
                    (&x.id, &x.category, &x.message, &x.suggestion)
                }
                Source::Pii(i) => {
                    let x = &set.pii[i as usize];
                    (&x.id, &x.category, &x.message, &x.suggestion)
                }
                Source::Grounding => {
                    let x = &set.grounding;
                    (&x.id, &unsupported, &x.message, &x.suggestion)
                }
                Source::Model(k) => match &set.classifier {
                    Some(x) => (&x.id, &categories[k as usize], &x.message, &x.suggestion),
                    None => {
                        let x = &set.grounding;
                        (&x.id, &unsupported, &x.message, &x.suggestion)
                    }
                },
            };
            Finding {
                rule: rule.clone(),
                category: category.clone(),
                severity: r.severity,
                start: r.start as usize,
                end: r.end as usize,
                matched,
                message: message.clone(),
                suggestion: suggestion.clone(),
            }
        })
        .collect()
}

/// Character offset → byte offset, fast for offsets in increasing order.
struct CharBytes<'a> {
    text: &'a str,
    char: usize,
    byte: usize,
}

impl<'a> CharBytes<'a> {
    fn new(text: &'a str) -> Self {
        CharBytes {
            text,
            char: 0,
            byte: 0,
        }
    }

    fn byte(&mut self, c: usize) -> usize {
        if c < self.char {
            self.char = 0;
            self.byte = 0;
        }
        let b = self.byte_after(self.byte, c - self.char);
        self.char = c;
        self.byte = b;
        b
    }

    /// The byte `n` characters after byte `from` (the text length past the end). Skips whole
    /// 64-byte blocks by counting the bytes that start a character.
    fn byte_after(&self, from: usize, n: usize) -> usize {
        let b = self.text.as_bytes();
        let is_start = |x: u8| (x as i8) >= -0x40;
        let (mut i, mut left) = (from, n);
        while left >= 64 && i + 64 <= b.len() {
            let starts = count_chars(&b[i..i + 64]);
            if starts > left {
                break;
            }
            left -= starts;
            i += 64;
        }
        while i < b.len() {
            if is_start(b[i]) {
                if left == 0 {
                    return i;
                }
                left -= 1;
            }
            i += 1;
        }
        b.len()
    }
}

#[cfg(test)]
mod tests {
    use super::CharBytes;

    #[test]
    fn byte_after_agrees_with_char_indices_across_blocks() {
        let text = "最佳a微信😀，ｂ".repeat(40);
        let c = CharBytes::new(&text);
        let total = text.chars().count();
        for from_char in [0, 1, 7, 63, 100] {
            let from = text
                .char_indices()
                .nth(from_char)
                .map_or(text.len(), |x| x.0);
            for n in [0, 1, 5, 21, 64, 65, 130, 200, total] {
                let want = text[from..]
                    .char_indices()
                    .nth(n)
                    .map_or(text.len(), |(i, _)| from + i);
                assert_eq!(c.byte_after(from, n), want, "from {from_char}, n {n}");
            }
        }
    }
}
