//! The duplicate key of a question: two questions with the same key are generated once.
//! Full-width forms become half-width, letters lower case, punctuation, spaces, polite openers
//! and trailing particles go, and colloquial words become their standard form (咋 → 怎么).

/// Colloquial → standard, longest first so that 咋样 is not half-replaced.
const COLLOQUIAL: &[(&str, &str)] = &[
    ("肿么", "怎么"),
    ("咋样", "怎么样"),
    ("咋办", "怎么办"),
    ("咋", "怎么"),
    ("神马", "什么"),
    ("啥", "什么"),
    ("木有", "没有"),
    ("没得", "没有"),
    ("能不能", "可以"),
    ("可不可以", "可以"),
    ("能否", "可以"),
    ("是不是", "是否"),
    ("有没有", "有"),
    ("多久能", "多久"),
    ("几天能", "几天"),
];

/// Openers that do not change the question.
const OPENERS: &[&str] = &[
    "请问一下",
    "请问",
    "问一下",
    "问下",
    "你好",
    "您好",
    "在吗",
    "在不在",
    "亲亲",
    "亲",
    "客服",
    "老板",
    "掌柜",
];

/// Sentence-final particles.
const PARTICLES: &[char] = &[
    '呢', '啊', '呀', '哈', '吖', '哦', '嘛', '吗', '啦', '哇', '咧',
];

/// The duplicate key of `question`.
pub fn normalize(question: &str) -> String {
    let mut s: String = question
        .chars()
        .map(half_width)
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace() && !is_punctuation(*c))
        .collect();
    for (from, to) in COLLOQUIAL {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    loop {
        let before = s.len();
        for opener in OPENERS {
            if let Some(rest) = s.strip_prefix(opener) {
                // 亲子装, 亲自 …: 亲 is part of the word there
                let word = *opener == "亲"
                    && rest.starts_with(['子', '自', '身', '手', '友', '人', '戚', '密']);
                if !rest.is_empty() && !word {
                    s = rest.to_string();
                }
            }
        }
        while s.chars().count() > 1 && s.ends_with(PARTICLES) {
            s.pop();
        }
        if s.len() == before {
            return s;
        }
    }
}

/// Full-width ASCII (U+FF01..U+FF5E) and the ideographic space to their half-width forms.
fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '，' | '。'
                | '、'
                | '；'
                | '：'
                | '？'
                | '！'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '（'
                | '）'
                | '【'
                | '】'
                | '《'
                | '》'
                | '〈'
                | '〉'
                | '「'
                | '」'
                | '『'
                | '』'
                | '…'
                | '—'
                | '～'
                | '·'
                | '〜'
                | '｡'
                | '､'
        )
        || ('\u{1F300}'..='\u{1FAFF}').contains(&c)
        || ('\u{2600}'..='\u{27BF}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn punctuation_width_and_case_do_not_matter() {
        assert_eq!(normalize("什么时候发货？"), normalize("什么时候发货?"));
        assert_eq!(normalize("ＡＦ－５Ｌ 能用吗"), normalize("af-5l能用吗"));
        assert_eq!(normalize(" 什么 时候 发货 ！！"), normalize("什么时候发货"));
    }

    #[test]
    fn colloquial_words_and_openers_are_standardized() {
        assert_eq!(normalize("咋退货"), normalize("怎么退货？"));
        assert_eq!(normalize("亲，请问啥时候发货呀"), normalize("什么时候发货"));
        assert_eq!(normalize("咋样申请售后"), normalize("怎么样申请售后"));
        assert_eq!(normalize("您好，可以开发票吗？"), normalize("可以开发票"));
    }

    #[test]
    fn different_questions_stay_different() {
        assert_ne!(normalize("怎么退货"), normalize("怎么换货"));
        assert_ne!(normalize("发顺丰吗"), normalize("发京东吗"));
        // a question that is only an opener keeps it
        assert_eq!(normalize("你好"), "你好");
    }
}
