//! Personal-data detectors, shared by the compliance check and the redaction step.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Phone,
    IdCard,
    BankCard,
    Email,
    Address,
}

/// A detected value; `start`/`end` are character offsets into the text, end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PiiMatch {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
    /// For ID cards: whether the GB 11643 check digit is right; for bank cards: Luhn.
    pub valid: bool,
}

/// Finds personal data in `text`, sorted by start, non-overlapping.
pub fn detect(text: &str) -> Vec<PiiMatch> {
    let _ = text;
    todo!("pii: detect")
}
