//! Reading and decoding request bodies within the size caps and the memory budget.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body as HttpBody;
use faultline_protocol::{decode_into, decoded_size_hint, ContentEncoding, DecodeError, SinkFull};
use futures_util::StreamExt;
use http::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::IngestError;
use crate::AppState;

/// Bodies above this size are decompressed off the async threads.
const BLOCKING_DECODE_THRESHOLD: usize = 256 * 1024;

/// Bytes of request bodies held at once by all ingest requests, in KiB permits.
pub(crate) struct MemoryBudget {
    permits: Arc<Semaphore>,
}

/// Memory held by one request; released when dropped (after its payload is durable).
#[derive(Default)]
pub(crate) struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    kib: u32,
}

impl MemoryBudget {
    pub(crate) fn new(bytes: usize) -> MemoryBudget {
        let kib = (bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        MemoryBudget { permits: Arc::new(Semaphore::new(kib)) }
    }

    /// Grows `reservation` to cover `bytes`; false when the budget is spent.
    fn reserve(&self, reservation: &mut Reservation, bytes: usize) -> bool {
        let need = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        if need <= reservation.kib {
            return true;
        }
        let Ok(more) = self.permits.clone().try_acquire_many_owned(need - reservation.kib) else {
            return false;
        };
        match &mut reservation.permit {
            Some(permit) => permit.merge(more),
            None => reservation.permit = Some(more),
        }
        reservation.kib = need;
        true
    }
}

fn busy() -> IngestError {
    IngestError::Unavailable {
        retry_after: 5,
        detail: "the server is busy: too many request bodies in memory; retry shortly".into(),
    }
}

/// A decoded body and the memory it holds. A compressed body is kept as sent too, so
/// it can be queued without compressing it again.
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    pub reservation: Reservation,
    /// The body as sent and its encoding, when it was compressed.
    pub compressed: Option<(Vec<u8>, &'static str)>,
}

/// Reads the body within `FAULTLINE_MAX_BODY_SIZE`, then decodes it per
/// `Content-Encoding` within `GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE`.
pub(crate) async fn read(state: &AppState, headers: &HeaderMap, body: HttpBody) -> Result<Body, IngestError> {
    let limits = &state.config.ingest;
    let encoding_header = headers.get(http::header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?"));
    let encoding =
        ContentEncoding::from_header(encoding_header).map_err(|e| IngestError::UnsupportedEncoding(e.to_string()))?;
    let too_large = |limit: usize| IngestError::TooLarge(format!("the request body is larger than {limit} bytes"));

    let declared =
        headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_body_size) {
        return Err(too_large(limits.max_body_size));
    }
    let budget = &state.ingest.budget;
    let mut reservation = Reservation::default();
    let mut raw = Vec::with_capacity(declared.unwrap_or(0).min(limits.max_body_size));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| IngestError::BadRequest(format!("cannot read the request body: {e}")))?;
        if raw.len() + chunk.len() > limits.max_body_size {
            return Err(too_large(limits.max_body_size));
        }
        if !budget.reserve(&mut reservation, raw.len() + chunk.len()) {
            return Err(busy());
        }
        raw.extend_from_slice(&chunk);
    }

    if encoding == ContentEncoding::Identity {
        if raw.len() > limits.max_unzipped_size {
            return Err(too_large(limits.max_unzipped_size));
        }
        return Ok(Body { bytes: raw, reservation, compressed: None });
    }

    let limit = limits.max_unzipped_size;
    let raw_len = raw.len();
    let decode = move |mut reservation: Reservation, budget: &MemoryBudget| {
        // Sized once from the body's own claim (gzip's trailer) where the budget has
        // room for it: growing by doubling would copy the output several times.
        let capacity = decoded_size_hint(&raw, encoding, limit).min(1 << 20);
        let capacity = if budget.reserve(&mut reservation, raw_len + capacity) { capacity } else { 0 };
        let mut sink =
            BudgetedBuf { buf: Vec::with_capacity(capacity), budget, reservation: &mut reservation, base: raw_len };
        let result = decode_into(&raw, encoding, limit, &mut sink);
        let bytes = std::mem::take(&mut sink.buf);
        result.map(|_| Body { bytes, reservation, compressed: Some((raw, encoding.as_str())) })
    };
    let result = if raw_len > BLOCKING_DECODE_THRESHOLD {
        let state = state.clone();
        tokio::task::spawn_blocking(move || decode(reservation, &state.ingest.budget))
            .await
            .map_err(|e| IngestError::storage(&e))?
    } else {
        decode(reservation, budget)
    };
    result.map_err(|e| match e {
        DecodeError::TooLarge { limit } => {
            IngestError::TooLarge(format!("the decompressed request body is larger than {limit} bytes"))
        }
        DecodeError::SinkFull => busy(),
        other => IngestError::BadRequest(other.to_string()),
    })
}

/// A growing buffer that reserves budget as it grows (the compressed body, `base`
/// bytes, is still held meanwhile).
struct BudgetedBuf<'a> {
    buf: Vec<u8>,
    budget: &'a MemoryBudget,
    reservation: &'a mut Reservation,
    base: usize,
}

impl Write for BudgetedBuf<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let needed = self.base + self.buf.len() + data.len();
        // Reserve in 64 KiB steps to keep semaphore traffic low.
        if !self.budget.reserve(self.reservation, needed.next_multiple_of(64 * 1024)) {
            return Err(std::io::Error::other(SinkFull));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_shared_and_returned() {
        let budget = MemoryBudget::new(10 * 1024);
        let mut a = Reservation::default();
        assert!(budget.reserve(&mut a, 6 * 1024));
        let mut b = Reservation::default();
        assert!(!budget.reserve(&mut b, 6 * 1024), "only 4 KiB left");
        assert!(budget.reserve(&mut b, 4 * 1024));
        assert!(budget.reserve(&mut a, 6 * 1024), "already held");
        drop(a);
        assert!(budget.reserve(&mut b, 10 * 1024), "a's share came back");
    }
}
