//! Cost and usage, forecasts (a fitted trend with the weekly pattern), dimension values and
//! tags.

use std::collections::{BTreeMap, BTreeSet};

use super::{Org, Row, TAG_KEYS, Totals, account_of, bad, line, round2, tag_of};
use crate::cost::{
    Amount, CostAndUsageRequest, CostAndUsageResponse, CostError, CostGroup, CostPeriod, Date,
    Dimension, DimensionValue, DimensionValuesRequest, DimensionValuesResponse, ForecastPeriod,
    ForecastRequest, ForecastResponse, Metric, TagsRequest, TagsResponse,
};

/// Forecasts fit the trend over this many days before today.
pub(super) const FIT_DAYS: i64 = 91;

impl Org {
    pub(super) fn cost_and_usage(
        &self,
        req: &CostAndUsageRequest,
        with_resources: bool,
    ) -> Result<CostAndUsageResponse, CostError> {
        if req.group_by.len() > 2 {
            return Err(bad("at most two group-by keys are allowed"));
        }
        if req.metrics.is_empty() {
            return Err(bad("at least one metric is required"));
        }
        let rows = Self::selected(req.filter.as_ref(), with_resources)?;
        let mut periods = Vec::new();
        for bucket in req.period.split(req.granularity) {
            let totals = self.totals(&rows, &bucket, &req.group_by)?;
            let metrics = |t: &Totals| -> BTreeMap<String, Amount> {
                req.metrics
                    .iter()
                    .map(|m| (m.as_str().to_owned(), t.amount(*m)))
                    .collect()
            };
            let (total, groups) = if req.group_by.is_empty() {
                let sum = totals.values().next().cloned().unwrap_or_default();
                (metrics(&sum), Vec::new())
            } else {
                let groups = totals
                    .iter()
                    .filter(|(_, t)| t.cents != 0)
                    .map(|(keys, t)| CostGroup {
                        keys: keys.clone(),
                        metrics: metrics(t),
                    })
                    .collect();
                (BTreeMap::new(), groups)
            };
            periods.push(CostPeriod {
                start: bucket.start,
                end: bucket.end,
                estimated: bucket.contains(self.today),
                total,
                groups,
            });
        }
        Ok(CostAndUsageResponse {
            periods,
            truncated: false,
        })
    }

    /// Daily values of `metric` over the fit window for the filtered rows.
    pub(super) fn history(&self, rows: &[Row], metric: Metric) -> Vec<f64> {
        let first = self.today.add_days(-FIT_DAYS);
        (0..FIT_DAYS)
            .map(|offset| {
                let day = first.add_days(offset);
                let mut totals = Totals::default();
                for row in rows {
                    if let Some(line) = line(row.line) {
                        totals.add(self.row_cents(*row, day), line);
                    }
                }
                totals.amount(metric).amount
            })
            .collect()
    }

    pub(super) fn forecast(
        &self,
        req: &ForecastRequest,
        usage: bool,
    ) -> Result<ForecastResponse, CostError> {
        if req.period.start < self.today {
            return Err(bad(format!(
                "the forecast must start today ({}) or later",
                self.today
            )));
        }
        if usage != req.metric.is_usage() {
            return Err(bad(if usage {
                "a usage forecast needs a usage metric (UsageQuantity or NormalizedUsageAmount)"
            } else {
                "a cost forecast needs a cost metric"
            }));
        }
        let z = match req.prediction_interval_level {
            80 => 1.2816,
            95 => 1.96,
            _ => return Err(bad("the prediction interval level must be 80 or 95")),
        };
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let history = self.history(&rows, req.metric);
        let fit = Fit::new(&history, self.today.add_days(-FIT_DAYS));
        let mut periods = Vec::new();
        let mut total = 0.0;
        for bucket in req.period.split(req.granularity) {
            let mean: f64 = bucket
                .days()
                .map(|d| fit.predict(self.today.add_days(-FIT_DAYS), d))
                .sum();
            let spread = z * fit.sigma * (bucket.len_days() as f64).sqrt();
            total += mean;
            periods.push(ForecastPeriod {
                start: bucket.start,
                end: bucket.end,
                mean: round2(mean),
                lower_bound: round2((mean - spread).max(0.0)),
                upper_bound: round2(mean + spread),
            });
        }
        let unit = if req.metric.is_usage() {
            let mut t = Totals::default();
            rows.iter()
                .filter_map(|r| line(r.line))
                .for_each(|l| t.add(0, l));
            t.amount(req.metric).unit
        } else {
            "USD".into()
        };
        Ok(ForecastResponse {
            total: Amount {
                amount: round2(total),
                unit,
            },
            periods,
        })
    }
}

/// A least-squares line through daily values with a multiplicative weekday pattern.
pub(super) struct Fit {
    intercept: f64,
    slope: f64,
    weekday: [f64; 7],
    sigma: f64,
}

impl Fit {
    pub(super) fn new(values: &[f64], first: Date) -> Self {
        let n = values.len().max(1) as f64;
        let mean_x = (n - 1.0) / 2.0;
        let mean_y = values.iter().sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (x, y) in values.iter().enumerate() {
            let dx = x as f64 - mean_x;
            sxy += dx * (y - mean_y);
            sxx += dx * dx;
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let intercept = mean_y - slope * mean_x;
        let mut ratio = [0.0f64; 7];
        let mut count = [0.0f64; 7];
        for (x, y) in values.iter().enumerate() {
            let trend = intercept + slope * x as f64;
            let wd = first.add_days(x as i64).weekday() as usize;
            if trend > 0.0
                && let (Some(r), Some(c)) = (ratio.get_mut(wd), count.get_mut(wd))
            {
                *r += y / trend;
                *c += 1.0;
            }
        }
        let mut weekday = [1.0f64; 7];
        for ((w, r), c) in weekday.iter_mut().zip(ratio).zip(count) {
            if c > 0.0 {
                *w = r / c;
            }
        }
        let mut fit = Self {
            intercept,
            slope,
            weekday,
            sigma: 0.0,
        };
        let residuals: f64 = values
            .iter()
            .enumerate()
            .map(|(x, y)| (y - fit.predict(first, first.add_days(x as i64))).powi(2))
            .sum();
        fit.sigma = (residuals / (n - 2.0).max(1.0)).sqrt();
        fit
    }

    pub(super) fn predict(&self, first: Date, day: Date) -> f64 {
        let x = first.days_until(day) as f64;
        let factor = self
            .weekday
            .get(day.weekday() as usize)
            .copied()
            .unwrap_or(1.0);
        ((self.intercept + self.slope * x) * factor).max(0.0)
    }
}

impl Org {
    pub(super) fn dimension_values(
        &self,
        req: &DimensionValuesRequest,
    ) -> Result<DimensionValuesResponse, CostError> {
        let with_resources = req.dimension == Dimension::ResourceId;
        if with_resources && req.period.start < self.today.add_days(-13) {
            return Err(bad("resource ids are available for the last 14 days only"));
        }
        let rows = Self::selected(req.filter.as_ref(), with_resources)?;
        let needle = req.search.as_deref().map(str::to_lowercase);
        let mut values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for row in rows {
            let has_cost = req.period.days().any(|d| self.row_cents(row, d) > 0);
            let Some(value) = Self::dimension_value(row, req.dimension) else {
                continue;
            };
            if !has_cost
                || needle
                    .as_ref()
                    .is_some_and(|n| !value.to_lowercase().contains(n))
            {
                continue;
            }
            let mut attributes = BTreeMap::new();
            if req.dimension == Dimension::LinkedAccount
                && let Some(account) = line(row.line).and_then(account_of)
            {
                attributes.insert("description".to_owned(), account.name.to_owned());
            }
            values.insert(value, attributes);
        }
        Ok(DimensionValuesResponse {
            dimension: req.dimension,
            values: values
                .into_iter()
                .map(|(value, attributes)| DimensionValue { value, attributes })
                .collect(),
            truncated: false,
        })
    }

    pub(super) fn tags(&self, req: &TagsRequest) -> Result<TagsResponse, CostError> {
        let rows = Self::selected(req.filter.as_ref(), false)?;
        let needle = req.search.as_deref().map(str::to_lowercase);
        let mut out = BTreeSet::new();
        for row in rows {
            if !req.period.days().any(|d| self.row_cents(row, d) > 0) {
                continue;
            }
            let Some(line) = line(row.line) else { continue };
            match &req.tag_key {
                None => {
                    for key in TAG_KEYS {
                        if tag_of(line, key).is_some() {
                            out.insert(key.to_owned());
                        }
                    }
                }
                Some(key) => {
                    out.insert(tag_of(line, key).unwrap_or("").to_owned());
                }
            }
        }
        if let Some(key) = &req.tag_key
            && !TAG_KEYS.contains(&key.as_str())
        {
            out.clear();
        }
        let tags = out
            .into_iter()
            .filter(|t| needle.as_ref().is_none_or(|n| t.to_lowercase().contains(n)))
            .collect();
        Ok(TagsResponse {
            tag_key: req.tag_key.clone(),
            tags,
            truncated: false,
        })
    }
}
