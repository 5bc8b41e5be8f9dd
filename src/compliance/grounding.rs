//! Unsupported claims: numbers with units in a draft that none of its sources contains.
//!
//! Numbers are compared by value, so 七天 and 7天, 四十八小时 and 48小时, 八折 and 8折 are the
//! same claim; units are compared by meaning (元/块, 小时/h, 毫升/ml).

use super::normalize::digit_value;

/// A number with a unit, at character offsets `[start, end)` of the text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub value: f64,
    /// Canonical unit; empty for a bare number.
    pub unit: &'static str,
    pub start: usize,
    pub end: usize,
}

/// (written unit, canonical unit); longer spellings first so 个工作日 wins over 个.
const UNITS: &[(&str, &str)] = &[
    ("个工作日", "工作日"),
    ("工作日", "工作日"),
    ("个小时", "小时"),
    ("小时", "小时"),
    ("分钟", "分钟"),
    ("个月", "月"),
    ("个星期", "周"),
    ("星期", "周"),
    ("周", "周"),
    ("天", "天"),
    ("年", "年"),
    ("块钱", "元"),
    ("元", "元"),
    ("块", "元"),
    ("%", "%"),
    ("％", "%"),
    ("折", "折"),
    ("件", "件"),
    ("斤", "斤"),
    ("公斤", "kg"),
    ("千克", "kg"),
    ("kg", "kg"),
    ("毫升", "ml"),
    ("ml", "ml"),
    ("mL", "ml"),
    ("ML", "ml"),
    ("克", "g"),
    ("g", "g"),
    ("升", "l"),
    ("L", "l"),
    ("度", "度"),
    ("℃", "度"),
    ("次", "次"),
    ("倍", "倍"),
    ("瓶", "瓶"),
    ("盒", "盒"),
    ("袋", "袋"),
    ("片", "片"),
    ("粒", "粒"),
    ("厘米", "cm"),
    ("cm", "cm"),
    ("毫米", "mm"),
    ("mm", "mm"),
    ("米", "m"),
    ("英寸", "寸"),
    ("寸", "寸"),
    ("毫安时", "mah"),
    ("毫安", "mah"),
    ("mAh", "mah"),
    ("mah", "mah"),
    ("瓦", "w"),
    ("W", "w"),
    ("h", "小时"),
    ("H", "小时"),
    ("岁", "岁"),
];

fn is_cn_num(c: char) -> bool {
    matches!(
        c,
        '零' | '〇'
            | '一'
            | '二'
            | '两'
            | '三'
            | '四'
            | '五'
            | '六'
            | '七'
            | '八'
            | '九'
            | '十'
            | '百'
            | '千'
            | '万'
            | '半'
    )
}

/// Value of a Chinese numeral such as 四十八, 一百二十, 两千五, 三万, 半.
fn cn_value(s: &[char]) -> Option<f64> {
    if s == ['半'] {
        return Some(0.5);
    }
    let mut total = 0f64;
    let mut section = 0f64;
    let mut digit: Option<f64> = None;
    let mut last_unit = 1f64;
    let mut zero_seen = false;
    for &c in s {
        let unit = match c {
            '十' => 10.0,
            '百' => 100.0,
            '千' => 1000.0,
            '万' => 10000.0,
            '两' => {
                digit = Some(2.0);
                continue;
            }
            '半' => return None,
            _ => {
                let d = digit_value(c)? as f64;
                if d == 0.0 {
                    zero_seen = true;
                }
                digit = Some(d);
                continue;
            }
        };
        if unit == 10000.0 {
            section += digit.take().unwrap_or(0.0);
            total += section.max(1.0) * unit;
            section = 0.0;
        } else {
            section += digit.take().unwrap_or(1.0) * unit;
        }
        last_unit = unit;
        zero_seen = false;
    }
    if let Some(d) = digit {
        // 两千五 is 2500: a trailing digit right after a unit counts in the next lower unit.
        if last_unit >= 100.0 && !zero_seen && last_unit < 10000.0 {
            section += d * last_unit / 10.0;
        } else {
            section += d;
        }
    }
    Some(total + section)
}

/// Reads every number (with its unit when one follows) out of `text`.
pub fn claims(text: &str) -> Vec<Claim> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // A range (3-5天, 三到五个工作日) gives its unit to the numbers before it.
    let mut pending: Vec<Claim> = Vec::new();
    while i < chars.len() {
        let Some((value, end)) = number_at(&chars, i) else {
            i += 1;
            continue;
        };
        let start = i;
        let mut j = end;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let unit = unit_at(&chars, j);
        let mut claim = Claim {
            value,
            unit: "",
            start,
            end,
        };
        if let Some((u, len)) = unit {
            claim.unit = u;
            claim.end = j + len;
            for mut p in pending.drain(..) {
                p.unit = u;
                out.push(p);
            }
            out.push(claim);
            i = j + len;
            continue;
        }
        out.append(&mut pending);
        // Range connector: keep this number until the unit after the second number is known.
        if j < chars.len()
            && matches!(chars[j], '-' | '~' | '～' | '到' | '至' | '—' | '–')
            && number_at(&chars, j + 1).is_some()
        {
            pending.push(claim);
            i = j + 1;
            continue;
        }
        out.push(claim);
        i = end.max(i + 1);
    }
    out.append(&mut pending);
    out
}

/// The number starting at `i`, if any: (value, end index).
fn number_at(chars: &[char], i: usize) -> Option<(f64, usize)> {
    let c = *chars.get(i)?;
    // Inside a longer word or number (abc123, 第三) it is not a claim of its own.
    let prev = i.checked_sub(1).map(|p| chars[p]);
    if prev.is_some_and(|p| {
        p.is_ascii_alphanumeric() || p == '.' || p == '第' || is_cn_num(p) && is_cn_num(c)
    }) {
        return None;
    }
    if c.is_ascii_digit() || ('０'..='９').contains(&c) {
        let mut s = String::new();
        let mut j = i;
        while j < chars.len() {
            let d = chars[j];
            if let Some(v) =
                digit_value(d).filter(|_| d.is_ascii_digit() || ('０'..='９').contains(&d))
            {
                s.push((b'0' + v) as char);
            } else if (d == '.' || d == ',')
                && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit())
                && !s.is_empty()
            {
                if d == '.' {
                    s.push('.');
                }
            } else {
                break;
            }
            j += 1;
        }
        return s.parse::<f64>().ok().map(|v| (v, j));
    }
    if is_cn_num(c) {
        let mut j = i;
        while j < chars.len() && is_cn_num(chars[j]) {
            j += 1;
        }
        let v = cn_value(&chars[i..j])?;
        return Some((v, j));
    }
    None
}

fn unit_at(chars: &[char], j: usize) -> Option<(&'static str, usize)> {
    for (written, canon) in UNITS {
        let w: Vec<char> = written.chars().collect();
        if chars.len() >= j + w.len() && chars[j..j + w.len()] == w[..] {
            let after = chars.get(j + w.len()).copied();
            // A Latin unit must end the word (5g, not 5gb).
            if w.iter().all(|c| c.is_ascii_alphabetic())
                && after.is_some_and(|c| c.is_ascii_alphabetic())
            {
                continue;
            }
            return Some((canon, w.len()));
        }
    }
    None
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Claims of `text` that none of `sources` supports. Dates (2024年), ordinals and a lone 一
/// (一次, 一件: ordinary wording, not a figure) are not claims.
pub fn unsupported(text: &str, sources: &[String]) -> Vec<Claim> {
    let known: Vec<Claim> = sources.iter().flat_map(|s| claims(s)).collect();
    let chars: Vec<char> = text.chars().collect();
    // Money may be worked out from the sources: 还差20元 when the order is 279 and the
    // threshold 299. Sums and differences of two amounts count as grounded.
    let money: Vec<f64> = known
        .iter()
        .filter(|k| k.unit == "元" || k.unit.is_empty())
        .map(|k| k.value)
        .collect();
    let derived = |v: f64| {
        money.iter().enumerate().any(|(i, a)| {
            money[i + 1..]
                .iter()
                .any(|b| same((a - b).abs(), v) || same(a + b, v))
        })
    };
    claims(text)
        .into_iter()
        .filter(|c| !c.unit.is_empty())
        .filter(|c| !(c.unit == "元" && derived(c.value)))
        .filter(|c| !(c.unit == "年" && c.value >= 1900.0))
        .filter(|c| !(same(c.value, 1.0) && chars.get(c.start) == Some(&'一')))
        .filter(|c| {
            !known
                .iter()
                .any(|k| same(k.value, c.value) && (k.unit == c.unit || k.unit.is_empty()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(s: &str) -> Vec<(f64, &'static str)> {
        claims(s).into_iter().map(|c| (c.value, c.unit)).collect()
    }

    #[test]
    fn reads_numbers() {
        assert_eq!(vals("七天无理由"), vec![(7.0, "天")]);
        assert_eq!(vals("四十八小时内"), vec![(48.0, "小时")]);
        assert_eq!(vals("满200元减20块"), vec![(200.0, "元"), (20.0, "元")]);
        assert_eq!(vals("3-5个工作日"), vec![(3.0, "工作日"), (5.0, "工作日")]);
        assert_eq!(vals("一百二十毫升"), vec![(120.0, "ml")]);
        assert_eq!(vals("两千五百元"), vec![(2500.0, "元")]);
        assert_eq!(vals("两千五"), vec![(2500.0, "")]);
        assert_eq!(vals("2.5kg"), vec![(2.5, "kg")]);
        assert_eq!(vals("八折"), vec![(8.0, "折")]);
    }

    #[test]
    fn grounded_numbers_pass() {
        let src = vec!["本店支持7天无理由退货，四十八小时内发货".to_string()];
        assert!(unsupported("七天无理由，48小时发货", &src).is_empty());
        let u = unsupported("30天无理由", &src);
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].start, u[0].end), (0, 3));
        assert!(unsupported("第一次购物，一次性付清，2024年", &src).is_empty());
    }
}
