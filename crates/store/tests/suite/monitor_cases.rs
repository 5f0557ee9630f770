//! Uptime monitor cases: claiming, check recording with rollups and transitions,
//! retention and the lease.

use std::time::Duration;

use faultline_store::{CheckResult, NewMonitor, Store, StoreError, Timestamp};

fn http_monitor(name: &str) -> NewMonitor {
    NewMonitor {
        project_id: None,
        environment: None,
        name: name.into(),
        monitor_type: "GET".into(),
        kind: "http".into(),
        url: "http://127.0.0.1:9/health".into(),
        method: "GET".into(),
        headers: "[]".into(),
        body: None,
        accepted_status: "200-299".into(),
        keyword: None,
        keyword_absent: false,
        follow_redirects: true,
        verify_tls: true,
        interval_s: 60,
        timeout_s: 10,
        retry_interval_s: 20,
        failure_threshold: 2,
        recovery_threshold: 1,
        tls_warn_days: 14,
        paused: false,
    }
}

fn secs(s: i64) -> Timestamp {
    Timestamp::from_micros(s * 1_000_000)
}

fn result(monitor_id: i64, at: i64, up: bool, health: &str, transition: Option<&str>) -> CheckResult {
    CheckResult {
        monitor_id,
        checked_at: secs(at),
        is_up: up,
        reason: (!up).then_some(2),
        response_ms: Some(if up { 100 } else { 300 }),
        data: None,
        health: health.into(),
        consecutive_failures: i64::from(!up),
        consecutive_successes: i64::from(up),
        next_check_at: None,
        tls_expires_at: None,
        transition: transition.map(String::from),
    }
}

pub async fn monitors_are_claimed_once_per_slot(store: &Store) {
    let org = store.create_organization("Acme", "acme").await.unwrap();
    let other = store.create_organization("Other", "other").await.unwrap();
    let a = store.create_monitor(org.id, &http_monitor("A"), secs(1000)).await.unwrap();
    let b = store.create_monitor(org.id, &http_monitor("B"), secs(1030)).await.unwrap();
    let paused =
        store.create_monitor(org.id, &NewMonitor { paused: true, ..http_monitor("P") }, secs(0)).await.unwrap();
    assert_eq!(a.health, "unknown");
    assert!(matches!(store.monitor(other.id, a.id).await, Err(StoreError::NotFound)));

    let due = store.claim_due_monitors(secs(1010), 100).await.unwrap();
    assert_eq!(due.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(store.claim_due_monitors(secs(1010), 100).await.unwrap().is_empty(), "claimed twice");
    assert_eq!(store.monitor(org.id, a.id).await.unwrap().next_check_at, secs(1060));
    // Far behind: the missed slots are skipped, the phase kept.
    let due = store.claim_due_monitors(secs(1200), 100).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(store.monitor(org.id, a.id).await.unwrap().next_check_at, secs(1240));
    assert_eq!(store.monitor(org.id, b.id).await.unwrap().next_check_at, secs(1210));
    assert!(due.iter().all(|m| m.id != paused.id));

    let key = a.heartbeat_key;
    assert_eq!(store.monitor_by_heartbeat_key(key).await.unwrap().id, a.id);
    let renamed = store.update_monitor(org.id, a.id, &http_monitor("A2")).await.unwrap();
    assert_eq!(renamed.name, "A2");
    assert_eq!(store.monitors(org.id).await.unwrap().len(), 3);
    store.delete_monitor(org.id, b.id).await.unwrap();
    assert!(matches!(store.delete_monitor(org.id, b.id).await, Err(StoreError::NotFound)));
}

pub async fn monitor_checks_roll_up_and_transition(store: &Store) {
    let org = store.create_organization("Acme", "acme").await.unwrap();
    let m = store.create_monitor(org.id, &http_monitor("API"), secs(0)).await.unwrap();
    let base = Timestamp::now().micros() / 1_000_000 / 86400 * 86400;
    store.record_monitor_checks(&[result(m.id, base + 10, true, "up", None)]).await.unwrap();
    store.record_monitor_checks(&[result(m.id, base + 70, false, "pending", None)]).await.unwrap();
    store
        .record_monitor_checks(&[
            result(m.id, base + 80, false, "down", Some("monitor.down")),
            // A monitor deleted meanwhile is skipped, not an error.
            result(i64::MAX, base + 80, true, "up", None),
        ])
        .await
        .unwrap();
    store.record_monitor_checks(&[result(m.id, base + 200, true, "up", Some("monitor.up"))]).await.unwrap();

    let now = store.monitor(org.id, m.id).await.unwrap();
    assert_eq!(now.health, "up");
    assert_eq!(now.health_since, Some(secs(base + 200)));
    assert_eq!(now.last_check_at, Some(secs(base + 200)));

    let checks = store.monitor_checks(m.id, false, None, 10).await.unwrap();
    assert_eq!(checks.len(), 4);
    assert_eq!(checks[0].checked_at, secs(base + 200));
    let changes = store.monitor_checks(m.id, true, None, 10).await.unwrap();
    assert_eq!(changes.iter().map(|c| c.is_up).collect::<Vec<_>>(), vec![true, false]);
    let older = store.monitor_checks(m.id, false, Some(secs(base + 80)), 10).await.unwrap();
    assert_eq!(older.len(), 2);

    let minutes = store.monitor_rollups(m.id, 60, base).await.unwrap();
    assert_eq!(
        minutes.iter().map(|r| (r.bucket - base, r.up_count, r.down_count)).collect::<Vec<_>>(),
        vec![(0, 1, 0), (60, 0, 2), (180, 1, 0)]
    );
    assert_eq!((minutes[1].min_ms, minutes[1].max_ms, minutes[1].total_ms), (Some(300), Some(300), 600));
    let days = store.monitor_rollups(m.id, 86400, base).await.unwrap();
    assert_eq!((days[0].up_count, days[0].down_count, days[0].total_ms), (2, 2, 800));
    let (up, total) = store.monitor_uptime(m.id, secs(base)).await.unwrap();
    assert_eq!((up, total), (2, 4));

    let strip = store.recent_monitor_checks(org.id, secs(base), 3).await.unwrap();
    assert_eq!(strip.len(), 3);

    let transitions = store.monitor_transitions(m.id, 10).await.unwrap();
    assert_eq!(transitions.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(), vec!["monitor.up", "monitor.down"]);
    assert_eq!(transitions[1].reason, "wrong status code");
    assert_eq!(transitions[0].down_since, Some(secs(base + 80)), "the outage began at the down check");
    let pending = store.unalerted_transitions(10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert!(store.mark_transition_alerted(pending[0].id).await.unwrap());
    assert!(!store.mark_transition_alerted(pending[0].id).await.unwrap(), "alerted twice");
    assert_eq!(store.unalerted_transitions(10).await.unwrap().len(), 1);

    // Raw checks expire; day rollups stay.
    store.delete_monitor_checks_before(secs(base + 100)).await.unwrap();
    assert_eq!(store.monitor_checks(m.id, false, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.monitor_rollups(m.id, 86400, base).await.unwrap().len(), 1);
}

pub async fn leases_have_one_holder(store: &Store) {
    let ttl = Duration::from_secs(30);
    assert!(store.try_lease("scheduler", "a", ttl).await.unwrap());
    assert!(!store.try_lease("scheduler", "b", ttl).await.unwrap());
    assert!(store.try_lease("scheduler", "a", ttl).await.unwrap(), "the holder renews");
    // An expired lease passes to another holder.
    assert!(store.try_lease("scheduler", "a", Duration::ZERO).await.unwrap());
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(store.try_lease("scheduler", "b", ttl).await.unwrap());
}

pub async fn advisory_locks_have_one_holder(store: &Store) {
    if store.kind() != faultline_store::DatabaseKind::Postgres {
        assert!(store.try_advisory_lock(7).await.unwrap().is_none());
        return;
    }
    let mut first = store.try_advisory_lock(7).await.unwrap().expect("free lock");
    assert!(store.try_advisory_lock(7).await.unwrap().is_none(), "two holders");
    assert!(first.alive().await);
    drop(first);
    // The holder's connection is closed, so the server releases the lock.
    let mut again = None;
    for _ in 0..50 {
        again = store.try_advisory_lock(7).await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the lock was not released");
}
