//! Retrieval evaluation over a JSONL query file.
//!
//! One query a line: `{"query": "...", "relevant": ["id", ...], "platform"?: "...",
//! "sku"?: "...", "date"?: "YYYY-MM-DD"}`; optionally `"turns": [{"role": "customer"|"agent",
//! "text": "..."}]` for a whole conversation (then `query`, when not empty, is appended as the
//! latest customer turn). Blank lines and lines starting with `//` are ignored.
//!
//! Definitions (all in 0..=1):
//! * a query is *answerable* when `relevant` is not empty;
//! * it is *answered at n* when one of its top-n hits has `id` or `doc_id` in `relevant`;
//! * `recall_at_1`, `recall_at_k`: share of answerable queries answered at 1 and at k;
//! * `mrr`: mean over answerable queries of 1/rank of the first relevant hit within the top k
//!   (0 when none), i.e. MRR@k;
//! * `no_answer_accuracy`: share of ALL queries where the response's `no_answer` equals
//!   "`relevant` is empty";
//! * `no_answer_recall`: share of the unanswerable queries flagged `no_answer` (accuracy alone
//!   looks good when nothing is ever flagged); `false_no_answer`: share of the answerable
//!   queries flagged `no_answer` (a person writes a draft the knowledge could have answered).
//!
//! Queries without a `date` are asked on the evaluation's date ([`evaluate`]'s `date`), or
//! today when none is given: pin it for reproducible numbers.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{KnowledgeBase, KnowledgeError, SearchRequest};
use crate::conversation::{Platform, Turn};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RetrievalReport {
    pub queries: usize,
    pub answerable: usize,
    pub k: usize,
    pub recall_at_1: f64,
    pub recall_at_k: f64,
    pub mrr: f64,
    pub no_answer_accuracy: f64,
    pub unanswerable: usize,
    pub no_answer_recall: f64,
    pub false_no_answer: f64,
}

/// One evaluation query as read from the file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EvalQuery {
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub turns: Vec<Turn>,
    #[serde(default)]
    pub relevant: Vec<String>,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// 1-based line in the file (filled in when read).
    #[serde(skip_deserializing)]
    pub line: usize,
}

impl EvalQuery {
    /// The search request; `date` is used when the query has none.
    pub fn request(&self, k: usize, date: Option<NaiveDate>) -> SearchRequest {
        let mut turns = self.turns.clone();
        if !self.query.trim().is_empty() {
            turns.push(Turn::customer(self.query.clone()));
        }
        SearchRequest {
            turns,
            platform: self.platform,
            sku: self.sku.clone(),
            date: self.date.or(date),
            k,
        }
    }
}

/// How one query fared: for finding misses while improving the method.
#[derive(Debug, Clone, Serialize)]
pub struct QueryOutcome {
    pub line: usize,
    pub query: String,
    pub relevant: Vec<String>,
    /// 1-based rank of the first relevant hit within the top k.
    pub rank: Option<usize>,
    pub no_answer: bool,
    /// Ids of the top-k hits, best first.
    pub hits: Vec<String>,
}

impl QueryOutcome {
    /// Wrong rank or wrong no-answer call.
    pub fn is_miss(&self) -> bool {
        let answerable = !self.relevant.is_empty();
        (answerable && self.rank != Some(1)) || self.no_answer == answerable
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("could not read query file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: invalid query line: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("query file {path} holds no queries")]
    Empty { path: PathBuf },
    #[error("search failed at {path}:{line}: {source}")]
    Search {
        path: PathBuf,
        line: usize,
        source: KnowledgeError,
    },
}

/// Reads a query file (see the module docs for the format).
pub fn load_queries(path: &Path) -> Result<Vec<EvalQuery>, EvalError> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = super::load::decode_text(&bytes);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let mut q: EvalQuery = serde_json::from_str(trimmed).map_err(|e| EvalError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        if q.query.trim().is_empty() && q.turns.is_empty() {
            return Err(EvalError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: "needs a non-empty `query` or `turns`".into(),
            });
        }
        q.line = i + 1;
        out.push(q);
    }
    if out.is_empty() {
        return Err(EvalError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Runs every query of `queries` against `kb` and scores the results at `k`. Queries without
/// a `date` are asked on `date` (today when `None`).
pub fn run_retrieval_eval(
    kb: &KnowledgeBase,
    queries: &Path,
    k: usize,
    date: Option<NaiveDate>,
) -> Result<RetrievalReport, EvalError> {
    run_retrieval_eval_detailed(kb, queries, k, date).map(|(report, _)| report)
}

/// [`run_retrieval_eval`] plus each query's outcome.
pub fn run_retrieval_eval_detailed(
    kb: &KnowledgeBase,
    queries: &Path,
    k: usize,
    date: Option<NaiveDate>,
) -> Result<(RetrievalReport, Vec<QueryOutcome>), EvalError> {
    let list = load_queries(queries)?;
    evaluate(kb, &list, k, date).map_err(|(line, source)| EvalError::Search {
        path: queries.to_path_buf(),
        line,
        source,
    })
}

/// Scores already-read queries, those without a `date` asked on `date` (today when `None`).
/// On a search failure returns the query's line and the error.
pub fn evaluate(
    kb: &KnowledgeBase,
    queries: &[EvalQuery],
    k: usize,
    date: Option<NaiveDate>,
) -> Result<(RetrievalReport, Vec<QueryOutcome>), (usize, KnowledgeError)> {
    let k = k.max(1);
    let mut outcomes = Vec::with_capacity(queries.len());
    for q in queries {
        let resp = kb.search(&q.request(k, date)).map_err(|e| (q.line, e))?;
        let rank = resp
            .hits
            .iter()
            .position(|h| q.relevant.iter().any(|r| *r == h.id || *r == h.doc_id))
            .map(|p| p + 1);
        outcomes.push(QueryOutcome {
            line: q.line,
            query: if q.query.is_empty() {
                q.turns
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ")
            } else {
                q.query.clone()
            },
            relevant: q.relevant.clone(),
            rank,
            no_answer: resp.no_answer,
            hits: resp.hits.iter().map(|h| h.id.clone()).collect(),
        });
    }
    Ok((score(&outcomes, k), outcomes))
}

/// The report over outcomes (see the module docs for the definitions).
pub fn score(outcomes: &[QueryOutcome], k: usize) -> RetrievalReport {
    let answerable: Vec<&QueryOutcome> =
        outcomes.iter().filter(|o| !o.relevant.is_empty()).collect();
    let n = answerable.len();
    let ratio = |x: f64, d: usize| if d == 0 { 0.0 } else { x / d as f64 };
    let at1 = answerable.iter().filter(|o| o.rank == Some(1)).count();
    let atk = answerable
        .iter()
        .filter(|o| o.rank.is_some_and(|r| r <= k))
        .count();
    let rr: f64 = answerable
        .iter()
        .filter_map(|o| o.rank.filter(|r| *r <= k))
        .map(|r| 1.0 / r as f64)
        .sum();
    let na_ok = outcomes
        .iter()
        .filter(|o| o.no_answer == o.relevant.is_empty())
        .count();
    let unanswerable = outcomes.len() - n;
    let flagged = outcomes
        .iter()
        .filter(|o| o.relevant.is_empty() && o.no_answer)
        .count();
    let false_flags = answerable.iter().filter(|o| o.no_answer).count();
    RetrievalReport {
        queries: outcomes.len(),
        answerable: n,
        k,
        recall_at_1: ratio(at1 as f64, n),
        recall_at_k: ratio(atk as f64, n),
        mrr: ratio(rr, n),
        no_answer_accuracy: ratio(na_ok as f64, outcomes.len()),
        unanswerable,
        no_answer_recall: ratio(flagged as f64, unanswerable),
        false_no_answer: ratio(false_flags as f64, n),
    }
}
