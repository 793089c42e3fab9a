//! Savings Plans and reservations: utilization and coverage.

use std::collections::BTreeMap;

use super::data::{
    ACCOUNTS, EC2, RDS, RESERVATIONS, Reservation, SAVINGS_PLAN_HOURLY, SAVINGS_PLAN_RATE,
    SAVINGS_PLAN_START_OFFSET,
};
use super::lines::LINES;
use super::{Org, Row, bad, group_label, line, round2};
use crate::cost::{
    CommitmentRequest, CostError, Date, DateRange, Dimension, Expression, ReservationCoverage,
    ReservationCoverageGroup, ReservationCoveragePeriod, ReservationCoverageResponse,
    ReservationUtilization, ReservationUtilizationPeriod, ReservationUtilizationResponse,
    SavingsPlansCoverage, SavingsPlansCoveragePeriod, SavingsPlansCoverageResponse,
    SavingsPlansUtilization, SavingsPlansUtilizationPeriod, SavingsPlansUtilizationResponse,
    dollars,
};

impl Org {
    pub(super) fn savings_plan_active(&self, day: Date) -> bool {
        day >= self.start.add_days(SAVINGS_PLAN_START_OFFSET) && day <= self.today
    }

    /// The commitment, the commitment used, and the on-demand spend it covered on `day`, in
    /// dollars, over the eligible rows selected.
    pub(super) fn savings_plan_day(&self, day: Date) -> (f64, f64, f64) {
        if !self.savings_plan_active(day) {
            return (0.0, 0.0, 0.0);
        }
        let commitment = SAVINGS_PLAN_HOURLY * 24.0;
        let eligible: i64 = LINES
            .iter()
            .enumerate()
            .filter(|(_, l)| l.savings_plan_eligible)
            .map(|(i, _)| self.line_cents(i, day))
            .sum();
        let used = (dollars(eligible) * SAVINGS_PLAN_RATE).min(commitment);
        (commitment, used, used / SAVINGS_PLAN_RATE)
    }

    /// The Savings Plan belongs to the management account: a filter is checked against it.
    pub(super) fn savings_plan_visible(filter: Option<&Expression>) -> bool {
        fn owner_matches(expression: &Expression) -> bool {
            match expression {
                Expression::And(items) => items.iter().all(owner_matches),
                Expression::Or(items) => items.iter().any(owner_matches),
                Expression::Not(inner) => !owner_matches(inner),
                Expression::Dimension {
                    key: Dimension::LinkedAccount,
                    values,
                } => values
                    .iter()
                    .any(|v| ACCOUNTS.first().is_some_and(|a| a.id == v)),
                Expression::Dimension {
                    key: Dimension::Region,
                    values,
                } => values.iter().any(|v| v == "us-east-1"),
                Expression::Dimension { .. } | Expression::Tag { .. } => true,
            }
        }
        filter.is_none_or(owner_matches)
    }

    pub(super) fn savings_plans_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansUtilizationResponse, CostError> {
        if !req.group_by.is_empty() {
            return Err(bad("Savings Plans utilization cannot be grouped"));
        }
        let visible = Self::savings_plan_visible(req.filter.as_ref());
        let utilization = |range: &DateRange| {
            let (mut commitment, mut used, mut covered) = (0.0, 0.0, 0.0);
            if visible {
                for day in range.days() {
                    let (c, u, cov) = self.savings_plan_day(day);
                    commitment += c;
                    used += u;
                    covered += cov;
                }
            }
            SavingsPlansUtilization {
                total_commitment: round2(commitment),
                used_commitment: round2(used),
                unused_commitment: round2(commitment - used),
                utilization_percentage: if commitment > 0.0 {
                    round2(used / commitment * 100.0)
                } else {
                    0.0
                },
                net_savings: round2(covered - commitment),
                on_demand_cost_equivalent: round2(covered),
            }
        };
        let periods = req
            .period
            .split(req.granularity)
            .iter()
            .map(|r| SavingsPlansUtilizationPeriod {
                start: r.start,
                end: r.end,
                utilization: utilization(r),
            })
            .collect();
        Ok(SavingsPlansUtilizationResponse {
            total: utilization(&req.period),
            periods,
        })
    }

    pub(super) fn savings_plans_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<SavingsPlansCoverageResponse, CostError> {
        if req.group_by.len() > 1 {
            return Err(bad("Savings Plans coverage takes at most one group-by key"));
        }
        let rows: Vec<Row> = Self::selected(req.filter.as_ref(), false)?
            .into_iter()
            .filter(|r| line(r.line).is_some_and(|l| l.savings_plan_eligible))
            .collect();
        let all_eligible: Vec<Row> = Self::rows(false)
            .into_iter()
            .filter(|r| line(r.line).is_some_and(|l| l.savings_plan_eligible))
            .collect();
        let mut periods = Vec::new();
        for bucket in req.period.split(req.granularity) {
            let mut groups: BTreeMap<Vec<String>, (f64, f64)> = BTreeMap::new();
            for day in bucket.days() {
                let (_, _, covered) = self.savings_plan_day(day);
                let all: i64 = all_eligible.iter().map(|r| self.row_cents(*r, day)).sum();
                let share = if all > 0 { covered / dollars(all) } else { 0.0 };
                for row in &rows {
                    let keys = req
                        .group_by
                        .iter()
                        .map(|k| Self::group_value(*row, k))
                        .collect::<Result<Vec<_>, _>>()?;
                    let spend = dollars(self.row_cents(*row, day));
                    let entry = groups.entry(keys).or_default();
                    entry.0 += spend;
                    entry.1 += spend * share;
                }
            }
            for (keys, (total, covered)) in groups {
                let attributes = req
                    .group_by
                    .iter()
                    .zip(keys)
                    .map(|(k, v)| (group_label(k), v))
                    .collect();
                periods.push(SavingsPlansCoveragePeriod {
                    start: bucket.start,
                    end: bucket.end,
                    attributes,
                    coverage: SavingsPlansCoverage {
                        spend_covered_by_savings_plans: round2(covered),
                        on_demand_cost: round2(total - covered),
                        total_cost: round2(total),
                        coverage_percentage: if total > 0.0 {
                            round2(covered / total * 100.0)
                        } else {
                            0.0
                        },
                    },
                });
            }
        }
        Ok(SavingsPlansCoverageResponse {
            periods,
            truncated: false,
        })
    }

    /// Running hours of an instance line on `day`.
    pub(super) fn running_hours(&self, index: usize, day: Date) -> f64 {
        line(index).map_or(0.0, |l| dollars(self.line_cents(index, day)) / l.unit_price)
    }

    pub(super) fn reservation_utilization(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationUtilizationResponse, CostError> {
        if !req.group_by.is_empty() {
            return Err(bad(
                "the sample organisation reports reservation utilization ungrouped",
            ));
        }
        let reservations: Vec<&Reservation> = RESERVATIONS
            .iter()
            .filter(|r| {
                req.filter.as_ref().is_none_or(|f| {
                    Self::matches(
                        Row {
                            line: r.line,
                            resource: None,
                        },
                        f,
                    )
                    .unwrap_or(false)
                })
            })
            .collect();
        let utilization = |range: &DateRange| {
            let (mut purchased, mut used, mut savings, mut fee) = (0.0, 0.0, 0.0, 0.0);
            for day in range
                .days()
                .filter(|d| *d >= self.start && *d <= self.today)
            {
                for r in &reservations {
                    let reserved = r.instances * 24.0;
                    let running = self.running_hours(r.line, day);
                    let u = reserved.min(running);
                    let on_demand = line(r.line).map_or(0.0, |l| l.unit_price);
                    purchased += reserved;
                    used += u;
                    fee += reserved * r.effective_hourly;
                    savings += u * on_demand - reserved * r.effective_hourly;
                }
            }
            ReservationUtilization {
                utilization_percentage: if purchased > 0.0 {
                    round2(used / purchased * 100.0)
                } else {
                    0.0
                },
                purchased_hours: round2(purchased),
                used_hours: round2(used),
                unused_hours: round2(purchased - used),
                net_savings: round2(savings),
                amortized_fee: round2(fee),
            }
        };
        let periods = req
            .period
            .split(req.granularity)
            .iter()
            .map(|r| ReservationUtilizationPeriod {
                start: r.start,
                end: r.end,
                utilization: utilization(r),
            })
            .collect();
        Ok(ReservationUtilizationResponse {
            total: utilization(&req.period),
            periods,
            truncated: false,
        })
    }

    pub(super) fn reservation_coverage(
        &self,
        req: &CommitmentRequest,
    ) -> Result<ReservationCoverageResponse, CostError> {
        if req.group_by.len() > 1 {
            return Err(bad("reservation coverage takes at most one group-by key"));
        }
        let rows: Vec<Row> = Self::selected(req.filter.as_ref(), false)?
            .into_iter()
            .filter(|r| {
                line(r.line).is_some_and(|l| {
                    l.instance_type.is_some() && (l.service == EC2 || l.service == RDS)
                })
            })
            .collect();
        let coverage = |range: &DateRange| -> Result<
            (ReservationCoverage, Vec<ReservationCoverageGroup>),
            CostError,
        > {
            let mut groups: BTreeMap<Vec<String>, (f64, f64, f64)> = BTreeMap::new();
            for row in &rows {
                let keys = req
                    .group_by
                    .iter()
                    .map(|k| Self::group_value(*row, k))
                    .collect::<Result<Vec<_>, _>>()?;
                let reserved_instances: f64 = RESERVATIONS
                    .iter()
                    .filter(|r| r.line == row.line)
                    .map(|r| r.instances)
                    .sum();
                let price = line(row.line).map_or(0.0, |l| l.unit_price);
                let entry = groups.entry(keys).or_default();
                for day in range.days() {
                    let running = self.running_hours(row.line, day);
                    let covered = running.min(reserved_instances * 24.0);
                    entry.0 += running;
                    entry.1 += covered;
                    entry.2 += (running - covered) * price;
                }
            }
            let make = |(running, covered, cost): (f64, f64, f64)| ReservationCoverage {
                coverage_hours_percentage: if running > 0.0 {
                    round2(covered / running * 100.0)
                } else {
                    0.0
                },
                reserved_hours: round2(covered),
                on_demand_hours: round2(running - covered),
                total_running_hours: round2(running),
                on_demand_cost: round2(cost),
            };
            let sum = groups
                .values()
                .fold((0.0, 0.0, 0.0), |a, g| (a.0 + g.0, a.1 + g.1, a.2 + g.2));
            let list = if req.group_by.is_empty() {
                Vec::new()
            } else {
                groups
                    .into_iter()
                    .map(|(keys, g)| ReservationCoverageGroup {
                        attributes: req
                            .group_by
                            .iter()
                            .zip(keys)
                            .map(|(k, v)| (group_label(k), v))
                            .collect(),
                        coverage: make(g),
                    })
                    .collect()
            };
            Ok((make(sum), list))
        };
        let mut periods = Vec::new();
        for bucket in req.period.split(req.granularity) {
            let (total, groups) = coverage(&bucket)?;
            periods.push(ReservationCoveragePeriod {
                start: bucket.start,
                end: bucket.end,
                total,
                groups,
            });
        }
        let (total, _) = coverage(&req.period)?;
        Ok(ReservationCoverageResponse {
            total,
            periods,
            truncated: false,
        })
    }
}
