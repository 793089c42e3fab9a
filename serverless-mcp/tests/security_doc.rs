//! SECURITY.md names, for every behaviour, the tests that prove it. This keeps the document from
//! drifting: every `<file>::<test>` it cites must name a file of the repository and, for Rust
//! files, a function of that name in it (for other files, the quoted check text or the named
//! function must appear in it).

// A test binary: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

/// The `file::name` references between backticks, with the document's `…_on_dynamodb`
/// shorthand (a reference starting with `…`) expanded against the previous full one.
fn references(doc: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut last: Option<(String, String)> = None;
    for (i, part) in doc.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        if let Some(suffix) = part.strip_prefix('…') {
            let (file, name) = last.clone().expect("a shorthand follows a full reference");
            let stem = name
                .rsplit_once('_')
                .map(|(stem, _)| stem.rsplit_once("_on").map_or(stem, |(s, _)| s))
                .unwrap_or(&name)
                .to_owned();
            found.push((file, format!("{stem}{suffix}")));
            continue;
        }
        let Some((file, name)) = part.split_once("::") else {
            continue;
        };
        if !file.contains('/') || !file.contains('.') {
            continue; // a Rust path such as `shared::oauth`, not a file
        }
        let reference = (file.to_owned(), name.to_owned());
        last = Some(reference.clone());
        found.push(reference);
    }
    found
}

#[test]
fn every_test_security_md_cites_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let references = references(&doc);
    assert!(
        references.len() > 80,
        "SECURITY.md cites only {} tests",
        references.len()
    );
    let mut missing = Vec::new();
    for (file, name) in &references {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            missing.push(format!("{file} (no such file)"));
            continue;
        };
        let found = if file.ends_with(".rs") {
            // `tests::name` is a function in the file's test module; a test a macro defines is
            // named in the macro's invocation (`name,` or `name;` on a line of its own).
            let name = name.rsplit("::").next().unwrap_or(name);
            text.contains(&format!("fn {name}("))
                || text.lines().any(|line| {
                    let line = line.trim();
                    line.strip_suffix([',', ';']) == Some(name)
                })
        } else {
            // `"check text"`, `Stage.flow` or `stage name`: some part of it appears in the file.
            let key = name.trim_matches('"');
            let key = key.rsplit(['.', ' ']).next().unwrap_or(key);
            text.contains(key)
        };
        if !found {
            missing.push(format!("{file}::{name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "SECURITY.md cites tests that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn shorthand_references_expand_against_the_previous_one() {
    let doc = "`a/b.rs::one_on_sqlite`, `…_on_dynamodb` and `x::y` and `c/d.mjs::\"text\"`";
    assert_eq!(
        references(doc),
        [
            ("a/b.rs".to_owned(), "one_on_sqlite".to_owned()),
            ("a/b.rs".to_owned(), "one_on_dynamodb".to_owned()),
            ("c/d.mjs".to_owned(), "\"text\"".to_owned()),
        ]
    );
}
