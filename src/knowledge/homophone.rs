//! Homophone typos repaired by sound.
//!
//! Customers type with pinyin input methods and often pick a wrong character of the same sound
//! (发活 for 发货, 推款 for 退款, 斗音 for 抖音). A stretch of the query that is not a common word,
//! sounds exactly like a word the knowledge uses (tones ignored) and shares at least one character
//! with it at the same place, is read as that word. Common words and the knowledge's own words are
//! never rewritten: their meaning is the synonyms' business (a rare one such as 订金 is read as
//! 定金 when the knowledge writes only 定金).

use std::collections::HashMap;

use jieba_rs::Jieba;
use pinyin::ToPinyin;

use crate::han::is_han;

/// Longest stretch (in characters) that is compared by sound.
const MAX_CHARS: usize = 4;
/// A dictionary word at most this frequent in jieba's corpus may still be a typo.
const RARE_WORD_FREQ: usize = 10;

/// The toneless reading of `chars`, each syllable followed by a space; `None` when a character
/// has none. Only a character's usual reading: the one typed to get it (a heteronym's rare
/// readings made 享价 sound like 降价).
fn reading(chars: &[char]) -> Option<String> {
    let mut out = String::with_capacity(chars.len() * 5);
    for c in chars {
        out.push_str(c.to_pinyin()?.plain());
        out.push(' ');
    }
    Some(out)
}

/// The shop's vocabulary by sound.
#[derive(Default)]
pub struct Homophones {
    /// Reading → words with that reading, in the order they were added.
    by_sound: HashMap<String, Vec<String>>,
    /// The vocabulary itself (never rewritten).
    words: std::collections::HashSet<String>,
}

impl Homophones {
    /// Indexes the words of 2 to 4 CJK characters among `vocabulary`, earlier words winning ties.
    pub fn new<'a>(vocabulary: impl IntoIterator<Item = &'a str>) -> Self {
        let mut h = Homophones::default();
        for w in vocabulary {
            let chars: Vec<char> = w.chars().collect();
            if !(2..=MAX_CHARS).contains(&chars.len())
                || !chars.iter().all(|c| is_han(*c))
                || !h.words.insert(w.to_string())
            {
                continue;
            }
            if let Some(r) = reading(&chars) {
                h.by_sound.entry(r).or_default().push(w.to_string());
            }
        }
        h
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `word` is one of the knowledge's words or a common dictionary word, unless a
    /// rare one that happens to be in jieba's dictionary (发飘, 3 in its corpus).
    fn known(&self, jieba: &Jieba, word: &str) -> bool {
        // jieba-rs has no public plain frequency lookup; `suggest_freq` of a dictionary word
        // is at least its dictionary frequency, and runs only for dictionary words.
        self.words.contains(word)
            || (jieba.has_word(word) && jieba.suggest_freq(word) > RARE_WORD_FREQ)
    }

    /// The vocabulary word `stretch` is a homophone typo of, if any.
    fn repair(&self, stretch: &[char]) -> Option<&str> {
        let text: String = stretch.iter().collect();
        if self.words.contains(&text) {
            return None;
        }
        let found = self.by_sound.get(&reading(stretch)?)?;
        // Sharing a character in place keeps chance homophones of whole phrases out.
        found
            .iter()
            .find(|w| w.chars().zip(stretch).any(|(a, b)| a == *b))
            .map(String::as_str)
    }

    /// `normalized` with homophone typos replaced by the vocabulary word they sound like.
    ///
    /// Candidates are runs of whole jieba tokens (no HMM: an unknown stretch stays single
    /// characters) of 2 to 4 CJK characters none of whose multi-character tokens is a
    /// knowledge word or a common dictionary word; the longest repair at the leftmost position
    /// wins.
    pub fn correct(&self, jieba: &Jieba, normalized: &str) -> String {
        if self.is_empty() {
            return normalized.to_string();
        }
        let tokens: Vec<&str> = jieba
            .cut(normalized, false)
            .into_iter()
            .map(|t| t.word)
            .collect();
        let mut out = String::with_capacity(normalized.len());
        let mut i = 0;
        while i < tokens.len() {
            let mut repaired = None;
            let mut chars: Vec<char> = Vec::new();
            for (j, t) in tokens.iter().enumerate().skip(i) {
                if !t.chars().all(is_han) {
                    break;
                }
                // A known word is what the customer meant, wherever it stands in the stretch:
                // no stretch holding one is rewritten (快递 in 快递发活 stays).
                if t.chars().count() > 1 && self.known(jieba, t) {
                    break;
                }
                chars.extend(t.chars());
                if chars.len() > MAX_CHARS {
                    break;
                }
                if chars.len() >= 2 {
                    if let Some(w) = self.repair(&chars) {
                        repaired = Some((j, w));
                    }
                }
            }
            match repaired {
                Some((j, w)) => {
                    out.push_str(w);
                    i = j + 1;
                }
                None => {
                    out.push_str(tokens[i]);
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Homophones {
        Homophones::new(["发货", "退款", "抖音", "快递", "定金", "订金"])
    }

    #[test]
    fn homophone_typos_become_the_word_they_sound_like() {
        let jieba = Jieba::new();
        let h = vocab();
        assert_eq!(h.correct(&jieba, "啥时发活"), "啥时发货");
        assert_eq!(h.correct(&jieba, "推款几天到"), "退款几天到");
        assert_eq!(h.correct(&jieba, "在斗音下的单"), "在抖音下的单");
    }

    #[test]
    fn real_words_and_unrelated_text_stay() {
        let jieba = Jieba::new();
        let h = vocab();
        for text in ["订金能退吗", "今天天气怎么样", "发货了吗", "ok 好的"] {
            assert_eq!(h.correct(&jieba, text), text);
        }
    }

    #[test]
    fn stretch_holding_a_known_word_after_its_start_is_not_rewritten() {
        let jieba = Jieba::new();
        // 发火单 sounds like 发货单, but 发火 is a common word: the stretch starts with it and
        // only the single character after it is unknown.
        let h = Homophones::new(["发货单"]);
        assert_eq!(h.correct(&jieba, "发火单"), "发火单");
        // The same with a knowledge word jieba holds as a rare one (发飘, 3 in its corpus).
        let h = Homophones::new(["发飘", "发票单"]);
        assert_eq!(h.correct(&jieba, "发飘单"), "发飘单");
        // Without it in the knowledge, the rare word may still be part of a typo.
        let h = Homophones::new(["发票单"]);
        assert_eq!(h.correct(&jieba, "发飘单"), "发票单");
        // A typo stretch without a known word is still repaired.
        let h = Homophones::new(["发货单"]);
        assert_eq!(h.correct(&jieba, "发活单"), "发货单");
    }

    #[test]
    fn empty_vocabulary_changes_nothing() {
        let h = Homophones::new([]);
        assert_eq!(h.correct(&Jieba::new(), "发活"), "发活");
    }
}
