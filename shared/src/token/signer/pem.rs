//! The textual key format of RFC 7468: a DER document in base64 between `-----BEGIN <label>-----`
//! and `-----END <label>-----` lines, 64 characters a line, as the key files in the data dir hold.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Characters of base64 on each line of the body (RFC 7468 §2).
const LINE_LEN: usize = 64;

/// `der` as a PEM document with `label`, LF line endings and a final newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(LINE_LEN) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The label and DER bytes of a single PEM document; `None` if the text is not one. Surrounding
/// whitespace and CRLF line endings are accepted; text before or after the document is not.
pub(crate) fn decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut lines = text.trim().lines().map(str::trim_end);
    let label = lines
        .next()?
        .strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")?
        .to_owned();
    let mut body = String::new();
    for line in lines.by_ref() {
        if let Some(end) = line.strip_prefix("-----END ") {
            if end.strip_suffix("-----")? != label {
                return None;
            }
            if lines.next().is_some() {
                return None;
            }
            let der = STANDARD.decode(body).ok()?;
            return Some((label, der));
        }
        body.push_str(line);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_64_character_lines() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode("PRIVATE KEY", &der);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("\n-----END PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= LINE_LEN));
        assert_eq!(decode(&pem), Some(("PRIVATE KEY".to_owned(), der.clone())));
        assert_eq!(
            decode(&pem.replace('\n', "\r\n")),
            Some(("PRIVATE KEY".to_owned(), der))
        );
    }

    #[test]
    fn refuses_what_is_not_one_document() {
        for (text, why) in [
            ("not a key", "no armour"),
            ("-----BEGIN X-----\nAAAA\n", "no end line"),
            (
                "-----BEGIN X-----\nAAAA\n-----END Y-----\n",
                "labels differ",
            ),
            ("-----BEGIN X-----\n!!!!\n-----END X-----\n", "not base64"),
            (
                "-----BEGIN X-----\nAAAA\n-----END X-----\nmore",
                "trailing text",
            ),
        ] {
            assert_eq!(decode(text), None, "{why}");
        }
    }
}
