//! A validating scan of an event payload at ingest: checks that it is well-formed
//! JSON (RFC 8259: valid UTF-8, escapes, numbers; nesting at most 128 deep,
//! serde_json's limit) and picks out the few top-level fields ingest needs, in one pass
//! and without building the document. Ingest runs it on every event, so it skips over
//! string contents with `memchr` rather than visiting each byte.

use uuid::Uuid;

/// What ingest learns from an event payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventProbe {
    /// `event_id`, when present and a valid UUID.
    pub event_id: Option<Uuid>,
    /// `type` (`transaction`, `feedback`, …), when present.
    pub ty: Option<String>,
}

/// The payload is not an acceptable JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event JSON: {0}")]
pub struct ProbeError(pub String);

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// Scans an event (or transaction) payload.
pub fn probe_event(payload: &[u8]) -> Result<EventProbe, ProbeError> {
    // JSON's whitespace only (not `trim_ascii_start`'s, which includes form feed).
    let start = payload.iter().position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t')).unwrap_or(payload.len());
    if payload.get(start) != Some(&b'{') {
        return Err(ProbeError("expected a JSON object".into()));
    }
    // Checking all of the UTF-8 at once is much faster than per string.
    std::str::from_utf8(payload).map_err(|e| ProbeError(format!("not valid UTF-8 ({e})")))?;
    let mut scanner = Scanner { b: payload, i: start };
    let mut probe = EventProbe { event_id: None, ty: None };
    scanner.document(&mut probe)?;
    Ok(probe)
}

/// The index of the first byte of `s` that ends plain string content: `"`, `\` or a
/// control character. Eight bytes at a time (SWAR): most strings in events are short,
/// where this beats a `memchr` call.
#[inline(always)]
fn special(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // The high bit of each byte that is zero (after the XORs) or below 0x20. Bits
        // above the first hit may be false positives; the first one is exact.
        let hits = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGH;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| at + p)
}

/// The top-level keys whose values the probe keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wanted {
    EventId,
    Type,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

/// Where the scanner is in the grammar.
enum State {
    /// Just after `{` or `[`: a member, an element or the closing bracket.
    Opened,
    /// An object key (after `{` or `,`).
    Key,
    /// A value.
    Value,
    /// After a value: `,` or the closing bracket.
    Done,
}

impl Scanner<'_> {
    #[cold]
    #[inline(never)]
    fn error(&self, what: &str) -> ProbeError {
        match self.b.get(self.i) {
            None => ProbeError(format!("{what}, found the end of the payload")),
            Some(_) => ProbeError(format!("{what} at byte {}", self.i)),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// The whole payload: one object and nothing after it but whitespace.
    fn document(&mut self, probe: &mut EventProbe) -> Result<(), ProbeError> {
        // One bit per level: set for an object, clear for an array.
        let mut objects = [false; MAX_DEPTH + 1];
        let mut depth = 0usize;
        let mut wanted = None;
        let mut state = State::Value;
        loop {
            self.skip_ws();
            state = match state {
                State::Opened => match self.peek() {
                    Some(b'}') if objects[depth] => {
                        self.i += 1;
                        depth -= 1;
                        State::Done
                    }
                    Some(b']') if !objects[depth] => {
                        self.i += 1;
                        depth -= 1;
                        State::Done
                    }
                    _ if objects[depth] => State::Key,
                    _ => State::Value,
                },
                State::Key => {
                    if self.peek() != Some(b'"') {
                        return Err(self.error("expected a key"));
                    }
                    self.i += 1;
                    let key = self.string()?;
                    wanted = None;
                    if depth == 1 {
                        wanted = match self.text(key)?.as_deref() {
                            Some("event_id") => Some(Wanted::EventId),
                            Some("type") => Some(Wanted::Type),
                            _ => None,
                        };
                    }
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.error("expected `:`"));
                    }
                    self.i += 1;
                    State::Value
                }
                State::Value => {
                    let here = wanted.take().filter(|_| depth == 1);
                    // A repeated key counts as its last value, as in serde_json; one
                    // that is not a string clears what an earlier one set.
                    match here {
                        Some(Wanted::EventId) => probe.event_id = None,
                        Some(Wanted::Type) => probe.ty = None,
                        None => {}
                    }
                    match self.peek() {
                        Some(c @ (b'{' | b'[')) => {
                            if depth == MAX_DEPTH {
                                return Err(ProbeError(format!("nested more than {MAX_DEPTH} levels deep")));
                            }
                            self.i += 1;
                            depth += 1;
                            objects[depth] = c == b'{';
                            State::Opened
                        }
                        Some(b'"') => {
                            self.i += 1;
                            let span = self.string()?;
                            if let Some(w) = here {
                                let text = self.text(span)?;
                                match w {
                                    Wanted::EventId => {
                                        probe.event_id = text.and_then(|s| Uuid::try_parse(&s).ok());
                                    }
                                    Wanted::Type => probe.ty = text,
                                }
                            }
                            State::Done
                        }
                        Some(b'-' | b'0'..=b'9') => {
                            self.number()?;
                            State::Done
                        }
                        Some(b't') => self.literal(b"true")?,
                        Some(b'f') => self.literal(b"false")?,
                        Some(b'n') => self.literal(b"null")?,
                        _ => return Err(self.error("expected a value")),
                    }
                }
                State::Done => {
                    if depth == 0 {
                        return match self.peek() {
                            None => Ok(()),
                            Some(_) => Err(self.error("trailing characters")),
                        };
                    }
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            if objects[depth] {
                                State::Key
                            } else {
                                State::Value
                            }
                        }
                        Some(b'}') if objects[depth] => {
                            self.i += 1;
                            depth -= 1;
                            State::Done
                        }
                        Some(b']') if !objects[depth] => {
                            self.i += 1;
                            depth -= 1;
                            State::Done
                        }
                        _ => {
                            return Err(self.error(if objects[depth] {
                                "expected `,` or `}`"
                            } else {
                                "expected `,` or `]`"
                            }))
                        }
                    }
                }
            };
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<State, ProbeError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(State::Done)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - from
    }

    fn number(&mut self) -> Result<(), ProbeError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        // serde_json refuses numbers beyond f64's range; only long ones or ones with an
        // exponent can be.
        let text = &self.b[start..self.i];
        if text.len() > 17 || text.iter().any(|c| matches!(c, b'e' | b'E')) {
            let finite = std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()).is_some_and(f64::is_finite);
            if !finite {
                self.i = start;
                return Err(self.error("number out of range"));
            }
        }
        Ok(())
    }

    /// A string whose opening quote was just consumed; returns the span of its
    /// contents and whether they hold escapes, and consumes the closing quote.
    #[inline(always)]
    fn string(&mut self) -> Result<(usize, usize, bool), ProbeError> {
        let start = self.i;
        let mut escaped = false;
        loop {
            let Some(at) = special(&self.b[self.i..]) else {
                self.i = self.b.len();
                return Err(self.error("unterminated string"));
            };
            self.i += at;
            if self.b[self.i] < 0x20 {
                return Err(self.error("control character in a string"));
            }
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Ok((start, self.i - 1, escaped));
            }
            escaped = true;
            self.i += 1;
            match self.peek() {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                Some(b'u') => {
                    self.i += 1;
                    let unit = self.hex4()?;
                    if (0xDC00..0xE000).contains(&unit) {
                        return Err(self.error("lone trailing surrogate in a \\u escape"));
                    }
                    if (0xD800..0xDC00).contains(&unit) {
                        if !self.b[self.i..].starts_with(b"\\u") {
                            return Err(self.error("lone leading surrogate in a \\u escape"));
                        }
                        self.i += 2;
                        if !(0xDC00..0xE000).contains(&self.hex4()?) {
                            return Err(self.error("invalid surrogate pair in a \\u escape"));
                        }
                    }
                }
                _ => return Err(self.error("invalid escape")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ProbeError> {
        let Some(digits) = self.b.get(self.i..self.i + 4) else {
            self.i = self.b.len();
            return Err(self.error("expected four hex digits"));
        };
        let mut unit = 0;
        for &d in digits {
            let v = (d as char).to_digit(16).ok_or_else(|| self.error("expected four hex digits"))?;
            unit = unit * 16 + v;
        }
        self.i += 4;
        Ok(unit)
    }

    /// The text of a scanned string (decoding its escapes, which is rare).
    fn text(&self, (start, end, escaped): (usize, usize, bool)) -> Result<Option<String>, ProbeError> {
        let raw = &self.b[start..end];
        if !escaped {
            // The payload was checked to be UTF-8 and quotes are ASCII.
            return Ok(std::str::from_utf8(raw).ok().map(str::to_owned));
        }
        serde_json::from_slice::<String>(&self.b[start - 1..=end]).map(Some).map_err(|e| ProbeError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_id_and_type() {
        let p =
            probe_event(br#"{"event_id":"9ec79c33-ec99-42ab-8353-589fcb2e04dc","type":"transaction","x":[1,{"y":2}]}"#)
                .unwrap();
        assert_eq!(p.event_id.unwrap().simple().to_string(), "9ec79c33ec9942ab8353589fcb2e04dc");
        assert_eq!(p.ty.as_deref(), Some("transaction"));
        assert_eq!(probe_event(br#"{"exception":{"values":[]}}"#).unwrap().ty, None);
        let nested =
            probe_event(br#"{"extra":{"type":"inner","event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}}"#).unwrap();
        assert_eq!((nested.ty, nested.event_id), (None, None), "only top-level keys count");
        let escaped =
            probe_event(br#"{"type":"trans\u0061ction","ev\u0065nt_id":"9ec79c33ec9942ab8353589fcb2e04dc"}"#).unwrap();
        assert_eq!(escaped.ty.as_deref(), Some("transaction"));
        assert!(escaped.event_id.is_some());
        assert_eq!(probe_event(br#"{"event_id":42}"#).unwrap().event_id, None, "lenient about odd ids");
    }

    #[test]
    fn refuses_bad_json() {
        assert!(probe_event(b"[1,2]").is_err());
        assert!(probe_event(b"{\"a\":").is_err());
        assert!(probe_event(b"{\"a\":\"\xff\xfe\"}").unwrap_err().0.contains("UTF-8"));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(probe_event(deep.as_bytes()).unwrap_err().0.contains("nested more than 128"));
        let brackets_in_strings = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(200), "{".repeat(200));
        assert!(probe_event(brackets_in_strings.as_bytes()).is_ok(), "{brackets_in_strings}");
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(probe_event(ok.as_bytes()).is_ok());
        let limit = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(probe_event(limit.as_bytes()).is_ok(), "the object and 127 arrays are 128 levels");
        let over = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(probe_event(over.as_bytes()).is_err());
    }

    /// The scan accepts exactly what serde_json accepts, on valid and broken JSON.
    #[test]
    fn agrees_with_serde_json() {
        let cases: &[&[u8]] = &[
            br#"{}"#,
            br#" { "a" : [ 1 , -2.5e+3 , 0 , true , false , null , "x" , { } , [ ] ] } "#,
            br#"{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}"#,
            br#"{"a":01}"#,
            br#"{"a":1.}"#,
            br#"{"a":.5}"#,
            br#"{"a":1e}"#,
            br#"{"a":-}"#,
            br#"{"a":+1}"#,
            br#"{"a":tru}"#,
            br#"{"a":nulll}"#,
            br#"{"a":1,}"#,
            br#"{"a":[1,]}"#,
            br#"{"a" 1}"#,
            br#"{a:1}"#,
            br#"{"a":1}}"#,
            br#"{"a":1} x"#,
            br#"{"a":[1}"#,
            br#"{"a":{]}"#,
            br#"{"a":"\x"}"#,
            br#"{"a":"\u12"}"#,
            br#"{"a":"\u12G4"}"#,
            br#"{"a":"\ud800"}"#,
            br#"{"a":"\ud800\u0041"}"#,
            br#"{"a":"\udc00"}"#,
            b"{\"a\":\"tab\there\"}",
            b"{\"a\":\"line\nbreak\"}",
            br#"{"a":"unterminated}"#,
            br#"{"a":"#,
            br#"{"#,
            br#"{"a":[[[[]]]],"b":{"c":{"d":[{"e":null}]}}}"#,
            br#"{"a":1e308,"b":-1.5E-400,"c":123456789012345678901234567890}"#,
            br#"{"a":1e400}"#,
            br#"{"a":-1e309}"#,
            b"\x0c{}",
            b" \t\r\n{} \n",
            b"{}\x0c",
        ];
        let repeated = probe_event(
            br#"{"type":"transaction","type":{"x":1},"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","event_id":7}"#,
        )
        .unwrap();
        assert_eq!((repeated.ty, repeated.event_id), (None, None), "the last of repeated keys counts");
        for case in cases {
            let ours = probe_event(case).is_ok();
            let theirs = serde_json::from_slice::<serde_json::Value>(case).is_ok_and(|v| v.is_object());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn finds_the_first_special_byte() {
        for text in ["", "abc", "abcdefgh", "abcdefghijklmnop", "é€😀 plain text that is long enough"] {
            assert_eq!(special(text.as_bytes()), None, "{text}");
        }
        for (text, at) in
            [("a\"", 1), ("abcdefgh\\x", 8), ("abcdefg\u{1}", 7), ("ab\"cd\"ef", 2), ("éé\"", 4), ("\u{1f}", 0)]
        {
            assert_eq!(special(text.as_bytes()), Some(at), "{text:?}");
        }
        // Every position within and across words.
        for len in 0..20 {
            for at in 0..len {
                for c in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = c;
                    assert_eq!(special(&bytes), Some(at), "len {len}, at {at}, byte {c:#x}");
                }
            }
        }
    }

    /// Random corruptions of a realistic event: the scan and serde_json agree on each.
    #[test]
    fn agrees_with_serde_json_on_corruptions() {
        let event = br#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","level":"error","timestamp":1700000000.25,
            "exception":{"values":[{"type":"ValueError","value":"bad \"x\" \u00e9","stacktrace":{"frames":[
            {"filename":"a.py","lineno":12,"in_app":true,"vars":{"n":-1.5e-3,"s":null,"l":[1,2,{}]}}]}}]},
            "tags":[["a","b"]],"extra":{"nested":{"deep":[[[]]]}}}"#;
        let alphabet = b"{}[]\",:\\ 0123456789.eE+-tfnulxau\x01\n";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut case = event.to_vec();
            for _ in 0..(next() % 3 + 1) {
                let at = (next() % case.len() as u64) as usize;
                match next() % 3 {
                    0 => case[at] = alphabet[(next() % alphabet.len() as u64) as usize],
                    1 => {
                        case.remove(at);
                    }
                    _ => case.insert(at, alphabet[(next() % alphabet.len() as u64) as usize]),
                }
            }
            let ours = probe_event(&case).is_ok();
            let theirs = serde_json::from_slice::<serde_json::Value>(&case).is_ok_and(|v| v.is_object());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(&case));
        }
    }
}
