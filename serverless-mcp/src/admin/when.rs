//! Times as operators type them on the command line (`--since`, `--until`), validated as
//! calendar dates by the `time` crate (`2026-02-31` is refused, not rolled over), and as they
//! are shown (RFC 3339, UTC).

use shared::clock::{Clock, SystemClock, rfc3339};
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// What every time flag accepts, for error messages and help.
pub const ACCEPTED: &str =
    "2026-01-01, 2026-01-01T10:00, 2026-01-01T10:00:00Z (UTC), or an age such as 90m, 24h, 7d, 2w";

/// Epoch seconds as `2026-01-01T10:00:00Z`.
pub fn time(epoch_secs: i64) -> String {
    rfc3339(epoch_secs)
}

/// [`time`], or `none` when there is no time.
pub fn time_opt(epoch_secs: Option<i64>, none: &str) -> String {
    epoch_secs.map_or_else(|| none.to_owned(), time)
}

/// A time as operators type it, to epoch seconds: a date (`2026-01-01`, midnight UTC), a date
/// and time (`2026-01-01T10:00`, `2026-01-01T10:00:00Z`, UTC), or an age (`90m`, `24h`, `7d`,
/// `2w`: that long before now).
pub fn parse_time(raw: &str) -> Result<i64, String> {
    parse_time_at(raw, SystemClock.now())
}

fn parse_time_at(raw: &str, now: i64) -> Result<i64, String> {
    let raw = raw.trim();
    if let Some(age) = parse_age(raw) {
        let secs = age.ok_or_else(|| format!("{raw:?} is not a time: use {ACCEPTED}"))?;
        return Ok(now.saturating_sub(secs));
    }
    let text = raw.strip_suffix('Z').unwrap_or(raw);
    let parsed = if text.contains('T') {
        let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let without = format_description!("[year]-[month]-[day]T[hour]:[minute]");
        PrimitiveDateTime::parse(text, with_seconds)
            .or_else(|_| PrimitiveDateTime::parse(text, without))
    } else {
        Date::parse(text, format_description!("[year]-[month]-[day]")).map(Date::midnight)
    };
    match parsed {
        Ok(at) => {
            let secs = at.assume_utc().unix_timestamp();
            if secs < OffsetDateTime::UNIX_EPOCH.unix_timestamp() {
                Err(format!("{raw:?} is before 1970"))
            } else {
                Ok(secs)
            }
        }
        Err(time::error::Parse::TryFromParsed(time::error::TryFromParsed::ComponentRange(
            range,
        ))) => Err(match month_length(text) {
            Some((month, year, days)) if range.name() == "day" => {
                format!("{raw:?} is not a date: {month} {year} has {days} days")
            }
            _ => format!(
                "{raw:?} is not a valid date or time: its {} is out of range",
                range.name()
            ),
        }),
        Err(_) => Err(format!("{raw:?} is not a time: use {ACCEPTED}")),
    }
}

/// The month of a `YYYY-MM-…` text, its year and its number of days.
fn month_length(text: &str) -> Option<(time::Month, i32, u8)> {
    let year: i32 = text.get(..4)?.parse().ok()?;
    let month: u8 = text.get(5..7)?.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    Some((month, year, month.length(year)))
}

/// `Some` if `raw` looks like an age (digits and one unit letter): its seconds, or `None` when
/// the amount or unit is not valid.
fn parse_age(raw: &str) -> Option<Option<i64>> {
    let unit = raw.chars().last().filter(char::is_ascii_alphabetic)?;
    let amount = raw.get(..raw.len().saturating_sub(1))?;
    if raw.contains(['-', ':']) {
        return None;
    }
    let unit_secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Some(None),
    };
    Some(
        amount
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.saturating_mul(unit_secs)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn times_parse_as_dates_instants_and_ages() {
        assert_eq!(parse_time_at("2026-01-01", NOW), Ok(NOW));
        assert_eq!(parse_time_at("2026-01-01T00:00:01Z", NOW), Ok(NOW + 1));
        assert_eq!(parse_time_at("2026-01-01T01:02", NOW), Ok(NOW + 3720));
        assert_eq!(parse_time_at("2028-02-29", NOW), Ok(NOW + 789 * 86_400));
        assert_eq!(parse_time_at("24h", NOW), Ok(NOW - 86_400));
        assert_eq!(parse_time_at("90m", NOW), Ok(NOW - 5400));
        assert_eq!(parse_time_at("2w", NOW), Ok(NOW - 14 * 86_400));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-01-01T25:00",
            "2026-1-1x",
            "5x",
            "-3d",
            "1969-12-31",
        ] {
            assert!(parse_time_at(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn impossible_calendar_dates_are_refused_with_the_reason() {
        for (bad, why) in [
            ("2026-02-31", "February 2026 has 28 days"),
            ("2028-02-30", "February 2028 has 29 days"),
            ("2026-04-31T10:00", "April 2026 has 30 days"),
        ] {
            let error = parse_time_at(bad, NOW).unwrap_err();
            assert_eq!(error, format!("{bad:?} is not a date: {why}"));
        }
        let hour = parse_time_at("2026-01-01T24:00", NOW).unwrap_err();
        assert!(hour.starts_with("\"2026-01-01T24:00\" is not a"), "{hour}");
        let vague = parse_time_at("last tuesday", NOW).unwrap_err();
        assert!(vague.contains("2026-01-01T10:00:00Z"), "{vague}");
    }
}
