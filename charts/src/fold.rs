//! Keeping a chart readable: at most a handful of series or categories, the smallest of the
//! rest summed into one "Other". Only for additive values (costs, usage, differences).

use crate::style::OTHER_NAME;
use crate::{BarChart, Series};

/// `series` with at most `max` entries: the `max - 1` largest (by the sum of absolute values),
/// in their original order, then "Other" summing the rest. Fewer than `max + 1` series are
/// returned as they are.
pub fn fold_series(series: Vec<Series>, max: usize) -> Vec<Series> {
    if series.len() <= max || max == 0 {
        return series;
    }
    let weight = |s: &Series| s.values.iter().map(|v| v.abs()).sum::<f64>();
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by(|&a, &b| {
        let (wa, wb) = (
            series.get(a).map_or(0.0, weight),
            series.get(b).map_or(0.0, weight),
        );
        wb.total_cmp(&wa).then(a.cmp(&b))
    });
    let keep: Vec<usize> = order.into_iter().take(max - 1).collect();
    let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let mut other = vec![0.0; len];
    let mut kept = Vec::with_capacity(max);
    for (i, s) in series.into_iter().enumerate() {
        if keep.contains(&i) {
            kept.push(s);
        } else {
            for (sum, v) in other.iter_mut().zip(&s.values) {
                *sum += v;
            }
        }
    }
    kept.push(Series {
        name: OTHER_NAME.to_owned(),
        values: other,
    });
    kept
}

/// `chart` with at most `max` categories: the first `max - 1` (callers order them, largest
/// first), then "Other (n)" summing the rest in each series.
pub fn fold_categories(mut chart: BarChart, max: usize) -> BarChart {
    let n = chart.categories.len();
    if n <= max || max == 0 {
        return chart;
    }
    let keep = max - 1;
    chart.categories.truncate(keep);
    chart
        .categories
        .push(format!("{OTHER_NAME} ({})", n - keep));
    for s in &mut chart.series {
        let rest: f64 = s.values.iter().skip(keep).sum();
        s.values.truncate(keep);
        s.values.push(rest);
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Unit;

    fn s(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn the_smallest_series_fold_into_other_and_totals_are_kept() {
        let series = vec![
            s("a", &[1.0, 1.0]),
            s("b", &[10.0, 10.0]),
            s("c", &[2.0, 3.0]),
            s("d", &[6.0, 0.0]),
        ];
        let folded = fold_series(series, 3);
        let names: Vec<&str> = folded.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["b", "d", "Other"]);
        assert_eq!(folded[2].values, [3.0, 4.0]);
        assert_eq!(fold_series(vec![s("a", &[1.0])], 3).len(), 1);
    }

    #[test]
    fn categories_past_the_limit_become_other_with_their_count() {
        let chart = BarChart {
            title: "t".into(),
            unit: Unit::Percent,
            categories: ["a", "b", "c", "d"].map(String::from).to_vec(),
            series: vec![s("x", &[4.0, 3.0, 2.0, 1.0])],
        };
        let folded = fold_categories(chart, 3);
        assert_eq!(folded.categories, ["a", "b", "Other (2)"]);
        assert_eq!(folded.series[0].values, [4.0, 3.0, 3.0]);
    }
}
