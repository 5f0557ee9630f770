//! The Sentry wire protocol, as pure functions: no I/O, no async, no database.
//!
//! - [`dsn`]: parsing and formatting DSNs.
//! - [`auth`]: public keys and the `X-Sentry-Auth` / `Authorization` header forms.
//! - [`decode`]: `Content-Encoding` and legacy store bodies, with size caps enforced
//!   while decompressing.
//! - [`envelope`]: the streaming envelope parser and a writer.
//! - [`item`]: envelope item types and their rate-limit categories.
//! - [`security`]: browser security reports (CSP `report-uri` and `report-to`).
//! - [`probe`]: a cheap validating scan of event JSON that finds its id and type.

pub mod auth;
pub mod decode;
pub mod dsn;
pub mod envelope;
pub mod item;
pub mod probe;
pub mod security;

pub use security::{parse_security_report, SecurityReportError};

pub use auth::{normalize_key, parse_basic_auth, parse_sentry_auth};
pub use decode::{
    decode_body, decode_into, decode_store_body, decoded_size_hint, ContentEncoding, DecodeError, SinkFull,
};
pub use dsn::Dsn;
pub use envelope::{Envelope, EnvelopeError, EnvelopeWriter, Item};
pub use item::{DataCategory, ItemType};
pub use probe::{probe_event, EventProbe, ProbeError};
