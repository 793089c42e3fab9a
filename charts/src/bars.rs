//! Bar charts: horizontal bars per category (top to bottom), one bar per series.

use plotters::prelude::*;

use crate::fold::fold_categories;
use crate::frame::{Entry, frame, legend};
use crate::style::{FAMILY, INK, colour, printable, tick, unit_caption, value_range};
use crate::{BarChart, MAX_CATEGORIES, MAX_SERIES, RenderError, drawing};

/// Half the height of a category's bars together, in categories.
const HALF_ROW: f64 = 0.38;

/// Draws `chart` into `rgb` (`size` pixels, RGB8).
pub(crate) fn draw(chart: &BarChart, rgb: &mut [u8], size: (u32, u32)) -> Result<(), RenderError> {
    if chart.categories.is_empty() || chart.series.is_empty() {
        return Err(RenderError::Empty);
    }
    let mut chart = fold_categories(chart.clone(), MAX_CATEGORIES);
    chart.series.truncate(MAX_SERIES);
    let n = chart.categories.len();
    let k = chart.series.len();
    let value = |s: usize, i: usize| {
        chart
            .series
            .get(s)
            .and_then(|s| s.values.get(i))
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let all = (0..k).flat_map(|s| (0..n).map(move |i| (s, i)));
    let lo = all.clone().map(|(s, i)| value(s, i)).fold(0.0, f64::min);
    let hi = all.map(|(s, i)| value(s, i)).fold(0.0, f64::max);
    let (lo, hi) = value_range(lo, hi, &chart.unit);
    // Category i is drawn at y = n - 1 - i, so the first is at the top.
    let row = |i: usize| (n - 1 - i) as f64;

    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    let (plot, legend_area) = frame(&root, &chart.title)?;
    let mut cc = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(206)
        .build_cartesian_2d(lo..hi, -0.5f64..(n as f64 - 0.5))
        .map_err(drawing)?;
    let categories = &chart.categories;
    let y_label = |y: &f64| {
        let r = y.round();
        if (y - r).abs() > 1e-6 || r < 0.0 || r as usize >= n {
            return String::new();
        }
        categories
            .get(n - 1 - r as usize)
            .map(|c| printable(c, 31))
            .unwrap_or_default()
    };
    let unit = &chart.unit;
    let x_label = |x: &f64| tick(*x, unit);
    cc.configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .x_labels(6)
        .y_label_formatter(&y_label)
        .x_label_formatter(&x_label)
        .x_desc(unit_caption(unit))
        .label_style((FAMILY, 12).into_font().color(&INK))
        .axis_desc_style((FAMILY, 13).into_font().color(&INK))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .light_line_style(WHITE)
        .axis_style(INK)
        .draw()
        .map_err(drawing)?;

    let thickness = 2.0 * HALF_ROW / k as f64;
    let mut entries = Vec::new();
    for (s, series) in chart.series.iter().enumerate() {
        let c = colour(s, &series.name);
        let bars = (0..n).map(|i| {
            let top = row(i) + HALF_ROW - thickness * s as f64;
            let v = value(s, i);
            Rectangle::new([(0.0, top), (v, top - thickness * 0.9)], c.filled())
        });
        cc.draw_series(bars).map_err(drawing)?;
        entries.push(Entry {
            name: series.name.clone(),
            colour: c,
            band: false,
        });
    }
    if lo < 0.0 {
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
            INK.stroke_width(1),
        )))
        .map_err(drawing)?;
    }
    legend(&legend_area, &entries)?;
    root.present().map_err(drawing)?;
    Ok(())
}
