//! Prompt step: Handlebars templates under `prompts/`, in strict mode and without HTML escaping.
//!
//! Layout: `system.hbs` (persona), `scenarios/<scenario>.hbs` (one per scenario),
//! `partials/*.hbs` (shared blocks), `extractive.hbs` (answer without a model) and
//! `no_answer.hbs` (retrieval found nothing). Every template is compiled at start-up, so a broken
//! one stops the service with its file and line instead of failing a customer's request later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::conversation::{Platform, Role, Turn};
use crate::knowledge::Hit;
use crate::llm::ChatRequest;
use crate::scenario::{Classification, Emotion, Scenario};

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt template {file} could not be read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("prompt template {file}:{line}:{column}: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("prompt template `{0}` is missing: point `prompts.dir` at the prompts folder, or run kefu from the folder that holds it")]
    Missing(String),
    #[error("prompt template `{template}` failed to render: {message}")]
    Render { template: String, message: String },
}

/// What every template can use. Field names are the template variables.
#[derive(Debug, Clone, Serialize)]
pub struct PromptContext {
    pub shop: ShopInfo,
    pub platform: String,
    pub scenario: Scenario,
    pub emotion: Emotion,
    pub complaint: bool,
    pub snippets: Vec<PromptSnippet>,
    pub conversation: Vec<PromptTurn>,
    pub order_facts: BTreeMap<String, String>,
    pub today: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShopInfo {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromptSnippet {
    pub n: usize,
    pub id: String,
    pub title: String,
    pub text: String,
    pub expired: bool,
    pub valid_from: String,
    pub valid_to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromptTurn {
    pub speaker: &'static str,
    pub text: String,
}

impl PromptContext {
    pub fn new(
        shop_name: &str,
        platform: Option<Platform>,
        class: Classification,
        hits: &[Hit],
        turns: &[Turn],
        order_facts: &BTreeMap<String, String>,
        today: chrono::NaiveDate,
    ) -> Self {
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        PromptContext {
            shop: ShopInfo {
                name: shop_name.to_string(),
            },
            platform: platform.map(platform_label).unwrap_or("未指定").to_string(),
            scenario: class.scenario,
            emotion: class.emotion,
            complaint: class.scenario == Scenario::Complaint || class.emotion == Emotion::Angry,
            snippets: hits
                .iter()
                .enumerate()
                .map(|(i, h)| PromptSnippet {
                    n: i + 1,
                    id: h.id.clone(),
                    title: h.title.clone(),
                    text: h.text.clone(),
                    expired: h.expired,
                    valid_from: date(h.valid_from),
                    valid_to: date(h.valid_to),
                })
                .collect(),
            conversation: turns
                .iter()
                .map(|t| PromptTurn {
                    speaker: match t.role {
                        Role::Customer => "顾客",
                        Role::Agent => "客服",
                    },
                    text: t.text.clone(),
                })
                .collect(),
            order_facts: order_facts.clone(),
            today: today.to_string(),
        }
    }
}

fn platform_label(p: Platform) -> &'static str {
    match p {
        Platform::Taobao => "淘宝",
        Platform::Tmall => "天猫",
        Platform::Jd => "京东",
        Platform::Pdd => "拼多多",
        Platform::Douyin => "抖音",
    }
}

/// A rendered text and the template it came from (name and content hash go to the audit trail).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    pub template: String,
    pub template_hash: String,
}

/// The compiled templates. Rebuilt whole on reload, never mutated in place.
pub struct Prompts {
    registry: Handlebars<'static>,
    hashes: BTreeMap<String, String>,
}

const SYSTEM: &str = "system";
const EXTRACTIVE: &str = "extractive";
const NO_ANSWER: &str = "no_answer";
/// The user message for bulk FAQ answers (instead of the scenario's).
pub const FAQ: &str = "faq";

impl Prompts {
    /// Compiles every template under `dir`; fails on the first broken or missing one.
    pub fn load(dir: &Path) -> Result<Prompts, PromptError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        let mut hashes = BTreeMap::new();

        let partials = dir.join("partials");
        if partials.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&partials)
                .map_err(|source| PromptError::Read {
                    file: partials.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "hbs"))
                .collect();
            files.sort();
            for file in files {
                let name = stem(&file);
                let source = read(&file)?;
                registry
                    .register_partial(&name, source.as_str())
                    .map_err(|e| syntax_error(&file, e))?;
                hashes.insert(format!("partials/{name}"), short_hash(&source));
            }
        }

        let mut names: Vec<String> = vec![
            SYSTEM.into(),
            EXTRACTIVE.into(),
            NO_ANSWER.into(),
            FAQ.into(),
        ];
        names.extend(
            Scenario::ALL
                .iter()
                .map(|s| format!("scenarios/{}", s.as_str())),
        );
        for name in names {
            let file = dir.join(format!("{name}.hbs"));
            if !file.is_file() {
                return Err(PromptError::Missing(file.display().to_string()));
            }
            let source = read(&file)?;
            registry
                .register_template_string(&name, &source)
                .map_err(|e| syntax_error(&file, e))?;
            hashes.insert(name, short_hash(&source));
        }
        Ok(Prompts { registry, hashes })
    }

    /// The chat request: system persona plus the user message of `template`, or of the
    /// scenario's template when `None`.
    pub fn chat(
        &self,
        ctx: &PromptContext,
        template: Option<&str>,
        max_tokens: u32,
        temperature: f32,
    ) -> Result<(ChatRequest, Rendered), PromptError> {
        let system = self.render_named(SYSTEM, ctx)?;
        let name = match template {
            Some(t) => t.to_string(),
            None => format!("scenarios/{}", ctx.scenario.as_str()),
        };
        let user = self.render_named(&name, ctx)?;
        let rendered = Rendered {
            text: user.text.clone(),
            template: user.template.clone(),
            template_hash: combine_hashes(&[
                &system.template_hash,
                &user.template_hash,
                &self.partials_hash(),
            ]),
        };
        Ok((
            ChatRequest {
                system: system.text,
                user: user.text,
                max_tokens,
                temperature,
            },
            rendered,
        ))
    }

    /// The answer built from snippets alone, when no provider is configured or reachable.
    pub fn extractive(&self, ctx: &PromptContext) -> Result<Rendered, PromptError> {
        self.render_named(EXTRACTIVE, ctx).map(tidy)
    }

    /// The holding reply when retrieval found nothing: a person must answer.
    pub fn no_answer(&self, ctx: &PromptContext) -> Result<Rendered, PromptError> {
        self.render_named(NO_ANSWER, ctx).map(tidy)
    }

    fn render_named(&self, name: &str, ctx: &PromptContext) -> Result<Rendered, PromptError> {
        let text = self
            .registry
            .render(name, ctx)
            .map_err(|e| PromptError::Render {
                template: name.to_string(),
                message: e.to_string(),
            })?;
        Ok(Rendered {
            text,
            template: name.to_string(),
            template_hash: self.hashes.get(name).cloned().unwrap_or_default(),
        })
    }

    fn partials_hash(&self) -> String {
        let parts: Vec<&str> = self
            .hashes
            .iter()
            .filter(|(k, _)| k.starts_with("partials/"))
            .map(|(_, v)| v.as_str())
            .collect();
        combine_hashes(&parts)
    }
}

/// Templates leave blank lines where blocks open and close; a chat message has none.
fn tidy(mut r: Rendered) -> Rendered {
    r.text = r
        .text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    r
}

fn read(file: &Path) -> Result<String, PromptError> {
    std::fs::read_to_string(file).map_err(|source| PromptError::Read {
        file: file.to_path_buf(),
        source,
    })
}

fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn syntax_error(file: &Path, e: handlebars::TemplateError) -> PromptError {
    let (line, column) = e.pos().unwrap_or((0, 0));
    PromptError::Syntax {
        file: file.to_path_buf(),
        line,
        column,
        message: e.reason().to_string(),
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn combine_hashes(parts: &[&str]) -> String {
    short_hash(&parts.join(":"))
}
