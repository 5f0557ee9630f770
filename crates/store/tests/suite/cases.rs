//! Backend-agnostic store cases.

use std::collections::HashSet;
use std::time::Duration;

pub use crate::monitor_cases::*;
use faultline_store::{NewJob, NewProject, NewQueued, NewUser, ProjectId, Role, Store, StoreError, Timestamp};

pub async fn users_are_unique_by_email_in_any_case(store: &Store) {
    assert_eq!(store.user_count().await.unwrap(), 0);
    let user = store
        .create_user(&NewUser {
            email: "Ada@Example.com".into(),
            name: "Ada".into(),
            password_hash: Some("$argon2id$fake".into()),
            is_superuser: true,
            email_verified: true,
        })
        .await
        .unwrap();
    assert!(user.is_superuser && user.is_staff && user.is_active);
    assert_eq!(user.email, "Ada@Example.com");

    let again = store.create_user(&NewUser { email: "ada@example.COM".into(), ..NewUser::default() }).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let found = store.user_by_email("ADA@example.com").await.unwrap().expect("case-insensitive lookup");
    assert_eq!(found.id, user.id);
    assert_eq!(store.user(user.id).await.unwrap().email, user.email);
    assert!(store.user_by_email("bob@example.com").await.unwrap().is_none());
    assert_eq!(store.user_count().await.unwrap(), 1);
}

pub async fn organizations_projects_and_keys(store: &Store) {
    let user = store.create_user(&NewUser { email: "o@example.com".into(), ..NewUser::default() }).await.unwrap();
    let org = store.create_organization("Acme", "acme").await.unwrap();
    assert!(org.is_accepting_events && org.scrub_ip_addresses && org.open_membership);
    assert!(store.create_organization("Other Acme", "acme").await.unwrap_err().is_conflict());

    let member = store.add_member(org.id, user.id, Role::Owner).await.unwrap();
    assert_eq!(member.role(), Role::Owner);
    assert!(store.add_member(org.id, user.id, Role::Member).await.unwrap_err().is_conflict());
    assert_eq!(store.memberships(user.id).await.unwrap().len(), 1);
    assert_eq!(store.organization_by_slug("acme").await.unwrap().unwrap().id, org.id);

    let new =
        NewProject { organization_id: org.id, name: "Web".into(), slug: "web".into(), platform: Some("python".into()) };
    let project = store.create_project(&new).await.unwrap();
    assert_eq!(project.grouping, "default");
    assert!(store.create_project(&new).await.unwrap_err().is_conflict());

    let key = store.create_project_key(project.id, "Default").await.unwrap();
    assert_eq!(key.public_key.len(), 32);
    assert!(key.public_key.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let second = store.create_project_key(project.id, "CI").await.unwrap();
    assert_ne!(key.public_key, second.public_key);
    let keys = store.project_keys(project.id).await.unwrap();
    assert_eq!(keys.iter().map(|k| k.label.as_str()).collect::<Vec<_>>(), ["Default", "CI"]);
    assert_eq!(store.project(project.id).await.unwrap().slug, "web");
    assert!(matches!(store.project(ProjectId(999_999)).await, Err(StoreError::NotFound)));
}

pub async fn key_auth_reflects_switches(store: &Store) {
    let org = store.create_organization("Acme", "acme").await.unwrap();
    let project = store
        .create_project(&NewProject { organization_id: org.id, name: "P".into(), slug: "p".into(), platform: None })
        .await
        .unwrap();
    let key = store.create_project_key(project.id, "k").await.unwrap();
    let auth = store.key_auth(&key.public_key).await.unwrap().expect("key found");
    assert_eq!(auth.project_id, project.id);
    assert_eq!(auth.organization_id, org.id);
    assert!(auth.key_active && !auth.project_deleted && auth.org_accepting_events && auth.org_active);
    assert_eq!((auth.project_throttle_rate, auth.org_throttle_rate), (0, 0));
    assert!(store.key_auth("0123456789abcdef0123456789abcdef").await.unwrap().is_none());
}

pub async fn queue_claims_with_a_lease(store: &Store) {
    let items: Vec<NewQueued> = (0..5)
        .map(|i| NewQueued {
            project_id: ProjectId(1),
            received_at: Timestamp::now(),
            meta: format!("{{\"n\":{i}}}"),
            payload: vec![i as u8; 10],
        })
        .collect();
    store.enqueue(&items, None).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 5);
    assert_eq!(store.queue_depth_estimate().await.unwrap(), 5);

    let first = store.claim_queued(3, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        first.iter().map(|q| q.meta.as_str()).collect::<Vec<_>>(),
        ["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"],
        "oldest first"
    );
    assert_eq!(first[1].payload, vec![1u8; 10]);
    assert_eq!(first[2].meta, "{\"n\":2}");
    assert!(first.iter().all(|q| q.attempts == 1));

    let rest = store.claim_queued(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(rest.len(), 2, "leased rows are not handed out twice");
    assert!(store.claim_queued(10, Duration::from_secs(60)).await.unwrap().is_empty());

    // An expired lease (a worker that died) makes rows claimable again.
    store.release_queued(&[first[0].id]).await.unwrap();
    let again = store.claim_queued(10, Duration::ZERO).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    let expired = store.claim_queued(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(expired.len(), 1, "a zero lease expires at once");

    let all: Vec<_> = first.iter().chain(&rest).map(|q| q.id).collect();
    store.delete_queued(&all).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    assert_eq!(store.queue_depth_estimate().await.unwrap(), 0);
}

pub async fn queue_claims_never_overlap(store: &Store) {
    let items: Vec<NewQueued> = (0..200)
        .map(|_| NewQueued {
            project_id: ProjectId(1),
            received_at: Timestamp::now(),
            meta: "{}".into(),
            payload: vec![],
        })
        .collect();
    store.enqueue(&items, None).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_queued(7, Duration::from_secs(60)).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch.into_iter().map(|q| q.id));
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for task in tasks {
        for id in task.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "{id:?} claimed twice");
        }
    }
    assert_eq!(total, 200);
}

pub async fn jobs_run_retry_and_give_up(store: &Store) {
    let id = store.enqueue_job(&NewJob::now("demo", serde_json::json!({"x": 1}))).await.unwrap().unwrap();
    assert_eq!(store.pending_job_count().await.unwrap(), 1);
    let job = store.claim_job(Duration::from_secs(60)).await.unwrap().expect("due job");
    assert_eq!((job.id, job.kind.as_str(), job.attempts), (id, "demo", 1));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&job.payload).unwrap()["x"], 1);
    assert!(store.claim_job(Duration::from_secs(60)).await.unwrap().is_none(), "leased");

    // Retry later: not claimable before its time, claimable once due.
    store.fail_job(id, "boom", Some(Timestamp::now().plus_secs(3600))).await.unwrap();
    assert!(store.claim_job(Duration::from_secs(60)).await.unwrap().is_none());
    store.fail_job(id, "boom", Some(Timestamp::now().plus_secs(-1))).await.unwrap();
    let job = store.claim_job(Duration::from_secs(60)).await.unwrap().expect("due again");
    assert_eq!(job.attempts, 2);

    store.fail_job(id, "gave up", None).await.unwrap();
    assert_eq!(store.pending_job_count().await.unwrap(), 0);
    assert_eq!(store.failed_jobs(10).await.unwrap(), vec![("demo".to_string(), "gave up".to_string())]);

    let ok = store.enqueue_job(&NewJob::now("fine", serde_json::Value::Null)).await.unwrap().unwrap();
    let job = store.claim_job(Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(job.id, ok);
    store.complete_job(ok).await.unwrap();
    assert_eq!(store.pending_job_count().await.unwrap(), 0);
    assert!(store.claim_job(Duration::from_secs(60)).await.unwrap().is_none());
}

pub async fn unique_jobs_are_enqueued_once(store: &Store) {
    let job = NewJob { unique_key: Some("retention:42".into()), ..NewJob::now("retention", serde_json::Value::Null) };
    assert!(store.enqueue_job(&job).await.unwrap().is_some());
    assert!(store.enqueue_job(&job).await.unwrap().is_none());
    let claimed = store.claim_job(Duration::from_secs(60)).await.unwrap().unwrap();
    store.complete_job(claimed.id).await.unwrap();
    assert!(store.enqueue_job(&job).await.unwrap().is_none(), "a finished unique job keeps its key");
    assert_eq!(store.purge_finished_jobs(Timestamp::now().plus_secs(1)).await.unwrap(), 1);
    assert!(store.enqueue_job(&job).await.unwrap().is_some(), "until purged");
}

pub async fn timestamps_round_trip(store: &Store) {
    let user = store.create_user(&NewUser { email: "t@example.com".into(), ..NewUser::default() }).await.unwrap();
    let now = Timestamp::now();
    let drift = (user.created_at.micros() - now.micros()).abs();
    assert!(drift < 60_000_000, "created_at is the creation time: {:?} vs {:?}", user.created_at, now);
    assert_eq!(user.created_at, store.user(user.id).await.unwrap().created_at, "microseconds survive storage");
}

// --- Digestion ---------------------------------------------------------------

use faultline_store::{issue_status, DigestBatch, NewEvent, ProjectId as Pid, QueueId};

async fn project_with_queue(store: &Store, n: usize) -> (Pid, Vec<QueueId>) {
    let org = store.create_organization("Acme", "acme").await.unwrap();
    let project = store
        .create_project(&NewProject { organization_id: org.id, name: "Web".into(), slug: "web".into(), platform: None })
        .await
        .unwrap();
    let items: Vec<NewQueued> = (0..n)
        .map(|_| NewQueued {
            project_id: project.id,
            received_at: Timestamp::now(),
            meta: "{}".into(),
            payload: vec![],
        })
        .collect();
    store.enqueue(&items, None).await.unwrap();
    let ids = store.claim_queued(n, Duration::from_secs(60)).await.unwrap().into_iter().map(|q| q.id).collect();
    (project.id, ids)
}

fn event(queue_id: QueueId, project: Pid, hash: &str, id: u128) -> NewEvent {
    NewEvent {
        queue_id,
        project_id: project,
        event_id: uuid::Uuid::from_u128(id),
        timestamp: Timestamp::now(),
        received_at: Timestamp::now(),
        level: 4,
        ty: 1,
        title: format!("ValueError: {hash}"),
        culprit: "app.views in index".into(),
        metadata: "{\"type\":\"ValueError\"}".into(),
        hashes: vec![hash.to_string(), format!("{hash}-system")],
        release: Some("app@1.0".into()),
        environment: Some("production".into()),
        tags: vec![("level".into(), "error".into()), ("browser".into(), format!("Firefox {}", id % 2))],
        payload: faultline_store::compress_payload(br#"{"message":"x"}"#),
        search: ["ValueError".into(), "app.views".into(), "bad value".into(), "views.py".into()],
    }
}

pub async fn digest_batch_creates_issues_and_counts(store: &Store) {
    let (project, q) = project_with_queue(store, 3).await;
    let batch = DigestBatch {
        queue_ids: q.clone(),
        events: vec![event(q[0], project, "aaa", 1), event(q[1], project, "aaa", 2), event(q[2], project, "bbb", 3)],
        ..DigestBatch::default()
    };
    let out = store.write_batch(&batch).await.unwrap();
    assert_eq!((out.rows, out.events, out.duplicate_events, out.new_issues.len()), (3, 3, 0, 2));
    assert_eq!(store.queue_depth().await.unwrap(), 0, "the rows were consumed in the same transaction");

    let issues = store.project_issues(project, 10).await.unwrap();
    assert_eq!(issues.len(), 2);
    let a = issues.iter().find(|i| i.title.ends_with("aaa")).unwrap();
    let b = issues.iter().find(|i| i.title.ends_with("bbb")).unwrap();
    assert_eq!((a.times_seen, b.times_seen), (2, 1));
    let mut short_ids = vec![a.short_id, b.short_id];
    short_ids.sort();
    assert_eq!(short_ids, [1, 2]);
    assert_eq!(store.issue_hashes(a.id).await.unwrap(), ["aaa", "aaa-system"]);
    let tags = store.issue_tag_values(a.id).await.unwrap();
    assert!(tags.contains(&("level".into(), "error".into(), 2)), "{tags:?}");
    assert!(tags.contains(&("browser".into(), "Firefox 1".into(), 1)), "{tags:?}");
    let hours = store.issue_hourly_counts(a.id, Timestamp::now().plus_secs(-7200)).await.unwrap();
    assert_eq!(hours.iter().map(|h| h.1).sum::<i64>(), 2);
    let events = store.issue_events(a.id, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].json().unwrap()["message"], "x");
    assert!(store.project(project).await.unwrap().first_event_at.is_some());
    assert_eq!(store.project_event_count(project).await.unwrap(), 3);
    let stored = store.event(project, uuid::Uuid::from_u128(3)).await.unwrap().unwrap();
    assert_eq!(stored.issue_id, b.id);

    // A later event matching only the secondary hash joins the same issue.
    let (_, q2) = enqueue_more(store, project, 1).await;
    let mut e = event(q2[0], project, "zzz", 4);
    e.hashes = vec!["zzz".into(), "aaa-system".into()];
    store.write_batch(&DigestBatch { queue_ids: q2, events: vec![e], ..DigestBatch::default() }).await.unwrap();
    assert_eq!(store.issue(a.id).await.unwrap().times_seen, 3);
    assert!(store.issue_hashes(a.id).await.unwrap().contains(&"zzz".to_string()));
}

pub async fn events_compressed_with_a_project_dictionary_read_back(store: &Store) {
    let (project, q) = project_with_queue(store, 2).await;
    let sample = |i: usize| {
        serde_json::json!({
            "message": format!("timeout after {i} ms talking to payments-{}", i % 5),
            "exception": {"values": [{"type": "TimeoutError", "module": "app.payments.client", "stacktrace": {
                "frames": [{"filename": "app/payments/client.py", "function": "charge", "lineno": 40 + i % 9}]}}]},
            "contexts": {"runtime": {"name": "CPython", "version": "3.12.1"}, "os": {"name": "Linux"}},
        })
    };
    let samples: Vec<Vec<u8>> = (0..300).map(|i| serde_json::to_vec(&sample(i)).unwrap()).collect();
    let trained = faultline_store::train_dictionary(&samples).unwrap();
    assert!(store.add_event_dictionary(project, b"not a dictionary").await.is_err());
    let id = store.add_event_dictionary(project, &trained).await.unwrap();
    let settings = store.digest_settings(&[project]).await.unwrap();
    assert_eq!(settings[0].dictionary_id, Some(id), "the digest learns of the new dictionary");
    let bytes = store.event_dictionary(id).await.unwrap().unwrap();
    // As the digest prepares it.
    let dictionary = faultline_store::EventDictionary::new(id, &bytes);
    assert_eq!(bytes.len(), trained.len());
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
        faultline_store::FRAME_ID_BASE + dictionary.id() as u32
    );

    // One event from before the project had a dictionary, one compressed with it.
    let mut old = event(q[0], project, "aaa", 1);
    old.payload = faultline_store::compress_json(&sample(1000), None);
    let mut new = event(q[1], project, "aaa", 2);
    new.payload = faultline_store::compress_json(&sample(1001), Some(&dictionary));
    assert!(new.payload.len() < old.payload.len(), "{} against {} B", new.payload.len(), old.payload.len());
    store.write_batch(&DigestBatch { queue_ids: q, events: vec![old, new], ..DigestBatch::default() }).await.unwrap();

    // Every way of reading events finds the dictionary its payload names.
    let issue = store.project_issues(project, 1).await.unwrap()[0].id;
    let events = store.issue_events(issue, 10).await.unwrap();
    let mut messages: Vec<String> =
        events.iter().map(|e| e.json().unwrap()["message"].as_str().unwrap().to_string()).collect();
    messages.sort();
    assert_eq!(
        messages,
        ["timeout after 1000 ms talking to payments-0", "timeout after 1001 ms talking to payments-1"]
    );
    let by_id = store.event(project, uuid::Uuid::from_u128(2)).await.unwrap().unwrap();
    assert_eq!(by_id.json().unwrap(), sample(1001));
    let page = store.issue_event_page(issue, 0, 10).await.unwrap();
    assert!(page.iter().all(|r| r.event.json().is_ok()));
    let row = store.project_event(project, uuid::Uuid::from_u128(2)).await.unwrap().unwrap();
    assert_eq!(row.event.json().unwrap(), sample(1001));
    let latest = store.issue_edge_event(issue, true).await.unwrap().unwrap();
    assert!(latest.event.json().is_ok());
    // Read without the store's help, the payload says what it lacks.
    let mut bare = by_id.clone();
    bare.dictionary = None;
    assert!(bare.json().unwrap_err().to_string().contains("dictionary"));
}

async fn enqueue_more(store: &Store, project: Pid, n: usize) -> (Pid, Vec<QueueId>) {
    let items: Vec<NewQueued> = (0..n)
        .map(|_| NewQueued { project_id: project, received_at: Timestamp::now(), meta: "{}".into(), payload: vec![] })
        .collect();
    store.enqueue(&items, None).await.unwrap();
    let ids = store.claim_queued(n, Duration::from_secs(60)).await.unwrap().into_iter().map(|q| q.id).collect();
    (project, ids)
}

pub async fn digest_is_exactly_once(store: &Store) {
    let (project, q) = project_with_queue(store, 2).await;
    let batch = DigestBatch {
        queue_ids: q.clone(),
        events: vec![event(q[0], project, "aaa", 1), event(q[1], project, "aaa", 1)],
        ..DigestBatch::default()
    };
    let first = store.write_batch(&batch).await.unwrap();
    assert_eq!((first.events, first.duplicate_events), (1, 1), "the same event id twice is stored once");
    // A second worker whose lease expired writes the same batch again: nothing happens.
    let second = store.write_batch(&batch).await.unwrap();
    assert_eq!((second.rows, second.rows_taken_elsewhere, second.events), (0, 2, 0));
    let issues = store.project_issues(project, 10).await.unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].times_seen, 1);
    // Even a fresh queue row carrying an already stored event id adds nothing.
    let (_, q2) = enqueue_more(store, project, 1).await;
    let again = store
        .write_batch(&DigestBatch {
            queue_ids: q2.clone(),
            events: vec![event(q2[0], project, "aaa", 1)],
            ..DigestBatch::default()
        })
        .await
        .unwrap();
    assert_eq!((again.rows, again.events, again.duplicate_events), (1, 0, 1));
    assert_eq!(store.issue(issues[0].id).await.unwrap().times_seen, 1);
}

/// Two workers holding the same rows (a lease expired under the first) race to store
/// them: each row's contents land once, even items with no natural key of their own.
pub async fn racing_batches_store_each_row_once(store: &Store) {
    use faultline_store::NewAttachment;

    let (project, q) = project_with_queue(store, 40).await;
    let batch = |q: &[QueueId]| DigestBatch {
        queue_ids: q.to_vec(),
        attachments: q
            .iter()
            .map(|id| NewAttachment {
                queue_id: *id,
                project_id: project,
                event_id: uuid::Uuid::from_u128(7),
                name: format!("log-{id}.txt"),
                content_type: "text/plain".into(),
                attachment_type: "event.attachment".into(),
                size: 1,
                data: faultline_store::compress_payload(b"x"),
            })
            .collect(),
        ..DigestBatch::default()
    };
    // Overlapping halves: rows 10..30 are in both.
    let (a, b) = (batch(&q[..30]), batch(&q[10..]));
    let (ra, rb) = tokio::join!(store.write_batch(&a), store.write_batch(&b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.rows + rb.rows, 40, "every row is owned by exactly one batch");
    assert_eq!(ra.rows_taken_elsewhere + rb.rows_taken_elsewhere, 20);
    let stored = store.attachments(project, uuid::Uuid::from_u128(7)).await.unwrap();
    assert_eq!(stored.len(), 40, "no attachment is stored twice");
    assert_eq!(store.queue_depth().await.unwrap(), 0, "every row is consumed");
    // The rows are gone, so a late third writer stores nothing.
    let late = store.write_batch(&batch(&q)).await.unwrap();
    assert_eq!((late.rows, late.rows_taken_elsewhere), (0, 40));
    assert_eq!(store.attachments(project, uuid::Uuid::from_u128(7)).await.unwrap().len(), 40);
}

/// A batch whose rows' lease has (nearly) run out must not store them on SQLite,
/// where another batch may have claimed them since; they stay queued for the next
/// claim. On PostgreSQL, deleting the rows decides, lease or not.
pub async fn batches_past_their_lease_leave_spooled_rows(store: &Store) {
    let (project, q) = project_with_queue(store, 2).await;
    let batch = DigestBatch {
        queue_ids: q.clone(),
        lease_until: Some(Timestamp::now().plus_secs(1)),
        events: vec![event(q[0], project, "aaa", 1), event(q[1], project, "aaa", 2)],
        ..DigestBatch::default()
    };
    let out = store.write_batch(&batch).await.unwrap();
    if store.kind() == faultline_store::DatabaseKind::Sqlite {
        assert_eq!((out.rows, out.rows_taken_elsewhere, out.events), (0, 2, 0));
        assert_eq!(store.queue_depth().await.unwrap(), 2, "the rows wait for their next claim");
        store.release_queued(&q).await.unwrap();
        let again = store.claim_queued(10, Duration::from_secs(60)).await.unwrap();
        assert_eq!(again.len(), 2);
        assert!(again.iter().all(|r| r.locked_until.is_some_and(|t| t > Timestamp::now())));
        let batch = DigestBatch { lease_until: again.iter().filter_map(|r| r.locked_until).min(), ..batch };
        let out = store.write_batch(&batch).await.unwrap();
        assert_eq!((out.rows, out.events), (2, 2));
    } else {
        assert_eq!((out.rows, out.events), (2, 2));
    }
    assert_eq!(store.queue_depth().await.unwrap(), 0);
}

/// A batch that fails after claiming gives its rows back whole: released rows are
/// claimed and stored by the next batch.
pub async fn released_rows_are_stored_by_the_next_batch(store: &Store) {
    let (project, q) = project_with_queue(store, 3).await;
    store.release_queued(&q).await.unwrap();
    let again: Vec<QueueId> =
        store.claim_queued(10, Duration::from_secs(60)).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(again, q);
    let out = store
        .write_batch(&DigestBatch {
            queue_ids: again.clone(),
            events: again.iter().enumerate().map(|(i, id)| event(*id, project, "aaa", i as u128 + 1)).collect(),
            ..DigestBatch::default()
        })
        .await
        .unwrap();
    assert_eq!((out.rows, out.events), (3, 3));
    assert_eq!(store.queue_depth().await.unwrap(), 0);
}

pub async fn resolved_issues_regress_ignored_do_not(store: &Store) {
    let (project, q) = project_with_queue(store, 2).await;
    let batch = DigestBatch {
        queue_ids: q.clone(),
        events: vec![event(q[0], project, "aaa", 1), event(q[1], project, "bbb", 2)],
        ..DigestBatch::default()
    };
    let out = store.write_batch(&batch).await.unwrap();
    let (a, b) = (out.new_issues[0], out.new_issues[1]);
    store.set_issue_status(a, issue_status::RESOLVED).await.unwrap();
    store.set_issue_status(b, issue_status::IGNORED).await.unwrap();
    assert!(store.issue(a).await.unwrap().resolved_at.is_some());

    let (_, q2) = enqueue_more(store, project, 2).await;
    let out = store
        .write_batch(&DigestBatch {
            queue_ids: q2.clone(),
            events: vec![event(q2[0], project, "aaa", 3), event(q2[1], project, "bbb", 4)],
            ..DigestBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(out.regressed_issues, vec![a]);
    let a = store.issue(a).await.unwrap();
    assert_eq!(a.status, issue_status::UNRESOLVED);
    assert!(a.regressed_at.is_some() && a.resolved_at.is_none());
    assert_eq!(store.issue(b).await.unwrap().status, issue_status::IGNORED);
}

pub async fn merge_and_unmerge(store: &Store) {
    let (project, q) = project_with_queue(store, 3).await;
    let batch = DigestBatch {
        queue_ids: q.clone(),
        events: vec![event(q[0], project, "aaa", 1), event(q[1], project, "bbb", 2), event(q[2], project, "bbb", 3)],
        ..DigestBatch::default()
    };
    let out = store.write_batch(&batch).await.unwrap();
    let (a, b) = (out.new_issues[0], out.new_issues[1]);
    store.merge_issues(a, &[b]).await.unwrap();
    let merged = store.issue(a).await.unwrap();
    assert_eq!(merged.times_seen, 3);
    assert!(matches!(store.issue(b).await, Err(StoreError::NotFound)));
    assert_eq!(store.issue_events(a, 10).await.unwrap().len(), 3);
    assert_eq!(store.issue_hashes(a).await.unwrap().len(), 4);
    let level = store.issue_tag_values(a).await.unwrap().into_iter().find(|t| t.0 == "level").unwrap();
    assert_eq!(level.2, 3, "tag counts add up");
    let hours = store.issue_hourly_counts(a, Timestamp::now().plus_secs(-7200)).await.unwrap();
    assert_eq!(hours.iter().map(|h| h.1).sum::<i64>(), 3);

    // Unmerge: the next "bbb" event starts a new issue.
    assert_eq!(store.unmerge_hashes(a, &["bbb".into(), "bbb-system".into()]).await.unwrap(), 2);
    let (_, q2) = enqueue_more(store, project, 1).await;
    let out = store
        .write_batch(&DigestBatch {
            queue_ids: q2.clone(),
            events: vec![event(q2[0], project, "bbb", 9)],
            ..DigestBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(out.new_issues.len(), 1);
    assert_ne!(out.new_issues[0], a);
}

pub async fn alert_rules_outbox_and_log(store: &Store) {
    use faultline_store::{NewAlertNotification, NewAlertRecipient, NewAlertRule};

    let (project, q) = project_with_queue(store, 1).await;
    let out = store
        .write_batch(&DigestBatch {
            queue_ids: q.clone(),
            events: vec![event(q[0], project, "aaa", 1)],
            ..DigestBatch::default()
        })
        .await
        .unwrap();
    let issue = out.new_issues[0];

    let rule = NewAlertRule {
        name: "Errors".into(),
        timespan_minutes: 10,
        quantity: 1,
        uptime: false,
        on_new_issue: true,
        on_regression: true,
        min_level: Some("error".into()),
        environment: None,
        interval_minutes: 60,
        users_quantity: None,
        tag_key: None,
        tag_value: None,
        on_frequency: true,
    };
    let hook = |url: &str| NewAlertRecipient {
        recipient_type: "webhook".into(),
        url: url.into(),
        secret: Some("whsec_c2VjcmV0".into()),
        tags_to_add: "[]".into(),
    };
    let created = store.create_alert_rule(project, &rule, &[hook("http://a/"), hook("http://b/")]).await.unwrap();
    assert_eq!(created.name, "Errors");
    assert_eq!(store.alert_rules(project).await.unwrap(), std::slice::from_ref(&created));
    let recipients = store.alert_recipients(created.id).await.unwrap();
    assert_eq!(recipients.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(), ["http://a/", "http://b/"]);

    // Updating keeps a recipient with the same type and URL, replaces the other.
    let renamed = NewAlertRule { name: "Renamed".into(), ..rule.clone() };
    store.update_alert_rule(project, created.id, &renamed, &[hook("http://b/"), hook("http://c/")]).await.unwrap();
    let after = store.alert_recipients(created.id).await.unwrap();
    assert_eq!(after.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(), ["http://b/", "http://c/"]);
    assert_eq!(after[0].id, recipients[1].id);
    assert_eq!(store.alert_rule(project, created.id).await.unwrap().name, "Renamed");
    assert!(matches!(
        store.update_alert_rule(ProjectId(999_999), created.id, &rule, &[]).await,
        Err(StoreError::NotFound)
    ));

    // Firing is throttled per issue by the interval.
    let notes: Vec<NewAlertNotification> = after
        .iter()
        .map(|r| NewAlertNotification {
            recipient_id: r.id,
            reason: "new_issue".into(),
            payload: serde_json::json!({"text": "x"}),
        })
        .collect();
    let hour = Duration::from_secs(3600);
    assert!(store.fire_alert(created.id, issue, hour, &notes).await.unwrap());
    assert!(!store.fire_alert(created.id, issue, hour, &notes).await.unwrap());
    assert_eq!(store.pending_alert_notifications().await.unwrap(), 2);
    assert!(store.fire_alert(created.id, issue, Duration::ZERO, &notes[..1]).await.unwrap());
    assert_eq!(store.pending_alert_notifications().await.unwrap(), 3);

    // Claims are leased; a failed attempt is logged and retried, a success settles it.
    let claimed = store.claim_alert_notifications(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(claimed.iter().all(|n| n.attempts == 1 && n.issue_id == Some(issue)));
    assert!(store.claim_alert_notifications(10, Duration::from_secs(60)).await.unwrap().is_empty());
    let first = &claimed[0];
    store.record_alert_delivery(first, Some(500), Some("HTTP 500"), Some(Timestamp::now())).await.unwrap();
    for n in &claimed[1..] {
        store.record_alert_delivery(n, Some(200), None, None).await.unwrap();
    }
    let again = store.claim_alert_notifications(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(), [(first.id, 2)]);
    store.record_alert_delivery(&again[0], None, Some("connection refused"), None).await.unwrap();
    assert_eq!(store.pending_alert_notifications().await.unwrap(), 0);
    let log = store.alert_deliveries(first.recipient_id, 10).await.unwrap();
    let mine: Vec<_> = log.iter().filter(|d| d.notification_id == first.id).collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|d| d.status == "error"));
    assert!(mine.iter().any(|d| d.response_code == Some(500)));

    // Retention removes settled notifications and their log, never pending ones.
    assert_eq!(store.purge_alert_history(Timestamp::from_micros(0)).await.unwrap(), 0);
    assert_eq!(store.purge_alert_history(Timestamp::now().plus_secs(1)).await.unwrap(), 3);
    assert!(store.alert_deliveries(first.recipient_id, 10).await.unwrap().is_empty());
    // The fire clock went too: the rule may fire again.
    assert!(store.fire_alert(created.id, issue, hour, &notes[..1]).await.unwrap());
    assert_eq!(store.pending_alert_notifications().await.unwrap(), 1);

    store.delete_alert_rule(project, created.id).await.unwrap();
    assert!(store.alert_rules(project).await.unwrap().is_empty());
    assert!(matches!(store.delete_alert_rule(project, created.id).await, Err(StoreError::NotFound)));
}

pub async fn alert_firing_and_claims_are_exclusive(store: &Store) {
    use faultline_store::{NewAlertNotification, NewAlertRecipient, NewAlertRule};

    let (project, q) = project_with_queue(store, 1).await;
    let out = store
        .write_batch(&DigestBatch {
            queue_ids: q.clone(),
            events: vec![event(q[0], project, "aaa", 1)],
            ..DigestBatch::default()
        })
        .await
        .unwrap();
    let issue = out.new_issues[0];
    let rule = NewAlertRule {
        name: "Any".into(),
        timespan_minutes: 1,
        quantity: 1,
        uptime: false,
        on_new_issue: true,
        on_regression: true,
        min_level: None,
        environment: None,
        interval_minutes: 60,
        users_quantity: None,
        tag_key: None,
        tag_value: None,
        on_frequency: true,
    };
    let recipients: Vec<NewAlertRecipient> = (0..10)
        .map(|i| NewAlertRecipient {
            recipient_type: "webhook".into(),
            url: format!("http://r{i}/"),
            secret: None,
            tags_to_add: "[]".into(),
        })
        .collect();
    let rule = store.create_alert_rule(project, &rule, &recipients).await.unwrap();
    let notes: Vec<NewAlertNotification> = store
        .alert_recipients(rule.id)
        .await
        .unwrap()
        .iter()
        .map(|r| NewAlertNotification {
            recipient_id: r.id,
            reason: "new_issue".into(),
            payload: serde_json::json!({}),
        })
        .collect();

    // Several workers evaluating the same issue at once: one fires.
    let firing: Vec<_> = (0..6)
        .map(|_| {
            let (store, notes) = (store.clone(), notes.clone());
            tokio::spawn(
                async move { store.fire_alert(rule.id, issue, Duration::from_secs(3600), &notes).await.unwrap() },
            )
        })
        .collect();
    let mut fired = 0;
    for f in firing {
        fired += usize::from(f.await.unwrap());
    }
    assert_eq!(fired, 1);
    assert_eq!(store.pending_alert_notifications().await.unwrap(), 10);

    // Several deliverers claiming at once never take the same notification.
    let claims: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_alert_notifications(3, Duration::from_secs(60)).await.unwrap() })
        })
        .collect();
    let mut seen = HashSet::new();
    for c in claims {
        for n in c.await.unwrap() {
            assert!(seen.insert(n.id), "notification {} claimed twice", n.id);
        }
    }
    assert_eq!(seen.len(), 10);
}
