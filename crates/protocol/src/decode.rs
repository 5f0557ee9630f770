//! Request bodies: `Content-Encoding` and the legacy store formats.
//!
//! Every decoder reads through a cap of `limit + 1` bytes, so an oversized body or a
//! decompression bomb is detected after at most `limit` bytes of output, never more.

use std::borrow::Cow;
use std::io::{Read, Write};

use base64::Engine;

/// A supported `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// Not compressed.
    Identity,
    /// gzip.
    Gzip,
    /// deflate: zlib-wrapped, or raw as some clients send it.
    Deflate,
    /// Brotli.
    Brotli,
    /// Zstandard.
    Zstd,
}

/// What was wrong with a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The encoding is not one we decode.
    #[error("unsupported Content-Encoding {0:?}")]
    UnsupportedEncoding(String),
    /// Larger than allowed (after decompression, if compressed).
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The cap that was exceeded.
        limit: usize,
    },
    /// The compressed data is corrupt.
    #[error("cannot decompress the body ({encoding}): {message}")]
    Corrupt {
        /// Which encoding.
        encoding: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// A store body that is neither JSON nor base64(-zlib) JSON.
    #[error("the body is neither JSON, base64-encoded JSON nor base64-encoded zlib-compressed JSON")]
    BadStoreBody,
    /// The output sink refused more data (the server's memory budget is spent).
    #[error("the server is out of memory for request bodies")]
    SinkFull,
}

/// The error a sink given to [`decode_into`] returns (wrapped in `io::Error::other`)
/// to stop decoding because it cannot hold more.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("sink full")]
pub struct SinkFull;

impl ContentEncoding {
    /// Reads a `Content-Encoding` header value. Missing, empty, `identity` and the
    /// bogus `UTF-8` some SDKs send mean no compression.
    pub fn from_header(value: Option<&str>) -> Result<ContentEncoding, DecodeError> {
        let Some(value) = value else { return Ok(ContentEncoding::Identity) };
        let value = value.trim();
        Ok(match value.to_ascii_lowercase().as_str() {
            "" | "identity" | "utf-8" | "utf8" => ContentEncoding::Identity,
            "gzip" | "x-gzip" => ContentEncoding::Gzip,
            "deflate" => ContentEncoding::Deflate,
            "br" => ContentEncoding::Brotli,
            "zstd" => ContentEncoding::Zstd,
            _ => return Err(DecodeError::UnsupportedEncoding(value.to_string())),
        })
    }

    /// The `Content-Encoding` token.
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    fn name(self) -> &'static str {
        match self {
            ContentEncoding::Identity => "identity",
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Deflate => "deflate",
            ContentEncoding::Brotli => "br",
            ContentEncoding::Zstd => "zstd",
        }
    }
}

/// Decodes `body` sent with `encoding`, producing at most `limit` bytes.
pub fn decode_body(body: &[u8], encoding: ContentEncoding, limit: usize) -> Result<Cow<'_, [u8]>, DecodeError> {
    if encoding == ContentEncoding::Identity {
        if body.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        return Ok(Cow::Borrowed(body));
    }
    let mut out = Vec::with_capacity(decoded_size_hint(body, encoding, limit));
    decode_into(body, encoding, limit, &mut out)?;
    Ok(Cow::Owned(out))
}

/// Decodes `body` into `out`, writing at most `limit` bytes; returns how many. `out`
/// may stop the decoding by failing with [`SinkFull`].
pub fn decode_into<W: Write>(
    body: &[u8],
    encoding: ContentEncoding,
    limit: usize,
    out: &mut W,
) -> Result<usize, DecodeError> {
    match encoding {
        ContentEncoding::Identity => copy_capped(body, encoding, limit, out),
        // The `bufread` decoders read the slice in place; the `read` ones would copy it
        // through a buffer of their own (32 KiB, allocated and zeroed per body).
        ContentEncoding::Gzip => match gzip_whole(body, limit, out) {
            Some(result) => result,
            None => copy_capped(flate2::bufread::MultiGzDecoder::new(body), encoding, limit, out),
        },
        ContentEncoding::Deflate => {
            // zlib-wrapped is the standard; some clients send raw deflate. A zlib stream
            // announces itself in its first two bytes, so the choice needs no retry.
            if looks_like_zlib(body) {
                copy_capped(flate2::bufread::ZlibDecoder::new(body), encoding, limit, out)
            } else {
                copy_capped(flate2::bufread::DeflateDecoder::new(body), encoding, limit, out)
            }
        }
        ContentEncoding::Brotli => copy_capped(brotli::Decompressor::new(body, 4096), encoding, limit, out),
        ContentEncoding::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(body)
                .map_err(|e| DecodeError::Corrupt { encoding: "zstd", message: e.to_string() })?;
            copy_capped(decoder, encoding, limit, out)
        }
    }
}

/// How many bytes `body` probably decodes to, for sizing the output once: a gzip
/// body's last member says its own size modulo 2^32 (RFC 1952, ISIZE); for the rest, a
/// guess of four times the input. The claim is the client's, so it only sizes a first
/// allocation and caps nothing, and it is bounded by the limit and by 32 times the
/// compressed size (JSON rarely compresses better), so a tiny body cannot claim much.
pub fn decoded_size_hint(body: &[u8], encoding: ContentEncoding, limit: usize) -> usize {
    let guess = match (encoding, gzip_trailer(body)) {
        (ContentEncoding::Identity, _) => body.len(),
        (ContentEncoding::Gzip, Some(trailer)) => trailer.size.min(most_inflated(body)),
        _ => body.len().saturating_mul(4),
    };
    guess.min(limit)
}

/// The most a compressed body is believed to inflate to: 32 times its size (JSON rarely
/// compresses better).
fn most_inflated(body: &[u8]) -> usize {
    body.len().saturating_mul(32)
}

/// The last 8 bytes of a gzip body (RFC 1952): the last member's CRC-32 and its size
/// modulo 2^32, as the client claims them.
struct GzipTrailer {
    crc: u32,
    size: usize,
}

/// `None` when the body is too short to be gzip (a header of 10 bytes and the trailer).
fn gzip_trailer(body: &[u8]) -> Option<GzipTrailer> {
    let [.., c0, c1, c2, c3, s0, s1, s2, s3] = *body else { return None };
    (body.len() >= 18).then(|| GzipTrailer {
        crc: u32::from_le_bytes([c0, c1, c2, c3]),
        size: u32::from_le_bytes([s0, s1, s2, s3]) as usize,
    })
}

/// Largest output [`gzip_whole`] decodes: it holds the output whole, outside the
/// sink's accounting, so only event-sized bodies take it.
const WHOLE_MAX: usize = 64 * 1024;

thread_local! {
    /// libdeflate's decompressor and the output buffer, reused from body to body.
    static INFLATE: std::cell::RefCell<Option<(libdeflater::Decompressor, Vec<u8>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Decodes a gzip body of one member in one call to libdeflate, into a buffer of the
/// size its trailer claims: half the instructions of streaming it through zlib-rs
/// (docs/benchmarks.md). `None` when that does not apply: a claim above the limit,
/// above [`WHOLE_MAX`] or above 32 times the compressed size, or a body that does not
/// decode to exactly what its last 8 bytes (CRC-32 and size) describe, such as
/// several members or trailing bytes. The streaming decoder then decides, with its own
/// caps and errors. (Several members whose first has the last one's CRC and size would
/// pass for one; no SDK sends several.)
fn gzip_whole<W: Write>(body: &[u8], limit: usize, out: &mut W) -> Option<Result<usize, DecodeError>> {
    let trailer = gzip_trailer(body)?;
    let claimed = trailer.size;
    if claimed > limit.min(WHOLE_MAX).min(most_inflated(body)) {
        return None;
    }
    INFLATE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (decompressor, buf) = cell.get_or_insert_with(|| (libdeflater::Decompressor::new(), Vec::new()));
        if buf.len() < claimed {
            buf.resize(claimed, 0);
        }
        let n = decompressor.gzip_decompress(body, &mut buf[..claimed]).ok()?;
        let decoded = &buf[..n];
        // libdeflate checked the first member against that member's trailer; this checks
        // that the trailer is the body's last one.
        if n != claimed || libdeflater::crc32(decoded) != trailer.crc {
            return None;
        }
        let written = write_out(out, decoded, ContentEncoding::Gzip).map(|()| n);
        Some(written)
    })
}

/// RFC 1950: CMF (method 8, window ≤ 32 KiB) and FLG make a multiple of 31.
fn looks_like_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn copy_capped<W: Write>(
    reader: impl Read,
    encoding: ContentEncoding,
    limit: usize,
    out: &mut W,
) -> Result<usize, DecodeError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut reader = reader.take(cap);
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0usize;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DecodeError::Corrupt { encoding: encoding.name(), message: e.to_string() }),
        };
        total += n;
        if total > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        write_out(out, &buf[..n], encoding)?;
    }
    Ok(total)
}

fn write_out<W: Write>(out: &mut W, data: &[u8], encoding: ContentEncoding) -> Result<(), DecodeError> {
    out.write_all(data).map_err(|e| {
        if e.get_ref().is_some_and(|inner| inner.is::<SinkFull>()) {
            DecodeError::SinkFull
        } else {
            DecodeError::Corrupt { encoding: encoding.name(), message: e.to_string() }
        }
    })
}

fn read_capped(reader: impl Read, encoding: ContentEncoding, limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    copy_capped(reader, encoding, limit, &mut out)?;
    Ok(out)
}

/// Decodes a legacy `/store/` body: JSON as is, else base64 of JSON, else base64 of
/// zlib-compressed JSON (what old raven clients send).
pub fn decode_store_body(body: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, DecodeError> {
    let trimmed = body.trim_ascii();
    if trimmed.first() == Some(&b'{') {
        return Ok(Cow::Borrowed(trimmed));
    }
    let compact: Vec<u8> = trimmed.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .map_err(|_| DecodeError::BadStoreBody)?;
    if decoded.first() == Some(&b'{') {
        if decoded.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        return Ok(Cow::Owned(decoded));
    }
    match read_capped(flate2::read::ZlibDecoder::new(decoded.as_slice()), ContentEncoding::Deflate, limit) {
        Ok(json) if json.trim_ascii_start().first() == Some(&b'{') => Ok(Cow::Owned(json)),
        Ok(_) | Err(DecodeError::Corrupt { .. }) => Err(DecodeError::BadStoreBody),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn size_hints() {
        let data = b"{\"message\":\"hello\"}".repeat(20);
        let gz = gzip(&data);
        assert_eq!(decoded_size_hint(&gz, ContentEncoding::Gzip, 1 << 20), data.len(), "gzip's trailer");
        assert_eq!(decoded_size_hint(&gz, ContentEncoding::Gzip, 100), 100, "never above the limit");
        let mut claims_4gib = gz.clone();
        let n = claims_4gib.len();
        claims_4gib[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decoded_size_hint(&claims_4gib, ContentEncoding::Gzip, 1 << 20), gz.len() * 32, "a forged claim");
        assert_eq!(decoded_size_hint(&claims_4gib, ContentEncoding::Gzip, 100), 100, "never above the limit");
        assert_eq!(decoded_size_hint(b"short", ContentEncoding::Gzip, 1 << 20), 20, "too short to have a trailer");
        assert_eq!(decoded_size_hint(&data, ContentEncoding::Identity, 1 << 20), data.len());
        assert_eq!(decoded_size_hint(&[0; 10], ContentEncoding::Zstd, 1 << 20), 40);
    }

    #[test]
    fn encodings_round_trip() {
        let data = b"{\"message\":\"hello\"}".repeat(20);
        assert_eq!(&*decode_body(&gzip(&data), ContentEncoding::Gzip, 1 << 20).unwrap(), &data[..]);
        assert_eq!(&*decode_body(&zlib(&data), ContentEncoding::Deflate, 1 << 20).unwrap(), &data[..]);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&data).unwrap();
        let raw = raw.finish().unwrap();
        assert_eq!(&*decode_body(&raw, ContentEncoding::Deflate, 1 << 20).unwrap(), &data[..], "raw deflate");
        let mut br = Vec::new();
        brotli::CompressorWriter::new(&mut br, 4096, 5, 22).write_all(&data).unwrap();
        assert_eq!(&*decode_body(&br, ContentEncoding::Brotli, 1 << 20).unwrap(), &data[..]);
        let zst = zstd::bulk::compress(&data, 3).unwrap();
        assert_eq!(&*decode_body(&zst, ContentEncoding::Zstd, 1 << 20).unwrap(), &data[..]);
    }

    #[test]
    fn gzip_members_and_trailers() {
        let a = b"{\"message\":\"first\"}".repeat(20);
        let b = b"{\"message\":\"other\"}".repeat(20);
        assert_eq!(a.len(), b.len(), "members of one size, so only the CRC tells them apart");
        let two = [gzip(&a), gzip(&b)].concat();
        assert_eq!(
            &*decode_body(&two, ContentEncoding::Gzip, 1 << 20).unwrap(),
            [&a[..], &b[..]].concat(),
            "both members"
        );
        let mut trailing = gzip(&a);
        trailing.extend_from_slice(b"garbage!");
        assert!(decode_body(&trailing, ContentEncoding::Gzip, 1 << 20).is_err(), "trailing bytes are not ignored");
        let mut forged = gzip(&a);
        let n = forged.len();
        forged[n - 4..].copy_from_slice(&((a.len() - 100) as u32).to_le_bytes());
        assert!(
            matches!(decode_body(&forged, ContentEncoding::Gzip, 1 << 20), Err(DecodeError::Corrupt { .. })),
            "a size that is not the data's is corrupt, not a truncation"
        );
        // Which of them libdeflate decodes whole, and which go to the streaming decoder.
        let mut sink = Vec::new();
        assert_eq!(gzip_whole(&gzip(&a), 1 << 20, &mut sink), Some(Ok(a.len())));
        assert_eq!(sink, a);
        for (body, what) in [(&two, "two members"), (&trailing, "trailing bytes"), (&forged, "a forged size")] {
            assert_eq!(gzip_whole(body, 1 << 20, &mut Vec::new()), None, "{what}");
        }
        assert_eq!(gzip_whole(&gzip(&a), a.len() - 1, &mut Vec::new()), None, "over the limit");
        let big = b"{\"breadcrumb\":\"again\"}".repeat(5000);
        assert!(big.len() > WHOLE_MAX);
        assert_eq!(&*decode_body(&gzip(&big), ContentEncoding::Gzip, 1 << 20).unwrap(), &big[..], "streamed");
        assert_eq!(&*decode_body(&gzip(b""), ContentEncoding::Gzip, 1 << 20).unwrap(), b"", "empty");
    }

    #[test]
    fn whole_and_streamed_gzip_agree_on_corruptions() {
        let data = br#"{"event_id":"0123456789abcdef0123456789abcdef","message":"hello","extra":{"n":1}}"#.repeat(3);
        let good = gzip(&data);
        let streamed = |body: &[u8]| {
            let mut out = Vec::new();
            copy_capped(flate2::bufread::MultiGzDecoder::new(body), ContentEncoding::Gzip, 1 << 20, &mut out)
                .map(|_| out)
        };
        let mut taken = 0;
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut body = good.clone();
                body[at] ^= flip;
                let mut whole = Vec::new();
                if let Some(result) = gzip_whole(&body, 1 << 20, &mut whole) {
                    taken += 1;
                    result.unwrap();
                    assert_eq!(streamed(&body).ok(), Some(whole), "byte {at} ^ {flip:#x}");
                }
            }
        }
        // Flips in the header's flags-free parts (mtime, XFL, OS) still decode whole.
        assert!(taken > 0);
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024, "compresses to {} bytes", bomb.len());
        let err = decode_body(&bomb, ContentEncoding::Gzip, 1024 * 1024).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { limit: 1024 * 1024 });
        assert_eq!(
            decode_body(&[0u8; 11], ContentEncoding::Identity, 10).unwrap_err(),
            DecodeError::TooLarge { limit: 10 }
        );
    }

    #[test]
    fn corrupt_and_unknown() {
        assert!(matches!(decode_body(b"nope", ContentEncoding::Gzip, 100), Err(DecodeError::Corrupt { .. })));
        assert!(matches!(decode_body(b"nope", ContentEncoding::Brotli, 100), Err(DecodeError::Corrupt { .. })));
        assert!(matches!(decode_body(b"nope", ContentEncoding::Deflate, 100), Err(DecodeError::Corrupt { .. })));
        assert_eq!(ContentEncoding::from_header(Some("")).unwrap(), ContentEncoding::Identity);
        assert_eq!(ContentEncoding::from_header(Some("UTF-8")).unwrap(), ContentEncoding::Identity);
        assert_eq!(ContentEncoding::from_header(Some(" GZIP ")).unwrap(), ContentEncoding::Gzip);
        assert!(ContentEncoding::from_header(Some("compress")).is_err());
    }

    #[test]
    fn a_full_sink_stops_decoding() {
        struct Small(Vec<u8>);
        impl Write for Small {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0.len() + buf.len() > 1000 {
                    return Err(std::io::Error::other(SinkFull));
                }
                self.0.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let data = gzip(&[7u8; 100_000]);
        let mut sink = Small(Vec::new());
        assert_eq!(decode_into(&data, ContentEncoding::Gzip, 1 << 20, &mut sink).unwrap_err(), DecodeError::SinkFull);
    }

    #[test]
    fn store_bodies() {
        let json = br#"{"event_id":"0123456789abcdef0123456789abcdef"}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let b64_zlib = base64::engine::general_purpose::STANDARD.encode(zlib(json));
        assert_eq!(&*decode_store_body(json, 1000).unwrap(), json);
        assert_eq!(&*decode_store_body(b64.as_bytes(), 1000).unwrap(), json);
        assert_eq!(&*decode_store_body(b64_zlib.as_bytes(), 1000).unwrap(), json);
        assert_eq!(decode_store_body(b"not anything", 1000).unwrap_err(), DecodeError::BadStoreBody);
        assert_eq!(decode_store_body(b64_zlib.as_bytes(), 10).unwrap_err(), DecodeError::TooLarge { limit: 10 });
    }
}
