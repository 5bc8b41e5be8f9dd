//! The audit trail through the public store API, on SQLite and (when configured) PostgreSQL:
//! verification against changes made behind the app's back, export, paging, raw-text purge.

mod store_support;

use chrono::{Duration, Utc};
use kefu::compliance::{Severity, Verdict};
use kefu::drafts::{Actor, Decision, EventFilter, ExportFormat, Role, VerifyProblem};
use store_support::*;

fn no_tune(_: &mut kefu::config::StorageConfig) {}

/// Five events: suggested, approved, suggested, rejected, rules_reloaded.
async fn five_events(db: &TestDb) {
    let s = &db.store;
    let d = s
        .insert_draft(&new_draft("亲，包邮哦。"), &agent("a"))
        .await
        .unwrap();
    s.decide(&d.id, &agent("a"), approve("亲，包邮哦。"))
        .await
        .unwrap();
    let d = s
        .insert_draft(&new_draft("不行"), &agent("b"))
        .await
        .unwrap();
    s.decide(
        &d.id,
        &agent("b"),
        Decision::Reject {
            reason: "语气".into(),
        },
    )
    .await
    .unwrap();
    s.record(
        &actor("admin", Role::Admin),
        "rules_reloaded",
        serde_json::json!({"ruleset_version": "rules-2"}),
    )
    .await
    .unwrap();
}

/// [`five_events`], then `statements` run behind the store's back (the append-only guard
/// dropped, each statement changing one row), then verification.
async fn tampered(db: &TestDb, statements: &[&str]) -> kefu::drafts::VerifyReport {
    five_events(db).await;
    db.raw(db.drop_guard_sql()).await.unwrap();
    for sql in statements {
        assert_eq!(db.raw(sql).await.unwrap(), 1, "{sql}");
    }
    db.store.verify().await.unwrap()
}

store_test!(intact_chain_verifies, no_tune, |db: TestDb| async move {
    let r = db.store.verify().await.unwrap();
    assert!(r.ok && r.events == 0, "empty chain: {r:?}");
    five_events(&db).await;
    let r = db.store.verify().await.unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!((r.events, r.head_seq), (5, 5));
    let all = db.store.events(None).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(r.head_hash, all[4].hash);
    db.finish().await;
});

store_test!(
    events_cannot_be_updated_through_sql,
    no_tune,
    |db: TestDb| async move {
        five_events(&db).await;
        let err = db
            .raw("UPDATE audit_events SET actor = 'x' WHERE seq = 2")
            .await;
        assert!(err.is_err(), "the append-only guard refuses updates");
        assert!(db
            .raw("DELETE FROM audit_events WHERE seq = 2")
            .await
            .is_err());
        assert!(db.store.verify().await.unwrap().ok);
        db.finish().await;
    }
);

store_test!(
    verify_names_an_altered_event,
    no_tune,
    |db: TestDb| async move {
        let r = tampered(&db, &["UPDATE audit_events SET payload = replace(payload, '包邮', '不包邮') WHERE seq = 2"]).await;
        assert!(!r.ok);
        assert_eq!(r.first_bad_seq, Some(2));
        assert_eq!(r.problem, Some(VerifyProblem::Altered));
        assert!(r.message.contains("event 2"), "{}", r.message);
        db.finish().await;
    }
);

store_test!(
    verify_names_an_altered_actor,
    no_tune,
    |db: TestDb| async move {
        let r = tampered(
            &db,
            &["UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4"],
        )
        .await;
        assert_eq!((r.ok, r.first_bad_seq), (false, Some(4)));
        db.finish().await;
    }
);

store_test!(
    verify_names_a_deleted_event,
    no_tune,
    |db: TestDb| async move {
        let r = tampered(&db, &["DELETE FROM audit_events WHERE seq = 3"]).await;
        assert_eq!(r.first_bad_seq, Some(3));
        assert_eq!(r.problem, Some(VerifyProblem::Missing { expected: 3 }));
        db.finish().await;
    }
);

store_test!(
    verify_names_a_deleted_tail,
    no_tune,
    |db: TestDb| async move {
        let r = tampered(&db, &["DELETE FROM audit_events WHERE seq = 5"]).await;
        assert_eq!(r.first_bad_seq, Some(5));
        assert_eq!(r.problem, Some(VerifyProblem::TailMissing { head_seq: 5 }));
        db.finish().await;
    }
);

store_test!(
    verify_names_reordered_events,
    no_tune,
    |db: TestDb| async move {
        // swap the seq numbers of events 2 and 3
        let r = tampered(
            &db,
            &[
                "UPDATE audit_events SET seq = 100 WHERE seq = 2",
                "UPDATE audit_events SET seq = 2 WHERE seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE seq = 100",
            ],
        )
        .await;
        assert!(!r.ok);
        assert_eq!(r.first_bad_seq, Some(2), "{r:?}");
        db.finish().await;
    }
);

store_test!(
    list_events_pages_and_filters,
    no_tune,
    |db: TestDb| async move {
        five_events(&db).await;
        let s = &db.store;
        let p1 = s
            .list_events(&EventFilter::default(), None, 2)
            .await
            .unwrap();
        assert_eq!(p1.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        let p2 = s
            .list_events(&EventFilter::default(), p1.next_after, 2)
            .await
            .unwrap();
        assert_eq!(p2.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
        let p3 = s
            .list_events(&EventFilter::default(), p2.next_after, 2)
            .await
            .unwrap();
        assert_eq!(p3.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [5]);
        assert_eq!(p3.next_after, None);

        let by_actor = EventFilter {
            actor: Some("b".into()),
            ..Default::default()
        };
        let got = s.list_events(&by_actor, None, 100).await.unwrap().events;
        assert_eq!(
            got.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["suggested", "rejected"]
        );
        let by_agent = EventFilter {
            agent: Some("a".into()),
            ..Default::default()
        };
        let got = s.list_events(&by_agent, None, 100).await.unwrap().events;
        assert_eq!(
            got.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2],
            "agent a's draft only"
        );
        let by_action = EventFilter {
            action: Some("approved".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_events(&by_action, None, 100)
                .await
                .unwrap()
                .events
                .len(),
            1
        );
        let future = EventFilter {
            from: Some(Utc::now() + Duration::hours(1)),
            ..Default::default()
        };
        assert!(s
            .list_events(&future, None, 100)
            .await
            .unwrap()
            .events
            .is_empty());
        let past = EventFilter {
            to: Some(Utc::now() - Duration::hours(1)),
            ..Default::default()
        };
        assert!(s
            .list_events(&past, None, 100)
            .await
            .unwrap()
            .events
            .is_empty());
        let window = EventFilter {
            from: Some(Utc::now() - Duration::hours(1)),
            to: Some(Utc::now() + Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(
            s.list_events(&window, None, 100)
                .await
                .unwrap()
                .events
                .len(),
            5
        );
        db.finish().await;
    }
);

store_test!(
    filters_by_category_and_verdict,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let mut warn = new_draft("本品可治疗失眠");
        warn.verdict = Verdict::Warn;
        warn.findings = vec![finding("medical_claims", Severity::Warn, "治疗")];
        s.insert_draft(&warn, &agent("a")).await.unwrap();
        s.insert_draft(&new_draft("包邮"), &agent("a"))
            .await
            .unwrap();
        let cat = EventFilter {
            category: Some("medical_claims".into()),
            ..Default::default()
        };
        let got = s.list_events(&cat, None, 100).await.unwrap().events;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload["text"], "本品可治疗失眠");
        let v = EventFilter {
            verdict: Some(Verdict::Pass),
            ..Default::default()
        };
        let got = s.list_events(&v, None, 100).await.unwrap().events;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload["text"], "包邮");
        let none = EventFilter {
            category: Some("off_platform".into()),
            ..Default::default()
        };
        assert!(s
            .list_events(&none, None, 100)
            .await
            .unwrap()
            .events
            .is_empty());
        db.finish().await;
    }
);

store_test!(
    csv_export_opens_in_excel,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let tricky = "亲，\"顺丰\"包邮，\n到货后 =SUM(A1) 请确认";
        let d = s
            .insert_draft(&new_draft("亲，包邮哦。"), &agent("xiaomei"))
            .await
            .unwrap();
        s.decide(&d.id, &agent("xiaomei"), approve(tricky))
            .await
            .unwrap();
        let mut out = Vec::new();
        let admin = actor("admin", Role::Admin);
        let sum = s
            .export(&admin, &EventFilter::default(), ExportFormat::Csv, &mut out)
            .await
            .unwrap();
        assert_eq!(sum.events, 2);
        assert!(out.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM first");
        let text = String::from_utf8(out[3..].to_vec()).unwrap();
        assert!(
            text.starts_with("seq,at,actor,role,action,draft_id,verdict"),
            "{text}"
        );
        assert!(text.contains("\r\n"), "CRLF line ends");
        assert_eq!(
            text.matches("\r\n").count(),
            3,
            "header + 2 records; the newline inside a field is quoted"
        );
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[1][4], "edited");
        assert_eq!(&rows[1][8], tricky, "quotes, commas and newlines survive");
        assert_eq!(&rows[1][2], "xiaomei");
        // the export itself is audited
        let last = s.events(None).await.unwrap().pop().unwrap();
        assert_eq!(
            (last.action.as_str(), last.actor.as_str()),
            ("exported", "admin")
        );
        assert_eq!(last.payload["events"], 2);
        assert!(s.verify().await.unwrap().ok);
        db.finish().await;
    }
);

store_test!(
    csv_export_defuses_formulas,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let d = s.insert_draft(&new_draft("x"), &agent("a")).await.unwrap();
        s.decide(&d.id, &agent("a"), approve("=HYPERLINK(\"http://evil\")"))
            .await
            .unwrap();
        let mut out = Vec::new();
        s.export(
            &agent("a"),
            &EventFilter::default(),
            ExportFormat::Csv,
            &mut out,
        )
        .await
        .unwrap();
        let text = String::from_utf8(out[3..].to_vec()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[1][8], "'=HYPERLINK(\"http://evil\")");
        db.finish().await;
    }
);

store_test!(
    jsonl_export_filters_and_round_trips,
    no_tune,
    |db: TestDb| async move {
        five_events(&db).await;
        let s = &db.store;
        let mut out = Vec::new();
        let filter = EventFilter {
            actor: Some("a".into()),
            ..Default::default()
        };
        let sum = s
            .export(&agent("auditor"), &filter, ExportFormat::Jsonl, &mut out)
            .await
            .unwrap();
        assert_eq!(
            (sum.events, sum.first_seq, sum.last_seq),
            (2, Some(1), Some(2))
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<kefu::drafts::AuditEvent> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].action, "approved");
        let stored = s.events(None).await.unwrap();
        assert_eq!(lines[1].hash, stored[1].hash);
        assert_eq!(stored.last().unwrap().payload["filter"]["actor"], "a");
        db.finish().await;
    }
);

fn keep_raw(c: &mut kefu::config::StorageConfig) {
    c.raw_retention_days = 7;
}

store_test!(
    raw_conversation_is_purged_after_retention,
    keep_raw,
    |db: TestDb| async move {
        let s = &db.store;
        let raw = vec![kefu::conversation::Turn::customer("我的电话是13812345678")];
        let d = s
            .insert_draft_with_raw(&new_draft("好的"), &agent("a"), Some(&raw))
            .await
            .unwrap();
        let other = s
            .insert_draft(&new_draft("好的"), &agent("a"))
            .await
            .unwrap();
        assert_eq!(s.raw_conversation(&d.id).await.unwrap(), Some(raw.clone()));
        assert_eq!(s.raw_conversation(&other.id).await.unwrap(), None);
        assert!(s
            .purge_raw(&Actor::system(), Utc::now() + Duration::days(6))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.events(None).await.unwrap().len(),
            2,
            "nothing purged, nothing recorded"
        );
        let purged = s
            .purge_raw(&Actor::system(), Utc::now() + Duration::days(8))
            .await
            .unwrap();
        assert_eq!(purged, vec![d.id.clone()]);
        assert_eq!(s.raw_conversation(&d.id).await.unwrap(), None);
        let e = s.events(None).await.unwrap().pop().unwrap();
        assert_eq!((e.action.as_str(), e.actor.as_str()), ("purged", "system"));
        assert_eq!(e.payload["drafts"][0], d.id.as_str());
        assert_eq!(
            s.get_draft(&d.id).await.unwrap().suggestion.text,
            "好的",
            "the masked draft stays"
        );
        assert!(s.verify().await.unwrap().ok);
        db.finish().await;
    }
);

store_test!(
    raw_conversation_is_never_stored_without_retention,
    no_tune,
    |db: TestDb| async move {
        let s = &db.store;
        let raw = vec![kefu::conversation::Turn::customer("我的电话是13812345678")];
        let d = s
            .insert_draft_with_raw(&new_draft("好的"), &agent("a"), Some(&raw))
            .await
            .unwrap();
        assert_eq!(s.raw_conversation(&d.id).await.unwrap(), None);
        let n = db
            .raw("UPDATE drafts SET status = status WHERE raw_conversation IS NOT NULL")
            .await
            .unwrap();
        assert_eq!(n, 0, "no raw text on disk");
        db.finish().await;
    }
);
