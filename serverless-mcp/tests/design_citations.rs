//! The design travels with the code: comments, scripts and documents point into `docs/` or to an
//! RFC, never to the sections of a design document that is not in the repository. This walks the
//! repository (what git tracks, minus build output and installed tools) and fails on any file
//! that names that document.

// A test binary: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

/// Files allowed to cite the outside document for the length of a change that rewrites them;
/// empty when nothing is in flight (an entry that no longer cites it fails the test).
const ALLOWED: &[&str] = &[];

/// Directories that are not the project's source: build output and installed packages, and
/// hidden directories (git's own, the test command's scratch space, local data) except these.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];
const HIDDEN_SOURCE_DIRS: &[&str] = &[".ci", ".github"];

/// The document's name as the citations wrote it, built from parts so that this file does not
/// cite it.
fn needle() -> String {
    ["DE", "SIGN"].concat()
}

/// The lines of `text` that cite the outside document: the upper-case word on its own (not part
/// of a longer identifier such as `DESIGNER` or `X_DESIGN`), whatever follows it ("section 4",
/// "§7", "'s abuse limits", ".md").
fn citations(text: &str) -> Vec<(usize, &str)> {
    let needle = needle();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.match_indices(needle.as_str()).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + needle.len()..].chars().next();
                !before.is_some_and(word) && !after.is_some_and(word)
            })
        })
        .map(|(i, line)| (i + 1, line))
        .collect()
}

/// Every file under `dir`, skipping [`SKIPPED_DIRS`] and hidden directories.
fn files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = entry.file_name();
        if entry.file_type().unwrap().is_dir() {
            let name = name.to_string_lossy();
            let hidden = name.starts_with('.') && !HIDDEN_SOURCE_DIRS.contains(&name.as_ref());
            if !hidden && !SKIPPED_DIRS.contains(&name.as_ref()) {
                files(&path, found);
            }
        } else {
            found.push(path);
        }
    }
}

#[test]
fn no_file_cites_the_design_document_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(all.len() > 200, "the walk found only {} files", all.len());
    let mut cited = Vec::new();
    let mut still_citing = Vec::new();
    for path in &all {
        // Binary files (images, archives) cannot hold a comment.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let lines = citations(&text);
        if lines.is_empty() {
            continue;
        }
        if ALLOWED.contains(&relative.as_str()) {
            still_citing.push(relative);
            continue;
        }
        for (number, line) in lines {
            cited.push(format!("{relative}:{number}: {}", line.trim()));
        }
    }
    assert!(
        cited.is_empty(),
        "point these into docs/ (e.g. docs/architecture.md, \"Request paths\") or to an RFC:\n{}",
        cited.join("\n")
    );
    let stale: Vec<_> = ALLOWED
        .iter()
        .filter(|allowed| !still_citing.iter().any(|s| s == *allowed))
        .collect();
    assert!(
        stale.is_empty(),
        "these allowed files no longer cite it; remove them from ALLOWED: {stale:?}"
    );
}

#[test]
fn citations_are_the_word_on_its_own() {
    let word = needle();
    let text = format!(
        "see {word} section 4\n{word}'s abuse limits\n({word} §7)\n\
         a {word}ER, {word}_KEY, X_{word}, design, Design\nno citation here"
    );
    let found: Vec<usize> = citations(&text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, [1, 2, 3]);
}
