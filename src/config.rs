//! Configuration: built-in defaults, then `kefu.toml` (or `--config FILE`), then
//! `KEFU_<SECTION>__<KEY>` environment variables. Secrets are never read from files: a provider
//! names the environment variable that holds its key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::drafts::Role;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub knowledge: KnowledgeConfig,
    pub prompts: PromptsConfig,
    pub rules: RulesConfig,
    pub review: ReviewConfig,
    pub providers: Vec<ProviderConfig>,
    pub users: Vec<UserConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub addr: String,
    /// Larger request bodies are refused with 413 before they are parsed.
    pub max_body_bytes: usize,
    /// The shop's name, used by the prompt persona.
    pub shop_name: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:8080".into(),
            max_body_bytes: 256 * 1024,
            shop_name: "暖居小家电旗舰店".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// SQLite file, index and job state live here.
    pub data_dir: PathBuf,
    /// When set (`postgres://…`), drafts, audit and jobs go to PostgreSQL.
    pub database_url: Option<String>,
    /// Pending drafts older than this expire.
    pub draft_ttl_hours: u64,
    /// Keep the customer's raw conversation (unmasked) for this many days; 0 = never store it.
    pub raw_retention_days: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
            database_url: None,
            draft_ttl_hours: 24,
            raw_retention_days: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeConfig {
    pub dir: PathBuf,
    /// Snippets handed to the prompt.
    pub top_k: usize,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        KnowledgeConfig {
            dir: PathBuf::from("knowledge"),
            top_k: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromptsConfig {
    pub dir: PathBuf,
}

impl Default for PromptsConfig {
    fn default() -> Self {
        PromptsConfig {
            dir: PathBuf::from("prompts"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    pub dir: PathBuf,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            dir: PathBuf::from("rules"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Categories whose `warn` findings need a second person (reviewer or compliance).
    pub second_approval_categories: Vec<String>,
    /// When every provider fails, answer from the knowledge (extractive) instead of an error;
    /// FAQ questions a killed run left interrupted are answered the same way, not re-sent.
    pub extractive_fallback: bool,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            second_approval_categories: Vec::new(),
            extractive_fallback: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    pub base_url: String,
    pub model: String,
    /// Name of the environment variable holding the API key; empty for keyless local servers.
    #[serde(default)]
    pub api_key_env: String,
    /// Requests per minute this process sends to the provider; 0 = no limit.
    #[serde(default = "defaults::rpm")]
    pub rpm: u32,
    /// Tokens (prompt + answer) per minute; 0 = no limit.
    #[serde(default = "defaults::tpm")]
    pub tpm: u32,
    /// Requests in flight at once.
    #[serde(default = "defaults::max_concurrency")]
    pub max_concurrency: u32,
    /// Whole-request deadline.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "defaults::connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Deadline for the first token of a streamed answer.
    #[serde(default = "defaults::first_token_timeout_secs")]
    pub first_token_timeout_secs: u64,
    #[serde(default = "defaults::max_tokens")]
    pub max_tokens: u32,
    #[serde(default = "defaults::temperature")]
    pub temperature: f32,
    /// Requests sent to this provider for one generation (first try plus retries on 429, 5xx,
    /// timeouts and connection errors) before falling back to the next provider.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// Consecutive failures that open this provider's circuit breaker.
    #[serde(default = "defaults::breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker waits before letting one probe request through.
    #[serde(default = "defaults::breaker_cooldown_secs")]
    pub breaker_cooldown_secs: u64,
    /// Extra fields merged into every request body (provider-specific switches).
    #[serde(default)]
    pub extra: toml::Table,
}

mod defaults {
    pub fn rpm() -> u32 {
        60
    }
    pub fn tpm() -> u32 {
        100_000
    }
    pub fn max_concurrency() -> u32 {
        8
    }
    pub fn timeout_secs() -> u64 {
        30
    }
    pub fn connect_timeout_secs() -> u64 {
        5
    }
    pub fn first_token_timeout_secs() -> u64 {
        10
    }
    pub fn max_tokens() -> u32 {
        512
    }
    pub fn temperature() -> f32 {
        0.3
    }
    pub fn max_attempts() -> u32 {
        3
    }
    pub fn breaker_failures() -> u32 {
        5
    }
    pub fn breaker_cooldown_secs() -> u64 {
        30
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the bearer token; the token itself is never stored.
    pub token_sha256: String,
}

impl Config {
    /// The shop's name as the persona introduces it.
    pub fn shop_name(&self) -> String {
        self.server.shop_name.clone()
    }

    /// Answer length and sampling for the first provider (all providers share one prompt).
    pub fn max_tokens(&self) -> u32 {
        self.providers
            .first()
            .map_or(defaults::max_tokens(), |p| p.max_tokens)
    }

    pub fn temperature(&self) -> f32 {
        self.providers
            .first()
            .map_or(defaults::temperature(), |p| p.temperature)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var} is invalid: {message}")]
    Env { var: String, message: String },
}

/// The file read when no `--config` is given and it exists in the working directory.
pub const DEFAULT_FILE: &str = "kefu.toml";
const ENV_PREFIX: &str = "KEFU_";

impl Config {
    /// Loads `path` (or `kefu.toml` when present, else built-in defaults), then applies
    /// `KEFU_<SECTION>__<KEY>` overrides from the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(path, &env)
    }

    /// [`Config::load`] with an explicit environment, for tests.
    pub fn load_with_env(
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let default_path = Path::new(DEFAULT_FILE);
        let (file, text) = match path {
            Some(p) => (
                p.to_path_buf(),
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?,
            ),
            None if default_path.is_file() => (
                default_path.to_path_buf(),
                std::fs::read_to_string(default_path).map_err(|source| ConfigError::Read {
                    path: default_path.to_path_buf(),
                    source,
                })?,
            ),
            None => (PathBuf::from("<defaults>"), String::new()),
        };
        let mut value: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: file.clone(),
            message: e.to_string(),
        })?;
        apply_env(&mut value, env)?;
        let config: Config =
            toml::Value::Table(value)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: file.clone(),
                    message: e.to_string(),
                })?;
        config.check().map_err(|message| ConfigError::Parse {
            path: file,
            message,
        })?;
        Ok(config)
    }

    /// Values that parse but cannot work.
    fn check(&self) -> Result<(), String> {
        if self.storage.draft_ttl_hours == 0 {
            return Err(
                "storage.draft_ttl_hours = 0 would expire every draft at once; \
                        set the hours a pending draft may wait for review (default 24)"
                    .into(),
            );
        }
        // Local-only mode has one person: a draft needing a second one could never be approved.
        if !self.review.second_approval_categories.is_empty() && self.users.is_empty() {
            return Err(
                "review.second_approval_categories needs a second person, but no [[users]] are \
                 configured (local-only mode has one user); add users with `kefu token new`, \
                 or empty the list"
                    .into(),
            );
        }
        Ok(())
    }
}

/// `KEFU_STORAGE__DATA_DIR=x` sets `storage.data_dir`; `KEFU_PROVIDERS__0__MODEL=x` sets the
/// first provider's model. Values are parsed as TOML when they parse (numbers, booleans,
/// arrays), else taken as strings.
fn apply_env(root: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if !rest.contains("__") {
            continue; // e.g. KEFU_TEST_DATABASE_URL: not a config key
        }
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        let value = parse_env_value(raw);
        set_path(root, &path, value).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    let probe = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&probe) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (head, rest) = path.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(head.clone(), value);
        return Ok(());
    }
    let entry = table
        .entry(head.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    set_value_path(entry, rest, value)
}

fn set_value_path(
    node: &mut toml::Value,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
    match node {
        toml::Value::Table(t) => set_path(t, path, value),
        toml::Value::Array(items) => {
            let (head, rest) = path.split_first().ok_or("empty key")?;
            let index: usize = head
                .parse()
                .map_err(|_| format!("`{head}` must be an index into the list"))?;
            let item = items
                .get_mut(index)
                .ok_or_else(|| format!("there is no entry {index} in the list"))?;
            if rest.is_empty() {
                *item = value;
                Ok(())
            } else {
                set_value_path(item, rest, value)
            }
        }
        _ => Err(format!("`{}` is not a section", path.join("."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_have_no_provider() {
        let c = Config::load_with_env(None, &[]).unwrap();
        assert!(c.providers.is_empty());
        assert_eq!(c.storage.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn env_overrides_nested_keys_and_types() {
        let c = Config::load_with_env(
            None,
            &env(&[
                ("KEFU_STORAGE__DATA_DIR", "/tmp/x"),
                ("KEFU_SERVER__MAX_BODY_BYTES", "1024"),
                ("KEFU_TEST_DATABASE_URL", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.storage.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.server.max_body_bytes, 1024);
    }

    #[test]
    fn a_draft_ttl_of_zero_hours_is_refused_not_an_instant_expiry() {
        let err = Config::load_with_env(None, &env(&[("KEFU_STORAGE__DRAFT_TTL_HOURS", "0")]))
            .unwrap_err();
        assert!(err.to_string().contains("draft_ttl_hours"), "{err}");
    }

    #[test]
    fn a_second_approval_without_users_is_refused_not_a_draft_stuck_forever() {
        let err = Config::load_with_env(
            None,
            &env(&[(
                "KEFU_REVIEW__SECOND_APPROVAL_CATEGORIES",
                "[\"false_promise\"]",
            )]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("[[users]]"), "{err}");
    }

    #[test]
    fn env_override_of_unknown_key_is_an_error() {
        let err = Config::load_with_env(None, &env(&[("KEFU_SERVER__NOPE", "1")])).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn env_overrides_a_provider_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(
            &path,
            "[[providers]]\nname='a'\nbase_url='http://127.0.0.1:1/v1'\nmodel='m'\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), &env(&[("KEFU_PROVIDERS__0__MODEL", "other")]))
            .unwrap();
        assert_eq!(c.providers[0].model, "other");
    }
}
