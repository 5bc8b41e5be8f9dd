//! One check: rule hits, personal data and grounding turned into findings and a verdict.

use super::grounding;
use super::normalize::normalize;
use super::pii::{self, CharIndex};
use super::rules::RuleSet;
use super::{CheckResult, Finding, Grounding, Severity, Verdict};

pub(crate) fn check(set: &RuleSet, text: &str, g: &Grounding) -> CheckResult {
    let mut findings: Vec<Finding> = Vec::new();
    let n = normalize(text);
    let hits = set.matcher.find(&n, &set.rules);
    for h in hits {
        let rule = &set.rules[h.rule];
        let (start, end) = n.span(h.start, h.end);
        findings.push(Finding {
            rule: rule.id.clone(),
            category: rule.category.clone(),
            severity: rule.severity,
            start,
            end,
            matched: String::new(),
            message: rule.message.clone(),
            suggestion: rule.suggestion.clone(),
        });
    }
    if !set.pii.is_empty() {
        let addresses = set.pii.iter().any(|r| r.kind == pii::PiiKind::Address);
        for m in pii::detect_with(text, addresses) {
            for rule in set.pii.iter().filter(|r| r.kind == m.kind) {
                findings.push(Finding {
                    rule: rule.id.clone(),
                    category: rule.category.clone(),
                    severity: if m.valid {
                        rule.severity
                    } else {
                        rule.severity_invalid
                    },
                    start: m.start,
                    end: m.end,
                    matched: String::new(),
                    message: rule.message.clone(),
                    suggestion: rule.suggestion.clone(),
                });
            }
        }
    }
    if let Some(sources) = &g.sources {
        let rule = &set.grounding;
        for c in grounding::unsupported(text, sources) {
            findings.push(Finding {
                rule: rule.id.clone(),
                category: "unsupported_claim".into(),
                severity: rule.severity,
                start: c.start,
                end: c.end,
                matched: String::new(),
                message: rule.message.clone(),
                suggestion: rule.suggestion.clone(),
            });
        }
    }
    let mut findings = merge(findings);
    if !findings.is_empty() {
        let chars = CharIndex::new(text);
        for f in &mut findings {
            f.matched = chars.slice(text, f.start, f.end).to_string();
        }
    }
    let verdict = match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Block) => Verdict::Block,
        Some(Severity::Warn) => Verdict::Warn,
        _ => Verdict::Pass,
    };
    CheckResult {
        verdict,
        findings,
        ruleset_version: set.version.clone(),
    }
}

/// Sorts findings and joins overlapping hits of the same rule (最好 inside 最好的) into one.
fn merge(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| {
        (a.start, std::cmp::Reverse(a.end), &a.rule).cmp(&(
            b.start,
            std::cmp::Reverse(b.end),
            &b.rule,
        ))
    });
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        if let Some(prev) = out
            .iter_mut()
            .rev()
            .take_while(|p| p.end > f.start)
            .find(|p| p.rule == f.rule)
        {
            if f.end <= prev.end {
                continue;
            }
        }
        out.push(f);
    }
    out
}
