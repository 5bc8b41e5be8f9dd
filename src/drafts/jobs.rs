//! FAQ job persistence: jobs, their items (one per input question) and the runs (processes)
//! working on them. Items are claimed one at a time with a single `UPDATE … RETURNING`
//! statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two processes never claim the same
//! question. Times are epoch milliseconds in both databases.

use sqlx::{ColumnIndex, Row};

use super::row::Column;
use super::{Backend, StoreError};
use crate::conversation::Platform;
use crate::drafts::Role;
use crate::faq::{Claimed, Counts, Item, ItemState, Job, JobStatus, NewItem, NewJob, Recovery};

fn db(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Db(format!("FAQ jobs: {what}: {e}"))
}

/// `(writer, reader)` of whichever backend is open; the body is written once for both.
macro_rules! pools {
    ($self:ident, ($w:ident, $r:ident) => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(b) => {
                let ($w, $r) = b.pools();
                $body
            }
            Backend::Postgres(b) => {
                let ($w, $r) = (b.pool(), b.pool());
                $body
            }
        }
    };
}

const JOB_COLUMNS: &str =
    "id, source, created_by, created_role, created_at, total, status, finished_at";
const ITEM_COLUMNS: &str = "job_id, seq, question, platform, sku, canonical, state, attempts, \
     draft_id, error, note, started_at, finished_at";

fn corrupt(key: String, message: String) -> StoreError {
    StoreError::Corrupt {
        table: "faq_items",
        key,
        message,
    }
}

fn job_row<R: Row>(r: &R) -> Result<Job, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Column<'r, R>,
    for<'r> i64: Column<'r, R>,
    for<'r> Option<i64>: Column<'r, R>,
{
    let get = db("reading a job");
    let id: String = r.try_get("id").map_err(&get)?;
    let role: String = r.try_get("created_role").map_err(&get)?;
    let status: String = r.try_get("status").map_err(&get)?;
    Ok(Job {
        source: r.try_get("source").map_err(&get)?,
        created_by: r.try_get("created_by").map_err(&get)?,
        created_role: Role::parse(&role)
            .ok_or_else(|| corrupt(id.clone(), format!("unknown role `{role}`")))?,
        created_at: r.try_get("created_at").map_err(&get)?,
        total: r.try_get("total").map_err(&get)?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| corrupt(id.clone(), format!("unknown job status `{status}`")))?,
        finished_at: r.try_get("finished_at").map_err(&get)?,
        id,
    })
}

fn item_row<R: Row>(r: &R) -> Result<Item, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Column<'r, R>,
    for<'r> Option<String>: Column<'r, R>,
    for<'r> i64: Column<'r, R>,
    for<'r> Option<i64>: Column<'r, R>,
{
    let get = db("reading an item");
    let job_id: String = r.try_get("job_id").map_err(&get)?;
    let seq: i64 = r.try_get("seq").map_err(&get)?;
    let key = || format!("{job_id}#{seq}");
    let state: String = r.try_get("state").map_err(&get)?;
    let platform: Option<String> = r.try_get("platform").map_err(&get)?;
    let platform = platform
        .map(|p| p.parse::<Platform>())
        .transpose()
        .map_err(|e| corrupt(key(), e))?;
    Ok(Item {
        seq,
        question: r.try_get("question").map_err(&get)?,
        platform,
        sku: r.try_get("sku").map_err(&get)?,
        canonical: r.try_get("canonical").map_err(&get)?,
        state: ItemState::parse(&state)
            .ok_or_else(|| corrupt(key(), format!("unknown item state `{state}`")))?,
        attempts: r.try_get("attempts").map_err(&get)?,
        draft_id: r.try_get("draft_id").map_err(&get)?,
        error: r.try_get("error").map_err(&get)?,
        note: r.try_get("note").map_err(&get)?,
        started_at: r.try_get("started_at").map_err(&get)?,
        finished_at: r.try_get("finished_at").map_err(&get)?,
        job_id,
    })
}

fn claimed_row<R: Row>(r: &R, from_knowledge: bool) -> Result<Claimed, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Column<'r, R>,
    for<'r> Option<String>: Column<'r, R>,
    for<'r> i64: Column<'r, R>,
{
    let get = db("reading a claimed item");
    let seq: i64 = r.try_get("seq").map_err(&get)?;
    let platform: Option<String> = r.try_get("platform").map_err(&get)?;
    Ok(Claimed {
        seq,
        question: r.try_get("question").map_err(&get)?,
        platform: platform
            .map(|p| p.parse::<Platform>())
            .transpose()
            .map_err(|e| corrupt(format!("#{seq}"), e))?,
        sku: r.try_get("sku").map_err(&get)?,
        from_knowledge,
    })
}

impl super::Store {
    /// Stores a new job and all its items in one transaction.
    pub async fn create_faq_job(&self, job: &NewJob, items: &[NewItem]) -> Result<(), StoreError> {
        pools!(self, (w, _r) => {
            let mut tx = w.begin().await.map_err(db("starting to create a job"))?;
            sqlx::query(
                "INSERT INTO faq_jobs (id, input_hash, source, created_by, created_role, \
                 created_at, total, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running')",
            )
            .bind(&job.id)
            .bind(&job.input_hash)
            .bind(&job.source)
            .bind(&job.created_by.name)
            .bind(job.created_by.role.as_str())
            .bind(job.created_at)
            .bind(items.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(db("inserting a job"))?;
            for (seq, item) in items.iter().enumerate() {
                let state = if item.canonical.is_some() {
                    ItemState::Duplicate
                } else {
                    ItemState::Pending
                };
                sqlx::query(
                    "INSERT INTO faq_items (job_id, seq, question, platform, sku, norm, \
                     canonical, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&job.id)
                .bind(seq as i64)
                .bind(&item.question)
                .bind(item.platform.map(Platform::as_str))
                .bind(&item.sku)
                .bind(&item.norm)
                .bind(item.canonical)
                .bind(state.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db("inserting an item"))?;
            }
            tx.commit().await.map_err(db("committing a new job"))
        })
    }

    /// The newest job created from this input hash, if any.
    pub async fn faq_job_by_input(&self, input_hash: &str) -> Result<Option<Job>, StoreError> {
        pools!(self, (_w, r) => {
            let row = sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM faq_jobs WHERE input_hash = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT 1"
            ))
            .bind(input_hash)
            .fetch_optional(r)
            .await
            .map_err(db("finding a job by input"))?;
            row.as_ref().map(job_row).transpose()
        })
    }

    pub async fn faq_job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        pools!(self, (_w, r) => {
            let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM faq_jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(r)
                .await
                .map_err(db("reading a job"))?;
            row.as_ref().map(job_row).transpose()
        })
    }

    /// Jobs not finished yet, oldest first (to resume them after a restart).
    pub async fn faq_unfinished_jobs(&self) -> Result<Vec<Job>, StoreError> {
        pools!(self, (_w, r) => {
            let rows = sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM faq_jobs WHERE status = 'running' ORDER BY created_at, id"
            ))
            .fetch_all(r)
            .await
            .map_err(db("listing unfinished jobs"))?;
            rows.iter().map(job_row).collect()
        })
    }

    /// Every item of a job, in input order.
    pub async fn faq_items(&self, job_id: &str) -> Result<Vec<Item>, StoreError> {
        pools!(self, (_w, r) => {
            let rows = sqlx::query(&format!(
                "SELECT {ITEM_COLUMNS} FROM faq_items WHERE job_id = $1 ORDER BY seq"
            ))
            .bind(job_id)
            .fetch_all(r)
            .await
            .map_err(db("listing items"))?;
            rows.iter().map(item_row).collect()
        })
    }

    /// How many items are in each state, and how many finished at or after `since` (ms).
    pub async fn faq_counts(&self, job_id: &str, since: i64) -> Result<Counts, StoreError> {
        pools!(self, (_w, r) => {
            let rows = sqlx::query(
                "SELECT state, COUNT(*) AS n, \
                 SUM(CASE WHEN finished_at >= $1 THEN 1 ELSE 0 END) AS recent \
                 FROM faq_items WHERE job_id = $2 GROUP BY state",
            )
            .bind(since)
            .bind(job_id)
            .fetch_all(r)
            .await
            .map_err(db("counting items"))?;
            let mut c = Counts::default();
            for row in &rows {
                let state: String = row.try_get("state").map_err(db("counting items"))?;
                let n: i64 = row.try_get("n").map_err(db("counting items"))?;
                let recent: Option<i64> =
                    row.try_get("recent").map_err(db("counting items"))?;
                let state = ItemState::parse(&state)
                    .ok_or_else(|| corrupt(job_id.to_string(), format!("state `{state}`")))?;
                c.add(state, n, recent.unwrap_or(0));
            }
            Ok(c)
        })
    }

    /// Registers (or refreshes) a run's heartbeat.
    pub async fn faq_heartbeat(
        &self,
        job_id: &str,
        run_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        pools!(self, (w, _r) => {
            sqlx::query(
                "INSERT INTO faq_runs (id, job_id, started_at, heartbeat_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            )
            .bind(run_id)
            .bind(job_id)
            .bind(now)
            .bind(now)
            .execute(w)
            .await
            .map_err(db("recording a heartbeat"))?;
            Ok(())
        })
    }

    /// Claims the first pending item for `run_id` (state `in_flight`, attempts + 1).
    pub async fn faq_claim(
        &self,
        job_id: &str,
        run_id: &str,
        now: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        self.claim_item(job_id, run_id, now, None).await
    }

    /// Claims the first `interrupted` item of a dead run (no heartbeat at or after
    /// `stale_before`, ms) for `run_id`, to be answered from the knowledge: its question may
    /// have reached the provider already, so it is never sent again this way, and `attempts`
    /// (requests sent) stays as it is. A live run's item, presumed dead too early, is left for
    /// that run's late answer.
    pub async fn faq_claim_interrupted(
        &self,
        job_id: &str,
        run_id: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        self.claim_item(job_id, run_id, now, Some(stale_before))
            .await
    }

    /// A pending item (`interrupted_of_runs_before` = None) or an interrupted one whose run is
    /// dead.
    async fn claim_item(
        &self,
        job_id: &str,
        run_id: &str,
        now: i64,
        interrupted_of_runs_before: Option<i64>,
    ) -> Result<Option<Claimed>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite(_) => "",
            Backend::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        };
        let (from, set, dead) = match interrupted_of_runs_before {
            Some(_) => (
                "interrupted",
                ", error = NULL, note = $6",
                " AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM faq_runs \
                 WHERE job_id = $4 AND heartbeat_at >= $5))",
            ),
            None => (
                "pending",
                ", attempts = attempts + 1, error = NULL, note = NULL",
                "",
            ),
        };
        let sql = format!(
            "UPDATE faq_items SET state = 'in_flight', run_id = $1, started_at = $2{set} \
             WHERE job_id = $3 AND state = '{from}' AND seq = (SELECT seq FROM faq_items \
             WHERE job_id = $4 AND state = '{from}'{dead} ORDER BY seq LIMIT 1 {lock}) \
             RETURNING seq, question, platform, sku"
        );
        pools!(self, (w, _r) => {
            let mut q = sqlx::query(&sql)
                .bind(run_id)
                .bind(now)
                .bind(job_id)
                .bind(job_id);
            if let Some(stale_before) = interrupted_of_runs_before {
                q = q.bind(stale_before).bind(crate::faq::FROM_KNOWLEDGE);
            }
            let row = q
                .fetch_optional(w)
                .await
                .map_err(db("claiming an item"))?;
            row.as_ref()
                .map(|r| claimed_row(r, interrupted_of_runs_before.is_some()))
                .transpose()
        })
    }

    /// Records the outcome of an item this run claimed: `Ok(draft_id)` = done, `Err(message)`
    /// = failed; `note` says why the answer is not the usual one. An item already presumed
    /// interrupted still takes a late answer. Returns false when the item was not this run's
    /// to finish.
    pub async fn faq_finish(
        &self,
        job_id: &str,
        seq: i64,
        run_id: &str,
        outcome: Result<&str, &str>,
        note: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (state, draft_id, error) = match outcome {
            Ok(d) => (ItemState::Done, Some(d), None),
            Err(e) => (ItemState::Failed, None, Some(e)),
        };
        pools!(self, (w, _r) => {
            let done = sqlx::query(
                "UPDATE faq_items SET state = $1, draft_id = $2, error = $3, note = $4, \
                 finished_at = $5 WHERE job_id = $6 AND seq = $7 AND run_id = $8 \
                 AND state IN ('in_flight', 'interrupted')",
            )
            .bind(state.as_str())
            .bind(draft_id)
            .bind(error)
            .bind(note)
            .bind(now)
            .bind(job_id)
            .bind(seq)
            .bind(run_id)
            .execute(w)
            .await
            .map_err(db("recording an item's outcome"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Settles items left `in_flight` by runs whose heartbeat is older than `stale_before`
    /// (ms): an item whose draft was stored (the run died between storing the draft and
    /// marking the item) is adopted as done; any other becomes `interrupted` and is not sent
    /// again unless `retry_interrupted`, which puts every interrupted item back to pending.
    pub async fn faq_recover(
        &self,
        job_id: &str,
        stale_before: i64,
        retry_interrupted: bool,
        now: i64,
        agent_of: impl Fn(i64) -> String,
    ) -> Result<Recovery, StoreError> {
        let mut rec = Recovery::default();
        pools!(self, (w, r) => {
            let rows = sqlx::query(
                "SELECT seq, run_id FROM faq_items WHERE job_id = $1 AND state = 'in_flight' \
                 AND (run_id IS NULL OR run_id NOT IN \
                 (SELECT id FROM faq_runs WHERE job_id = $2 AND heartbeat_at >= $3))",
            )
            .bind(job_id)
            .bind(job_id)
            .bind(stale_before)
            .fetch_all(r)
            .await
            .map_err(db("finding interrupted items"))?;
            for row in &rows {
                let seq: i64 = row.try_get("seq").map_err(db("finding interrupted items"))?;
                let run: Option<String> =
                    row.try_get("run_id").map_err(db("finding interrupted items"))?;
                let draft = sqlx::query(
                    "SELECT id FROM drafts WHERE agent = $1 ORDER BY created_at, id LIMIT 1",
                )
                .bind(agent_of(seq))
                .fetch_optional(r)
                .await
                .map_err(db("looking for an interrupted item's draft"))?;
                let draft_id: Option<String> = draft
                    .map(|d| d.try_get("id"))
                    .transpose()
                    .map_err(db("looking for an interrupted item's draft"))?;
                let (state, error) = match &draft_id {
                    Some(_) => (ItemState::Done, None),
                    None => (ItemState::Interrupted, Some(crate::faq::INTERRUPTED)),
                };
                // An adopted answer keeps its note (answered from the knowledge); an item
                // interrupted again has no answer for the note to describe.
                let note = match state {
                    ItemState::Done => "note",
                    _ => "NULL",
                };
                let changed = sqlx::query(&format!(
                    "UPDATE faq_items SET state = $1, draft_id = $2, error = $3, finished_at = $4, \
                     note = {note} WHERE job_id = $5 AND seq = $6 AND state = 'in_flight' \
                     AND run_id IS NOT DISTINCT FROM $7",
                ))
                .bind(state.as_str())
                .bind(&draft_id)
                .bind(error)
                .bind(now)
                .bind(job_id)
                .bind(seq)
                .bind(&run)
                .execute(w)
                .await
                .map_err(db("settling an interrupted item"))?;
                if changed.rows_affected() == 1 {
                    if draft_id.is_some() {
                        rec.adopted.push(seq);
                    } else {
                        rec.interrupted.push(seq);
                    }
                }
            }
            if retry_interrupted {
                let rows = sqlx::query(
                    "UPDATE faq_items SET state = 'pending', run_id = NULL, finished_at = NULL \
                     WHERE job_id = $1 AND state = 'interrupted' RETURNING seq",
                )
                .bind(job_id)
                .fetch_all(w)
                .await
                .map_err(db("re-queueing interrupted items"))?;
                for row in &rows {
                    rec.requeued
                        .push(row.try_get("seq").map_err(db("re-queueing interrupted items"))?);
                }
                rec.requeued.sort_unstable();
            }
            Ok(rec)
        })
    }

    /// Puts every failed item back to pending; returns their seqs. One that failed while
    /// being answered from the knowledge (it has a note) goes back to `interrupted`: its
    /// question may have reached the provider, so a retry must not send it.
    pub async fn faq_requeue_failed(&self, job_id: &str) -> Result<Vec<i64>, StoreError> {
        pools!(self, (w, _r) => {
            let rows = sqlx::query(
                "UPDATE faq_items SET state = CASE WHEN note IS NULL THEN 'pending' \
                 ELSE 'interrupted' END, run_id = NULL, finished_at = NULL \
                 WHERE job_id = $1 AND state = 'failed' RETURNING seq",
            )
            .bind(job_id)
            .fetch_all(w)
            .await
            .map_err(db("re-queueing failed items"))?;
            let mut seqs = rows
                .iter()
                .map(|r| r.try_get::<i64, _>("seq"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(db("re-queueing failed items"))?;
            seqs.sort_unstable();
            Ok(seqs)
        })
    }

    /// Marks a job finished when no item is pending or in flight; returns whether it is.
    pub async fn faq_finish_job(&self, job_id: &str, now: i64) -> Result<bool, StoreError> {
        pools!(self, (w, _r) => {
            sqlx::query(
                "UPDATE faq_jobs SET status = 'finished', finished_at = $1 \
                 WHERE id = $2 AND status = 'running' AND NOT EXISTS (SELECT 1 FROM faq_items \
                 WHERE job_id = $3 AND state IN ('pending', 'in_flight'))",
            )
            .bind(now)
            .bind(job_id)
            .bind(job_id)
            .execute(w)
            .await
            .map_err(db("finishing a job"))?;
            let row = sqlx::query("SELECT status FROM faq_jobs WHERE id = $1")
                .bind(job_id)
                .fetch_one(w)
                .await
                .map_err(db("finishing a job"))?;
            let status: String = row.try_get("status").map_err(db("finishing a job"))?;
            Ok(status == "finished")
        })
    }

    /// Puts a finished job back to running (after re-queueing interrupted items).
    pub async fn faq_reopen_job(&self, job_id: &str) -> Result<(), StoreError> {
        pools!(self, (w, _r) => {
            sqlx::query(
                "UPDATE faq_jobs SET status = 'running', finished_at = NULL WHERE id = $1 \
                 AND EXISTS (SELECT 1 FROM faq_items WHERE job_id = $2 AND state = 'pending')",
            )
            .bind(job_id)
            .bind(job_id)
            .execute(w)
            .await
            .map_err(db("reopening a job"))?;
            Ok(())
        })
    }
}
