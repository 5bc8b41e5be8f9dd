//! Retrieval: load the knowledge folder, index it with Tantivy (Chinese tokenization), search it.
//!
//! Contract shared with the pipeline and the evaluation (see ARCHITECTURE.md):
//! * [`KnowledgeBase::open`] loads every file under the knowledge folder and builds an index;
//!   a malformed file is reported in [`LoadReport::errors`] and skipped.
//! * [`KnowledgeBase::search`] is synchronous CPU work: async callers run it in `spawn_blocking`.
//! * [`KnowledgeBase::reload`] swaps the whole index atomically: a search sees the old or the new one.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::conversation::{Platform, Turn};

/// What kind of knowledge a snippet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Policy,
    Product,
    Faq,
    Script,
}

/// One retrievable unit: a Markdown section, a FAQ row or a product.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snippet {
    pub id: String,
    pub doc_id: String,
    pub title: String,
    pub kind: Kind,
    pub text: String,
    /// Path of the source file relative to the knowledge root.
    pub source: String,
    /// Empty means every platform.
    pub platforms: Vec<Platform>,
    pub skus: Vec<String>,
    pub tags: Vec<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

/// A file (and line, when known) that could not be loaded, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LoadError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub files: usize,
    pub snippets: usize,
    pub errors: Vec<LoadError>,
}

/// What the pipeline or the CLI asks for.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The conversation, oldest first. A bare CLI query is one customer turn.
    pub turns: Vec<Turn>,
    pub platform: Option<Platform>,
    pub sku: Option<String>,
    /// The day the customer asks (validity filter); today when absent.
    pub date: Option<NaiveDate>,
    pub k: usize,
}

/// One search result, in the shape of the design.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    pub doc_id: String,
    pub title: String,
    pub kind: Kind,
    pub score: f32,
    pub text: String,
    pub source: String,
    /// Past its `valid_to` on the request date: still answers questions about it, marked so.
    pub expired: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub hits: Vec<Hit>,
    /// Nothing relevant: the draft must be written by a person.
    pub no_answer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("knowledge folder {path} could not be read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no knowledge could be loaded from {path}: {reason}")]
    Empty { path: PathBuf, reason: String },
    #[error("search index error: {0}")]
    Index(String),
}

/// Loaded, indexed knowledge, swappable as a whole on reload.
pub struct KnowledgeBase {
    _private: (),
}

impl KnowledgeBase {
    /// Loads and indexes `dir`. Fails only when nothing at all could be loaded.
    pub fn open(dir: &Path) -> Result<(Self, LoadReport), KnowledgeError> {
        let _ = dir;
        todo!("knowledge: implement load + index")
    }

    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse, KnowledgeError> {
        let _ = req;
        todo!("knowledge: implement search")
    }

    /// Reloads from the same folder; on failure the old index stays in force.
    pub fn reload(&self) -> Result<LoadReport, KnowledgeError> {
        todo!("knowledge: implement reload")
    }

    /// A short hash of the loaded content, recorded with every draft.
    pub fn version(&self) -> String {
        todo!("knowledge: implement version")
    }
}
