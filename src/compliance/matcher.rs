//! Term and regex matching on normalized text.
//!
//! All terms and allow-list contexts of all rules go into one character trie, walked from every
//! position of the text, so the cost of a scan does not grow with the number of terms: each
//! position costs one table lookup, and a walk only goes on while the text continues a term.
//! A walk visits every term that starts at that position (a term and all terms that are its
//! prefixes), which is the same set an overlapping Aho-Corasick search reports. A 32 KiB bit
//! set of the first two characters of every term lets most positions stop after the first
//! lookup without touching the larger edge table.
//!
//! A term hit is dropped when an allow context of the same rule covers it, when the rule wants a
//! negation check and a negation stands just before it in the same clause, or when the rule
//! names `near` words and none is close by in the same sentence. With `whole_words`, a term hit
//! (or a regex hit of two characters) that straddles words of ordinary Chinese (最低|能效 around
//! 低能) is dropped too: jieba's dictionary segments a few characters around the hit, only for
//! hits that would otherwise stay.

use std::collections::HashMap;
use std::sync::LazyLock;

use jieba_rs::Jieba;
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
}

/// Bits of the bigram filter (2^18 bits = 32 KiB, about L1 size).
const BIGRAM_BITS: u32 = 18;

/// A trie over characters. Node 0 is the root.
struct Trie {
    /// Child of the root for every BMP character; 0 = none.
    root: Vec<u32>,
    /// All other edges, open addressing on (node, character); `EMPTY` marks a free slot.
    slots: Vec<(u64, u32)>,
    shift: u32,
    /// For every node, the range of its entries in `entries` (the terms ending there).
    ends: Vec<(u32, u32)>,
    entries: Vec<Entry>,
    /// Bit set of hashed (first, second) characters of every term of two or more characters.
    bigrams: Vec<u64>,
}

const EMPTY: u64 = u64::MAX;
/// Flags packed into a node reference, so the scan needs no second lookup to know whether
/// terms end at a node (`TERM`) or go on from it (`INNER`).
const TERM: u32 = 1 << 31;
const INNER: u32 = 1 << 30;
const NODE: u32 = INNER - 1;

fn edge_key(node: u32, c: u32) -> u64 {
    ((node as u64) << 21) | c as u64
}

fn mix(k: u64) -> u64 {
    k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn bigram_bit(a: u32, b: u32) -> usize {
    (mix(((a as u64) << 21) ^ b as u64 ^ 0x5555_0000_0000_0000) >> (64 - BIGRAM_BITS)) as usize
}

impl Trie {
    fn build(patterns: &[(String, Vec<Entry>)]) -> Trie {
        let mut edges: HashMap<(u32, u32), u32> = HashMap::new();
        let mut ends: Vec<Vec<Entry>> = vec![Vec::new()];
        let mut bigrams = vec![0u64; 1 << (BIGRAM_BITS - 6)];
        for (pat, own) in patterns {
            let mut node = 0u32;
            let mut chars = pat.chars().map(|c| c as u32);
            let first = chars.clone().next();
            let second = chars.clone().nth(1);
            if let (Some(a), Some(b)) = (first, second) {
                let bit = bigram_bit(a, b);
                bigrams[bit / 64] |= 1 << (bit % 64);
            }
            for c in &mut chars {
                let next = ends.len() as u32;
                node = *edges.entry((node, c)).or_insert_with(|| {
                    ends.push(Vec::new());
                    next
                });
            }
            ends[node as usize].extend(own.iter().copied());
        }
        let mut inner = vec![false; ends.len()];
        for &(node, _) in edges.keys() {
            inner[node as usize] = true;
        }
        let packed = |child: u32| {
            child
                | if ends[child as usize].is_empty() {
                    0
                } else {
                    TERM
                }
                | if inner[child as usize] { INNER } else { 0 }
        };
        let mut root = vec![0u32; 0x1_0000];
        let rest: Vec<((u32, u32), u32)> = edges
            .into_iter()
            .map(|(k, child)| (k, packed(child)))
            .filter(|&((node, c), child)| {
                if node == 0 && c < 0x1_0000 {
                    root[c as usize] = child;
                    false
                } else {
                    true
                }
            })
            .collect();
        let cap = (rest.len() * 2).next_power_of_two().max(16);
        let shift = 64 - cap.trailing_zeros();
        let mut slots = vec![(EMPTY, 0u32); cap];
        for ((node, c), child) in rest {
            let key = edge_key(node, c);
            let mut i = (mix(key) >> shift) as usize;
            while slots[i].0 != EMPTY {
                i = (i + 1) & (cap - 1);
            }
            slots[i] = (key, child);
        }
        let mut entries = Vec::new();
        let ends = ends
            .into_iter()
            .map(|e| {
                let from = entries.len() as u32;
                entries.extend(e);
                (from, entries.len() as u32)
            })
            .collect();
        Trie {
            root,
            slots,
            shift,
            ends,
            entries,
            bigrams,
        }
    }

    /// The packed reference of `node`'s child by character `c` (0 = none); `node` may be packed.
    #[inline(always)]
    fn child(&self, node: u32, c: u32) -> u32 {
        let node = node & NODE;
        if node == 0 && c < 0x1_0000 {
            return self.root[c as usize];
        }
        let key = edge_key(node, c);
        let mask = self.slots.len() - 1;
        let mut i = (mix(key) >> self.shift) as usize;
        loop {
            let (k, v) = self.slots[i];
            if k == key {
                return v;
            }
            if k == EMPTY {
                return 0;
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    fn maybe_bigram(&self, a: u32, b: u32) -> bool {
        let bit = bigram_bit(a, b);
        self.bigrams[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn entries(&self, node: u32) -> &[Entry] {
        let (a, b) = self.ends[(node & NODE) as usize];
        &self.entries[a as usize..b as usize]
    }
}

/// The character at byte `i` of `s` (a character boundary) and its length; `(u32::MAX, 0)` at
/// the end.
#[inline(always)]
fn decode(s: &[u8], i: usize) -> (u32, usize) {
    let Some(&b) = s.get(i) else {
        return (u32::MAX, 0);
    };
    if b < 0x80 {
        (b as u32, 1)
    } else if b < 0xE0 {
        (((b as u32 & 0x1F) << 6) | (s[i + 1] as u32 & 0x3F), 2)
    } else if b < 0xF0 {
        (
            ((b as u32 & 0x0F) << 12) | ((s[i + 1] as u32 & 0x3F) << 6) | (s[i + 2] as u32 & 0x3F),
            3,
        )
    } else {
        (
            ((b as u32 & 0x07) << 18)
                | ((s[i + 1] as u32 & 0x3F) << 12)
                | ((s[i + 2] as u32 & 0x3F) << 6)
                | (s[i + 3] as u32 & 0x3F),
            4,
        )
    }
}

pub struct Matcher {
    trie: Option<Trie>,
    /// (rule, regex, whether it has a `hit` or `skip` group and needs captures).
    regexes: Vec<(usize, Regex, bool)>,
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
const NOT_NEGATING: [&str; 69] = [
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
    // Session 14: reassurance and an accident, no refusal of what follows (不用担心，摔坏了也免费给您换;
    // 不小心磕坏了也免费修: review 22).
    "不用担心",
    "不要担心",
    "别担心",
    "不小心",
    // 别 inside ordinary words (特别适合 is not a negation), 无 in product properties.
    "特别",
    "分别",
    "区别",
    "差别",
    "级别",
    "类别",
    "性别",
    "识别",
    "个别",
    "无糖",
    "无添加",
    // Goods named by what they resist (这个不粘锅绝对一辈子都不会粘): the 不 is part of the name.
    "不粘",
    "不沾锅",
    // A property the goods have (这款锅不易粘 绝对不会糊): not easily, no negation of what follows.
    "不易",
    "不锈钢",
    "不倒翁",
    "不干胶",
    "不织布",
    // A-not-A questions ask, they do not deny (你信不信我把你的地址发到网上).
    "信不信",
    "是不是",
    "要不要",
    "能不能",
    "会不会",
    "有没有",
    // Session 9: the customer's doubt as a condition (不放心的话可以加个vx看实拍, 您不信可以私下
    // 转账给我): the 不 negates their trust, not the offer after it. Doubt of the channel itself
    // (您不放心私下转账是对的) has no condition word and still negates.
    "不放心的话",
    "不放心可以",
    "不放心,",
    "不相信的话",
    "不相信可以",
    "不相信,",
    "不信的话",
    "不信可以",
    "不信,",
    "行不行",
    "好不好",
    "对不对",
    // Session 10: what the customer does not understand, as a condition (有不明白的加我vx, 有不理解的
    // 私下转账给我 passed): the 不 is theirs, not a refusal of the offer after it.
    "不明白的",
    "不清楚的",
    "不懂的",
    "不理解的",
    "不明白可以",
    "不清楚可以",
    "不懂可以",
];
/// How many normalized characters before a hit are searched for a negation.
const NEGATION_WINDOW: usize = 12;
/// How many normalized characters either side of a hit are searched for `near` words.
const NEAR_WINDOW: usize = 16;

impl Matcher {
    pub fn build(terms: &[TermSource], regexes: Vec<(usize, Regex)>) -> Result<Matcher, String> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut patterns: Vec<(String, Vec<Entry>)> = Vec::new();
        for t in terms {
            if t.term.is_empty() {
                continue;
            }
            let p = *index.entry(t.term.as_str()).or_insert_with(|| {
                patterns.push((t.term.clone(), Vec::new()));
                patterns.len() - 1
            });
            let first = t.term.chars().next().unwrap_or(' ');
            let last = t.term.chars().last().unwrap_or(' ');
            let e = Entry {
                rule: t.rule,
                allow: t.allow,
                ascii_start: first.is_ascii_alphabetic(),
                ascii_end: last.is_ascii_alphabetic(),
            };
            let own = &mut patterns[p].1;
            if !own.iter().any(|x| x.rule == e.rule && x.allow == e.allow) {
                own.push(e);
            }
        }
        let trie = (!patterns.is_empty()).then(|| Trie::build(&patterns));
        let regexes = regexes
            .into_iter()
            .map(|(rule, re)| {
                let groups = re
                    .capture_names()
                    .any(|n| n == Some(HIT_GROUP) || n == Some(SKIP_GROUP));
                (rule, re, groups)
            })
            .collect();
        Ok(Matcher { trie, regexes })
    }

    /// Every rule hit in `n`, after allow contexts, negation and `near` words; sorted by start,
    /// then longest first, then rule.
    pub fn find(&self, n: &Normalized, rules: &[Rule]) -> Vec<Hit> {
        let text = n.text.as_str();
        let mut hits: Vec<Hit> = Vec::new();
        let mut allows: Vec<Hit> = Vec::new();
        if let Some(trie) = &self.trie {
            scan(trie, text, &mut hits, &mut allows);
        }
        let scanned = hits.len();
        for (rule, re, groups) in &self.regexes {
            let mut push = |start: usize, end: usize| {
                let (start, end) = trim_clause_ends(text, start, end);
                if start < end {
                    hits.push(Hit {
                        rule: *rule,
                        start,
                        end,
                        regex: true,
                    });
                }
            };
            if *groups {
                for caps in re.captures_iter(text) {
                    if caps.name(SKIP_GROUP).is_some() {
                        continue;
                    }
                    if let Some(m) = caps.name(HIT_GROUP).or_else(|| caps.get(0)) {
                        push(m.start(), m.end());
                    }
                }
            } else {
                for m in re.find_iter(text) {
                    push(m.start(), m.end());
                }
            }
        }
        if hits.is_empty() {
            return hits;
        }
        // The scan emits in order of start, shortest first; only regex hits need a real sort.
        // A regex hit wins a tie with a term hit of the same span and rule: `whole_words` may
        // drop the term hit but not a longer regex hit (线下交易 as a term and as a regex).
        let key = |h: &Hit| (h.start, std::cmp::Reverse(h.end), h.rule, !h.regex);
        if scanned == hits.len() {
            // Trie hits are unique: one entry per (term, rule), one term per span.
            sort_runs(&mut hits);
        } else {
            hits.sort_unstable_by_key(key);
            hits.dedup_by_key(|h| (h.start, h.end, h.rule));
        }
        // A claim quoted to refute it, and a colleague's rude words repeated to apologise for
        // them, are mentioned, not made.
        let rude = |h: &Hit| &*rules[h.rule].category == RUDENESS;
        if !n.quotes.is_empty() || hits.iter().any(rude) {
            hits.retain(|h| {
                !(refuted_quote(text, &n.breaks, &n.quotes, h)
                    || rude(h) && apologised_quote(text, &n.quotes, h))
            });
        }
        let plain = rules.iter().all(|r| {
            !r.negation
                && !r.whole_words
                && r.near.is_empty()
                && r.unless.is_empty()
                && r.warning.is_empty()
                && r.refusal.is_empty()
        });
        if allows.is_empty() && plain {
            return hits;
        }
        let breaks = n.breaks.as_slice();
        // Channels a refusal may cover together (微信和QQ我们都不能加): hits of refusable rules.
        let channels: Vec<(usize, usize)> = hits
            .iter()
            .filter(|h| !rules[h.rule].refusal.is_empty())
            .map(|h| (h.start, h.end))
            .collect();
        hits.retain(|h| {
            let rule = &rules[h.rule];
            let allowed = covered(&allows, h);
            let negation = rule.negation && negated(text, breaks, h.start);
            let near_ok = rule.near.is_empty() || near(text, h, &rule.near);
            let channel = !rule.refusal.is_empty();
            let warned = || {
                in_clause(text, breaks, h, &rule.warning, true)
                    && !(channel && way_after_warning(text, h))
            };
            let unless = (!rule.unless.is_empty()
                && in_clause(text, breaks, h, &rule.unless, false))
                || (!rule.warning.is_empty()
                    && (warned() || (channel && reported_request(text, h, rule)))
                    && !own_offer(text, breaks, h));
            let refused = !rule.refusal.is_empty() && refused(text, breaks, &channels, h, rule);
            // Last, so jieba runs only for hits that would otherwise stay.
            !allowed
                && !negation
                && near_ok
                && !unless
                && !refused
                && !(rule.whole_words && spelled(text, h) && straddles_two_words(text, h))
        });
        hits
    }
}

/// jieba's own dictionary, without the knowledge folder's words: ordinary Chinese, for
/// [`straddles_two_words`]. Loaded with rules that use it.
static WORDS: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Loads [`WORDS`] now.
pub fn load_words() {
    LazyLock::force(&WORDS);
}

/// Whether `whole_words` applies to a hit: a term, or a regex hit of at most two characters (a
/// spelling such as the homophones of 微信). A longer regex hit is a frame whose span may begin
/// and end mid-word by design (在线下结算 around 线下结): review of session 11.
fn spelled(text: &str, h: &Hit) -> bool {
    !h.regex || text[h.start..h.end].chars().nth(2).is_none()
}

/// How many characters before and after a hit are segmented with it: room for the words that
/// may hold its first and its last character.
const WORD_WINDOW: usize = 6;

/// Whether a hit straddles words of ordinary Chinese, by jieba's segmentation (dictionary only,
/// no guessed words) of a few characters around it: a word runs across its start and a word runs
/// across its end (two words, or one longer word holding it inside). 最低|能效 around 低能,
/// 确保|准时 around 保准, 稍微|信任 around 微信, 权威|信息 around 威信: the term was never said.
/// One side glued is not enough (review 18): 在线|下|交易 and 添加|好友 still say 线下交易 and 加好友;
/// 低能儿 and 你|低能 are the word itself.
fn straddles_two_words(text: &str, h: &Hit) -> bool {
    let from = text[..h.start]
        .char_indices()
        .rev()
        .take(WORD_WINDOW)
        .last()
        .map_or(h.start, |(i, _)| i);
    let to = text[h.end..]
        .char_indices()
        .nth(WORD_WINDOW)
        .map_or(text.len(), |(i, _)| h.end + i);
    if from == h.start || to == h.end {
        return false;
    }
    let (start, end) = (h.start - from, h.end - from);
    let words = WORDS.cut(&text[from..to], false);
    let crosses = |at: usize| words.iter().any(|w| w.byte_start < at && at < w.byte_end);
    crosses(start) && crosses(end)
}

/// A regex reports this named group as its hit when it has one, so a guard character
/// (`(?:^|[^打面])`) or a following context is neither in the span nor read as the clause before.
pub const HIT_GROUP: &str = "hit";
/// A match in which this named group takes part is a context the regex consumes so that no hit
/// starts inside it (祝您考试顺利，一次上岸 is a wish): it is no hit. Leftmost-first matching prefers
/// the first branch, so the context branch goes first.
pub const SKIP_GROUP: &str = "skip";

/// The span without clause punctuation at its ends: a guard like `(?:^|[^会])` may consume the
/// comma before a hit, and the negation window must start at the hit, not in the clause before.
fn trim_clause_ends(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    while let Some(c) = text[start..end].chars().next() {
        if !is_clause_end(c) {
            break;
        }
        start += c.len_utf8();
    }
    while let Some(c) = text[start..end].chars().next_back() {
        if !is_clause_end(c) {
            break;
        }
        end -= c.len_utf8();
    }
    (start, end)
}

/// Walks the trie from every character of `text`; term hits go to `hits`, allow contexts to
/// `allows`, both in order of start.
fn scan(trie: &Trie, text: &str, hits: &mut Vec<Hit>, allows: &mut Vec<Hit>) {
    let bytes = text.as_bytes();
    let (mut c0, mut l0) = decode(bytes, 0);
    let mut s = 0;
    while l0 > 0 {
        let (c1, l1) = decode(bytes, s + l0);
        let node = trie.child(0, c0);
        if node != 0 {
            if node & TERM != 0 {
                emit(trie, node, text, s, s + l0, hits, allows);
            }
            if node & INNER != 0 && l1 > 0 && trie.maybe_bigram(c0, c1) {
                let (mut node, mut at, mut c, mut l) = (node, s + l0, c1, l1);
                loop {
                    node = trie.child(node, c);
                    if node == 0 {
                        break;
                    }
                    at += l;
                    if node & TERM != 0 {
                        emit(trie, node, text, s, at, hits, allows);
                    }
                    if node & INNER == 0 {
                        break;
                    }
                    (c, l) = decode(bytes, at);
                    if l == 0 {
                        break;
                    }
                }
            }
        }
        s += l0;
        (c0, l0) = (c1, l1);
    }
}

#[inline]
fn emit(
    trie: &Trie,
    node: u32,
    text: &str,
    s: usize,
    e: usize,
    hits: &mut Vec<Hit>,
    allows: &mut Vec<Hit>,
) {
    for entry in trie.entries(node) {
        let hit = Hit {
            rule: entry.rule,
            start: s,
            end: e,
            regex: false,
        };
        if entry.allow {
            allows.push(hit);
            continue;
        }
        if entry.ascii_start && prev_char(text, s).is_some_and(|c| c.is_ascii_alphabetic()) {
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
        hits.push(hit);
    }
}

/// Hits in order of start, each start's hits shortest first: reverse every group of equal
/// start and sort it by rule within equal ends (groups are tiny).
fn sort_runs(hits: &mut [Hit]) {
    let mut i = 0;
    while i < hits.len() {
        let mut j = i + 1;
        while j < hits.len() && hits[j].start == hits[i].start {
            j += 1;
        }
        if j - i > 1 {
            hits[i..j].sort_unstable_by_key(|h| (std::cmp::Reverse(h.end), h.rule));
        }
        i = j;
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
pub(super) fn text_before(text: &str, at: usize, window: usize, stop: fn(char) -> bool) -> &str {
    let mut start = at;
    for (taken, (i, c)) in text[..at].char_indices().rev().enumerate() {
        if taken >= window || stop(c) {
            break;
        }
        start = i;
    }
    &text[start..at]
}

/// Up to `window` characters from byte `at`, stopping at a character for which `stop` holds.
pub(super) fn text_after(text: &str, at: usize, window: usize, stop: fn(char) -> bool) -> &str {
    let mut end = at;
    for (taken, (i, c)) in text[at..].char_indices().enumerate() {
        if taken >= window || stop(c) {
            break;
        }
        end = at + i + c.len_utf8();
    }
    &text[at..end]
}

/// Whether a negation stands up to `NEGATION_WINDOW` characters before byte `at`, in the same
/// clause: neither clause punctuation nor a soft break (`breaks`, see
/// [`Normalized::breaks`]) lies between it and the hit.
fn negated(text: &str, breaks: &[usize], at: usize) -> bool {
    let mut before = text_before(text, at, NEGATION_WINDOW, is_clause_end);
    if let Some(b) = last_at_or_before(breaks, at) {
        let from = at - before.len();
        if b > from {
            before = &text[b..at];
        }
    }
    // A negation before 就 belongs to the condition (再不付款我就把你拉黑), and 不就是…吗 affirms:
    // only what follows the last 就 can negate the hit.
    if let Some(i) = before.rfind('就') {
        before = &before[i + '就'.len_utf8()..];
    }
    has_negator(before)
}

/// Whether a negator stands in `part`, outside the words that contain one without negating
/// (特别, 不好意思, 是不是 …).
fn has_negator(part: &str) -> bool {
    let part = masked(part, &NOT_NEGATING);
    NEGATORS.iter().any(|n| part.contains(n))
}

/// `part` with each of `words` blanked out, so the words inside them are not found.
fn masked(part: &str, words: &[&str]) -> String {
    let mut part = part.to_string();
    for w in words {
        part = part.replace(w, "_");
    }
    part
}

/// Whether one of `words` is in the clauses the hit spans (and with `to_sentence_end`, in the
/// rest of its sentence). Not the clause before: an exemption there (我们不做虚假宣传，好评晒图返现10元)
/// must not clear a violation beside it.
/// Without `to_sentence_end` a soft break ends a clause too (the hit's clause starts after the
/// last one before the hit and ends at the first one after it); a warning reaches across them.
fn in_clause(
    text: &str,
    breaks: &[usize],
    h: &Hit,
    words: &[String],
    to_sentence_end: bool,
) -> bool {
    let stop = if to_sentence_end {
        is_sentence_end
    } else {
        is_clause_end
    };
    // A warning before the hit reaches across a soft break (谨防诈骗 任何让您加微信退款的都请忽略):
    // anti-fraud notices are typed with spaces; an exemption does not.
    let start = clause_start(text, if to_sentence_end { &[] } else { breaks }, h.start);
    let mut end = text[h.end..]
        .char_indices()
        .find(|&(_, c)| stop(c))
        .map_or(text.len(), |(i, _)| h.end + i);
    if !to_sentence_end {
        if let Some(&b) = breaks.get(breaks.partition_point(|&x| x < h.end)) {
            end = end.min(b);
        }
    }
    let clause = &text[start..end];
    words.iter().any(|w| clause.contains(w.as_str()))
}

/// The agent's own channel or account offered in the hit's clause (加我微信, 我的QQ, 转我支付宝).
/// A fraud warning never offers one, so a warning word later in the sentence does not clear such
/// a hit: 加我微信，骗子的号不要加 and 有事加我微信，陌生人的别加 passed (review 13, session 9).
const OWN_OFFER: [&str; 12] = [
    "加我",
    "我的",
    "找我",
    "联系我",
    "私聊我",
    "扫我",
    "我这个",
    "我个人",
    "我私人",
    "转我",
    "转给我",
    "打给我",
];

fn own_offer(text: &str, breaks: &[usize], h: &Hit) -> bool {
    let clause = &text[clause_start(text, breaks, h.start)..h.end];
    OWN_OFFER.iter().any(|w| clause.contains(w))
}

/// Who asks the customer, in a fraud warning, to add a channel: someone other than the shop.
const REQUEST_ACTORS: [&str; 15] = [
    "有人",
    "骗子",
    "陌生人",
    "快递员",
    "快递小哥",
    "骑手",
    "对方",
    "任何人",
    "别人",
    "他人",
    "谁",
    "冒充",
    "自称",
    "不法分子",
    "第三方",
];

/// The request itself, addressed to the customer (让您 is 让你 after normalization).
const REQUESTS: [&str; 10] = [
    "让你",
    "叫你",
    "要你",
    "要求你",
    "诱导你",
    "引导你",
    "让顾客",
    "让买家",
    "让大家",
    "要求顾客",
];

/// Actor words that name no third party here (所有人都这样, 没有人会坑您, 我们不是骗子).
const NOT_ACTORS: [&str; 8] = [
    "所有人",
    "没有人",
    "没人",
    "不是骗子",
    "不是陌生人",
    "不是冒充",
    "不是别人",
    "别人家",
];

/// What the warning tells the customer to do with the request itself. It must close its clause
/// (only particles after it): 别信他们, 别理他们平台的提示 and 别加微信哈 tell off someone or something
/// else (review 14).
const DISMISSALS: [&str; 23] = [
    "不要加",
    "别加",
    "不要添加",
    "别添加",
    "不要相信",
    "别相信",
    "不要信",
    "别信",
    "不要理会",
    "别理会",
    "不予理会",
    "别理",
    "不要理",
    "举报",
    "是骗子",
    "是诈骗",
    "谨防",
    // Session 13, from review 19's sendable warnings.
    "挂断",
    "勿理会",
    "拒绝添加",
    "不要上当",
    "别上当",
    "是骗局",
];

/// A channel named as what someone else asks of the customer, told off later in the sentence:
/// 如果有快递员让您加他微信领红包，建议不要加; 近期有骗子冒充客服…，让顾客扫码、加微信办理退款，请您千万
/// 不要相信 (blind probes 18 and 20, session 12). The request stands in the hit's own clause, before
/// it; its actor (not the shop) opens that clause, or the clause opens with the request and the
/// actor stands earlier in the sentence (有骗子冒充客服，真客服只会让您加… has a subject of its own).
/// Nothing the agent offers follows anywhere (有人让你加微信的话加我这个就行别加别人的, review 14),
/// and no handle or number: the disguised diversion always names its own way.
fn reported_request(text: &str, h: &Hit, rule: &Rule) -> bool {
    let sentence_start = h.start - text_before(text, h.start, usize::MAX, is_sentence_end).len();
    let clause_at = clause_start(text, &[], h.start);
    let Some(request) = REQUESTS
        .iter()
        .filter_map(|r| text[clause_at..h.start].rfind(r))
        .max()
    else {
        return false;
    };
    let subject = text[clause_at..clause_at + request].trim();
    let actor_zone = if subject.is_empty() {
        &text[sentence_start..clause_at]
    } else {
        subject
    };
    let actor_zone = masked(actor_zone, &NOT_ACTORS);
    if !REQUEST_ACTORS.iter().any(|a| actor_zone.contains(a)) {
        return false;
    }
    let after = &text[h.end..];
    if offers_own(&text[sentence_start..]) || after.chars().any(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let sentence = text_after(text, h.end, usize::MAX, is_sentence_end);
    DISMISSALS.iter().any(|d| {
        sentence.match_indices(d).any(|(i, _)| {
            let own_clause = &sentence[clause_start(sentence, &[], i)..i];
            // Everything the reply says after the dismissal; the bait before it (领红包) is the
            // scam's, not an offer.
            let rest = &after[i + d.len()..];
            sentence[i + d.len()..]
                .chars()
                .take_while(|c| !is_clause_end(*c))
                .all(|c| AFTER_REFUSAL.contains(c))
                && !VOUCHED_AFTER
                    .iter()
                    .chain(&VOUCHED_BEFORE_TOO)
                    .chain(&AFTER_A_WARNING)
                    .any(|w| sentence[..i].contains(w))
                && !OTHERS.iter().any(|w| own_clause.contains(w))
                && !rule.offer_after.iter().any(|w| rest.contains(w.as_str()))
                && !VOUCHED_AFTER
                    .iter()
                    .chain(&AFTER_A_WARNING)
                    .any(|w| rest.contains(w))
        })
    })
}

/// Whether a channel warned about is followed, anywhere after it, by the agent's own account
/// (有陌生人让您加微信，千万别加，加我本人就行; 骗子太多了。我的在头像上): review 19 passed such
/// disguises through the warning words (骗子, 陌生人).
fn way_after_warning(text: &str, h: &Hit) -> bool {
    offers_own(&text[h.end..])
}

/// Whether `part` holds an [`OWN_OFFER`] word. 联系我们 and 找我们 send the customer to the shop's
/// chat, and 我的建议 or 是我的失误 offer nothing.
fn offers_own(part: &str) -> bool {
    let part = masked(
        part,
        &["我们", "我的建议", "我的失误", "我的错", "我的问题"],
    );
    OWN_OFFER.iter().any(|w| part.contains(w))
}

/// Said after the dismissal, they vouch for the request after all (…不要加，那个是我); 正规 and
/// 我们的 are not here (那不是正规流程, 他不是我们的人).
const VOUCHED_AFTER: [&str; 13] = [
    "放心",
    "真的",
    "照着",
    "直接加",
    "官方",
    "没事",
    "可以加",
    "本人",
    "那是",
    "那个是",
    "就加",
    "加吧",
    "没问题",
];

/// Said of the request before it is told off, these vouch for it too, beside [`VOUCHED_AFTER`]
/// (有人让你加店长微信的话放心加，…; 那是我们店的福利群, review 13).
const VOUCHED_BEFORE_TOO: [&str; 3] = ["我们店", "我们的", "正规"];

/// What a disguise says after its warning, and a warning need not: the way the agent will take
/// instead (我下班后加您, 退款我直接打到您支付宝, 有事发短信给我, 来小红书找我们), an exception (除非,
/// 但如果是我们), or the request vouched for after all (不是骗子, 请通过, 不要拒绝): review 19 passed 28
/// violations through the frame without it; a channel said as a verb (有事微我) too. Normalized
/// text: 您 is 你.
const AFTER_A_WARNING: [&str; 44] = [
    "不是骗",
    "不是诈骗",
    "不用担心",
    "不要担心",
    "不用警惕",
    "不要拒绝",
    "不要举报",
    "别拒绝",
    "请通过",
    "通过一下",
    "安排的",
    "但",
    "除非",
    "不过",
    "要加",
    "再加",
    "我来",
    "我会",
    "我们会",
    "我让",
    "我给",
    "我用",
    "我直接",
    "我再",
    "我稍后",
    "我已经",
    "加你",
    "联系你",
    "发你",
    "转你",
    "退你",
    "给你转",
    "私信",
    "私你",
    "小红书",
    "抖音",
    "支付宝",
    "熟人",
    "辨别",
    "核实",
    "微我",
    "企我",
    "扣我",
    "v我",
];

/// A dismissal of other accounts endorses the one asked for (其他号一律别加, 来路不明的号别理,
/// review 13).
const OTHERS: [&str; 9] = [
    "其他",
    "其它",
    "别的",
    "陌生",
    "来路不明",
    "另外",
    "以外",
    "除了",
    "别人的",
];

/// What may follow a refusal before its clause ends: sentence particles and the customer
/// addressed (个人微信是不能给你的哈). Not 了 (微信号不能用了，加这个新的) and no emoji (微信不行😅).
const AFTER_REFUSAL: &str = "的哦哈呢啦呀喔哟啊亲滴噢你哒嘞喽咯呐哇嗷~";

/// The only words that may stand between a channel and its refusal (微信我们这边是加不了的),
/// besides other channels (微信和QQ都不能加). Anything else may be what the refusal is about
/// (QQ可以微信不行, 私下转账划算得不行, 这个价平台上做不到的), and a delay is no refusal
/// (微信暂时加不了，晚点加你), so the hit stays.
const BEFORE_REFUSAL: [&str; 32] = [
    "我们这边",
    "我这边",
    "我们",
    "咱们",
    "这边",
    "这个",
    "这些",
    "这种",
    "这块",
    "的话",
    "是真的",
    "真的",
    "确实",
    "实在",
    "一律",
    "一概",
    "都",
    "也",
    "是",
    "就",
    "号码",
    "账号",
    "号",
    "和",
    "跟",
    "或者",
    "或",
    "、",
    "呢",
    "属于",
    "不好意思",
    "平台规定",
];

/// Words in the clause that turn a refusal round: a question (加个微信怎么就不行了, 凭啥加微信不行,
/// 谁说加微信不行的) or the only way left (除了微信都不行, 只能加微信没办法).
const NOT_A_REFUSAL: [&str; 24] = [
    "为啥",
    "为什么",
    "为何",
    "为嘛",
    "为甚么",
    "凭什么",
    "凭啥",
    "怎么",
    "怎会",
    "咋",
    "难道",
    "谁",
    "哪",
    "有什么",
    "有啥",
    "干嘛",
    "干啥",
    "何必",
    "除了",
    "只能",
    "只有",
    "除非",
    "连",
    "?",
];

/// Words before the channel in its clause that hand it out rather than refuse it (加我微信…,
/// 您的微信号…, 联系方式：QQ…, 请联系QQ、微信…, 之前的微信号…).
const OFFERED: [&str; 17] = [
    "我", "你", ":", "=", "→", "联系", "留", "找", "扫", "请", "方式", "打", "换", "新", "旧",
    "之前", "原来",
];

/// Whether the channel named by the hit is refused right after it and the customer sent back to
/// the platform: in the hit's clause only [`BEFORE_REFUSAL`] words or other `channels` lie
/// between it and a `refusal` word and only particles follow that word; the rest of the text
/// holds a `redirect` word and offers no other way (微信我这边是加不了的，有问题您在这里留言就好;
/// QQ和私人电话这边都没办法提供，沟通记录还是留在平台上). Four read-only reviews attacked it and looser
/// versions (session 8, `eval/compliance/review10-*.jsonl`): the guards are theirs.
fn refused(
    text: &str,
    breaks: &[usize],
    channels: &[(usize, usize)],
    h: &Hit,
    rule: &Rule,
) -> bool {
    if text[h.start..h.end].contains('我') {
        return false;
    }
    let mut end = text[h.end..]
        .char_indices()
        .find(|&(_, c)| is_clause_end(c))
        .map_or(text.len(), |(i, _)| h.end + i);
    let question = text[end..]
        .chars()
        .take_while(|&c| is_clause_end(c))
        .any(|c| c == '?');
    if let Some(&b) = breaks.get(breaks.partition_point(|&x| x < h.end)) {
        end = end.min(b);
    }
    let start = clause_start(text, breaks, h.start);
    let before = &text[start..h.start];
    if question
        || NOT_A_REFUSAL.iter().any(|w| text[start..end].contains(w))
        || OFFERED.iter().any(|w| before.contains(w))
    {
        return false;
    }
    // After 加 (加QQ 微信不方便加的) the refusal covers the one channel only.
    let walk_channels = !before.contains('加');
    let mut at = h.end;
    loop {
        let rest = &text[at..end];
        let refusal = rule.refusal.iter().any(|w| {
            rest.strip_prefix(w.as_str())
                .is_some_and(|tail| tail.chars().all(|c| AFTER_REFUSAL.contains(c)))
        });
        if refusal {
            break;
        }
        let channel = channels
            .iter()
            .filter(|&&(s, e)| walk_channels && s <= at && at < e && e <= end)
            .map(|&(_, e)| e)
            .max();
        let filler = BEFORE_REFUSAL
            .iter()
            .find(|f| rest.starts_with(*f))
            .map(|f| at + f.len());
        match channel.or(filler) {
            Some(next) => at = next,
            None => return false,
        }
    }
    // What follows must send the customer back to the platform and offer nothing else: no
    // other way (`offer_after`), no number or handle, no negation (在这里不方便说).
    let after = &text[end..];
    rule.redirect.iter().any(|w| after.contains(w.as_str()))
        && !rule.offer_after.iter().any(|w| after.contains(w.as_str()))
        && !after.chars().any(|c| c.is_ascii_alphanumeric())
        && !has_negator(after)
}

/// Words that refute a quoted claim (谁说“绝对不会坏”都是不负责任的): the quote is mentioned, not made.
/// 所谓 counts only right before the quote (see [`refuted_quote`]).
const REFUTERS: [&str; 24] = [
    "谁说",
    // Declined rather than denied (“全网最低价”我们没办法保证): session 8.
    "不能保证",
    "无法保证",
    "没法保证",
    "没办法保证",
    "不敢保证",
    "保证不了",
    "不能承诺",
    "无法承诺",
    "没法承诺",
    "不负责任",
    "骗人",
    "虚假宣传",
    "不可信",
    "不要信",
    "别信",
    "不要相信",
    "别相信",
    "都是假的",
    "是假的",
    "夸大",
    "忽悠",
    "不靠谱",
    "不实",
];

/// Whether the hit lies inside a quoted stretch (`quotes`, see [`Normalized::quotes`]) and the
/// quote's own clause (clause punctuation and soft breaks end it), outside the quote, refutes
/// it: a claim reported in order to deny it. A refuter after a negator affirms the claim
/// (“全网最低价”可不是假的, 绝不骗人), and 所谓 counts only right before the quote (所谓“最好”; not
/// 所谓的“…”, not 无所谓).
fn refuted_quote(text: &str, breaks: &[usize], quotes: &[(usize, usize)], h: &Hit) -> bool {
    let i = quotes.partition_point(|&(_, e)| e < h.end);
    let Some(&(qs, qe)) = quotes.get(i) else {
        return false;
    };
    if !(qs <= h.start && h.end <= qe) {
        return false;
    }
    let start = clause_start(text, breaks, qs);
    let mut end = text[qe..]
        .char_indices()
        .find(|&(_, c)| is_clause_end(c))
        .map_or(text.len(), |(i, _)| qe + i);
    if let Some(&b) = breaks.get(breaks.partition_point(|&x| x <= qe)) {
        end = end.min(b);
    }
    let (before, after) = (&text[start..qs], &text[qe..end]);
    if before.ends_with("所谓") && !before.ends_with("无所谓") {
        return true;
    }
    let refutes = |part: &str| {
        REFUTERS.iter().any(|w| {
            part.match_indices(w).any(|(i, _)| {
                let prev = part[..i].chars().next_back();
                !prev.is_some_and(|c| matches!(c, '不' | '没' | '非' | '别' | '无'))
            })
        })
    };
    refutes(before) || refutes(after)
}

/// The category whose quoted words an apology turns into a report (see [`apologised_quote`]).
const RUDENESS: &str = "pressure_or_disrespect";

/// Words of an apology.
const APOLOGIES: [&str; 7] = [
    "道歉",
    "抱歉",
    "对不起",
    "致歉",
    "不好意思",
    "赔个不是",
    "赔不是",
];

/// Who said it: a colleague, or the customer reporting them (同事回您“…”, 前面客服说您…, 您转述的那句“…”).
const SPEAKERS: [&str; 6] = ["客服", "同事", "店员", "小二", "主管", "你转述"];

/// The agent as the speaker (我还是那句话, 我跟您说): its own words, said again.
const OWN_WORDS: [&str; 6] = ["我还是", "我说", "我讲", "我就说", "我跟你说", "我再说"];

/// Words that report what was said.
const REPORTS: [&str; 7] = ["说", "讲", "回", "问", "骂", "转述", "那句"];

/// Whether the hit repeats a colleague's words and the reply apologises for them after it: rude
/// words quoted in order to apologise (前面同事回您“要投诉就去投诉”，我代她向您道歉) or reported
/// without quotation marks (前面客服说您问题真多，这个说法很不礼貌，向您道歉) are not said to the
/// customer (reviews 21 and 22). The agent's own words are said (我还是那句话：“…”，不好意思; 作为客服我说
/// 句实话…), and so is a rude line after an apology or beside a refused one (抱歉哈，还是那句话“…”,
/// 我们绝不道歉): the code review of session 14. Only for rudeness: a quoted claim or contact still
/// reaches the customer as written.
fn apologised_quote(text: &str, quotes: &[(usize, usize)], h: &Hit) -> bool {
    // The first quote that ends after the hit starts; the hit reaches into it if it starts first.
    let i = quotes.partition_point(|&(_, e)| e <= h.start);
    let (lead, end) = match quotes.get(i).filter(|&&(qs, _)| qs < h.end) {
        Some(&(qs, qe)) => (text_before(text, qs, 10, |_| false), qe),
        None => (text_before(text, h.start, 10, |_| false), h.end),
    };
    let reported = !OWN_WORDS.iter().any(|w| lead.contains(w))
        && SPEAKERS.iter().any(|who| {
            lead.match_indices(who)
                .any(|(at, _)| REPORTS.iter().any(|v| lead[at..].contains(v)))
        });
    reported && apology_follows(&text[end..])
}

/// Whether the rest of the reply apologises, not refused in the apology's own clause (我们绝不道歉,
/// 不会为这种事道歉, 道歉是不可能的); a pledge in an earlier clause (这种事绝不再发生，抱歉) is no refusal.
fn apology_follows(after: &str) -> bool {
    APOLOGIES.iter().any(|w| {
        after.match_indices(w).any(|(at, _)| {
            let clause = text_before(after, at, 8, is_clause_end);
            let next = text_after(after, at + w.len(), 6, |_| false);
            !(["不会", "不用", "没必要", "不必", "绝不", "不想", "别想"]
                .iter()
                .any(|neg| clause.contains(neg))
                || next.contains("不可能"))
        })
    })
}

/// Where the clause holding byte `at` starts: after the last clause punctuation before it, or
/// at the last of the soft `breaks` at or before it, whichever is later.
fn clause_start(text: &str, breaks: &[usize], at: usize) -> usize {
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| is_clause_end(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    last_at_or_before(breaks, at).map_or(start, |b| start.max(b))
}

/// The last of the sorted `breaks` at or before `at`.
fn last_at_or_before(breaks: &[usize], at: usize) -> Option<usize> {
    let i = breaks.partition_point(|&x| x <= at);
    i.checked_sub(1).map(|i| breaks[i])
}

pub fn is_sentence_end(c: char) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A hit of rule 0 at byte `at`, as long as `quote`.
    fn hit_at(at: usize, quote: &str, regex: bool) -> Hit {
        Hit {
            rule: 0,
            start: at,
            end: at + quote.len(),
            regex,
        }
    }

    #[test]
    fn clause_punctuation_is_trimmed_from_regex_hits() {
        let t = "没关系,保过。";
        let start = t.find(',').unwrap();
        let (s, e) = trim_clause_ends(t, start, t.len());
        assert_eq!(&t[s..e], "保过");
        assert!(!negated(t, &[], s));
    }

    #[test]
    fn a_negation_before_jiu_belongs_to_the_condition() {
        let t = "今天再不付款我就把你拉黑";
        assert!(!negated(t, &[], t.find("把你").unwrap()));
        let t = "我们不会把你拉黑";
        assert!(negated(t, &[], t.find("把你").unwrap()));
    }

    #[test]
    fn unless_words_stay_in_the_clause_and_warnings_reach_forward() {
        let words = vec!["不做".to_string()];
        let t = "我们不做虚假宣传,好评返现10元";
        let at = t.find("好评").unwrap();
        let h = Hit {
            rule: 0,
            start: at,
            end: t.len(),
            regex: true,
        };
        assert!(!in_clause(t, &[], &h, &words, false));
        let t = "让你加微信领补偿,请提高警惕,这可能是诈骗。";
        let at = t.find("加微信").unwrap();
        let h = hit_at(at, "加微信", false);
        let warn = vec!["诈骗".to_string()];
        assert!(in_clause(t, &[], &h, &warn, true));
        assert!(!in_clause(t, &[], &h, &warn, false));
    }

    #[test]
    fn a_refuted_quote_is_mentioned_not_made() {
        let refuted = |s: &str| {
            let n = crate::compliance::normalize::normalize(s);
            let t = n.text.as_str();
            let at = t.find("绝对").unwrap();
            refuted_quote(t, &n.breaks, &n.quotes, &hit_at(at, "绝对不会坏", true))
        };
        assert!(refuted("谁说“绝对不会坏”都是不负责任的"));
        assert!(refuted("所谓“绝对不会坏”都是噱头"));
        assert!(
            !refuted("我们的口号是“绝对不会坏”"),
            "quoted but not refuted"
        );
        // A negated refuter affirms; a refuter in another clause, 无所谓 and 所谓的 do not refute.
        for s in [
            "我们家的“绝对不会坏”可不是假的",
            "我们“绝对不会坏”绝不骗人",
            "我们“绝对不会坏”，绝不夸大",
            "别家都是忽悠 我们家才是“绝对不会坏”",
            "颜色无所谓的话 推荐“绝对不会坏”的",
            "这就是所谓的“绝对不会坏”",
        ] {
            assert!(!refuted(s), "{s}");
        }
    }

    #[test]
    fn a_soft_break_ends_the_negation_window_and_the_unless_clause() {
        let n = crate::compliance::normalize::normalize("平台上不好说 我私聊发你链接");
        let t = n.text.as_str();
        let at = t.find("私聊").unwrap();
        assert!(negated(t, &[], at), "without the break the 不 reaches");
        assert!(!negated(t, &n.breaks, at));
        let h = hit_at(at, "私聊", false);
        let words = vec!["平台".to_string()];
        assert!(in_clause(t, &[], &h, &words, false));
        assert!(!in_clause(t, &n.breaks, &h, &words, false));
        // Words after the break: not in the clause, but a warning reaches to the sentence end.
        let n = crate::compliance::normalize::normalize("加我微信 小心诈骗");
        let t = n.text.as_str();
        let at = t.find("微信").unwrap();
        let h = hit_at(at, "微信", false);
        let warn = vec!["诈骗".to_string()];
        assert!(!in_clause(t, &n.breaks, &h, &warn, false));
        assert!(in_clause(t, &n.breaks, &h, &warn, true));
        // A warning before the break reaches forward to the hit too.
        let n = crate::compliance::normalize::normalize("谨防诈骗 任何让你加微信退款的都请忽略");
        let t = n.text.as_str();
        assert_eq!(n.breaks.len(), 1);
        let at = t.find("微信").unwrap();
        let h = Hit {
            start: at,
            end: at + "微信".len(),
            ..h
        };
        assert!(in_clause(t, &n.breaks, &h, &warn, true));
        assert!(!in_clause(t, &n.breaks, &h, &warn, false));
    }
}
