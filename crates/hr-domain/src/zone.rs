//! A tenant's time zone: HR dates are calendar days in it.
//!
//! Access opens at the first instant of the start date and closes at the first instant
//! of the day after the end date, both in local time, then sent to Akiles in UTC. On a
//! day whose midnight does not exist (a daylight-saving jump at 00:00) the day starts at
//! the first instant that does exist. The zone database is compiled in, so the result
//! does not depend on the host's `/usr/share/zoneinfo`.

use std::fmt;

use time::{Date, OffsetDateTime};

/// An IANA time zone, such as `Europe/Madrid` or `UTC`.
#[derive(Clone)]
pub struct TimeZone {
    name: String,
    zone: jiff::tz::TimeZone,
}

/// Why a time zone name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not an IANA time zone name (such as Europe/Madrid or UTC)")]
pub struct UnknownTimeZone {
    pub name: String,
}

impl TimeZone {
    /// Looks an IANA name up (case-insensitively, as the zone database does).
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        let trimmed = name.trim();
        let unknown = || UnknownTimeZone {
            name: name.to_owned(),
        };
        if trimmed.is_empty() {
            return Err(unknown());
        }
        let zone = jiff::tz::TimeZone::get(trimmed).map_err(|_| unknown())?;
        let name = zone.iana_name().unwrap_or(trimmed).to_owned();
        Ok(Self { name, zone })
    }

    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self {
            name: "UTC".to_owned(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    /// The IANA name, in the database's spelling.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The local calendar date at `now`.
    pub fn date_at(&self, now: OffsetDateTime) -> Date {
        let Some(timestamp) = to_jiff(now) else {
            return now.date();
        };
        let local = timestamp.to_zoned_datetime(self.zone.clone()).date();
        from_jiff_date(local).unwrap_or_else(|| now.date())
    }

    /// The first instant of `date` in this zone, in UTC.
    pub fn start_of(&self, date: Date) -> OffsetDateTime {
        let civil = jiff::civil::Date::new(
            date.year() as i16,
            u8::from(date.month()) as i8,
            date.day() as i8,
        );
        let start = civil
            .and_then(|d| d.to_zoned_datetime(self.zone.clone()))
            .and_then(|z| z.start_of_day());
        match start {
            Ok(zoned) => {
                let seconds = zoned.timestamp().as_second();
                OffsetDateTime::from_unix_timestamp(seconds)
                    .unwrap_or_else(|_| date.midnight().assume_utc())
            }
            // Only dates outside jiff's range (years beyond ±9999) get here.
            Err(_) => date.midnight().assume_utc(),
        }
    }

    /// The first instant after the end of `date` (the start of the next day), in UTC.
    pub fn end_of(&self, date: Date) -> OffsetDateTime {
        match date.next_day() {
            Some(next) => self.start_of(next),
            None => date.midnight().assume_utc(),
        }
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::utc()
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl serde::Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> serde::Deserialize<'de> for TimeZone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        TimeZone::parse(&name).map_err(serde::de::Error::custom)
    }
}

fn to_jiff(at: OffsetDateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_second(at.unix_timestamp()).ok()
}

fn from_jiff_date(date: jiff::civil::Date) -> Option<Date> {
    let month = time::Month::try_from(date.month() as u8).ok()?;
    Date::from_calendar_date(i32::from(date.year()), month, date.day() as u8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn unknown_and_blank_names_are_refused() {
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse(" ").is_err());
        assert_eq!(
            TimeZone::parse("europe/madrid").unwrap().name(),
            "Europe/Madrid"
        );
    }

    #[test]
    fn start_of_day_follows_the_local_offset_across_daylight_saving() {
        let madrid = TimeZone::parse("Europe/Madrid").unwrap();

        // 2026-03-29: clocks go from 02:00 to 03:00; the day starts at +01:00.
        assert_eq!(
            madrid.start_of(date!(2026 - 03 - 29)),
            datetime!(2026-03-28 23:00 UTC)
        );
        assert_eq!(
            madrid.start_of(date!(2026 - 03 - 30)),
            datetime!(2026-03-29 22:00 UTC)
        );
        assert_eq!(
            madrid.end_of(date!(2026 - 10 - 25)),
            datetime!(2026-10-25 23:00 UTC)
        );
    }

    #[test]
    fn a_day_without_midnight_starts_at_its_first_instant() {
        // Santiago de Chile skips 00:00-01:00 on 2026-09-06.
        let santiago = TimeZone::parse("America/Santiago").unwrap();

        assert_eq!(
            santiago.start_of(date!(2026 - 09 - 06)),
            datetime!(2026-09-06 04:00 UTC)
        );
    }

    #[test]
    fn the_local_date_differs_from_utc_near_midnight() {
        let kiritimati = TimeZone::parse("Pacific/Kiritimati").unwrap();

        assert_eq!(
            kiritimati.date_at(datetime!(2026-05-03 10:30 UTC)),
            date!(2026 - 05 - 04)
        );
        assert_eq!(
            kiritimati.start_of(date!(2026 - 05 - 04)),
            datetime!(2026-05-03 10:00 UTC)
        );
        assert_eq!(
            TimeZone::utc().date_at(datetime!(2026-05-03 23:59 UTC)),
            date!(2026 - 05 - 03)
        );
    }

    #[test]
    fn a_midnight_that_happens_twice_starts_the_day_at_the_first_one() {
        // The Azores go from 01:00 (+00:00) back to 00:00 (-01:00) on 2026-10-25, and from
        // 00:00 (-01:00) on to 01:00 (+00:00) on 2026-03-29.
        let azores = TimeZone::parse("Atlantic/Azores").unwrap();

        assert_eq!(
            azores.start_of(date!(2026 - 10 - 25)),
            datetime!(2026-10-25 00:00 UTC)
        );
        assert_eq!(
            azores.end_of(date!(2026 - 10 - 25)),
            datetime!(2026-10-26 01:00 UTC)
        );
        assert_eq!(
            azores.start_of(date!(2026 - 03 - 29)),
            datetime!(2026-03-29 01:00 UTC)
        );
    }

    const ZONES: [&str; 8] = [
        "Europe/Madrid",
        "America/Santiago",
        "Atlantic/Azores",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
    ];

    proptest::proptest! {
        #[test]
        fn every_day_is_the_window_from_its_start_to_the_next_days_start(
            zone in proptest::sample::select(ZONES.to_vec()),
            days in 0i64..(366 * 15),
        ) {
            let zone = TimeZone::parse(zone).unwrap();
            let day = date!(2020 - 01 - 01) + time::Duration::days(days);
            let (start, end) = (zone.start_of(day), zone.end_of(day));
            let second = time::Duration::SECOND;

            proptest::prop_assert!(start < end);
            proptest::prop_assert_eq!(end, zone.start_of(day.next_day().unwrap()));
            proptest::prop_assert_eq!(zone.date_at(start), day);
            proptest::prop_assert_eq!(zone.date_at(end - second), day);
            proptest::prop_assert_eq!(zone.date_at(end), day.next_day().unwrap());
            proptest::prop_assert!(zone.date_at(start - second) < day);
        }
    }
}
