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
