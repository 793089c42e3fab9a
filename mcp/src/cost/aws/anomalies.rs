//! GetAnomalies.

use aws_sdk_costexplorer::types as ce;

use super::{AwsCostSource, MAX_PAGES, map_error};
use crate::cost::{AnomaliesRequest, AnomaliesResponse, Anomaly, CostError, Date, RootCause};

impl AwsCostSource {
    pub(super) async fn get_anomalies(
        &self,
        req: &AnomaliesRequest,
    ) -> Result<AnomaliesResponse, CostError> {
        let dates = ce::AnomalyDateInterval::builder()
            .start_date(req.period.start.to_string())
            .end_date(req.period.end.to_string())
            .build()
            .map_err(|_| CostError::InvalidRequest("bad date interval".into()))?;
        let impact = match req.min_total_impact {
            Some(min) => Some(
                ce::TotalImpactFilter::builder()
                    .numeric_operator(ce::NumericOperator::GreaterThanOrEqual)
                    .start_value(min)
                    .build()
                    .map_err(|_| CostError::InvalidRequest("bad impact filter".into()))?,
            ),
            None => None,
        };
        let mut anomalies = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_anomalies()
                .date_interval(dates.clone())
                .set_monitor_arn(req.monitor_arn.clone())
                .set_total_impact(impact.clone())
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetAnomalies", e))?;
            anomalies.extend(out.anomalies().iter().map(|a| {
                let day =
                    |s: Option<&str>| s.and_then(|s| Date::parse(s.get(..10).unwrap_or(s)).ok());
                let mut anomaly = Anomaly {
                    id: a.anomaly_id().to_owned(),
                    start: day(a.anomaly_start_date()).unwrap_or(req.period.start),
                    end: day(a.anomaly_end_date()),
                    dimension_value: a.dimension_value().map(str::to_owned),
                    max_impact: a.impact().map(|i| i.max_impact()),
                    total_impact: a.impact().map(|i| i.total_impact()),
                    total_impact_percentage: a.impact().and_then(|i| i.total_impact_percentage()),
                    total_actual_spend: a.impact().and_then(|i| i.total_actual_spend()),
                    total_expected_spend: a.impact().and_then(|i| i.total_expected_spend()),
                    attributable_impact: None,
                    root_causes: a
                        .root_causes()
                        .iter()
                        .map(|c| RootCause {
                            service: c.service().map(str::to_owned),
                            region: c.region().map(str::to_owned),
                            linked_account: c.linked_account().map(str::to_owned),
                            linked_account_name: c.linked_account_name().map(str::to_owned),
                            usage_type: c.usage_type().map(str::to_owned),
                            contribution: c.impact().map(|i| i.contribution()),
                        })
                        .collect(),
                    monitor_arn: a.monitor_arn().to_owned(),
                };
                anomaly.attributable_impact = anomaly.contributions();
                anomaly
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(AnomaliesResponse {
            anomalies,
            truncated,
        })
    }
}
