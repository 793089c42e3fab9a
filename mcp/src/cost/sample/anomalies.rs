//! Anomalies: the spikes as Cost Anomaly Detection would report them.

use super::data::{MONITOR_ARN, SPIKES};
use super::{Org, account_of, line, round2};
use crate::cost::{
    AnomaliesRequest, AnomaliesResponse, Anomaly, CostError, DateRange, RootCause, dollars,
};

impl Org {
    pub(super) fn anomalies(&self, req: &AnomaliesRequest) -> Result<AnomaliesResponse, CostError> {
        if req
            .monitor_arn
            .as_deref()
            .is_some_and(|arn| arn != MONITOR_ARN)
        {
            return Ok(AnomaliesResponse {
                anomalies: Vec::new(),
                truncated: false,
            });
        }
        let mut anomalies = Vec::new();
        for spike in &SPIKES {
            let first = self.today.add_days(-spike.days_ago);
            let last = first.add_days(spike.days - 1);
            if last < req.period.start || first > req.period.end || first < self.start {
                continue;
            }
            let Some(line) = line(spike.line) else {
                continue;
            };
            let Some(account) = account_of(line) else {
                continue;
            };
            let days = DateRange {
                start: first,
                end: last.min(self.today),
            };
            let (mut actual, mut expected, mut max_impact) = (0i64, 0i64, 0i64);
            for day in days.days() {
                let (a, e) = (
                    self.line_cents(spike.line, day),
                    self.expected_cents(spike.line, day),
                );
                actual += a;
                expected += e;
                max_impact = max_impact.max(a - e);
            }
            let total_impact = dollars(actual - expected);
            if req.min_total_impact.is_some_and(|min| total_impact < min) {
                continue;
            }
            // One root cause, which contributes the whole impact.
            anomalies.push(Anomaly {
                id: spike.id.to_owned(),
                start: first,
                end: (last < self.today).then_some(last),
                dimension_value: Some(line.service.to_owned()),
                max_impact: Some(dollars(max_impact)),
                total_impact: Some(total_impact),
                total_impact_percentage: (expected > 0)
                    .then(|| round2((actual - expected) as f64 / expected as f64 * 100.0)),
                total_actual_spend: Some(dollars(actual)),
                total_expected_spend: Some(dollars(expected)),
                attributable_impact: Some(total_impact),
                root_causes: vec![RootCause {
                    service: Some(line.service.to_owned()),
                    region: Some(line.region.to_owned()),
                    linked_account: Some(account.id.to_owned()),
                    linked_account_name: Some(account.name.to_owned()),
                    usage_type: Some(line.usage.to_owned()),
                    contribution: Some(total_impact),
                }],
                monitor_arn: MONITOR_ARN.to_owned(),
            });
        }
        anomalies.sort_by_key(|a| std::cmp::Reverse(a.start));
        Ok(AnomaliesResponse {
            anomalies,
            truncated: false,
        })
    }
}
