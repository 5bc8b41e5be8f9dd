//! The compliance checker through its public API: rules as data, reload, allow-list contexts,
//! evasions, personal data and grounding.

use std::path::{Path, PathBuf};

use kefu::compliance::{Compliance, Grounding, RulesError, Severity, Verdict};

fn shipped() -> Compliance {
    Compliance::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .expect("shipped rules load")
}

fn verdict(c: &Compliance, text: &str) -> Verdict {
    c.check(text, &Grounding::default()).verdict
}

const GOOD: &str = r#"
[[rule]]
id = "t.best"
category = "absolute_terms"
severity = "block"
terms = ["最佳"]
allow = ["最佳使用"]
message = "absolute"
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write rule file");
    p
}

#[test]
fn broken_rule_file_is_rejected_with_file_and_line_and_previous_rules_stay() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.toml", GOOD);
    let c = Compliance::load(dir.path()).expect("good rules load");
    let v1 = c.version();
    assert_eq!(verdict(&c, "质量最佳"), Verdict::Block);

    // A syntax error on line 4.
    write(
        dir.path(),
        "b.toml",
        "[[rule]]\nid = \"t.x\"\ncategory = \"absolute_terms\"\nseverity = = \"block\"\n",
    );
    match c.reload() {
        Err(RulesError::Invalid { file, line, .. }) => {
            assert_eq!(file, "b.toml");
            assert_eq!(line, 4);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(c.version(), v1, "previous rules stay in force");
    assert_eq!(verdict(&c, "质量最佳"), Verdict::Block);

    // A semantic error: unknown category, reported on its line.
    write(
        dir.path(),
        "b.toml",
        "[[rule]]\nid = \"t.y\"\n\ncategory = \"nonsense\"\nseverity = \"block\"\nterms = [\"x\"]\nmessage = \"m\"\n",
    );
    let err = c.reload().expect_err("unknown category is rejected");
    assert_eq!(
        err.to_string().split(':').take(2).collect::<Vec<_>>(),
        vec!["b.toml", "4"]
    );

    // A regex that does not compile, reported on its line.
    write(
        dir.path(),
        "b.toml",
        "[[rule]]\nid = \"t.z\"\ncategory = \"medical_claims\"\nseverity = \"warn\"\nregexes = [\n  \"ok\",\n  \"(unclosed\",\n]\nmessage = \"m\"\n",
    );
    match c.reload() {
        Err(RulesError::Invalid { line, message, .. }) => {
            assert_eq!(line, 7);
            assert!(message.contains("regex"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(c.version(), v1);

    // Fixed: the reload succeeds and the version changes.
    write(dir.path(), "b.toml", "[[rule]]\nid = \"t.ok\"\ncategory = \"medical_claims\"\nseverity = \"warn\"\nterms = [\"疗效\"]\nmessage = \"m\"\n");
    let v2 = c.reload().expect("fixed rules reload");
    assert_ne!(v1, v2);
    assert_eq!(c.version(), v2);
    let r = c.check("有疗效", &Grounding::default());
    assert_eq!(r.verdict, Verdict::Warn);
    assert_eq!(r.ruleset_version, v2);
}

#[test]
fn duplicate_ids_and_missing_word_lists_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.toml", &format!("{GOOD}\n{GOOD}"));
    let err = Compliance::load(dir.path())
        .err()
        .expect("duplicate id rejected");
    assert!(err.to_string().contains("defined twice"), "{err}");

    write(
        dir.path(),
        "a.toml",
        "[[rule]]\nid = \"t\"\ncategory = \"off_platform\"\nseverity = \"block\"\nterm_files = [\"missing.txt\"]\nmessage = \"m\"\n",
    );
    let err = Compliance::load(dir.path())
        .err()
        .expect("missing list rejected");
    assert!(err.to_string().starts_with("a.toml:5:"), "{err}");
}

#[test]
fn empty_folder_is_an_io_error_naming_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    match Compliance::load(dir.path()) {
        Err(RulesError::Io { path, .. }) => assert_eq!(path, dir.path()),
        Err(e) => panic!("expected Io, got {e}"),
        Ok(_) => panic!("an empty folder must not load"),
    }
}

#[test]
fn compliance_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Compliance>();
}

#[test]
fn every_result_carries_the_ruleset_version() {
    let c = shipped();
    let r = c.check("您好", &Grounding::default());
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.ruleset_version, c.version());
    assert_eq!(r.ruleset_version.len(), 16);
}

#[test]
fn allow_list_contexts_pass() {
    let c = shipped();
    for ok in [
        "亲，最近物流有点慢，请您耐心等待。",
        "建议您最好在签收时验货。",
        "我们会第一时间为您处理。",
        "这是您第一次下单吗？",
        "这个饭盒可以放微波炉加热。",
        "本品不具有治疗作用。",
        "到货后请检查，收货后记得好评。",
        "我们会为您提供最好的服务。",
        "这款红酒最佳饮用温度是16度。",
        "奶粉最佳食用期请看包装。",
        "为了交易安全，我们不支持线下交易。",
        "请不要添加任何自称客服的微信，谨防诈骗。",
        "支持微信支付，在平台下单即可。",
    ] {
        let r = c.check(ok, &Grounding::default());
        assert_eq!(r.verdict, Verdict::Pass, "{ok}: {:?}", r.findings);
    }
}

#[test]
fn claims_outside_allow_contexts_block_with_spans_on_the_original() {
    let c = shipped();
    let text = "这款面膜质量最佳，全网最低价。";
    let r = c.check(text, &Grounding::default());
    assert_eq!(r.verdict, Verdict::Block);
    let chars: Vec<char> = text.chars().collect();
    for f in &r.findings {
        let s: String = chars[f.start..f.end].iter().collect();
        assert_eq!(s, f.matched);
        assert_eq!(f.category, "absolute_terms");
    }
    assert!(r.findings.iter().any(|f| f.matched == "最佳"));
    assert!(r.findings.iter().any(|f| f.matched == "全网最低"));
}

#[test]
fn evasions_of_contact_channels_block() {
    let c = shipped();
    for evasion in [
        "加我微信",
        "加我微 信",
        "加我微-信",
        "加我 w e i x i n",
        "加我 ＷＥＩＸＩＮ",
        "加我vx",
        "加我 V信",
        "加我薇信",
        "加我威信",
        "加我扣扣",
        "加我企鹅号",
        "加我微\u{200b}信",
        "聯繫微信",
        "加我薇❤",
        "电话一三八一二三四五六七八",
        "电话①③⑧①②③④⑤⑥⑦⑧",
        "电话 138-1234-5678",
        "发邮件到 abc@163.com",
    ] {
        let r = c.check(evasion, &Grounding::default());
        assert_eq!(r.verdict, Verdict::Block, "{evasion}: {:?}", r.findings);
        assert_eq!(r.findings[0].category, "off_platform", "{evasion}");
    }
    // The span covers the evasion as written, separators included.
    let r = c.check("加我微 - 信吧", &Grounding::default());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "off.contact")
        .expect("finding");
    assert_eq!(f.matched, "微 - 信");
    assert_eq!((f.start, f.end), (2, 7));
}

#[test]
fn latin_terms_do_not_fire_inside_words() {
    let c = shipped();
    assert_eq!(verdict(&c, "这款支持new xbox手柄"), Verdict::Pass);
    assert_eq!(verdict(&c, "加VIP会员更优惠"), Verdict::Pass);
}

#[test]
fn id_card_checksum_decides_block_or_warn() {
    let c = shipped();
    let valid = c.check("身份证 11010519491231002X", &Grounding::default());
    assert_eq!(valid.verdict, Verdict::Block);
    assert_eq!(valid.findings[0].rule, "pii.id_card");
    assert_eq!(valid.findings[0].matched, "11010519491231002X");
    let invalid = c.check("身份证 110105194912310021", &Grounding::default());
    assert_eq!(invalid.verdict, Verdict::Warn);
    assert_eq!(invalid.findings[0].severity, Severity::Warn);
}

#[test]
fn bank_cards_need_luhn_or_card_context() {
    let c = shipped();
    assert_eq!(verdict(&c, "卡号 6222020200000000006"), Verdict::Block);
    assert_eq!(verdict(&c, "卡号 6222020200000000007"), Verdict::Warn);
    // A long number that fails Luhn without card context is an order number, not a card.
    assert_eq!(verdict(&c, "编号 6222020200000000007"), Verdict::Pass);
    assert_eq!(
        verdict(&c, "您的订单号 6222020200000000006 已发货"),
        Verdict::Pass
    );
}

#[test]
fn grounding_flags_numbers_missing_from_sources() {
    let c = shipped();
    let g = Grounding {
        sources: Some(vec!["本店支持7天无理由退货，现货四十八小时内发货".into()]),
    };
    assert_eq!(
        c.check("支持七天无理由退货，48小时内发货", &g).verdict,
        Verdict::Pass
    );
    let r = c.check("支持15天无理由退货", &g);
    assert_eq!(r.verdict, Verdict::Warn);
    assert_eq!(r.findings[0].category, "unsupported_claim");
    assert_eq!(r.findings[0].matched, "15天");
    // Without sources (a text typed by hand) numbers are not checked.
    assert_eq!(
        c.check("支持15天无理由退货", &Grounding::default()).verdict,
        Verdict::Pass
    );
}

#[test]
fn from_sources_builds_without_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c =
        Compliance::from_sources(dir.path(), &[("x.toml".into(), GOOD.into())]).expect("compiles");
    assert_eq!(verdict(&c, "最佳"), Verdict::Block);
    assert_eq!(verdict(&c, "最佳使用期"), Verdict::Pass);
}

const CLASSIFIER: &str = r#"
[[rule]]
id = "t.best"
category = "absolute_terms"
severity = "block"
terms = ["最佳"]
message = "absolute"

[classifier]
id = "t.model"
severity = "warn"
train_files = ["cases.jsonl"]
threshold = 0.0
message = "model"
"#;

const CASES: &str = r#"# labeled replies
{"text": "喝了它胃病就好了", "expect": "block", "category": "medical_claims"}
{"text": "吃了它关节病就好了", "expect": "block", "category": "medical_claims"}
{"text": "用了以后失眠就好了", "expect": "block", "category": "medical_claims"}
{"text": "您的快递已经发出了", "expect": "pass"}
{"text": "您的订单已经发货了", "expect": "pass"}
{"text": "请问还有什么可以帮您", "expect": "pass"}
"#;

#[test]
fn classifier_flags_only_sentences_the_rules_left_silent() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.toml", CLASSIFIER);
    write(dir.path(), "cases.jsonl", CASES);
    let c = Compliance::load(dir.path()).expect("rules with a classifier load");

    let text = "您好！喝了以后头痛就好了。";
    let r = c.check(text, &Grounding::default());
    assert_eq!(r.verdict, Verdict::Warn, "{:?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(f.rule, "t.model");
    assert_eq!(f.category, "medical_claims");
    assert_eq!(f.severity, Severity::Warn);
    let quoted: String = text.chars().skip(f.start).take(f.end - f.start).collect();
    assert_eq!(quoted, f.matched);
    assert_eq!(f.matched, "喝了以后头痛就好了");

    assert_eq!(verdict(&c, "您的包裹已经发出了"), Verdict::Pass);
    // A sentence a rule already flags gets no second, model finding.
    let r = c.check("喝了效果最佳，头痛就好了", &Grounding::default());
    assert_eq!(r.verdict, Verdict::Block);
    assert!(
        r.findings.iter().all(|f| f.rule != "t.model"),
        "{:?}",
        r.findings
    );
}

#[test]
fn broken_training_case_is_rejected_with_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.toml", CLASSIFIER);
    write(
        dir.path(),
        "cases.jsonl",
        &format!("{CASES}{{\"text\": \"x\"}}\n"),
    );
    let err = Compliance::load(dir.path())
        .err()
        .expect("a case without expect is rejected");
    assert!(err.to_string().starts_with("cases.jsonl:8:"), "{err}");
}

/// Tests the class mechanism (expansion across files, unknown names) with its own small classes,
/// not the shipped `rules/classes.toml`; the shipped classes are covered by the eval splits and
/// the regression tests below.
#[test]
fn word_classes_expand_in_regexes_of_any_file_and_unknown_ones_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.toml",
        "[[rule]]\nid = \"t.claim\"\ncategory = \"medical_claims\"\nseverity = \"block\"\nregexes = [\"{verb}[^,]{0,4}{ill}\"]\nmessage = \"m\"\n",
    );
    write(
        dir.path(),
        "b.toml",
        "[classes]\nverb = [\"缓解\", \"治\"]\nill = [\"失眠\", \"胃病\"]\n",
    );
    let c = Compliance::load(dir.path()).expect("classes from another file load");
    assert_eq!(verdict(&c, "睡前喝一杯能缓解您的失眠"), Verdict::Block);
    assert_eq!(verdict(&c, "能缓解一天的疲劳"), Verdict::Pass);

    write(
        dir.path(),
        "a.toml",
        "[[rule]]\nid = \"t.claim\"\ncategory = \"medical_claims\"\nseverity = \"block\"\nregexes = [\"{verb}{nope}\"]\nmessage = \"m\"\n",
    );
    let err = c.reload().expect_err("an unknown class is rejected");
    assert!(err.to_string().starts_with("a.toml:5:"), "{err}");
    assert!(err.to_string().contains("{nope}"), "{err}");
    assert_eq!(verdict(&c, "睡前喝一杯能缓解您的失眠"), Verdict::Block);
}

/// A class named as an entry of a word list (`warning = ["{referral}"]`) stands for its words,
/// so eleven rules share one list; an unknown name is rejected like one in a regex.
#[test]
fn a_word_class_serves_as_a_rules_word_list_and_unknown_ones_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = |list: &str| {
        format!("[[rule]]\nid = \"t.cure\"\ncategory = \"medical_claims\"\nseverity = \"block\"\nterms = [\"治好\"]\nwarning = [{list}]\nmessage = \"m\"\n")
    };
    write(dir.path(), "a.toml", &rule(r#""{referral}", "药师""#));
    write(
        dir.path(),
        "b.toml",
        "[classes]\nreferral = [\"就医\", \"遵医嘱\"]\n",
    );
    let c = Compliance::load(dir.path()).expect("a class in a word list loads");
    assert_eq!(verdict(&c, "这个药膏能治好湿疹"), Verdict::Block);
    // Both the class's words and the rule's own word clear the hit.
    assert_eq!(verdict(&c, "能不能治好要遵医嘱"), Verdict::Pass);
    assert_eq!(verdict(&c, "能不能治好请问药师"), Verdict::Pass);

    write(dir.path(), "a.toml", &rule(r#""{nope}""#));
    let err = c
        .reload()
        .expect_err("an unknown class in a list is rejected");
    assert!(err.to_string().starts_with("a.toml:2:"), "{err}");
    assert!(
        err.to_string().contains("`warning`: word class {nope}"),
        "{err}"
    );
    assert_eq!(verdict(&c, "能不能治好要遵医嘱"), Verdict::Pass);
}

/// `whole_words`: a hit across two words (最低|能效) is dropped; without the flag the same hit
/// counts, and a term at a word boundary or glued on one side only (最低|能|到) counts either way.
#[test]
fn whole_words_drops_a_hit_across_two_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = |flag: &str| {
        format!("[[rule]]\nid = \"t.abuse\"\ncategory = \"pressure_or_disrespect\"\nseverity = \"block\"\n{flag}terms = [\"低能\"]\nmessage = \"m\"\n")
    };
    write(dir.path(), "a.toml", &rule("whole_words = true\n"));
    let c = Compliance::load(dir.path()).expect("loads");
    assert_eq!(verdict(&c, "这款空调最低能效是几级"), Verdict::Pass);
    assert_eq!(verdict(&c, "你真是低能"), Verdict::Block);
    assert_eq!(verdict(&c, "低能儿才问这种问题"), Verdict::Block);
    assert_eq!(verdict(&c, "价格最低能到多少"), Verdict::Block);

    write(dir.path(), "a.toml", &rule(""));
    c.reload().expect("reloads");
    assert_eq!(verdict(&c, "这款空调最低能效是几级"), Verdict::Block);
}

#[test]
fn a_comparator_is_a_word_not_characters_across_two_words() {
    let c = shipped();
    // 今天|下单: no 天下 here, so only the pressure warning.
    assert_eq!(verdict(&c, "今天下单是最后机会了。"), Verdict::Warn);
    assert_eq!(verdict(&c, "这款是天下最好的茶。"), Verdict::Block);
}

/// Review bug: the `boost` class (调节, 降, 补, 养 …) before a `body` word and the `effect`
/// word 帮 before an `ailment` blocked ordinary product and service texts. Shipped rules.
#[test]
fn boost_and_effect_classes_do_not_block_ordinary_product_texts() {
    let c = shipped();
    for text in [
        "升降桌可调节适合身高150到190",
        "台灯灯臂可以调节关节角度",
        "支架可以调节个子高矮都能用",
        "已帮您备注不含过敏原",
    ] {
        let r = c.check(text, &Grounding::default());
        assert_eq!(r.verdict, Verdict::Pass, "{text}: {:?}", r.findings);
    }
    // The claims the classes are for still block.
    for text in [
        "这款茶可以调节血压",
        "每天喝一杯能提高免疫力",
        "能帮你缓解失眠",
    ] {
        assert_eq!(verdict(&c, text), Verdict::Block, "{text}");
    }
}

/// Review bug: `app` as one of the shop's own channels blocked "在app里下单", where the app
/// is usually the marketplace's own. Shipped rules.
#[test]
fn the_marketplace_app_is_not_an_off_platform_channel() {
    let c = shipped();
    let r = c.check("您可以在app里下单领券哦", &Grounding::default());
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.findings);
    assert_eq!(verdict(&c, "去我们官方app下单更便宜"), Verdict::Block);
}

#[test]
fn a_classifier_threshold_that_is_not_finite_is_rejected_with_its_line() {
    for bad in ["nan", "inf", "-inf"] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "a.toml",
            &CLASSIFIER.replace("threshold = 0.0", &format!("threshold = {bad}")),
        );
        write(dir.path(), "cases.jsonl", CASES);
        let err = Compliance::load(dir.path())
            .err()
            .expect("a non-finite threshold is rejected");
        assert!(err.to_string().starts_with("a.toml:13:"), "{bad}: {err}");
        assert!(err.to_string().contains("finite"), "{bad}: {err}");
    }
}

const WARN_RULE: &str = r#"
[[rule]]
id = "t.soon"
category = "false_promise"
severity = "warn"
terms = ["马上"]
message = "soon"
"#;

/// The model blocks where it is sure enough, even a sentence a rule only warned about; below
/// the block threshold a warned sentence keeps the rule's warning alone.
#[test]
fn classifier_blocks_above_its_block_threshold_even_where_a_rule_warned() {
    // Replies reviewers only warn about teach the block model nothing to block.
    let cases = format!(
        "{CASES}{}",
        r#"{"text": "马上下单马上涨价", "expect": "warn", "category": "false_promise"}
{"text": "马上拍马上涨价哦", "expect": "warn", "category": "false_promise"}
"#
    );
    let load = |block: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = CLASSIFIER.replace(
            "threshold = 0.0",
            &format!("threshold = 0.0\nblock_threshold = {block}"),
        );
        write(dir.path(), "a.toml", &format!("{rules}{WARN_RULE}"));
        write(dir.path(), "cases.jsonl", &cases);
        Compliance::load(dir.path()).expect("rules with a block threshold load")
    };
    let text = "喝了马上头痛就好了";

    let sure = load("0.0");
    let r = sure.check(text, &Grounding::default());
    assert_eq!(r.verdict, Verdict::Block, "{:?}", r.findings);
    let model = r
        .findings
        .iter()
        .find(|f| f.rule == "t.model")
        .expect("a model finding");
    assert_eq!(model.severity, Severity::Block);
    assert_eq!(model.category, "medical_claims");
    assert!(r.findings.iter().any(|f| f.rule == "t.soon"));
    // Sendable text stays sendable at any threshold.
    assert_eq!(verdict(&sure, "您的包裹已经发出了"), Verdict::Pass);
    // Regression: the block model learned "flagged", so 今天下单是最后机会 (a warn case) was
    // blocked; it learns "block" against everything else now.
    let r = sure.check("马上下单马上涨价", &Grounding::default());
    assert_eq!(r.verdict, Verdict::Warn, "{:?}", r.findings);

    let unsure = load("1000.0");
    let r = unsure.check(text, &Grounding::default());
    assert_eq!(r.verdict, Verdict::Warn, "{:?}", r.findings);
    assert!(
        r.findings.iter().all(|f| f.rule != "t.model"),
        "{:?}",
        r.findings
    );
    // Where no rule spoke, the model still warns below its block threshold.
    let r = unsure.check("喝了以后头痛就好了", &Grounding::default());
    assert_eq!(r.verdict, Verdict::Warn, "{:?}", r.findings);
    assert_eq!(r.findings[0].rule, "t.model");
}

#[test]
fn a_block_threshold_below_the_threshold_is_rejected_with_its_line() {
    for bad in ["-1.0", "nan"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = CLASSIFIER.replace(
            "threshold = 0.0",
            &format!("threshold = 0.0\nblock_threshold = {bad}"),
        );
        write(dir.path(), "a.toml", &rules);
        write(dir.path(), "cases.jsonl", CASES);
        let err = Compliance::load(dir.path())
            .err()
            .expect("a block threshold below the threshold is rejected");
        assert!(err.to_string().starts_with("a.toml:14:"), "{bad}: {err}");
        assert!(err.to_string().contains("block_threshold"), "{bad}: {err}");
    }
}

/// A class that expands to nothing would match everywhere.
#[test]
fn an_empty_word_class_is_rejected_with_its_file_and_line() {
    let rule = "[[rule]]\nid = \"t.claim\"\ncategory = \"medical_claims\"\nseverity = \"block\"\nregexes = [\"{verb}失眠\"]\nmessage = \"m\"\n";
    for class in ["verb = []", "verb = [\" \", \"\"]"] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.toml", rule);
        write(dir.path(), "b.toml", &format!("[classes]\n\n{class}\n"));
        let err = Compliance::load(dir.path())
            .err()
            .expect("an empty class is rejected");
        assert!(err.to_string().starts_with("b.toml:3:"), "{class}: {err}");
        assert!(err.to_string().contains("{verb}"), "{err}");
    }
}

/// An officer's own rule can clear a channel refused right after it is named, only with a way
/// back to the platform after the refusal and no other way offered; a `refusal` without a
/// `redirect` would clear nothing and is rejected with its line.
#[test]
fn a_refusal_clears_a_rule_only_with_a_redirect_and_no_other_offer() {
    let rule = "[[rule]]\nid = \"t.wechat\"\ncategory = \"off_platform\"\nseverity = \"block\"\nterms = [\"微信\"]\nrefusal = [\"不行\"]\nredirect = [\"在这里\"]\noffer_after = [\"电话\"]\nmessage = \"m\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.toml", rule);
    let c = Compliance::load(dir.path()).expect("rules load");
    assert_eq!(verdict(&c, "微信是不行的，有事在这里说"), Verdict::Pass);
    assert_eq!(verdict(&c, "微信是不行的"), Verdict::Block, "no way back");
    assert_eq!(
        verdict(&c, "微信是不行的，在这里说，回头电话聊"),
        Verdict::Block,
        "another way offered"
    );
    assert_eq!(
        verdict(&c, "加个微信怎么就不行了，在这里说"),
        Verdict::Block,
        "a rhetorical question"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.toml",
        &rule.replace("redirect = [\"在这里\"]\n", ""),
    );
    let err = Compliance::load(dir.path())
        .err()
        .expect("a refusal without a redirect is rejected");
    assert!(err.to_string().starts_with("a.toml:2:"), "{err}");
    assert!(err.to_string().contains("redirect"), "{err}");

    // Regression: `offer_after` alone loaded and silently did nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let alone = rule
        .replace("refusal = [\"不行\"]\n", "")
        .replace("redirect = [\"在这里\"]\n", "");
    write(dir.path(), "a.toml", &alone);
    let err = Compliance::load(dir.path())
        .err()
        .expect("offer_after without a refusal is rejected");
    assert!(err.to_string().starts_with("a.toml:2:"), "{err}");
    assert!(err.to_string().contains("offer_after"), "{err}");
}
