//! The hash chain: canonical serialization of an event, its SHA-256, and verification of a
//! stored sequence of events.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AuditEvent, Role, StoreError};
use crate::compliance::Verdict;

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Times are kept to the microsecond (PostgreSQL's precision) and written in one fixed format,
/// so the text hashed at append time is the text rebuilt at verify time on either store.
pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Now, truncated to what both databases store exactly.
pub(crate) fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

pub(crate) fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// An event row exactly as stored; `payload` is the JSON text that was hashed.
#[derive(Debug, Clone)]
pub(crate) struct RawEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub draft_id: Option<String>,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawEvent {
    /// The hash this row should carry: SHA-256 over a JSON array of every other column.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            fmt_time(self.at),
            self.actor,
            self.role,
            self.action,
            self.draft_id,
            self.payload,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    pub fn into_event(self) -> Result<AuditEvent, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt {
            table: "audit_events",
            key: format!("seq {}", self.seq),
            message,
        };
        let role = Role::parse(&self.role)
            .ok_or_else(|| corrupt(format!("unknown role `{}`", self.role)))?;
        let payload = serde_json::from_str(&self.payload)
            .map_err(|e| corrupt(format!("payload is not JSON: {e}")))?;
        Ok(AuditEvent {
            seq: self.seq,
            at: self.at,
            actor: self.actor,
            role,
            action: self.action,
            draft_id: self.draft_id,
            payload,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Builds the next link of the chain after (`prev_seq`, `prev_hash`).
pub(crate) fn seal(
    prev_seq: i64,
    prev_hash: &str,
    at: DateTime<Utc>,
    actor: &super::Actor,
    action: &str,
    draft_id: Option<&str>,
    payload: &serde_json::Value,
) -> RawEvent {
    let mut e = RawEvent {
        seq: prev_seq + 1,
        at: truncate(at),
        actor: actor.name.clone(),
        role: actor.role.as_str().to_string(),
        action: action.to_string(),
        draft_id: draft_id.map(str::to_string),
        payload: payload.to_string(),
        prev_hash: prev_hash.to_string(),
        hash: String::new(),
    };
    e.hash = e.compute_hash();
    e
}

/// What is wrong with the chain at its first bad event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerifyProblem {
    /// The event's content no longer matches its hash.
    Altered,
    /// Events before this one are missing (`expected` is the first missing seq).
    Missing { expected: i64 },
    /// The event's `prev_hash` does not name the event before it: events were reordered,
    /// replaced or removed and the chain re-linked.
    Reordered,
    /// The chain head records a later event than the last one stored: the tail was deleted.
    TailMissing { head_seq: i64 },
}

/// Result of [`super::Store::verify`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events checked.
    pub events: u64,
    /// The head recorded by the store; anchor it elsewhere to detect a rewritten tail.
    pub head_seq: i64,
    pub head_hash: String,
    /// The first bad event (its seq) and why.
    pub first_bad_seq: Option<i64>,
    pub problem: Option<VerifyProblem>,
    /// One line a person can read.
    pub message: String,
}

/// Walks events in seq order; fed page by page so a long chain is never held in memory.
pub(crate) struct Verifier {
    expected_seq: i64,
    prev_hash: String,
    checked: u64,
    failure: Option<(i64, VerifyProblem, String)>,
}

impl Verifier {
    pub fn new() -> Self {
        Verifier {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            checked: 0,
            failure: None,
        }
    }

    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    pub fn feed(&mut self, e: &RawEvent) {
        if self.failure.is_some() {
            return;
        }
        self.checked += 1;
        if e.seq != self.expected_seq {
            let msg = format!(
                "event {} is missing (next stored event is {}): events were deleted",
                self.expected_seq, e.seq
            );
            self.failure = Some((
                self.expected_seq,
                VerifyProblem::Missing {
                    expected: self.expected_seq,
                },
                msg,
            ));
            return;
        }
        if e.compute_hash() != e.hash {
            let msg = format!(
                "event {} ({} by {}) was altered: its content does not match its hash",
                e.seq, e.action, e.actor
            );
            self.failure = Some((e.seq, VerifyProblem::Altered, msg));
            return;
        }
        if e.prev_hash != self.prev_hash {
            let msg = format!(
                "event {} does not follow event {}: events were reordered or replaced",
                e.seq,
                e.seq - 1
            );
            self.failure = Some((e.seq, VerifyProblem::Reordered, msg));
            return;
        }
        self.prev_hash = e.hash.clone();
        self.expected_seq += 1;
    }

    pub fn finish(mut self, head_seq: i64, head_hash: &str) -> VerifyReport {
        if self.failure.is_none() {
            let last = self.expected_seq - 1;
            if last < head_seq {
                let msg = format!(
                    "the chain head names event {head_seq} but the last stored event is {last}: \
                     the newest events were deleted"
                );
                self.failure = Some((last + 1, VerifyProblem::TailMissing { head_seq }, msg));
            } else if last == head_seq && self.prev_hash != head_hash {
                let msg = format!(
                    "event {last} does not match the chain head: the newest event was replaced"
                );
                self.failure = Some((last, VerifyProblem::Altered, msg));
            }
        }
        match self.failure {
            None => VerifyReport {
                ok: true,
                events: self.checked,
                head_seq,
                head_hash: head_hash.to_string(),
                first_bad_seq: None,
                problem: None,
                message: format!("audit chain intact: {} events", self.checked),
            },
            Some((seq, problem, message)) => VerifyReport {
                ok: false,
                events: self.checked,
                head_seq,
                head_hash: head_hash.to_string(),
                first_bad_seq: Some(seq),
                problem: Some(problem),
                message,
            },
        }
    }
}

/// Which events an export or an audit page shows. Empty fields do not filter.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EventFilter {
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// The acting person (e.g. an agent's name).
    pub actor: Option<String>,
    /// Events about drafts suggested for this agent, whoever acted on them.
    pub agent: Option<String>,
    pub action: Option<String>,
    pub draft_id: Option<String>,
    /// Events whose payload has a finding of this category.
    pub category: Option<String>,
    /// Events whose payload verdict is this.
    pub verdict: Option<Verdict>,
}

impl EventFilter {
    /// Whole calendar days `from..=to` in the shop's time zone (`offset`; China is UTC+8),
    /// as `kefu audit export --from D --to D` means them.
    pub fn days(
        from: Option<chrono::NaiveDate>,
        to: Option<chrono::NaiveDate>,
        offset: chrono::FixedOffset,
    ) -> EventFilter {
        let start = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(offset).single())
                .map(|t| t.with_timezone(&Utc))
        };
        EventFilter {
            from: from.and_then(start),
            to: to.and_then(|d| d.succ_opt()).and_then(start),
            ..EventFilter::default()
        }
    }
}

/// One page of [`super::Store::list_events`]; pass `next_after` back to get the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    pub next_after: Option<i64>,
}

/// Largest page a caller may ask for.
pub const MAX_PAGE: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drafts::Actor;

    fn chain(n: usize) -> Vec<RawEvent> {
        let actor = Actor {
            name: "a".into(),
            role: Role::Agent,
        };
        let mut out: Vec<RawEvent> = Vec::new();
        for i in 0..n {
            let (seq, prev) = out
                .last()
                .map_or((0, GENESIS_HASH.to_string()), |e| (e.seq, e.hash.clone()));
            out.push(seal(
                seq,
                &prev,
                Utc::now(),
                &actor,
                "x",
                None,
                &serde_json::json!({ "i": i }),
            ));
        }
        out
    }

    fn run(events: &[RawEvent], head: (i64, &str)) -> VerifyReport {
        let mut v = Verifier::new();
        for e in events {
            v.feed(e);
        }
        v.finish(head.0, head.1)
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let r = run(&c, (5, &c[4].hash));
        assert!(r.ok, "{r:?}");
        assert_eq!(r.events, 5);
    }

    #[test]
    fn altered_payload_is_named() {
        let mut c = chain(5);
        c[2].payload = r#"{"i":99}"#.into();
        let r = run(&c, (5, &c[4].hash.clone()));
        assert_eq!(r.first_bad_seq, Some(3));
        assert_eq!(r.problem, Some(VerifyProblem::Altered));
    }

    #[test]
    fn deleted_event_is_named() {
        let mut c = chain(5);
        c.remove(1);
        let r = run(&c, (5, &c[3].hash.clone()));
        assert_eq!(r.first_bad_seq, Some(2));
        assert!(matches!(
            r.problem,
            Some(VerifyProblem::Missing { expected: 2 })
        ));
    }

    #[test]
    fn swapped_events_are_named() {
        let mut c = chain(5);
        // swap contents of 2 and 3, renumber and rehash each so only the links break
        let (a, b) = (c[1].clone(), c[2].clone());
        c[1] = RawEvent { seq: 2, ..b };
        c[2] = RawEvent { seq: 3, ..a };
        for e in &mut c[1..3] {
            e.hash = e.compute_hash();
        }
        let r = run(&c, (5, &c[4].hash.clone()));
        assert_eq!(r.first_bad_seq, Some(2));
        assert_eq!(r.problem, Some(VerifyProblem::Reordered));
    }

    #[test]
    fn deleted_tail_is_named() {
        let c = chain(5);
        let head = c[4].hash.clone();
        let r = run(&c[..3], (5, &head));
        assert_eq!(r.first_bad_seq, Some(4));
        assert!(matches!(
            r.problem,
            Some(VerifyProblem::TailMissing { head_seq: 5 })
        ));
    }

    #[test]
    fn day_filter_covers_whole_local_days() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let east8 = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let f = EventFilter::days(d("2026-11-01"), d("2026-11-02"), east8);
        assert_eq!(fmt_time(f.from.unwrap()), "2026-10-31T16:00:00.000000Z");
        assert_eq!(fmt_time(f.to.unwrap()), "2026-11-02T16:00:00.000000Z");
        assert!(EventFilter::days(None, None, east8).from.is_none());
    }

    #[test]
    fn time_format_round_trips_at_microseconds() {
        let t = truncate(Utc::now());
        assert_eq!(parse_time(&fmt_time(t)), Some(t));
        assert_eq!(fmt_time(t).len(), "2026-01-01T00:00:00.000000Z".len());
    }
}
