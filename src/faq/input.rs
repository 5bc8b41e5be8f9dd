//! Reads the questions of a FAQ job: CSV with a `question` column (UTF-8, with or without BOM,
//! or GBK/GB18030 as exported by Excel on Chinese Windows) or JSON Lines (one object with
//! `question` a line, or one JSON string a line). Optional `platform` and `sku` columns/keys.
//! A malformed row fails the whole input before any quota is spent, naming the line.

use std::path::Path;

use serde::Deserialize;

use crate::conversation::Platform;

/// One question as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Question {
    pub question: String,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub sku: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// From a file name (`.csv`, `.jsonl`/`.ndjson`/`.json`) or a content type.
    pub fn guess(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".csv") || name.contains("text/csv") {
            Some(Format::Csv)
        } else if [".jsonl", ".ndjson", ".json", "ndjson", "jsonl", "json"]
            .iter()
            .any(|e| name.ends_with(e) || name.contains(&format!("/{}", e.trim_start_matches('.'))))
        {
            Some(Format::Jsonl)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}: the text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV")]
    Encoding(String),
    #[error("{source_name}: the CSV has no `question` column (header: {header}); name the column with the questions `question`")]
    NoQuestionColumn { source_name: String, header: String },
    #[error("{source_name} line {line}: {message}")]
    Line {
        source_name: String,
        line: u64,
        message: String,
    },
    #[error("{0}: no questions found")]
    Empty(String),
}

/// Reads a file; the format comes from the extension, else from the first character.
pub fn read_file(path: &Path) -> Result<(Vec<Question>, Vec<u8>), InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path.display().to_string();
    let questions = parse(&name, &bytes, Format::guess(&name))?;
    Ok((questions, bytes))
}

/// Parses bytes of the given format (guessed from the content when `None`).
pub fn parse(
    source_name: &str,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<Vec<Question>, InputError> {
    let text = decode(source_name, bytes)?;
    let format = format.unwrap_or_else(|| match text.trim_start().chars().next() {
        Some('{') | Some('"') => Format::Jsonl,
        _ => Format::Csv,
    });
    let questions = match format {
        Format::Csv => parse_csv(source_name, &text)?,
        Format::Jsonl => parse_jsonl(source_name, &text)?,
    };
    if questions.is_empty() {
        return Err(InputError::Empty(source_name.to_string()));
    }
    Ok(questions)
}

/// UTF-8 (BOM stripped) when valid, else GB18030 (a superset of GBK) when that decodes
/// without errors.
pub fn decode(source_name: &str, bytes: &[u8]) -> Result<String, InputError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guessed = detector.guess(Some(b"cn"), chardetng::Utf8Detection::Allow);
    for encoding in [guessed, encoding_rs::GB18030] {
        let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
        if !had_errors {
            return Ok(text.into_owned());
        }
    }
    Err(InputError::Encoding(source_name.to_string()))
}

fn line_err(source_name: &str, line: u64, message: impl Into<String>) -> InputError {
    InputError::Line {
        source_name: source_name.to_string(),
        line,
        message: message.into(),
    }
}

fn parse_platform(source_name: &str, line: u64, s: &str) -> Result<Option<Platform>, InputError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.to_ascii_lowercase()
        .parse::<Platform>()
        .map(Some)
        .map_err(|e| line_err(source_name, line, e))
}

fn parse_csv(source_name: &str, text: &str) -> Result<Vec<Question>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| line_err(source_name, 1, format!("unreadable header: {e}")))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let q_col = col(&["question", "问题"]).ok_or_else(|| InputError::NoQuestionColumn {
        source_name: source_name.to_string(),
        header: headers.iter().collect::<Vec<_>>().join(","),
    })?;
    let (p_col, s_col) = (col(&["platform", "平台"]), col(&["sku"]));
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            line_err(source_name, line, format!("not valid CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("");
        let question = get(Some(q_col)).to_string();
        if question.is_empty() {
            if record.iter().all(str::is_empty) {
                continue; // a blank line at the end of an Excel export
            }
            return Err(line_err(source_name, line, "the question is empty"));
        }
        let sku = Some(get(s_col).to_string()).filter(|s| !s.is_empty());
        out.push(Question {
            question,
            platform: parse_platform(source_name, line, get(p_col))?,
            sku,
        });
    }
    Ok(out)
}

fn parse_jsonl(source_name: &str, text: &str) -> Result<Vec<Question>, InputError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Line {
        Text(String),
        Object(Question),
    }
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let q = match serde_json::from_str::<Line>(raw) {
            Ok(Line::Text(question)) => Question {
                question,
                platform: None,
                sku: None,
            },
            Ok(Line::Object(q)) => q,
            Err(_) => {
                return Err(line_err(
                    source_name,
                    line,
                    "expected a JSON object with a string `question` (optional `platform`, `sku`) or a JSON string",
                ))
            }
        };
        let q = Question {
            question: q.question.trim().to_string(),
            sku: q
                .sku
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            ..q
        };
        if q.question.is_empty() {
            return Err(line_err(source_name, line, "the question is empty"));
        }
        out.push(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utf8_csv_with_bom_and_optional_columns() {
        let text = "\u{feff}id,question,platform,sku\n1,什么时候发货？,jd,\n2,\"可以开发票吗,要专票\",,AF-5L-01\n,,,\n";
        let qs = parse("q.csv", text.as_bytes(), Some(Format::Csv)).unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].question, "什么时候发货？");
        assert_eq!(qs[0].platform, Some(Platform::Jd));
        assert_eq!(qs[1].question, "可以开发票吗,要专票");
        assert_eq!(qs[1].sku.as_deref(), Some("AF-5L-01"));
    }

    #[test]
    fn reads_gbk_csv() {
        let text = "question\n什么时候发货？\n空气炸锅怎么清洗\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert!(std::str::from_utf8(&gbk).is_err(), "really GBK bytes");
        let qs = parse("q.csv", &gbk, None).unwrap();
        assert_eq!(qs[1].question, "空气炸锅怎么清洗");
    }

    #[test]
    fn reads_jsonl_objects_and_strings() {
        let text = "{\"question\": \"怎么退货\", \"platform\": \"pdd\"}\n\n\"发什么快递\"\n";
        let qs = parse("q.jsonl", text.as_bytes(), None).unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].platform, Some(Platform::Pdd));
        assert_eq!(qs[1].question, "发什么快递");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = parse("q.jsonl", b"\"a\"\n{\"q\": 1}\n", None).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse("q.csv", "question,platform\n好的,amazon\n".as_bytes(), None).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse("q.csv", b"text\nhello\n", Some(Format::Csv)).unwrap_err();
        assert!(matches!(e, InputError::NoQuestionColumn { .. }), "{e}");
        let e = parse("q.csv", b"question\n", Some(Format::Csv)).unwrap_err();
        assert!(matches!(e, InputError::Empty(_)), "{e}");
    }
}
