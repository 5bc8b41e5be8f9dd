//! `kefu eval compliance`: runs a labeled case set through the checker and reports per-verdict
//! precision and recall, the false-positive rate on `pass` cases and the confusion matrix.
//!
//! Case file: JSONL, one case a line: `{"text", "expect": "pass"|"warn"|"block", "category"?,
//! "sources"?}`. `sources` (a list of texts) turns on the grounding check for that case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Compliance, Grounding, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("case file {path} could not be read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a compliance case ({message}); expected {{\"text\": \"...\", \"expect\": \"pass|warn|block\"}}")]
    Case {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("case file {path} holds no cases")]
    Empty { path: PathBuf },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    text: String,
    expect: Verdict,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    sources: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictStats {
    /// Cases expected with this verdict.
    pub support: usize,
    /// Cases the checker gave this verdict.
    pub predicted: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryStats {
    pub cases: usize,
    pub correct: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mistake {
    pub line: usize,
    pub text: String,
    pub expect: Verdict,
    pub got: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `rule:matched` of every finding.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComplianceReport {
    pub cases_file: String,
    pub cases: usize,
    pub ruleset_version: String,
    pub accuracy: f64,
    /// Keyed by verdict: pass, warn, block.
    pub per_verdict: BTreeMap<String, VerdictStats>,
    /// Share of `pass` cases that got any other verdict.
    pub pass_false_positive_rate: f64,
    /// Share of `block` cases that got `block`.
    pub block_recall: f64,
    /// expected verdict → actual verdict → count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    pub per_category: BTreeMap<String, CategoryStats>,
    pub mistakes: Vec<Mistake>,
}

const VERDICTS: [Verdict; 3] = [Verdict::Pass, Verdict::Warn, Verdict::Block];

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        // Nothing to get wrong: a perfect score keeps thresholds meaningful.
        1.0
    } else {
        a as f64 / b as f64
    }
}

pub fn run_compliance_eval(c: &Compliance, cases: &Path) -> Result<ComplianceReport, EvalError> {
    let raw = std::fs::read_to_string(cases).map_err(|source| EvalError::Io {
        path: cases.to_path_buf(),
        source,
    })?;
    let mut parsed = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let case: Case = serde_json::from_str(line).map_err(|e| EvalError::Case {
            path: cases.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        parsed.push((i + 1, case));
    }
    if parsed.is_empty() {
        return Err(EvalError::Empty {
            path: cases.to_path_buf(),
        });
    }
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for e in VERDICTS {
        let row = confusion.entry(e.as_str().into()).or_default();
        for a in VERDICTS {
            row.insert(a.as_str().into(), 0);
        }
    }
    let mut per_category: BTreeMap<String, CategoryStats> = BTreeMap::new();
    let mut mistakes = Vec::new();
    let mut correct = 0;
    let mut version = c.version();
    for (line, case) in &parsed {
        let grounding = Grounding {
            sources: case.sources.clone(),
        };
        let r = c.check(&case.text, &grounding);
        version = r.ruleset_version.clone();
        *confusion
            .entry(case.expect.as_str().into())
            .or_default()
            .entry(r.verdict.as_str().into())
            .or_default() += 1;
        let ok = r.verdict == case.expect;
        correct += usize::from(ok);
        let cat = case.category.clone().unwrap_or_else(|| "none".into());
        let s = per_category.entry(cat).or_insert(CategoryStats {
            cases: 0,
            correct: 0,
        });
        s.cases += 1;
        s.correct += usize::from(ok);
        if !ok {
            mistakes.push(Mistake {
                line: *line,
                text: case.text.clone(),
                expect: case.expect,
                got: r.verdict,
                category: case.category.clone(),
                findings: r
                    .findings
                    .iter()
                    .map(|f| format!("{}:{}", f.rule, f.matched))
                    .collect(),
            });
        }
    }
    let count = |e: Verdict, a: Verdict| confusion[e.as_str()][a.as_str()];
    let mut per_verdict = BTreeMap::new();
    for v in VERDICTS {
        let support: usize = VERDICTS.iter().map(|&a| count(v, a)).sum();
        let predicted: usize = VERDICTS.iter().map(|&e| count(e, v)).sum();
        let hit = count(v, v);
        per_verdict.insert(
            v.as_str().to_string(),
            VerdictStats {
                support,
                predicted,
                correct: hit,
                precision: ratio(hit, predicted),
                recall: ratio(hit, support),
            },
        );
    }
    let pass_support = per_verdict["pass"].support;
    Ok(ComplianceReport {
        cases_file: cases.display().to_string(),
        cases: parsed.len(),
        ruleset_version: version,
        accuracy: ratio(correct, parsed.len()),
        pass_false_positive_rate: if pass_support == 0 {
            0.0
        } else {
            1.0 - per_verdict["pass"].recall
        },
        block_recall: per_verdict["block"].recall,
        per_verdict,
        confusion,
        per_category,
        mistakes,
    })
}

impl ComplianceReport {
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "compliance eval: {} cases from {} (rules {})\n",
            self.cases, self.cases_file, self.ruleset_version
        ));
        s.push_str(&format!(
            "accuracy {:.3}   block recall {:.3}   false-positive rate on pass {:.3}\n\n",
            self.accuracy, self.block_recall, self.pass_false_positive_rate
        ));
        s.push_str("verdict  support  predicted  precision  recall\n");
        for v in VERDICTS {
            let st = &self.per_verdict[v.as_str()];
            s.push_str(&format!(
                "{:<7}  {:>7}  {:>9}  {:>9.3}  {:>6.3}\n",
                v.as_str(),
                st.support,
                st.predicted,
                st.precision,
                st.recall
            ));
        }
        s.push_str("\nconfusion (rows expected, columns actual)\n         pass   warn  block\n");
        for e in VERDICTS {
            let row = &self.confusion[e.as_str()];
            s.push_str(&format!(
                "{:<7} {:>5}  {:>5}  {:>5}\n",
                e.as_str(),
                row["pass"],
                row["warn"],
                row["block"]
            ));
        }
        s.push_str("\ncategory                 cases  correct\n");
        for (cat, st) in &self.per_category {
            s.push_str(&format!("{:<24} {:>5}  {:>7}\n", cat, st.cases, st.correct));
        }
        if !self.mistakes.is_empty() {
            s.push_str(&format!("\nmistakes ({}):\n", self.mistakes.len()));
            for m in &self.mistakes {
                s.push_str(&format!(
                    "  line {}: expected {}, got {}: {}  [{}]\n",
                    m.line,
                    m.expect.as_str(),
                    m.got.as_str(),
                    m.text,
                    m.findings.join(", ")
                ));
            }
        }
        s
    }
}
