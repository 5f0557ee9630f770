//! The stored form of time.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant stored as unix microseconds (BIGINT) on both backends.
/// Serializes as RFC 3339 with microseconds and `Z`, the API's format.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
#[sqlx(transparent)]
pub struct Timestamp(i64);

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SEC;

impl Timestamp {
    /// Now.
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(Utc::now())
    }

    /// From unix microseconds.
    pub const fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    /// From (fractional) unix seconds, as SDKs send them.
    pub fn from_secs_f64(secs: f64) -> Option<Timestamp> {
        let micros = (secs * 1e6).round();
        (micros.is_finite() && micros.abs() < 9.0e18).then_some(Timestamp(micros as i64))
    }

    /// From a chrono time.
    pub fn from_datetime(dt: DateTime<Utc>) -> Timestamp {
        Timestamp(dt.timestamp_micros())
    }

    /// Unix microseconds.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// As a chrono time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0).single().unwrap_or_default()
    }

    /// RFC 3339 with microseconds, e.g. `2024-05-01T12:00:00.123456Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// Parses RFC 3339.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(text).ok().map(|dt| Timestamp::from_datetime(dt.with_timezone(&Utc)))
    }

    /// The start of the hour this instant falls in.
    pub fn hour_bucket(self) -> Timestamp {
        Timestamp(self.0.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR)
    }

    /// This instant moved by `secs` seconds (negative moves back).
    pub fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs.saturating_mul(MICROS_PER_SEC)))
    }

    /// This instant moved by a duration.
    pub fn plus(self, d: std::time::Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_buckets() {
        let t = Timestamp::parse_rfc3339("2024-05-01T12:34:56.789012Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T12:34:56.789012Z");
        assert_eq!(t.hour_bucket().to_rfc3339(), "2024-05-01T12:00:00.000000Z");
        assert_eq!(Timestamp::from_secs_f64(1.5).unwrap().micros(), 1_500_000);
        assert!(Timestamp::from_secs_f64(f64::NAN).is_none());
        assert_eq!(Timestamp::from_micros(-1).hour_bucket().micros(), -MICROS_PER_HOUR);
    }
}
