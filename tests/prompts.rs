//! The prompt templates: strict mode with real data, and a broken template named with its line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kefu::conversation::{Platform, Turn};
use kefu::knowledge::{Hit, Kind};
use kefu::prompt::{PromptContext, Prompts};
use kefu::scenario::{Classification, Emotion, Scenario};

#[path = "support/fs.rs"]
mod fs_support;
use fs_support::copy_dir;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn hit(expired: bool) -> Hit {
    Hit {
        id: "policies/x#1".into(),
        doc_id: "policies/x".into(),
        title: "618 活动 / 价保".into(),
        kind: Kind::Policy,
        score: 1.0,
        text: "活动期间下单 15 天内降价可申请价保。".into(),
        source: "policies/x.md".into(),
        expired,
        valid_from: chrono::NaiveDate::from_ymd_opt(2026, 5, 20),
        valid_to: chrono::NaiveDate::from_ymd_opt(2026, 6, 20),
    }
}

fn ctx(scenario: Scenario, hits: &[Hit]) -> PromptContext {
    let mut facts = BTreeMap::new();
    facts.insert("订单状态".to_string(), "已发货".to_string());
    PromptContext::new(
        "测试店",
        Some(Platform::Jd),
        Classification {
            scenario,
            emotion: Emotion::Angry,
        },
        hits,
        &[Turn::customer("618那会儿买的 能补差价吗 <b>&</b>")],
        &facts,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    )
}

#[test]
fn every_scenario_renders_in_strict_mode_with_snippets_facts_and_no_html_escaping() {
    let prompts = Prompts::load(&repo("prompts")).expect("bundled prompts load");
    for scenario in Scenario::ALL {
        let (chat, rendered) = prompts
            .chat(&ctx(scenario, &[hit(true)]), None, 256, 0.3)
            .unwrap();
        assert!(chat.system.contains("测试店"), "{scenario:?}");
        assert!(
            chat.user.contains("活动期间下单"),
            "{scenario:?}: snippet missing"
        );
        assert!(
            chat.user.contains("已结束"),
            "{scenario:?}: expired mark missing"
        );
        assert!(
            chat.user.contains("订单状态：已发货"),
            "{scenario:?}: order facts missing"
        );
        assert!(
            chat.user.contains("<b>&</b>"),
            "{scenario:?}: text was HTML-escaped"
        );
        assert!(chat.user.contains("京东"), "{scenario:?}: platform missing");
        assert!(!rendered.template_hash.is_empty());
    }
}

#[test]
fn without_snippets_the_prompt_says_not_to_invent_policy() {
    let prompts = Prompts::load(&repo("prompts")).unwrap();
    let (chat, _) = prompts
        .chat(&ctx(Scenario::Other, &[]), None, 256, 0.3)
        .unwrap();
    assert!(chat.user.contains("请不要自行编造政策"), "{}", chat.user);
    let holding = prompts.no_answer(&ctx(Scenario::Other, &[])).unwrap();
    assert!(holding.text.contains("人工客服"));
}

#[test]
fn a_broken_template_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("prompts"), dir.path());
    std::fs::write(
        dir.path().join("scenarios/logistics.hbs"),
        "第一行\n第二行 {{#if x}}\n没有结束",
    )
    .unwrap();
    let err = Prompts::load(dir.path())
        .err()
        .expect("a broken template fails to load")
        .to_string();
    assert!(err.contains("logistics.hbs"), "{err}");
    assert!(
        err.contains(":2:") || err.contains(":3:"),
        "no line in: {err}"
    );
}

#[test]
fn a_missing_scenario_template_is_named() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("prompts"), dir.path());
    std::fs::remove_file(dir.path().join("scenarios/promotion.hbs")).unwrap();
    let err = Prompts::load(dir.path())
        .err()
        .expect("missing template fails")
        .to_string();
    assert!(err.contains("promotion.hbs"), "{err}");
    // Regression: the message doubled the extension (`promotion.hbs.hbs`).
    assert!(!err.contains(".hbs.hbs"), "{err}");
    assert!(err.contains("prompts.dir"), "says what to do: {err}");
}
