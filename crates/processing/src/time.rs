//! Timestamps: lenient parsing (unix seconds or RFC 3339, with or without a zone),
//! clock-drift correction and the future/past limits.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Number, Value};

use crate::util::{Errors, Object};

/// Microseconds since the unix epoch.
pub(crate) type Micros = i64;

/// Events more than this far in the future (relative to receipt) get the received time.
pub(crate) const MAX_SECS_IN_FUTURE: i64 = 60;
/// Events older than this get the received time.
pub(crate) const MAX_SECS_IN_PAST: i64 = 30 * 24 * 3600;
/// Drift between the SDK's and the server's clocks below this is ignored.
pub(crate) const MINIMUM_CLOCK_DRIFT_SECS: i64 = 55 * 60;

/// Latest accepted instant (year 9999), to keep chrono conversions total.
const MAX_MICROS: i64 = 253_402_300_799_000_000;

/// Parses a timestamp value: a number of seconds, a numeric string, or an RFC 3339
/// string (a missing zone means UTC).
pub(crate) fn parse(v: &Value) -> Option<Micros> {
    match v {
        Value::Number(n) => n.as_f64().and_then(from_secs_f64),
        Value::String(s) => parse_str(s),
        _ => None,
    }
}

fn from_secs_f64(f: f64) -> Option<Micros> {
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    let micros = (f * 1_000_000.0).round();
    if micros > MAX_MICROS as f64 {
        return None;
    }
    Some(micros as i64)
}

fn parse_str(s: &str) -> Option<Micros> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s.parse::<f64>().ok().and_then(from_secs_f64);
    }
    if let Some(m) = parse_rfc3339_common(s.as_bytes()) {
        return checked(m);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return checked(dt.timestamp_micros());
    }
    // Offsets without a colon, space separators and more than 9 fraction digits.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return checked(dt.timestamp_micros());
        }
    }
    let naive = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, fmt) {
            return checked(Utc.from_utc_datetime(&dt).timestamp_micros());
        }
    }
    // Fractions longer than chrono accepts: cut to microseconds and retry.
    if let Some(dot) = naive.find('.') {
        let digits_end = naive[dot + 1..].find(|c: char| !c.is_ascii_digit()).map_or(naive.len(), |i| dot + 1 + i);
        if digits_end - dot - 1 > 9 {
            let mut shortened = String::with_capacity(naive.len());
            shortened.push_str(&naive[..(dot + 7).min(digits_end)]);
            shortened.push_str(&naive[digits_end..]);
            if s.ends_with(['Z', 'z']) {
                shortened.push('Z');
            }
            return parse_str(&shortened);
        }
    }
    None
}

/// The common RFC 3339 shapes (`2020-05-13T00:37:49.130239Z`, `…+02:00`), parsed without
/// chrono's general machinery. `None` for anything else (including leap seconds and
/// out-of-range fields), which then goes through chrono; where this returns a value,
/// chrono's `parse_from_rfc3339(..).timestamp_micros()` gives the same one.
fn parse_rfc3339_common(b: &[u8]) -> Option<Micros> {
    if b.len() < 20 {
        return None;
    }
    let d = |i: usize| -> Option<i64> { b[i].is_ascii_digit().then(|| i64::from(b[i] - b'0')) };
    let two = |i: usize| -> Option<i64> { Some(d(i)? * 10 + d(i + 1)?) };
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, min, sec) = (two(11)?, two(14)?, two(17)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let [h1, h2, m1, m2] = digits.map(|c| i64::from(c - b'0'));
            let (h, m) = (h1 * 10 + h2, m1 * 10 + m2);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Some(secs * 1_000_000 + nanos / 1000)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn checked(m: Micros) -> Option<Micros> {
    (0..=MAX_MICROS).contains(&m).then_some(m)
}

/// Converts to a chrono UTC time (saturating at the representable range).
pub(crate) fn to_datetime(m: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m.clamp(0, MAX_MICROS)).unwrap_or_default()
}

/// A JSON float of seconds, as Sentry stores timestamps.
pub(crate) fn to_value(m: Micros) -> Value {
    Number::from_f64(m as f64 / 1_000_000.0).map_or(Value::Null, Value::Number)
}

/// `2020-05-13T00:37:49.130Z`, rounded to milliseconds, as Sentry's API shows times.
pub(crate) fn to_api_string(m: Micros) -> String {
    let ms = (m.clamp(0, MAX_MICROS) + 500).div_euclid(1000);
    let secs = (ms * 1000).clamp(0, MAX_MICROS).div_euclid(1_000_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let mut out = [0u8; 24];
    let mut put = |at: usize, n: i64, width: usize| {
        let mut n = n;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, tod / 3600, 2);
    put(14, tod / 60 % 60, 2);
    put(17, tod % 60, 2);
    put(20, ms.rem_euclid(1000), 3);
    for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')] {
        out[i] = c;
    }
    std::str::from_utf8(&out).map(str::to_owned).unwrap_or_default()
}

/// Clock drift to apply to every timestamp of the event, when the SDK's clock is off
/// by at least 55 minutes (`received − sent_at`).
pub(crate) fn clock_drift(received: Micros, sent_at: Option<Micros>) -> Option<i64> {
    let sent = sent_at?;
    let drift = received - sent;
    (drift.abs() >= MINIMUM_CLOCK_DRIFT_SECS * 1_000_000).then_some(drift)
}

/// A parsed time shifted by the clock drift, within the representable range.
pub(crate) fn shift(m: Micros, drift: i64) -> Micros {
    (m + drift).clamp(0, MAX_MICROS)
}

/// Normalizes a timestamp field in place: parsed, shifted by the drift, stored as float
/// seconds. An unparsable value is dropped with an `invalid_data` error.
pub(crate) fn normalize_field(
    obj: &mut Object,
    key: &str,
    path: impl std::fmt::Display,
    drift: i64,
    errors: &mut Errors,
) -> Option<Micros> {
    let v = obj.get(key)?;
    if v.is_null() {
        obj.remove(key);
        return None;
    }
    match parse(v) {
        Some(m) => {
            let m = shift(m, drift);
            if let Some(slot) = obj.get_mut(key) {
                *slot = to_value(m);
            }
            Some(m)
        }
        None => {
            if let Some(bad) = obj.remove(key) {
                errors.invalid(path, bad);
            }
            None
        }
    }
}

/// Applies the future/past limits to the event's own timestamp: a time more than 60 s
/// ahead of or more than 30 days behind the receipt becomes the received time.
pub(crate) fn check_limits(ts: Micros, received: Micros, errors: &mut Errors) -> Micros {
    let ty = if ts > received + MAX_SECS_IN_FUTURE * 1_000_000 {
        "future_timestamp"
    } else if ts < received - MAX_SECS_IN_PAST * 1_000_000 {
        "past_timestamp"
    } else {
        return ts;
    };
    let mut extra = Object::new();
    extra.insert("sdk_time".into(), Value::String(to_api_string(ts)));
    extra.insert("server_time".into(), Value::String(to_api_string(received)));
    errors.push(ty, "timestamp", extra);
    received
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Option<String> {
        parse(&v).map(to_api_string)
    }

    #[test]
    fn parses_floats_and_strings() {
        assert_eq!(p(json!(1648917513.218)), Some("2022-04-02T16:38:33.218Z".into()));
        assert_eq!(p(json!("1648917513.218")), Some("2022-04-02T16:38:33.218Z".into()));
        assert_eq!(p(json!("2020-04-25T19:36:56.584908333Z")), Some("2020-04-25T19:36:56.585Z".into()));
        assert_eq!(p(json!("2020-05-12T22:30:36.0021839+00:00")), Some("2020-05-12T22:30:36.002Z".into()));
        assert_eq!(p(json!("2020-05-13T00:37:49.130239")), Some("2020-05-13T00:37:49.130Z".into()));
        assert_eq!(p(json!("2020-05-13T00:37:49")), Some("2020-05-13T00:37:49.000Z".into()));
        assert_eq!(p(json!("2020-05-13 02:37:49+0200")), Some("2020-05-13T00:37:49.000Z".into()));
        assert_eq!(p(json!("2020-05-13T00:37:49.1302391234567Z")), Some("2020-05-13T00:37:49.130Z".into()));
        assert_eq!(p(json!("yesterday")), None);
        assert_eq!(p(json!(-1)), None);
        assert_eq!(p(json!(1e300)), None);
        assert_eq!(p(json!({})), None);
        assert_eq!(parse(&json!("2020-05-13T00:37:49.130239Z")), Some(1589330269130239));
        assert_eq!(to_value(1589330269130239), json!(1589330269.130239));
    }

    /// The fast RFC 3339 path agrees with chrono wherever it answers, and the API
    /// string with chrono's formatting.
    #[test]
    fn fast_paths_agree_with_chrono() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let bases = [
            "2020-05-13T00:37:49.130239Z",
            "2020-02-29T23:59:59+23:59",
            "1999-12-31t00:00:00.1-05:30",
            "2000-02-29 12:34:56.123456789123z",
            "1969-12-31T23:59:59.999999Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999+00:00",
        ];
        let alphabet = b"0123456789-:.TtZz+ 9";
        for i in 0..200_000 {
            let mut s = bases[i % bases.len()].as_bytes().to_vec();
            for _ in 0..(next() % 3) {
                let at = (next() as usize) % s.len();
                s[at] = alphabet[(next() as usize) % alphabet.len()];
            }
            if next() % 10 == 0 {
                s.truncate((next() as usize) % s.len());
            }
            let s = String::from_utf8(s).unwrap();
            if let Some(m) = parse_rfc3339_common(s.as_bytes()) {
                let dt = DateTime::parse_from_rfc3339(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
                assert_eq!(m, dt.timestamp_micros(), "{s}");
            }
        }
        for _ in 0..200_000 {
            let m = (next() % (MAX_MICROS as u64 + 2_000_000)) as i64 - 1_000_000;
            let ms = (m.clamp(0, MAX_MICROS) + 500).div_euclid(1000);
            let want = to_datetime(ms * 1000).format("%Y-%m-%dT%H:%M:%S").to_string()
                + &format!(".{:03}Z", ms.rem_euclid(1000));
            assert_eq!(to_api_string(m), want, "{m}");
        }
        for m in [0, 1, 499, 500, MAX_MICROS - 500, MAX_MICROS - 499, MAX_MICROS, i64::MAX / 2, -5] {
            let ms = (m.clamp(0, MAX_MICROS) + 500).div_euclid(1000);
            let want = to_datetime(ms * 1000).format("%Y-%m-%dT%H:%M:%S").to_string()
                + &format!(".{:03}Z", ms.rem_euclid(1000));
            assert_eq!(to_api_string(m), want, "{m}");
        }
    }

    #[test]
    fn drift_threshold() {
        let r = 1_000_000_000_000_000;
        assert_eq!(clock_drift(r, Some(r - 54 * 60 * 1_000_000)), None);
        assert_eq!(clock_drift(r, Some(r - 55 * 60 * 1_000_000)), Some(55 * 60 * 1_000_000));
        assert_eq!(clock_drift(r, Some(r + 2 * 3600 * 1_000_000)), Some(-2 * 3600 * 1_000_000));
        assert_eq!(clock_drift(r, None), None);
    }

    #[test]
    fn limits() {
        let r = 1_600_000_000_000_000;
        let mut e = Errors::default();
        assert_eq!(check_limits(r + 59_000_000, r, &mut e), r + 59_000_000);
        assert_eq!(check_limits(r + 61_000_000, r, &mut e), r);
        assert_eq!(check_limits(r - 31 * 86_400_000_000, r, &mut e), r);
        assert_eq!(check_limits(r - 29 * 86_400_000_000, r, &mut e), r - 29 * 86_400_000_000);
        assert_eq!(e.list.len(), 2);
        assert_eq!(e.list[0]["type"], "future_timestamp");
        assert_eq!(e.list[1]["type"], "past_timestamp");
    }
}
