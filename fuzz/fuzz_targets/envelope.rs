//! Envelope parsing, then the ingest-side checks of each item, on arbitrary bytes.
#![no_main]

use faultline_protocol::{probe_event, Envelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        let _ = envelope.event_id();
        let _ = envelope.dsn();
        for item in &envelope.items {
            if item.ty.is_event_like() {
                let _ = probe_event(item.payload);
            }
        }
    }
});
