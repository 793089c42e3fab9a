//! Savings Plans and reservation charts: utilization, and coverage per group, in percent.

use std::collections::BTreeMap;

use charts::{Chart, Series, TimeChart, TimeStyle, Unit};

use super::{label, period_name, span};
use crate::cost::{
    CommitmentRequest, Date, ReservationCoverageResponse, ReservationUtilizationResponse,
    SavingsPlansCoverageResponse, SavingsPlansUtilizationResponse,
};

/// The most lines of a grouped coverage chart before the rest become "Other".
const MAX_LINES: usize = charts::MAX_SERIES;

/// One percentage line over the request's periods.
fn percent_line(
    title: &str,
    req: &CommitmentRequest,
    name: &str,
    points: impl Iterator<Item = (Date, f64)>,
) -> Option<Chart> {
    let (periods, values): (Vec<String>, Vec<f64>) = points
        .map(|(start, v)| (label(start, req.granularity), v))
        .unzip();
    (!periods.is_empty()).then(|| {
        Chart::Time(TimeChart {
            title: format!("{title}, {}", span(&req.period)),
            unit: Unit::Percent,
            period_name: period_name(req.granularity),
            periods,
            style: TimeStyle::Lines,
            series: vec![Series {
                name: name.into(),
                values,
            }],
            band: None,
        })
    })
}

pub(crate) fn savings_plans_utilization(
    req: &CommitmentRequest,
    out: &SavingsPlansUtilizationResponse,
) -> Option<Chart> {
    let points = out
        .periods
        .iter()
        .map(|p| (p.start, p.utilization.utilization_percentage));
    percent_line("Savings Plans utilization", req, "Utilization", points)
}

pub(crate) fn reservation_utilization(
    req: &CommitmentRequest,
    out: &ReservationUtilizationResponse,
) -> Option<Chart> {
    let points = out
        .periods
        .iter()
        .map(|p| (p.start, p.utilization.utilization_percentage));
    percent_line("Reservation utilization", req, "Utilization", points)
}

/// Coverage per group over time: `(period start, group, covered, total)` rows to one line per
/// group (the largest by total), the rest weighted into "Other", or one line when ungrouped.
fn coverage(
    title: &str,
    req: &CommitmentRequest,
    rows: Vec<(Date, String, f64, f64)>,
) -> Option<Chart> {
    let starts: Vec<Date> = {
        let mut s: Vec<Date> = rows.iter().map(|r| r.0).collect();
        s.sort();
        s.dedup();
        s
    };
    if starts.is_empty() {
        return None;
    }
    let n = starts.len();
    // Per group: (covered, total) per period, and the group's total weight.
    let mut groups: BTreeMap<String, (Vec<(f64, f64)>, f64)> = BTreeMap::new();
    for (start, group, covered, total) in rows {
        let i = starts.binary_search(&start).unwrap_or(0);
        let entry = groups
            .entry(group)
            .or_insert_with(|| (vec![(0.0, 0.0); n], 0.0));
        if let Some(cell) = entry.0.get_mut(i) {
            cell.0 += covered;
            cell.1 += total;
        }
        entry.1 += total;
    }
    let mut ranked: Vec<(String, (Vec<(f64, f64)>, f64))> = groups.into_iter().collect();
    ranked.sort_by(|a, b| (b.1).1.total_cmp(&(a.1).1));
    let keep = if ranked.len() > MAX_LINES {
        MAX_LINES - 1
    } else {
        ranked.len()
    };
    let rest: Vec<_> = ranked.split_off(keep);
    if !rest.is_empty() {
        let mut other = vec![(0.0, 0.0); n];
        for (_, (cells, _)) in &rest {
            for (sum, cell) in other.iter_mut().zip(cells) {
                sum.0 += cell.0;
                sum.1 += cell.1;
            }
        }
        ranked.push((charts::style::OTHER_NAME.to_owned(), (other, 0.0)));
    }
    let pct = |(covered, total): &(f64, f64)| {
        if *total > 0.0 {
            covered / total * 100.0
        } else {
            0.0
        }
    };
    let series = ranked
        .into_iter()
        .map(|(name, (cells, _))| Series {
            name: if name.is_empty() {
                "Coverage".into()
            } else {
                name
            },
            values: cells.iter().map(pct).collect(),
        })
        .collect();
    Some(Chart::Time(TimeChart {
        title: format!("{title}, {}", span(&req.period)),
        unit: Unit::Percent,
        period_name: period_name(req.granularity),
        periods: starts.iter().map(|s| label(*s, req.granularity)).collect(),
        style: TimeStyle::Lines,
        series,
        band: None,
    }))
}

fn attributes(map: &BTreeMap<String, String>) -> String {
    map.values().cloned().collect::<Vec<_>>().join(" / ")
}

pub(crate) fn savings_plans_coverage(
    req: &CommitmentRequest,
    out: &SavingsPlansCoverageResponse,
) -> Option<Chart> {
    let rows = out
        .periods
        .iter()
        .map(|p| {
            let c = &p.coverage;
            (
                p.start,
                attributes(&p.attributes),
                c.spend_covered_by_savings_plans,
                c.total_cost,
            )
        })
        .collect();
    coverage("Savings Plans coverage (of eligible spend)", req, rows)
}

pub(crate) fn reservation_coverage(
    req: &CommitmentRequest,
    out: &ReservationCoverageResponse,
) -> Option<Chart> {
    let rows = out
        .periods
        .iter()
        .flat_map(|p| {
            let total = std::iter::once((String::new(), &p.total)).filter(|_| p.groups.is_empty());
            let groups = p
                .groups
                .iter()
                .map(|g| (attributes(&g.attributes), &g.coverage));
            total
                .chain(groups)
                .map(|(name, c)| (p.start, name, c.reserved_hours, c.total_running_hours))
        })
        .collect();
    coverage("Reservation coverage (of running hours)", req, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{DateRange, Granularity, SavingsPlansCoverage, SavingsPlansCoveragePeriod};

    fn day(d: &str) -> Date {
        Date::parse(d).unwrap()
    }

    /// Nine accounts over two months: eight lines, the smallest two weighted into Other (their
    /// covered spend over their total, not an average of percentages).
    #[test]
    fn coverage_keeps_the_largest_groups_and_weights_the_rest_into_other() {
        let req = CommitmentRequest {
            period: DateRange::new(day("2026-11-01"), day("2026-12-31")).unwrap(),
            granularity: Granularity::Monthly,
            group_by: Vec::new(),
            filter: None,
        };
        let mut periods = Vec::new();
        for start in ["2026-11-01", "2026-12-01"] {
            for account in 1..=9u32 {
                // Account 9 is the smallest, then 8; account 8 is fully covered, 9 not at all.
                let total = f64::from(100 - account * 10);
                let covered = match account {
                    8 => total,
                    9 => 0.0,
                    _ => total / 2.0,
                };
                periods.push(SavingsPlansCoveragePeriod {
                    start: day(start),
                    end: day(start).last_of_month(),
                    attributes: [("LINKED_ACCOUNT".to_owned(), format!("acct-{account}"))].into(),
                    coverage: SavingsPlansCoverage {
                        spend_covered_by_savings_plans: covered,
                        on_demand_cost: total - covered,
                        total_cost: total,
                        coverage_percentage: covered / total * 100.0,
                    },
                });
            }
        }
        let out = SavingsPlansCoverageResponse {
            periods,
            truncated: false,
        };
        let Some(Chart::Time(chart)) = savings_plans_coverage(&req, &out) else {
            panic!("a time chart");
        };
        assert_eq!(chart.periods, ["2026-11", "2026-12"]);
        assert_eq!(chart.unit, Unit::Percent);
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), MAX_LINES);
        assert_eq!(names.first(), Some(&"acct-1"));
        assert_eq!(names.last(), Some(&"Other"));
        // Other: (20 + 0) covered of (20 + 10) total.
        let other = &chart.series[MAX_LINES - 1].values;
        assert!((other[0] - 200.0 / 3.0).abs() < 1e-9, "{other:?}");
        assert_eq!(chart.series[0].values, [50.0, 50.0]);
    }
}
