//! Reading the knowledge folder: Markdown (TOML / YAML front matter), FAQ CSV, product JSONL.
//!
//! A malformed Markdown file is skipped as a whole (its front matter decides who may see it);
//! a malformed CSV row or JSONL line skips only that row. Each is reported with file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Kind, LoadError, LoadReport, Snippet};
use crate::conversation::Platform;

/// File names at the knowledge root that configure retrieval instead of holding knowledge.
pub const DICT_FILE: &str = "dict.txt";
pub const SYNONYMS_FILE: &str = "synonyms.txt";

/// Everything read from a knowledge folder.
#[derive(Debug, Default)]
pub struct Loaded {
    pub snippets: Vec<Snippet>,
    pub report: LoadReport,
    /// Contents of `dict.txt` (jieba user dictionary), when present.
    pub dict: Option<String>,
    /// Contents of `synonyms.txt`, when present.
    pub synonyms: Option<String>,
    /// Short hash over every file read (path and bytes).
    pub version: String,
}

/// Reads every knowledge file under `dir`. Fails only when the folder cannot be listed.
pub fn load_dir(dir: &Path) -> Result<Loaded, std::io::Error> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();

    let mut loaded = Loaded::default();
    let mut hasher = Sha256::new();
    for path in files {
        let rel = relative(dir, &path);
        let lower = rel.to_ascii_lowercase();
        let is_dict = lower == DICT_FILE;
        let is_synonyms = lower == SYNONYMS_FILE;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        if !is_dict && !is_synonyms && !matches!(ext.as_str(), "md" | "csv" | "jsonl") {
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                loaded.report.errors.push(LoadError {
                    file: rel,
                    line: None,
                    message: format!("could not read the file: {e}"),
                });
                continue;
            }
        };
        hasher.update(rel.as_bytes());
        hasher.update([0u8]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        let text = decode_text(&bytes);
        if is_dict {
            loaded.dict = Some(text);
            continue;
        }
        if is_synonyms {
            loaded.synonyms = Some(text);
            continue;
        }
        loaded.report.files += 1;
        match ext.as_str() {
            "md" => match parse_markdown(&rel, &text) {
                Ok(mut s) => loaded.snippets.append(&mut s),
                Err(e) => loaded.report.errors.push(e),
            },
            "csv" => parse_csv(&rel, &text, &mut loaded.snippets, &mut loaded.report.errors),
            _ => parse_jsonl(&rel, &text, &mut loaded.snippets, &mut loaded.report.errors),
        }
    }
    dedupe_ids(&mut loaded);
    loaded.report.snippets = loaded.snippets.len();
    loaded.version = hex::encode(&hasher.finalize()[..6]);
    Ok(loaded)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), std::io::Error> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue; // hidden files and folders (editor swap files, .git)
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        if meta.is_dir() {
            collect_files(&path, out)?;
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn without_extension(rel: &str) -> String {
    match rel.rfind('.') {
        Some(dot) if !rel[dot..].contains('/') => rel[..dot].to_string(),
        _ => rel.to_string(),
    }
}

/// UTF-8 (BOM stripped) when valid, else the encoding chardetng guesses (GBK/GB18030 in practice).
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let mut encoding = detector.guess(None, chardetng::Utf8Detection::Deny);
    if encoding == encoding_rs::GBK {
        // GB18030 is a superset of GBK: decode with it so rare characters survive.
        encoding = encoding_rs::GB18030;
    }
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

// ---------- front matter ----------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FrontMatter {
    id: Option<String>,
    title: Option<String>,
    kind: Option<String>,
    platforms: Option<OneOrMany>,
    skus: Option<OneOrMany>,
    tags: Option<OneOrMany>,
    valid_from: Option<String>,
    valid_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<serde_json::Value>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => split_list(&s, &[',', '|', '，']),
            OneOrMany::Many(v) => v
                .into_iter()
                .map(|x| match x {
                    serde_json::Value::String(s) => s.trim().to_string(),
                    other => other.to_string(),
                })
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

fn split_list(s: &str, seps: &[char]) -> Vec<String> {
    s.split(|c| seps.contains(&c))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s),
        toml::Value::Integer(i) => serde_json::Value::from(i),
        toml::Value::Float(f) => serde_json::Value::from(f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(toml_to_json).collect())
        }
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

fn line_of_byte(text: &str, byte: usize) -> usize {
    let head = text.get(..byte.min(text.len())).unwrap_or(text);
    head.matches('\n').count() + 1
}

struct Split<'a> {
    front: Option<(&'static str, &'a str)>,
    /// 1-based line where the front matter text starts (after the fence).
    front_line: usize,
    body: &'a str,
}

fn split_front_matter(text: &str) -> Result<Split<'_>, (usize, String)> {
    let first_end = text.find('\n').unwrap_or(text.len());
    let fence = text[..first_end].trim_end();
    let lang = match fence {
        "+++" => "toml",
        "---" => "yaml",
        _ => {
            return Ok(Split {
                front: None,
                front_line: 0,
                body: text,
            })
        }
    };
    let rest_start = (first_end + 1).min(text.len());
    let mut pos = rest_start;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        if text[pos..end].trim_end() == fence {
            let body_start = (end + 1).min(text.len());
            return Ok(Split {
                front: Some((lang, &text[rest_start..pos])),
                front_line: 2,
                body: &text[body_start..],
            });
        }
        pos = end + 1;
    }
    Err((
        1,
        format!("front matter opened with `{fence}` is never closed: add a closing `{fence}` line"),
    ))
}

fn parse_front_matter(
    lang: &str,
    src: &str,
    first_line: usize,
) -> Result<FrontMatter, (usize, String)> {
    let value = if lang == "toml" {
        let table: toml::Table = toml::from_str(src).map_err(|e| {
            let line = e
                .span()
                .map_or(first_line, |s| first_line + line_of_byte(src, s.start) - 1);
            (line, format!("invalid TOML front matter: {}", e.message()))
        })?;
        toml_to_json(toml::Value::Table(table))
    } else {
        if src.trim().is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_norway::from_str::<serde_json::Value>(src).map_err(|e| {
                let line = e
                    .location()
                    .map_or(first_line, |l| first_line + l.line() - 1);
                (line, format!("invalid YAML front matter: {e}"))
            })?
        }
    };
    if !value.is_object() {
        return Err((first_line, "front matter must be a table of keys".into()));
    }
    serde_json::from_value(value).map_err(|e| (first_line, format!("front matter: {e}")))
}

struct Meta {
    kind: Kind,
    platforms: Vec<Platform>,
    skus: Vec<String>,
    tags: Vec<String>,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "policy" => Ok(Kind::Policy),
        "product" => Ok(Kind::Product),
        "faq" => Ok(Kind::Faq),
        "script" => Ok(Kind::Script),
        other => Err(format!(
            "unknown kind `{other}`: expected policy, product, faq or script"
        )),
    }
}

fn parse_platforms(list: Vec<String>) -> Result<Vec<Platform>, String> {
    let mut out = Vec::new();
    for p in list {
        let platform: Platform = p.parse()?;
        if !out.contains(&platform) {
            out.push(platform);
        }
    }
    out.sort();
    Ok(out)
}

fn parse_date(key: &str, s: &str) -> Result<NaiveDate, String> {
    // TOML datetimes may carry a time part; the date is what counts.
    let day = s.trim().get(..10).unwrap_or(s.trim());
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("`{key}` = `{s}` is not a date: write YYYY-MM-DD"))
}

fn meta_from(fm: &FrontMatter, default_kind: Kind) -> Result<Meta, String> {
    let kind = match &fm.kind {
        Some(k) => parse_kind(k)?,
        None => default_kind,
    };
    let platforms = match &fm.platforms {
        Some(p) => parse_platforms(clone_list(p))?,
        None => Vec::new(),
    };
    let valid_from = fm
        .valid_from
        .as_deref()
        .map(|s| parse_date("valid_from", s))
        .transpose()?;
    let valid_to = fm
        .valid_to
        .as_deref()
        .map(|s| parse_date("valid_to", s))
        .transpose()?;
    if let (Some(f), Some(t)) = (valid_from, valid_to) {
        if t < f {
            return Err(format!("valid_to {t} is before valid_from {f}"));
        }
    }
    Ok(Meta {
        kind,
        platforms,
        skus: fm.skus.as_ref().map(clone_list).unwrap_or_default(),
        tags: fm.tags.as_ref().map(clone_list).unwrap_or_default(),
        valid_from,
        valid_to,
    })
}

fn clone_list(v: &OneOrMany) -> Vec<String> {
    match v {
        OneOrMany::One(s) => OneOrMany::One(s.clone()).into_vec(),
        OneOrMany::Many(m) => OneOrMany::Many(m.clone()).into_vec(),
    }
}

// ---------- Markdown ----------

/// One snippet per `## ` section (`<doc id>#<n>`), plus `#0` for text before the first section.
pub fn parse_markdown(rel: &str, text: &str) -> Result<Vec<Snippet>, LoadError> {
    let err = |line: usize, message: String| LoadError {
        file: rel.to_string(),
        line: Some(line),
        message,
    };
    let split = split_front_matter(text).map_err(|(l, m)| err(l, m))?;
    let fm = match split.front {
        Some((lang, src)) => {
            parse_front_matter(lang, src, split.front_line).map_err(|(l, m)| err(l, m))?
        }
        None => FrontMatter::default(),
    };
    let meta = meta_from(&fm, Kind::Policy).map_err(|m| err(split.front_line.max(1), m))?;
    let doc_id = fm
        .id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| without_extension(rel));

    // Sections, ignoring `## ` inside fenced code blocks.
    let mut h1: Option<String> = None;
    let mut preamble = String::new();
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut in_code = false;
    for line in split.body.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
        }
        if !in_code {
            if let Some(heading) = line.strip_prefix("## ") {
                sections.push((
                    heading.trim().trim_end_matches('#').trim().to_string(),
                    String::new(),
                ));
                continue;
            }
            if sections.is_empty() && h1.is_none() {
                if let Some(title) = line.strip_prefix("# ") {
                    h1 = Some(title.trim().to_string());
                    continue;
                }
            }
        }
        let target = match sections.last_mut() {
            Some((_, body)) => body,
            None => &mut preamble,
        };
        target.push_str(line);
        target.push('\n');
    }
    let title = fm
        .title
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or(h1)
        .unwrap_or_else(|| doc_id.clone());

    let make = |n: usize, snippet_title: String, body: &str| Snippet {
        id: format!("{doc_id}#{n}"),
        doc_id: doc_id.clone(),
        title: snippet_title,
        kind: meta.kind,
        text: body.trim().to_string(),
        source: rel.to_string(),
        platforms: meta.platforms.clone(),
        skus: meta.skus.clone(),
        tags: meta.tags.clone(),
        valid_from: meta.valid_from,
        valid_to: meta.valid_to,
    };
    let mut out = Vec::new();
    if !preamble.trim().is_empty() {
        out.push(make(0, title.clone(), &preamble));
    }
    for (i, (heading, body)) in sections.iter().enumerate() {
        let t = if heading.is_empty() {
            title.clone()
        } else {
            format!("{title} / {heading}")
        };
        out.push(make(i + 1, t, body));
    }
    Ok(out)
}

// ---------- CSV ----------

/// FAQ rows: `question,answer` plus optional `id`, `platforms`, `skus`, `tags` (`|`-separated).
/// A row without an `id` gets `<file id>:<n>` with `n` the 1-based data row (header not counted).
pub fn parse_csv(rel: &str, text: &str, out: &mut Vec<Snippet>, errors: &mut Vec<LoadError>) {
    let file_id = without_extension(rel);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            errors.push(LoadError {
                file: rel.to_string(),
                line: Some(1),
                message: format!("unreadable CSV header: {e}"),
            });
            return;
        }
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(q_col), Some(a_col)) = (col("question"), col("answer")) else {
        errors.push(LoadError {
            file: rel.to_string(),
            line: Some(1),
            message: format!(
                "CSV header must name at least `question` and `answer` columns (found: {})",
                headers.join(",")
            ),
        });
        return;
    };
    let (id_col, p_col, s_col, t_col) = (col("id"), col("platforms"), col("skus"), col("tags"));
    for (i, record) in reader.records().enumerate() {
        let row_no = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                errors.push(LoadError {
                    file: rel.to_string(),
                    line,
                    message: format!("malformed CSV row skipped: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as usize);
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").trim();
        let question = get(Some(q_col));
        let answer = get(Some(a_col));
        if question.is_empty() && answer.is_empty() {
            continue; // blank line
        }
        if question.is_empty() || answer.is_empty() {
            errors.push(LoadError {
                file: rel.to_string(),
                line,
                message: "FAQ row skipped: both `question` and `answer` must be filled".into(),
            });
            continue;
        }
        let platforms = match parse_platforms(split_list(get(p_col), &['|'])) {
            Ok(p) => p,
            Err(m) => {
                errors.push(LoadError {
                    file: rel.to_string(),
                    line,
                    message: format!("FAQ row skipped: {m}"),
                });
                continue;
            }
        };
        let id = match get(id_col) {
            "" => format!("{file_id}:{row_no}"),
            s => s.to_string(),
        };
        out.push(Snippet {
            id: id.clone(),
            doc_id: id,
            title: question.to_string(),
            kind: Kind::Faq,
            text: answer.to_string(),
            source: rel.to_string(),
            platforms,
            skus: split_list(get(s_col), &['|']),
            tags: split_list(get(t_col), &['|']),
            valid_from: None,
            valid_to: None,
        });
    }
}

// ---------- JSONL ----------

#[derive(Debug, Deserialize)]
struct Product {
    sku: String,
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    price: Option<serde_json::Value>,
    #[serde(default)]
    attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    platforms: Option<OneOrMany>,
    #[serde(default)]
    tags: Option<OneOrMany>,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_to: Option<String>,
}

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(json_scalar).collect::<Vec<_>>().join("、"),
        other => other.to_string(),
    }
}

/// One product per line; id = `sku`. Blank lines and `//` comments are ignored.
pub fn parse_jsonl(rel: &str, text: &str, out: &mut Vec<Snippet>, errors: &mut Vec<LoadError>) {
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let err = |message: String| LoadError {
            file: rel.to_string(),
            line: Some(line_no),
            message,
        };
        let product: Product = match serde_json::from_str(trimmed) {
            Ok(p) => p,
            Err(e) => {
                errors.push(err(format!("product line skipped: {e}")));
                continue;
            }
        };
        let sku = product.sku.trim().to_string();
        if sku.is_empty() {
            errors.push(err("product line skipped: `sku` is empty".into()));
            continue;
        }
        let fm = FrontMatter {
            platforms: product.platforms,
            tags: product.tags,
            valid_from: product.valid_from,
            valid_to: product.valid_to,
            ..FrontMatter::default()
        };
        let meta = match meta_from(&fm, Kind::Product) {
            Ok(m) => m,
            Err(m) => {
                errors.push(err(format!("product line skipped: {m}")));
                continue;
            }
        };
        let mut text = String::new();
        if !product.category.is_empty() {
            text.push_str(&format!("类目：{}。", product.category));
        }
        if let Some(price) = &product.price {
            text.push_str(&format!("价格：{}元。", json_scalar(price)));
        }
        for (k, v) in &product.attributes {
            text.push_str(&format!("{k}：{}；", json_scalar(v)));
        }
        if !product.description.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(product.description.trim());
        }
        out.push(Snippet {
            id: sku.clone(),
            doc_id: sku.clone(),
            title: format!("{}（{}）", product.name.trim(), sku),
            kind: meta.kind,
            text,
            source: rel.to_string(),
            platforms: meta.platforms,
            // A product is about its own SKU but stays visible on other product pages
            // (customers compare models); the search boosts the page's own product instead.
            skus: Vec::new(),
            tags: meta.tags,
            valid_from: meta.valid_from,
            valid_to: meta.valid_to,
        });
    }
}

/// Two snippets with one id would make hits ambiguous: keep the first, report the rest.
fn dedupe_ids(loaded: &mut Loaded) {
    let mut seen = std::collections::HashMap::new();
    let mut keep = Vec::with_capacity(loaded.snippets.len());
    for s in std::mem::take(&mut loaded.snippets) {
        if let Some(first) = seen.get(&s.id) {
            loaded.report.errors.push(LoadError {
                file: s.source.clone(),
                line: None,
                message: format!(
                    "snippet id `{}` is already used by {first}: this one is skipped, give it another id",
                    s.id
                ),
            });
            continue;
        }
        seen.insert(s.id.clone(), s.source.clone());
        keep.push(s);
    }
    loaded.snippets = keep;
}
