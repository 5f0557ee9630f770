//! zstd dictionaries trained on a project's own events.
//!
//! Events of one project share most of their text (frame paths, modules, contexts,
//! keys), which zstd alone finds only within one event. A dictionary trained on a
//! sample of them holds that text once, so each stored event compresses to a
//! fraction of its size without one, and faster (docs/benchmarks.md).
//!
//! A dictionary is stored once per project and never changed: each payload names
//! its dictionary in its zstd frame ([`FRAME_ID_BASE`] + the row's id), so a read
//! finds it whatever dictionaries came after. Payloads compressed before a project
//! had one name none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::payload::{frame_dictionary, LEVEL};
use crate::{ProjectId, Result, Store, StoreError, StoredEvent, Timestamp};

/// Frame dictionary ids are this plus the dictionary's row id. zstd's format reserves
/// the ids below 32,768 for dictionaries registered publicly.
pub const FRAME_ID_BASE: u32 = 1 << 15;

/// Largest dictionary trained: zstd's own default size, about what the text events
/// of a project share.
const DICTIONARY_SIZE: usize = 16 * 1024;

/// Decoder dictionaries a store keeps at most; past that it starts over.
const KEEP_DECODERS: usize = 256;

/// A project's dictionary, ready to compress with.
pub struct EventDictionary {
    id: i64,
    cdict: EncoderDictionary<'static>,
}

impl EventDictionary {
    /// Prepares a stored dictionary (its bytes as [`Store::event_dictionary`] returns
    /// them) for compression.
    pub fn new(id: i64, bytes: &[u8]) -> EventDictionary {
        EventDictionary { id, cdict: EncoderDictionary::copy(bytes, LEVEL) }
    }

    /// The dictionary's row id.
    pub fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn cdict(&self) -> &zstd::zstd_safe::CDict<'static> {
        self.cdict.as_cdict()
    }
}

impl std::fmt::Debug for EventDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDictionary").field("id", &self.id).finish()
    }
}

/// A dictionary ready to decompress with, attached to the stored events whose
/// frames name it.
#[derive(Clone)]
pub struct PayloadDictionary {
    frame_id: u32,
    ddict: Arc<DecoderDictionary<'static>>,
}

impl PayloadDictionary {
    pub(crate) fn frame_id(&self) -> u32 {
        self.frame_id
    }

    pub(crate) fn ddict(&self) -> &DecoderDictionary<'static> {
        &self.ddict
    }
}

impl std::fmt::Debug for PayloadDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadDictionary").field("frame_id", &self.frame_id).finish()
    }
}

/// The store's decoder dictionaries, by frame id.
pub(crate) type Decoders = Arc<Mutex<HashMap<u32, PayloadDictionary>>>;

/// Trains a dictionary on sample events (their JSON). CPU-heavy (about a second
/// for 2 MB of samples): call it off the async threads.
pub fn train_dictionary(samples: &[Vec<u8>]) -> Result<Vec<u8>> {
    zstd::dict::from_samples(samples, DICTIONARY_SIZE)
        .map_err(|e| StoreError::Invalid(format!("cannot train a dictionary: {e}")))
}

/// Sets the id a dictionary's frames carry (bytes 4..8 of zstd's dictionary format,
/// little-endian after the magic number).
fn set_frame_id(dictionary: &mut [u8], id: u32) -> Result<()> {
    if zstd::zstd_safe::get_dict_id_from_dict(dictionary).is_none() || dictionary.len() < 8 {
        return Err(StoreError::Invalid("not a zstd dictionary".into()));
    }
    dictionary[4..8].copy_from_slice(&id.to_le_bytes());
    Ok(())
}

fn frame_id(row: i64) -> Result<u32> {
    u32::try_from(row)
        .ok()
        .and_then(|r| r.checked_add(FRAME_ID_BASE))
        .ok_or_else(|| StoreError::Invalid(format!("dictionary id {row} out of range")))
}

impl Store {
    /// Stores a dictionary trained for `project` (from [`train_dictionary`]) and
    /// returns its id; the project's events digested from now on use it.
    pub async fn add_event_dictionary(&self, project: ProjectId, trained: &[u8]) -> Result<i64> {
        if zstd::zstd_safe::get_dict_id_from_dict(trained).is_none() {
            return Err(StoreError::Invalid("not a zstd dictionary".into()));
        }
        let now = Timestamp::now();
        // The row's id is known only once inserted; the frame id derived from it is
        // written into the bytes in the same transaction.
        let id = transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO event_dictionaries (project_id, dictionary, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(project)
            .bind(trained)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let mut bytes = trained.to_vec();
            set_frame_id(&mut bytes, frame_id(id)?)?;
            sqlx::query("UPDATE event_dictionaries SET dictionary = $1 WHERE id = $2")
                .bind(&bytes)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        });
        Ok(id)
    }

    /// A stored dictionary's bytes, by row id.
    pub async fn event_dictionary(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let bytes = read!(self, |pool| sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT dictionary FROM event_dictionaries WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(bytes)
    }

    /// Attaches to each event the dictionary its payload names, if any, so that
    /// [`StoredEvent::json`] can read it.
    pub(crate) async fn attach_dictionaries<T: AsMut<StoredEvent>>(&self, events: &mut [T]) -> Result<()> {
        for event in events {
            let event = event.as_mut();
            let Some(wanted) = frame_dictionary(&event.payload) else { continue };
            let cached = self.decoders.lock().unwrap_or_else(|p| p.into_inner()).get(&wanted).cloned();
            let dictionary = match cached {
                Some(d) => d,
                None => {
                    let Some(bytes) = self.event_dictionary(i64::from(wanted - FRAME_ID_BASE)).await? else {
                        // `json` reports the missing dictionary.
                        continue;
                    };
                    let d = PayloadDictionary { frame_id: wanted, ddict: Arc::new(DecoderDictionary::copy(&bytes)) };
                    let mut decoders = self.decoders.lock().unwrap_or_else(|p| p.into_inner());
                    if decoders.len() >= KEEP_DECODERS {
                        decoders.clear();
                    }
                    decoders.insert(wanted, d.clone());
                    d
                }
            };
            event.dictionary = Some(dictionary);
        }
        Ok(())
    }
}

impl AsMut<StoredEvent> for StoredEvent {
    fn as_mut(&mut self) -> &mut StoredEvent {
        self
    }
}

impl AsMut<StoredEvent> for crate::EventRow {
    fn as_mut(&mut self) -> &mut StoredEvent {
        &mut self.event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{compress_json, decompress_with};

    fn sample(i: usize) -> serde_json::Value {
        serde_json::json!({
            "event_id": format!("{i:032x}"),
            "message": format!("connection to db-{} refused after {} ms", i % 7, i * 13),
            "exception": {"values": [{"type": "ConnectionError", "stacktrace": {"frames": [
                {"filename": "app/db/pool.py", "function": "acquire", "lineno": 120 + i % 5, "module": "app.db.pool"},
                {"filename": "site-packages/sqlalchemy/engine/base.py", "function": "connect", "lineno": 3280},
            ]}}]},
            "contexts": {"os": {"name": "Linux", "version": "6.1"}, "runtime": {"name": "CPython", "version": "3.11.7"}},
            "tags": {"worker": format!("w{}", i % 3), "region": "eu-west-1"},
        })
    }

    #[test]
    fn trained_dictionary_round_trips_and_shrinks_payloads() {
        let samples: Vec<Vec<u8>> = (0..400).map(|i| serde_json::to_vec(&sample(i)).unwrap()).collect();
        let mut trained = train_dictionary(&samples).unwrap();
        set_frame_id(&mut trained, frame_id(7).unwrap()).unwrap();
        let encoder = EventDictionary::new(7, &trained);
        let decoder =
            PayloadDictionary { frame_id: FRAME_ID_BASE + 7, ddict: Arc::new(DecoderDictionary::copy(&trained)) };

        let event = sample(1000);
        let plain = compress_json(&event, None);
        let packed = compress_json(&event, Some(&encoder));
        assert!(packed.len() * 2 < plain.len(), "{} B with the dictionary, {} B without", packed.len(), plain.len());
        assert_eq!(frame_dictionary(&packed), Some(FRAME_ID_BASE + 7));
        assert_eq!(frame_dictionary(&plain), None);

        let back: serde_json::Value =
            serde_json::from_slice(&decompress_with(&packed, Some(&decoder)).unwrap()).unwrap();
        assert_eq!(back, event);
        // Without its dictionary (or with another) the payload is reported, not misread.
        let err = decompress_with(&packed, None).unwrap_err().to_string();
        assert!(err.contains("dictionary"), "{err}");
        let other = PayloadDictionary { frame_id: FRAME_ID_BASE + 8, ..decoder.clone() };
        assert!(decompress_with(&packed, Some(&other)).is_err());
        // Payloads without a dictionary read as before, dictionary or not.
        assert!(decompress_with(&plain, Some(&decoder)).is_ok());
        // The thread's context forgot the dictionary: the next payload, compressed
        // without one, is the same as before and needs none.
        let after = compress_json(&event, None);
        assert_eq!(after, plain);
        assert_eq!(frame_dictionary(&after), None);
        // And a dictionary prepared anew after the first is gone works as the first did.
        drop(encoder);
        let again = compress_json(&event, Some(&EventDictionary::new(7, &trained)));
        assert_eq!(again, packed);
    }

    #[test]
    fn frame_ids_are_checked() {
        assert!(set_frame_id(&mut b"not a dictionary".to_vec(), 1).is_err());
        assert_eq!(frame_id(1).unwrap(), FRAME_ID_BASE + 1);
        assert!(frame_id(-1).is_err());
        assert!(frame_id(i64::from(u32::MAX)).is_err());
    }
}
