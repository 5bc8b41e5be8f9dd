//! PostgreSQL backend: the same statements as SQLite with native `timestamptz` columns; every
//! writing transaction locks the single `chain_head` row (`FOR UPDATE`), which serializes
//! appends across all replicas sharing the database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use super::audit::{EventFilter, RawEvent};
use super::ops::{Begin, Head, WriteTx};
use super::row::{self, db, Dialect, Param, DRAFT_COLUMNS, EVENT_COLUMNS};
use super::{Draft, StoreError};

fn time(row: &PgRow, col: &str) -> Result<DateTime<Utc>, StoreError> {
    row.try_get(col).map_err(db("reading a time"))
}

fn draft_row(row: &PgRow) -> Result<Draft, StoreError> {
    row::draft_from(row, time)
}

fn event_row(row: &PgRow) -> Result<RawEvent, StoreError> {
    row::event_from(row, time)
}

const DIALECT: Dialect = Dialect {
    category: |n| {
        format!(
            "(payload::jsonb -> 'findings') @> jsonb_build_array(jsonb_build_object('category', ${n}::text))"
        )
    },
    verdict: |n| format!("(payload::jsonb ->> 'verdict') = ${n}"),
};

#[derive(Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
}

/// For modules with their own tables (FAQ jobs).
impl PgStore {
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PgStore {
    /// Connects to `url` and runs the migrations. The password, if any, is never echoed.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| {
                StoreError::Db(format!(
                    "cannot connect to PostgreSQL at storage.database_url: {e}"
                ))
            })?;
        super::tolerant(sqlx::migrate!("migrations/postgres"))
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(format!("PostgreSQL: {e}")))?;
        Ok(PgStore { pool })
    }

    pub async fn get_draft(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a draft"))?;
        row.as_ref().map(draft_row).transpose()
    }

    pub async fn raw_conversation(&self, id: &str) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query("SELECT raw_conversation FROM drafts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a raw conversation"))?;
        row.map(|r| r.try_get("raw_conversation"))
            .transpose()
            .map_err(db("reading a raw conversation"))
    }

    pub async fn list_drafts(
        &self,
        status: Option<&str>,
        agent: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Draft>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts \
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR agent = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(status)
        .bind(agent)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing drafts"))?;
        rows.iter().map(draft_row).collect()
    }

    pub async fn events(
        &self,
        filter: &EventFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RawEvent>, StoreError> {
        let (sql, params) = row::event_query(filter, after, limit, &DIALECT);
        let mut q = sqlx::query(&sql);
        for p in params {
            q = match p {
                Param::Text(s) => q.bind(s),
                Param::Time(t) => q.bind(t),
                Param::Int(i) => q.bind(i),
            };
        }
        let rows = q
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading audit events"))?;
        rows.iter().map(event_row).collect()
    }

    pub async fn head(&self) -> Result<Head, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db("reading the chain head"))?;
        Ok(Head {
            seq: row.try_get("seq").map_err(db("reading the chain head"))?,
            hash: row.try_get("hash").map_err(db("reading the chain head"))?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Begin for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, StoreError> {
        let tx = self
            .pool
            .begin()
            .await
            .map_err(db("starting a write transaction"))?;
        Ok(PgTx(tx, None))
    }
}

/// The transaction, and the chain head once this transaction has locked it.
pub(crate) struct PgTx(Transaction<'static, Postgres>, Option<Head>);

impl WriteTx for PgTx {
    async fn lock_head(&mut self) -> Result<Head, StoreError> {
        if let Some(head) = &self.1 {
            return Ok(head.clone()); // locked already: later jobs of a batch skip the trip
        }
        let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *self.0)
            .await
            .map_err(db("reading the chain head"))?;
        let head = Head {
            seq: row.try_get("seq").map_err(db("reading the chain head"))?,
            hash: row.try_get("hash").map_err(db("reading the chain head"))?,
        };
        self.1 = Some(head.clone());
        Ok(head)
    }

    async fn append_events(&mut self, events: &[RawEvent]) -> Result<(), StoreError> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        // One round trip for the events and the head: the head lock is held meanwhile.
        let mut sql = format!("WITH ins AS (INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES ");
        for k in 0..events.len() {
            let b = k * 9;
            if k > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        let n = events.len() * 9;
        sql.push_str(&format!(
            ") UPDATE chain_head SET seq = ${}, hash = ${} WHERE id = 1",
            n + 1,
            n + 2
        ));
        let mut q = sqlx::query(&sql);
        for e in events {
            q = q
                .bind(e.seq)
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.role)
                .bind(&e.action)
                .bind(&e.draft_id)
                .bind(&e.payload)
                .bind(&e.prev_hash)
                .bind(&e.hash);
        }
        q.bind(last.seq)
            .bind(&last.hash)
            .execute(&mut *self.0)
            .await
            .map_err(db("appending audit events"))?;
        self.1 = Some(Head {
            seq: last.seq,
            hash: last.hash.clone(),
        });
        Ok(())
    }

    async fn insert_draft(
        &mut self,
        d: &Draft,
        raw: Option<&str>,
        raw_purge_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO drafts ({DRAFT_COLUMNS}, scenario, verdict, raw_conversation, raw_purge_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(&d.id)
        .bind(d.status.as_str())
        .bind(&d.agent)
        .bind(d.created_at)
        .bind(d.updated_at)
        .bind(d.expires_at)
        .bind(row::to_json(&d.suggestion, "the suggestion")?)
        .bind(&d.final_text)
        .bind(&d.decided_by)
        .bind(&d.reason)
        .bind(i64::from(d.required_approvals))
        .bind(row::to_json(&d.approvals, "the approvals")?)
        .bind(&d.suggestion.scenario)
        .bind(d.suggestion.verdict.as_str())
        .bind(raw)
        .bind(raw_purge_at)
        .execute(&mut *self.0)
        .await
        .map_err(db("inserting a draft"))?;
        Ok(())
    }

    async fn lock_draft(&mut self, id: &str) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await
        .map_err(db("reading a draft"))?;
        row.as_ref().map(draft_row).transpose()
    }

    async fn update_draft(&mut self, d: &Draft) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE drafts SET status = $2, updated_at = $3, final_text = $4, decided_by = $5, \
             reason = $6, required_approvals = $7, approvals = $8 WHERE id = $1",
        )
        .bind(&d.id)
        .bind(d.status.as_str())
        .bind(d.updated_at)
        .bind(&d.final_text)
        .bind(&d.decided_by)
        .bind(&d.reason)
        .bind(i64::from(d.required_approvals))
        .bind(row::to_json(&d.approvals, "the approvals")?)
        .execute(&mut *self.0)
        .await
        .map_err(db("updating a draft"))?;
        Ok(())
    }

    async fn stale_pending(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Draft>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE status = 'pending' AND expires_at <= $1 \
             ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.0)
        .await
        .map_err(db("finding stale drafts"))?;
        rows.iter().map(draft_row).collect()
    }

    async fn purge_raw(&mut self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE drafts SET raw_conversation = NULL \
             WHERE raw_conversation IS NOT NULL AND raw_purge_at <= $1 RETURNING id",
        )
        .bind(now)
        .fetch_all(&mut *self.0)
        .await
        .map_err(db("purging raw conversations"))?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("purging raw conversations"))?;
        ids.sort();
        Ok(ids)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.map_err(db("committing"))
    }

    async fn rollback(self) -> Result<(), StoreError> {
        self.0.rollback().await.map_err(db("rolling back"))
    }
}
