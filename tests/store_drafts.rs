//! Drafts through the public store API, on SQLite and (when configured) PostgreSQL:
//! the state machine, second approval, overrides, expiry and concurrent decisions.

mod store_support;

use chrono::{Duration, Utc};
use kefu::compliance::{Severity, Verdict};
use kefu::drafts::{Decision, Role, Status, StoreError};
use store_support::*;

fn no_tune(_: &mut kefu::config::StorageConfig) {}

store_test!(
    insert_get_and_suggested_event,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let d = s
            .insert_draft(&new_draft("亲，退货运费由我们承担哦。"), &agent("xiaomei"))
            .await
            .unwrap();
        assert_eq!(d.status, Status::Pending);
        assert_eq!(d.agent, "xiaomei");
        assert!(d.expires_at > d.created_at);
        let got = s.get_draft(&d.id).await.unwrap();
        assert_eq!(got.id, d.id);
        assert_eq!(got.suggestion.text, "亲，退货运费由我们承担哦。");
        assert_eq!(got.suggestion.conversation, d.suggestion.conversation);
        assert_eq!(got.created_at, d.created_at);
        let events = s.events(Some(&d.id)).await.unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.seq, e.action.as_str(), e.actor.as_str()),
            (1, "suggested", "xiaomei")
        );
        assert_eq!(e.payload["template_hash"], "abc123");
        assert_eq!(e.payload["knowledge_version"], "kb-1");
        assert_eq!(e.payload["model"], "fake-model");
        assert_eq!(e.prev_hash, kefu::drafts::GENESIS_HASH);
        assert!(matches!(
            s.get_draft("nope").await,
            Err(StoreError::NotFound(_))
        ));
        db.finish().await;
    }
);

store_test!(
    approve_unchanged_then_second_decision_conflicts,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let text = "亲，退货运费由我们承担哦。";
        let d = s
            .insert_draft(&new_draft(text), &agent("xiaomei"))
            .await
            .unwrap();
        let done = s
            .decide(&d.id, &agent("xiaomei"), approve(text))
            .await
            .unwrap();
        assert_eq!(done.status, Status::Approved);
        assert_eq!(done.final_text.as_deref(), Some(text));
        assert_eq!(done.decided_by.as_deref(), Some("xiaomei"));
        let err = s
            .decide(&d.id, &agent("xiaomei"), approve(text))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    status: Status::Approved,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = s
            .decide(
                &d.id,
                &agent("xiaomei"),
                Decision::Reject { reason: "x".into() },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let events = s.events(Some(&d.id)).await.unwrap();
        let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["suggested", "approved"]);
        assert_eq!(events[1].payload["edit_distance"], 0);
        assert_eq!(events[1].payload["origin"], "model");
        assert_eq!(events[1].payload["final_text"], text);
        assert_eq!(events[1].prev_hash, events[0].hash);
        assert!(matches!(
            s.decide("missing", &agent("x"), approve(text)).await,
            Err(StoreError::NotFound(_))
        ));
        db.finish().await;
    }
);

store_test!(
    edit_records_distance_and_origin,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let d = s
            .insert_draft(&new_draft("亲，您好，运费我们出。"), &agent("a"))
            .await
            .unwrap();
        let small = s
            .decide(&d.id, &agent("a"), approve("亲，你好，运费我们出。"))
            .await
            .unwrap();
        assert_eq!(small.status, Status::Edited);
        let e = s.events(Some(&d.id)).await.unwrap().pop().unwrap();
        assert_eq!(e.action, "edited");
        assert_eq!(e.payload["edit_distance"], 1);
        assert_eq!(e.payload["origin"], "model");

        let d = s
            .insert_draft(&new_draft("亲，您好，运费我们出。"), &agent("a"))
            .await
            .unwrap();
        s.decide(
            &d.id,
            &agent("a"),
            approve("这个问题我帮您转给售后专员处理，请稍等。"),
        )
        .await
        .unwrap();
        let e = s.events(Some(&d.id)).await.unwrap().pop().unwrap();
        assert_eq!(
            e.payload["origin"], "agent",
            "a rewrite is the agent's text"
        );
        db.finish().await;
    }
);

store_test!(reject_keeps_reason, no_tune, |db: TestDb| async move {
    let s = &db.store;
    let d = s
        .insert_draft(&new_draft("text"), &agent("a"))
        .await
        .unwrap();
    let r = s
        .decide(
            &d.id,
            &actor("zhang", Role::Reviewer),
            Decision::Reject {
                reason: "答非所问".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status, Status::Rejected);
    assert_eq!(r.reason.as_deref(), Some("答非所问"));
    let e = s.events(Some(&d.id)).await.unwrap().pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.actor.as_str(), e.role),
        ("rejected", "zhang", Role::Reviewer)
    );
    assert_eq!(e.payload["reason"], "答非所问");
    db.finish().await;
});

store_test!(
    empty_final_text_is_invalid,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let d = s
            .insert_draft(&new_draft("text"), &agent("a"))
            .await
            .unwrap();
        let err = s
            .decide(&d.id, &agent("a"), approve("  "))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert_eq!(s.get_draft(&d.id).await.unwrap().status, Status::Pending);
        db.finish().await;
    }
);

fn block_approval(text: &str, reason: Option<&str>) -> Decision {
    Decision::Approve {
        final_text: text.into(),
        verdict: Verdict::Block,
        findings: vec![finding("absolute_terms", Severity::Block, "最佳")],
        ruleset_version: "rules-1".into(),
        override_reason: reason.map(str::to_string),
    }
}

store_test!(
    block_needs_compliance_override_with_reason,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let text = "这是全网最佳的电暖器。";
        let d = s.insert_draft(&new_draft(text), &agent("a")).await.unwrap();
        let err = s
            .decide(&d.id, &agent("a"), block_approval(text, Some("品牌授权")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(_)),
            "agent cannot override: {err:?}"
        );
        let officer = actor("wang", Role::Compliance);
        let err = s
            .decide(&d.id, &officer, block_approval(text, Some("   ")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(_)),
            "a reason is required: {err:?}"
        );
        let ok = s
            .decide(
                &d.id,
                &officer,
                block_approval(text, Some("第三方检测报告已备案")),
            )
            .await
            .unwrap();
        assert_eq!(ok.status, Status::Approved);
        assert_eq!(ok.reason.as_deref(), Some("第三方检测报告已备案"));
        let events = s.events(Some(&d.id)).await.unwrap();
        let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["suggested", "overridden", "approved"]);
        assert_eq!(events[1].payload["override_reason"], "第三方检测报告已备案");
        assert_eq!(events[1].role, Role::Compliance);
        assert_eq!(events[2].payload["override_reason"], "第三方检测报告已备案");
        db.finish().await;
    }
);

fn warn_approval(text: &str) -> Decision {
    Decision::Approve {
        final_text: text.into(),
        verdict: Verdict::Warn,
        findings: vec![finding("medical_claims", Severity::Warn, "治疗")],
        ruleset_version: "rules-1".into(),
        override_reason: None,
    }
}

store_test!(
    second_approval_by_a_different_reviewer,
    no_tune,
    |db: TestDb| async move {
        let s = db
            .store
            .clone()
            .with_second_approval_categories(&["medical_claims".to_string()]);
        let text = "本品可辅助治疗失眠。";
        let d = s
            .insert_draft(&new_draft(text), &agent("xiaomei"))
            .await
            .unwrap();

        let first = s
            .decide(&d.id, &agent("xiaomei"), warn_approval(text))
            .await
            .unwrap();
        assert_eq!(first.status, Status::Pending, "one approval is not enough");
        assert_eq!(first.required_approvals, 2);
        assert_eq!(first.approvals.len(), 1);
        assert_eq!(first.approvals[0].actor, "xiaomei");

        let err = s
            .decide(
                &d.id,
                &actor("xiaomei", Role::Reviewer),
                warn_approval(text),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(_)),
            "same person twice: {err:?}"
        );
        let err = s
            .decide(&d.id, &agent("other-agent"), warn_approval(text))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(_)),
            "second approver must review: {err:?}"
        );

        let done = s
            .decide(&d.id, &actor("zhang", Role::Reviewer), warn_approval(text))
            .await
            .unwrap();
        assert_eq!(done.status, Status::Approved);
        assert_eq!(done.decided_by.as_deref(), Some("zhang"));
        assert_eq!(
            done.approvals
                .iter()
                .map(|a| a.actor.as_str())
                .collect::<Vec<_>>(),
            ["xiaomei", "zhang"]
        );
        let actions: Vec<_> = s
            .events(Some(&d.id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["suggested", "first_approval", "approved"]);

        // a draft without such findings still needs one approval
        let d2 = s
            .insert_draft(&new_draft("ok"), &agent("xiaomei"))
            .await
            .unwrap();
        assert_eq!(
            s.decide(&d2.id, &agent("xiaomei"), approve("ok"))
                .await
                .unwrap()
                .status,
            Status::Approved
        );
        db.finish().await;
    }
);

store_test!(
    second_approver_changing_the_text_starts_over,
    no_tune,
    |db: TestDb| async move {
        let s = db
            .store
            .clone()
            .with_second_approval_categories(&["medical_claims".to_string()]);
        let d = s
            .insert_draft(&new_draft("本品可辅助治疗失眠。"), &agent("a"))
            .await
            .unwrap();
        s.decide(&d.id, &agent("a"), warn_approval("本品可辅助治疗失眠。"))
            .await
            .unwrap();
        let changed = s
            .decide(
                &d.id,
                &actor("r1", Role::Reviewer),
                warn_approval("本品或可辅助治疗失眠。"),
            )
            .await
            .unwrap();
        assert_eq!(
            changed.status,
            Status::Pending,
            "a changed text needs its own second approval"
        );
        assert_eq!(changed.approvals.len(), 1);
        assert_eq!(changed.approvals[0].actor, "r1");
        let done = s
            .decide(
                &d.id,
                &actor("c1", Role::Compliance),
                warn_approval("本品或可辅助治疗失眠。"),
            )
            .await
            .unwrap();
        assert_eq!(done.status, Status::Edited);
        db.finish().await;
    }
);

fn ttl_zero(c: &mut kefu::config::StorageConfig) {
    c.draft_ttl_hours = 0;
}

store_test!(
    decision_after_ttl_expires_the_draft,
    ttl_zero,
    |db: TestDb| async move {
        let s = &db.store;
        let d = s.insert_draft(&new_draft("t"), &agent("a")).await.unwrap();
        let err = s
            .decide(&d.id, &agent("a"), approve("t"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    status: Status::Expired,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(s.get_draft(&d.id).await.unwrap().status, Status::Expired);
        let actions: Vec<_> = s
            .events(Some(&d.id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["suggested", "expired"]);
        assert!(s.verify().await.unwrap().ok);
        db.finish().await;
    }
);

store_test!(
    expiry_sweep_expires_only_stale_pending,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let stale1 = s.insert_draft(&new_draft("a"), &agent("a")).await.unwrap();
        let stale2 = s.insert_draft(&new_draft("b"), &agent("a")).await.unwrap();
        let decided = s.insert_draft(&new_draft("c"), &agent("a")).await.unwrap();
        s.decide(&decided.id, &agent("a"), approve("c"))
            .await
            .unwrap();

        assert!(
            s.expire_stale(Utc::now()).await.unwrap().is_empty(),
            "nothing is stale yet"
        );
        let mut ids = s
            .expire_stale(Utc::now() + Duration::hours(25))
            .await
            .unwrap();
        ids.sort();
        let mut want = vec![stale1.id.clone(), stale2.id.clone()];
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(
            s.get_draft(&stale1.id).await.unwrap().status,
            Status::Expired
        );
        assert_eq!(
            s.get_draft(&decided.id).await.unwrap().status,
            Status::Approved
        );
        let e = s.events(Some(&stale2.id)).await.unwrap().pop().unwrap();
        assert_eq!((e.action.as_str(), e.actor.as_str()), ("expired", "system"));
        let err = s
            .decide(&stale1.id, &agent("a"), approve("a"))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Conflict {
                status: Status::Expired,
                ..
            }
        ));
        assert!(
            s.expire_stale(Utc::now() + Duration::hours(50))
                .await
                .unwrap()
                .is_empty(),
            "idempotent"
        );
        assert!(s.verify().await.unwrap().ok);
        db.finish().await;
    }
);

store_test!(
    list_drafts_by_status_and_agent,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let a1 = s.insert_draft(&new_draft("1"), &agent("a")).await.unwrap();
        let _a2 = s.insert_draft(&new_draft("2"), &agent("a")).await.unwrap();
        let _b1 = s.insert_draft(&new_draft("3"), &agent("b")).await.unwrap();
        s.decide(&a1.id, &agent("a"), approve("1")).await.unwrap();
        assert_eq!(s.list_drafts(None, None, 50).await.unwrap().len(), 3);
        assert_eq!(s.list_drafts(None, Some("a"), 50).await.unwrap().len(), 2);
        let pending_a = s
            .list_drafts(Some(Status::Pending), Some("a"), 50)
            .await
            .unwrap();
        assert_eq!(pending_a.len(), 1);
        assert_eq!(pending_a[0].suggestion.text, "2");
        db.finish().await;
    }
);

store_test!(
    agents_read_and_decide_only_their_own_drafts,
    no_tune,
    |db: TestDb| async move {
        use kefu::auth::{can_decide, can_read_draft};
        let d = db
            .store
            .insert_draft(&new_draft("t"), &agent("xiaomei"))
            .await
            .unwrap();
        assert!(can_read_draft(&agent("xiaomei"), &d));
        assert!(!can_read_draft(&agent("other"), &d));
        assert!(!can_decide(&agent("other"), &d));
        assert!(can_read_draft(&actor("zhang", Role::Reviewer), &d));
        assert!(can_decide(&actor("wang", Role::Compliance), &d));
        assert!(can_read_draft(&kefu::auth::local_actor(), &d));
        db.finish().await;
    }
);

/// Regression: a database migrated by a newer kefu (an unknown migration recorded) was refused
/// by the older binary, which stopped the old FAQ workers of a rolling upgrade.
#[tokio::test]
async fn an_older_binary_opens_a_database_a_newer_one_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = kefu::config::StorageConfig {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    drop(kefu::drafts::Store::open(&cfg).await.unwrap());
    let url = format!("sqlite://{}", dir.path().join("kefu.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = kefu::drafts::Store::open(&cfg).await.unwrap();
    let d = store
        .insert_draft(&new_draft("亲，已为您登记。"), &agent("xiaomei"))
        .await
        .unwrap();
    assert_eq!(store.get_draft(&d.id).await.unwrap().id, d.id);
}
