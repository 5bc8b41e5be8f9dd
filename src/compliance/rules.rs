//! Rule files: `rules/*.toml`, owned by compliance officers, compiled into one [`RuleSet`].
//!
//! A file holds `[[rule]]` tables (terms, regexes, allow-list contexts), `[[pii]]` tables
//! (severity of each personal-data detector) and at most one `[grounding]` table. Term and allow
//! lists may also come from text files (`term_files`, `allow_files`, one entry a line, `#`
//! comments), paths relative to the rules folder.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::classifier::{Classifier, Example};
use super::matcher::Matcher;
use super::normalize::normalize;
use super::pii::PiiKind;
use super::Verdict;
use super::{RulesError, Severity, Text};

/// The categories a finding may carry (design.md "Compliance findings").
pub const CATEGORIES: [&str; 7] = [
    "absolute_terms",
    "medical_claims",
    "off_platform",
    "personal_data",
    "false_promise",
    "pressure_or_disrespect",
    "unsupported_claim",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    pii: Vec<PiiDef>,
    #[serde(default)]
    grounding: Option<GroundingDef>,
    #[serde(default)]
    classifier: Option<ClassifierDef>,
    /// Word classes usable in any file's regexes as `{name}`.
    #[serde(default)]
    classes: BTreeMap<String, Spanned<Vec<String>>>,
    /// Word classes read from word lists (merged with `classes` of the same name).
    #[serde(default)]
    class_files: BTreeMap<String, Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: Spanned<String>,
    category: Spanned<String>,
    severity: Spanned<String>,
    #[serde(default)]
    terms: Vec<String>,
    #[serde(default)]
    term_files: Vec<Spanned<String>>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    allow_files: Vec<Spanned<String>>,
    /// A negation shortly before the hit in the same clause (不具有治疗作用) cancels it.
    #[serde(default)]
    negation: bool,
    /// A term hit (or a two-character regex hit) across words of ordinary Chinese (最低|能效
    /// holds 低能, 确保|准时 holds 保准) is no hit.
    #[serde(default)]
    whole_words: bool,
    /// When not empty, the hit counts only if one of these words is close by in the sentence.
    #[serde(default)]
    near: Vec<String>,
    /// The hit is dropped when one of these words is in the same clause (发票, 医生 …).
    #[serde(default)]
    unless: Vec<String>,
    /// The hit is dropped when one of these words is in its clause or later in the sentence:
    /// a fraud warning follows what it warns about (让您加微信领补偿，请提高警惕，这可能是诈骗).
    #[serde(default)]
    warning: Vec<String>,
    /// The hit is dropped when one of these words follows it in its clause and ends that clause,
    /// save for sentence particles: the channel is named first and then refused (微信是加不了的).
    #[serde(default)]
    refusal: Vec<String>,
    /// With `refusal`: the refusal clears the hit only when one of these words sends the
    /// customer back to the platform later in the text (…，有问题在这里留言就好).
    #[serde(default)]
    redirect: Vec<String>,
    /// With `refusal`: none of these may follow the refusal (订单备注里有新号, 晚点打给您): the
    /// refused channel is swapped for another way.
    #[serde(default)]
    offer_after: Vec<String>,
    message: String,
    #[serde(default)]
    suggestion: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PiiDef {
    kind: Spanned<String>,
    id: String,
    category: Spanned<String>,
    severity: Spanned<String>,
    /// Severity when the checksum fails (ID cards, bank cards); default: the same.
    #[serde(default)]
    severity_invalid: Option<Spanned<String>>,
    message: String,
    #[serde(default)]
    suggestion: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroundingDef {
    id: String,
    severity: Spanned<String>,
    message: String,
    #[serde(default)]
    suggestion: Option<String>,
}

/// `[classifier]`: a sentence scorer trained on labeled replies (see [`Classifier`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifierDef {
    id: String,
    severity: Spanned<String>,
    /// JSONL case files (the evaluation format), relative to the rules folder.
    train_files: Vec<Spanned<String>>,
    /// Log-odds a sentence must reach to be flagged.
    threshold: Spanned<f32>,
    /// Log-odds at which the finding blocks, even where a rule only warned. At least
    /// `threshold`; absent, the model never blocks.
    #[serde(default)]
    block_threshold: Option<Spanned<f32>>,
    message: String,
    #[serde(default)]
    suggestion: Option<String>,
}

/// The compiled `[classifier]`.
#[derive(Debug, Clone)]
pub struct ClassifierRule {
    pub id: Text,
    pub severity: Severity,
    pub message: Text,
    pub suggestion: Option<Text>,
    pub model: Classifier,
    /// With `block_threshold`: the same cases learned as "block" against everything else (a
    /// `warn` case counts as sendable here), so what reviewers only warn about is not blocked.
    pub block: Option<Classifier>,
}

/// One compiled term/regex rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Text,
    pub category: Text,
    pub severity: Severity,
    pub message: Text,
    pub suggestion: Option<Text>,
    pub negation: bool,
    /// Term hits and two-character regex hits must not straddle words (see
    /// `straddles_two_words` in the matcher).
    pub whole_words: bool,
    /// Normalized `near` words.
    pub near: Vec<String>,
    /// Normalized `unless` words.
    pub unless: Vec<String>,
    /// Normalized `warning` words.
    pub warning: Vec<String>,
    /// Normalized `refusal` words.
    pub refusal: Vec<String>,
    /// Normalized `redirect` words.
    pub redirect: Vec<String>,
    /// Normalized `offer_after` words.
    pub offer_after: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PiiRule {
    pub kind: PiiKind,
    pub id: Text,
    pub category: Text,
    pub severity: Severity,
    pub severity_invalid: Severity,
    pub message: Text,
    pub suggestion: Option<Text>,
}

#[derive(Debug, Clone)]
pub struct GroundingRule {
    pub id: Text,
    pub severity: Severity,
    pub message: Text,
    pub suggestion: Option<Text>,
}

impl Default for GroundingRule {
    fn default() -> Self {
        GroundingRule {
            id: "grounding.number".into(),
            severity: Severity::Warn,
            message: "这个数字在知识库和订单信息中都找不到依据".into(),
            suggestion: Some("核对后改成知识库中的数字，或删去具体数字".into()),
        }
    }
}

/// Everything loaded from one rules folder.
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub matcher: Matcher,
    pub pii: Vec<PiiRule>,
    pub grounding: GroundingRule,
    pub classifier: Option<ClassifierRule>,
    pub version: String,
}

/// Where a rule's terms come from, before compilation.
pub struct TermSource {
    pub rule: usize,
    pub term: String,
    pub allow: bool,
}

fn normalized_words(words: &[String]) -> Vec<String> {
    words
        .iter()
        .map(|w| normalize(w).text)
        .filter(|w| !w.is_empty())
        .collect()
}

fn line_of(src: &str, byte: usize) -> usize {
    src[..byte.min(src.len())].matches('\n').count() + 1
}

fn severity(s: &Spanned<String>, file: &str, src: &str) -> Result<Severity, RulesError> {
    match s.get_ref().as_str() {
        "block" => Ok(Severity::Block),
        "warn" => Ok(Severity::Warn),
        "info" => Ok(Severity::Info),
        other => Err(invalid(
            file,
            src,
            s.span().start,
            format!("severity \"{other}\" is not one of block, warn, info"),
        )),
    }
}

fn category(s: &Spanned<String>, file: &str, src: &str) -> Result<String, RulesError> {
    let c = s.get_ref();
    if CATEGORIES.contains(&c.as_str()) {
        Ok(c.clone())
    } else {
        Err(invalid(
            file,
            src,
            s.span().start,
            format!(
                "category \"{c}\" is unknown; use one of {}",
                CATEGORIES.join(", ")
            ),
        ))
    }
}

fn invalid(file: &str, src: &str, byte: usize, message: String) -> RulesError {
    RulesError::Invalid {
        file: file.to_string(),
        line: line_of(src, byte),
        message,
    }
}

/// Reads a word list: one entry a line, blank lines and `#` comments skipped.
fn read_list(
    dir: &Path,
    rel: &Spanned<String>,
    file: &str,
    src: &str,
    hashed: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Vec<String>, RulesError> {
    let path = dir.join(rel.get_ref());
    let bytes = std::fs::read(&path).map_err(|e| {
        invalid(
            file,
            src,
            rel.span().start,
            format!("word list {} could not be read: {e}", rel.get_ref()),
        )
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| {
        invalid(
            file,
            src,
            rel.span().start,
            format!("word list {} is not UTF-8", rel.get_ref()),
        )
    })?;
    hashed.insert(rel.get_ref().clone(), bytes);
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// Reads a JSONL case file for the classifier: texts normalized, categories as indices of
/// [`CATEGORIES`]; blank lines and `#` comments skipped. A broken line is reported with its
/// own file and line.
fn read_cases(
    dir: &Path,
    rel: &Spanned<String>,
    file: &str,
    src: &str,
    hashed: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Vec<(String, super::Verdict, Option<usize>)>, RulesError> {
    let lines = read_list(dir, rel, file, src, hashed)?;
    let raw = String::from_utf8_lossy(&hashed[rel.get_ref()]).into_owned();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let e: Example = serde_json::from_str(line).map_err(|e| RulesError::Invalid {
            file: rel.get_ref().clone(),
            line: i + 1,
            message: format!("not a labeled case: {e}"),
        })?;
        let category = match e.category.as_deref() {
            None => None,
            Some(c) => Some(CATEGORIES.iter().position(|k| *k == c).ok_or_else(|| {
                RulesError::Invalid {
                    file: rel.get_ref().clone(),
                    line: i + 1,
                    message: format!("category \"{c}\" is unknown"),
                }
            })?),
        };
        out.push((normalize(&e.text).text, e.expect, category));
    }
    Ok(out)
}

/// Each word class as a regex alternation over its normalized words, longest first.
fn compile_classes(classes: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    classes
        .iter()
        .map(|(name, words)| {
            let mut words = normalized_words(words);
            words.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
            words.dedup();
            let alt: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
            (name.clone(), format!("(?:{})", alt.join("|")))
        })
        .collect()
}

/// A word-list entry that is exactly `{name}` stands for the words of that class, so one list
/// (the doctor referrals, the refusals of a channel) serves every rule that needs it and a
/// compliance officer edits it once.
fn expand_lists(
    words: &[String],
    classes: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        let Some(name) = w.trim().strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
            out.push(w.clone());
            continue;
        };
        if !is_class_name(name) {
            return Err(format!(
                "\"{w}\" looks like a word class but is not a class name (lower-case letters, digits and _); write the class's name or the word without braces"
            ));
        }
        let class = classes.get(name).ok_or_else(|| {
            format!("word class {{{name}}} is not defined in any [classes]; define it (classes.toml holds the shared ones) or remove the entry")
        })?;
        out.extend(class.iter().cloned());
    }
    Ok(out)
}

/// A class name: a lower-case identifier (so `{0,8}` in a regex is a quantifier, not a class).
fn is_class_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
}

/// Replaces every `{name}` (a lower-case identifier, so quantifiers such as `{0,8}` stay) by
/// the word class of that name. `\{name}` is a literal brace; `\\{name}` is a literal
/// backslash and then the class (an odd run of backslashes escapes the brace).
fn expand_classes(re: &str, classes: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(re.len());
    let mut rest = re;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let backslashes = out.chars().rev().take_while(|&c| c == '\\').count();
        let is_class =
            is_class_name(name) && after[name_len..].starts_with('}') && backslashes % 2 == 0;
        if !is_class {
            out.push('{');
            rest = after;
            continue;
        }
        let class = classes
            .get(name)
            .ok_or_else(|| format!("word class {{{name}}} is not defined in any [classes]"))?;
        out.push_str(class);
        rest = &after[name_len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Loads and compiles every `*.toml` directly under `dir` (sorted by name).
pub fn load_dir(dir: &Path) -> Result<RuleSet, RulesError> {
    let io = |source| RulesError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(RulesError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no *.toml rule files in this folder; point [rules] dir at the rules folder",
            ),
        });
    }
    let mut sources = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        sources.push((name, src));
    }
    compile(dir, &sources)
}

/// Compiles rule files given as (file name, contents); word lists are read relative to `dir`.
pub fn compile(dir: &Path, sources: &[(String, String)]) -> Result<RuleSet, RulesError> {
    let mut hashed: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut terms: Vec<TermSource> = Vec::new();
    let mut regexes: Vec<(usize, Regex)> = Vec::new();
    let mut pii = Vec::new();
    let mut grounding: Option<GroundingRule> = None;
    let mut classifier: Option<ClassifierRule> = None;
    let mut ids: HashSet<String> = HashSet::new();

    let mut parsed_files = Vec::with_capacity(sources.len());
    for (file, src) in sources {
        hashed.insert(file.clone(), src.as_bytes().to_vec());
        let parsed: RuleFile = toml::from_str(src).map_err(|e| RulesError::Invalid {
            file: file.clone(),
            line: e.span().map_or(1, |s| line_of(src, s.start)),
            message: e.message().trim().to_string(),
        })?;
        parsed_files.push((file, src, parsed));
    }
    // Word classes first: a regex in any file may use a class defined in any other.
    let mut classes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // A class with no word left after normalization would expand to `(?:)`, which matches
    // everywhere: each definition and each list must bring at least one word.
    for (file, src, parsed) in &mut parsed_files {
        for (name, words) in std::mem::take(&mut parsed.classes) {
            if normalized_words(words.get_ref()).is_empty() {
                return Err(invalid(
                    file,
                    src,
                    words.span().start,
                    format!("word class {{{name}}} has no words (after normalization)"),
                ));
            }
            classes.entry(name).or_default().extend(words.into_inner());
        }
        for (name, lists) in std::mem::take(&mut parsed.class_files) {
            for f in &lists {
                let words = read_list(dir, f, file, src, &mut hashed)?;
                if normalized_words(&words).is_empty() {
                    return Err(invalid(
                        file,
                        src,
                        f.span().start,
                        format!(
                            "word class {{{name}}}: word list {} has no words (after normalization)",
                            f.get_ref()
                        ),
                    ));
                }
                classes.entry(name.clone()).or_default().extend(words);
            }
        }
    }
    // Regexes use a class as an alternation; word lists (`warning`, `refusal` …) name it as an
    // entry `{name}` and take its words as written.
    let class_words = classes;
    let classes = compile_classes(&class_words);
    for (file, src, parsed) in parsed_files {
        let file: &String = file;
        let src: &String = src;
        for def in parsed.rule {
            let at = def.id.span().start;
            let id = def.id.get_ref().trim().to_string();
            if id.is_empty() {
                return Err(invalid(file, src, at, "rule id is empty".into()));
            }
            if !ids.insert(id.clone()) {
                return Err(invalid(
                    file,
                    src,
                    at,
                    format!("rule id \"{id}\" is defined twice"),
                ));
            }
            let idx = rules.len();
            let list = |field: &str, words: &[String]| {
                expand_lists(words, &class_words)
                    .map_err(|m| invalid(file, src, at, format!("rule \"{id}\": `{field}`: {m}")))
            };
            let mut own_terms = list("terms", &def.terms)?;
            for f in &def.term_files {
                own_terms.extend(read_list(dir, f, file, src, &mut hashed)?);
            }
            let mut own_allow = list("allow", &def.allow)?;
            for f in &def.allow_files {
                own_allow.extend(read_list(dir, f, file, src, &mut hashed)?);
            }
            if own_terms.is_empty() && def.regexes.is_empty() {
                return Err(invalid(
                    file,
                    src,
                    at,
                    format!("rule \"{id}\" has neither terms nor regexes"),
                ));
            }
            // A refusal clears nothing without a way back to the platform to look for.
            if def.refusal.is_empty() != def.redirect.is_empty() {
                return Err(invalid(
                    file,
                    src,
                    at,
                    format!(
                        "rule \"{id}\": `refusal` and `redirect` go together; set both or neither"
                    ),
                ));
            }
            // `offer_after` is read only after a refusal: alone it would silently do nothing.
            if def.refusal.is_empty() && !def.offer_after.is_empty() {
                return Err(invalid(
                    file,
                    src,
                    at,
                    format!("rule \"{id}\": `offer_after` needs `refusal` and `redirect`; set them or remove it"),
                ));
            }
            for t in own_terms {
                let n = normalize(&t).text;
                if n.is_empty() {
                    return Err(invalid(
                        file,
                        src,
                        at,
                        format!("rule \"{id}\": term \"{t}\" is empty after normalization"),
                    ));
                }
                terms.push(TermSource {
                    rule: idx,
                    term: n,
                    allow: false,
                });
            }
            for a in own_allow {
                let n = normalize(&a).text;
                if !n.is_empty() {
                    terms.push(TermSource {
                        rule: idx,
                        term: n,
                        allow: true,
                    });
                }
            }
            for r in &def.regexes {
                let expanded = expand_classes(r.get_ref(), &classes).map_err(|m| {
                    invalid(file, src, r.span().start, format!("rule \"{id}\": {m}"))
                })?;
                let re = Regex::new(&expanded).map_err(|e| {
                    invalid(
                        file,
                        src,
                        r.span().start,
                        format!("rule \"{id}\": regex does not compile: {e}"),
                    )
                })?;
                regexes.push((idx, re));
            }
            let near = normalized_words(&list("near", &def.near)?);
            let unless = normalized_words(&list("unless", &def.unless)?);
            let warning = normalized_words(&list("warning", &def.warning)?);
            let refusal = normalized_words(&list("refusal", &def.refusal)?);
            let redirect = normalized_words(&list("redirect", &def.redirect)?);
            let offer_after = normalized_words(&list("offer_after", &def.offer_after)?);
            rules.push(Rule {
                id: id.into(),
                category: category(&def.category, file, src)?.into(),
                severity: severity(&def.severity, file, src)?,
                message: def.message.into(),
                suggestion: def.suggestion.map(Text::from),
                negation: def.negation,
                whole_words: def.whole_words,
                near,
                unless,
                warning,
                refusal,
                redirect,
                offer_after,
            });
        }
        for def in parsed.pii {
            let kind = match def.kind.get_ref().as_str() {
                "phone" => PiiKind::Phone,
                "id_card" => PiiKind::IdCard,
                "bank_card" => PiiKind::BankCard,
                "email" => PiiKind::Email,
                "address" => PiiKind::Address,
                "landline" => PiiKind::Landline,
                "service_number" => PiiKind::ServiceNumber,
                "qq" => PiiKind::Qq,
                other => {
                    return Err(invalid(
                        file,
                        src,
                        def.kind.span().start,
                        format!(
                            "pii kind \"{other}\" is unknown; use phone, landline, service_number, qq, id_card, bank_card, email or address"
                        ),
                    ))
                }
            };
            if !ids.insert(def.id.clone()) {
                return Err(invalid(
                    file,
                    src,
                    def.kind.span().start,
                    format!("rule id \"{}\" is defined twice", def.id),
                ));
            }
            let sev = severity(&def.severity, file, src)?;
            pii.push(PiiRule {
                kind,
                id: def.id.into(),
                category: category(&def.category, file, src)?.into(),
                severity: sev,
                severity_invalid: match &def.severity_invalid {
                    Some(s) => severity(s, file, src)?,
                    None => sev,
                },
                message: def.message.into(),
                suggestion: def.suggestion.map(Text::from),
            });
        }
        if let Some(g) = parsed.grounding {
            if grounding.is_some() {
                return Err(invalid(
                    file,
                    src,
                    g.severity.span().start,
                    "[grounding] is defined in more than one file".into(),
                ));
            }
            grounding = Some(GroundingRule {
                id: g.id.into(),
                severity: severity(&g.severity, file, src)?,
                message: g.message.into(),
                suggestion: g.suggestion.map(Text::from),
            });
        }
        if let Some(c) = parsed.classifier {
            let at = c.severity.span().start;
            if classifier.is_some() {
                return Err(invalid(
                    file,
                    src,
                    at,
                    "[classifier] is defined in more than one file".into(),
                ));
            }
            if !ids.insert(c.id.clone()) {
                return Err(invalid(
                    file,
                    src,
                    at,
                    format!("rule id \"{}\" is defined twice", c.id),
                ));
            }
            let threshold = *c.threshold.get_ref();
            if !threshold.is_finite() {
                return Err(invalid(
                    file,
                    src,
                    c.threshold.span().start,
                    format!("[classifier] threshold {threshold} is not a finite number"),
                ));
            }
            let block_threshold = match &c.block_threshold {
                None => None,
                Some(b) => {
                    let v = *b.get_ref();
                    if !v.is_finite() || v < threshold {
                        return Err(invalid(
                            file,
                            src,
                            b.span().start,
                            format!(
                                "[classifier] block_threshold {v} must be a finite number no lower than threshold {threshold}"
                            ),
                        ));
                    }
                    Some(v)
                }
            };
            let mut examples = Vec::new();
            for f in &c.train_files {
                examples.extend(read_cases(dir, f, file, src, &mut hashed)?);
            }
            let model = Classifier::train(&examples, threshold)
                .map_err(|e| invalid(file, src, at, format!("[classifier] {e}")))?;
            let block = match block_threshold {
                None => None,
                Some(b) => {
                    let relabelled: Vec<_> = examples
                        .into_iter()
                        .map(|(t, v, c)| match v {
                            Verdict::Warn => (t, Verdict::Pass, c),
                            _ => (t, v, c),
                        })
                        .collect();
                    Some(Classifier::train(&relabelled, b).map_err(|e| {
                        invalid(file, src, at, format!("[classifier] block model: {e}"))
                    })?)
                }
            };
            classifier = Some(ClassifierRule {
                id: c.id.into(),
                severity: severity(&c.severity, file, src)?,
                message: c.message.into(),
                suggestion: c.suggestion.map(Text::from),
                model,
                block,
            });
        }
    }

    // Load jieba's dictionary with the rules (about 0.1 s, once per process), not on the first
    // check that needs it.
    if rules.iter().any(|r| r.whole_words) {
        super::matcher::load_words();
    }
    let matcher = Matcher::build(&terms, regexes).map_err(|message| RulesError::Invalid {
        file: sources.first().map(|s| s.0.clone()).unwrap_or_default(),
        line: 1,
        message,
    })?;
    let mut h = Sha256::new();
    for (name, bytes) in &hashed {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    let version = hex::encode(&h.finalize()[..8]);
    Ok(RuleSet {
        rules,
        matcher,
        pii,
        grounding: grounding.unwrap_or_default(),
        classifier,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_brace_is_literal_and_escaped_backslash_is_not_an_escape() {
        let classes = BTreeMap::from([("v".to_string(), "(?:治)".to_string())]);
        assert_eq!(expand_classes("a{v}", &classes).unwrap(), "a(?:治)");
        assert_eq!(expand_classes(r"a\{v}", &classes).unwrap(), r"a\{v}");
        assert_eq!(expand_classes(r"a\\{v}", &classes).unwrap(), r"a\\(?:治)");
        assert_eq!(expand_classes(r"a\\\{v}", &classes).unwrap(), r"a\\\{v}");
        assert_eq!(expand_classes("a{0,8}", &classes).unwrap(), "a{0,8}");
    }
}
