//! Calendar dates (`YYYY-MM-DD`, proleptic Gregorian, UTC) and inclusive date ranges, the
//! vocabulary of every Cost Explorer request.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shared::clock::{civil_date, days_from_civil};

/// One UTC calendar day, stored as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

/// Why a string is not an ISO date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("must be an ISO date in the form YYYY-MM-DD")]
    Format,
    #[error("is not a calendar date")]
    NotACalendarDate,
}

impl Date {
    pub const fn from_days(days: i64) -> Self {
        Self(days)
    }

    /// The UTC day containing `epoch_secs`.
    pub fn from_epoch_secs(epoch_secs: i64) -> Self {
        Self(epoch_secs.div_euclid(86_400))
    }

    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self(days_from_civil(year, month, day)))
    }

    /// Parses strict `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(DateError::Format);
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, DateError> {
            text.get(range)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or(DateError::Format)
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (m, d) = (
            u32::try_from(m).map_err(|_| DateError::Format)?,
            u32::try_from(d).map_err(|_| DateError::Format)?,
        );
        Self::from_ymd(y, m, d).ok_or(DateError::NotACalendarDate)
    }

    pub const fn days(self) -> i64 {
        self.0
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        civil_date(self.0)
    }

    pub const fn add_days(self, days: i64) -> Self {
        Self(self.0 + days)
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub const fn days_until(self, later: Self) -> i64 {
        later.0 - self.0
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        u32::try_from((self.0 + 3).rem_euclid(7)).unwrap_or(0)
    }

    pub fn first_of_month(self) -> Self {
        let (y, m, _) = self.ymd();
        Self(days_from_civil(y, m, 1))
    }

    /// The first day of the month after this date's month.
    pub fn next_month(self) -> Self {
        let (y, m, _) = self.ymd();
        if m == 12 {
            Self(days_from_civil(y + 1, 1, 1))
        } else {
            Self(days_from_civil(y, m + 1, 1))
        }
    }

    /// The first day of the month `months` months before this date's month.
    pub fn months_back(self, months: u32) -> Self {
        let (y, m, _) = self.ymd();
        let total = y * 12 + i64::from(m) - 1 - i64::from(months);
        let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
        Self(days_from_civil(
            year,
            u32::try_from(month0).unwrap_or(0) + 1,
            1,
        ))
    }

    /// The last day of this date's month.
    pub fn last_of_month(self) -> Self {
        self.next_month().add_days(-1)
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(format!("{text:?} {e}")))
    }
}

impl schemars::JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date",
            "description": "An ISO calendar date, YYYY-MM-DD (UTC)."
        })
    }
}

/// Days from `start` to `end`, both included (`start <= end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DateRange {
    pub start: Date,
    /// The last day included.
    pub end: Date,
}

impl DateRange {
    /// `None` when `end` is before `start`.
    pub fn new(start: Date, end: Date) -> Option<Self> {
        (start <= end).then_some(Self { start, end })
    }

    /// The API's exclusive end (the day after `end`).
    pub fn end_exclusive(&self) -> Date {
        self.end.add_days(1)
    }

    pub fn len_days(&self) -> i64 {
        self.start.days_until(self.end) + 1
    }

    pub fn contains(&self, day: Date) -> bool {
        self.start <= day && day <= self.end
    }

    pub fn days(&self) -> impl Iterator<Item = Date> + use<> {
        let (start, end) = (self.start.days(), self.end.days());
        (start..=end).map(Date::from_days)
    }

    /// The period split by `granularity`: calendar months clipped to the range, or single days.
    pub fn split(&self, granularity: super::Granularity) -> Vec<DateRange> {
        match granularity {
            super::Granularity::Daily => self
                .days()
                .map(|d| DateRange { start: d, end: d })
                .collect(),
            super::Granularity::Monthly => {
                let mut out = Vec::new();
                let mut start = self.start;
                while start <= self.end {
                    let end = start.last_of_month().min(self.end);
                    out.push(DateRange { start, end });
                    start = end.add_days(1);
                }
                out
            }
        }
    }

    /// Whether the range is exactly one calendar month.
    pub fn is_whole_month(&self) -> bool {
        self.start == self.start.first_of_month() && self.end == self.start.last_of_month()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(Date::parse("2023-02-29"), Err(DateError::NotACalendarDate));
        assert_eq!(Date::parse("2023-13-01"), Err(DateError::NotACalendarDate));
        for bad in [
            "2023-1-01",
            "20230101",
            "2023-01-01T00:00:00Z",
            "",
            "abcd-ef-gh",
            "+023-01-01",
        ] {
            assert_eq!(Date::parse(bad), Err(DateError::Format), "{bad}");
        }
    }

    #[test]
    fn month_arithmetic() {
        let d = Date::parse("2025-01-31").unwrap();
        assert_eq!(d.next_month().to_string(), "2025-02-01");
        assert_eq!(d.months_back(1).to_string(), "2024-12-01");
        assert_eq!(d.months_back(12).to_string(), "2024-01-01");
        assert_eq!(
            Date::parse("2024-02-10")
                .unwrap()
                .last_of_month()
                .to_string(),
            "2024-02-29"
        );
        assert_eq!(
            Date::parse("2024-12-10").unwrap().next_month().to_string(),
            "2025-01-01"
        );
        // 2025-06-02 was a Monday.
        assert_eq!(Date::parse("2025-06-02").unwrap().weekday(), 0);
    }

    #[test]
    fn splits_by_month_clipped() {
        let range = DateRange::new(
            Date::parse("2025-01-15").unwrap(),
            Date::parse("2025-03-02").unwrap(),
        )
        .unwrap();
        let parts: Vec<String> = range
            .split(super::super::Granularity::Monthly)
            .iter()
            .map(|r| format!("{}..{}", r.start, r.end))
            .collect();
        assert_eq!(
            parts,
            [
                "2025-01-15..2025-01-31",
                "2025-02-01..2025-02-28",
                "2025-03-01..2025-03-02"
            ]
        );
        assert_eq!(range.end_exclusive().to_string(), "2025-03-03");
    }
}
