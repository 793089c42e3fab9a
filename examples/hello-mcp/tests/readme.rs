//! The README's "Protect your own MCP server" shows this example whole: the code block after
//! the `<!-- examples/hello-mcp/src/main.rs -->` marker must equal the file.

// A test may fail loudly.
#![allow(clippy::expect_used, clippy::panic)]

#[test]
fn the_readme_shows_the_example_as_it_is() {
    let readme = include_str!("../../../README.md");
    let file = include_str!("../src/main.rs");
    let marker = "<!-- examples/hello-mcp/src/main.rs -->\n```rust\n";
    let start = readme.find(marker).expect("the README's marker") + marker.len();
    let block = readme
        .get(start..)
        .and_then(|rest| rest.find("\n```\n").and_then(|end| rest.get(..=end)))
        .expect("the end of the code block");
    assert_eq!(
        block, file,
        "README.md's copy of examples/hello-mcp/src/main.rs has drifted: paste the file in"
    );
}
