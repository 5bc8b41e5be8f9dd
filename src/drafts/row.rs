//! Plain rows shared by both backends, the conversions to the public types, and the audit
//! query built once with `$n` placeholders (both SQLite and PostgreSQL accept them).

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::audit::{EventFilter, RawEvent};
use super::{Approval, Draft, NewDraft, Status, StoreError};

pub(crate) const DRAFT_COLUMNS: &str = "id, status, agent, created_at, updated_at, expires_at, \
     suggestion, final_text, decided_by, reason, required_approvals, approvals";

pub(crate) const EVENT_COLUMNS: &str =
    "seq, at, actor, role, action, draft_id, payload, prev_hash, hash";

/// A `drafts` row with times already decoded by the backend.
pub(crate) struct DraftRow {
    pub id: String,
    pub status: String,
    pub agent: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub suggestion: String,
    pub final_text: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub required_approvals: i64,
    pub approvals: String,
}

/// A column type both backends decode the same way.
pub(crate) trait Column<'r, R: Row>: Decode<'r, R::Database> + Type<R::Database> {}
impl<'r, R: Row, T: Decode<'r, R::Database> + Type<R::Database>> Column<'r, R> for T {}

/// How a backend reads a time column (SQLite stores RFC 3339 text, PostgreSQL `timestamptz`).
pub(crate) type ReadTime<R> = fn(&R, &str) -> Result<DateTime<Utc>, StoreError>;

pub(crate) fn db(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Db(format!("{what}: {e}"))
}

/// A `drafts` row of either backend, selected with [`DRAFT_COLUMNS`].
pub(crate) fn draft_from<R>(row: &R, time: ReadTime<R>) -> Result<Draft, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Column<'r, R>,
    for<'r> Option<String>: Column<'r, R>,
    for<'r> i64: Column<'r, R>,
{
    let get = db("reading a draft");
    DraftRow {
        id: row.try_get("id").map_err(&get)?,
        status: row.try_get("status").map_err(&get)?,
        agent: row.try_get("agent").map_err(&get)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        expires_at: time(row, "expires_at")?,
        suggestion: row.try_get("suggestion").map_err(&get)?,
        final_text: row.try_get("final_text").map_err(&get)?,
        decided_by: row.try_get("decided_by").map_err(&get)?,
        reason: row.try_get("reason").map_err(&get)?,
        required_approvals: row.try_get("required_approvals").map_err(&get)?,
        approvals: row.try_get("approvals").map_err(&get)?,
    }
    .into_draft()
}

/// An `audit_events` row of either backend, selected with [`EVENT_COLUMNS`].
pub(crate) fn event_from<R>(row: &R, time: ReadTime<R>) -> Result<RawEvent, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Column<'r, R>,
    for<'r> Option<String>: Column<'r, R>,
    for<'r> i64: Column<'r, R>,
{
    let get = db("reading an audit event");
    Ok(RawEvent {
        seq: row.try_get("seq").map_err(&get)?,
        at: time(row, "at")?,
        actor: row.try_get("actor").map_err(&get)?,
        role: row.try_get("role").map_err(&get)?,
        action: row.try_get("action").map_err(&get)?,
        draft_id: row.try_get("draft_id").map_err(&get)?,
        payload: row.try_get("payload").map_err(&get)?,
        prev_hash: row.try_get("prev_hash").map_err(&get)?,
        hash: row.try_get("hash").map_err(&get)?,
    })
}

impl DraftRow {
    pub fn into_draft(self) -> Result<Draft, StoreError> {
        let id = self.id;
        let corrupt = |message: String| StoreError::Corrupt {
            table: "drafts",
            key: id.clone(),
            message,
        };
        let status = Status::parse(&self.status)
            .ok_or_else(|| corrupt(format!("unknown status `{}`", self.status)))?;
        let suggestion: NewDraft = serde_json::from_str(&self.suggestion)
            .map_err(|e| corrupt(format!("suggestion is not valid JSON: {e}")))?;
        let approvals: Vec<Approval> = serde_json::from_str(&self.approvals)
            .map_err(|e| corrupt(format!("approvals are not valid JSON: {e}")))?;
        Ok(Draft {
            id: id.clone(),
            status,
            agent: self.agent,
            created_at: self.created_at,
            updated_at: self.updated_at,
            suggestion,
            final_text: self.final_text,
            decided_by: self.decided_by,
            reason: self.reason,
            expires_at: self.expires_at,
            required_approvals: u32::try_from(self.required_approvals).unwrap_or(1),
            approvals,
        })
    }
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| StoreError::Invalid(format!("{what} cannot be stored: {e}")))
}

/// A bound value; each backend binds times its own way.
pub(crate) enum Param {
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

/// What differs between the databases in the audit query: JSON access into the payload.
pub(crate) struct Dialect {
    /// SQL true when the payload has a finding of category `$n`.
    pub category: fn(usize) -> String,
    /// SQL true when the payload verdict is `$n`.
    pub verdict: fn(usize) -> String,
}

/// Events matching `filter` with `seq > after`, in seq order, at most `limit`.
pub(crate) fn event_query(
    filter: &EventFilter,
    after: i64,
    limit: i64,
    dialect: &Dialect,
) -> (String, Vec<Param>) {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1");
    let mut params = vec![Param::Int(after)];
    fn next(sql: &mut String, params: &mut Vec<Param>, clause: &dyn Fn(usize) -> String, p: Param) {
        params.push(p);
        sql.push_str(" AND ");
        sql.push_str(&clause(params.len()));
    }
    if let Some(from) = filter.from {
        next(
            &mut sql,
            &mut params,
            &|n| format!("at >= ${n}"),
            Param::Time(from),
        );
    }
    if let Some(to) = filter.to {
        next(
            &mut sql,
            &mut params,
            &|n| format!("at < ${n}"),
            Param::Time(to),
        );
    }
    if let Some(actor) = &filter.actor {
        next(
            &mut sql,
            &mut params,
            &|n| format!("actor = ${n}"),
            Param::Text(actor.clone()),
        );
    }
    if let Some(agent) = &filter.agent {
        next(
            &mut sql,
            &mut params,
            &|n| format!("draft_id IN (SELECT id FROM drafts WHERE agent = ${n})"),
            Param::Text(agent.clone()),
        );
    }
    if let Some(action) = &filter.action {
        next(
            &mut sql,
            &mut params,
            &|n| format!("action = ${n}"),
            Param::Text(action.clone()),
        );
    }
    if let Some(draft_id) = &filter.draft_id {
        next(
            &mut sql,
            &mut params,
            &|n| format!("draft_id = ${n}"),
            Param::Text(draft_id.clone()),
        );
    }
    if let Some(category) = &filter.category {
        next(
            &mut sql,
            &mut params,
            &dialect.category,
            Param::Text(category.clone()),
        );
    }
    if let Some(verdict) = filter.verdict {
        next(
            &mut sql,
            &mut params,
            &dialect.verdict,
            Param::Text(verdict.as_str().to_string()),
        );
    }
    params.push(Param::Int(limit));
    sql.push_str(&format!(" ORDER BY seq LIMIT ${}", params.len()));
    (sql, params)
}
