//! Query-side language: colloquial spellings, chit-chat, stop words and synonym groups.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::tokenize::normalize;

/// Colloquial or typo spellings customers use, and the word the knowledge uses.
const COLLOQUIAL: &[(&str, &str)] = &[
    ("咋办", "怎么办"),
    ("咋整", "怎么办"),
    ("咋样", "怎么样"),
    ("咋", "怎么"),
    ("肿么", "怎么"),
    ("腫麼", "怎么"),
    ("啥时候", "什么时候"),
    ("啥", "什么"),
    ("神马", "什么"),
    ("木有", "没有"),
    ("米有", "没有"),
    ("没得", "没有"),
    ("木得", "没有"),
    ("莫得", "没有"),
    ("没了", "没有"),
    ("伐", "吗"),
    ("嘛时候", "什么时候"),
    ("介个", "这个"),
    ("酱紫", "这样子"),
    ("灰常", "非常"),
    ("几时", "什么时候"),
    ("多会儿", "什么时候"),
    ("多久能", "多长时间能"),
    ("到帐", "到账"),
    ("邮费", "运费"),
];

/// Greetings, thanks and fillers: they say nothing about what the customer needs.
const CHITCHAT: &[&str] = &[
    "在吗",
    "在不在",
    "在么",
    "在嘛",
    "有人吗",
    "有人在吗",
    "您好",
    "你好",
    "亲亲",
    "亲爱的",
    "亲",
    "谢谢你",
    "谢谢",
    "多谢",
    "感谢",
    "辛苦了",
    "麻烦了",
    "麻烦",
    "哈哈哈",
    "哈哈",
    "呵呵",
    "嘿嘿",
    "好的",
    "好滴",
    "好哒",
    "好吧",
    "ok",
    "嗯嗯",
    "嗯",
    "哦哦",
    "哦",
    "噢",
    "额",
    "呃",
    "请问",
    "问一下",
    "问下",
    "想问一下",
    "想问下",
    "咨询一下",
    "老板",
    "掌柜",
    "美女",
    "小姐姐",
    "宝宝",
    "hello",
    "hi",
];

/// Function words that match everywhere and carry no topic.
const STOPWORDS: &[&str] = &[
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "嘛",
    "么",
    "哈",
    "是",
    "我",
    "你",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "这",
    "那",
    "这个",
    "那个",
    "这样",
    "那样",
    "怎么",
    "怎么办",
    "怎么样",
    "怎样",
    "如何",
    "什么",
    "为什么",
    "为啥",
    "哪",
    "哪个",
    "哪里",
    "哪儿",
    "谁",
    "多少",
    "几",
    "吗",
    "可以",
    "可不可以",
    "能",
    "能不能",
    "会",
    "会不会",
    "要",
    "想",
    "就",
    "都",
    "也",
    "还",
    "又",
    "在",
    "有",
    "没",
    "没有",
    "不",
    "不是",
    "和",
    "跟",
    "与",
    "或",
    "或者",
    "还是",
    "请",
    "下",
    "一下",
    "一个",
    "个",
    "给",
    "让",
    "被",
    "把",
    "对",
    "到",
    "从",
    "用",
    "去",
    "来",
    "说",
    "问",
    "现在",
    "已经",
    "还有",
    "然后",
    "但是",
    "因为",
    "所以",
    "如果",
    "的话",
    "自己",
    "帮",
    "帮我",
    "麻烦",
    "一",
    "上",
    "里",
    "过",
    "着",
    "得",
    "地",
    "等",
    "呗",
    "咯",
    "哇",
    "嗯",
    "啦",
    "之",
    "其",
    "该",
    "需要",
    "知道",
    "告诉",
];

/// Words that carry no topic of their own but are kept for ranking: time, quantity, degree and
/// filler words (今天, 一直, 好几, 怎么弄). No-answer detection ignores them, so "has the knowledge
/// got this?" is asked of the words that name what the customer wants.
const GENERAL: &[&str] = &[
    "今天",
    "明天",
    "昨天",
    "前天",
    "后天",
    "今年",
    "去年",
    "明年",
    "礼拜",
    "下礼拜",
    "上礼拜",
    "星期",
    "周末",
    "上午",
    "下午",
    "晚上",
    "早上",
    "中午",
    "刚",
    "刚才",
    "刚刚",
    "马上",
    "以后",
    "之后",
    "之前",
    "以前",
    "当天",
    "当时",
    "那会儿",
    "这会儿",
    "会儿",
    "时候",
    "什么时候",
    "几天",
    "多久",
    "多长",
    "多长时间",
    "长时间",
    "时间",
    "一直",
    "突然",
    "总",
    "总是",
    "老是",
    "再",
    "先",
    "还要",
    "已经",
    "回事",
    "怎么回事",
    "怎么弄",
    "怎么搞",
    "干嘛",
    "弄",
    "搞",
    "事",
    "事情",
    "那些",
    "这些",
    "那边",
    "这边",
    "哪边",
    "剩下",
    "好几",
    "几十",
    "那么",
    "这么",
    "是不是",
    "不行",
    "行不行",
    "行",
    "可以吗",
    "一点",
    "一下",
    "一次",
    "第一",
    "第一次",
    "东西",
    "意思",
    "不能",
    "不会",
    "有没有",
    "不想",
    "想要",
    "看到",
    "打开",
    "接到",
    "不够",
    "下来",
    "出来",
    "上去",
    "过来",
    "回来",
    "过去",
    "里面",
    "外面",
    "天天",
    "大",
    "小",
    "好",
    "多",
    "少",
    "点",
    "早",
    "晚",
    "快",
    "慢",
    "买",
    "卖",
    "用",
    "开始",
    "合适",
    "其中",
    "家",
    "家里",
    "找",
    "查",
    "看",
    "听",
    "做",
    "人",
    "有人",
];

/// Numbers and counts (三十块, 10天, 两张): general words too.
fn is_count(word: &str) -> bool {
    let mut chars = word.chars().peekable();
    let mut digits = 0;
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() || "零一二三四五六七八九十百千万两几半".contains(c) {
            digits += 1;
            chars.next();
        } else {
            break;
        }
    }
    digits > 0 && chars.all(|c| "块元天个次张件号点分钟秒年月周台斤岁口".contains(c))
}

/// Normalizes customer text: full-width/case, then colloquial spellings.
pub struct QueryLanguage {
    colloquial: AhoCorasick,
    colloquial_to: Vec<&'static str>,
    chitchat: AhoCorasick,
    stopwords: std::collections::HashSet<&'static str>,
    general: std::collections::HashSet<&'static str>,
}

impl QueryLanguage {
    pub fn new() -> Self {
        let colloquial = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(COLLOQUIAL.iter().map(|(from, _)| *from))
            .expect("static colloquial table builds");
        let chitchat = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(CHITCHAT)
            .expect("static chit-chat table builds");
        QueryLanguage {
            colloquial,
            colloquial_to: COLLOQUIAL.iter().map(|(_, to)| *to).collect(),
            chitchat,
            stopwords: STOPWORDS.iter().copied().collect(),
            general: GENERAL.iter().copied().collect(),
        }
    }

    /// Full-width/case normalization plus colloquial replacement.
    pub fn normalize(&self, text: &str) -> String {
        let text = normalize(text);
        let mut out = String::with_capacity(text.len());
        self.colloquial
            .replace_all_with(&text, &mut out, |m, _, dst| {
                dst.push_str(self.colloquial_to[m.pattern().as_usize()]);
                true
            });
        out
    }

    /// Replaces chit-chat phrases by a separator so they neither count nor glue words together.
    pub fn strip_chitchat(&self, normalized: &str) -> String {
        self.chitchat
            .replace_all(normalized, &vec![" "; CHITCHAT.len()])
    }

    pub fn is_stopword(&self, word: &str) -> bool {
        self.stopwords.contains(word)
    }

    /// A word that says nothing about the topic (time, count, degree, filler): see [`GENERAL`].
    pub fn is_general(&self, word: &str) -> bool {
        self.stopwords.contains(word) || self.general.contains(word) || is_count(word)
    }
}

impl Default for QueryLanguage {
    fn default() -> Self {
        Self::new()
    }
}

/// A synonym group member found in a query.
pub struct SynonymMatch<'a> {
    pub matched: String,
    /// Index of the group (the same group found twice is one concept).
    pub group: usize,
    pub members: &'a [String],
}

/// The built-in e-commerce lexicon (see the file's header).
pub const LEXICON: &str = include_str!("lexicon.txt");

/// Synonym groups from `synonyms.txt`: one group per line, words separated by spaces,
/// `#` starts a comment.
#[derive(Default)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
    /// Member index → group index.
    member_group: Vec<usize>,
    members: Option<AhoCorasick>,
}

impl Synonyms {
    pub fn parse(text: &str) -> Self {
        let mut groups = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let words: Vec<String> = line
                .split_whitespace()
                .map(normalize)
                .filter(|w| !w.is_empty())
                .collect();
            if words.len() >= 2 {
                groups.push(words);
            }
        }
        let mut patterns = Vec::new();
        let mut member_group = Vec::new();
        for (g, words) in groups.iter().enumerate() {
            for w in words {
                patterns.push(w.clone());
                member_group.push(g);
            }
        }
        let members = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        Synonyms {
            groups,
            member_group,
            members,
        }
    }

    pub fn groups(&self) -> &[Vec<String>] {
        &self.groups
    }

    /// For each group member found in `normalized` text: the matched member and its group.
    /// A one-character or Latin member counts only when it is a whole token of the text
    /// (修 alone, not inside 修改; ai, not inside mail).
    pub fn matches<'a>(
        &'a self,
        normalized: &str,
        tokens: &HashSet<String>,
    ) -> Vec<SynonymMatch<'a>> {
        let Some(ac) = &self.members else {
            return Vec::new();
        };
        ac.find_iter(normalized)
            .filter(|m| {
                let found = &normalized[m.start()..m.end()];
                let short = found.chars().count() == 1 || found.is_ascii();
                !short || tokens.contains(found)
            })
            .map(|m| {
                let group = self.member_group[m.pattern().as_usize()];
                SynonymMatch {
                    matched: normalized[m.start()..m.end()].to_string(),
                    group,
                    members: self.groups[group].as_slice(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colloquial_is_normalized() {
        let q = QueryLanguage::new();
        assert_eq!(q.normalize("咋退货"), "怎么退货");
        assert_eq!(q.normalize("木有发票"), "没有发票");
        assert_eq!(q.normalize("神马时候发货"), "什么时候发货");
    }

    #[test]
    fn counts_and_time_words_are_general() {
        let q = QueryLanguage::new();
        for w in ["三十块", "10天", "两张", "今天", "一直", "2"] {
            assert!(q.is_general(w), "{w}");
        }
        for w in ["退货", "空调", "十二月活动"] {
            assert!(!q.is_general(w), "{w}");
        }
    }

    #[test]
    fn chitchat_is_removed() {
        let q = QueryLanguage::new();
        assert_eq!(q.strip_chitchat("在吗").trim(), "");
        assert!(!q.strip_chitchat("亲在吗退货").contains('亲'));
    }

    #[test]
    fn synonym_groups_match_inside_text() {
        let s = Synonyms::parse("# c\n退款 退钱 推款\n单\n");
        assert_eq!(s.groups().len(), 1);
        let m = s.matches("我要退钱", &HashSet::new());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].matched, "退钱");
    }
}
