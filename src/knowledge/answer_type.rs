//! Expected answer type: what kind of answer a question asks for (a time, an amount, steps, a
//! place) and whether a snippet holds one. 多久 is answered by 48小时内 or 1—7个工作日, not by
//! a section on the same topic without a time in it; 能抵多少 by 抵扣50元.
//!
//! Generic Chinese cues only (question words, numbers with units, numbered steps), no shop's
//! vocabulary: a question without such a cue, and a snippet without one, are left alone.

use regex::RegexSet;

/// A time or duration: 多久 / 几天 / 几年 / 什么时候 ↔ 48小时, 1—7个工作日, 2年, 3个月,
/// 12月31日, 次日, 16:00.
pub const DURATION: u8 = 1;
/// An amount: 多少钱 / 能抵多少 ↔ 50元, 5%, 9折, 满259减30.
pub const AMOUNT: u8 = 2;
/// A procedure: 怎么申请 / 怎么弄 ↔ 1. … 2. …, 点击, 「一键价保」.
pub const PROCEDURE: u8 = 4;
/// A place: 从哪发 ↔ 浙江省慈溪市, 华东仓库.
pub const PLACE: u8 = 8;

const KINDS: [u8; 4] = [DURATION, AMOUNT, PROCEDURE, PLACE];

/// Question cues, one per kind, in the order of [`KINDS`].
const ASK: [&str; 4] = [
    // 没几天 / 前几天 / 好几年 describe, they do not ask.
    "多久|多长时间|多少天|(^|[^没前这过好])几(天|年|个月)|几个?小时|几个?工作日|什么时候|啥时候|几号|几点|多会|多少年|多少个月",
    "多少钱|多少|几块|几元|怎么算|咋算|能抵|抵多少|补多少|赔多少|收费|收钱|费用|价格",
    // 怎么办 / 咋办 ask what to do, not for steps.
    "(怎么|咋|如何)(弄|操作|申请|退|换|开|用|领|付|改|查|联系|处理|搞|做|整)|流程|步骤|在哪里?(申请|操作|点|找|弄)",
    "哪(里|儿|边|个城市|个仓)|什么地方|啥地方|从哪|在哪",
];

/// Answer cues, one per kind, in the order of [`KINDS`].
const GIVE: [&str; 4] = [
    // A year count has one or two digits: 2026年 is a calendar year, not a duration.
    "[0-9]+\\s*个?\\s*(工作日|天|小时|分钟|周|个月)|(^|[^0-9])[0-9]{1,2}\\s*年|[一二两三四五六七八九十半]+\\s*个?\\s*(工作日|天|小时|分钟|周|年|个月)|[0-9]{1,2}月[0-9]{1,2}[日号]|次日|当天|即时|[0-9]+[:：][0-9]{2}",
    "[0-9]+(\\.[0-9]+)?\\s*(元|块)|[0-9]+(\\.[0-9]+)?\\s*%|[0-9](\\.[0-9])?\\s*折|满[0-9]+减[0-9]+|[¥￥]\\s*[0-9]",
    // 1. or 1、 opening a numbered list, not 1.7L.
    "(^|[^0-9.])[1１]\\s*[.、．)）]([^0-9]|$)|①|第一步|步骤|流程|点击|「[^」]+」",
    "\\p{Han}{2,}(省|市|县)|仓库|[东西南北]部|华[东南北]",
];

pub struct AnswerTypes {
    ask: Option<RegexSet>,
    give: Option<RegexSet>,
}

impl AnswerTypes {
    pub fn new() -> Self {
        // The patterns are constants; should one ever fail to compile, answer types are off.
        AnswerTypes {
            ask: RegexSet::new(ASK).ok(),
            give: RegexSet::new(GIVE).ok(),
        }
    }

    /// The kinds a normalized question asks for (bits of the constants above).
    pub fn asked(&self, text: &str) -> u8 {
        let kinds = kinds(self.ask.as_ref(), text);
        // 多少天 asks for a time, not an amount.
        let counted = ["多少天", "多少个", "多少小时", "多少分钟", "多少年"];
        if kinds & AMOUNT != 0 && counted.iter().any(|c| text.contains(c)) {
            let rest = counted
                .iter()
                .fold(text.to_string(), |t, c| t.replace(c, ""));
            return (kinds & !AMOUNT) | (self::kinds(self.ask.as_ref(), &rest) & AMOUNT);
        }
        kinds
    }

    /// The kinds a normalized snippet text gives.
    pub fn given(&self, text: &str) -> u8 {
        kinds(self.give.as_ref(), text)
    }
}

fn kinds(set: Option<&RegexSet>, text: &str) -> u8 {
    set.map_or(0, |set| {
        set.matches(text)
            .iter()
            .fold(0, |k, i| k | KINDS.get(i).copied().unwrap_or(0))
    })
}

impl Default for AnswerTypes {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_ask_for_their_kind() {
        let t = AnswerTypes::new();
        assert_eq!(t.asked("退款多久到账"), DURATION);
        assert_eq!(t.asked("旧的吸尘器能抵多少"), AMOUNT);
        assert_eq!(t.asked("以旧换新怎么弄"), PROCEDURE);
        assert_eq!(t.asked("你们从哪边发的"), PLACE);
        assert_eq!(t.asked("多少天能到"), DURATION);
        assert_eq!(t.asked("电池能保几年"), DURATION);
        assert_eq!(t.asked("滤网几个月换一次"), DURATION);
        assert_eq!(t.asked("修完回来没几天又坏了"), 0);
        // Regression: 没几个月 / 好几年 describe, and 多少年 asks for no amount.
        assert_eq!(t.asked("买了没几个月就坏了 能换吗"), 0);
        assert_eq!(t.asked("都用了好几年了"), 0);
        assert_eq!(t.asked("保修多少年"), DURATION);
        assert_eq!(t.asked("发票丢了怎么办"), 0);
    }

    #[test]
    fn snippets_give_their_kind() {
        let t = AnswerTypes::new();
        assert_eq!(t.given("银行卡1—7个工作日到账"), DURATION);
        assert_eq!(t.given("电池保修2年"), DURATION);
        assert_eq!(t.given("滤网建议每3个月更换"), DURATION);
        assert_eq!(t.given("券在12月31日失效"), DURATION);
        assert_eq!(t.given("旧机最高抵扣50元"), AMOUNT);
        assert_eq!(t.given("1. 订单页申请退货；2. 寄回"), PROCEDURE);
        assert_eq!(t.given("发货仓位于浙江省慈溪市"), PLACE);
        assert_eq!(t.given("请联系客服处理"), 0);
        assert_eq!(t.given("2027年货节活动规则"), 0);
        assert_eq!(t.given("容量1.7L，功率1800W"), 0);
    }
}
