//! Validation of tool inputs: every failure names the parameter and says why.

use crate::cost::{Date, DateRange, GroupKey};

/// A `YYYY-MM-DD` date in parameter `field`.
pub fn date(field: &str, value: &str) -> Result<Date, String> {
    Date::parse(value.trim()).map_err(|e| format!("{field}: {value:?} {e}"))
}

/// `start..=end` from two date parameters.
pub fn period(
    start_field: &str,
    start: &str,
    end_field: &str,
    end: &str,
) -> Result<DateRange, String> {
    let (s, e) = (date(start_field, start)?, date(end_field, end)?);
    DateRange::new(s, e).ok_or_else(|| {
        format!("{end_field}: {e} is before {start_field} {s} (end dates are inclusive)")
    })
}

/// A whole calendar month from a `YYYY-MM` parameter.
pub fn month(field: &str, value: &str) -> Result<DateRange, String> {
    let first = Date::parse(&format!("{}-01", value.trim()))
        .map_err(|_| format!("{field}: {value:?} must be a month in the form YYYY-MM"))?;
    if value.trim().len() != 7 {
        return Err(format!(
            "{field}: {value:?} must be a month in the form YYYY-MM"
        ));
    }
    Ok(DateRange {
        start: first,
        end: first.last_of_month(),
    })
}

/// At most `max` group-by keys.
pub fn group_by(field: &str, keys: Vec<GroupKey>, max: usize) -> Result<Vec<GroupKey>, String> {
    if keys.len() > max {
        return Err(format!(
            "{field}: at most {max} keys are allowed, {} given",
            keys.len()
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            date("start_date", "2025-02-30").unwrap_err(),
            "start_date: \"2025-02-30\" is not a calendar date"
        );
        assert!(
            date("end_date", "yesterday")
                .unwrap_err()
                .starts_with("end_date: \"yesterday\" must be an ISO date")
        );
        assert!(
            period("start_date", "2025-02-02", "end_date", "2025-02-01")
                .unwrap_err()
                .starts_with("end_date:")
        );
        assert_eq!(
            month("baseline_month", "2025-02").unwrap().end.to_string(),
            "2025-02-28"
        );
        assert!(
            month("baseline_month", "2025-2")
                .unwrap_err()
                .starts_with("baseline_month:")
        );
    }
}
