//! Month-over-month comparisons and their cost drivers.

use std::collections::{BTreeMap, BTreeSet};

use super::{Org, Totals, bad};
use crate::cost::{
    ComparisonItem, ComparisonRequest, ComparisonResponse, ComparisonValue, CostDriver, CostError,
    Dimension, DriverGroup, DriversResponse, GroupKey, Metric, dollars, round4,
};

pub(super) fn comparison_value(baseline: i64, comparison: i64) -> ComparisonValue {
    ComparisonValue {
        baseline: dollars(baseline),
        comparison: dollars(comparison),
        difference: dollars(comparison - baseline),
        unit: "USD".into(),
    }
}

pub(super) fn usage_comparison(
    baseline: &Totals,
    comparison: &Totals,
    metric: Metric,
) -> ComparisonValue {
    if !metric.is_usage() {
        return comparison_value(baseline.cents, comparison.cents);
    }
    let (b, c) = (baseline.amount(metric), comparison.amount(metric));
    ComparisonValue {
        baseline: b.amount,
        comparison: c.amount,
        difference: round4(c.amount - b.amount),
        unit: b.unit,
    }
}

impl Org {
    pub(super) fn check_months(req: &ComparisonRequest) -> Result<(), CostError> {
        if !req.baseline.is_whole_month() || !req.comparison.is_whole_month() {
            return Err(bad(
                "baseline and comparison periods must each be one whole calendar month",
            ));
        }
        Ok(())
    }

    pub(super) fn comparisons(
        &self,
        req: &ComparisonRequest,
    ) -> Result<ComparisonResponse, CostError> {
        Self::check_months(req)?;
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let group_by: Vec<GroupKey> = req.group_by.iter().cloned().collect();
        let base = self.totals(&rows, &req.baseline, &group_by)?;
        let comp = self.totals(&rows, &req.comparison, &group_by)?;
        let keys: BTreeSet<&Vec<String>> = base.keys().chain(comp.keys()).collect();
        let empty = Totals::default();
        let mut items = Vec::new();
        let (mut total_b, mut total_c) = (Totals::default(), Totals::default());
        for key in keys {
            let (b, c) = (
                base.get(key).unwrap_or(&empty),
                comp.get(key).unwrap_or(&empty),
            );
            total_b.cents += b.cents;
            total_c.cents += c.cents;
            total_b.usage += b.usage;
            total_c.usage += c.usage;
            total_b.normalized += b.normalized;
            total_c.normalized += c.normalized;
            if b.cents == 0 && c.cents == 0 {
                continue;
            }
            items.push(ComparisonItem {
                key: key.join(","),
                value: usage_comparison(b, c, req.metric),
            });
        }
        items.sort_by(|a, b| {
            b.value
                .difference
                .abs()
                .total_cmp(&a.value.difference.abs())
        });
        Ok(ComparisonResponse {
            metric: req.metric,
            total: usage_comparison(&total_b, &total_c, req.metric),
            items,
            truncated: false,
        })
    }

    pub(super) fn drivers(&self, req: &ComparisonRequest) -> Result<DriversResponse, CostError> {
        Self::check_months(req)?;
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let key = req
            .group_by
            .clone()
            .unwrap_or(GroupKey::Dimension(Dimension::Service));
        let by = [key.clone(), GroupKey::Dimension(Dimension::UsageType)];
        let base = self.totals(&rows, &req.baseline, &by)?;
        let comp = self.totals(&rows, &req.comparison, &by)?;
        let keys: BTreeSet<&Vec<String>> = base.keys().chain(comp.keys()).collect();
        let empty = Totals::default();
        let mut groups: BTreeMap<String, (Totals, Totals, Vec<CostDriver>)> = BTreeMap::new();
        for k in keys {
            let (b, c) = (base.get(k).unwrap_or(&empty), comp.get(k).unwrap_or(&empty));
            let (Some(group), Some(usage)) = (k.first(), k.get(1)) else {
                continue;
            };
            let entry = groups.entry(group.clone()).or_default();
            entry.0.cents += b.cents;
            entry.1.cents += c.cents;
            if b.cents != c.cents {
                entry.2.push(CostDriver {
                    driver_type: "USAGE_CHANGE".into(),
                    name: usage.clone(),
                    value: comparison_value(b.cents, c.cents),
                });
            }
        }
        let label = match &key {
            GroupKey::Dimension(d) => d.as_str().to_owned(),
            GroupKey::Tag(t) => format!("TAG:{t}"),
        };
        let mut out: Vec<DriverGroup> = groups
            .into_iter()
            .filter(|(_, (b, c, _))| b.cents != c.cents)
            .map(|(group, (b, c, mut drivers))| {
                drivers.sort_by(|x, y| {
                    y.value
                        .difference
                        .abs()
                        .total_cmp(&x.value.difference.abs())
                });
                drivers.truncate(5);
                DriverGroup {
                    selector: BTreeMap::from([(label.clone(), group)]),
                    value: comparison_value(b.cents, c.cents),
                    drivers,
                }
            })
            .collect();
        out.sort_by(|x, y| {
            y.value
                .difference
                .abs()
                .total_cmp(&x.value.difference.abs())
        });
        Ok(DriversResponse {
            metric: req.metric,
            groups: out,
            truncated: false,
        })
    }
}
