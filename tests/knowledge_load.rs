//! Loading every knowledge format through the public API.

use std::path::{Path, PathBuf};

use kefu::conversation::Platform;
use kefu::knowledge::{Kind, KnowledgeBase, KnowledgeError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/knowledge")
}

#[path = "support/fs.rs"]
mod fs_support;
use fs_support::copy_dir;

#[test]
fn every_format_loads_with_the_designed_ids_and_titles() {
    let (kb, report) = KnowledgeBase::open(&fixtures()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.files, 8,
        "6 Markdown + 1 CSV + 1 JSONL; dict/synonyms are not knowledge"
    );
    assert_eq!(report.snippets, 12);
    assert_eq!(kb.len(), 12);

    // TOML front matter: preamble is #0, sections numbered from 1.
    let s = kb
        .snippet("policies/returns#0")
        .expect("text before the first section");
    assert_eq!(s.doc_id, "policies/returns");
    assert!(s.text.contains("七天无理由"));
    let s = kb.snippet("policies/returns#1").unwrap();
    assert_eq!(s.title, "退换货政策 / 退货运费");
    assert_eq!(s.kind, Kind::Policy);
    assert_eq!(s.source, "policies/returns.md");
    assert_eq!(s.tags, vec!["退货", "运费险"]);
    assert_eq!(s.valid_from, chrono::NaiveDate::from_ymd_opt(2026, 1, 1));
    assert!(kb
        .snippet("policies/returns#2")
        .unwrap()
        .text
        .contains("原路退回"));

    // YAML front matter without id: id is the path without extension.
    let s = kb.snippet("policies/jd-price#1").unwrap();
    assert_eq!(s.title, "京东价保 / 京东价保期限");
    assert_eq!(s.platforms, vec![Platform::Jd]);

    // YAML block list; an H1 is the title line, not a #0 snippet.
    assert!(kb.snippet("policies/price#0").is_none());
    assert_eq!(kb.snippet("policies/price#1").unwrap().platforms.len(), 4);

    // CSV with BOM: the id column, else `<file id>:<row>`.
    let s = kb.snippet("faq-1").unwrap();
    assert_eq!((s.kind, s.doc_id.as_str()), (Kind::Faq, "faq-1"));
    assert_eq!(s.title, "什么时候发货？");
    let s = kb.snippet("faq:2").expect("row without id");
    assert_eq!(s.platforms, vec![Platform::Tmall, Platform::Jd]);

    // JSONL products: id = sku, attributes in the text.
    let s = kb.snippet("KT-17-01").unwrap();
    assert_eq!(s.kind, Kind::Product);
    assert!(
        s.text.contains("1800W") && s.text.contains("防干烧"),
        "{}",
        s.text
    );
    assert_eq!(kb.snippet("AF-5L-01").unwrap().platforms.len(), 2);
}

#[test]
fn gbk_csv_is_detected_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "id,question,answer\ngbk-1,支持七天无理由退货吗？,支持，签收后七天内未使用可以申请退货退款。\ngbk-2,发什么快递？,默认中通或韵达快递，偏远地区发邮政。\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(csv);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file really is not UTF-8"
    );
    std::fs::write(dir.path().join("faq.csv"), &bytes).unwrap();

    let (kb, report) = KnowledgeBase::open(dir.path()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let s = kb.snippet("gbk-1").unwrap();
    assert_eq!(s.title, "支持七天无理由退货吗？");
    assert!(s.text.contains("签收后七天内"));
    assert_eq!(kb.snippet("gbk-2").unwrap().title, "发什么快递？");
}

#[test]
fn malformed_files_are_reported_with_file_and_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures(), dir.path());
    // Bad TOML on line 3 of the file: the whole document is skipped.
    std::fs::write(
        dir.path().join("broken.md"),
        "+++\ntitle = \"坏的\"\nvalid_from = \n+++\n\n## 段落\n\n不会被加载。\n",
    )
    .unwrap();
    // Unknown platform in YAML: skipped, reported.
    std::fs::write(
        dir.path().join("bad-platform.md"),
        "---\ntitle: 平台写错\nplatforms: [taobao, amazon]\n---\n\n## 段落\n\n内容\n",
    )
    .unwrap();
    // Unclosed front matter.
    std::fs::write(
        dir.path().join("unclosed.md"),
        "---\ntitle: 没关\n\n## 段落\n内容\n",
    )
    .unwrap();
    // A CSV row with too many fields on line 3: only that row is skipped.
    std::fs::write(
        dir.path().join("rows.csv"),
        "id,question,answer\nok-1,问题一,答案一\nbad,问题二,答案二,多余\nok-3,问题三,答案三\n",
    )
    .unwrap();
    // A JSONL line that is not JSON (line 2).
    std::fs::write(
        dir.path().join("more.jsonl"),
        "{\"sku\": \"X-1\", \"name\": \"好商品\"}\n{not json\n{\"sku\": \"X-3\", \"name\": \"也好\"}\n",
    )
    .unwrap();

    let (kb, report) = KnowledgeBase::open(dir.path()).unwrap();
    let find = |file: &str| {
        report
            .errors
            .iter()
            .find(|e| e.file == file)
            .unwrap_or_else(|| panic!("no error for {file}: {:?}", report.errors))
    };
    assert_eq!(find("broken.md").line, Some(3), "{}", find("broken.md"));
    assert!(find("bad-platform.md").message.contains("amazon"));
    assert_eq!(find("unclosed.md").line, Some(1));
    assert_eq!(find("rows.csv").line, Some(3));
    assert_eq!(find("more.jsonl").line, Some(2));
    assert!(find("more.jsonl").to_string().starts_with("more.jsonl:2: "));
    assert_eq!(report.errors.len(), 5, "{:?}", report.errors);

    // The rest loaded.
    assert!(kb.snippet("broken#1").is_none());
    assert!(kb.snippet("ok-1").is_some() && kb.snippet("ok-3").is_some());
    assert!(kb.snippet("bad").is_none());
    assert!(kb.snippet("X-1").is_some() && kb.snippet("X-3").is_some());
    assert!(kb.snippet("policies/returns#1").is_some());
}

#[test]
fn open_fails_only_when_nothing_loads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("synonyms.txt"), "退货 退回去\n").unwrap();
    std::fs::write(dir.path().join("bad.jsonl"), "nope\n").unwrap();
    match KnowledgeBase::open(dir.path()) {
        Err(KnowledgeError::Empty { reason, .. }) => {
            assert!(reason.contains("bad.jsonl:1"), "{reason}")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a folder without knowledge must not open"),
    }
    let missing = dir.path().join("missing");
    assert!(matches!(
        KnowledgeBase::open(&missing),
        Err(KnowledgeError::Io { .. })
    ));
}

#[test]
fn duplicate_ids_keep_the_first_and_report_the_second() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.csv"),
        "id,question,answer\nsame,问一,答一\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.csv"),
        "id,question,answer\nsame,问二,答二\n",
    )
    .unwrap();
    let (kb, report) = KnowledgeBase::open(dir.path()).unwrap();
    assert_eq!(kb.snippet("same").unwrap().title, "问一");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].file, "b.csv");
}

#[test]
fn version_follows_content() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures(), dir.path());
    let (a, _) = KnowledgeBase::open(dir.path()).unwrap();
    let (b, _) = KnowledgeBase::open(dir.path()).unwrap();
    assert_eq!(a.version(), b.version(), "same content, same version");
    assert_eq!(a.version().len(), 12);
    std::fs::write(dir.path().join("synonyms.txt"), "退货 退掉\n").unwrap();
    let (c, _) = KnowledgeBase::open(dir.path()).unwrap();
    assert_ne!(
        a.version(),
        c.version(),
        "synonyms change retrieval, so the version"
    );
}
