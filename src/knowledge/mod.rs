//! Retrieval: load the knowledge folder, index it with Tantivy (Chinese tokenization), search it.
//!
//! Contract shared with the pipeline and the evaluation (see ARCHITECTURE.md):
//! * [`KnowledgeBase::open`] loads every file under the knowledge folder and builds an index;
//!   a malformed file is reported in [`LoadReport::errors`] and skipped.
//! * [`KnowledgeBase::search`] is synchronous CPU work: async callers run it in `spawn_blocking`.
//! * [`KnowledgeBase::reload`] swaps the whole index atomically: a search sees the old or the new one.
//!
//! Method (see [`SearchOptions`]): jieba (search mode, core e-commerce words plus the folder's
//! `dict.txt`) over titles, tags and text, plus a character n-gram field; the conversation is
//! normalized (colloquial spellings, homophone typos repaired by pinyin, chit-chat, stop words),
//! weighted by turn, and expanded with `synonyms.txt` and a built-in e-commerce lexicon into
//! concepts (a word and its synonyms); a word the knowledge never uses also searches its
//! characters in the n-gram field.
//! Search is two passes: a flat union of the strongest boosted terms, which Tantivy prunes
//! (block-max WAND), picks candidates; they are scored with every term and re-ranked by the
//! share of concepts they cover (time and filler words such as 今天, 怎么弄 left out), a FAQ
//! row also by the share its question holds (it answers the question it states), and by
//! whether they hold the kind of answer asked for (a time for 多久, an amount for 多少).
//! `no_answer` when none of the first few hits both covers enough of the query's informative
//! (IDF-weighted) concepts and matches a domain concept (see [`NoAnswerSignals`]).
//!
//! Filters score zero. Platform: a snippet without platforms shows everywhere. SKU: a snippet
//! restricted to SKUs shows only when the request's SKU is one of them or no SKU is given;
//! products are never restricted (customers compare models) but the page's own product is
//! boosted. Dates: before `valid_from` never shown; after `valid_to` still shown, marked
//! `expired` and down-weighted so it ranks below current snippets of similar relevance, unless
//! the query names it (a concept in its title and no other document's title: 618).

mod answer_type;
pub mod eval;
mod homophone;
mod index;
pub mod load;
mod query;
mod search;
mod synonyms;
mod tokenize;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::conversation::{Platform, Turn};
use search::Inner;
pub use search::{ConceptSignal, NoAnswerSignals};

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

/// How the knowledge is tokenized, indexed and queried. [`SearchOptions::default`] is the
/// product's method; [`SearchOptions::baseline`] is plain jieba BM25 over body text, kept to
/// measure what the method adds.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Core e-commerce words plus the folder's `dict.txt` in jieba (else jieba's default only).
    pub user_dict: bool,
    /// Expand queries with `synonyms.txt`.
    pub synonyms: bool,
    /// Also expand with the built-in e-commerce lexicon (needs `synonyms`).
    pub lexicon: bool,
    /// Colloquial normalization, chit-chat removal and stop words.
    pub understand: bool,
    /// Repair homophone typos by sound against the shop's vocabulary (发活 → 发货; needs
    /// `understand`).
    pub homophones: bool,
    /// Character bigram fields (typos, nicknames, words jieba splits differently).
    pub grams: bool,
    /// Index titles and tags (else body text only).
    pub titles: bool,
    /// Tokenize queries in jieba's search mode too (sub-words of long words).
    pub query_search_mode: bool,
    /// jieba's HMM guessing of unknown words (off: chat fragments stay single characters
    /// instead of becoming made-up words that match nothing).
    pub hmm: bool,
    pub title_boost: f32,
    pub body_boost: f32,
    /// Weight of a bigram relative to a word from the same turn.
    pub gram_weight: f32,
    /// Weight of a one-character word's match inside longer words (n-gram field).
    pub char_weight: f32,
    /// Weight of a synonym relative to the word it expands.
    pub synonym_weight: f32,
    /// Each earlier customer turn weighs this much of the next one.
    pub turn_decay: f32,
    /// An agent turn weighs this much of a customer turn at the same distance.
    pub agent_weight: f32,
    /// Terms of the first, pruned search pass (the strongest by boost × IDF); the candidates
    /// are then scored with all terms. 0: one pass with every term.
    pub first_pass_terms: usize,
    /// Candidates fetched before re-ranking.
    pub rerank_depth: usize,
    /// Exponent of the share of query concepts a candidate covers, multiplied into its score
    /// (0 disables the re-ranking).
    pub coverage_rerank: f32,
    /// The coverage re-ranking leaves out concepts made only of time, count, degree and filler
    /// words (今天, 当天, 怎么弄; the `GENERAL` list no-answer detection also skips): they say
    /// when or how the customer asks, not what, and a snippet that happens to hold them
    /// answers nothing more. A synonym group always counts.
    pub coverage_skips_general: bool,
    /// The coverage re-ranking counts a synonym only when the text holds a whole member of the
    /// group, not one of the words jieba finds inside members (店铺 in 店铺券, 工作 in 不工作,
    /// 空气 in 空气炸锅): those are searched, so BM25 still sees them, but a snippet holding one
    /// is no evidence it covers the concept. The customer's own words always count.
    pub coverage_whole_members: bool,
    /// How much of a FAQ row's score depends on its question: the score is multiplied by
    /// 1 − this + this × the share of the query's concepts the question (the row's title) holds.
    /// A row answers the question it states; a query whose words it holds only in the answer
    /// asks something else (0 disables).
    pub faq_question_weight: f32,
    /// Score factor of a snippet past its `valid_to` (it is also ranked below current ones).
    pub expired_penalty: f32,
    /// No expired penalty when the query names the expired snippet's document by a word of its
    /// document title (not a section heading) that no other document's title holds (a question
    /// about that campaign).
    pub expired_named: bool,
    /// Weight of each character of a query word the knowledge never uses (芯子 → 芯, matched
    /// inside 滤芯 by the n-gram field), relative to the word (0 disables).
    pub oov_chars: f32,
    /// Weight of a product name (a word of a product's title or tags) when the query also holds
    /// another domain concept: the name says which product, the other words what is asked.
    pub object_weight: f32,
    /// Score factor of the product whose SKU is the request's SKU.
    pub sku_boost: f32,
    /// A hit fails no-answer detection when it covers less than this share of the query's informative
    /// weight: its concepts weighted by IDF in the knowledge, time/count/filler words left out,
    /// words the knowledge never uses weighing most (0 disables: only an empty result is
    /// `no_answer`). See [`NoAnswerSignals`].
    pub no_answer_coverage: f32,
    /// A hit also fails when it matches no domain concept (synonym group, dictionary
    /// word, title or tag word) and the request is not on a product's page.
    pub no_answer_needs_anchor: bool,
    /// How many of the top hits no-answer detection reads: `no_answer` only when none of them
    /// passes the two tests above.
    pub no_answer_depth: usize,
    /// Score factor of a snippet holding the kind of answer the question asks for (a time for
    /// 多久, an amount for 多少钱, steps for 怎么申请); 1 disables.
    pub answer_type_boost: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            user_dict: true,
            synonyms: true,
            lexicon: true,
            understand: true,
            homophones: true,
            grams: true,
            titles: true,
            query_search_mode: true,
            hmm: false,
            title_boost: 1.5,
            body_boost: 1.0,
            gram_weight: 0.2,
            char_weight: 0.5,
            synonym_weight: 1.0,
            turn_decay: 0.5,
            agent_weight: 0.3,
            first_pass_terms: 16,
            rerank_depth: 30,
            coverage_rerank: 1.0,
            coverage_skips_general: true,
            coverage_whole_members: true,
            faq_question_weight: 0.7,
            expired_penalty: 0.5,
            expired_named: true,
            oov_chars: 0.5,
            object_weight: 0.5,
            sku_boost: 1.3,
            no_answer_coverage: 0.1,
            no_answer_needs_anchor: true,
            no_answer_depth: 3,
            answer_type_boost: 1.5,
        }
    }
}

impl SearchOptions {
    /// Plain jieba (default dictionary, search mode) BM25 over body text: no user dictionary,
    /// synonyms, normalization, n-grams or boosts. `no_answer` only when nothing matches.
    pub fn baseline() -> Self {
        SearchOptions {
            user_dict: false,
            synonyms: false,
            lexicon: false,
            understand: false,
            homophones: false,
            grams: false,
            titles: false,
            query_search_mode: true,
            hmm: true,
            title_boost: 1.0,
            body_boost: 1.0,
            gram_weight: 0.0,
            char_weight: 0.0,
            synonym_weight: 0.0,
            turn_decay: 1.0,
            agent_weight: 1.0,
            first_pass_terms: 0,
            rerank_depth: 0,
            coverage_rerank: 0.0,
            coverage_skips_general: false,
            coverage_whole_members: false,
            faq_question_weight: 0.0,
            expired_penalty: 1.0,
            expired_named: false,
            oov_chars: 0.0,
            object_weight: 1.0,
            sku_boost: 1.0,
            no_answer_coverage: 0.0,
            no_answer_needs_anchor: false,
            no_answer_depth: 1,
            answer_type_boost: 1.0,
        }
    }
}

/// Loaded, indexed knowledge, swappable as a whole on reload.
///
/// Opening, reloading and searching are blocking CPU work (tokenizing, index commits): async
/// callers run them in `tokio::task::spawn_blocking`. The index lives in RAM and is rebuilt at
/// start-up; nothing is written to disk.
pub struct KnowledgeBase {
    dir: PathBuf,
    options: SearchOptions,
    inner: RwLock<Arc<Inner>>,
    /// Serializes reloads so two of them never race to swap.
    reloading: Mutex<()>,
}

fn load_and_build(dir: &Path, options: &SearchOptions) -> Result<Inner, KnowledgeError> {
    let loaded = load::load_dir(dir).map_err(|source| KnowledgeError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if loaded.snippets.is_empty() {
        let reason = if loaded.report.errors.is_empty() {
            "no Markdown, CSV or JSONL knowledge files with content were found".to_string()
        } else {
            let shown: Vec<String> = loaded
                .report
                .errors
                .iter()
                .take(5)
                .map(|e| e.to_string())
                .collect();
            format!("every knowledge file failed: {}", shown.join("; "))
        };
        return Err(KnowledgeError::Empty {
            path: dir.to_path_buf(),
            reason,
        });
    }
    Inner::build(
        loaded.snippets,
        loaded.report,
        loaded.version,
        loaded.dict.as_deref(),
        loaded.synonyms.as_deref(),
        options.clone(),
    )
}

impl KnowledgeBase {
    /// Loads and indexes `dir`. Fails only when nothing at all could be loaded.
    pub fn open(dir: &Path) -> Result<(Self, LoadReport), KnowledgeError> {
        Self::open_with(dir, SearchOptions::default())
    }

    /// [`KnowledgeBase::open`] with another method, e.g. [`SearchOptions::baseline`].
    pub fn open_with(
        dir: &Path,
        options: SearchOptions,
    ) -> Result<(Self, LoadReport), KnowledgeError> {
        let inner = load_and_build(dir, &options)?;
        let report = inner.report.clone();
        Ok((
            KnowledgeBase {
                dir: dir.to_path_buf(),
                options,
                inner: RwLock::new(Arc::new(inner)),
                reloading: Mutex::new(()),
            },
            report,
        ))
    }

    /// Indexes snippets given directly (benchmarks, tests); `reload` then reads `dir`.
    pub fn from_snippets(
        dir: &Path,
        snippets: Vec<Snippet>,
        options: SearchOptions,
    ) -> Result<Self, KnowledgeError> {
        if snippets.is_empty() {
            return Err(KnowledgeError::Empty {
                path: dir.to_path_buf(),
                reason: "no snippets were given".into(),
            });
        }
        let report = LoadReport {
            files: 0,
            snippets: snippets.len(),
            errors: Vec::new(),
        };
        let version = snippets_version(&snippets);
        let inner = Inner::build(snippets, report, version, None, None, options.clone())?;
        Ok(KnowledgeBase {
            dir: dir.to_path_buf(),
            options,
            inner: RwLock::new(Arc::new(inner)),
            reloading: Mutex::new(()),
        })
    }

    fn current(&self) -> Arc<Inner> {
        // A poisoned lock still holds a complete Arc: swapping is a single assignment.
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse, KnowledgeError> {
        self.current().search(req)
    }

    /// Reloads from the same folder; on failure the old index stays in force.
    pub fn reload(&self) -> Result<LoadReport, KnowledgeError> {
        let _guard = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let inner = load_and_build(&self.dir, &self.options)?;
        let report = inner.report.clone();
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(inner);
        Ok(report)
    }

    /// A short hash of the loaded content, recorded with every draft.
    pub fn version(&self) -> String {
        self.current().version.clone()
    }

    /// How a request is understood: its concepts, each a list of `(term, weight)` alternatives
    /// (the customer's words first, then synonyms). For debugging and `kefu search --explain`.
    pub fn query_terms(&self, req: &SearchRequest) -> Vec<Vec<(String, f32)>> {
        self.current().query_terms(req)
    }

    /// What no-answer detection sees in `hits` (the response to `req`); for calibrating it.
    pub fn no_answer_signals(&self, req: &SearchRequest, hits: &[Hit]) -> NoAnswerSignals {
        self.current().signals(req, hits)
    }

    /// The folder this knowledge was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &SearchOptions {
        &self.options
    }

    /// What the last successful load read and skipped.
    pub fn report(&self) -> LoadReport {
        self.current().report.clone()
    }

    /// Number of snippets in force.
    pub fn len(&self) -> usize {
        self.current().snippets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The snippet with this id, if loaded.
    pub fn snippet(&self, id: &str) -> Option<Snippet> {
        self.current().snippets.iter().find(|s| s.id == id).cloned()
    }
}

fn snippets_version(snippets: &[Snippet]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for s in snippets {
        h.update(s.id.as_bytes());
        h.update([0]);
        h.update(s.title.as_bytes());
        h.update([0]);
        h.update(s.text.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..6])
}
