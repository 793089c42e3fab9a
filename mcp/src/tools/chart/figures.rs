//! What each tool's chart shows, from its request and answer: costs over time as stacked bars
//! per group, forecasts as a line in their prediction interval, comparisons and drivers as
//! horizontal bars, anomalies by impact, utilization and coverage as percentages over time
//! ([`commitments`]).

mod commitments;

pub(crate) use self::commitments::{
    reservation_coverage, reservation_utilization, savings_plans_coverage,
    savings_plans_utilization,
};

use std::collections::BTreeMap;

use charts::{Band, BarChart, Chart, Series, TimeChart, TimeStyle, Unit};

use crate::cost::{
    AnomaliesResponse, ComparisonRequest, ComparisonResponse, CostAndUsageRequest,
    CostAndUsageResponse, Date, DateRange, DriversResponse, ForecastRequest, ForecastResponse,
    Granularity, GroupKey,
};

fn unit(name: &str) -> Unit {
    if name.eq_ignore_ascii_case("USD") {
        Unit::Currency { code: "USD".into() }
    } else {
        Unit::Quantity { name: name.into() }
    }
}

pub(super) fn period_name(granularity: Granularity) -> String {
    match granularity {
        Granularity::Daily => "Day (UTC)",
        Granularity::Monthly => "Month (UTC)",
    }
    .into()
}

/// `2027-01` by month, `2027-01-05` by day.
pub(super) fn label(start: Date, granularity: Granularity) -> String {
    let text = start.to_string();
    match granularity {
        Granularity::Monthly => text.get(..7).unwrap_or(&text).to_owned(),
        Granularity::Daily => text,
    }
}

fn month(range: &DateRange) -> String {
    label(range.start, Granularity::Monthly)
}

pub(super) fn span(period: &DateRange) -> String {
    format!("{} – {}", period.start, period.end)
}

fn key_name(key: &GroupKey) -> String {
    match key {
        GroupKey::Dimension(d) => d.as_str().to_owned(),
        GroupKey::Tag(t) => format!("tag {t}"),
    }
}

/// A group's label: its keys joined, tag values without their `key$` prefix.
fn group_label(keys: &[String]) -> String {
    let parts: Vec<&str> = keys
        .iter()
        .map(|k| match k.split_once('$') {
            Some((_, "")) => "(untagged)",
            Some((_, v)) => v,
            None if k.is_empty() => "(none)",
            None => k.as_str(),
        })
        .collect();
    parts.join(" / ")
}

/// Cost and usage over time: the first metric, stacked by group (largest first).
pub(crate) fn cost_and_usage(
    req: &CostAndUsageRequest,
    out: &CostAndUsageResponse,
) -> Option<Chart> {
    let metric = req.metrics.first()?.as_str();
    let n = out.periods.len();
    let mut unit_name = None;
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, period) in out.periods.iter().enumerate() {
        let total = period
            .total
            .get(metric)
            .filter(|_| req.group_by.is_empty())
            .map(|a| (metric.to_owned(), a));
        let grouped = period
            .groups
            .iter()
            .filter_map(|g| g.metrics.get(metric).map(|a| (group_label(&g.keys), a)));
        for (name, a) in total.into_iter().chain(grouped) {
            unit_name.get_or_insert_with(|| a.unit.clone());
            let values = groups.entry(name).or_insert_with(|| vec![0.0; n]);
            if let Some(v) = values.get_mut(i) {
                *v += a.amount;
            }
        }
    }
    let mut series: Vec<Series> = groups
        .into_iter()
        .map(|(name, values)| Series { name, values })
        .collect();
    series.sort_by(|a, b| {
        let total = |s: &Series| s.values.iter().map(|v| v.abs()).sum::<f64>();
        total(b).total_cmp(&total(a))
    });
    let by: Vec<String> = req.group_by.iter().map(key_name).collect();
    let title = if by.is_empty() {
        format!("{metric}, {}", span(&req.period))
    } else {
        format!("{metric} by {}, {}", by.join(" and "), span(&req.period))
    };
    Some(Chart::Time(TimeChart {
        title,
        unit: unit(unit_name.as_deref().unwrap_or("USD")),
        period_name: period_name(req.granularity),
        periods: out
            .periods
            .iter()
            .map(|p| label(p.start, req.granularity))
            .collect(),
        style: TimeStyle::StackedBars,
        series,
        band: None,
    }))
}

/// A forecast: its mean as a line inside its prediction interval.
pub(crate) fn forecast(req: &ForecastRequest, out: &ForecastResponse) -> Option<Chart> {
    (!out.periods.is_empty()).then(|| {
        Chart::Time(TimeChart {
            title: format!("{} forecast, {}", req.metric.as_str(), span(&req.period)),
            unit: unit(&out.total.unit),
            period_name: period_name(req.granularity),
            periods: out
                .periods
                .iter()
                .map(|p| label(p.start, req.granularity))
                .collect(),
            style: TimeStyle::Lines,
            series: vec![Series {
                name: "Forecast (mean)".into(),
                values: out.periods.iter().map(|p| p.mean).collect(),
            }],
            band: Some(Band {
                name: format!("{}% prediction interval", req.prediction_interval_level),
                lower: out.periods.iter().map(|p| p.lower_bound).collect(),
                upper: out.periods.iter().map(|p| p.upper_bound).collect(),
            }),
        })
    })
}

/// A comparison: both months side by side per group, largest change first.
pub(crate) fn comparison(req: &ComparisonRequest, out: &ComparisonResponse) -> Option<Chart> {
    let (categories, values): (Vec<String>, Vec<(f64, f64)>) = if out.items.is_empty() {
        (
            vec!["Total".into()],
            vec![(out.total.baseline, out.total.comparison)],
        )
    } else {
        out.items
            .iter()
            .map(|item| {
                let name = if item.key.is_empty() {
                    "Total".to_owned()
                } else {
                    group_label(std::slice::from_ref(&item.key))
                };
                (name, (item.value.baseline, item.value.comparison))
            })
            .unzip()
    };
    let by = req
        .group_by
        .as_ref()
        .map(|k| format!(" by {}", key_name(k)))
        .unwrap_or_default();
    Some(Chart::Bars(BarChart {
        title: format!(
            "{}{by}: {} against {}",
            out.metric.as_str(),
            month(&req.comparison),
            month(&req.baseline)
        ),
        unit: unit(&out.total.unit),
        categories,
        series: vec![
            Series {
                name: month(&req.baseline),
                values: values.iter().map(|v| v.0).collect(),
            },
            Series {
                name: month(&req.comparison),
                values: values.iter().map(|v| v.1).collect(),
            },
        ],
    }))
}

/// Cost drivers: each driver's change, largest first, named with its group.
pub(crate) fn drivers(req: &ComparisonRequest, out: &DriversResponse) -> Option<Chart> {
    // The usage types' names say their service; the groups' selectors would only cut them.
    let mut rows: Vec<(String, f64, &str)> = out
        .groups
        .iter()
        .flat_map(|g| g.drivers.iter())
        .map(|d| (d.name.clone(), d.value.difference, d.value.unit.as_str()))
        .collect();
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let unit_name = rows.first()?.2.to_owned();
    Some(Chart::Bars(BarChart {
        title: format!(
            "{} change drivers: {} against {}",
            out.metric.as_str(),
            month(&req.comparison),
            month(&req.baseline)
        ),
        unit: unit(&unit_name),
        categories: rows.iter().map(|r| r.0.clone()).collect(),
        series: vec![Series {
            name: format!("Change since {}", month(&req.baseline)),
            values: rows.iter().map(|r| r.1).collect(),
        }],
    }))
}

/// Anomalies by impact, largest first: the total impact, or for account-limited users the
/// share attributable to their accounts.
pub(crate) fn anomalies(period: &DateRange, out: &AnomaliesResponse) -> Option<Chart> {
    let mut rows: Vec<(String, f64)> = out
        .anomalies
        .iter()
        .map(|a| {
            let what = a
                .dimension_value
                .clone()
                .or_else(|| a.root_causes.iter().find_map(|c| c.service.clone()))
                .unwrap_or_else(|| a.id.clone());
            (
                format!("{} {what}", a.start),
                a.total_impact.or(a.attributable_impact).unwrap_or(0.0),
            )
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    Some(Chart::Bars(BarChart {
        title: format!("Cost anomalies by impact, {}", span(period)),
        unit: unit("USD"),
        categories: rows.iter().map(|r| r.0.clone()).collect(),
        series: vec![Series {
            name: "Impact (actual − expected)".into(),
            values: rows.iter().map(|r| r.1).collect(),
        }],
    }))
}
