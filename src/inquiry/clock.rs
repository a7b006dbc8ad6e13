//! "Today" for every rule, age and month row: the date in the service's time zone (SPEC §2),
//! or a fixed day for tests. The inquiry layer asks it once per inquiry; `rules` never reads a
//! clock (today is an argument there).

use jiff::civil::Date;

/// Where inquiries learn the date.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    /// The system clock, read in the service's time zone.
    System,
    /// The same day, whatever the time zone (tests).
    #[cfg(test)]
    Fixed(Date),
}

impl Clock {
    /// Today in the time zone `tz` (an IANA name; a name that is not known reads as UTC, and
    /// `daftar check` refuses a menu that names one).
    pub(crate) fn today(&self, tz: &str) -> Date {
        match self {
            #[cfg(test)]
            Clock::Fixed(date) => *date,
            Clock::System => date_in(jiff::Timestamp::now(), tz),
        }
    }
}

/// The date at `instant` in the time zone `tz` (UTC for a name that is not known).
fn date_in(instant: jiff::Timestamp, tz: &str) -> Date {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    instant.to_zoned(zone).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_date_in_the_service_zone() {
        let day = jiff::civil::date(2026, 3, 20);
        assert_eq!(Clock::Fixed(day).today("Asia/Tehran"), day);
        // Far east and far west of UTC are at most a day apart, and each is some real date.
        let east = Clock::System.today("Pacific/Kiritimati");
        let west = Clock::System.today("Pacific/Pago_Pago");
        let apart = east.since(west).map(|span| span.get_days()).unwrap_or(99);
        assert!((0..=2).contains(&apart), "{east} {west}");
        assert_eq!(
            Clock::System.today("Nowhere/Never"),
            Clock::System.today("UTC")
        );
    }

    #[test]
    fn in_tunis_the_day_turns_an_hour_before_utc() {
        // Africa/Tunis is UTC+1 all year (no summer time since 2009).
        let cases = [
            ("2026-03-15T22:59:59Z", "Africa/Tunis", (2026, 3, 15)),
            ("2026-03-15T23:00:00Z", "Africa/Tunis", (2026, 3, 16)),
            ("2026-03-15T23:00:00Z", "UTC", (2026, 3, 15)),
            ("2026-07-15T23:30:00Z", "Africa/Tunis", (2026, 7, 16)),
            ("2028-02-28T23:00:00Z", "Africa/Tunis", (2028, 2, 29)),
        ];
        for (instant, tz, (y, m, d)) in cases {
            let instant: jiff::Timestamp = instant.parse().expect("instant");
            assert_eq!(
                date_in(instant, tz),
                jiff::civil::date(y, m, d),
                "{instant} {tz}"
            );
        }
    }
}
