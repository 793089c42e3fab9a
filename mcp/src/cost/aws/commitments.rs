//! Savings Plans and reserved instances: utilization and coverage.

use aws_sdk_costexplorer::types as ce;

use super::convert::{attributes, expression, group_definition, num};
use super::{AwsCostSource, MAX_PAGES, from_interval, granularity, interval, map_error};
use crate::cost::{
    CommitmentRequest, CostError, ReservationCoverage, ReservationCoverageGroup,
    ReservationCoveragePeriod, ReservationCoverageResponse, ReservationUtilization,
    ReservationUtilizationPeriod, ReservationUtilizationResponse, SavingsPlansCoverage,
    SavingsPlansCoveragePeriod, SavingsPlansCoverageResponse, SavingsPlansUtilization,
    SavingsPlansUtilizationPeriod, SavingsPlansUtilizationResponse,
};

fn sp_utilization(
    u: Option<&ce::SavingsPlansUtilization>,
    s: Option<&ce::SavingsPlansSavings>,
) -> SavingsPlansUtilization {
    SavingsPlansUtilization {
        total_commitment: num(u.and_then(|u| u.total_commitment())),
        used_commitment: num(u.and_then(|u| u.used_commitment())),
        unused_commitment: num(u.and_then(|u| u.unused_commitment())),
        utilization_percentage: num(u.and_then(|u| u.utilization_percentage())),
        net_savings: num(s.and_then(|s| s.net_savings())),
        on_demand_cost_equivalent: num(s.and_then(|s| s.on_demand_cost_equivalent())),
    }
}

fn ri_utilization(a: Option<&ce::ReservationAggregates>) -> ReservationUtilization {
    ReservationUtilization {
        utilization_percentage: num(a.and_then(|a| a.utilization_percentage())),
        purchased_hours: num(a.and_then(|a| a.purchased_hours())),
        used_hours: num(a.and_then(|a| a.total_actual_hours())),
        unused_hours: num(a.and_then(|a| a.unused_hours())),
        net_savings: num(a.and_then(|a| a.net_ri_savings())),
        amortized_fee: num(a.and_then(|a| a.total_amortized_fee())),
    }
}

fn ri_coverage(c: Option<&ce::Coverage>) -> ReservationCoverage {
    let hours = c.and_then(|c| c.coverage_hours());
    ReservationCoverage {
        coverage_hours_percentage: num(hours.and_then(|h| h.coverage_hours_percentage())),
        reserved_hours: num(hours.and_then(|h| h.reserved_hours())),
        on_demand_hours: num(hours.and_then(|h| h.on_demand_hours())),
        total_running_hours: num(hours.and_then(|h| h.total_running_hours())),
        on_demand_cost: num(c
            .and_then(|c| c.coverage_cost())
            .and_then(|c| c.on_demand_cost())),
    }
}

impl AwsCostSource {
    pub(super) async fn get_savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError> {
        let out = self
            .client
            .get_savings_plans_utilization()
            .time_period(interval(&req.period)?)
            .granularity(granularity(req.granularity))
            .set_filter(req.filter.as_ref().map(expression))
            .send()
            .await
            .map_err(|e| map_error("GetSavingsPlansUtilization", e))?;
        let total = out
            .total()
            .map(|t| sp_utilization(t.utilization(), t.savings()));
        Ok(SavingsPlansUtilizationResponse {
            total: total.unwrap_or_else(|| sp_utilization(None, None)),
            periods: out
                .savings_plans_utilizations_by_time()
                .iter()
                .map(|p| {
                    let (start, end) = from_interval(p.time_period());
                    SavingsPlansUtilizationPeriod {
                        start,
                        end,
                        utilization: sp_utilization(p.utilization(), p.savings()),
                    }
                })
                .collect(),
        })
    }

    pub(super) async fn get_savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError> {
        let mut periods = Vec::new();
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_savings_plans_coverage()
                .time_period(interval(&req.period)?)
                .granularity(granularity(req.granularity))
                .set_group_by(
                    Some(req.group_by.iter().map(group_definition).collect())
                        .filter(|g: &Vec<_>| !g.is_empty()),
                )
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetSavingsPlansCoverage", e))?;
            periods.extend(out.savings_plans_coverages().iter().map(|c| {
                let (start, end) = from_interval(c.time_period());
                let data = c.coverage();
                SavingsPlansCoveragePeriod {
                    start,
                    end,
                    attributes: attributes(c.attributes()),
                    coverage: SavingsPlansCoverage {
                        spend_covered_by_savings_plans: num(
                            data.and_then(|d| d.spend_covered_by_savings_plans())
                        ),
                        on_demand_cost: num(data.and_then(|d| d.on_demand_cost())),
                        total_cost: num(data.and_then(|d| d.total_cost())),
                        coverage_percentage: num(data.and_then(|d| d.coverage_percentage())),
                    },
                }
            }));
            out.next_token().map(str::to_owned)
        });
        Ok(SavingsPlansCoverageResponse { periods, truncated })
    }

    pub(super) async fn get_reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError> {
        let mut periods = Vec::new();
        let mut total = None;
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_reservation_utilization()
                .time_period(interval(&req.period)?)
                .granularity(granularity(req.granularity))
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetReservationUtilization", e))?;
            if total.is_none() {
                total = out.total().map(|t| ri_utilization(Some(t)));
            }
            periods.extend(out.utilizations_by_time().iter().map(|u| {
                let (start, end) = from_interval(u.time_period());
                ReservationUtilizationPeriod {
                    start,
                    end,
                    utilization: ri_utilization(u.total()),
                }
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(ReservationUtilizationResponse {
            total: total.unwrap_or_else(|| ri_utilization(None)),
            periods,
            truncated,
        })
    }

    pub(super) async fn get_reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError> {
        let mut periods = Vec::new();
        let mut total = None;
        let truncated = follow_pages!(|token| {
            let out = self
                .client
                .get_reservation_coverage()
                .time_period(interval(&req.period)?)
                .granularity(granularity(req.granularity))
                .set_group_by(
                    Some(req.group_by.iter().map(group_definition).collect())
                        .filter(|g: &Vec<_>| !g.is_empty()),
                )
                .set_filter(req.filter.as_ref().map(expression))
                .set_next_page_token(token.clone())
                .send()
                .await
                .map_err(|e| map_error("GetReservationCoverage", e))?;
            if total.is_none() {
                total = out.total().map(|t| ri_coverage(Some(t)));
            }
            periods.extend(out.coverages_by_time().iter().map(|c| {
                let (start, end) = from_interval(c.time_period());
                ReservationCoveragePeriod {
                    start,
                    end,
                    total: ri_coverage(c.total()),
                    groups: c
                        .groups()
                        .iter()
                        .map(|g| ReservationCoverageGroup {
                            attributes: attributes(g.attributes()),
                            coverage: ri_coverage(g.coverage()),
                        })
                        .collect(),
                }
            }));
            out.next_page_token().map(str::to_owned)
        });
        Ok(ReservationCoverageResponse {
            total: total.unwrap_or_else(|| ri_coverage(None)),
            periods,
            truncated,
        })
    }
}
