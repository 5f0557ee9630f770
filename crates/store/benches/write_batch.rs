//! What storing a digested batch costs: batches of 1,000 events of the load generator's
//! shape (a 2.4 KB compressed payload, 12 tags, spread over 50 issues) written with
//! `Store::write_batch` to a SQLite file, the spool consumed as in the server.
//! Run: `cargo bench -p faultline-store --bench write_batch`.
//! With `TEST_DATABASE_URL` set, PostgreSQL is measured too.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faultline_store::testing::{TestBackend, TestDb};
use faultline_store::{DigestBatch, NewEvent, NewProject, NewQueued, ProjectId, Store, Timestamp};

const BATCH: usize = 1000;

fn payload(seed: u64) -> Vec<u8> {
    // Compressed event JSON is close to random bytes.
    let mut x = seed | 1;
    (0..2400)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn setup(backend: TestBackend) -> Option<(TestDb, ProjectId)> {
    let db = TestDb::new(backend).await?;
    let org = db.store.create_organization("Bench", "bench").await.unwrap();
    let project = db
        .store
        .create_project(&NewProject {
            organization_id: org.id,
            name: "Load".into(),
            slug: "load".into(),
            platform: None,
        })
        .await
        .unwrap();
    Some((db, project.id))
}

/// Spools, claims and writes one batch; returns the time spent in `write_batch`.
async fn one_batch(store: &Store, project: ProjectId, n: &mut u128) -> Duration {
    let rows: Vec<NewQueued> = (0..BATCH)
        .map(|_| NewQueued {
            project_id: project,
            received_at: Timestamp::now(),
            meta: "{}".into(),
            payload: payload(7),
        })
        .collect();
    let ids = store.enqueue(&rows, Some(Duration::from_secs(60))).await.unwrap();
    let events = ids
        .iter()
        .map(|id| {
            *n += 1;
            let issue = (*n % 50) as usize;
            NewEvent {
                queue_id: *id,
                project_id: project,
                event_id: uuid::Uuid::new_v4(),
                timestamp: Timestamp::now(),
                received_at: Timestamp::now(),
                level: 4,
                ty: 1,
                title: format!("ValueError: bad input {issue}"),
                culprit: format!("shop.module_{issue} in handle"),
                metadata: r#"{"type":"ValueError","value":"bad input"}"#.into(),
                hashes: vec![format!("{issue:032x}")],
                release: Some("shop@2.4.1".into()),
                environment: Some(if *n % 5 == 0 { "staging" } else { "production" }.into()),
                tags: [
                    ("level", "error".to_string()),
                    ("environment", "production".into()),
                    ("release", "shop@2.4.1".into()),
                    ("server_name", format!("web-{}", *n % 4)),
                    ("browser", "Chrome 120.0.0".into()),
                    ("browser.name", "Chrome".into()),
                    ("os", "Windows 10".into()),
                    ("os.name", "Windows".into()),
                    ("user", format!("id:{}", *n % 5000)),
                    ("url", format!("https://shop.example.com/api/checkout/{issue}/")),
                    ("transaction", format!("/api/checkout/{issue}/")),
                    ("handled", "no".into()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
                payload: payload(*n as u64),
                search: [String::new(), String::new(), String::new(), String::new()],
            }
        })
        .collect();
    let batch = DigestBatch { queue_ids: ids, events, ..DigestBatch::default() };
    let started = Instant::now();
    store.write_batch(&batch).await.unwrap();
    started.elapsed()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("write_batch");
    group.throughput(Throughput::Elements(BATCH as u64)).sample_size(20);
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let Some((db, project)) = rt.block_on(setup(backend)) else { continue };
        // As the server does: checkpoints beside the writer.
        let store = db.store.clone();
        rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if store.checkpoint().await.is_err() {
                    return;
                }
            }
        });
        let mut n = 0u128;
        // A store that already holds events, as a running one does.
        for _ in 0..40 {
            rt.block_on(one_batch(&db.store, project, &mut n));
        }
        group.bench_function(format!("{backend:?}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += one_batch(&db.store, project, &mut n).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(write_batch, benches);
criterion_main!(write_batch);
