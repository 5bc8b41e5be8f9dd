//! Compliance: rules as data, normalization with offsets back to the original, personal-data
//! detectors, grounding of numbers, and the verdict.
//!
//! Every text that may reach a customer passes [`Compliance::check`] before it can be approved.

pub mod classifier;
pub mod eval;
pub mod grounding;
pub mod matcher;
pub mod normalize;
pub mod pii;
pub mod rules;
mod verdict;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rules::RuleSet;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Block,
}

/// The most severe finding decides; `info` findings leave a draft at `pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Block,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Block => "block",
        }
    }
}

/// One rule hit. `start`/`end` are character (Unicode scalar) offsets into the original text.
/// Rule id, category, message and suggestion are shared with the rule (a text can have
/// thousands of hits); they serialize as plain strings, as does the quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Text,
    pub category: Text,
    pub severity: Severity,
    pub start: usize,
    pub end: usize,
    pub matched: Quote,
    pub message: Text,
    #[serde(default)]
    pub suggestion: Option<Text>,
}

/// An immutable, cheaply cloned string that reads and serializes like a `String`. One pointer
/// wide (`Arc<String>`, not the two-word `Arc<str>`): every finding holds four of them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Text(Arc<String>);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::new(s.to_string()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::new(s))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

/// The quoted text of a finding: short quotes (the usual case: a term of a few characters) are
/// stored inline, so writing a finding allocates nothing.
#[derive(Clone)]
pub struct Quote(QuoteRepr);

#[derive(Clone)]
enum QuoteRepr {
    Inline { len: u8, bytes: [u8; QUOTE_INLINE] },
    Heap(Box<str>),
}

/// Bytes a quote holds inline (seven CJK characters); with the length and the tag the type is
/// as wide as a `String` on 64-bit targets.
const QUOTE_INLINE: usize = 22;

impl Quote {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Built only from a `&str` cut on a character boundary, so always valid UTF-8.
            QuoteRepr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or_default()
            }
            QuoteRepr::Heap(s) => s,
        }
    }
}

impl From<&str> for Quote {
    fn from(s: &str) -> Self {
        if s.len() <= QUOTE_INLINE {
            let mut bytes = [0u8; QUOTE_INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Quote(QuoteRepr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            Quote(QuoteRepr::Heap(s.into()))
        }
    }
}

impl From<String> for Quote {
    fn from(s: String) -> Self {
        if s.len() <= QUOTE_INLINE {
            Quote::from(s.as_str())
        } else {
            Quote(QuoteRepr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<Quote> for String {
    fn from(q: Quote) -> Self {
        q.as_str().to_string()
    }
}

impl Default for Quote {
    fn default() -> Self {
        Quote::from("")
    }
}

/// `Deref`, comparisons with strings, `Debug`/`Display` and serde as a plain string, for both.
macro_rules! str_like {
    ($t:ty) => {
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.as_str(), f)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other.as_str()
            }
        }
        impl PartialEq<$t> for str {
            fn eq(&self, other: &$t) -> bool {
                self == other.as_str()
            }
        }
        impl PartialEq<$t> for &str {
            fn eq(&self, other: &$t) -> bool {
                *self == other.as_str()
            }
        }
        impl PartialEq<$t> for String {
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == other.as_str()
            }
        }
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(<$t>::from)
            }
        }
    };
}

str_like!(Text);
str_like!(Quote);

impl std::ops::Deref for Quote {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Quote {
    fn eq(&self, other: &Quote) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Quote {}

impl std::hash::Hash for Quote {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// Hash of the rule set that produced this result.
    pub ruleset_version: String,
}

/// Texts a draft was built from (snippets, order facts). Numbers in a draft that appear in none
/// of them are `unsupported_claim` findings. `None` sources (a text typed by hand) skip that check.
#[derive(Debug, Clone, Default)]
pub struct Grounding {
    pub sources: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules folder {path} could not be read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

/// The rule set in force, swappable as a whole on reload. `Send + Sync`: hold it in an `Arc`
/// and call [`Compliance::reload`] from any thread; checks in flight keep the set they started
/// with.
pub struct Compliance {
    dir: PathBuf,
    current: RwLock<Arc<RuleSet>>,
}

impl Compliance {
    /// Loads every `*.toml` under `dir`. Any broken file rejects the whole load.
    pub fn load(dir: &Path) -> Result<Self, RulesError> {
        let set = rules::load_dir(dir)?;
        Ok(Compliance {
            dir: dir.to_path_buf(),
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// Builds a checker from rule files given as (file name, TOML text), for tests and tools;
    /// word lists named by the files are read relative to `dir`. `reload` reads `dir`.
    pub fn from_sources(dir: &Path, sources: &[(String, String)]) -> Result<Self, RulesError> {
        let set = rules::compile(dir, sources)?;
        Ok(Compliance {
            dir: dir.to_path_buf(),
            current: RwLock::new(Arc::new(set)),
        })
    }

    pub fn check(&self, text: &str, grounding: &Grounding) -> CheckResult {
        let set = self.rules();
        verdict::check(&set, text, grounding)
    }

    /// Reloads from the same folder; on error the previous rules stay in force.
    /// Returns the new rule-set version.
    pub fn reload(&self) -> Result<String, RulesError> {
        let set = rules::load_dir(&self.dir)?;
        let version = set.version.clone();
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        *current = Arc::new(set);
        Ok(version)
    }

    /// Hash of the rule files (and word lists) in force.
    pub fn version(&self) -> String {
        self.rules().version.clone()
    }

    /// The folder the rules are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of term/regex rules in force (for status output).
    pub fn rule_count(&self) -> usize {
        self.rules().rules.len()
    }

    fn rules(&self) -> Arc<RuleSet> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&guard)
    }
}

#[cfg(test)]
mod tests {
    use super::{Quote, Text};

    #[test]
    fn quotes_short_and_long_read_and_serialize_as_the_same_string() {
        for s in [
            "",
            "最佳",
            "一二三四五六七a",
            "一二三四五六七ab",
            "这是一段比较长的引用，超过了内联的长度",
        ] {
            let q = Quote::from(s);
            assert_eq!(q, s);
            assert_eq!(q.len(), s.len());
            assert_eq!(
                serde_json::to_string(&q).unwrap(),
                serde_json::to_string(s).unwrap()
            );
            let back: Quote = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
            assert_eq!(back, q);
            assert_eq!(Quote::from(s.to_string()), q);
        }
        // 22 inline bytes + length + tag are 24 bytes on any target: a String's width only
        // where a word is 8 bytes (on 32-bit a String is 12).
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<Quote>(), std::mem::size_of::<String>());
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<usize>());
        assert_eq!(Text::from("rule.id").to_string(), "rule.id");
    }
}
