//! Whatever the numbers and labels, `render` answers an image or an error and never panics (the
//! release profile aborts on panic, so a panic here would take the server down): non-finite,
//! negative, huge or missing values, lengths that disagree, long and non-Latin labels, many
//! periods and series.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use charts::{Band, BarChart, Chart, Series, TimeChart, TimeStyle, Unit};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6..1e7f64,
        Just(0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e300),
        Just(-1e300),
        Just(f64::MIN_POSITIVE),
    ]
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9 -]{0,60}", "\\PC{0,20}"]
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        Just(Unit::Currency { code: "USD".into() }),
        Just(Unit::Percent),
        label().prop_map(|name| Unit::Quantity { name }),
    ]
}

fn series(max_len: usize) -> impl Strategy<Value = Series> {
    (label(), prop::collection::vec(value(), 0..max_len))
        .prop_map(|(name, values)| Series { name, values })
}

fn chart() -> impl Strategy<Value = Chart> {
    let time = (
        label(),
        unit(),
        prop::collection::vec(label(), 0..40),
        any::<bool>(),
        prop::collection::vec(series(45), 0..12),
        prop::option::of((
            prop::collection::vec(value(), 0..45),
            prop::collection::vec(value(), 0..45),
        )),
    )
        .prop_map(|(title, unit, periods, bars, series, band)| {
            Chart::Time(TimeChart {
                title,
                unit,
                period_name: "Day (UTC)".into(),
                periods,
                style: if bars {
                    TimeStyle::StackedBars
                } else {
                    TimeStyle::Lines
                },
                series,
                band: band.map(|(lower, upper)| Band {
                    name: "80% prediction interval".into(),
                    lower,
                    upper,
                }),
            })
        });
    let bars = (
        label(),
        unit(),
        prop::collection::vec(label(), 0..25),
        prop::collection::vec(series(30), 0..4),
    )
        .prop_map(|(title, unit, categories, series)| {
            Chart::Bars(BarChart {
                title,
                unit,
                categories,
                series,
            })
        });
    prop_oneof![time, bars]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn render_never_panics(chart in chart()) {
        if let Ok(png) = charts::render(&chart) {
            prop_assert!(png.bytes.starts_with(b"\x89PNG"));
        }
    }
}

/// A year of daily periods (the longest DAILY answer) still renders, as bars thinner than a pixel.
#[test]
fn a_year_of_days_renders() {
    let n = 366;
    let chart = Chart::Time(TimeChart {
        title: "a year".into(),
        unit: Unit::Currency { code: "USD".into() },
        period_name: "Day (UTC)".into(),
        periods: (0..n).map(|i| format!("day {i}")).collect(),
        style: TimeStyle::StackedBars,
        series: (0..20)
            .map(|s| Series {
                name: format!("s{s}"),
                values: (0..n).map(|i| f64::from(i * s)).collect(),
            })
            .collect(),
        band: None,
    });
    charts::render(&chart).unwrap();
}
