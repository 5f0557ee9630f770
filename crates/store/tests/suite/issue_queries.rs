//! The queries behind the issues and events API: search (every operator, negation,
//! free text, event id), sorts, pages, triage, comments, tags, events, user reports
//! and statistics. Each case runs on SQLite and PostgreSQL.

use std::time::Duration;

use faultline_store::{
    compress_payload, issue_status, DigestBatch, IssueFilter, IssueId, IssueSort, IssueSortKey, NewEvent, NewProject,
    NewQueued, NewUser, NewUserReport, OrganizationId, Project, ProjectId, SearchQuery, Store, StoreError, Timestamp,
};
use uuid::Uuid;

macro_rules! issue_store_tests {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = faultline_store::testing::TestDb::sqlite().await;
                    super::$case(&db.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = faultline_store::testing::TestDb::postgres().await else { return };
                    super::$case(&db.store).await;
                }
            )*
        }
    };
}

issue_store_tests!(
    search_operators_negation_and_text,
    sorts_pages_and_counts,
    triage_delete_and_assignment,
    comments_crud_and_counts,
    tags_releases_and_users,
    events_pages_edges_and_neighbours,
    user_reports_and_statistics,
);

async fn project(store: &Store, org_slug: &str, slug: &str) -> Project {
    let org = match store.organization_by_slug(org_slug).await.unwrap() {
        Some(org) => org,
        None => store.create_organization(org_slug, org_slug).await.unwrap(),
    };
    store
        .create_project(&NewProject {
            organization_id: org.id,
            name: slug.into(),
            slug: slug.into(),
            platform: Some("python".into()),
        })
        .await
        .unwrap()
}

/// An event template; `id` is the event id, `at` seconds after a fixed base time.
fn ev(project: ProjectId, hash: &str, id: u128, at: i64) -> NewEvent {
    let received = base().plus_secs(at);
    NewEvent {
        queue_id: faultline_store::QueueId(0),
        project_id: project,
        event_id: Uuid::from_u128(id),
        timestamp: received,
        received_at: received,
        level: 4,
        ty: 1,
        title: format!("Error {hash}"),
        culprit: "app.views in index".into(),
        metadata: "{}".into(),
        hashes: vec![hash.to_string()],
        release: None,
        environment: None,
        tags: vec![("level".into(), "error".into())],
        payload: compress_payload(
            serde_json::json!({"event_id": Uuid::from_u128(id).simple().to_string(), "hashes": [hash], "title": format!("Error {hash}")})
                .to_string()
                .as_bytes(),
        ),
        search: [format!("Error {hash}"), "app.views in index".into(), String::new(), String::new()],
    }
}

fn base() -> Timestamp {
    // Two hours ago, on an hour boundary plus 10 minutes: events at +0…+600 s share an hour.
    Timestamp::now().plus_secs(-7200).hour_bucket().plus_secs(600)
}

/// Writes events through the digest path (queue rows enqueued, claimed, consumed).
async fn write(store: &Store, mut events: Vec<NewEvent>) -> Vec<IssueId> {
    let items: Vec<NewQueued> = events
        .iter()
        .map(|e| NewQueued { project_id: e.project_id, received_at: e.received_at, meta: "{}".into(), payload: vec![] })
        .collect();
    store.enqueue(&items, None).await.unwrap();
    let claimed = store.claim_queued(items.len(), Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), events.len());
    for (e, q) in events.iter_mut().zip(&claimed) {
        e.queue_id = q.id;
    }
    let batch = DigestBatch { queue_ids: claimed.iter().map(|q| q.id).collect(), events, ..DigestBatch::default() };
    store.write_batch(&batch).await.unwrap().new_issues
}

fn filter(org: OrganizationId, query: &str) -> IssueFilter {
    IssueFilter { query: SearchQuery::parse(query).unwrap(), ..IssueFilter::organization(org) }
}

async fn titles(store: &Store, f: &IssueFilter) -> Vec<String> {
    let mut t: Vec<String> = store
        .search_issues(f, IssueSort::default(), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.issue.title)
        .collect();
    t.sort();
    t
}

/// Three issues in org `acme` (A: error, B: warning, C: info) and one in `other`.
async fn seed_search(store: &Store) -> (Project, Project, [IssueId; 3]) {
    let p = project(store, "acme", "web").await;
    let other = project(store, "other", "api").await;
    let mut a1 = ev(p.id, "aaa", 1, 0);
    a1.title = "ValueError: bad input".into();
    a1.search = ["ValueError: bad input".into(), "app.views in index".into(), "bad input".into(), "views.py".into()];
    a1.release = Some("1.0".into());
    a1.environment = Some("production".into());
    a1.tags = vec![
        ("level".into(), "error".into()),
        ("browser".into(), "Firefox 120".into()),
        ("environment".into(), "production".into()),
        ("release".into(), "1.0".into()),
        ("user".into(), "id:1".into()),
    ];
    let mut a2 = a1.clone();
    a2.event_id = Uuid::from_u128(2);
    a2.received_at = base().plus_secs(10);
    a2.tags[4] = ("user".into(), "id:2".into());
    let mut b = ev(p.id, "bbb", 3, 20);
    b.title = "KeyError: 'user'".into();
    b.search = ["KeyError: 'user'".into(), "app.models in load".into(), String::new(), "models.py".into()];
    b.level = 3;
    b.tags = vec![
        ("level".into(), "warning".into()),
        ("environment".into(), "staging".into()),
        ("release".into(), "2.0".into()),
        ("user".into(), "id:1".into()),
    ];
    let mut b2 = b.clone();
    b2.event_id = Uuid::from_u128(4);
    b2.received_at = base().plus_secs(30);
    let mut b3 = b.clone();
    b3.event_id = Uuid::from_u128(5);
    b3.received_at = base().plus_secs(40);
    let mut c = ev(p.id, "ccc", 6, 50);
    c.title = "Info message".into();
    c.level = 2;
    c.search = ["Info message".into(), String::new(), "just saying".into(), String::new()];
    c.tags = vec![
        ("level".into(), "info".into()),
        ("environment".into(), "production".into()),
        ("server_name".into(), "web 1".into()),
    ];
    let mut d = ev(other.id, "ddd", 7, 60);
    d.title = "ValueError: elsewhere".into();
    d.search = ["ValueError: elsewhere".into(), String::new(), String::new(), String::new()];
    d.tags = vec![("level".into(), "error".into()), ("browser".into(), "Firefox 120".into())];
    let issues = write(store, vec![a1, a2, b, b2, b3, c, d]).await;
    (p, other, [issues[0], issues[1], issues[2]])
}

pub async fn search_operators_negation_and_text(store: &Store) {
    let (p, other, [a, b, _c]) = seed_search(store).await;
    let org = p.organization_id;
    let all = ["Info message", "KeyError: 'user'", "ValueError: bad input"];
    assert_eq!(titles(store, &filter(org, "")).await, all, "another organization's issue never shows");
    assert_eq!(titles(store, &filter(org, "is:unresolved")).await, all);
    assert_eq!(titles(store, &filter(org, "level:error")).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "level:warning")).await, ["KeyError: 'user'"]);
    assert_eq!(titles(store, &filter(org, "!level:info")).await, ["KeyError: 'user'", "ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "has:browser")).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "!has:browser")).await, ["Info message", "KeyError: 'user'"]);
    assert_eq!(titles(store, &filter(org, r#"browser:"Firefox 120""#)).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, r#"server_name:"web 1""#)).await, ["Info message"]);
    assert_eq!(titles(store, &filter(org, "release:1.0")).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "!release:1.0")).await, ["Info message", "KeyError: 'user'"]);
    assert_eq!(titles(store, &filter(org, "environment:staging")).await, ["KeyError: 'user'"]);
    assert_eq!(titles(store, &filter(org, "environment:production level:info")).await, ["Info message"]);
    let mut envs = filter(org, "");
    envs.environments = vec!["production".into()];
    assert_eq!(titles(store, &envs).await, ["Info message", "ValueError: bad input"]);

    // Status.
    store.set_issues_status(&[b], issue_status::RESOLVED).await.unwrap();
    assert_eq!(titles(store, &filter(org, "is:resolved")).await, ["KeyError: 'user'"]);
    assert_eq!(titles(store, &filter(org, "is:unresolved")).await, ["Info message", "ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "!is:resolved")).await, ["Info message", "ValueError: bad input"]);
    assert!(titles(store, &filter(org, "is:ignored")).await.is_empty());

    // Free text through the full-text index.
    assert_eq!(titles(store, &filter(org, "ValueError")).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "valueerror input")).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "views.py")).await, ["ValueError: bad input"]);
    assert_eq!(titles(store, &filter(org, "level:error bad")).await, ["ValueError: bad input"]);
    assert!(titles(store, &filter(org, "level:info bad")).await.is_empty());
    assert!(titles(store, &filter(org, "nothing-like-this")).await.is_empty());
    assert_eq!(titles(store, &filter(org, "Key*")).await, ["KeyError: 'user'"], "wildcards match titles");
    // FTS syntax in user input is inert, not an error.
    for nasty in [r#""bad" OR * NEAR("#, "a:b:c \"", "(((", "' OR 1=1 --", "*", "-", "NOT"] {
        let f = IssueFilter {
            query: SearchQuery { text: Some(nasty.into()), ..SearchQuery::default() },
            ..IssueFilter::organization(org)
        };
        store.search_issues(&f, IssueSort::default(), 0, 10).await.unwrap_or_else(|e| panic!("{nasty:?}: {e}"));
        store.count_issues(&f).await.unwrap();
    }

    // An event id finds its issue, within the organization only.
    let hit = filter(org, &Uuid::from_u128(2).simple().to_string());
    assert_eq!(store.search_issues(&hit, IssueSort::default(), 0, 10).await.unwrap()[0].issue.id, a);
    let hyphenated = filter(org, &Uuid::from_u128(2).hyphenated().to_string());
    assert_eq!(store.count_issues(&hyphenated).await.unwrap(), 1);
    assert_eq!(store.count_issues(&filter(org, &Uuid::from_u128(7).simple().to_string())).await.unwrap(), 0);
    assert_eq!(
        store.count_issues(&filter(other.organization_id, &Uuid::from_u128(7).simple().to_string())).await.unwrap(),
        1
    );

    // Project and id filters.
    let mut by_project = filter(org, "");
    by_project.projects = vec![other.id];
    assert!(titles(store, &by_project).await.is_empty(), "a project of another organization selects nothing");
    by_project.projects = vec![p.id];
    assert_eq!(titles(store, &by_project).await.len(), 3);
    let mut by_id = filter(org, "");
    by_id.ids = vec![a, b];
    assert_eq!(titles(store, &by_id).await, ["KeyError: 'user'", "ValueError: bad input"]);

    // First-seen window.
    let mut window = filter(org, "");
    window.first_seen_from = Some(base().plus_secs(15));
    window.first_seen_to = Some(base().plus_secs(45));
    assert_eq!(titles(store, &window).await, ["KeyError: 'user'"]);
}

pub async fn sorts_pages_and_counts(store: &Store) {
    let (p, _, [a, b, c]) = seed_search(store).await;
    let org = p.organization_id;
    let f = filter(org, "");
    let order = |sort: &str| {
        let f = f.clone();
        let sort = IssueSort::parse(sort).unwrap();
        async move {
            store.search_issues(&f, sort, 0, 10).await.unwrap().into_iter().map(|r| r.issue.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(order("date").await, [c, b, a], "last seen, newest first");
    assert_eq!(order("-last_seen").await, [c, b, a]);
    assert_eq!(order("last_seen").await, [a, b, c]);
    assert_eq!(order("new").await, [c, b, a]);
    assert_eq!(order("first_seen").await, [a, b, c]);
    assert_eq!(order("freq").await, [b, a, c], "3, 2 and 1 events");
    assert_eq!(order("count").await, [c, a, b]);
    assert_eq!(order("user").await, [a, b, c], "2, 1 and 0 users");
    assert_eq!(order("priority").await, [b, a, c]);
    assert_eq!(order("+priority").await, [c, a, b]);

    // Pages.
    let sort = IssueSort { key: IssueSortKey::Count, descending: true };
    let page1 = store.search_issues(&f, sort, 0, 2).await.unwrap();
    let page2 = store.search_issues(&f, sort, 2, 2).await.unwrap();
    assert_eq!(page1.iter().chain(&page2).map(|r| r.issue.id).collect::<Vec<_>>(), [b, a, c]);
    let prio = IssueSort::parse("priority").unwrap();
    assert_eq!(store.search_issues(&f, prio, 1, 1).await.unwrap()[0].issue.id, a);
    assert_eq!(store.count_issues(&f).await.unwrap(), 3);
    assert_eq!(store.count_issues(&filter(org, "!level:info")).await.unwrap(), 2);
    let mut matching = store.matching_issues(&f).await.unwrap();
    matching.sort();
    assert_eq!(matching, vec![(a, p.id), (b, p.id), (c, p.id)]);
    assert_eq!(store.issue_rows(&[c, IssueId(999_999), a]).await.unwrap().len(), 2);
    assert_eq!(store.issue_organization_slug(a).await.unwrap().as_deref(), Some("acme"));
    assert_eq!(store.issue_organization_slug(IssueId(999_999)).await.unwrap(), None);
}

pub async fn triage_delete_and_assignment(store: &Store) {
    let (p, _, [a, b, c]) = seed_search(store).await;
    let org = p.organization_id;
    assert_eq!(store.set_issues_status(&[a, b], issue_status::RESOLVED).await.unwrap(), 2);
    assert!(store.issue(a).await.unwrap().resolved_at.is_some());
    assert_eq!(store.set_issues_status(&[a], issue_status::IGNORED).await.unwrap(), 1);
    let a_issue = store.issue(a).await.unwrap();
    assert_eq!((a_issue.status, a_issue.resolved_at), (issue_status::IGNORED, None));

    // Assignment and the searches on it.
    let ada = store.create_user(&NewUser { email: "Ada@example.com".into(), ..NewUser::default() }).await.unwrap();
    store.assign_issue(a, Some(ada.id)).await.unwrap();
    assert_eq!(store.issue_row(a).await.unwrap().assigned_to_id, Some(ada.id));
    assert_eq!(store.count_issues(&filter(org, "is:assigned")).await.unwrap(), 1);
    assert_eq!(store.count_issues(&filter(org, "is:unassigned")).await.unwrap(), 2);
    assert_eq!(store.count_issues(&filter(org, "assigned:ada@example.com")).await.unwrap(), 1);
    let mut me = filter(org, "assigned:me");
    assert_eq!(store.count_issues(&me).await.unwrap(), 0, "no viewer, nobody is me");
    me.viewer = Some(ada.id);
    assert_eq!(store.count_issues(&me).await.unwrap(), 1);
    store.assign_issue(a, None).await.unwrap();
    assert_eq!(store.count_issues(&filter(org, "is:assigned")).await.unwrap(), 0);
    store.set_issue_public(a, true).await.unwrap();
    assert!(store.issue(a).await.unwrap().is_public);

    // Deletion takes events, hashes and tags along; the hash starts a new issue.
    assert_eq!(store.delete_issues(&[b, c]).await.unwrap(), 2);
    assert!(matches!(store.issue(b).await, Err(StoreError::NotFound)));
    assert_eq!(store.issue_event_count(b).await.unwrap(), 0);
    assert!(store.issue_tag_summary(b, None, 10).await.unwrap().is_empty());
    assert_eq!(store.count_issues(&filter(org, "")).await.unwrap(), 1);
    assert_eq!(store.count_issues(&filter(org, "KeyError")).await.unwrap(), 0, "gone from the full-text index");
    assert!(matches!(store.assign_issue(b, None).await, Err(StoreError::NotFound)));
    let fresh = write(store, vec![ev(p.id, "bbb", 100, 100)]).await;
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0], b);
}

pub async fn comments_crud_and_counts(store: &Store) {
    let (_, _, [a, b, _]) = seed_search(store).await;
    let ada = store
        .create_user(&NewUser { email: "ada@example.com".into(), name: "Ada".into(), ..NewUser::default() })
        .await
        .unwrap();
    let first = store.add_comment(a, ada.id, "first").await.unwrap();
    assert_eq!(
        (first.text.as_str(), first.user_email.as_deref(), first.user_id),
        ("first", Some("ada@example.com"), Some(ada.id))
    );
    let second = store.add_comment(a, ada.id, "second").await.unwrap();
    store.add_comment(b, ada.id, "on b").await.unwrap();
    let listed = store.issue_comments(a, 0, 10).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [second.id, first.id], "newest first");
    let edited = store.update_comment(a, first.id, "edited").await.unwrap();
    assert_eq!(edited.text, "edited");
    assert!(edited.updated_at >= edited.created_at);
    assert!(matches!(store.update_comment(b, first.id, "x").await, Err(StoreError::NotFound)), "scoped to its issue");
    let counts = store.comment_counts(&[a, b]).await.unwrap();
    assert_eq!((counts[&a], counts[&b]), (2, 1));
    assert_eq!(store.move_comments(&[b], a).await.unwrap(), 1);
    assert_eq!(store.comment_counts(&[a, b]).await.unwrap().get(&b), None);
    store.delete_comment(a, second.id).await.unwrap();
    assert!(matches!(store.delete_comment(a, second.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.issue_comments(a, 0, 10).await.unwrap().len(), 2);
}

pub async fn tags_releases_and_users(store: &Store) {
    let (p, _, [a, b, c]) = seed_search(store).await;
    let summary = store.issue_tag_summary(a, None, 10).await.unwrap();
    let keys: Vec<&str> = summary.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["browser", "environment", "level", "release", "user"]);
    let user = summary.iter().find(|s| s.key == "user").unwrap();
    assert_eq!((user.total_values, user.unique_values, user.top_values.len()), (2, 2, 2));
    let level = &store.issue_tag_summary(a, Some("level"), 10).await.unwrap()[0];
    assert_eq!(
        (level.total_values, level.top_values[0].value.as_str(), level.top_values[0].times_seen),
        (2, "error", 2)
    );
    assert_eq!(
        store.issue_tag_summary(a, None, 1).await.unwrap().iter().find(|s| s.key == "user").unwrap().top_values.len(),
        1
    );
    let (values, total) = store.issue_tag_value_page(a, "user", 1, 10).await.unwrap();
    assert_eq!((values.len(), total), (1, 2));

    let users = store.issue_user_counts(&[a, b, c]).await.unwrap();
    assert_eq!((users[&a], users[&b], users.get(&c)), (2, 1, None));
    let picks = store.issue_top_tag_values(&[a, c], &["level", "server_name"]).await.unwrap();
    assert_eq!(picks[&(a, "level".to_string())], "error");
    assert_eq!(picks[&(c, "server_name".to_string())], "web 1");
    assert!(!picks.contains_key(&(a, "server_name".to_string())));

    let (first, last) = store.issue_first_last_release(a).await.unwrap();
    let first = first.unwrap();
    assert_eq!(first.version, "1.0");
    assert!(first.created_at.is_some(), "the release row was created on sight");
    assert_eq!(last.unwrap().version, "1.0");
    assert_eq!(store.issue_first_last_release(c).await.unwrap(), (None, None));

    let keys = store.organization_tag_keys(p.organization_id, None).await.unwrap();
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(names, ["browser", "environment", "level", "release", "server_name", "user"]);
    let level = keys.iter().find(|k| k.key == "level").unwrap();
    assert_eq!((level.total_values, level.unique_values), (6, 3));
    assert!(store
        .organization_tag_keys(p.organization_id, Some(Timestamp::now().plus_secs(60)))
        .await
        .unwrap()
        .is_empty());
}

pub async fn events_pages_edges_and_neighbours(store: &Store) {
    let p = project(store, "acme", "web").await;
    let events: Vec<NewEvent> = (0..5u128).map(|i| ev(p.id, "aaa", i + 1, i as i64 * 10)).collect();
    let mut tie = ev(p.id, "aaa", 6, 40);
    tie.hashes = vec!["aaa".into(), "zzz".into()];
    tie.payload = compress_payload(br#"{"hashes": ["aaa", "zzz"]}"#);
    let mut all = events;
    all.push(tie);
    let issue = write(store, all).await[0];
    let page = store.issue_event_page(issue, 0, 3).await.unwrap();
    let ids: Vec<Uuid> = page.iter().map(|e| e.event.event_id).collect();
    assert_eq!(ids, [Uuid::from_u128(6), Uuid::from_u128(5), Uuid::from_u128(4)], "newest first, ties by row");
    assert_eq!(store.issue_event_page(issue, 3, 10).await.unwrap().len(), 3);
    assert_eq!(store.issue_event_count(issue).await.unwrap(), 6);
    let latest = store.issue_edge_event(issue, true).await.unwrap().unwrap();
    let oldest = store.issue_edge_event(issue, false).await.unwrap().unwrap();
    assert_eq!((latest.event.event_id, oldest.event.event_id), (Uuid::from_u128(6), Uuid::from_u128(1)));
    assert_eq!(store.event_neighbours(&latest).await.unwrap(), (Some(Uuid::from_u128(5)), None));
    assert_eq!(store.event_neighbours(&oldest).await.unwrap(), (None, Some(Uuid::from_u128(2))));
    let middle = store.issue_event(issue, p.id, Uuid::from_u128(3)).await.unwrap().unwrap();
    assert_eq!(store.event_neighbours(&middle).await.unwrap(), (Some(Uuid::from_u128(2)), Some(Uuid::from_u128(4))));
    let tied = store.issue_event(issue, p.id, Uuid::from_u128(5)).await.unwrap().unwrap();
    assert_eq!(store.event_neighbours(&tied).await.unwrap(), (Some(Uuid::from_u128(4)), Some(Uuid::from_u128(6))));
    assert!(store.issue_event(IssueId(issue.0 + 1000), p.id, Uuid::from_u128(3)).await.unwrap().is_none());
    assert!(store.project_event(p.id, Uuid::from_u128(3)).await.unwrap().is_some());
    assert_eq!(store.project_event_page(p.id, 0, 2).await.unwrap()[0].event.event_id, Uuid::from_u128(6));

    // The newest event of each hash.
    let hashes = store.issue_hash_rows(issue).await.unwrap();
    assert_eq!(hashes.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), ["aaa", "zzz"]);
    let wanted = vec!["aaa".to_string(), "zzz".to_string(), "nope".to_string()];
    let latest_by_hash = store.latest_events_by_hash(issue, &wanted, 100).await.unwrap();
    assert_eq!(latest_by_hash["aaa"].event.event_id, Uuid::from_u128(6));
    assert_eq!(latest_by_hash["zzz"].event.event_id, Uuid::from_u128(6));
    assert!(!latest_by_hash.contains_key("nope"));
}

pub async fn user_reports_and_statistics(store: &Store) {
    let (p, other, [a, b, _]) = seed_search(store).await;
    let org = p.organization_id;
    // A report about event 1 (issue A).
    let items = vec![NewQueued { project_id: p.id, received_at: Timestamp::now(), meta: "{}".into(), payload: vec![] }];
    store.enqueue(&items, None).await.unwrap();
    let q = store.claim_queued(1, Duration::from_secs(60)).await.unwrap();
    let report = NewUserReport {
        queue_id: q[0].id,
        project_id: p.id,
        event_id: Uuid::from_u128(1),
        name: "Ada".into(),
        email: "ada@example.com".into(),
        comments: "It broke".into(),
        created_at: Timestamp::now(),
    };
    store
        .write_batch(&DigestBatch { queue_ids: vec![q[0].id], user_reports: vec![report], ..DigestBatch::default() })
        .await
        .unwrap();
    let found = store.event_user_report(p.id, Uuid::from_u128(1)).await.unwrap().unwrap();
    assert_eq!((found.issue_id, found.comments.as_str()), (Some(a), "It broke"));
    assert!(store.event_user_report(p.id, Uuid::from_u128(2)).await.unwrap().is_none());
    assert_eq!(store.issue_user_report_page(a, 0, 10).await.unwrap().1, 1);
    assert_eq!(store.issue_user_report_page(b, 0, 10).await.unwrap().1, 0);
    let (reports, total) = store.project_user_report_page(p.id, 0, 10).await.unwrap();
    assert_eq!((reports.len(), total), (1, 1));

    // Hourly statistics.
    let hour = base().hour_bucket();
    let since = hour.plus_secs(-3600);
    let hourly = store.issues_hourly_counts(&[a, b], since).await.unwrap();
    assert_eq!(hourly[&a], vec![(hour, 2)]);
    assert_eq!(hourly[&b], vec![(hour, 3)]);
    let to = Timestamp::now().plus_secs(3600);
    assert_eq!(store.filtered_hourly_counts(&filter(org, ""), since, to).await.unwrap(), vec![(hour, 6)]);
    assert_eq!(store.filtered_hourly_counts(&filter(org, "level:warning"), since, to).await.unwrap(), vec![(hour, 3)]);
    assert!(store.filtered_hourly_counts(&filter(org, ""), hour.plus_secs(3600), to).await.unwrap().is_empty());
    let projects = store.project_hourly_counts(org, &[], 0, since, to).await.unwrap();
    assert_eq!(projects, vec![(p.id, hour, 6)]);
    assert!(store.project_hourly_counts(org, &[other.id], 0, since, to).await.unwrap().is_empty());
    assert!(store.project_hourly_counts(org, &[], 1, since, to).await.unwrap().is_empty());
}
