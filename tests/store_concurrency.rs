//! Concurrency and crash safety of the store, on SQLite and (when configured) PostgreSQL:
//! racing decisions have exactly one winner, concurrent appends never fork the chain, and an
//! answered approval survives SIGKILL.

mod store_support;

use std::sync::Arc;

use kefu::drafts::{Decision, Role, Status, Store, StoreError};
use store_support::*;
use tokio::sync::Barrier;

fn no_tune(_: &mut kefu::config::StorageConfig) {}

store_test!(
    racing_approvals_have_exactly_one_winner,
    no_tune,
    |db: TestDb| async move {
        // two independent stores on one database: like two processes or two replicas
        let other = db.reopen().await;
        let stores = [db.store.clone(), other.clone()];
        for round in 0..10 {
            let d = db
                .store
                .insert_draft(&new_draft("亲，包邮哦。"), &agent("a"))
                .await
                .unwrap();
            let barrier = Arc::new(Barrier::new(4));
            let mut tasks = Vec::new();
            for i in 0..4usize {
                let (s, b, id) = (stores[i % 2].clone(), barrier.clone(), d.id.clone());
                tasks.push(tokio::spawn(async move {
                    let who = actor(&format!("r{i}"), Role::Reviewer);
                    let decision = if i == 3 {
                        Decision::Reject {
                            reason: "no".into(),
                        }
                    } else {
                        approve(&format!("亲，包邮哦。{i}"))
                    };
                    b.wait().await;
                    s.decide(&id, &who, decision).await
                }));
            }
            let mut wins = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => wins += 1,
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => panic!("round {round}: unexpected {e:?}"),
                }
            }
            assert_eq!(wins, 1, "round {round}: exactly one decision wins");
            let events = db.store.events(Some(&d.id)).await.unwrap();
            assert_eq!(events.len(), 2, "round {round}: one decision event");
            let final_draft = db.store.get_draft(&d.id).await.unwrap();
            assert_ne!(final_draft.status, Status::Pending);
        }
        assert!(db.store.verify().await.unwrap().ok);
        other.close().await;
        db.finish().await;
    }
);

store_test!(
    concurrent_appends_keep_one_chain,
    no_tune,
    |db: TestDb| async move {
        let other = db.reopen().await;
        let stores = [db.store.clone(), other.clone()];
        let mut tasks = Vec::new();
        for t in 0..32usize {
            let s = stores[t % 2].clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..5 {
                    let me = agent(&format!("agent{t}"));
                    let d = s
                        .insert_draft(&new_draft(&format!("草稿 {t}-{i}")), &me)
                        .await
                        .unwrap();
                    s.decide(&d.id, &me, approve(&format!("草稿 {t}-{i}")))
                        .await
                        .unwrap();
                    if i == 2 {
                        s.record(&me, "knowledge_reloaded", serde_json::json!({"t": t}))
                            .await
                            .unwrap();
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let r = db.store.verify().await.unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.events, 32 * (5 * 2 + 1));
        let seqs: Vec<i64> = db
            .store
            .events(None)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=r.head_seq).collect::<Vec<_>>());
        other.close().await;
        db.finish().await;
    }
);

store_test!(
    a_failing_write_does_not_take_its_batch_down,
    no_tune,
    |db: TestDb| async move {
        // a database-level refusal for one kind of event, as a full disk or a constraint would be
        let poison = match db.kind {
        Kind::Sqlite => "CREATE TRIGGER poison BEFORE INSERT ON audit_events WHEN NEW.action = 'poison' \
                         BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        Kind::Postgres => "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
                           IF NEW.action = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END; \
                           $$ LANGUAGE plpgsql; \
                           CREATE TRIGGER poison BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION poison();",
    };
        db.raw(poison).await.unwrap();
        let barrier = Arc::new(Barrier::new(40));
        let mut tasks = Vec::new();
        for i in 0..40usize {
            let (s, b) = (db.store.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let action = if i % 10 == 7 {
                    "poison"
                } else {
                    "rules_reloaded"
                };
                b.wait().await;
                (
                    action,
                    s.record(&agent("a"), action, serde_json::json!({"i": i}))
                        .await,
                )
            }));
        }
        let (mut ok, mut failed) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                ("poison", Err(StoreError::Db(msg))) => {
                    assert!(msg.contains("poisoned"), "{msg}");
                    failed += 1;
                }
                ("rules_reloaded", Ok(_)) => ok += 1,
                (action, other) => panic!("{action}: {other:?}"),
            }
        }
        assert_eq!((ok, failed), (36, 4));
        let r = db.store.verify().await.unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.events, 36);
        db.finish().await;
    }
);

fn ttl_zero(c: &mut kefu::config::StorageConfig) {
    c.draft_ttl_hours = 0;
}

// Regression: with draft rows locked before the chain head, a batch holding the head and
// waiting for a draft deadlocked against a sweep or another writer holding that draft.
store_test!(
    two_writers_and_a_sweep_never_deadlock,
    ttl_zero,
    |db: TestDb| async move {
        let other = db.reopen().await;
        let stores = [db.store.clone(), other.clone()];
        let mut ids = Vec::new();
        for i in 0..128 {
            ids.push(
                db.store
                    .insert_draft(&new_draft(&format!("{i}")), &agent("a"))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let barrier = Arc::new(Barrier::new(33));
        let mut tasks = Vec::new();
        for (t, chunk) in ids.chunks(4).enumerate() {
            let (s, b, chunk) = (stores[t % 2].clone(), barrier.clone(), chunk.to_vec());
            if t >= 32 {
                break;
            }
            tasks.push(tokio::spawn(async move {
                b.wait().await;
                for id in chunk.iter().rev() {
                    // every draft is past its TTL: each decision expires it, or finds it expired
                    match s.decide(id, &agent("a"), approve("x")).await {
                        Err(StoreError::Conflict {
                            status: Status::Expired,
                            ..
                        }) => {}
                        other => panic!("{other:?}"),
                    }
                }
            }));
        }
        let (s, b) = (other.clone(), barrier.clone());
        let sweep = tokio::spawn(async move {
            b.wait().await;
            let mut n = 0;
            for _ in 0..20 {
                n += s.expire_stale(chrono::Utc::now()).await.unwrap().len();
            }
            n
        });
        for t in tasks {
            t.await.unwrap();
        }
        sweep.await.unwrap();
        let r = db.store.verify().await.unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(
            r.events, 256,
            "one expiry per draft, whoever got there first"
        );
        other.close().await;
        db.finish().await;
    }
);

#[tokio::test]
async fn sqlite_store_creates_its_directory_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let store = Store::open(&storage(data.clone())).await.unwrap();
    let d = store
        .insert_draft(&new_draft("t"), &agent("a"))
        .await
        .unwrap();
    assert!(data.join("kefu.db").is_file());
    store.close().await;
    use sqlx::Connection;
    let mut c =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("kefu.db").display()))
            .await
            .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    c.close().await.unwrap();
    let again = Store::open(&storage(data)).await.unwrap();
    assert_eq!(
        again.get_draft(&d.id).await.unwrap().suggestion.text,
        "t",
        "data survives reopening"
    );
    again.close().await;
}

#[tokio::test]
async fn sqlite_open_names_an_unusable_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = Store::open(&storage(file.join("data")))
        .await
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(msg.contains("not-a-dir"), "{msg}");
}

const CHILD_ENV: &str = "KEFU_STORE_CRASH_CHILD";

/// Child half of the SIGKILL test: approve, say so, then hang until killed.
#[tokio::test]
async fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cfg: kefu::config::StorageConfig = serde_json::from_str(&spec).unwrap();
    let store = Store::open(&cfg).await.unwrap();
    for i in 0..20 {
        let d = store
            .insert_draft(&new_draft("亲，包邮哦。"), &agent("a"))
            .await
            .unwrap();
        store
            .decide(&d.id, &agent("a"), approve("亲，包邮哦。"))
            .await
            .unwrap();
        // the HTTP layer would answer 200 now
        println!("APPROVED {i} {}", d.id);
    }
    std::future::pending::<()>().await;
}

async fn survives_sigkill(db: TestDb) {
    use tokio::io::AsyncBufReadExt;
    let spec = serde_json::to_string(&db.cfg).unwrap();
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut approved = Vec::new();
    while approved.len() < 20 {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("child answers in time")
            .unwrap()
            .expect("child is alive");
        // the harness may print "test crash_child ... " before the first line
        if let Some(at) = line.find("APPROVED ") {
            approved.push(line[at..].split(' ').nth(2).unwrap().to_string());
        }
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let store = db.reopen().await;
    for id in &approved {
        assert_eq!(
            store.get_draft(id).await.unwrap().status,
            Status::Approved,
            "{id} lost"
        );
    }
    let r = store.verify().await.unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.events, 40);
    store.close().await;
    db.finish().await;
}

store_test!(
    answered_approvals_survive_sigkill,
    no_tune,
    survives_sigkill
);
