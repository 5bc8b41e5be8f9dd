//! Sustained approvals on each store: 32 concurrent tasks approve pre-inserted drafts; prints
//! approvals/s and approval latency percentiles next to a baseline measured in the same run
//! (bare single-row durable commits by the same number of tasks on the same database).
//!
//! cargo run --example store_bench -- [APPROVALS]   (PostgreSQL too when KEFU_TEST_DATABASE_URL is set)

use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu::compliance::Verdict;
use kefu::config::StorageConfig;
use kefu::conversation::{Platform, Turn};
use kefu::drafts::{Actor, Decision, Mode, NewDraft, Role, Store};
use sqlx::Connection;

const TASKS: usize = 32;
const BODY: &str = "亲，七天无理由退货的运费由我们承担哦。";
const BASELINE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGINT PRIMARY KEY, body TEXT NOT NULL)";
const BASELINE_INSERT: &str = "INSERT INTO bench_baseline (id, body) VALUES ($1, $2)";

fn draft() -> NewDraft {
    NewDraft {
        conversation: vec![Turn::customer("请问退货运费谁出？")],
        platform: Some(Platform::Taobao),
        sku: None,
        scenario: "aftersale".into(),
        text: "亲，七天无理由退货的运费由我们承担哦。".into(),
        mode: Mode::Model,
        needs_human: false,
        verdict: Verdict::Pass,
        findings: vec![],
        sources: vec![],
        provider: Some("bench".into()),
        model: Some("bench".into()),
        attempts: 1,
        usage: None,
        latency_ms: 1,
        template: "aftersale".into(),
        template_hash: "h".into(),
        ruleset_version: "r".into(),
        knowledge_version: "k".into(),
    }
}

struct Stats {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn stats(mut lat: Vec<Duration>, wall: Duration) -> Stats {
    lat.sort();
    let pick = |q: f64| {
        lat[((lat.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(lat.len() - 1)]
    };
    Stats {
        per_sec: lat.len() as f64 / wall.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Runs `n` operations spread over TASKS tasks; returns per-operation latencies and wall time.
async fn run<F, Fut>(n: usize, op: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            while i < n {
                let s = Instant::now();
                op(i).await;
                lat.push(s.elapsed());
                i += TASKS;
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    stats(all, started.elapsed())
}

async fn bench(name: &str, cfg: &StorageConfig, baseline_url: String, n: usize) {
    let store = Store::open(cfg).await.expect("open store");
    let agent = Actor {
        name: "bench".into(),
        role: Role::Agent,
    };

    // baseline: bare single-row commits on the same database with the same durability
    let base = if cfg.database_url.is_some() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(&baseline_url)
            .await
            .expect("baseline pool");
        sqlx::query(BASELINE_TABLE)
            .execute(&pool)
            .await
            .expect("baseline table");
        let p = pool.clone();
        let st = run(n, move |i| {
            let p = p.clone();
            async move {
                sqlx::query(BASELINE_INSERT)
                    .bind(i as i64)
                    .bind(BODY)
                    .execute(&p)
                    .await
                    .expect("insert");
            }
        })
        .await;
        pool.close().await;
        st
    } else {
        let opts: sqlx::sqlite::SqliteConnectOptions = baseline_url.parse().expect("sqlite url");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full),
            )
            .await
            .expect("baseline pool");
        sqlx::query(BASELINE_TABLE)
            .execute(&pool)
            .await
            .expect("baseline table");
        let p = pool.clone();
        let st = run(n, move |i| {
            let p = p.clone();
            async move {
                sqlx::query(BASELINE_INSERT)
                    .bind(i as i64)
                    .bind(BODY)
                    .execute(&p)
                    .await
                    .expect("insert");
            }
        })
        .await;
        pool.close().await;
        st
    };

    let s = store.clone();
    let a = agent.clone();
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let ids2 = ids.clone();
    let ins = run(n, move |i| {
        let (s, a, ids) = (s.clone(), a.clone(), ids2.clone());
        async move {
            let d = s.insert_draft(&draft(), &a).await.expect("insert");
            ids.lock().expect("ids")[i] = d.id;
        }
    })
    .await;

    let ids: Arc<Vec<String>> = Arc::new(ids.lock().expect("ids").clone());
    let s = store.clone();
    let app = run(n, move |i| {
        let (s, a, ids) = (s.clone(), agent.clone(), ids.clone());
        async move {
            let decision = Decision::Approve {
                final_text: "亲，七天无理由退货的运费由我们承担哦。".into(),
                verdict: Verdict::Pass,
                findings: vec![],
                ruleset_version: "r".into(),
                override_reason: None,
            };
            s.decide(&ids[i], &a, decision).await.expect("approve");
        }
    })
    .await;

    let verify_start = Instant::now();
    let report = store.verify().await.expect("verify");
    let verify = verify_start.elapsed();
    assert!(report.ok, "{report:?}");

    println!(
        "{name}: baseline commits {:.0}/s (p99 {:.1} ms) | suggestions {:.0}/s (p99 {:.1} ms) | \
         approvals {:.0}/s p50 {:.1} ms p99 {:.1} ms | approvals/baseline {:.2} | verify {} events {:.0} ms",
        base.per_sec,
        base.p99.as_secs_f64() * 1e3,
        ins.per_sec,
        ins.p99.as_secs_f64() * 1e3,
        app.per_sec,
        app.p50.as_secs_f64() * 1e3,
        app.p99.as_secs_f64() * 1e3,
        app.per_sec / base.per_sec,
        report.events,
        verify.as_secs_f64() * 1e3,
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = StorageConfig {
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        draft_ttl_hours: 24,
        raw_retention_days: 0,
    };
    // same file, same WAL + synchronous=FULL as the store
    let url = format!("sqlite://{}", dir.path().join("kefu.db").display());
    bench("sqlite", &cfg, url, n).await;

    if let Ok(base) = std::env::var("KEFU_TEST_DATABASE_URL") {
        let schema = format!("kefu_bench_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(&base).await.expect("pg");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut c)
            .await
            .expect("schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let pg = StorageConfig {
            database_url: Some(url.clone()),
            ..cfg.clone()
        };
        bench("postgres", &pg, url, n).await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut c)
            .await
            .expect("drop");
        c.close().await.ok();
    } else {
        eprintln!("postgres: skipped (set KEFU_TEST_DATABASE_URL)");
    }
}
