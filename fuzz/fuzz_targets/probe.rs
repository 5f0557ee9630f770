//! The ingest-side event scan against serde_json on arbitrary bytes: the scan must
//! accept exactly the payloads the digest can parse into an object (a disagreement is
//! either a 400 for a good event or a 200 for an event the digest drops).
#![no_main]

use faultline_protocol::probe_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = probe_event(data);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Ok(_), Ok(serde_json::Value::Object(_))) => {}
        (Err(_), Err(_)) => {}
        (Err(_), Ok(v)) if !v.is_object() => {}
        _ => panic!("probe {ours:?} but serde_json {theirs:?} on {:?}", String::from_utf8_lossy(data)),
    }
    if let (Ok(probe), Ok(serde_json::Value::Object(map))) = (&ours, &theirs) {
        let ty = map.get("type").and_then(serde_json::Value::as_str);
        assert_eq!(probe.ty.as_deref(), ty, "the type field");
    }
});
