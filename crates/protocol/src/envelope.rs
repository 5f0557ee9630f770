//! Envelopes: a JSON header line, then items, each a JSON header line and a payload.
//!
//! ```text
//! Envelope = Headers { "\n" Item } [ "\n" ] ;
//! Item     = Headers "\n" Payload ;
//! ```
//!
//! An item with `length` has exactly that many payload bytes, followed by `\n` or the
//! end; without it, the payload runs to the next `\n`. Header lines may end in `\r\n`.
//! The parser borrows payloads from the input (no copies) and keeps headers as JSON
//! maps, so unknown keys survive. Unknown item types are kept, never rejected.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::item::ItemType;

/// Most items accepted in one envelope.
pub const MAX_ITEMS: usize = 1000;

/// A parsed envelope borrowing from its bytes.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The envelope header (`event_id`, `dsn`, `sdk`, `sent_at`, `trace`, …).
    pub header: Map<String, Value>,
    /// The items, in order.
    pub items: Vec<Item<'a>>,
}

/// One item.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// Its type.
    pub ty: ItemType,
    /// The item header (`type`, `length`, `content_type`, `filename`, …).
    pub header: Map<String, Value>,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Why an envelope was refused. The messages say what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Nothing but whitespace.
    #[error("empty envelope")]
    Empty,
    /// The first line is not a JSON object.
    #[error("invalid envelope header: {0}")]
    Header(String),
    /// An item header is not a JSON object with a string `type`.
    #[error("invalid header of item {index}: {message}")]
    ItemHeader {
        /// Zero-based item index.
        index: usize,
        /// What was wrong.
        message: String,
    },
    /// A length-prefixed payload is shorter than announced.
    #[error("item {index} is truncated: its header announces {expected} bytes but only {found} follow")]
    Truncated {
        /// Zero-based item index.
        index: usize,
        /// The announced length.
        expected: usize,
        /// The bytes present.
        found: usize,
    },
    /// Something other than a newline follows a header or a length-prefixed payload.
    #[error("expected a newline after {what} of item {index}")]
    MissingNewline {
        /// Zero-based item index (the envelope header counts as item 0 here too).
        index: usize,
        /// `the header` or `the payload`.
        what: &'static str,
    },
    /// More items than [`MAX_ITEMS`].
    #[error("the envelope has more than {MAX_ITEMS} items")]
    TooManyItems,
}

impl<'a> Envelope<'a> {
    /// Parses an envelope.
    pub fn parse(data: &'a [u8]) -> Result<Envelope<'a>, EnvelopeError> {
        if data.iter().all(u8::is_ascii_whitespace) {
            return Err(EnvelopeError::Empty);
        }
        let mut pos = 0;
        let header = read_header(data, &mut pos).map_err(EnvelopeError::Header)?;
        expect_line_end(data, &mut pos)
            .ok_or(EnvelopeError::MissingNewline { index: 0, what: "the envelope header" })?;

        let mut items = Vec::new();
        loop {
            // Blank lines between items (and the optional final newline) are tolerated.
            while pos < data.len() && (data[pos] == b'\n' || data[pos] == b'\r') {
                pos += 1;
            }
            if pos >= data.len() {
                break;
            }
            let index = items.len();
            if index >= MAX_ITEMS {
                return Err(EnvelopeError::TooManyItems);
            }
            let header = read_header(data, &mut pos).map_err(|message| EnvelopeError::ItemHeader { index, message })?;
            let ty = match header.get("type") {
                Some(Value::String(t)) if !t.is_empty() => ItemType::parse(t),
                _ => return Err(EnvelopeError::ItemHeader { index, message: "missing or non-string \"type\"".into() }),
            };
            let length = match header.get("length") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
                    Some(len) => Some(len),
                    None => {
                        return Err(EnvelopeError::ItemHeader {
                            index,
                            message: "\"length\" must be a non-negative integer".into(),
                        })
                    }
                },
                Some(_) => {
                    return Err(EnvelopeError::ItemHeader { index, message: "\"length\" must be a number".into() })
                }
            };
            // The header line ends here; an item at the very end may have no payload.
            if pos < data.len() {
                expect_line_end(data, &mut pos).ok_or(EnvelopeError::MissingNewline { index, what: "the header" })?;
            }
            let payload = match length {
                Some(len) => {
                    let available = data.len() - pos;
                    if len > available {
                        return Err(EnvelopeError::Truncated { index, expected: len, found: available });
                    }
                    let payload = &data[pos..pos + len];
                    pos += len;
                    if pos < data.len() {
                        expect_line_end(data, &mut pos)
                            .ok_or(EnvelopeError::MissingNewline { index, what: "the payload" })?;
                    }
                    payload
                }
                None => {
                    let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
                    let mut payload = &data[pos..end];
                    if payload.last() == Some(&b'\r') {
                        payload = &payload[..payload.len() - 1];
                    }
                    pos = (end + 1).min(data.len());
                    payload
                }
            };
            items.push(Item { ty, header, payload });
        }
        Ok(Envelope { header, items })
    }

    /// The envelope header's `event_id`, if valid.
    pub fn event_id(&self) -> Option<Uuid> {
        self.header.get("event_id").and_then(Value::as_str).and_then(|s| Uuid::try_parse(s).ok())
    }

    /// The envelope header's `dsn`.
    pub fn dsn(&self) -> Option<&str> {
        self.header.get("dsn").and_then(Value::as_str)
    }
}

impl Item<'_> {
    /// A string field of the item header.
    pub fn header_str(&self, key: &str) -> Option<&str> {
        self.header.get(key).and_then(Value::as_str)
    }
}

/// Reads one JSON object starting at `pos` and advances past it.
fn read_header(data: &[u8], pos: &mut usize) -> Result<Map<String, Value>, String> {
    let mut stream = serde_json::Deserializer::from_slice(&data[*pos..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(Value::Object(map))) => {
            *pos += stream.byte_offset();
            Ok(map)
        }
        Some(Ok(_)) => Err("not a JSON object".into()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("missing".into()),
    }
}

/// Skips spaces and an optional `\r`, then requires `\n` (or the end of data).
fn expect_line_end(data: &[u8], pos: &mut usize) -> Option<()> {
    while *pos < data.len() && (data[*pos] == b' ' || data[*pos] == b'\t' || data[*pos] == b'\r') {
        *pos += 1;
    }
    match data.get(*pos) {
        None => Some(()),
        Some(b'\n') => {
            *pos += 1;
            Some(())
        }
        Some(_) => None,
    }
}

/// Builds an envelope (for the endpoints that receive other formats).
#[derive(Debug, Clone)]
pub struct EnvelopeWriter {
    buf: Vec<u8>,
}

impl EnvelopeWriter {
    /// Starts an envelope with this header.
    pub fn new(header: &Value) -> EnvelopeWriter {
        let mut buf = serde_json::to_vec(header).unwrap_or_else(|_| b"{}".to_vec());
        buf.push(b'\n');
        EnvelopeWriter { buf }
    }

    /// Appends an item; `length` is set from the payload.
    pub fn item(&mut self, mut header: Map<String, Value>, payload: &[u8]) -> &mut Self {
        header.insert("length".into(), Value::from(payload.len()));
        self.buf.extend(serde_json::to_vec(&header).unwrap_or_default());
        self.buf.push(b'\n');
        self.buf.extend_from_slice(payload);
        self.buf.push(b'\n');
        self
    }

    /// The envelope bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// An item header with just a type (and optional extra fields added by the caller).
pub fn item_header(ty: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("type".into(), Value::from(ty));
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_and_newline_terminated_items() {
        let data = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://k@h/1\"}\n\
{\"type\":\"attachment\",\"length\":10,\"filename\":\"a.txt\"}\n\xef\xbb\xbfHello\r\n\n\
{\"type\":\"event\"}\n{\"message\":\"hi\"}\n";
        let env = Envelope::parse(data).unwrap();
        assert_eq!(env.event_id().unwrap().simple().to_string(), "9ec79c33ec9942ab8353589fcb2e04dc");
        assert_eq!(env.dsn(), Some("https://k@h/1"));
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].ty, ItemType::Attachment);
        assert_eq!(env.items[0].payload, b"\xef\xbb\xbfHello\r\n");
        assert_eq!(env.items[0].header_str("filename"), Some("a.txt"));
        assert_eq!(env.items[1].ty, ItemType::Event);
        assert_eq!(env.items[1].payload, b"{\"message\":\"hi\"}");
    }

    #[test]
    fn crlf_no_trailing_newline_and_empty_payloads() {
        let env =
            Envelope::parse(b"{}\r\n{\"type\":\"event\",\"length\":2}\r\n{}\r\n{\"type\":\"session\"}\r\n{\"x\":1}")
                .unwrap();
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].payload, b"{}");
        assert_eq!(env.items[1].payload, b"{\"x\":1}");
        let env =
            Envelope::parse(b"{}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"client_report\"}").unwrap();
        assert_eq!(env.items.len(), 2);
        assert!(env.items[0].payload.is_empty() && env.items[1].payload.is_empty());
        assert!(Envelope::parse(b"{}").unwrap().items.is_empty(), "no items is valid");
    }

    #[test]
    fn unknown_types_are_kept() {
        let env = Envelope::parse(b"{}\n{\"type\":\"statsd\"}\nfoo:1|c\n{\"type\":\"event\"}\n{}\n").unwrap();
        assert_eq!(env.items[0].ty, ItemType::Unknown("statsd".into()));
        assert_eq!(env.items[1].ty, ItemType::Event);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(Envelope::parse(b"  \n").unwrap_err(), EnvelopeError::Empty);
        assert!(matches!(Envelope::parse(b"{not json}\n"), Err(EnvelopeError::Header(_))));
        assert!(matches!(Envelope::parse(b"[1]\n"), Err(EnvelopeError::Header(m)) if m == "not a JSON object"));
        assert_eq!(
            Envelope::parse(b"{}\n{\"type\":\"event\",\"length\":50}\n{\"a\":1}\n").unwrap_err(),
            EnvelopeError::Truncated { index: 0, expected: 50, found: 8 }
        );
        assert!(matches!(
            Envelope::parse(b"{}\n{\"length\":2}\n{}\n"),
            Err(EnvelopeError::ItemHeader { index: 0, .. })
        ));
        assert_eq!(
            Envelope::parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}xx\n").unwrap_err(),
            EnvelopeError::MissingNewline { index: 0, what: "the payload" }
        );
        assert_eq!(
            Envelope::parse(b"{} trailing\n").unwrap_err(),
            EnvelopeError::MissingNewline { index: 0, what: "the envelope header" }
        );
        let msg = Envelope::parse(b"{}\n{\"type\":\"event\",\"length\":-1}\n").unwrap_err().to_string();
        assert!(msg.contains("non-negative"), "{msg}");
    }

    #[test]
    fn writer_round_trips() {
        let mut w = EnvelopeWriter::new(&serde_json::json!({"event_id": "9ec79c33ec9942ab8353589fcb2e04dc"}));
        w.item(item_header("event"), b"{\"message\":\"a\nb\"}");
        w.item(item_header("attachment"), b"line1\nline2\n");
        let bytes = w.finish();
        let env = Envelope::parse(&bytes).unwrap();
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[1].payload, b"line1\nline2\n");
    }
}
