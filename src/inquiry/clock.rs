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
            Clock::System => {
                let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
                jiff::Timestamp::now().to_zoned(zone).date()
            }
        }
    }
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
}
