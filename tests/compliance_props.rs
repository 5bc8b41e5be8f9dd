//! Properties of the normalizer, the matcher and the detectors on arbitrary input: no panic,
//! every span on character boundaries inside the text, and spans that map back to the same
//! characters.

use std::path::Path;
use std::sync::OnceLock;

use kefu::compliance::normalize::normalize;
use kefu::compliance::pii;
use kefu::compliance::{Compliance, Grounding};
use kefu::redact::{self, Vault};
use proptest::prelude::*;

fn shipped() -> &'static Compliance {
    static C: OnceLock<Compliance> = OnceLock::new();
    C.get_or_init(|| {
        Compliance::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .expect("shipped rules load")
    })
}

/// Text that mixes evasions, digits in every form, separators and arbitrary characters.
fn tricky() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("微".to_string()),
        Just("信".to_string()),
        Just("最佳".to_string()),
        Just("第一时间".to_string()),
        Just("一三八".to_string()),
        Just("①③⑧".to_string()),
        Just("1381234".to_string()),
        Just("5678".to_string()),
        Just("X".to_string()),
        Just(" ".to_string()),
        Just("-".to_string()),
        Just("\u{200b}".to_string()),
        Just("，".to_string()),
        Just("ＶＸ".to_string()),
        Just("@163.com".to_string()),
        Just("路12号".to_string()),
        Just("七天".to_string()),
        Just("[手机号1]".to_string()),
        "\\PC{0,3}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn normalized_spans_map_back_inside_the_text(text in tricky()) {
        let n = normalize(&text);
        let len = text.chars().count();
        prop_assert_eq!(n.orig_len(), len);
        for (b, _) in n.text.char_indices() {
            let orig = n.orig_char(b).expect("every normalized char has an origin");
            prop_assert!(orig < len);
        }
        // Every run of normalized characters maps to a range that starts at the origin of its
        // first character and ends after the origin of its last.
        let idx: Vec<usize> = n.text.char_indices().map(|(b, _)| b).chain([n.text.len()]).collect();
        for w in 0..idx.len().saturating_sub(1) {
            let end = idx[(w + 3).min(idx.len() - 1)];
            let (s, e) = n.span(idx[w], end);
            prop_assert!(s < e && e <= len, "{s}..{e} of {len}");
            prop_assert_eq!(Some(s), n.orig_char(idx[w]));
        }
    }

    #[test]
    fn check_never_panics_and_findings_quote_the_original(text in tricky()) {
        let g = Grounding { sources: Some(vec!["7天 48小时".into()]) };
        let r = shipped().check(&text, &g);
        let chars: Vec<char> = text.chars().collect();
        for f in &r.findings {
            prop_assert!(f.start < f.end && f.end <= chars.len(), "{f:?}");
            let quoted: String = chars[f.start..f.end].iter().collect();
            prop_assert_eq!(&quoted, &f.matched);
        }
    }

    #[test]
    fn a_term_matched_in_normalized_text_is_the_same_characters_in_the_original(
        pre in "\\PC{0,6}", sep in prop::sample::select(vec!["", " ", "-", "\u{200b}", " . ", "_"]), post in "\\PC{0,6}"
    ) {
        let text = format!("{pre}加我微{sep}信{post}");
        let r = shipped().check(&text, &Grounding::default());
        let f = r.findings.iter().find(|f| f.rule == "off.contact" && f.matched.starts_with('微'));
        // An allow context or a negation in the random prefix may clear it; if found, it is exact.
        if let Some(f) = f {
            prop_assert_eq!(f.matched.clone(), format!("微{sep}信"));
        }
    }

    #[test]
    fn pii_spans_are_ordered_and_inside(text in tricky()) {
        let len = text.chars().count();
        let found = pii::detect(&text);
        for w in found.windows(2) {
            prop_assert!(w[0].end <= w[1].start);
        }
        for m in &found {
            prop_assert!(m.start < m.end && m.end <= len);
        }
    }

    #[test]
    fn restore_inverts_mask(text in tricky()) {
        let mut vault = Vault::default();
        let masked = redact::mask(&text, &mut vault);
        // A text that already holds a placeholder-looking string ([手机号1]) is ambiguous by
        // design; texts without brackets must round-trip.
        if !text.contains('[') {
            prop_assert_eq!(redact::restore(&masked, &vault), text);
        }
    }
}

mod matcher_equivalence {
    use kefu::compliance::matcher::Matcher;
    use kefu::compliance::normalize::normalize;
    use kefu::compliance::rules::{Rule, TermSource};
    use kefu::compliance::Severity;
    use proptest::prelude::*;

    fn rule(i: usize) -> Rule {
        Rule {
            id: format!("r{i}").into(),
            category: "absolute_terms".into(),
            severity: Severity::Block,
            message: "".into(),
            suggestion: None,
            negation: false,
            whole_words: false,
            near: Vec::new(),
            unless: Vec::new(),
            warning: Vec::new(),
            refusal: Vec::new(),
            redirect: Vec::new(),
            offer_after: Vec::new(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The trie walk from every position finds exactly what a naive overlapping search of
        /// every term at every position finds.
        #[test]
        fn finds_every_overlapping_occurrence(
            terms in prop::collection::vec(("[最佳好第一微信]{1,3}", 0usize..3), 1..12),
            text in "[最佳好第一微信，]{0,40}",
        ) {
            let sources: Vec<TermSource> = terms
                .iter()
                .map(|(t, r)| TermSource { rule: *r, term: t.clone(), allow: false })
                .collect();
            let rules: Vec<Rule> = (0..3).map(rule).collect();
            let m = Matcher::build(&sources, Vec::new()).expect("builds");
            let n = normalize(&text);
            let mut got: Vec<(usize, usize, usize)> =
                m.find(&n, &rules).into_iter().map(|h| (h.rule, h.start, h.end)).collect();
            got.sort();
            got.dedup();
            let mut want = Vec::new();
            for (t, r) in &terms {
                for (at, _) in n.text.match_indices(t.as_str()) {
                    want.push((*r, at, at + t.len()));
                }
                // match_indices skips overlapping occurrences of the same term: add them.
                for (b, _) in n.text.char_indices() {
                    if n.text[b..].starts_with(t.as_str()) {
                        want.push((*r, b, b + t.len()));
                    }
                }
            }
            want.sort();
            want.dedup();
            prop_assert_eq!(got, want);
        }

        /// `whole_words` only ever drops hits and never panics: jieba segments the text around
        /// every hit, in texts made of the characters of 最低能效, 你真是低能, 稍微信任 (so hits
        /// and collisions are frequent) mixed with any other character.
        #[test]
        fn whole_words_only_drops_hits(
            terms in prop::collection::vec("[低能最降耗效你真是微信稍任]{2,3}", 1..8),
            text in prop::collection::vec(
                prop_oneof![4 => "[低能最降耗效你真是微信稍任，a1]", 1 => "\\PC"],
                0..40,
            ).prop_map(|parts| parts.concat()),
        ) {
            let sources: Vec<TermSource> = terms
                .iter()
                .map(|t| TermSource { rule: 0, term: normalize(t).text, allow: false })
                .filter(|s| !s.term.is_empty())
                .collect();
            prop_assume!(!sources.is_empty());
            let m = Matcher::build(&sources, Vec::new()).expect("builds");
            let n = normalize(&text);
            let span = |h: kefu::compliance::matcher::Hit| (h.start, h.end);
            let all: Vec<_> = m.find(&n, &[rule(0)]).into_iter().map(span).collect();
            let whole = Rule { whole_words: true, ..rule(0) };
            let kept: Vec<_> = m.find(&n, &[whole]).into_iter().map(span).collect();
            for h in &kept {
                prop_assert!(all.contains(h));
                prop_assert!(n.text.is_char_boundary(h.0) && n.text.is_char_boundary(h.1));
            }
        }
    }

    /// 你真是低能: no word runs across 低能's ends, so `whole_words` keeps it; 最低能效 loses it.
    #[test]
    fn whole_words_keeps_a_term_said_as_a_word() {
        let sources = vec![TermSource {
            rule: 0,
            term: "低能".into(),
            allow: false,
        }];
        let m = Matcher::build(&sources, Vec::new()).expect("builds");
        let whole = Rule {
            whole_words: true,
            ..rule(0)
        };
        assert_eq!(
            m.find(&normalize("你真是低能"), std::slice::from_ref(&whole))
                .len(),
            1
        );
        assert!(m
            .find(&normalize("这款空调最低能效是几级"), &[whole])
            .is_empty());
    }
}
