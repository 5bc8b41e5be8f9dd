//! Chinese tokenization for Tantivy: jieba words (search mode) and character bigrams.
//!
//! Both tokenizers normalize first (full-width to half-width, ASCII lower case), and the query
//! side calls the same functions, so query terms always match indexed terms byte for byte.

use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::han::is_han;

/// Tokenizer names registered on every index.
pub const WORDS: &str = "kefu_words";
pub const GRAMS: &str = "kefu_grams";

/// Core e-commerce vocabulary jieba's default dictionary lacks or splits badly
/// (退货运费谁出 must keep 退货 instead of 货运). A knowledge folder's `dict.txt` adds more.
const CORE_WORDS: &[&str] = &[
    "退货",
    "退款",
    "退钱",
    "换货",
    "退换货",
    "仅退款",
    "退货退款",
    "运费险",
    "退货运费",
    "七天无理由",
    "7天无理由",
    "无理由退货",
    "价保",
    "保价",
    "价格保护",
    "补差价",
    "以旧换新",
    "旧机回收",
    "发货",
    "催发货",
    "快递",
    "物流",
    "包邮",
    "运费",
    "到付",
    "签收",
    "拒收",
    "揽收",
    "改地址",
    "优惠券",
    "满减",
    "领券",
    "店铺券",
    "赠品",
    "保修",
    "质保",
    "维修",
    "售后",
    "发票",
    "开发票",
    "专票",
    "普票",
    "分期",
    "免息",
    "花呗",
    "白条",
    "预售",
    "定金",
    "尾款",
    "现货",
    "缺货",
    "补货",
    "到货",
    "降价",
    "差价",
    "安装",
    "上门安装",
    "破损",
    "漏发",
    "错发",
    "少发",
    "质量问题",
    "客服",
    "人工客服",
    "会员",
    "积分",
    "包装",
    "说明书",
    "保修卡",
    "极速退款",
    "退货地址",
    "退货流程",
    "运单号",
    "单号",
];

/// The built-in e-commerce words (also domain vocabulary for no-answer detection).
pub fn core_words() -> &'static [&'static str] {
    CORE_WORDS
}

/// Builds the jieba instance: default dictionary, core words, then the folder's `dict.txt`
/// (jieba format: `word [freq] [tag]` per line; `#` comments allowed).
pub fn build_jieba(user_dict: Option<&str>, core_words: bool) -> Jieba {
    let mut jieba = Jieba::new();
    if core_words {
        for w in CORE_WORDS {
            jieba.add_word(w, Some(20_000), None);
        }
    }
    if let Some(dict) = user_dict {
        add_dict_words(&mut jieba, dict);
    }
    jieba
}

/// Adds `word [freq] [tag]` lines; lines that are not of that shape are ignored.
pub fn add_dict_words(jieba: &mut Jieba, dict: &str) {
    for line in dict.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let Some(word) = parts.next() else { continue };
        let word = normalize(word);
        let freq = parts.next().and_then(|f| f.parse::<usize>().ok());
        let tag = parts.next();
        // Without a frequency, make the word win over the splits jieba would prefer.
        jieba.add_word(&word, Some(freq.unwrap_or(20_000)), tag);
    }
}

/// Full-width ASCII to half-width, ideographic space to space, ASCII lower case.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => {
                char::from_u32(c as u32 - 0xFEE0).map_or(c, |h| h.to_ascii_lowercase())
            }
            '\u{3000}' => ' ',
            _ => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Whether a token carries content (letters, digits or CJK), not just punctuation or space.
fn is_content(word: &str) -> bool {
    word.chars().any(|c| c.is_alphanumeric())
}

/// Word tokens of already-normalized text. `search` adds jieba's sub-words (运费险 → 运费, 运费险);
/// `hmm` lets jieba guess unknown words (it glues chat fragments like 钱忘付 into one "word").
pub fn words(jieba: &Jieba, normalized: &str, search: bool, hmm: bool) -> Vec<String> {
    let tokens = if search {
        jieba.cut_for_search(normalized, hmm)
    } else {
        jieba.cut(normalized, hmm)
    };
    tokens
        .into_iter()
        .filter(|t| is_content(t.word))
        .map(|t| t.word.to_string())
        .collect()
}

/// Character bigrams over runs of CJK characters (a lone character stands for itself) and whole
/// runs of ASCII letters/digits: survives typos and words jieba splits differently.
pub fn grams(normalized: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut ascii = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => {
                for w in run.windows(2) {
                    out.push(w.iter().collect());
                }
            }
        }
        run.clear();
    };
    for c in normalized.chars() {
        if is_han(c) {
            if !ascii.is_empty() {
                out.push(std::mem::take(&mut ascii));
            }
            run.push(c);
        } else if c.is_ascii_alphanumeric() {
            flush_run(&mut run, &mut out);
            ascii.push(c);
        } else {
            flush_run(&mut run, &mut out);
            if !ascii.is_empty() {
                out.push(std::mem::take(&mut ascii));
            }
        }
    }
    flush_run(&mut run, &mut out);
    if !ascii.is_empty() {
        out.push(ascii);
    }
    out
}

/// What the n-gram fields index: the bigrams plus every CJK character, so a one-character query
/// word (修, 退, 票) still finds 维修, 退货, 发票.
pub fn index_grams(normalized: &str) -> Vec<String> {
    let mut out = grams(normalized);
    let chars: Vec<char> = normalized.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // A lone character is already a token of `grams`.
        let lone =
            (i == 0 || !is_han(chars[i - 1])) && (i + 1 == chars.len() || !is_han(chars[i + 1]));
        if is_han(c) && !lone {
            out.push(c.to_string());
        }
    }
    out
}

/// Tokens computed up front; Tantivy only needs text and position (no phrase queries).
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
    /// Returned if a caller asks for a token before `advance` (never indexes out of bounds).
    fallback: Token,
}

impl VecTokenStream {
    fn new(texts: Vec<String>) -> Self {
        let tokens = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position: i,
                text,
                position_length: 1,
            })
            .collect();
        VecTokenStream {
            tokens,
            index: 0,
            fallback: Token::default(),
        }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        match self.index.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &self.tokens[i],
            _ => &self.fallback,
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.index.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.fallback,
        }
    }
}

/// Tantivy tokenizer over jieba (search mode when indexing).
#[derive(Clone)]
pub struct JiebaTokenizer {
    pub jieba: Arc<Jieba>,
    pub search_mode: bool,
    pub hmm: bool,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(words(
            &self.jieba,
            &normalize(text),
            self.search_mode,
            self.hmm,
        ))
    }
}

/// Tantivy tokenizer emitting character bigrams.
#[derive(Clone)]
pub struct GramTokenizer;

impl Tokenizer for GramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(index_grams(&normalize(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_words_keep_tuihuo_in_tuihuo_yunfei_shui_chu() {
        let jieba = build_jieba(None, true);
        let w = words(&jieba, &normalize("退货运费谁出"), true, false);
        assert!(w.contains(&"退货".to_string()), "{w:?}");
        assert!(w.contains(&"运费".to_string()), "{w:?}");
    }

    #[test]
    fn plain_jieba_loses_tuihuo() {
        let jieba = build_jieba(None, false);
        let w = words(&jieba, "退货运费谁出", true, true);
        assert!(!w.contains(&"退货".to_string()), "{w:?}");
    }

    #[test]
    fn index_grams_add_single_characters() {
        let g = index_grams("维修");
        assert!(
            g.contains(&"维修".to_string()) && g.contains(&"修".to_string()),
            "{g:?}"
        );
    }

    #[test]
    fn grams_mix_cjk_and_ascii() {
        assert_eq!(grams("买5l炸锅"), vec!["买", "5l", "炸锅"]);
        assert_eq!(grams("运费险"), vec!["运费", "费险"]);
    }

    #[test]
    fn normalize_full_width() {
        assert_eq!(normalize("ＡＢ１２　x"), "ab12 x");
    }

    #[test]
    fn token_stream_on_empty_text_does_not_panic() {
        let mut t = GramTokenizer;
        let mut s = t.token_stream("");
        assert!(!s.advance());
    }
}
