//! The shipped rules against the shipped case sets: the targets hold on each split.

use std::path::Path;

use kefu::compliance::eval::run_compliance_eval;
use kefu::compliance::Compliance;

fn rules() -> Compliance {
    Compliance::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .expect("shipped rules load")
}

fn assert_targets(split: &str) {
    let c = rules();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eval/compliance")
        .join(split);
    let report = run_compliance_eval(&c, &path).expect("case file reads");
    let text = report.render_text();
    println!("{text}");
    assert!(
        report.block_recall >= 0.98,
        "{split}: block recall {} < 0.98\n{text}",
        report.block_recall
    );
    assert!(
        report.pass_false_positive_rate <= 0.02,
        "{split}: false-positive rate on pass {} > 0.02\n{text}",
        report.pass_false_positive_rate
    );
}

#[test]
fn heldout_split_meets_the_targets() {
    assert_targets("heldout.jsonl");
}

#[test]
fn tuned_split_meets_the_targets() {
    assert_targets("tuned.jsonl");
}

/// The cases written while working on round 2 (tuned on, like `tuned.jsonl`).
#[test]
fn round2_dev_set_meets_the_targets() {
    assert_targets("round2-dev.jsonl");
}

/// 别 in 特别 or 区别 is no negation: "特别适合失眠的人群" is a claim, "不适合…" a caution.
#[test]
fn words_that_contain_a_negator_do_not_negate() {
    use kefu::compliance::{Grounding, Verdict};
    let c = rules();
    let claim = c.check("这款粉特别适合失眠的人群。", &Grounding::default());
    assert_eq!(claim.verdict, Verdict::Block, "{:?}", claim.findings);
    let caution = c.check("这款粉不适合失眠的人群。", &Grounding::default());
    assert!(
        caution.findings.iter().all(|f| f.rule != "med.suitable"),
        "{:?}",
        caution.findings
    );
}

/// The cases written in session 4 while generalizing probe 10's failure classes (tuned on).
#[test]
fn round4_dev_set_meets_the_targets() {
    assert_targets("round4-dev.jsonl");
}

fn verdict_of(c: &Compliance, text: &str) -> kefu::compliance::Verdict {
    c.check(text, &kefu::compliance::Grounding::default())
        .verdict
}

/// The false-promise severity policy of rules/false_promise.toml: a guarantee said as certain
/// (efficacy, exam results, durability, safety, delivery with 绝对/百分百/永久) blocks; the same
/// promise hedged warns; the compliant hedge (不能保证…) and facts (100%纯棉, 有效期) pass.
#[test]
fn false_promises_follow_the_severity_policy() {
    use kefu::compliance::Verdict;
    let c = rules();
    for text in [
        "这瓶精华百分之百有效，放心用。",
        "这个课程包过，保证您一次通过考试。",
        "报名我们的班，三个月提高三十分。",
        "这把雨伞永久不坏。",
        "这个插排绝对不会短路。",
        "今天拍，百分百明天送到。",
        "用了没效果全额退款。",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Block, "{text}");
    }
    for text in [
        "这款湿巾很温和，一般宝宝用了都不会过敏。",
        "正常情况下24小时内一定发货。",
        "保证明天到。",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Warn, "{text}");
    }
    for text in [
        "效果因人而异，我们不能保证百分百有效。",
        "面料是100%纯棉的。",
        "产品有效期到明年六月。",
        "这个书包过几天就补货了。",
        "您放心，我们绝对不会泄露您的个人信息。",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Pass, "{text}");
    }
}

/// Asking for sensitive personal information blocks in either word order; refusals, invoices and
/// a customs form on the order page pass; part of a number warns.
#[test]
fn requests_for_sensitive_personal_data_block() {
    use kefu::compliance::Verdict;
    let c = rules();
    for text in [
        "退款需要您提供一下银行卡号和开户行。",
        "您的家庭住址和工作单位告诉我一下。",
        "您的身份证号是多少？",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Block, "{text}");
    }
    assert_eq!(
        verdict_of(&c, "麻烦报一下您手机号后四位，我查一下订单。"),
        Verdict::Warn
    );
    for text in [
        "为保护您的隐私，请不要在聊天里发送身份证号或银行卡信息。",
        "退款会原路返回，不需要提供银行卡号。",
        "开专票请提供单位名称、税号、开户行及账号。",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Pass, "{text}");
    }
}

/// Threats and insults on the customer's literacy block; an A-not-A question (信不信) is no
/// negation and does not clear them.
#[test]
fn threats_and_literacy_insults_block() {
    use kefu::compliance::Verdict;
    let c = rules();
    for text in [
        "你再给差评试试。",
        "小心点，我们手里有你的电话和地址。",
        "你信不信我把你的地址发到网上。",
        "再闹就把你拉黑。",
        "这么大的字你看不懂吗？",
        "你是不是不识字？",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Block, "{text}");
    }
    for text in [
        "老人家不识字的话，可以看我们的视频教程。",
        "您看不懂的地方告诉我，我一步一步教您。",
        "您的差评我们已经看到了，非常抱歉。",
    ] {
        assert_eq!(verdict_of(&c, text), Verdict::Pass, "{text}");
    }
}
