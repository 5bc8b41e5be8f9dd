//! Plain data shared by every pipeline step: who said what, on which platform.

use serde::{Deserialize, Serialize};

/// Who wrote a turn. The customer's turns drive retrieval; the agent's own turns weigh least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

impl Turn {
    pub fn customer(text: impl Into<String>) -> Self {
        Turn {
            role: Role::Customer,
            text: text.into(),
        }
    }
}

/// The marketplaces a shop sells on. Knowledge may be restricted to some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Taobao,
    Tmall,
    Jd,
    Pdd,
    Douyin,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Taobao,
        Platform::Tmall,
        Platform::Jd,
        Platform::Pdd,
        Platform::Douyin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Taobao => "taobao",
            Platform::Tmall => "tmall",
            Platform::Jd => "jd",
            Platform::Pdd => "pdd",
            Platform::Douyin => "douyin",
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "taobao" | "淘宝" => Ok(Platform::Taobao),
            "tmall" | "天猫" => Ok(Platform::Tmall),
            "jd" | "京东" => Ok(Platform::Jd),
            "pdd" | "pinduoduo" | "拼多多" => Ok(Platform::Pdd),
            "douyin" | "抖音" => Ok(Platform::Douyin),
            other => Err(format!(
                "unknown platform `{other}`: expected one of taobao, tmall, jd, pdd, douyin"
            )),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
