//! Personal-data detectors, shared by the compliance check and the redaction step.
//!
//! Numbers are read in any digit form (ASCII, full-width, circled, Chinese) with single
//! separators between groups (138-1234-5678, 一三八 一二三四 五六七八), so an evasion is found
//! as surely as the plain form.

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::matcher::{text_after, text_before};
use super::normalize::{digit_value, is_number_separator};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Phone,
    IdCard,
    BankCard,
    Email,
    Address,
    /// A fixed-line number with its area code (010-12345678, 0755 8888 8888).
    Landline,
    /// A 400/800 service number (a brand's or another company's hotline).
    ServiceNumber,
    /// A QQ number named as such (QQ 12345678, 扣扣：12345).
    Qq,
}

impl PiiKind {
    /// The label used in redaction placeholders (`[手机号1]`).
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::Phone => "手机号",
            PiiKind::IdCard => "身份证",
            PiiKind::BankCard => "银行卡",
            PiiKind::Email => "邮箱",
            PiiKind::Address => "地址",
            PiiKind::Landline => "电话",
            PiiKind::ServiceNumber => "服务电话",
            PiiKind::Qq => "QQ号",
        }
    }

    pub const ALL: [PiiKind; 8] = [
        PiiKind::Phone,
        PiiKind::IdCard,
        PiiKind::BankCard,
        PiiKind::Email,
        PiiKind::Address,
        PiiKind::Landline,
        PiiKind::ServiceNumber,
        PiiKind::Qq,
    ];
}

/// A detected value; `start`/`end` are character offsets into the text, end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PiiMatch {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
    /// For ID cards: whether the GB 11643 check digit is right; for bank cards: Luhn; for
    /// addresses: whether a unit only addresses have is present (redaction masks every
    /// address-like span, the check reports only these).
    pub valid: bool,
}

/// Finds personal data in `text`, sorted by start, non-overlapping.
pub fn detect(text: &str) -> Vec<PiiMatch> {
    detect_with(text, true)
}

/// As [`detect`]; `addresses: false` skips the address heuristic (the check does not use it).
pub fn detect_with(text: &str, addresses: bool) -> Vec<PiiMatch> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    emails(text, &mut found);
    numbers(&chars, &mut found);
    qq_numbers(text, &mut found);
    if addresses {
        self::addresses(text, &mut found);
    }
    // Earlier kinds in this order win an overlap: e-mails hold digits, addresses hold 号.
    let rank = |k: PiiKind| match k {
        PiiKind::Email => 0,
        PiiKind::IdCard => 1,
        PiiKind::Phone => 2,
        PiiKind::BankCard => 3,
        PiiKind::Landline => 4,
        PiiKind::ServiceNumber => 5,
        PiiKind::Qq => 6,
        PiiKind::Address => 7,
    };
    found.sort_by_key(|m: &PiiMatch| (rank(m.kind), m.start));
    let mut kept: Vec<PiiMatch> = Vec::with_capacity(found.len());
    for m in found {
        if kept.iter().all(|k| m.end <= k.start || m.start >= k.end) {
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| m.start);
    kept
}

/// GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits.
pub fn id_check_char(first17: &[u8]) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.iter().zip(W).map(|(&d, w)| d as u32 * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// Luhn checksum over decimal digits.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = d as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Converts nondecreasing byte offsets to character offsets in one pass over the text.
pub(crate) struct CharCounter<'a> {
    text: &'a str,
    byte: usize,
    chars: usize,
}

impl<'a> CharCounter<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        CharCounter {
            text,
            byte: 0,
            chars: 0,
        }
    }

    pub(crate) fn at(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

/// Character offset → byte offset of a text.
pub(crate) struct CharIndex {
    bytes: Vec<usize>,
}

impl CharIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        bytes.push(text.len());
        CharIndex { bytes }
    }

    /// Byte offset of character `c`; the text length past the end.
    pub(crate) fn byte(&self, c: usize) -> usize {
        self.bytes[c.min(self.bytes.len() - 1)]
    }
}

fn emails(text: &str, out: &mut Vec<PiiMatch>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"[A-Za-z0-9][A-Za-z0-9._%+\-]*[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
        )
        .expect("static e-mail pattern")
    });
    let mut pos = CharCounter::new(text);
    for m in re.find_iter(text) {
        out.push(PiiMatch {
            kind: PiiKind::Email,
            start: pos.at(m.start()),
            end: pos.at(m.end()),
            valid: true,
        });
    }
}

/// QQ numbers named as such: QQ, 扣扣, 企鹅号 or Q号, then 5-11 digits (the name says what the
/// number is, so no checksum or length rule is needed).
fn qq_numbers(text: &str, out: &mut Vec<PiiMatch>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?i)(?:qq|ｑｑ|扣扣|企鹅号?|q号)(?:号码|号)?(?:是|为)?[:：]?[ \t\u{3000}]*([1-9][0-9]{4,10})",
        )
        .expect("static QQ pattern")
    });
    let mut pos = CharCounter::new(text);
    for c in re.captures_iter(text) {
        let Some(n) = c.get(1) else { continue };
        // The number must end there: 12 or more digits are something else.
        if text[n.end()..].starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        out.push(PiiMatch {
            kind: PiiKind::Qq,
            start: pos.at(n.start()),
            end: pos.at(n.end()),
            valid: true,
        });
    }
}

/// One group of digits written without separators, with its character positions.
struct Group {
    digits: Vec<u8>,
    /// Whether the group ends in an X (the ID card check character).
    x: bool,
    start: usize,
    end: usize,
}

/// Splits the text into runs of digit groups joined by single separators, then reads phones,
/// ID cards and bank cards out of consecutive groups of each run.
fn numbers(chars: &[char], out: &mut Vec<PiiMatch>) {
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i]).is_none() {
            i += 1;
            continue;
        }
        // Chinese digits only count in long runs, or 一个 would start a number.
        let mut groups: Vec<Group> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            let mut digits = Vec::new();
            while j < chars.len() {
                match digit_value(chars[j]) {
                    Some(d) => digits.push(d),
                    None => break,
                }
                j += 1;
            }
            let mut x = false;
            if j < chars.len() && matches!(chars[j], 'X' | 'x' | 'Ｘ' | 'ｘ') && digits.len() >= 17
            {
                x = true;
                j += 1;
            }
            groups.push(Group {
                digits,
                x,
                start,
                end: j,
            });
            if !x
                && j + 1 < chars.len()
                && is_number_separator(chars[j])
                && digit_value(chars[j + 1]).is_some()
            {
                j += 1;
                continue;
            }
            break;
        }
        read_run(chars, &groups, out);
        i = j.max(i + 1);
    }
}

fn is_ascii_run(chars: &[char], g: &Group) -> bool {
    chars[g.start..g.end]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || ('０'..='９').contains(c))
}

fn read_run(chars: &[char], groups: &[Group], out: &mut Vec<PiiMatch>) {
    let mut a = 0;
    while a < groups.len() {
        let mut best: Option<(usize, PiiMatch)> = None;
        let mut digits: Vec<u8> = Vec::new();
        let mut x = false;
        for (b, g) in groups.iter().enumerate().skip(a) {
            if x {
                break;
            }
            digits.extend_from_slice(&g.digits);
            x = g.x;
            if digits.len() > 19 {
                break;
            }
            let (start, end) = (groups[a].start, g.end);
            let plain = groups[a..=b].iter().all(|g| is_ascii_run(chars, g));
            // Non-ASCII digits are an evasion only in a long run; short ones are words (一二).
            if !plain && digits.len() < 7 {
                continue;
            }
            if let Some(m) = classify(chars, &digits, x, start, end) {
                best = Some((b, m));
            }
        }
        match best {
            Some((b, m)) => {
                out.push(m);
                a = b + 1;
            }
            None => a += 1,
        }
    }
}

fn classify(chars: &[char], d: &[u8], x: bool, start: usize, end: usize) -> Option<PiiMatch> {
    let m = |kind, valid| PiiMatch {
        kind,
        start,
        end,
        valid,
    };
    // A number glued to letters (an order id like SO13812345678) is not one of these.
    let before = start.checked_sub(1).map(|i| chars[i]);
    let after = chars.get(end).copied();
    if before.is_some_and(|c| c.is_ascii_alphanumeric())
        || after.is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    if x || d.len() == 18 {
        if d.len() + usize::from(x) == 18 && plausible_id(d) {
            let check = id_check_char(&d[..17]);
            let last = if x { 'X' } else { (b'0' + d[17]) as char };
            return Some(m(PiiKind::IdCard, check == last));
        }
        if x {
            return None;
        }
    }
    if d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1]) {
        return Some(m(PiiKind::Phone, true));
    }
    if d.len() == 13 && d[..2] == [8, 6] && d[2] == 1 && (3..=9).contains(&d[3]) {
        let plus = before == Some('+');
        return Some(PiiMatch {
            start: if plus { start - 1 } else { start },
            ..m(PiiKind::Phone, true)
        });
    }
    let order_words = [
        "订单", "单号", "运单", "快递", "物流", "编号", "工单", "序列",
    ];
    // 400/800 service lines: ten digits, usually written 400-820-1234.
    if d.len() == 10 && matches!(d[..3], [4, 0, 0] | [8, 0, 0]) {
        return Some(m(PiiKind::ServiceNumber, true));
    }
    // Fixed lines: area code 0XX or 0XXX, then 7-8 digits (010-12345678, 0755 8888 8888).
    if (10..=12).contains(&d.len()) && d[0] == 0 && d[1] != 0 {
        let context = context_before(chars, start, 8);
        if !order_words.iter().any(|w| context.contains(w)) {
            return Some(m(PiiKind::Landline, true));
        }
    }
    if (16..=19).contains(&d.len()) {
        let valid = luhn_valid(d);
        let context = context_before(chars, start, 8);
        let card_words = ["卡号", "银行卡", "卡", "账号", "帐号", "储蓄", "信用"];
        if order_words.iter().any(|w| context.contains(w)) {
            return None;
        }
        let card_context = card_words.iter().any(|w| context.contains(w));
        // Card numbers start with 62 (UnionPay), 4 (Visa), 5 (Mastercard), 3 (JCB/Amex).
        let card_prefix = matches!(d[0], 3..=6);
        if (valid && card_prefix) || card_context {
            return Some(m(PiiKind::BankCard, valid));
        }
    }
    None
}

fn context_before(chars: &[char], start: usize, n: usize) -> String {
    chars[start.saturating_sub(n)..start].iter().collect()
}

/// Region code starts 1-8 and the birth date reads as a date.
fn plausible_id(d: &[u8]) -> bool {
    if d.len() < 17 || !(1..=8).contains(&d[0]) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    (1900..=2099).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Address heuristic for redaction: two or more administrative or street units in a row, at least
/// one of them street-level (路, 号, 小区, 栋, 单元, 室 …).
fn addresses(text: &str, out: &mut Vec<PiiMatch>) {
    let mut pos = CharCounter::new(text);
    for (start, end, valid) in address_spans(text) {
        out.push(PiiMatch {
            kind: PiiKind::Address,
            start: pos.at(start),
            end: pos.at(end),
            valid,
        });
    }
}

/// Byte spans of the address-like runs in `text`, in order, each with whether it is a sure
/// address (see `STRONG`). The classifier reads each run that is not sure as one placeholder, as
/// it reads a run of digits: which street a case named should not decide a verdict.
pub(crate) fn address_spans(text: &str) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let unit = r"(?:省|自治区|市|区|县|旗|镇|乡|街道|大道|路|街|巷|弄|胡同|号院|号楼|号|小区|花园|公寓|大厦|广场|苑|村|组|栋|幢|座|楼|单元|层|室|户)";
        Regex::new(&format!(r"(?:[\p{{Han}}A-Za-z0-9\-]{{1,10}}?{unit}){{2,}}"))
            .expect("static address pattern")
    });
    static STREET: OnceLock<Regex> = OnceLock::new();
    let street = STREET.get_or_init(|| {
        Regex::new(r"(?:路|街|大道|巷|弄|胡同|\d+号|小区|栋|幢|单元|\d+室|村)")
            .expect("static street pattern")
    });
    // Sure only with a numbered or lettered building, door or room (A座 too: review 20): that
    // is what finds one household.
    // A city, district and street read back (地址是杭州市西湖区文三路那个没变吧) name thousands
    // of people, and are what the check's own suggestion keeps; blind probes 30 and 31 labelled
    // them sendable. 原路退回到您的账户 has 路 and 户, but no number either.
    static STRONG: OnceLock<Regex> = OnceLock::new();
    let strong = STRONG.get_or_init(|| {
        Regex::new(r"[0-9０-９一二三四五六七八九十]+(?:号|栋|幢|单元|室|楼|层|弄|组)|[A-Za-z0-9]座")
            .expect("static address unit pattern")
    });
    // A building-unit-room number written with dashes after the last unit (翠苑小区5-3-502).
    static DASHED: OnceLock<Regex> = OnceLock::new();
    let dashed = DASHED.get_or_init(|| {
        Regex::new(r"^[0-9０-９]+(?:[-－][0-9０-９]+)+").expect("static dashed number pattern")
    });
    re.find_iter(text).filter_map(|m| {
        let s = m.as_str();
        if !street.is_match(s) {
            return None;
        }
        // Leading verbs and particles (寄到, 发往, 地址是) are not part of the address.
        let start = m.start() + leading_noise(s);
        let sure = (strong.is_match(s) || dashed.is_match(&text[m.end()..]))
            && !shops_own(text, start, m.end());
        (m.end() - start >= 6).then_some((start, m.end(), sure))
    })
}

/// Whether the address at bytes `start..end` is the shop's own: a return address (退货请寄到：
/// …春晗路12号售后部收), a store or a warehouse (我们的线下门店在…文三路88号), named in the address's
/// sentence with no person named between the two. Agents send these every day and they find no
/// customer's household, so the check does not report them (review 21); redaction still masks
/// them, as it masks every address-like run.
fn shops_own(text: &str, start: usize, end: usize) -> bool {
    const LEADS: [&str; 24] = [
        "退货地址",
        "退回地址",
        "退换货地址",
        "换货地址",
        "售后地址",
        "寄回地址",
        "返修地址",
        "门店地址",
        "店铺地址",
        "公司地址",
        "仓库地址",
        "发货地址",
        "实体店",
        "线下店",
        "门店在",
        "专柜在",
        "仓库在",
        "我们公司在",
        "本公司在",
        "工厂在",
        "总部在",
        "退货请寄到",
        "退货请寄回",
        "寄回到",
    ];
    const FOLLOWS: [&str; 11] = [
        "售后部",
        "售后组",
        "售后收",
        "仓库收",
        "退货部",
        "退货组",
        "门店",
        "专柜",
        "仓库",
        "旗舰店",
        "体验店",
    ];
    // A person between the lead and the address makes it theirs (那位顾客说门店在附近，她住…: code review).
    const PEOPLE: [&str; 6] = ["她", "他", "顾客", "买家", "客户", "客人"];
    let before = text_before(text, start, 12, |c| {
        matches!(c, '。' | '！' | '？' | '!' | '?' | '\n')
    });
    // The run may have taken the lead in (门店在杭州市… is one run of units).
    let around = [before, text_after(&text[..end], start, 12, |_| false)].concat();
    let after = text[end..].trim_start();
    LEADS.iter().any(|w| {
        around
            .rfind(w)
            .is_some_and(|i| !PEOPLE.iter().any(|p| around[i + w.len()..].contains(p)))
    }) || FOLLOWS.iter().any(|w| after.starts_with(w))
}

/// Byte length of a leading phrase that introduces an address rather than being one.
fn leading_noise(s: &str) -> usize {
    const LEADS: [&str; 14] = [
        "收货地址是",
        "收货地址为",
        "地址是",
        "地址为",
        "地址改为",
        "改为",
        "改成",
        "寄到",
        "发到",
        "送到",
        "寄往",
        "发往",
        "送往",
        "是",
    ];
    for l in LEADS {
        if let Some(pos) = s.find(l) {
            if pos <= 12 {
                return pos + l.len();
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(PiiKind, bool, String)> {
        let chars: Vec<char> = s.chars().collect();
        detect(s)
            .into_iter()
            .map(|m| (m.kind, m.valid, chars[m.start..m.end].iter().collect()))
            .collect()
    }

    #[test]
    fn numbers_in_many_forms() {
        assert_eq!(kinds("打13812345678")[0].0, PiiKind::Phone);
        assert_eq!(kinds("138-1234-5678")[0].2, "138-1234-5678");
        assert_eq!(kinds("一三八一二三四五六七八")[0].0, PiiKind::Phone);
        assert_eq!(kinds("①③⑨-⑧⑧⑧⑧-⑥⑥⑥⑥")[0].0, PiiKind::Phone);
        assert_eq!(kinds("13812345678 13912345678").len(), 2);
        assert!(kinds("一个月三十天").is_empty());
        assert!(kinds("订单号 2024113812345678901").is_empty());
    }

    #[test]
    fn id_and_cards() {
        assert_eq!(
            kinds("身份证11010519491231002X")[0],
            (PiiKind::IdCard, true, "11010519491231002X".into())
        );
        assert!(!kinds("110105194912310021")[0].1);
        assert_eq!(kinds("卡号6222020200000000006")[0].0, PiiKind::BankCard);
        assert!(kinds("卡号6222020200000000006")[0].1);
        assert!(!kinds("卡号6222020200000000007")[0].1);
        assert!(
            kinds("6222020200000000007").is_empty(),
            "no Luhn, no card context"
        );
    }

    #[test]
    fn emails_and_addresses() {
        assert_eq!(kinds("发到 a.b@163.com 吧")[0].2, "a.b@163.com");
        let a = kinds("地址是浙江省杭州市西湖区文三路123号3单元502室，谢谢");
        assert_eq!(a[0].0, PiiKind::Address);
        assert_eq!(a[0].2, "浙江省杭州市西湖区文三路123号3单元502室");
        assert!(kinds("包裹已到达您所在城市的转运中心").is_empty());
        assert!(a[0].1, "a numbered room makes it a sure address");
        // Redaction masks address-like spans too; only sure ones are reported by the check.
        let loose = kinds("会第一时间原路退回到您的支付账户");
        assert!(
            loose.iter().all(|k| k.0 != PiiKind::Address || !k.1),
            "路 and 户 alone are no sure address: {loose:?}"
        );
        let street = kinds("寄到中山路幸福花园");
        assert_eq!(street[0].0, PiiKind::Address, "{street:?}");
        assert!(!street[0].1);
    }

    #[test]
    fn the_shops_own_return_address_or_store_is_no_sure_address() {
        // Review 21: agents send these every day; they find no customer's household.
        for text in [
            "退货请寄到：浙江省金华市义乌市北苑街道春晗路12号售后部收，寄出后把单号发我就行",
            "我们的线下门店在杭州市西湖区文三路88号，欢迎您周末来试穿",
            "退货地址：广州市白云区太和镇营溪路18号3楼",
        ] {
            let found = kinds(text);
            assert_eq!(found[0].0, PiiKind::Address, "{text}: still masked");
            assert!(
                !found[0].1,
                "{text}: the shop's own address is not reported"
            );
        }
        // A comma between the lead and the address is fine (code review 2).
        assert!(!kinds("我们的退货地址如下，浙江省杭州市西湖区文三路88号，收件人王先生")[0].1);
        // The customer's own, read back or shipped to, stays sure; so does a person's after a
        // lead (code review 1).
        assert!(kinds("那位顾客说门店在附近，她住杭州市西湖区文三路88号3单元502")[0].1);
        assert!(kinds("已经给您寄到杭州市西湖区文三路88号了")[0].1);
        assert!(kinds("您的收货地址是杭州市西湖区文三路88号3单元502对吗")[0].1);
    }

    #[test]
    fn a_street_read_back_without_a_house_number_is_no_sure_address() {
        // Blind probes 30 and 31: sendable replies that confirm a district and street.
        for text in [
            "地址是杭州市西湖区文三路那个没变吧",
            "地址是杭州市余杭区仓前街道，没问题的话我就给您备注改地址啦",
        ] {
            let found = kinds(text);
            assert_eq!(
                found[0].0,
                PiiKind::Address,
                "{text}: still masked for redaction"
            );
            assert!(!found[0].1, "{text}: no house number, no sure address");
        }
        assert!(kinds("寄到文三路88号")[0].1, "a door number makes it sure");
        assert!(kinds("西湖区文三路3单元502")[0].1);
        // Review of session 13: a lettered block and a dashed number after the last unit.
        assert!(kinds("天府三街太平洋金融大厦A座1903")[0].1);
        assert!(kinds("收货地址是杭州市西湖区翠苑小区5-3-502")[0].1);
    }

    #[test]
    fn landlines_service_numbers_and_qq() {
        assert_eq!(
            kinds("门店电话 0571-86021234")[0],
            (PiiKind::Landline, true, "0571-86021234".into())
        );
        assert_eq!(kinds("010-12345678")[0].0, PiiKind::Landline);
        assert_eq!(kinds("0755 8888 8888")[0].2, "0755 8888 8888");
        assert_eq!(
            kinds("厂家售后 400-820-1234")[0],
            (PiiKind::ServiceNumber, true, "400-820-1234".into())
        );
        assert_eq!(
            kinds("QQ：2837465910")[0],
            (PiiKind::Qq, true, "2837465910".into())
        );
        assert_eq!(kinds("扣扣 12345")[0].2, "12345");
        assert!(
            kinds("QQ 1234").is_empty(),
            "four digits are not a QQ number"
        );
        assert!(kinds("订单号 0571860212345").is_empty());
    }
}
