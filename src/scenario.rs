//! Scenario step: which prompt template fits the conversation, and how the customer feels.
//!
//! A keyword classifier on purpose: it is instant, explainable to a shop manager, and its only
//! job is to pick a template; retrieval, not the scenario, decides what the draft says.

use serde::{Deserialize, Serialize};

use crate::conversation::{Role, Turn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// 售前咨询: specs, stock, which model to buy.
    Presale,
    /// 物流: shipping time, tracking, delays, address changes.
    Logistics,
    /// 退换货 / 售后: returns, exchanges, repairs, refunds.
    Aftersale,
    /// 投诉: anger, threats to complain; empathy comes first.
    Complaint,
    /// 优惠券 / 活动 / 价保.
    Promotion,
    Other,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Presale,
        Scenario::Logistics,
        Scenario::Aftersale,
        Scenario::Complaint,
        Scenario::Promotion,
        Scenario::Other,
    ];

    /// Also the template file name under `prompts/scenarios/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Presale => "presale",
            Scenario::Logistics => "logistics",
            Scenario::Aftersale => "aftersale",
            Scenario::Complaint => "complaint",
            Scenario::Promotion => "promotion",
            Scenario::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    Calm,
    Anxious,
    Angry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub scenario: Scenario,
    pub emotion: Emotion,
}

/// Keywords per scenario, with a weight. Complaint words weigh most: an angry customer asking
/// about a refund needs the complaint template's empathy-first structure.
const KEYWORDS: &[(Scenario, &[&str], u32)] = &[
    (
        Scenario::Complaint,
        &[
            "投诉",
            "差评",
            "举报",
            "12315",
            "消协",
            "骗子",
            "垃圾",
            "坑人",
            "欺骗",
            "太差",
            "气死",
            "忍无可忍",
            "什么破",
            "态度",
            "维权",
            "工商",
            "再也不买",
            "恶心",
            "黑店",
        ],
        3,
    ),
    (
        Scenario::Aftersale,
        &[
            "退货",
            "退款",
            "换货",
            "退换",
            "退钱",
            "维修",
            "保修",
            "质保",
            "坏了",
            "故障",
            "不工作",
            "没反应",
            "破损",
            "漏水",
            "售后",
            "七天无理由",
            "7天无理由",
            "无理由",
            "换新",
            "退回",
            "不能用",
            "用不了",
            "质量问题",
            "有异味",
            "坏的",
        ],
        2,
    ),
    (
        Scenario::Logistics,
        &[
            "发货",
            "物流",
            "快递",
            "包裹",
            "单号",
            "到货",
            "几天到",
            "什么时候到",
            "签收",
            "揽收",
            "派送",
            "配送",
            "改地址",
            "修改地址",
            "拒收",
            "丢件",
            "没收到",
            "催",
            "顺丰",
            "中通",
            "圆通",
            "韵达",
            "京东快递",
            "预售",
        ],
        2,
    ),
    (
        Scenario::Promotion,
        &[
            "优惠券",
            "优惠",
            "满减",
            "红包",
            "活动",
            "价保",
            "保价",
            "补差价",
            "降价",
            "便宜",
            "折扣",
            "打折",
            "赠品",
            "双11",
            "双十一",
            "双12",
            "618",
            "会员",
            "积分",
            "领券",
            "券",
            "以旧换新",
        ],
        2,
    ),
    (
        Scenario::Presale,
        &[
            "多大",
            "尺寸",
            "容量",
            "功率",
            "几升",
            "适合",
            "推荐",
            "区别",
            "哪款",
            "有货",
            "库存",
            "颜色",
            "材质",
            "怎么用",
            "参数",
            "能不能用",
            "可以用",
            "电压",
            "噪音",
            "型号",
            "发票",
            "安装",
        ],
        1,
    ),
];

const ANGRY: &[&str] = &[
    "投诉",
    "差评",
    "骗子",
    "垃圾",
    "气死",
    "坑人",
    "忍无可忍",
    "什么破",
    "恶心",
    "黑店",
    "维权",
    "12315",
    "！！",
    "!!",
    "？？？",
    "???",
];
const ANXIOUS: &[&str] = &[
    "急",
    "着急",
    "快点",
    "赶紧",
    "怎么还",
    "还没",
    "到底",
    "催",
    "等了",
    "好几天",
    "马上",
];

/// Classifies the conversation. The customer's latest turn counts double, earlier customer
/// turns once, the agent's own turns not at all (they echo the topic, not the need).
pub fn classify(turns: &[Turn]) -> Classification {
    let customer: Vec<&Turn> = turns.iter().filter(|t| t.role == Role::Customer).collect();
    let mut scores = [0u32; 6];
    for (i, turn) in customer.iter().enumerate() {
        let recency = if i + 1 == customer.len() { 2 } else { 1 };
        for (scenario, words, weight) in KEYWORDS {
            let hits = words.iter().filter(|w| turn.text.contains(**w)).count() as u32;
            scores[*scenario as usize] += hits * weight * recency;
        }
    }
    let scenario = Scenario::ALL
        .iter()
        .copied()
        .filter(|s| *s != Scenario::Other)
        .max_by_key(|s| (scores[*s as usize], std::cmp::Reverse(*s as usize)))
        .filter(|s| scores[*s as usize] > 0)
        .unwrap_or(Scenario::Other);

    let last = customer.last().map(|t| t.text.as_str()).unwrap_or("");
    let all: String = customer
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let emotion = if ANGRY.iter().any(|w| all.contains(w)) {
        Emotion::Angry
    } else if ANXIOUS.iter().any(|w| last.contains(w)) {
        Emotion::Anxious
    } else {
        Emotion::Calm
    };
    Classification { scenario, emotion }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Turn;

    fn one(text: &str) -> Classification {
        classify(&[Turn::customer(text)])
    }

    #[test]
    fn picks_each_scenario() {
        assert_eq!(one("我的快递怎么还没发货").scenario, Scenario::Logistics);
        assert_eq!(one("收到的炸锅坏了想退货").scenario, Scenario::Aftersale);
        assert_eq!(
            one("这个电饭煲容量多大，适合三口之家吗").scenario,
            Scenario::Presale
        );
        assert_eq!(
            one("现在有优惠券吗，能领券吗").scenario,
            Scenario::Promotion
        );
        assert_eq!(one("你们就是骗子，我要投诉").scenario, Scenario::Complaint);
        assert_eq!(one("你好").scenario, Scenario::Other);
    }

    #[test]
    fn complaint_wins_over_refund_when_angry() {
        let c = one("东西坏了退款这么慢，我要投诉你们，差评！");
        assert_eq!(c.scenario, Scenario::Complaint);
        assert_eq!(c.emotion, Emotion::Angry);
    }

    #[test]
    fn agent_turns_do_not_steer_the_scenario() {
        let turns = vec![
            Turn {
                role: Role::Agent,
                text: "亲，退货退款请在订单页申请哦".into(),
            },
            Turn::customer("好的，那什么时候发货呀，着急用"),
        ];
        let c = classify(&turns);
        assert_eq!(c.scenario, Scenario::Logistics);
        assert_eq!(c.emotion, Emotion::Anxious);
    }
}
