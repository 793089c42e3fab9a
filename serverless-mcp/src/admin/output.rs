//! How admin results are shown: aligned tables (the default) or one JSON object per line
//! (`--json`); a progress line on standard error during long listings when it is a terminal;
//! and the time formats operators type and read.
//!
//! Stored text can come from anyone (a client registers without authentication; records may
//! predate the registration rule refusing such characters), so nothing printed here carries a
//! control, bidi-formatting or zero-width character ([`is_hidden_or_control`]): tables and
//! lines show them as visible escapes (`\u{1b}`), JSON lines as `\u001b` escapes.

use std::borrow::Cow;
use std::io::{IsTerminal as _, Write as _};

use serde::Serialize;
use shared::clock::{Clock, SystemClock, rfc3339};
use shared::oauth::client_metadata::is_hidden_or_control;

/// `text` with every control, bidi-formatting or zero-width character written as a visible
/// Rust-style escape (`\u{1b}`, `\u{202e}`), so it cannot drive the operator's terminal or
/// reorder what it shows.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden_or_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden_or_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One JSON text with every control, bidi-formatting or zero-width character as a JSON
/// `\uXXXX` escape. serde_json escapes only U+0000–U+001F; DEL, the C1 controls (U+009B is a
/// CSI to many terminals) and the formatting characters it writes as they are. They can only
/// occur inside JSON strings, where the escape decodes to the same value.
pub fn escape_json(line: &str) -> Cow<'_, str> {
    if !line.chars().any(is_hidden_or_control) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if is_hidden_or_control(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Tables or JSON lines, on standard output.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// One JSON line.
    pub fn json_line(&self, value: &impl Serialize) {
        match serde_json::to_string(value) {
            Ok(line) => println!("{}", escape_json(&line)),
            Err(e) => eprintln!("error: cannot encode a record: {e}"),
        }
    }

    /// The result of a change: `human` as a line, or `json` as one JSON line.
    pub fn done(&self, human: &str, json: &impl Serialize) {
        if self.json {
            self.json_line(json);
        } else {
            println!("{}", escape(human));
        }
    }

    /// Rows under headers, columns padded to their widest cell (the last column is not padded).
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        print!("{}", render_table(headers, rows));
    }
}

impl Output {
    /// `name  value` lines, names padded to the longest.
    pub fn fields(&self, fields: &[(&str, String)]) {
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in fields {
            println!("{name:<width$}  {}", escape(value));
        }
    }
}

/// The table text; cells are [`escape`]d first, so widths count what is shown.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| escape(cell).into_owned()).collect())
        .collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header_cells: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let pad = width.saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A line on standard error counting what a long listing has read so far; silent unless
/// standard error is a terminal, and erased when done.
pub struct Progress {
    label: &'static str,
    enabled: bool,
    shown: bool,
}

impl Progress {
    pub fn new(label: &'static str) -> Self {
        Self {
            label,
            enabled: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    pub fn update(&mut self, count: usize, note: &str) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K{} {count} {note}", self.label);
            let _ = err.flush();
            self.shown = true;
        }
    }

    pub fn finish(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Tells how to fetch the next page, on standard error so that standard output stays data.
pub fn more(next: Option<&String>) {
    if let Some(next) = next {
        eprintln!("more results: repeat with --after {}", escape(next));
    }
}

/// Epoch seconds as `2026-01-01T10:00:00Z`.
pub fn time(epoch_secs: i64) -> String {
    rfc3339(epoch_secs)
}

pub fn time_opt(epoch_secs: Option<i64>, none: &str) -> String {
    epoch_secs.map_or_else(|| none.to_owned(), time)
}

/// A time as operators type it, to epoch seconds: `2026-01-01`, `2026-01-01T10:00`,
/// `2026-01-01T10:00:00Z` (UTC), or an age such as `90m`, `24h`, `7d`, `2w` (before now).
pub fn parse_time(raw: &str) -> Result<i64, String> {
    parse_time_at(raw, SystemClock.now())
}

fn parse_time_at(raw: &str, now: i64) -> Result<i64, String> {
    let raw = raw.trim();
    let bad = || {
        format!(
            "{raw:?} is not a time: use 2026-01-01, 2026-01-01T10:00:00Z, or an age such as 90m, 24h, 7d"
        )
    };
    if let Some(unit) = raw.chars().last().filter(char::is_ascii_alphabetic)
        && !raw.contains('-')
    {
        let amount: i64 = raw
            .get(..raw.len().saturating_sub(1))
            .and_then(|n| n.parse().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(bad)?;
        let unit_secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        return Ok(now.saturating_sub(amount.saturating_mul(unit_secs)));
    }
    let text = raw.trim_end_matches('Z');
    let (date, clock) = text.split_once('T').unwrap_or((text, "00:00:00"));
    let mut date_parts = date.splitn(3, '-');
    let next_num = |parts: &mut std::str::SplitN<'_, char>| -> Result<i64, String> {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let year = next_num(&mut date_parts)?;
    let month = next_num(&mut date_parts)?;
    let day = next_num(&mut date_parts)?;
    let mut clock_parts = clock.splitn(3, ':');
    let clock_num = |parts: &mut std::str::SplitN<'_, char>, required: bool| match parts.next() {
        None if !required => Ok(0),
        Some(p) => p.parse::<i64>().map_err(|_| bad()),
        None => Err(bad()),
    };
    let hour = clock_num(&mut clock_parts, true)?;
    let minute = clock_num(&mut clock_parts, true)?;
    let second = clock_num(&mut clock_parts, false)?;
    // The calendar is the date crate's: 2026-02-31 and 2025-02-29 are not dates.
    let small = |n: i64| u8::try_from(n).map_err(|_| bad());
    let year = i32::try_from(year)
        .ok()
        .filter(|y| (1970..=9999).contains(y))
        .ok_or_else(bad)?;
    let month = time::Month::try_from(small(month)?).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, small(day)?).map_err(|_| bad())?;
    let clock =
        time::Time::from_hms(small(hour)?, small(minute)?, small(second)?).map_err(|_| bad())?;
    Ok(time::PrimitiveDateTime::new(date, clock)
        .assume_utc()
        .unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn times_parse_as_dates_instants_and_ages() {
        assert_eq!(parse_time_at("2026-01-01", NOW), Ok(NOW));
        assert_eq!(
            parse_time_at("2028-02-29", NOW),
            Ok(NOW + (365 + 365 + 31 + 28) * 86_400)
        );
        assert_eq!(parse_time_at("2026-01-01T00:00:01Z", NOW), Ok(NOW + 1));
        assert_eq!(parse_time_at("2026-01-01T01:02", NOW), Ok(NOW + 3720));
        assert_eq!(parse_time_at("24h", NOW), Ok(NOW - 86_400));
        assert_eq!(parse_time_at("90m", NOW), Ok(NOW - 5400));
        assert_eq!(parse_time_at("2w", NOW), Ok(NOW - 14 * 86_400));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-31",
            "2025-02-29",
            "2026-04-31T10:00",
            "2026-01-01T25:00",
            "2026-01-01T10:60",
            "5x",
            "-3d",
        ] {
            assert!(parse_time_at(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn tables_and_lines_show_hidden_and_control_characters_as_escapes() {
        let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31mA\u{202e}B\u{200b}C\u{7f}\n";
        let rows = vec![vec![evil.to_owned(), "x".to_owned()]];
        let text = render_table(&["NAME", "LAST"], &rows);
        assert!(
            text.lines().all(|l| !l.chars().any(is_hidden_or_control)),
            "{text:?}"
        );
        let shown = r"\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31mA\u{202e}B\u{200b}C\u{7f}\u{a}";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                format!("NAME{}LAST", " ".repeat(shown.len() - 2)),
                format!("{shown}  x")
            ]
        );
        assert_eq!(escape("plain café"), "plain café");
    }

    #[test]
    fn json_lines_escape_what_serde_leaves_raw_and_decode_to_the_same_value() {
        let evil = "\u{1b}[2J\u{7f}\u{9b}31m\u{202e}\u{2066}\u{200b}\u{feff}\u{2028}ok";
        let value = serde_json::json!({"client_name": evil, "n": 1});
        let raw = serde_json::to_string(&value).unwrap();
        // serde_json escapes ESC (U+001B) itself, but not DEL, C1 or formatting characters.
        assert!(raw.contains("\\u001b") && raw.contains('\u{9b}') && raw.contains('\u{202e}'));
        let line = escape_json(&raw);
        assert!(!line.chars().any(is_hidden_or_control), "{line}");
        assert!(line.contains("\\u009b") && line.contains("\\u202e") && line.contains("\\u007f"));
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["a".to_owned(), "long value".to_owned(), "x".to_owned()],
            vec!["bbbb".to_owned(), "v".to_owned(), String::new()],
        ];
        let text = render_table(&["ID", "VALUE", "LAST"], &rows);
        assert_eq!(
            text,
            "ID    VALUE       LAST\na     long value  x\nbbbb  v\n"
        );
    }
}
