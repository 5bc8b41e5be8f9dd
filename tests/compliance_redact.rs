//! The redaction step: masking, restoring, log masking and the streaming restorer.

use kefu::redact::{self, Vault};
use tokio::sync::mpsc;

const PHONE: &str = "13812345678";
const ID: &str = "11010519491231002X";
const CARD: &str = "6222020200000000006";
const MAIL: &str = "li.ming@163.com";
const ADDR: &str = "浙江省杭州市西湖区文三路123号3单元502室";

fn sample() -> String {
    format!("我电话{PHONE}，身份证{ID}，银行卡{CARD}，邮箱{MAIL}，地址{ADDR}，谢谢")
}

#[test]
fn masked_text_contains_none_of_the_originals() {
    let mut vault = Vault::default();
    let masked = redact::mask(&sample(), &mut vault);
    for original in [PHONE, ID, CARD, MAIL, ADDR] {
        assert!(!masked.contains(original), "{original} left in {masked}");
    }
    for placeholder in ["[手机号1]", "[身份证1]", "[银行卡1]", "[邮箱1]", "[地址1]"] {
        assert!(
            masked.contains(placeholder),
            "{placeholder} missing in {masked}"
        );
    }
    assert_eq!(vault.len(), 5);
}

#[test]
fn restore_of_mask_is_the_original() {
    for text in [
        sample(),
        "没有个人信息的一句话".to_string(),
        "一三八一二三四五六七八 和 138-1234-5678 都是电话".to_string(),
        String::new(),
    ] {
        let mut vault = Vault::default();
        let masked = redact::mask(&text, &mut vault);
        assert_eq!(redact::restore(&masked, &vault), text);
    }
}

#[test]
fn same_value_gets_the_same_placeholder_across_turns() {
    let mut vault = Vault::default();
    let a = redact::mask(&format!("电话{PHONE}"), &mut vault);
    let b = redact::mask(&format!("还是这个号{PHONE}，另一个13987654321"), &mut vault);
    assert_eq!(a, "电话[手机号1]");
    assert_eq!(b, "还是这个号[手机号1]，另一个[手机号2]");
    assert_eq!(vault.get("[手机号2]"), Some("13987654321"));
}

#[test]
fn restore_leaves_unknown_placeholders_alone() {
    let mut vault = Vault::default();
    redact::mask(&format!("电话{PHONE}"), &mut vault);
    assert_eq!(
        redact::restore("已记录[手机号1]，[手机号9]未知", &vault),
        format!("已记录{PHONE}，[手机号9]未知")
    );
}

#[test]
fn mask_for_log_hides_the_middle_of_phones_and_whole_ids() {
    let logged = redact::mask_for_log(&sample());
    assert!(logged.contains("138****5678"), "{logged}");
    for original in [PHONE, ID, CARD, MAIL, ADDR] {
        assert!(!logged.contains(original), "{original} left in {logged}");
    }
}

async fn collect(chunks: &[&str], vault: Vault) -> Vec<String> {
    let (out_tx, mut out_rx) = mpsc::channel(16);
    let tx = redact::restoring_sender(out_tx, vault);
    for c in chunks {
        tx.send(c.to_string()).await.expect("send chunk");
    }
    drop(tx);
    let mut got = Vec::new();
    while let Some(s) = out_rx.recv().await {
        got.push(s);
    }
    got
}

#[tokio::test]
async fn restoring_sender_joins_placeholders_split_across_chunks() {
    let mut vault = Vault::default();
    redact::mask(&format!("电话{PHONE}，邮箱{MAIL}"), &mut vault);
    let got = collect(
        &[
            "好的，已记录您的电话[手",
            "机号",
            "1",
            "]，邮箱[邮箱1]。",
            "[地",
        ],
        vault,
    )
    .await;
    let joined = got.concat();
    assert_eq!(
        joined,
        format!("好的，已记录您的电话{PHONE}，邮箱{MAIL}。[地")
    );
    assert!(got.iter().all(|c| !c.contains("[手机号")), "{got:?}");
    // The text before the split placeholder is not held back.
    assert_eq!(got[0], "好的，已记录您的电话");
}

#[tokio::test]
async fn restoring_sender_releases_a_bracket_that_is_no_placeholder() {
    let got = collect(&["规格[", "大号]", "已发货"], Vault::default()).await;
    assert_eq!(got.concat(), "规格[大号]已发货");
}

#[tokio::test]
async fn restoring_sender_flushes_a_held_tail_on_drop() {
    let got = collect(&["结尾是[手机号"], Vault::default()).await;
    assert_eq!(got.concat(), "结尾是[手机号");
}

/// Landlines, 400/800 lines and QQ numbers are found by the check, so redaction masks them too
/// (one detector for both), and restoring puts them back.
#[test]
fn redaction_masks_every_kind_the_check_finds() {
    use kefu::compliance::{Compliance, Grounding};
    let text = "门店电话 0571-86021234，厂家热线 400-820-1234，QQ：2837465910";
    let mut vault = Vault::default();
    let masked = redact::mask(text, &mut vault);
    for original in ["0571-86021234", "400-820-1234", "2837465910"] {
        assert!(!masked.contains(original), "{original} left in {masked}");
    }
    for placeholder in ["[电话1]", "[服务电话1]", "[QQ号1]"] {
        assert!(
            masked.contains(placeholder),
            "{placeholder} missing in {masked}"
        );
    }
    assert_eq!(redact::restore(&masked, &vault), text);

    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let c = Compliance::load(&rules).expect("shipped rules load");
    let r = c.check(text, &Grounding::default());
    for (rule, matched) in [
        ("pii.landline", "0571-86021234"),
        ("pii.service_number", "400-820-1234"),
        ("pii.qq", "2837465910"),
    ] {
        assert!(
            r.findings
                .iter()
                .any(|f| f.rule == rule && f.matched == matched),
            "{rule} {matched} not found: {:?}",
            r.findings
        );
    }
}
