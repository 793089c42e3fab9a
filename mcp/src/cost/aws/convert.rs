//! Our types to the SDK's and back: filters, group keys, metric maps, results by time, selector
//! expressions and forecasts.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_costexplorer::types as ce;

use super::from_interval;
use crate::cost::{
    Amount, ComparisonValue, CostGroup, CostPeriod, Expression, ForecastPeriod, ForecastResponse,
    GroupKey,
};

/// The SDK's `Expression` for a filter: the same tree, except that an `and`/`or` of one operand
/// is that operand (the API wants two or more).
pub fn expression(e: &Expression) -> ce::Expression {
    match e {
        // The API wants two or more operands under And/Or; one operand is that operand.
        Expression::And(items) | Expression::Or(items) if items.len() == 1 => items
            .first()
            .map_or_else(|| ce::Expression::builder().build(), expression),
        Expression::And(items) => ce::Expression::builder()
            .set_and(Some(items.iter().map(expression).collect()))
            .build(),
        Expression::Or(items) => ce::Expression::builder()
            .set_or(Some(items.iter().map(expression).collect()))
            .build(),
        Expression::Not(inner) => ce::Expression::builder().not(expression(inner)).build(),
        Expression::Dimension { key, values } => ce::Expression::builder()
            .dimensions(
                ce::DimensionValues::builder()
                    .key(ce::Dimension::from(key.as_str()))
                    .set_values(Some(values.clone()))
                    .build(),
            )
            .build(),
        Expression::Tag { key, values } => ce::Expression::builder()
            .tags(
                ce::TagValues::builder()
                    .key(key)
                    .set_values(Some(values.clone()))
                    .build(),
            )
            .build(),
    }
}

pub(super) fn group_definition(key: &GroupKey) -> ce::GroupDefinition {
    match key {
        GroupKey::Dimension(d) => ce::GroupDefinition::builder()
            .r#type(ce::GroupDefinitionType::Dimension)
            .key(d.as_str())
            .build(),
        GroupKey::Tag(t) => ce::GroupDefinition::builder()
            .r#type(ce::GroupDefinitionType::Tag)
            .key(t)
            .build(),
    }
}

pub(super) fn num(value: Option<&str>) -> f64 {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

pub(super) fn metrics(map: Option<&HashMap<String, ce::MetricValue>>) -> BTreeMap<String, Amount> {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Amount {
                        amount: num(v.amount()),
                        unit: v.unit().unwrap_or("").to_owned(),
                    },
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn results(list: &[ce::ResultByTime]) -> Vec<CostPeriod> {
    list.iter()
        .map(|r| {
            let (start, end) = from_interval(r.time_period());
            CostPeriod {
                start,
                end,
                estimated: r.estimated(),
                total: metrics(r.total()),
                groups: r
                    .groups()
                    .iter()
                    .map(|g| CostGroup {
                        keys: g.keys().to_vec(),
                        metrics: metrics(g.metrics()),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Merges pages of results by time: groups of the same period are appended.
pub(super) fn merge_periods(into: &mut Vec<CostPeriod>, page: Vec<CostPeriod>) {
    for period in page {
        match into
            .iter_mut()
            .find(|p| p.start == period.start && p.end == period.end)
        {
            Some(existing) => {
                existing.groups.extend(period.groups);
                existing.total.extend(period.total);
            }
            None => into.push(period),
        }
    }
}

pub(super) fn comparison_value(
    map: Option<&HashMap<String, ce::ComparisonMetricValue>>,
    metric: &str,
) -> ComparisonValue {
    let v = map.and_then(|m| m.get(metric));
    ComparisonValue {
        baseline: num(v.and_then(|v| v.baseline_time_period_amount())),
        comparison: num(v.and_then(|v| v.comparison_time_period_amount())),
        difference: num(v.and_then(|v| v.difference())),
        unit: v.and_then(|v| v.unit()).unwrap_or("USD").to_owned(),
    }
}

/// A selector expression as `KEY=value` pairs.
pub(super) fn selector(e: Option<&ce::Expression>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(e: &ce::Expression, out: &mut BTreeMap<String, String>) {
        if let Some(d) = e.dimensions() {
            let key = d.key().map(|k| k.as_str().to_owned()).unwrap_or_default();
            out.insert(key, d.values().join(","));
        }
        if let Some(t) = e.tags() {
            out.insert(
                format!("TAG:{}", t.key().unwrap_or("")),
                t.values().join(","),
            );
        }
        for child in e.and() {
            walk(child, out);
        }
    }
    if let Some(e) = e {
        walk(e, &mut out);
    }
    out
}

pub(super) fn forecast_response(
    output: Option<&ce::MetricValue>,
    results: &[ce::ForecastResult],
) -> ForecastResponse {
    ForecastResponse {
        total: Amount {
            amount: num(output.and_then(|t| t.amount())),
            unit: output.and_then(|t| t.unit()).unwrap_or("USD").to_owned(),
        },
        periods: results
            .iter()
            .map(|r| {
                let (start, end) = from_interval(r.time_period());
                ForecastPeriod {
                    start,
                    end,
                    mean: num(r.mean_value()),
                    lower_bound: num(r.prediction_interval_lower_bound()),
                    upper_bound: num(r.prediction_interval_upper_bound()),
                }
            })
            .collect(),
    }
}

pub(super) fn attributes(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}
