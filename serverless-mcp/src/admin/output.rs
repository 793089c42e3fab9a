//! How admin results are shown: an aligned table when standard output is a terminal, the same
//! data as one JSON object per line when it is not (a pipe, a file), or CSV (`--csv`); `--format`
//! (or `SMCP_ADMIN_FORMAT`) chooses explicitly. A progress line goes to standard error during
//! long listings when that is a terminal.
//!
//! Stored text can come from anyone (a client registers without authentication; records may
//! predate the registration rule refusing such characters), so nothing printed here carries a
//! control, bidi-formatting or zero-width character ([`is_hidden_or_control`]): tables and
//! lines show them as visible escapes (`\u{1b}`), JSON lines as `\u001b` escapes.

use std::borrow::Cow;
use std::io::{IsTerminal as _, Write as _};

use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;
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

/// How results are printed, as the operator asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table on a terminal, JSON lines otherwise.
    Auto,
    /// Aligned columns.
    Table,
    /// One JSON object per line.
    Json,
    /// Comma-separated values with a header line (RFC 4180).
    Csv,
}

/// Tables, JSON lines or CSV, on standard output.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    format: Format,
}

impl Output {
    /// `requested`, with [`Format::Auto`] decided by whether standard output is a terminal.
    pub fn new(requested: Format) -> Self {
        Self::resolved(requested, std::io::stdout().is_terminal())
    }

    fn resolved(requested: Format, terminal: bool) -> Self {
        let format = match requested {
            Format::Auto if terminal => Format::Table,
            Format::Auto => Format::Json,
            other => other,
        };
        Self { format }
    }

    /// Whether results are read by a person (a table and sentences) rather than a program.
    pub fn is_table(&self) -> bool {
        self.format == Format::Table
    }

    /// One JSON line.
    pub fn json_line(&self, value: &impl Serialize) {
        match serde_json::to_string(value) {
            Ok(line) => println!("{}", escape_json(&line)),
            Err(e) => eprintln!("error: cannot encode a record: {e}"),
        }
    }

    /// The result of a change: `human` as a line on a table, else `json` as one JSON line.
    pub fn done(&self, human: &str, json: &impl Serialize) {
        if self.is_table() {
            println!("{}", escape(human));
        } else {
            self.json_line(json);
        }
    }

    /// A listing: `rows` under `headers` as a table (or `empty` when there are none) or CSV;
    /// `records` (the same items, in full) as JSON lines.
    pub fn list(&self, empty: &str, headers: &[&str], rows: &[Vec<String>], records: &[Value]) {
        match self.format {
            Format::Json | Format::Auto => records.iter().for_each(|r| self.json_line(r)),
            Format::Csv => print!("{}", render_csv(headers, rows)),
            Format::Table if rows.is_empty() => println!("{empty}"),
            Format::Table => self.table(headers, rows),
        }
    }

    /// Rows under headers, columns padded to their widest cell (the last column is not padded).
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        print!("{}", render_table(headers, rows));
    }

    /// `name  value` lines, names padded to the longest.
    pub fn fields(&self, fields: &[(&str, String)]) {
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in fields {
            println!("{name:<width$}  {}", escape(value));
        }
    }
}

/// CSV text (RFC 4180): a header line, then a line per row; cells with a comma, quote or line
/// break are quoted. Cells are [`escape`]d first, and a cell a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn render_csv(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |raw: &str| {
        let mut text = escape(raw).into_owned();
        if text.starts_with(['=', '+', '-', '@']) {
            text.insert(0, '\'');
        }
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let header: Vec<String> = headers.iter().map(|h| cell(h)).collect();
    let mut text = header.join(",");
    text.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn auto_is_a_table_on_a_terminal_and_json_lines_elsewhere() {
        assert!(Output::resolved(Format::Auto, true).is_table());
        assert_eq!(Output::resolved(Format::Auto, false).format, Format::Json);
        assert!(Output::resolved(Format::Table, false).is_table());
        assert_eq!(Output::resolved(Format::Csv, true).format, Format::Csv);
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let rows = vec![
            vec!["a,b".to_owned(), "say \"hi\"".to_owned()],
            vec!["=cmd()".to_owned(), "\u{1b}x".to_owned()],
        ];
        assert_eq!(
            render_csv(&["ONE", "TWO"], &rows),
            "ONE,TWO\n\"a,b\",\"say \"\"hi\"\"\"\n'=cmd(),\\u{1b}x\n"
        );
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
