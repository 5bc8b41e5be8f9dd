//! Access control and the review rules over HTTP, on SQLite and PostgreSQL: tokens map to users
//! and roles, agents see only their own drafts, a block is overridden only by compliance with a
//! reason, flagged categories need a second person, concurrent approvals have one winner, and
//! the retention purge is the admin's and audited.

mod support;

use kefu::config::Config;
use kefu::drafts::Role;
use serde_json::json;
use support::app::{actions, spawn_on, user, Backend, TestApp};
use support::fake_provider::{Behaviour, FakeProvider};

const AGENT_A: &str = "kefu_test_agent_a_token_0001";
const AGENT_B: &str = "kefu_test_agent_b_token_0002";
const REVIEWER: &str = "kefu_test_reviewer_token_0003";
const REVIEWER_2: &str = "kefu_test_reviewer_token_0004";
const COMPLIANCE: &str = "kefu_test_compliance_token_05";
const ADMIN: &str = "kefu_test_admin_token_000006";

fn users(c: &mut Config) {
    c.users = vec![
        user("xiaomei", Role::Agent, AGENT_A),
        user("dawei", Role::Agent, AGENT_B),
        user("laozhang", Role::Reviewer, REVIEWER),
        user("lisi", Role::Reviewer, REVIEWER_2),
        user("wanghe", Role::Compliance, COMPLIANCE),
        user("root", Role::Admin, ADMIN),
    ];
}

/// An app with the six users above and, when `reply` is given, a fake provider answering it
/// (kept alive by the caller; without one, drafts are extractive).
async fn app_with(
    backend: &Backend,
    reply: Option<&str>,
    tune: fn(&mut Config),
) -> (TestApp, Option<FakeProvider>) {
    let fake = match reply {
        Some(text) => {
            let fake = FakeProvider::start().await;
            fake.set_default(Behaviour::Ok(text.into()));
            Some(fake)
        }
        None => None,
    };
    let provider = fake.as_ref().map(|f| f.provider_config("fake"));
    let app = spawn_on(backend.clone(), |c| {
        users(c);
        c.providers = provider.into_iter().collect();
        tune(c);
    })
    .await;
    (app, fake)
}

fn no_tune(_: &mut Config) {}

async fn suggest_as(app: &TestApp, token: &str, message: &str) -> String {
    let (status, draft) = app
        .post_as(token, "/v1/suggest", &json!({"message": message}))
        .await;
    assert_eq!(status, 200, "{draft}");
    draft["id"].as_str().expect("draft id").to_string()
}

on_both_stores! {
    async fn no_token_or_a_wrong_token_is_a_401(backend) {
        let (app, _fake) = app_with(&backend, None, no_tune).await;
        let (status, body) = app.get_json("/v1/drafts").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let (status, body) = app
            .post_json("/v1/suggest", &json!({"message": "退货运费谁出"}))
            .await;
        assert_eq!(status, 401, "{body}");
        let (status, body) = app.get_as("not-a-real-token", "/v1/drafts").await;
        assert_eq!(status, 401, "{body}");
        // The health check stays open for load balancers.
        let (status, _) = app.get_json("/healthz").await;
        assert_eq!(status, 200);
        let (status, me) = app.get_as(REVIEWER, "/v1/me").await;
        assert_eq!(status, 200);
        assert_eq!(me["name"], "laozhang");
        assert_eq!(me["role"], "reviewer");
        assert_eq!(me["local_only"], false);
    }

    async fn the_wrong_role_is_a_403(backend) {
        let (app, _fake) = app_with(&backend, None, no_tune).await;
        for token in [AGENT_A, REVIEWER] {
            let (status, body) = app.get_as(token, "/v1/audit/events").await;
            assert_eq!(status, 403, "{body}");
            assert_eq!(body["error"]["code"], "forbidden");
            let (status, _) = app.get_as(token, "/v1/audit/verify").await;
            assert_eq!(status, 403);
            let (status, _) = app.get_text_as(token, "/v1/audit/export").await;
            assert_eq!(status, 403);
        }
        for token in [AGENT_A, REVIEWER, COMPLIANCE] {
            let (status, _) = app.post_as(token, "/v1/admin/reload", &json!({})).await;
            assert_eq!(status, 403);
            let (status, _) = app.post_as(token, "/v1/admin/purge", &json!({})).await;
            assert_eq!(status, 403);
        }
        let (status, _) = app.get_as(COMPLIANCE, "/v1/audit/events").await;
        assert_eq!(status, 200);
        let (status, report) = app.post_as(ADMIN, "/v1/admin/reload", &json!({})).await;
        assert_eq!(status, 200, "{report}");
        for part in ["knowledge", "rules", "prompts"] {
            assert_eq!(report[part]["ok"], true, "{part}: {report}");
        }
    }

    async fn another_agents_draft_is_a_404_not_a_403(backend) {
        let (app, _fake) = app_with(&backend, None, no_tune).await;
        let id = suggest_as(&app, AGENT_A, "发票怎么开").await;

        let path = format!("/v1/drafts/{id}");
        let (status, body) = app.get_as(AGENT_B, &path).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
        let (status, _) = app.post_as(AGENT_B, &format!("{path}/approve"), &json!({})).await;
        assert_eq!(status, 404);
        let (status, _) = app
            .post_as(AGENT_B, &format!("{path}/reject"), &json!({"reason": "不是我的"}))
            .await;
        assert_eq!(status, 404);
        let (_, list) = app.get_as(AGENT_B, "/v1/drafts").await;
        assert!(!list.to_string().contains(&id), "{list}");

        let (status, mine) = app.get_as(AGENT_A, &path).await;
        assert_eq!(status, 200);
        assert_eq!(mine["agent"], "xiaomei");
        for token in [REVIEWER, COMPLIANCE, ADMIN] {
            let (status, _) = app.get_as(token, &path).await;
            assert_eq!(status, 200);
        }
        // B's failed attempts changed nothing.
        assert_eq!(mine["status"], "pending");
    }

    async fn only_compliance_overrides_a_block_and_only_with_a_reason(backend) {
        let (app, _fake) = app_with(
            &backend,
            Some("亲，这款是全网最好的炸锅，有问题加我微信 kefu888 聊哦"),
            no_tune,
        )
        .await;
        let id = suggest_as(&app, AGENT_A, "这个炸锅好用吗").await;
        let approve = format!("/v1/drafts/{id}/approve");

        let (status, body) = app.post_as(AGENT_A, &approve, &json!({})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "blocked");
        for token in [AGENT_A, REVIEWER] {
            let (status, body) = app
                .post_as(token, &approve, &json!({"override_reason": "客户坚持"}))
                .await;
            assert_eq!(status, 403, "{body}");
        }
        let (status, body) = app
            .post_as(COMPLIANCE, &approve, &json!({"override_reason": "   "}))
            .await;
        assert_eq!(status, 422, "a blank reason is no reason: {body}");

        let reason = "平台内官方客服账号，已核实非站外导流";
        let (status, done) = app
            .post_as(COMPLIANCE, &approve, &json!({"override_reason": reason}))
            .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["status"], "approved");
        assert_eq!(done["decided_by"], "wanghe");

        let (_, events) = app
            .get_as(COMPLIANCE, &format!("/v1/audit/events?draft_id={id}"))
            .await;
        assert_eq!(actions(&events), vec!["suggested", "overridden", "approved"]);
        let overridden = &events["events"][1];
        assert_eq!(overridden["actor"], "wanghe");
        assert_eq!(overridden["role"], "compliance");
        assert!(overridden.to_string().contains(reason), "{overridden}");

        // The export opens in Excel (UTF-8 with BOM) and carries the override.
        let (status, csv) = app
            .get_text_as(COMPLIANCE, "/v1/audit/export?format=csv&action=overridden")
            .await;
        assert_eq!(status, 200);
        assert!(csv.starts_with('\u{feff}'), "no BOM");
        assert!(csv.contains(reason), "{csv}");
        let (status, report) = app.get_as(COMPLIANCE, "/v1/audit/verify").await;
        assert_eq!(status, 200);
        assert_eq!(report["ok"], true, "{report}");
    }

    async fn a_flagged_category_needs_a_second_person(backend) {
        fn second(c: &mut Config) {
            c.review.second_approval_categories = vec!["false_promise".into()];
        }
        let (app, _fake) = app_with(&backend, Some("亲，您放心，保证明天发出哦。"), second).await;
        let id = suggest_as(&app, AGENT_A, "什么时候发货").await;
        let approve = format!("/v1/drafts/{id}/approve");

        let (status, first) = app.post_as(AGENT_A, &approve, &json!({})).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["status"], "pending", "one approval is not enough: {first}");
        assert_eq!(first["required_approvals"], 2);
        assert_eq!(first["approvals"].as_array().unwrap().len(), 1);

        let (status, again) = app.post_as(AGENT_A, &approve, &json!({})).await;
        assert_eq!(status, 403, "the same person twice: {again}");

        let (status, done) = app.post_as(REVIEWER, &approve, &json!({})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["status"], "approved");
        assert_eq!(done["approvals"].as_array().unwrap().len(), 2);
    }

    async fn two_concurrent_approvals_of_one_draft_have_one_winner(backend) {
        let (app, _fake) = app_with(&backend, None, no_tune).await;
        let mut ids = Vec::new();
        for _ in 0..8 {
            ids.push(suggest_as(&app, AGENT_A, "退货运费谁出").await);
        }
        for id in &ids {
            let approve = format!("/v1/drafts/{id}/approve");
            let empty = json!({});
            let (a, b) = tokio::join!(
                app.post_as(REVIEWER, &approve, &empty),
                app.post_as(REVIEWER_2, &approve, &empty),
            );
            let mut statuses = [a.0, b.0];
            statuses.sort();
            assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
            let loser = if a.0 == 409 { &a.1 } else { &b.1 };
            assert_eq!(loser["error"]["code"], "conflict");

            let (_, events) = app
                .get_as(COMPLIANCE, &format!("/v1/audit/events?draft_id={id}"))
                .await;
            assert_eq!(actions(&events), vec!["suggested", "approved"]);
        }
        let (_, report) = app.get_as(COMPLIANCE, "/v1/audit/verify").await;
        assert_eq!(report["ok"], true, "{report}");
    }

    async fn the_retention_purge_is_the_admins_and_audited(backend) {
        fn keep_raw(c: &mut Config) {
            c.storage.raw_retention_days = 7;
        }
        let (app, _fake) = app_with(&backend, None, keep_raw).await;
        let id = suggest_as(&app, AGENT_A, "我的手机号13812345678，炸锅坏了怎么退").await;
        let store = &app.app.store;
        let raw = store.raw_conversation(&id).await.unwrap().expect("raw kept");
        assert!(format!("{raw:?}").contains("13812345678"));

        // Nothing is due yet: the purge does nothing and records nothing.
        let (status, none) = app.post_as(ADMIN, "/v1/admin/purge", &json!({})).await;
        assert_eq!(status, 200, "{none}");
        assert_eq!(none["purged"], 0);

        // The retention period ends (moved behind the app's back: purge time = creation time).
        app.raw_sql(&format!("UPDATE drafts SET raw_purge_at = created_at WHERE id = '{id}'"))
            .await;
        let (status, done) = app.post_as(ADMIN, "/v1/admin/purge", &json!({})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["purged"], 1);
        assert_eq!(done["drafts"][0], id.as_str());
        assert!(store.raw_conversation(&id).await.unwrap().is_none());

        let (_, events) = app.get_as(COMPLIANCE, "/v1/audit/events?action=purged").await;
        let purged = &events["events"][0];
        assert_eq!(purged["actor"], "root");
        assert_eq!(purged["role"], "admin");
        assert!(purged.to_string().contains(&id), "{purged}");
        let (_, report) = app.get_as(COMPLIANCE, "/v1/audit/verify").await;
        assert_eq!(report["ok"], true, "{report}");
    }
}
