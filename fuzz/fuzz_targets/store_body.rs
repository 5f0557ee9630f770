//! Legacy store bodies and every Content-Encoding, on arbitrary bytes.
#![no_main]

use faultline_protocol::{decode_body, decode_store_body, ContentEncoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_store_body(data, 1 << 20);
    for encoding in [ContentEncoding::Gzip, ContentEncoding::Deflate, ContentEncoding::Brotli, ContentEncoding::Zstd] {
        let _ = decode_body(data, encoding, 1 << 20);
    }
});
