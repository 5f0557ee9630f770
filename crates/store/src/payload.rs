//! Compression of stored payloads (events, queued envelopes).

use crate::StoreError;

/// zstd level: 1 compresses the load generator's 15.6 KB stored event to 2.4 KB in
/// about 15 µs; zstd's default, 3, saves under 1 % more and takes a third longer; -1
/// takes a quarter less but is a quarter larger (docs/benchmarks.md).
const LEVEL: i32 = 1;

thread_local! {
    /// One compression context per thread: creating a context costs more than
    /// compressing a typical event.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> = const { std::cell::RefCell::new(None) };
}

/// Largest decompressed payload accepted back from storage (guards against a corrupt
/// frame claiming a huge size).
const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

/// Compresses a payload for storage.
pub fn compress_payload(data: &[u8]) -> Vec<u8> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressed = match cell.as_mut() {
            Some(compressor) => compressor.compress(data),
            None => zstd::bulk::Compressor::new(LEVEL).and_then(|mut c| {
                let out = c.compress(data);
                *cell = Some(c);
                out
            }),
        };
        // Compressing memory into memory fails only when allocation fails.
        compressed.unwrap_or_else(|e| unreachable!("in-memory zstd compression failed: {e}"))
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
        assert_eq!(decompress_payload(&packed).unwrap(), json);
        assert!(decompress_payload(b"not zstd").is_err());
    }
}
