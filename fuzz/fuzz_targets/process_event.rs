//! Event normalization, grouping and representation never panic on arbitrary JSON.
#![no_main]

use faultline_processing::{represent_event, EventContext, EventLinks, GroupingStrategy, ItemKind, Processor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    thread_local! { static PROCESSOR: Processor = Processor::new(); }
    let ctx = EventContext {
        received: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        sent_at: None,
        client_ip: None,
        sdk_client: None,
        fallback_event_id: None,
        scrub_ip: true,
        scrub_data: true,
        grouping: GroupingStrategy::Default,
    };
    PROCESSOR.with(|p| {
        if let Ok(event) = p.process_event(data, ItemKind::Event, &ctx) {
            let _ = represent_event(&event.event, &EventLinks::default());
        }
        let _ = p.process_transaction(data, &ctx);
    });
});
