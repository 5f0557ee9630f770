//! Compression of stored payloads (events, queued envelopes).

use crate::StoreError;

/// zstd level: 1 compresses the load generator's 15.6 KB stored event to 2.4 KB in
/// about 15 µs; zstd's default, 3, saves under 1 % more and takes a third longer; -1
/// takes a quarter less but is a quarter larger (docs/benchmarks.md).
const LEVEL: i32 = 1;

/// A thread keeps an output buffer this large at most between payloads.
const KEEP_BUFFER: usize = 1024 * 1024;

thread_local! {
    /// One compression context per thread (creating a context costs more than
    /// compressing a typical event) and its output buffer.
    static COMPRESSOR: std::cell::RefCell<Option<(zstd::bulk::Compressor<'static>, Vec<u8>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Largest decompressed payload accepted back from storage (guards against a corrupt
/// frame claiming a huge size).
const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

/// Compresses a payload for storage. The result is allocated at its exact size:
/// compressing straight into a new vector left it at zstd's bound, the input's size,
/// which batches of events held until they were written (16 KB for 2.4 KB of payload).
pub fn compress_payload(data: &[u8]) -> Vec<u8> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (compressor, buffer) = match &mut *cell {
            Some(state) => state,
            // Creating a context fails only when allocation fails.
            None => cell.insert((
                zstd::bulk::Compressor::new(LEVEL)
                    .unwrap_or_else(|e| unreachable!("cannot create a zstd context: {e}")),
                Vec::new(),
            )),
        };
        buffer.clear();
        buffer.reserve(zstd::zstd_safe::compress_bound(data.len()));
        // Into a buffer of zstd's bound, compression cannot run out of room.
        compressor
            .compress_to_buffer(data, buffer)
            .unwrap_or_else(|e| unreachable!("in-memory zstd compression failed: {e}"));
        let out = buffer.to_vec();
        if buffer.capacity() > KEEP_BUFFER {
            *buffer = Vec::new();
        }
        out
    })
}

/// Decompresses a stored payload.
pub fn decompress_payload(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    let mut decoder =
        zstd::stream::read::Decoder::new(data).map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?;
    let read = std::io::copy(&mut std::io::Read::take(&mut decoder, MAX_DECOMPRESSED as u64 + 1), &mut out)
        .map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?;
    if read as usize > MAX_DECOMPRESSED {
        return Err(StoreError::Corrupt("payload larger than 256 MiB".into()));
    }
    Ok(out)
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
}
