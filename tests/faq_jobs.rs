//! FAQ jobs over HTTP against a fake provider: upload, progress, duplicates answered once,
//! failures recorded without stopping the job, bulk review, export into the knowledge format,
//! and the quota (scaled down) never exceeded.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::fake_provider::{Behaviour, FakeProvider};
use support::serve::distinct_questions;

async fn wait_finished(t: &support::app::TestApp, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = t.get_json(&format!("/v1/faq/jobs/{id}")).await;
        assert_eq!(status, 200, "{body}");
        if body["job"]["status"] == "finished" {
            let (_, full) = t.get_json(&format!("/v1/faq/jobs/{id}?results=true")).await;
            return full;
        }
        assert!(Instant::now() < deadline, "job did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Questions the fake saw (the customer turn is in the user message of the prompt).
fn sent_count(fake: &FakeProvider, question: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.body.to_string().contains(question))
        .count()
}

#[tokio::test]
async fn duplicates_are_generated_once_and_share_the_answer() {
    let fake = FakeProvider::start().await;
    let t = support::app::spawn(|c| c.providers = vec![fake.provider_config("fake")]).await;
    let questions = json!({ "questions": [
        "什么时候发货？",
        "咋退货",
        {"question": "什么时候发货?"},          // same after punctuation
        "亲，怎么退货呀",                        // same after opener, 咋→怎么, particle
        {"question": "空气炸锅怎么清洗", "sku": "AF-5L-01"},
        {"question": "空气炸锅怎么清洗"},        // another SKU scope: its own question
    ]});
    let (status, body) = t.post_json("/v1/faq/jobs", &questions).await;
    assert_eq!(status, 202, "{body}");
    let id = body["job"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["total"], 6);
    assert_eq!(body["unique"], 4);

    let full = wait_finished(&t, &id).await;
    assert_eq!(fake.calls(), 4, "one request per distinct question");
    // Count by the customer line of the prompt: the retrieved snippets mention 退货 too.
    assert_eq!(sent_count(&fake, "顾客：咋退货"), 1);
    assert_eq!(sent_count(&fake, "怎么退货呀"), 0);
    let results = full["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[2]["duplicate_of"], 0);
    assert_eq!(results[2]["draft_id"], results[0]["draft_id"]);
    assert_eq!(results[3]["duplicate_of"], 1);
    assert_ne!(results[4]["draft_id"], results[5]["draft_id"]);
    for r in results {
        assert_eq!(r["status"], "done", "{r}");
        assert_eq!(r["draft_status"], "pending", "{r}");
        assert!(r["answer"].as_str().is_some_and(|a| !a.is_empty()));
    }
    assert_eq!(full["summary"]["done"], 4);
    assert_eq!(full["eta_secs"], 0);
}

#[tokio::test]
async fn a_failing_question_is_recorded_and_the_job_goes_on() {
    let fake = FakeProvider::start().await;
    // 400 is not retried and, without the extractive fallback, fails that one question.
    fake.push(Behaviour::Status(400));
    let t = support::app::spawn(|c| {
        c.providers = vec![fake.provider_config("fake")];
        c.review.extractive_fallback = false;
    })
    .await;
    let csv = "question\n什么时候发货？\n可以开发票吗\n支持七天无理由退货吗\n";
    let r = t
        .client
        .post(t.url("/v1/faq/jobs"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let body: Value = r.json().await.unwrap();
    let id = body["job"]["id"].as_str().unwrap().to_string();
    let full = wait_finished(&t, &id).await;
    assert_eq!(full["failed"], 1, "{full}");
    assert_eq!(full["done"], 2, "{full}");
    let failures = full["summary"]["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0]["error"].as_str().unwrap().contains("400"),
        "the error says what failed: {failures:?}"
    );
}

#[tokio::test]
async fn reviewed_answers_export_as_a_knowledge_faq_csv() {
    let fake = FakeProvider::start().await;
    let t = support::app::spawn(|c| c.providers = vec![fake.provider_config("fake")]).await;
    let jsonl = "{\"question\": \"什么时候发货？\", \"platform\": \"jd\"}\n\"可以开发票吗\"\n\"支持七天无理由退货吗\"\n";
    let r = t
        .client
        .post(t.url("/v1/faq/jobs"))
        .header("content-type", "application/x-ndjson")
        .body(jsonl)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let id = r.json::<Value>().await.unwrap()["job"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let full = wait_finished(&t, &id).await;
    let draft = |i: usize| full["results"][i]["draft_id"].as_str().unwrap().to_string();

    let (status, body) = t
        .post_json(
            &format!("/v1/faq/jobs/{id}/review"),
            &json!({ "actions": [
                {"draft_id": draft(0), "action": "approve"},
                {"draft_id": draft(1), "action": "edit", "text": "可以开具电子发票，下单后在订单页申请即可。"},
                {"draft_id": draft(2), "action": "reject", "reason": "政策待确认"},
                {"draft_id": "not-a-draft-of-this-job", "action": "approve"},
                {"draft_id": draft(1), "action": "approve"},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], 3, "{body}");
    let outcomes = body["outcomes"].as_array().unwrap();
    assert_eq!(outcomes[0]["status"], "approved");
    assert_eq!(outcomes[1]["status"], "edited");
    assert_eq!(outcomes[2]["status"], "rejected");
    assert!(outcomes[3]["error"]
        .as_str()
        .unwrap()
        .contains("not an answer of job"));
    assert_eq!(
        outcomes[4]["ok"], false,
        "a decided draft cannot be decided again"
    );

    let r = t
        .client
        .get(t.url(&format!("/v1/faq/jobs/{id}/export.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,question,answer,platforms,skus,tags"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "approved and edited only: {csv}");
    assert!(
        rows[0].contains("什么时候发货？") && rows[0].contains(",jd,"),
        "{csv}"
    );
    assert!(
        rows[1].contains("可以开具电子发票"),
        "the edited text is exported: {csv}"
    );

    // The export loads as knowledge, unchanged.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("generated.csv"), &csv).unwrap();
    let (kb, report) = kefu::knowledge::KnowledgeBase::open(dir.path()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.snippets, 2);
    let _ = kb;
}

#[tokio::test]
async fn unknown_jobs_and_bad_uploads_are_clear_errors() {
    let t = support::app::spawn(|_| {}).await;
    let (status, body) = t.get_json("/v1/faq/jobs/nope").await;
    assert_eq!(status, 404, "{body}");
    let r = t
        .client
        .post(t.url("/v1/faq/jobs"))
        .header("content-type", "text/csv")
        .body("text\nhello\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`question` column"));
    let (status, _) = t.post_json("/v1/faq/jobs", &json!({"questions": []})).await;
    assert_eq!(status, 400);
}

/// A browser form or `curl -F file=@faq.csv` sends multipart/form-data; Excel saves GBK.
fn multipart(boundary: &str, file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n双11 新问题\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn a_gbk_csv_uploaded_as_a_form_file_becomes_a_job() {
    let t = support::app::spawn(|_| {}).await;
    let csv = "question,platform\n预售定金能退吗,taobao\n双11价保怎么申请,\n";
    let (gbk, _, lossy) = encoding_rs::GBK.encode(csv);
    assert!(!lossy);
    let boundary = "kefu-test-boundary-7d1";
    let r = t
        .client
        .post(t.url("/v1/faq/jobs"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart(boundary, "双11新问题.csv", &gbk))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["job"]["source"], "双11新问题.csv", "{job}");
    let id = job["job"]["id"].as_str().unwrap().to_string();
    let done = wait_finished(&t, &id).await;
    let questions: Vec<&str> = done["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["question"].as_str().unwrap())
        .collect();
    assert_eq!(questions, ["预售定金能退吗", "双11价保怎么申请"], "{done}");

    // A form without a file part says what it expected.
    let r = t
        .client
        .post(t.url("/v1/faq/jobs"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--{boundary}--\r\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no file"),
        "{body}"
    );
}

/// Scaled-down quota run: the fake allows 100 requests in any second (6000 rpm); 100 questions
/// must never see a 429 and never need a second request. The gateway is configured a little
/// under the quota because its limiter admits a burst (up to 10) on top of the rate.
#[tokio::test]
async fn bulk_generation_stays_under_the_providers_quota() {
    let fake = FakeProvider::start().await;
    fake.set_quota(100, Duration::from_secs(1));
    fake.set_latency(Duration::from_millis(50));
    let t = support::app::spawn(|c| {
        let mut p = fake.provider_config("fake");
        p.rpm = 5000;
        p.max_concurrency = 16;
        c.providers = vec![p];
    })
    .await;
    let questions = distinct_questions(100);
    let (status, body) = t
        .post_json("/v1/faq/jobs", &json!({ "questions": questions }))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["unique"], 100);
    let id = body["job"]["id"].as_str().unwrap().to_string();
    let full = wait_finished(&t, &id).await;
    assert_eq!(full["done"], 100, "{}", full["summary"]);
    assert_eq!(fake.quota_rejections(), 0);
    assert_eq!(fake.calls(), 100);
}

/// Regression for the window between storing a draft and marking its item done: a run that
/// died there left the item `in_flight` with its draft stored. The next run adopts the draft
/// (no second request); an item without a draft becomes `interrupted`, is not re-sent, and is
/// answered from the knowledge.
#[tokio::test]
async fn a_dead_runs_stored_draft_is_adopted_and_its_unanswered_item_interrupted() {
    dead_run_recovery(None).await;
}

#[tokio::test]
async fn a_dead_runs_stored_draft_is_adopted_on_postgres_too() {
    let Ok(base) = std::env::var("KEFU_TEST_DATABASE_URL") else {
        eprintln!("skipped: set KEFU_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL FAQ tests");
        return;
    };
    use sqlx::Connection;
    let schema = format!("kefu_faq_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base).await.expect("connect");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    dead_run_recovery(Some(format!(
        "{base}{sep}options=-c%20search_path%3D{schema}"
    )))
    .await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .ok();
}

async fn dead_run_recovery(database_url: Option<String>) {
    use kefu::drafts::{Actor, Role};
    use kefu::faq::{self, ItemState, RunOptions};
    use kefu::pipeline::{self, Purpose, SuggestRequest};

    let fake = FakeProvider::start().await;
    let t = support::app::spawn(|c| {
        c.providers = vec![fake.provider_config("fake")];
        c.storage.database_url = database_url;
    })
    .await;
    let app = &t.app;
    let job = faq::get_job(app, &three_question_job(app).await)
        .await
        .unwrap();
    // The dead run: claimed two items, stored the first one's draft, then died.
    let first = app
        .store
        .faq_claim(&job.id, "dead", 1)
        .await
        .unwrap()
        .unwrap();
    let second = app
        .store
        .faq_claim(&job.id, "dead", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.seq, second.seq), (0, 1));
    let req: SuggestRequest = serde_json::from_value(json!({ "message": first.question })).unwrap();
    let item_actor = Actor {
        name: faq::item_agent(&job.id, first.seq),
        role: Role::Reviewer,
    };
    let stored = pipeline::suggest_for(app, &req, &item_actor, None, Purpose::Faq)
        .await
        .unwrap();
    let calls_before = fake.calls();

    let opts = RunOptions {
        stale_after: Duration::from_millis(1),
        ..RunOptions::default()
    };
    let report = faq::run_job(app, &job.id, &opts, &|_| {}).await.unwrap();
    assert_eq!(report.recovery.adopted, vec![0]);
    assert_eq!(report.recovery.interrupted, vec![1]);
    assert_eq!(
        fake.calls(),
        calls_before + 1,
        "only the never-claimed item is sent"
    );
    let lines = faq::results(app, &job.id).await.unwrap();
    assert_eq!(lines[0].status, ItemState::Done);
    assert_eq!(lines[0].draft_id.as_deref(), Some(stored.draft.id.as_str()));
    // The interrupted item is answered from the knowledge, not sent again.
    assert_eq!(lines[1].status, ItemState::Done);
    assert_eq!(lines[1].note.as_deref(), Some(faq::FROM_KNOWLEDGE));
    assert_eq!(lines[1].mode, Some(kefu::drafts::Mode::Extractive));
    assert_eq!(lines[1].attempts, 1, "no request was added for it");
    assert!(lines[1].answer.as_deref().is_some_and(|a| !a.is_empty()));
    assert_eq!(lines[2].status, ItemState::Done);
    assert_eq!(lines[2].note, None);
    assert_eq!(lines[2].mode, Some(kefu::drafts::Mode::Model));
}

/// A job of three questions, created as a reviewer, and its id.
async fn three_question_job(app: &kefu::app::App) -> String {
    use kefu::drafts::{Actor, Role};
    use kefu::faq::{self, Question};
    let actor = Actor {
        name: "rev".into(),
        role: Role::Reviewer,
    };
    let qs: Vec<Question> = ["什么时候发货", "可以开发票吗", "怎么退货"]
        .iter()
        .map(|q| Question {
            question: q.to_string(),
            platform: None,
            sku: None,
        })
        .collect();
    faq::create_job(app, &qs, "t", "h", &actor)
        .await
        .unwrap()
        .id
}

/// `run` claims the next pending item at `now`; then recovery with a later cut-off presumes
/// the run dead (live or not) and marks the item interrupted.
async fn claimed_then_interrupted(
    store: &kefu::drafts::Store,
    job: &str,
    run: &str,
    now: i64,
) -> kefu::faq::Claimed {
    let c = store.faq_claim(job, run, now).await.unwrap().unwrap();
    let rec = store
        .faq_recover(job, now + 1, false, now, |_| "nobody".into())
        .await
        .unwrap();
    assert_eq!(rec.interrupted, vec![c.seq]);
    c
}

fn item(items: &[kefu::faq::Item], seq: i64) -> &kefu::faq::Item {
    items.iter().find(|i| i.seq == seq).unwrap()
}

/// Regression (review of the knowledge fallback): a live run presumed dead between two
/// heartbeats kept its item `in_flight` → `interrupted`; another run answering interrupted
/// items from the knowledge took it over and refused the live run's late answer, leaving two
/// drafts for one question. An interrupted item of a live run is not claimed.
#[tokio::test]
async fn a_live_runs_interrupted_item_is_left_for_its_late_answer() {
    let t = support::app::spawn(|_| {}).await;
    let store = &t.app.store;
    let job = three_question_job(&t.app).await;
    let now = 1_000_000;
    store.faq_heartbeat(&job, "live", now).await.unwrap();
    // Recovery with a later cut-off presumes even the live run dead.
    let c = claimed_then_interrupted(store, &job, "live", now).await;
    let taken = store
        .faq_claim_interrupted(&job, "other", now, now - 6_000)
        .await
        .unwrap();
    assert!(taken.is_none(), "the live run's item was taken: {taken:?}");
    assert!(store
        .faq_finish(&job, c.seq, "live", Ok("draft-1"), None, now)
        .await
        .unwrap());
    let items = store.faq_items(&job).await.unwrap();
    assert_eq!(item(&items, c.seq).state, kefu::faq::ItemState::Done);
    // Once its run is dead, an interrupted item is claimed, and carries the note from then on.
    let d = claimed_then_interrupted(store, &job, "dying", now).await;
    let taken = store
        .faq_claim_interrupted(&job, "other", now, now - 6_000)
        .await
        .unwrap()
        .expect("a dead run's item is claimed");
    assert_eq!(taken.seq, d.seq);
    assert!(taken.from_knowledge);
    let items = store.faq_items(&job).await.unwrap();
    assert_eq!(
        item(&items, d.seq).note.as_deref(),
        Some(kefu::faq::FROM_KNOWLEDGE)
    );
    assert_eq!(item(&items, d.seq).error, None);
}

/// Regression (review of the knowledge fallback): an interrupted question whose answer from
/// the knowledge failed went back to `pending` on `--retry-failed` and was sent to the
/// provider, maybe a second time. It goes back to `interrupted`.
#[tokio::test]
async fn retry_failed_never_sends_an_interrupted_question() {
    let t = support::app::spawn(|_| {}).await;
    let store = &t.app.store;
    let job = three_question_job(&t.app).await;
    let now = 1_000_000;
    let c = claimed_then_interrupted(store, &job, "dead", now).await;
    let k = store
        .faq_claim_interrupted(&job, "run2", now, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.seq, c.seq);
    assert!(store
        .faq_finish(
            &job,
            k.seq,
            "run2",
            Err("store busy"),
            Some(kefu::faq::FROM_KNOWLEDGE),
            now
        )
        .await
        .unwrap());
    let requeued = store.faq_requeue_failed(&job).await.unwrap();
    assert_eq!(requeued, vec![c.seq]);
    let items = store.faq_items(&job).await.unwrap();
    assert_eq!(item(&items, c.seq).state, kefu::faq::ItemState::Interrupted);
    // The pending claim never returns it.
    while let Some(p) = store.faq_claim(&job, "run3", now).await.unwrap() {
        assert_ne!(
            p.seq, c.seq,
            "an interrupted question was claimed for sending"
        );
    }
}

/// A run that died after storing an answer from the knowledge but before marking its item:
/// the next run adopts the draft, sends nothing, and the note survives.
#[tokio::test]
async fn an_answer_from_the_knowledge_stored_before_a_crash_is_adopted_with_its_note() {
    use kefu::drafts::{Actor, Role};
    use kefu::faq::{self, ItemState, RunOptions};
    use kefu::pipeline::{self, Purpose, SuggestRequest};

    let fake = FakeProvider::start().await;
    let t = support::app::spawn(|c| c.providers = vec![fake.provider_config("fake")]).await;
    let app = &t.app;
    let store = &app.store;
    let job = three_question_job(app).await;
    let first = claimed_then_interrupted(store, &job, "dead", 1).await;
    let k = store
        .faq_claim_interrupted(&job, "dead-too", 1, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.seq, first.seq);
    let req: SuggestRequest = serde_json::from_value(json!({ "message": k.question })).unwrap();
    let item_actor = Actor {
        name: faq::item_agent(&job, k.seq),
        role: Role::Reviewer,
    };
    let stored = pipeline::suggest_for(app, &req, &item_actor, None, Purpose::FaqFromKnowledge)
        .await
        .unwrap();
    assert_eq!(fake.calls(), 0, "answered from the knowledge");

    let opts = RunOptions {
        stale_after: Duration::from_millis(1),
        ..RunOptions::default()
    };
    let report = faq::run_job(app, &job, &opts, &|_| {}).await.unwrap();
    assert_eq!(report.recovery.adopted, vec![k.seq]);
    assert_eq!(fake.calls(), 2, "only the two untouched questions are sent");
    let lines = faq::results(app, &job).await.unwrap();
    let l = &lines[k.seq as usize];
    assert_eq!(l.status, ItemState::Done);
    assert_eq!(l.draft_id.as_deref(), Some(stored.draft.id.as_str()));
    assert_eq!(l.note.as_deref(), Some(faq::FROM_KNOWLEDGE));
    assert_eq!(faq::summarize(&job, &lines).from_knowledge, 1);
}

#[tokio::test]
async fn questions_are_stored_masked() {
    let fake = FakeProvider::start().await;
    let t = support::app::spawn(|c| c.providers = vec![fake.provider_config("fake")]).await;
    let question = "我手机13812345678，什么时候发货？";
    let mut vault: kefu::redact::Vault = Default::default();
    let masked = kefu::redact::mask(question, &mut vault);
    let (status, body) = t
        .post_json("/v1/faq/jobs", &json!({ "questions": [question] }))
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["job"]["id"].as_str().unwrap().to_string();
    let full = wait_finished(&t, &id).await;
    assert_eq!(full["results"][0]["question"], masked.as_str());
    assert!(!fake.bodies_text().contains("13812345678"));
    if masked != question {
        // with the redaction module in force, the number is never stored
        assert!(!full.to_string().contains("13812345678"), "{full}");
    }
}
