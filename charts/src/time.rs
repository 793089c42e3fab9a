//! Time charts: one value per period, as stacked bars or lines, with an optional band.

use plotters::prelude::*;

use crate::fold::fold_series;
use crate::frame::{Entry, frame, legend};
use crate::style::{FAMILY, INK, colour, printable, tick, unit_caption, value_range};
use crate::{MAX_SERIES, RenderError, Series, TimeChart, TimeStyle, drawing};

/// Half the width of a bar, in periods.
const HALF_BAR: f64 = 0.36;

/// The value of `series` at `i` (0 when missing or not finite).
fn at(values: &[f64], i: usize) -> f64 {
    values
        .get(i)
        .copied()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// The lowest and highest values drawn.
fn extent(chart: &TimeChart, series: &[Series], n: usize) -> (f64, f64) {
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for i in 0..n {
        match chart.style {
            TimeStyle::StackedBars => {
                let (neg, pos) = series.iter().fold((0.0, 0.0), |(neg, pos), s| {
                    let v = at(&s.values, i);
                    if v < 0.0 {
                        (neg + v, pos)
                    } else {
                        (neg, pos + v)
                    }
                });
                lo = lo.min(neg);
                hi = hi.max(pos);
            }
            TimeStyle::Lines => {
                for s in series {
                    lo = lo.min(at(&s.values, i));
                    hi = hi.max(at(&s.values, i));
                }
            }
        }
        if let Some(band) = &chart.band {
            lo = lo.min(at(&band.lower, i));
            hi = hi.max(at(&band.upper, i));
        }
    }
    (lo, hi)
}

/// Draws `chart` into `rgb` (`size` pixels, RGB8).
pub(crate) fn draw(chart: &TimeChart, rgb: &mut [u8], size: (u32, u32)) -> Result<(), RenderError> {
    let n = chart.periods.len();
    if n == 0 || (chart.series.is_empty() && chart.band.is_none()) {
        return Err(RenderError::Empty);
    }
    let series = match chart.style {
        TimeStyle::StackedBars => fold_series(chart.series.clone(), MAX_SERIES),
        TimeStyle::Lines => chart.series.iter().take(MAX_SERIES).cloned().collect(),
    };
    let (lo, hi) = extent(chart, &series, n);
    let (lo, hi) = value_range(lo, hi, &chart.unit);
    let last = n as f64 - 0.5;

    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    let (plot, legend_area) = frame(&root, &chart.title)?;
    let mut cc = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5f64..last, lo..hi)
        .map_err(drawing)?;
    let periods = &chart.periods;
    let x_label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        periods
            .get(i as usize)
            .map(|p| printable(p, 12))
            .unwrap_or_default()
    };
    let unit = &chart.unit;
    let y_label = |y: &f64| tick(*y, unit);
    cc.configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(8))
        .y_labels(6)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .x_desc(printable(&chart.period_name, 40))
        .y_desc(unit_caption(unit))
        .label_style((FAMILY, 12).into_font().color(&INK))
        .axis_desc_style((FAMILY, 13).into_font().color(&INK))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .light_line_style(WHITE)
        .axis_style(INK)
        .draw()
        .map_err(drawing)?;

    let mut entries = Vec::new();
    if let Some(band) = &chart.band {
        let c = colour(0, "");
        let xs = |i: usize| match n {
            1 => [-HALF_BAR, HALF_BAR],
            _ => [i as f64, i as f64],
        };
        let mut outline: Vec<(f64, f64)> = (0..n)
            .flat_map(|i| xs(i).map(|x| (x, at(&band.upper, i))))
            .collect();
        outline.extend(
            (0..n)
                .rev()
                .flat_map(|i| xs(i).map(|x| (x, at(&band.lower, i))).into_iter().rev()),
        );
        cc.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.22).filled())))
            .map_err(drawing)?;
        entries.push(Entry {
            name: band.name.clone(),
            colour: c,
            band: true,
        });
    }
    match chart.style {
        TimeStyle::StackedBars => {
            let mut base = vec![(0.0f64, 0.0f64); n];
            for (j, s) in series.iter().enumerate() {
                let c = colour(j, &s.name);
                let bars = base.iter_mut().enumerate().filter_map(|(i, (neg, pos))| {
                    let v = at(&s.values, i);
                    let x = i as f64;
                    let (from, to) = if v < 0.0 {
                        *neg += v;
                        (*neg - v, *neg)
                    } else {
                        *pos += v;
                        (*pos - v, *pos)
                    };
                    (v != 0.0).then(|| {
                        Rectangle::new([(x - HALF_BAR, from), (x + HALF_BAR, to)], c.filled())
                    })
                });
                cc.draw_series(bars).map_err(drawing)?;
                entries.push(Entry {
                    name: s.name.clone(),
                    colour: c,
                    band: false,
                });
            }
        }
        TimeStyle::Lines => {
            for (j, s) in series.iter().enumerate() {
                let c = colour(j, &s.name);
                let points: Vec<(f64, f64)> =
                    (0..n).map(|i| (i as f64, at(&s.values, i))).collect();
                cc.draw_series(std::iter::once(PathElement::new(
                    points.clone(),
                    c.stroke_width(2),
                )))
                .map_err(drawing)?;
                cc.draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))
                    .map_err(drawing)?;
                entries.push(Entry {
                    name: s.name.clone(),
                    colour: c,
                    band: false,
                });
            }
        }
    }
    legend(&legend_area, &entries)?;
    root.present().map_err(drawing)?;
    Ok(())
}
