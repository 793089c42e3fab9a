//! The look shared by every chart: the embedded font, the Okabe–Ito colour-blind-safe palette,
//! number and label formatting.

use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor};

use crate::{RenderError, Unit};

/// DejaVu Sans cut down to Latin-1 (charts/fonts/README.md, Bitstream Vera licence).
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// The font family name charts draw with (registered from [`FONT`], never looked up).
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters, once per process.
pub fn register_font() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, FONT).is_ok()
    });
    if ok { Ok(()) } else { Err(RenderError::Font) }
}

/// Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision
/// deficiencies; yellow (weak on white) and black come last. Grey is kept for "Other".
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xF0, 0xE4, 0x42), // yellow
    RGBColor(0x00, 0x00, 0x00), // black
];

/// The colour of the "Other" series.
pub const OTHER: RGBColor = RGBColor(0x99, 0x99, 0x99);

/// Text and axes.
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// The name of the folded series or category.
pub const OTHER_NAME: &str = "Other";

/// The colour of the `index`th series named `name`.
pub fn colour(index: usize, name: &str) -> RGBColor {
    if name == OTHER_NAME || name.starts_with("Other (") {
        return OTHER;
    }
    PALETTE.get(index % PALETTE.len()).copied().unwrap_or(OTHER)
}

/// `text` with characters the embedded font lacks replaced by `?`, cut to `max` characters
/// (with an ellipsis).
pub fn printable(text: &str, max: usize) -> String {
    let mapped: Vec<char> = text
        .chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c,
            '\u{2013}' | '\u{2014}' | '\u{2026}' | '\u{2212}' | '\u{2022}' | '\u{20ac}' => c,
            _ => '?',
        })
        .collect();
    if mapped.len() <= max {
        return mapped.into_iter().collect();
    }
    let mut cut: String = mapped
        .into_iter()
        .take(max.saturating_sub(1))
        .collect::<String>()
        .trim_end()
        .to_owned();
    cut.push('\u{2026}');
    cut
}

/// The axis caption for values in `unit`.
pub fn unit_caption(unit: &Unit) -> String {
    match unit {
        Unit::Currency { code } => printable(code, 8),
        Unit::Percent => "%".to_owned(),
        Unit::Quantity { name } => printable(name, 16),
    }
}

/// An axis tick label: `1,250`, `12,500`, `3.4M`, `0.25`, or `80%`.
pub fn tick(value: f64, unit: &Unit) -> String {
    if matches!(unit, Unit::Percent) {
        return format!("{value:.0}%");
    }
    let a = value.abs();
    if a >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if a >= 10.0 || a == 0.0 {
        thousands(value)
    } else {
        format!("{value:.2}")
    }
}

/// A whole number with thousands separators.
fn thousands(value: f64) -> String {
    let rounded = value.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A value range to plot `lo..hi` with some headroom, including zero (and 0–100 for
/// percentages); never empty.
pub fn value_range(lo: f64, hi: f64, unit: &Unit) -> (f64, f64) {
    let (mut lo, mut hi) = (lo.min(0.0), hi.max(0.0));
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if matches!(unit, Unit::Percent) {
        hi = hi.max(100.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON {
        return (lo, lo + 1.0);
    }
    let lo = if lo < 0.0 { lo - span * 0.08 } else { lo };
    (lo, hi + span * 0.08)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_at_a_glance() {
        let usd = Unit::Currency { code: "USD".into() };
        assert_eq!(tick(1250.0, &usd), "1,250");
        assert_eq!(tick(-1250.0, &usd), "-1,250");
        assert_eq!(tick(12_500.0, &usd), "12,500");
        assert_eq!(tick(3_400_000.0, &usd), "3.4M");
        assert_eq!(tick(0.25, &usd), "0.25");
        assert_eq!(tick(0.0, &usd), "0");
        assert_eq!(tick(80.0, &Unit::Percent), "80%");
    }

    #[test]
    fn labels_fit_the_font_and_the_space() {
        assert_eq!(
            printable("Amazon EC2 – Compute", 40),
            "Amazon EC2 – Compute"
        );
        assert_eq!(printable("東京", 10), "??");
        assert_eq!(
            printable("Amazon Elastic Compute Cloud", 12),
            "Amazon Elas…"
        );
    }

    #[test]
    fn ranges_start_at_zero_and_percentages_reach_100() {
        let usd = Unit::Currency { code: "USD".into() };
        assert_eq!(value_range(0.0, 0.0, &usd), (0.0, 1.0));
        let (lo, hi) = value_range(10.0, 100.0, &usd);
        assert_eq!(lo, 0.0);
        assert!(hi > 100.0);
        let (_, hi) = value_range(0.0, 40.0, &Unit::Percent);
        assert!(hi >= 100.0);
        let (lo, _) = value_range(-50.0, 100.0, &usd);
        assert!(lo < -50.0);
    }

    #[test]
    fn other_is_grey_and_the_rest_follow_the_palette() {
        assert_eq!(colour(3, OTHER_NAME), OTHER);
        assert_eq!(colour(0, "a"), PALETTE[0]);
        assert_eq!(colour(7, "a"), PALETTE[7]);
        assert_ne!(
            colour(7, "a"),
            colour(0, "a"),
            "eight series, eight colours"
        );
    }
}
