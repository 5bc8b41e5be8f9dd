//! Group commit. Appends to the chain are serialized anyway, so one task per store runs the
//! writes: it takes every request waiting (up to `MAX_BATCH`), runs them one after another in
//! one transaction and commits once. Durability is unchanged (each caller is answered after
//! the commit that holds its write); a batch costs one disk flush instead of one per request.
//!
//! When a request fails with a database error the batch is rolled back and its requests are
//! run again one transaction each, so one bad request never takes others down with it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::ops::{self, Begin, WriteTx};
use super::{Actor, AuditEvent, Decision, Draft, StoreError};

const MAX_BATCH: usize = 64;
const QUEUE: usize = 1024;

pub(crate) enum Job {
    Insert {
        draft: Box<Draft>,
        actor: Actor,
        raw: Option<String>,
        purge_at: Option<DateTime<Utc>>,
        reply: oneshot::Sender<Result<Draft, StoreError>>,
    },
    Decide {
        id: String,
        actor: Actor,
        decision: Decision,
        categories: Arc<[String]>,
        reply: oneshot::Sender<Result<Draft, StoreError>>,
    },
    Record {
        actor: Actor,
        action: String,
        draft_id: Option<String>,
        payload: serde_json::Value,
        reply: oneshot::Sender<Result<AuditEvent, StoreError>>,
    },
}

// One per queued job and short-lived: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Answer {
    Draft(Result<Draft, StoreError>),
    Event(Result<AuditEvent, StoreError>),
}

impl Answer {
    /// A database error: the transaction is unusable and must be rolled back.
    fn aborts(&self) -> bool {
        matches!(
            self,
            Answer::Draft(Err(StoreError::Db(_))) | Answer::Event(Err(StoreError::Db(_)))
        )
    }
}

impl Job {
    async fn run<T: WriteTx>(&self, tx: &mut T) -> Answer {
        match self {
            Job::Insert {
                draft,
                actor,
                raw,
                purge_at,
                ..
            } => {
                Answer::Draft(ops::insert_draft(tx, draft, actor, raw.as_deref(), *purge_at).await)
            }
            Job::Decide {
                id,
                actor,
                decision,
                categories,
                ..
            } => Answer::Draft(ops::decide(tx, id, actor, decision.clone(), categories).await),
            Job::Record {
                actor,
                action,
                draft_id,
                payload,
                ..
            } => Answer::Event(
                ops::record(tx, actor, action, draft_id.as_deref(), payload.clone()).await,
            ),
        }
    }

    fn fail(self, e: StoreError) {
        let answer = match &self {
            Job::Record { .. } => Answer::Event(Err(e)),
            _ => Answer::Draft(Err(e)),
        };
        self.reply(answer);
    }

    /// A caller that went away (request cancelled) is simply not answered.
    fn reply(self, answer: Answer) {
        match (self, answer) {
            (Job::Insert { reply, .. }, Answer::Draft(r))
            | (Job::Decide { reply, .. }, Answer::Draft(r)) => {
                let _ = reply.send(r);
            }
            (Job::Record { reply, .. }, Answer::Event(r)) => {
                let _ = reply.send(r);
            }
            (job, _) => job.fail(StoreError::Db("internal: answer of the wrong kind".into())),
        }
    }
}

/// Sends jobs to the store's writer task.
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Db("the store's writer has stopped (the store was closed)".into())
}

impl Writer {
    /// Starts the writer task for `backend` (needs a Tokio runtime).
    pub fn spawn<B: Begin>(backend: B) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(backend, rx));
        Writer { tx }
    }

    pub async fn submit<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<R, StoreError>>) -> Job,
    ) -> Result<R, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run<B: Begin>(backend: B, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        if batch.len() == 1 {
            alone_all(&backend, batch).await;
        } else {
            match together(&backend, &batch).await {
                Ok(answers) => {
                    for (job, answer) in batch.into_iter().zip(answers) {
                        job.reply(answer);
                    }
                }
                Err(_) => alone_all(&backend, batch).await,
            }
        }
    }
}

/// All jobs in one transaction; `Err` when it had to be rolled back (nothing was written).
async fn together<B: Begin>(backend: &B, jobs: &[Job]) -> Result<Vec<Answer>, StoreError> {
    let mut tx = backend.begin().await?;
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let answer = job.run(&mut tx).await;
        if answer.aborts() {
            let _ = tx.rollback().await;
            return Err(StoreError::Db("batch rolled back".into()));
        }
        answers.push(answer);
    }
    tx.commit().await?;
    Ok(answers)
}

async fn alone_all<B: Begin>(backend: &B, jobs: Vec<Job>) {
    for job in jobs {
        let mut tx = match backend.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                job.fail(e);
                continue;
            }
        };
        let answer = job.run(&mut tx).await;
        if answer.aborts() {
            let _ = tx.rollback().await;
            job.reply(answer);
        } else {
            match tx.commit().await {
                Ok(()) => job.reply(answer),
                Err(e) => job.fail(e),
            }
        }
    }
}
