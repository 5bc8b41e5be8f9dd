//! The pipeline's redaction step: personal data is replaced by stable placeholders (`[手机号1]`)
//! before anything else sees the conversation, and put back where a draft uses them.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use tokio::sync::mpsc;

use crate::compliance::pii::{self, CharIndex, PiiKind};

/// Placeholder → original value for one conversation. The same value always gets the same
/// placeholder, across turns.
#[derive(Debug, Clone, Default)]
pub struct Vault {
    by_placeholder: HashMap<String, String>,
    by_value: HashMap<(PiiKind, String), String>,
    counts: HashMap<PiiKind, usize>,
}

impl Vault {
    pub fn is_empty(&self) -> bool {
        self.by_placeholder.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_placeholder.len()
    }

    /// The original behind a placeholder such as `[手机号1]`.
    pub fn get(&self, placeholder: &str) -> Option<&str> {
        self.by_placeholder.get(placeholder).map(String::as_str)
    }

    fn placeholder_for(&mut self, kind: PiiKind, value: &str) -> String {
        if let Some(p) = self.by_value.get(&(kind, value.to_string())) {
            return p.clone();
        }
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        let p = format!("[{}{}]", kind.label(), n);
        self.by_placeholder.insert(p.clone(), value.to_string());
        self.by_value.insert((kind, value.to_string()), p.clone());
        p
    }
}

/// Replaces every kind of personal data the check knows (phones, landlines, service numbers, QQ
/// numbers, ID cards, bank cards, e-mails, addresses) in `text` with placeholders recorded in
/// `vault`.
pub fn mask(text: &str, vault: &mut Vault) -> String {
    replace_pii(text, |kind, value| vault.placeholder_for(kind, value))
}

/// Masks personal data for log lines: phones keep their first three and last four digits,
/// everything else becomes its kind (`[身份证]`).
pub fn mask_for_log(text: &str) -> String {
    replace_pii(text, |kind, value| {
        let digits: Vec<char> = value.chars().filter(|c| c.is_ascii_digit()).collect();
        if kind == PiiKind::Phone && digits.len() >= 11 {
            let n = digits.len();
            let head: String = digits[n - 11..n - 8].iter().collect();
            let tail: String = digits[n - 4..].iter().collect();
            format!("{head}****{tail}")
        } else {
            format!("[{}]", kind.label())
        }
    })
}

fn replace_pii(text: &str, mut with: impl FnMut(PiiKind, &str) -> String) -> String {
    let found = pii::detect(text);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let chars = CharIndex::new(text);
    let mut at = 0;
    for m in found {
        let (start, end) = (chars.byte(m.start), chars.byte(m.end));
        out.push_str(&text[at..start]);
        out.push_str(&with(m.kind, &text[start..end]));
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn placeholder_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\[(?:手机号|身份证|银行卡|邮箱|地址|电话|服务电话|QQ号)\d+\]")
            .expect("static placeholder pattern")
    })
}

/// Puts the originals back where `text` uses placeholders of `vault`; unknown placeholders
/// stay as they are.
pub fn restore(text: &str, vault: &Vault) -> String {
    if vault.is_empty() {
        return text.to_string();
    }
    placeholder_re()
        .replace_all(text, |c: &regex::Captures<'_>| {
            let p = &c[0];
            vault.get(p).unwrap_or(p).to_string()
        })
        .into_owned()
}

/// Byte offset from which `text` must be held back because it may be the start of a
/// placeholder split across chunks (`[手机` … `号1]`); `text.len()` when nothing is held.
fn held_tail(text: &str) -> usize {
    let Some(open) = text.rfind('[') else {
        return text.len();
    };
    let tail = &text[open + 1..];
    if tail.contains(']') {
        return text.len();
    }
    let could_be = PiiKind::ALL.iter().any(|k| {
        let label = k.label();
        if label.starts_with(tail) {
            return true;
        }
        tail.strip_prefix(label)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()) && rest.len() < 6)
    });
    if could_be {
        open
    } else {
        text.len()
    }
}

/// Restores placeholders in a text that arrives in chunks. A chunk tail that may be the start
/// of a placeholder is held until it completes or cannot be one.
pub struct Restorer<'v> {
    vault: &'v Vault,
    pending: String,
}

impl<'v> Restorer<'v> {
    pub fn new(vault: &'v Vault) -> Self {
        Restorer {
            vault,
            pending: String::new(),
        }
    }

    /// The text that can be shown after `chunk`, restored; `None` while all of it is held.
    pub fn push(&mut self, chunk: &str) -> Option<String> {
        self.pending.push_str(chunk);
        let cut = held_tail(&self.pending);
        if cut == 0 {
            return None;
        }
        let ready = restore(&self.pending[..cut], self.vault);
        self.pending.drain(..cut);
        Some(ready)
    }

    /// At the end of the text: what is still held, restored as far as it can be.
    pub fn finish(self) -> Option<String> {
        (!self.pending.is_empty()).then(|| restore(&self.pending, self.vault))
    }
}

/// Forwards the chunks of `rx` to `out` with placeholders restored (see [`Restorer`]) until
/// `rx` closes, then flushes what is held. Stops early when `out` is closed.
pub async fn restore_chunks(
    mut rx: mpsc::Receiver<String>,
    out: mpsc::Sender<String>,
    vault: &Vault,
) {
    let mut restorer = Restorer::new(vault);
    while let Some(chunk) = rx.recv().await {
        if let Some(ready) = restorer.push(&chunk) {
            if out.send(ready).await.is_err() {
                return;
            }
        }
    }
    if let Some(rest) = restorer.finish() {
        let _ = out.send(rest).await;
    }
}

/// A sender whose chunks are forwarded to `out` with placeholders restored, by a task of its
/// own ([`restore_chunks`]); what is held is flushed when the returned sender (and its
/// clones) are dropped.
pub fn restoring_sender(out: mpsc::Sender<String>, vault: Vault) -> mpsc::Sender<String> {
    let (tx, rx) = mpsc::channel::<String>(64);
    tokio::spawn(async move { restore_chunks(rx, out, &vault).await });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_tail_cases() {
        assert_eq!(held_tail("您好[手机"), "您好".len());
        assert_eq!(held_tail("您好[手机号12"), "您好".len());
        assert_eq!(held_tail("您好[手机号1]"), "您好[手机号1]".len());
        assert_eq!(held_tail("您好[备注"), "您好[备注".len());
        assert_eq!(held_tail("["), 0);
    }
}
