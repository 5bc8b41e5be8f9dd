//! Audit export: JSONL (one event a line, as stored) and CSV that Excel opens as it is
//! (UTF-8 with BOM, CRLF line ends, quoted where needed, no live formulas).

use std::io::Write;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AuditEvent, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(format!("unknown export format `{other}`; use csv or jsonl")),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportSummary {
    pub format: ExportFormat,
    pub events: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
}

const CSV_HEADER: [&str; 20] = [
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "draft_id",
    "verdict",
    "categories",
    "final_text",
    "edit_distance",
    "origin",
    "override_reason",
    "reason",
    "model",
    "template",
    "template_hash",
    "ruleset_version",
    "knowledge_version",
    "prev_hash",
    "hash",
];

fn io_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Export(format!("cannot write the export: {e}"))
}

/// Writes events one by one so an export of any size streams.
pub(crate) enum Exporter<'a, W: Write> {
    Jsonl(&'a mut W),
    Csv(Box<csv::Writer<&'a mut W>>),
}

impl<'a, W: Write> Exporter<'a, W> {
    pub fn new(format: ExportFormat, out: &'a mut W) -> Result<Self, StoreError> {
        match format {
            ExportFormat::Jsonl => Ok(Exporter::Jsonl(out)),
            ExportFormat::Csv => {
                // The BOM is how Excel knows the file is UTF-8 (Chinese text otherwise garbles).
                out.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .quote_style(csv::QuoteStyle::Necessary)
                    .from_writer(out);
                w.write_record(CSV_HEADER).map_err(io_err)?;
                Ok(Exporter::Csv(Box::new(w)))
            }
        }
    }

    pub fn write(&mut self, e: &AuditEvent) -> Result<(), StoreError> {
        match self {
            Exporter::Jsonl(out) => {
                let line = serde_json::to_string(e).map_err(io_err)?;
                out.write_all(line.as_bytes()).map_err(io_err)?;
                out.write_all(b"\n").map_err(io_err)
            }
            Exporter::Csv(w) => w.write_record(csv_row(e)).map_err(io_err),
        }
    }

    pub fn finish(self) -> Result<(), StoreError> {
        match self {
            Exporter::Jsonl(out) => out.flush().map_err(io_err),
            Exporter::Csv(mut w) => w.flush().map_err(io_err),
        }
    }
}

fn text(payload: &Value, key: &str) -> String {
    match payload.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Spreadsheet programs run a cell starting with = + - @ as a formula; a leading apostrophe
/// makes it text (customer-supplied text ends up in these cells).
fn cell(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

fn csv_row(e: &AuditEvent) -> Vec<String> {
    let p = &e.payload;
    let mut categories: Vec<&str> = p
        .get("findings")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f.get("category").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    categories.sort_unstable();
    categories.dedup();
    vec![
        e.seq.to_string(),
        super::audit::fmt_time(e.at),
        cell(e.actor.clone()),
        e.role.as_str().to_string(),
        cell(e.action.clone()),
        cell(e.draft_id.clone().unwrap_or_default()),
        cell(text(p, "verdict")),
        cell(categories.join("|")),
        cell(text(p, "final_text")),
        text(p, "edit_distance"),
        cell(text(p, "origin")),
        cell(text(p, "override_reason")),
        cell(text(p, "reason")),
        cell(text(p, "model")),
        cell(text(p, "template")),
        cell(text(p, "template_hash")),
        cell(text(p, "ruleset_version")),
        cell(text(p, "knowledge_version")),
        e.prev_hash.clone(),
        e.hash.clone(),
    ]
}
