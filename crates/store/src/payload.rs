//! Compression of stored payloads (events, queued envelopes), with or without a
//! project's dictionary ([`crate::dictionary`]).

use crate::dictionary::{EventDictionary, PayloadDictionary};
use crate::StoreError;

/// zstd level: 1 compresses the load generator's 15.6 KB stored event to 2.4 KB in
/// about 15 µs; zstd's default, 3, saves under 1 % more and takes a third longer; -1
/// takes a quarter less but is a quarter larger (docs/benchmarks.md).
pub(crate) const LEVEL: i32 = 1;

/// A thread keeps buffers this large at most between payloads.
const KEEP_BUFFER: usize = 1024 * 1024;

/// Per-thread compression state: a context (creating one costs more than compressing
/// a typical event) and buffers reused from payload to payload.
struct Packer {
    compressor: zstd::bulk::Compressor<'static>,
    /// zstd's output, at zstd's bound; what is returned is a copy of the exact size.
    out: Vec<u8>,
    /// JSON serialized for [`compress_json`]. A fresh vector per event started small
    /// and was copied at every doubling on the way to 16 KB.
    json: Vec<u8>,
}

thread_local! {
    static PACKER: std::cell::RefCell<Option<Packer>> = const { std::cell::RefCell::new(None) };
}

/// Largest decompressed payload accepted back from storage (guards against a corrupt
/// frame claiming a huge size).
const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

fn with_packer<R>(f: impl FnOnce(&mut Packer) -> R) -> R {
    PACKER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let packer =
            cell.get_or_insert_with(|| Packer { compressor: new_compressor(), out: Vec::new(), json: Vec::new() });
        f(packer)
    })
}

fn new_compressor() -> zstd::bulk::Compressor<'static> {
    // Creating a context fails only when allocation fails.
    let mut compressor =
        zstd::bulk::Compressor::new(LEVEL).unwrap_or_else(|e| unreachable!("cannot create a zstd context: {e}"));
    // With a project's dictionary, use its prepared tables in place: for inputs above
    // 8 KB at level 1 zstd would otherwise copy them into the context for every frame
    // (the load generator's event: 6.3 against 7.9 µs; docs/benchmarks.md). The
    // parameter does nothing without a dictionary.
    let attach = zstd::zstd_safe::CParameter::ForceAttachDict(zstd::zstd_safe::DictAttachPref::ForceAttach);
    compressor.set_parameter(attach).unwrap_or_else(|e| unreachable!("zstd refused a valid parameter: {e}"));
    compressor
}

/// Compresses `data` into `out` and returns it at its exact size: compressing straight
/// into a new vector left it at zstd's bound, the input's size, which batches of
/// events held until they were written (16 KB for 2.4 KB of payload).
fn pack(
    compressor: &mut zstd::bulk::Compressor<'static>,
    out: &mut Vec<u8>,
    data: &[u8],
    dictionary: Option<&EventDictionary>,
) -> Vec<u8> {
    out.clear();
    out.reserve(zstd::zstd_safe::compress_bound(data.len()));
    // Into a buffer of zstd's bound, compression cannot run out of room.
    let packed = match dictionary {
        // The dictionary's level applies, and the frame names the dictionary.
        Some(d) => {
            let context = compressor.context_mut();
            let packed = context.ref_cdict(d.cdict()).and_then(|_| context.compress2(out, data));
            // The context only points at the dictionary, which the caller may drop once
            // this returns: forget it, so the next payload cannot use it by mistake.
            let forgot = context.load_dictionary(&[]);
            packed
                .and_then(|n| forgot.map(|_| n))
                .map_err(|code| std::io::Error::other(zstd::zstd_safe::get_error_name(code).to_string()))
        }
        None => compressor.compress_to_buffer(data, out),
    };
    packed.unwrap_or_else(|e| unreachable!("in-memory zstd compression failed: {e}"));
    let packed = out.to_vec();
    if out.capacity() > KEEP_BUFFER {
        *out = Vec::new();
    }
    packed
}

/// Compresses a payload for storage.
pub fn compress_payload(data: &[u8]) -> Vec<u8> {
    with_packer(|p| pack(&mut p.compressor, &mut p.out, data, None))
}

/// Serializes a value to JSON and compresses it for storage, with the project's
/// dictionary when it has one.
pub fn compress_json<T: serde::Serialize + ?Sized>(value: &T, dictionary: Option<&EventDictionary>) -> Vec<u8> {
    with_packer(|p| {
        p.json.clear();
        // sonic-rs rather than serde_json: 8.4 against 14.1 µs for the load
        // generator's stored event, the same bytes (docs/benchmarks.md). Serializing
        // into memory fails only for values JSON cannot express (maps with non-string
        // keys); such a value is stored empty, as before.
        if sonic_rs::to_writer(&mut p.json, value).is_err() {
            p.json.clear();
        }
        let packed = pack(&mut p.compressor, &mut p.out, &p.json, dictionary);
        if p.json.capacity() > KEEP_BUFFER {
            p.json = Vec::new();
        }
        packed
    })
}

/// Decompresses a stored payload compressed without a dictionary.
pub fn decompress_payload(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    decompress_with(data, None)
}

/// Decompresses a stored payload; `dictionary` is the one its frame names, if any.
pub(crate) fn decompress_with(data: &[u8], dictionary: Option<&PayloadDictionary>) -> Result<Vec<u8>, StoreError> {
    let corrupt = |e: std::io::Error| StoreError::Corrupt(format!("payload: {e}"));
    let wanted = frame_dictionary(data);
    let mut decoder = match (wanted, dictionary) {
        (None, _) => zstd::stream::read::Decoder::with_buffer(data).map_err(corrupt)?,
        (Some(id), Some(d)) if d.frame_id() == id => {
            zstd::stream::read::Decoder::with_prepared_dictionary(data, d.ddict()).map_err(corrupt)?
        }
        (Some(id), _) => return Err(StoreError::Corrupt(format!("payload: its dictionary ({id}) is missing"))),
    };
    let mut out = Vec::new();
    let read = std::io::copy(&mut std::io::Read::take(&mut decoder, MAX_DECOMPRESSED as u64 + 1), &mut out)
        .map_err(corrupt)?;
    if read as usize > MAX_DECOMPRESSED {
        return Err(StoreError::Corrupt("payload larger than 256 MiB".into()));
    }
    Ok(out)
}

/// The dictionary id a stored payload's zstd frame names (none for payloads
/// compressed without a dictionary, and for bytes that are not a zstd frame).
pub(crate) fn frame_dictionary(data: &[u8]) -> Option<u32> {
    zstd::zstd_safe::get_dict_id_from_frame(data).map(|id| id.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let json = br#"{"message":"hello","extra":{"a":[1,2,3,4,5,6,7,8,9,10]}}"#.repeat(50);
        let packed = compress_payload(&json);
        assert!(packed.len() < json.len() / 4);
        assert_eq!(packed.capacity(), packed.len());
        assert_eq!(decompress_payload(&packed).unwrap(), json);
        assert!(decompress_payload(b"not zstd").is_err());
        // The thread's buffer is reused: a second payload comes out whole too.
        let other = br#"{"message":"other"}"#.repeat(3);
        assert_eq!(decompress_payload(&compress_payload(&other)).unwrap(), other);
    }

    #[test]
    fn json_round_trip() {
        let long = serde_json::json!({"message": "x".repeat(20_000), "level": "error"});
        let short = serde_json::json!({"message": "hi"});
        // The second value is serialized into the buffer the first one grew.
        for value in [&long, &short, &long] {
            let stored = decompress_payload(&compress_json(value, None)).unwrap();
            assert_eq!(serde_json::from_slice::<serde_json::Value>(&stored).unwrap(), *value);
        }
    }

    /// Stored events read back by serde_json, in the API's tests too: the serializer
    /// must write serde_json's very bytes (floats, escapes, non-ASCII text).
    #[test]
    fn json_is_serde_jsons_bytes() {
        let mut text: String = (0u32..0x800).filter_map(char::from_u32).collect();
        text.push_str("😀\u{2028}\u{2029}\u{fffd}");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut floats = Vec::new();
        while floats.len() < 20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Any bit pattern, then times and amounts as events carry them.
            for f in [f64::from_bits(x), (x >> 11) as f64 / 1e6, (x % 100_000) as f64 / 100.0] {
                if f.is_finite() {
                    floats.push(serde_json::json!(f));
                }
            }
        }
        let value = serde_json::json!({
            "text": text,
            "key \u{1}\"\\": [null, true, false, 0, -1, u64::MAX, i64::MIN, 0.0, -0.0, 1e300, 5e-324],
            "floats": floats,
            "nested": {"b": {"c": []}, "a": {}},
        });
        let stored = decompress_payload(&compress_json(&value, None)).unwrap();
        assert!(stored == serde_json::to_vec(&value).unwrap(), "the stored bytes differ from serde_json's");
    }
}
