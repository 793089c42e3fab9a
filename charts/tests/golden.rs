//! Golden images: each sample chart ([`charts::samples`]) renders to within a small tolerance of
//! its committed reference, `docs/images/charts/<name>.png` (also the README's pictures).
//!
//! Tolerance: the images must have the same size, and at most 0.5 % of the pixels may differ by
//! more than 24 (of 255) in some channel. That absorbs anti-aliasing differences in glyph and
//! line edges between platforms and library patch releases, while a moved label, a changed
//! colour, a missing series or legend entry changes thousands of pixels.
//!
//! Regenerate after an intended change, then look at the images:
//!
//! ```text
//! SMCP_UPDATE_GOLDEN=1 cargo test -p charts --test golden
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

/// Pixels allowed to differ, as a fraction of all pixels.
const MAX_DIFFERING: f64 = 0.005;
/// How far a channel may move before its pixel counts as differing.
const CHANNEL_TOLERANCE: u8 = 24;

fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../docs/images/charts/{name}.png"))
}

/// RGB8 pixels and size of a PNG file.
fn decode(bytes: &[u8]) -> (Vec<u8>, u32, u32) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "RGB8 expected");
    buf.truncate(info.buffer_size());
    (buf, info.width, info.height)
}

/// The share of pixels that differ beyond the channel tolerance.
fn differing(a: &[u8], b: &[u8]) -> f64 {
    let total = a.len() / 3;
    let off = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .filter(|(p, q)| {
            p.iter()
                .zip(q.iter())
                .any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE)
        })
        .count();
    off as f64 / total as f64
}

#[test]
fn golden_samples_match_their_reference_images() {
    let update = std::env::var_os("SMCP_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for (name, chart) in charts::samples::all() {
        let png = charts::render(&chart).unwrap();
        let path = reference(name);
        if update {
            std::fs::write(&path, &png.bytes).unwrap();
            eprintln!("wrote {} ({} bytes)", path.display(), png.bytes.len());
            continue;
        }
        let expected = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (SMCP_UPDATE_GOLDEN=1 writes it)", path.display()));
        let (want, w, h) = decode(&expected);
        let (got, gw, gh) = decode(&png.bytes);
        assert_eq!((gw, gh), (w, h), "{name}: size");
        let share = differing(&want, &got);
        if share > MAX_DIFFERING {
            let actual = std::env::temp_dir().join(format!("chart-{name}.actual.png"));
            std::fs::write(&actual, &png.bytes).unwrap();
            failures.push(format!(
                "{name}: {:.2}% of pixels differ (limit {:.2}%); rendered to {}",
                share * 100.0,
                MAX_DIFFERING * 100.0,
                actual.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The comparison itself notices a change (a test of the test): a chart with one series
/// recoloured is outside the tolerance.
#[test]
fn a_changed_chart_is_outside_the_tolerance() {
    let charts::Chart::Time(mut chart) = charts::samples::cost_by_service() else {
        panic!("the sample is a time chart");
    };
    let base = charts::render(&charts::Chart::Time(chart.clone())).unwrap();
    chart.series.swap(0, 1);
    let changed = charts::render(&charts::Chart::Time(chart)).unwrap();
    let (a, ..) = decode(&base.bytes);
    let (b, ..) = decode(&changed.bytes);
    assert!(differing(&a, &b) > MAX_DIFFERING);
}

#[test]
fn every_chart_is_a_small_png_of_the_documented_size() {
    for (name, chart) in charts::samples::all() {
        let png = charts::render(&chart).unwrap();
        let (_, w, h) = decode(&png.bytes);
        assert_eq!((w, h), (charts::WIDTH, charts::HEIGHT), "{name}");
        assert!(
            png.bytes.len() < 150 * 1024,
            "{name}: {} bytes",
            png.bytes.len()
        );
    }
}
