//! Which zstd dictionary each project's events are compressed with, and training one
//! for a project that has none yet (`store::dictionary` explains the format).
//!
//! A project without a dictionary has a sample of its events kept in memory: the
//! first [`READY_EVENTS`] of them, or up to [`MAX_EVENTS`] when they are small. Then
//! a dictionary is trained on its own thread, stored, and used from the next batch on
//! (the project's settings name it). Samples of all projects together stay under
//! [`BUDGET`]; when it is full, the project that has gone longest without an event
//! gives up its samples. Worker processes sample and train each on their own; the
//! newest dictionary of a project is used, and every one stays readable.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use faultline_store::{train_dictionary, DigestSettings, EventDictionary, ProjectId, Store};

use super::pool::{run_alone, Priority};

/// A project's dictionary is trained once this many events are sampled, if they add
/// up to [`READY_BYTES`]; zstd suggests about a hundred times the dictionary's size.
const READY_EVENTS: usize = 128;
const READY_BYTES: usize = 1024 * 1024;
/// Past this many events a dictionary is trained however small they are.
const MAX_EVENTS: usize = 1024;
/// Only the start of a longer event is sampled.
const MAX_SAMPLE: usize = 64 * 1024;
/// Memory for the samples of all projects together.
const BUDGET: usize = 16 * 1024 * 1024;
/// Prepared dictionaries kept; past that the cache starts over (each is reloaded
/// from the store when next needed).
const KEEP_PREPARED: usize = 256;

struct Samples {
    events: Vec<Vec<u8>>,
    bytes: usize,
    last: Instant,
}

/// The digest loop's dictionaries. One per process; only the loop touches it.
#[derive(Default)]
pub(crate) struct Dictionaries {
    prepared: HashMap<i64, Arc<EventDictionary>>,
    samples: HashMap<ProjectId, Samples>,
    sampled_bytes: usize,
    /// Projects whose dictionary is being trained.
    training: Arc<Mutex<HashSet<ProjectId>>>,
    /// Projects for which training failed: not tried again until a restart.
    failed: Arc<Mutex<HashSet<ProjectId>>>,
}

/// What a batch compresses with.
#[derive(Default)]
pub(crate) struct ForBatch {
    /// The dictionary of each project that has one.
    pub dictionaries: HashMap<ProjectId, Arc<EventDictionary>>,
    /// Projects whose events should be sampled.
    pub sample: HashSet<ProjectId>,
}

impl Dictionaries {
    /// The dictionaries of a batch's projects (read from the store the first time),
    /// and which of its projects to sample.
    pub(crate) async fn for_batch(&mut self, store: &Store, settings: &HashMap<ProjectId, DigestSettings>) -> ForBatch {
        let mut out = ForBatch::default();
        for (project, s) in settings {
            let Some(id) = s.dictionary_id else {
                let busy = lock(&self.training).contains(project) || lock(&self.failed).contains(project);
                if !busy {
                    out.sample.insert(*project);
                }
                continue;
            };
            // Trained and stored: its samples are no longer needed.
            if let Some(done) = self.samples.remove(project) {
                self.sampled_bytes -= done.bytes;
            }
            if !self.prepared.contains_key(&id) {
                match store.event_dictionary(id).await {
                    Ok(Some(bytes)) => {
                        if self.prepared.len() >= KEEP_PREPARED {
                            self.prepared.clear();
                        }
                        self.prepared.insert(id, Arc::new(EventDictionary::new(id, &bytes)));
                    }
                    // Compressed without one, as before it was trained.
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, project = %project, "cannot read the project's dictionary");
                        continue;
                    }
                }
            }
            out.dictionaries.insert(*project, self.prepared[&id].clone());
        }
        out
    }

    /// Keeps a batch's samples, and starts training for projects that have enough.
    pub(crate) fn add_samples(&mut self, store: &Store, samples: Vec<(ProjectId, Vec<u8>)>) {
        let now = Instant::now();
        for (project, mut event) in samples {
            event.truncate(MAX_SAMPLE);
            // The rest of a batch that completed a project's samples.
            if lock(&self.training).contains(&project) {
                continue;
            }
            if !self.samples.contains_key(&project) && !self.make_room(event.len()) {
                continue;
            }
            let entry =
                self.samples.entry(project).or_insert_with(|| Samples { events: Vec::new(), bytes: 0, last: now });
            // A batch may carry more of a project's events than it still needs.
            let ready = |s: &Samples| {
                s.events.len() >= MAX_EVENTS || (s.events.len() >= READY_EVENTS && s.bytes >= READY_BYTES)
            };
            if ready(entry) || self.sampled_bytes + event.len() > BUDGET {
                continue;
            }
            entry.bytes += event.len();
            entry.last = now;
            self.sampled_bytes += event.len();
            entry.events.push(event);
            if ready(entry) {
                let done = self.samples.remove(&project).expect("just sampled");
                self.sampled_bytes -= done.bytes;
                self.train(store, project, done.events);
            }
        }
    }

    /// Frees room for a new project's samples by dropping those of the project that
    /// has gone longest without an event. False if there is no room to make.
    fn make_room(&mut self, needed: usize) -> bool {
        while self.sampled_bytes + needed > BUDGET {
            let Some(oldest) = self.samples.iter().min_by_key(|(_, s)| s.last).map(|(p, _)| *p) else {
                return false;
            };
            let dropped = self.samples.remove(&oldest).expect("just found");
            self.sampled_bytes -= dropped.bytes;
        }
        true
    }

    fn train(&self, store: &Store, project: ProjectId, events: Vec<Vec<u8>>) {
        lock(&self.training).insert(project);
        let (store, training, failed) = (store.clone(), self.training.clone(), self.failed.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let (count, bytes) = (events.len(), events.iter().map(Vec::len).sum::<usize>());
            // Below requests' priority, but not idle: under full load it must finish.
            let trained = run_alone("faultline-dictionary", Priority::Low, move || train_dictionary(&events)).await;
            let stored = match trained {
                Ok(Ok(trained)) => store.add_event_dictionary(project, &trained).await.map_err(|e| e.to_string()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e),
            };
            match stored {
                Ok(id) => tracing::info!(
                    project = %project,
                    dictionary = id,
                    samples = count,
                    sample_bytes = bytes,
                    ms = started.elapsed().as_millis() as u64,
                    "trained an event dictionary"
                ),
                Err(e) => {
                    tracing::warn!(project = %project, error = %e, "cannot train an event dictionary; its events stay compressed without one");
                    lock(&failed).insert(project);
                }
            }
            lock(&training).remove(&project);
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_store::{testing::TestDb, NewProject};

    fn event(i: usize, padding: usize) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "message": format!("cache miss for user {i} in region eu-{}", i % 4),
            "exception": {"values": [{"type": "KeyError", "stacktrace": {"frames": [
                {"filename": "app/cache.py", "function": "lookup", "lineno": 10 + i % 7},
            ]}}]},
            "extra": {"padding": "x".repeat(padding)},
        }))
        .unwrap()
    }

    async fn project(store: &Store, slug: &str) -> ProjectId {
        let org = match store.create_organization("Acme", "acme").await {
            Ok(org) => org.id,
            Err(_) => store.organization_by_slug("acme").await.unwrap().unwrap().id,
        };
        let p = NewProject { organization_id: org, name: slug.into(), slug: slug.into(), platform: None };
        store.create_project(&p).await.unwrap().id
    }

    async fn settings(store: &Store, projects: &[ProjectId]) -> HashMap<ProjectId, DigestSettings> {
        store.digest_settings(projects).await.unwrap().into_iter().map(|s| (s.project_id, s)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn projects_are_sampled_then_trained_for() {
        let db = TestDb::sqlite().await;
        let store = &db.store;
        let (big, small) = (project(store, "big").await, project(store, "small").await);
        let mut dictionaries = Dictionaries::default();

        let batch = dictionaries.for_batch(store, &settings(store, &[big, small]).await).await;
        assert!(batch.dictionaries.is_empty());
        assert_eq!(batch.sample, HashSet::from([big, small]), "projects without a dictionary are sampled");

        // 10 KB events: ready after 128 of them (1.3 MB). Small ones: not yet.
        let samples = (0..127).map(|i| (big, event(i, 10_000))).chain((0..200).map(|i| (small, event(i, 0))));
        dictionaries.add_samples(store, samples.collect());
        assert!(lock(&dictionaries.training).is_empty());
        assert_eq!(dictionaries.samples[&big].events.len(), 127);
        dictionaries.add_samples(store, vec![(big, event(127, 10_000)), (big, event(128, 10_000))]);
        assert!(!dictionaries.samples.contains_key(&big), "the samples went to training");
        assert!(lock(&dictionaries.training).contains(&big));
        let batch = dictionaries.for_batch(store, &settings(store, &[big]).await).await;
        assert!(batch.sample.is_empty(), "a project being trained for is not sampled");

        let mut trained = None;
        for _ in 0..600 {
            trained = settings(store, &[big]).await[&big].dictionary_id;
            if trained.is_some() && lock(&dictionaries.training).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let id = trained.expect("a dictionary was trained and stored");
        let batch = dictionaries.for_batch(store, &settings(store, &[big, small]).await).await;
        assert_eq!(batch.dictionaries[&big].id(), id);
        assert_eq!(batch.sample, HashSet::from([small]));
        let json: serde_json::Value = serde_json::from_slice(&event(5000, 10_000)).unwrap();
        let with = faultline_store::compress_json(&json, Some(&batch.dictionaries[&big]));
        let without = faultline_store::compress_json(&json, None);
        assert!(with.len() < without.len(), "{} against {} B", with.len(), without.len());

        // Small events are trained on once there are MAX_EVENTS of them.
        dictionaries.add_samples(store, (200..MAX_EVENTS).map(|i| (small, event(i, 0))).collect());
        assert!(lock(&dictionaries.training).contains(&small));
        assert_eq!(dictionaries.sampled_bytes, 0);
    }

    #[test]
    fn the_budget_evicts_the_quietest_project() {
        let mut d = Dictionaries::default();
        let now = Instant::now();
        let (a, b) = (ProjectId(1), ProjectId(2));
        d.samples.insert(a, Samples { events: vec![vec![0; BUDGET / 2]], bytes: BUDGET / 2, last: now });
        let later = now + std::time::Duration::from_secs(1);
        d.samples.insert(b, Samples { events: vec![vec![0; BUDGET / 4]], bytes: BUDGET / 4, last: later });
        d.sampled_bytes = BUDGET / 2 + BUDGET / 4;
        assert!(d.make_room(BUDGET / 8), "room left without evicting");
        assert_eq!(d.samples.len(), 2);
        assert!(d.make_room(BUDGET / 3));
        assert!(!d.samples.contains_key(&a) && d.samples.contains_key(&b), "the project quiet the longest gave way");
        assert_eq!(d.sampled_bytes, BUDGET / 4);
        assert!(!d.make_room(BUDGET * 2), "nothing left to evict");
    }
}
