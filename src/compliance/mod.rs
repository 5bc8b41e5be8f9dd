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
/// thousands of hits); they serialize as plain strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Text,
    pub category: Text,
    pub severity: Severity,
    pub start: usize,
    pub end: usize,
    pub matched: String,
    pub message: Text,
    #[serde(default)]
    pub suggestion: Option<Text>,
}

/// An immutable, cheaply cloned string (`Arc<str>`) that reads and serializes like a `String`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Text(Arc<str>);

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

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text::from)
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
