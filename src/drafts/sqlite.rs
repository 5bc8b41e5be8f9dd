//! SQLite backend: one file in WAL mode with `synchronous=FULL` (a commit that returned is on
//! disk), one writer connection taking `BEGIN IMMEDIATE` (appends never interleave, also
//! across processes sharing the file), and a small pool of readers.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::audit::{fmt_time, parse_time, EventFilter, RawEvent};
use super::ops::{Begin, Head, WriteTx};
use super::row::{self, db, Dialect, Param, DRAFT_COLUMNS, EVENT_COLUMNS};
use super::{Draft, StoreError};

fn time(row: &SqliteRow, col: &str) -> Result<DateTime<Utc>, StoreError> {
    let s: String = row.try_get(col).map_err(db("reading a time"))?;
    parse_time(&s).ok_or_else(|| StoreError::Corrupt {
        table: "drafts or audit_events",
        key: format!("column {col}"),
        message: format!("`{s}` is not an RFC 3339 time"),
    })
}

fn draft_row(row: &SqliteRow) -> Result<Draft, StoreError> {
    row::draft_from(row, time)
}

fn event_row(row: &SqliteRow) -> Result<RawEvent, StoreError> {
    row::event_from(row, time)
}

const DIALECT: Dialect = Dialect {
    category: |n| {
        format!(
            "EXISTS (SELECT 1 FROM json_each(payload, '$.findings') \
             WHERE json_extract(value, '$.category') = ${n})"
        )
    },
    verdict: |n| format!("json_extract(payload, '$.verdict') = ${n}"),
};

#[derive(Clone)]
pub(crate) struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

/// For modules with their own tables (FAQ jobs).
impl SqliteStore {
    /// The writer and reader pools.
    pub(crate) fn pools(&self) -> (&SqlitePool, &SqlitePool) {
        (&self.writer, &self.reader)
    }
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Db(format!(
                    "cannot create the data directory {}: {e}; check storage.data_dir",
                    dir.display()
                ))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let open_err = |e: sqlx::Error| {
            StoreError::Db(format!("cannot open the database {}: {e}", path.display()))
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        super::tolerant(sqlx::migrate!("migrations/sqlite"))
            .run(&writer)
            .await
            .map_err(|e| StoreError::Migrate(format!("{}: {e}", path.display())))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        Ok(SqliteStore { writer, reader })
    }

    pub async fn get_draft(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db("reading a draft"))?;
        row.as_ref().map(draft_row).transpose()
    }

    pub async fn raw_conversation(&self, id: &str) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query("SELECT raw_conversation FROM drafts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
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
        .fetch_all(&self.reader)
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
                Param::Time(t) => q.bind(fmt_time(t)),
                Param::Int(i) => q.bind(i),
            };
        }
        let rows = q
            .fetch_all(&self.reader)
            .await
            .map_err(db("reading audit events"))?;
        rows.iter().map(event_row).collect()
    }

    pub async fn head(&self) -> Result<Head, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
            .fetch_one(&self.reader)
            .await
            .map_err(db("reading the chain head"))?;
        Ok(Head {
            seq: row.try_get("seq").map_err(db("reading the chain head"))?,
            hash: row.try_get("hash").map_err(db("reading the chain head"))?,
        })
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

impl Begin for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, StoreError> {
        // IMMEDIATE takes the write lock now: reading the head and writing the next link
        // can never be split by another writer, even one in another process.
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("starting a write transaction"))?;
        Ok(SqliteTx(tx, None))
    }
}

/// The transaction, and the chain head once this transaction has locked it.
pub(crate) struct SqliteTx(Transaction<'static, Sqlite>, Option<Head>);

impl WriteTx for SqliteTx {
    async fn lock_head(&mut self) -> Result<Head, StoreError> {
        if let Some(head) = &self.1 {
            return Ok(head.clone()); // locked already: later jobs of a batch skip the trip
        }
        let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
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
        for e in events {
            sqlx::query(&format!(
                "INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(e.seq)
            .bind(fmt_time(e.at))
            .bind(&e.actor)
            .bind(&e.role)
            .bind(&e.action)
            .bind(&e.draft_id)
            .bind(&e.payload)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut *self.0)
            .await
            .map_err(db("appending an audit event"))?;
        }
        if let Some(last) = events.last() {
            sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(last.seq)
                .bind(&last.hash)
                .execute(&mut *self.0)
                .await
                .map_err(db("moving the chain head"))?;
            self.1 = Some(Head {
                seq: last.seq,
                hash: last.hash.clone(),
            });
        }
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
        .bind(fmt_time(d.created_at))
        .bind(fmt_time(d.updated_at))
        .bind(fmt_time(d.expires_at))
        .bind(row::to_json(&d.suggestion, "the suggestion")?)
        .bind(&d.final_text)
        .bind(&d.decided_by)
        .bind(&d.reason)
        .bind(i64::from(d.required_approvals))
        .bind(row::to_json(&d.approvals, "the approvals")?)
        .bind(&d.suggestion.scenario)
        .bind(d.suggestion.verdict.as_str())
        .bind(raw)
        .bind(raw_purge_at.map(fmt_time))
        .execute(&mut *self.0)
        .await
        .map_err(db("inserting a draft"))?;
        Ok(())
    }

    async fn lock_draft(&mut self, id: &str) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1"))
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
        .bind(fmt_time(d.updated_at))
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
             ORDER BY expires_at, id LIMIT $2"
        ))
        .bind(fmt_time(now))
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
        .bind(fmt_time(now))
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
