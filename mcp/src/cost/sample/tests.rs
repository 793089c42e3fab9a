use std::collections::BTreeMap;

use super::data::{EC2, SAGEMAKER, SAVINGS_PLAN_HOURLY};
use super::*;
use crate::cost::{DateRange, Expression, Granularity};

fn today() -> Date {
    Date::parse("2026-05-20").unwrap()
}

fn source() -> SampleCostSource {
    SampleCostSource::fixed(today())
}

fn range(start: &str, end: &str) -> DateRange {
    DateRange::new(Date::parse(start).unwrap(), Date::parse(end).unwrap()).unwrap()
}

fn cents(amount: &Amount) -> i64 {
    (amount.amount * 100.0).round() as i64
}

fn request(
    period: DateRange,
    granularity: Granularity,
    group_by: Vec<GroupKey>,
) -> CostAndUsageRequest {
    CostAndUsageRequest {
        period,
        granularity,
        metrics: vec![Metric::UnblendedCost, Metric::UsageQuantity],
        group_by,
        filter: None,
    }
}

fn unblended(metrics: &BTreeMap<String, Amount>) -> i64 {
    cents(metrics.get("UnblendedCost").unwrap())
}

#[tokio::test]
async fn thirteen_months_of_data_end_today() {
    let s = source();
    let all = range("2025-01-01", "2026-06-30");
    let monthly = s
        .cost_and_usage(&request(all, Granularity::Monthly, vec![]))
        .await
        .unwrap();
    let with_cost: Vec<_> = monthly
        .periods
        .iter()
        .filter(|p| unblended(&p.total) > 0)
        .collect();
    assert_eq!(with_cost.len(), 13);
    assert_eq!(with_cost.first().unwrap().start.to_string(), "2025-05-01");
    assert_eq!(with_cost.last().unwrap().start.to_string(), "2026-05-01");
    assert!(with_cost.last().unwrap().estimated);
    assert!(!with_cost.first().unwrap().estimated);
    let daily = s
        .cost_and_usage(&request(
            range("2026-05-19", "2026-05-22"),
            Granularity::Daily,
            vec![],
        ))
        .await
        .unwrap();
    let values: Vec<i64> = daily.periods.iter().map(|p| unblended(&p.total)).collect();
    assert!(values[0] > 0 && values[1] > 0);
    assert_eq!(&values[2..], &[0, 0]);
}

#[tokio::test]
async fn monthly_totals_equal_the_sum_of_daily_values() {
    let s = source();
    let period = range("2025-06-01", "2026-05-20");
    let monthly = s
        .cost_and_usage(&request(period, Granularity::Monthly, vec![]))
        .await
        .unwrap();
    let daily = s
        .cost_and_usage(&request(period, Granularity::Daily, vec![]))
        .await
        .unwrap();
    for month in &monthly.periods {
        let sum: i64 = daily
            .periods
            .iter()
            .filter(|d| d.start >= month.start && d.end <= month.end)
            .map(|d| unblended(&d.total))
            .sum();
        assert_eq!(sum, unblended(&month.total), "{}", month.start);
    }
}

#[tokio::test]
async fn group_totals_equal_the_ungrouped_total() {
    let s = source();
    let period = range("2026-01-01", "2026-04-30");
    let total = s
        .cost_and_usage(&request(period, Granularity::Monthly, vec![]))
        .await
        .unwrap();
    let keys = [
        vec![GroupKey::Dimension(Dimension::Service)],
        vec![GroupKey::Dimension(Dimension::LinkedAccount)],
        vec![
            GroupKey::Dimension(Dimension::Region),
            GroupKey::Dimension(Dimension::UsageType),
        ],
        vec![GroupKey::Tag("team".into())],
        vec![
            GroupKey::Tag("env".into()),
            GroupKey::Dimension(Dimension::InstanceType),
        ],
    ];
    for group_by in keys {
        let grouped = s
            .cost_and_usage(&request(period, Granularity::Monthly, group_by.clone()))
            .await
            .unwrap();
        for (t, g) in total.periods.iter().zip(&grouped.periods) {
            let sum: i64 = g.groups.iter().map(|g| unblended(&g.metrics)).sum();
            assert_eq!(sum, unblended(&t.total), "{group_by:?} {}", t.start);
            assert!(g.total.is_empty());
            assert!(g.groups.iter().all(|g| g.keys.len() == group_by.len()));
        }
    }
}

#[tokio::test]
async fn resources_add_up_to_their_service() {
    let s = source();
    let period = range("2026-05-10", "2026-05-20");
    let filter = Some(Expression::Dimension {
        key: Dimension::Service,
        values: vec![EC2.into()],
    });
    let mut req = request(
        period,
        Granularity::Daily,
        vec![GroupKey::Dimension(Dimension::ResourceId)],
    );
    req.filter = filter.clone();
    let by_resource = s.cost_and_usage_with_resources(&req).await.unwrap();
    let mut plain = request(period, Granularity::Daily, vec![]);
    plain.filter = filter;
    let total = s.cost_and_usage(&plain).await.unwrap();
    for (t, r) in total.periods.iter().zip(&by_resource.periods) {
        let sum: i64 = r.groups.iter().map(|g| unblended(&g.metrics)).sum();
        assert_eq!(sum, unblended(&t.total));
    }
    assert!(
        by_resource.periods[0]
            .groups
            .iter()
            .any(|g| g.keys[0].starts_with("i-"))
    );
    // Older than 14 days, or without a SERVICE filter: refused as Cost Explorer would.
    let mut old = req.clone();
    old.period = range("2026-05-01", "2026-05-20");
    assert!(matches!(
        s.cost_and_usage_with_resources(&old).await,
        Err(CostError::InvalidRequest(_))
    ));
    let mut unfiltered = req;
    unfiltered.filter = None;
    assert!(matches!(
        s.cost_and_usage_with_resources(&unfiltered).await,
        Err(CostError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn filters_select_accounts_and_tags() {
    let s = source();
    let period = range("2026-04-01", "2026-04-30");
    let by_account = s
        .cost_and_usage(&request(
            period,
            Granularity::Monthly,
            vec![GroupKey::Dimension(Dimension::LinkedAccount)],
        ))
        .await
        .unwrap();
    let staging = by_account.periods[0]
        .groups
        .iter()
        .find(|g| g.keys == ["333333333333"])
        .unwrap();
    let mut req = request(period, Granularity::Monthly, vec![]);
    req.filter = Some(Expression::Dimension {
        key: Dimension::LinkedAccount,
        values: vec!["333333333333".into()],
    });
    let filtered = s.cost_and_usage(&req).await.unwrap();
    assert_eq!(
        unblended(&filtered.periods[0].total),
        unblended(&staging.metrics)
    );
    req.filter = Some(Expression::Tag {
        key: "env".into(),
        values: vec!["staging".into()],
    });
    let tagged = s.cost_and_usage(&req).await.unwrap();
    assert_eq!(
        unblended(&tagged.periods[0].total),
        unblended(&staging.metrics)
    );
    req.filter = Some(Expression::Not(Box::new(Expression::Tag {
        key: "env".into(),
        values: vec!["staging".into()],
    })));
    let rest = s.cost_and_usage(&req).await.unwrap();
    let all: i64 = by_account.periods[0]
        .groups
        .iter()
        .map(|g| unblended(&g.metrics))
        .sum();
    assert_eq!(
        unblended(&rest.periods[0].total) + unblended(&staging.metrics),
        all
    );
}

#[tokio::test]
async fn weekends_are_cheaper_and_costs_trend_up() {
    let s = source();
    let daily = s
        .cost_and_usage(&request(
            range("2026-03-02", "2026-04-26"),
            Granularity::Daily,
            vec![],
        ))
        .await
        .unwrap();
    let (mut weekday, mut weekend) = (Vec::new(), Vec::new());
    for p in &daily.periods {
        if p.start.weekday() >= 5 {
            weekend.push(unblended(&p.total))
        } else {
            weekday.push(unblended(&p.total))
        }
    }
    let mean = |v: &[i64]| v.iter().sum::<i64>() as f64 / v.len() as f64;
    assert!(mean(&weekend) < mean(&weekday) * 0.95);
    let first = s
        .cost_and_usage(&request(
            range("2025-06-01", "2025-06-30"),
            Granularity::Monthly,
            vec![],
        ))
        .await
        .unwrap();
    let last = s
        .cost_and_usage(&request(
            range("2026-04-01", "2026-04-30"),
            Granularity::Monthly,
            vec![],
        ))
        .await
        .unwrap();
    assert!(unblended(&last.periods[0].total) > unblended(&first.periods[0].total));
}

#[tokio::test]
async fn forecasts_follow_the_trend() {
    let s = source();
    let last_month = s
        .cost_and_usage(&request(
            range("2026-04-21", "2026-05-20"),
            Granularity::Monthly,
            vec![],
        ))
        .await
        .unwrap();
    let recent: i64 = last_month.periods.iter().map(|p| unblended(&p.total)).sum();
    let forecast = s
        .cost_forecast(&ForecastRequest {
            period: range("2026-05-21", "2026-06-19"),
            granularity: Granularity::Daily,
            metric: Metric::UnblendedCost,
            prediction_interval_level: 80,
            filter: None,
        })
        .await
        .unwrap();
    let recent = recent as f64 / 100.0;
    assert!(
        forecast.total.amount > recent,
        "{} vs {recent}",
        forecast.total.amount
    );
    assert!(
        forecast.total.amount < recent * 1.15,
        "{} vs {recent}",
        forecast.total.amount
    );
    assert_eq!(forecast.periods.len(), 30);
    let sum: f64 = forecast.periods.iter().map(|p| p.mean).sum();
    assert!((sum - forecast.total.amount).abs() < 0.5);
    assert!(
        forecast
            .periods
            .iter()
            .all(|p| p.lower_bound <= p.mean && p.mean <= p.upper_bound)
    );
    let wide = s
        .cost_forecast(&ForecastRequest {
            period: range("2026-05-21", "2026-06-19"),
            granularity: Granularity::Monthly,
            metric: Metric::UnblendedCost,
            prediction_interval_level: 95,
            filter: None,
        })
        .await
        .unwrap();
    assert!((wide.total.amount - forecast.total.amount).abs() < 0.5);
    // Starting in the past is refused.
    let past = ForecastRequest {
        period: range("2026-05-01", "2026-06-19"),
        granularity: Granularity::Monthly,
        metric: Metric::UnblendedCost,
        prediction_interval_level: 80,
        filter: None,
    };
    assert!(matches!(
        s.cost_forecast(&past).await,
        Err(CostError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn usage_forecast_needs_a_usage_type() {
    let s = source();
    let mut req = ForecastRequest {
        period: range("2026-05-20", "2026-06-30"),
        granularity: Granularity::Monthly,
        metric: Metric::UsageQuantity,
        prediction_interval_level: 80,
        filter: None,
    };
    assert!(s.usage_forecast(&req).await.is_err());
    req.filter = Some(Expression::Dimension {
        key: Dimension::UsageType,
        values: vec!["USE1-BoxUsage:m5.large".into()],
    });
    let forecast = s.usage_forecast(&req).await.unwrap();
    assert_eq!(forecast.total.unit, "Hrs");
    assert!(forecast.total.amount > 1000.0);
}

#[tokio::test]
async fn dimension_values_and_tags() {
    let s = source();
    let period = range("2026-04-01", "2026-04-30");
    let accounts = s
        .dimension_values(&DimensionValuesRequest {
            period,
            dimension: Dimension::LinkedAccount,
            search: None,
            filter: None,
        })
        .await
        .unwrap();
    assert_eq!(accounts.values.len(), 4);
    assert_eq!(
        accounts.values[1].attributes.get("description").unwrap(),
        "Production"
    );
    let services = s
        .dimension_values(&DimensionValuesRequest {
            period,
            dimension: Dimension::Service,
            search: Some("elastic".into()),
            filter: None,
        })
        .await
        .unwrap();
    assert_eq!(
        services
            .values
            .iter()
            .map(|v| v.value.as_str())
            .collect::<Vec<_>>(),
        [EC2]
    );
    let keys = s
        .tags(&TagsRequest {
            period,
            tag_key: None,
            search: None,
            filter: None,
        })
        .await
        .unwrap();
    assert_eq!(keys.tags, ["env", "team"]);
    let envs = s
        .tags(&TagsRequest {
            period,
            tag_key: Some("env".into()),
            search: None,
            filter: None,
        })
        .await
        .unwrap();
    assert_eq!(envs.tags, ["", "prod", "staging"]);
    let before = s
        .tags(&TagsRequest {
            period: range("2020-01-01", "2020-01-31"),
            tag_key: Some("env".into()),
            search: None,
            filter: None,
        })
        .await
        .unwrap();
    assert!(before.tags.is_empty());
}

#[tokio::test]
async fn comparisons_and_drivers_agree_with_cost_and_usage() {
    let s = source();
    let req = ComparisonRequest {
        baseline: range("2026-03-01", "2026-03-31"),
        comparison: range("2026-04-01", "2026-04-30"),
        metric: Metric::UnblendedCost,
        group_by: Some(GroupKey::Dimension(Dimension::Service)),
        filter: None,
    };
    let comparison = s.cost_and_usage_comparisons(&req).await.unwrap();
    let march = s
        .cost_and_usage(&request(req.baseline, Granularity::Monthly, vec![]))
        .await
        .unwrap();
    let april = s
        .cost_and_usage(&request(req.comparison, Granularity::Monthly, vec![]))
        .await
        .unwrap();
    assert_eq!(
        (comparison.total.baseline * 100.0).round() as i64,
        unblended(&march.periods[0].total)
    );
    assert_eq!(
        (comparison.total.comparison * 100.0).round() as i64,
        unblended(&april.periods[0].total)
    );
    let items: f64 = comparison.items.iter().map(|i| i.value.difference).sum();
    assert!((items - comparison.total.difference).abs() < 0.01);
    let drivers = s.cost_comparison_drivers(&req).await.unwrap();
    assert!(!drivers.groups.is_empty());
    assert!(
        drivers
            .groups
            .iter()
            .all(|g| g.selector.contains_key("SERVICE") && !g.drivers.is_empty())
    );
    let mut partial = req.clone();
    partial.baseline = range("2026-03-02", "2026-03-31");
    assert!(s.cost_and_usage_comparisons(&partial).await.is_err());
}

#[tokio::test]
async fn anomalies_are_visible_in_the_costs() {
    let s = source();
    let found = s
        .anomalies(&AnomaliesRequest {
            period: range("2026-02-01", "2026-05-20"),
            monitor_arn: None,
            min_total_impact: None,
        })
        .await
        .unwrap();
    assert_eq!(found.anomalies.len(), 3);
    let sagemaker = found
        .anomalies
        .iter()
        .find(|a| a.id.contains("sagemaker"))
        .unwrap();
    assert_eq!(sagemaker.start.to_string(), "2026-05-08");
    assert!(sagemaker.total_impact.unwrap() > 200.0);
    assert_eq!(
        sagemaker.attributable_impact, sagemaker.total_impact,
        "one root cause, contributing the whole impact"
    );
    assert_eq!(
        sagemaker.root_causes[0].contribution,
        sagemaker.total_impact
    );
    assert_eq!(
        sagemaker.root_causes[0].linked_account.as_deref(),
        Some("444444444444")
    );
    // The spike is in the daily costs of that service.
    let mut req = request(
        range("2026-05-01", "2026-05-20"),
        Granularity::Daily,
        vec![],
    );
    req.filter = Some(Expression::Dimension {
        key: Dimension::Service,
        values: vec![SAGEMAKER.into()],
    });
    let daily = s.cost_and_usage(&req).await.unwrap();
    let spike = daily
        .periods
        .iter()
        .find(|p| p.start == sagemaker.start)
        .unwrap();
    let before = daily
        .periods
        .iter()
        .find(|p| p.start == sagemaker.start.add_days(-7))
        .unwrap();
    assert!(unblended(&spike.total) > 3 * unblended(&before.total));
    let big = s
        .anomalies(&AnomaliesRequest {
            period: range("2026-02-01", "2026-05-20"),
            monitor_arn: None,
            min_total_impact: Some(10_000.0),
        })
        .await
        .unwrap();
    assert!(big.anomalies.is_empty());
}

#[tokio::test]
async fn savings_plans_and_reservations_are_consistent() {
    let s = source();
    let period = range("2026-04-01", "2026-04-30");
    let req = CommitmentRequest {
        period,
        granularity: Granularity::Daily,
        group_by: vec![],
        filter: None,
    };
    let utilization = s.savings_plans_utilization(&req).await.unwrap();
    assert!(
        utilization.total.utilization_percentage > 80.0
            && utilization.total.utilization_percentage <= 100.0
    );
    assert!((utilization.total.total_commitment - 30.0 * 24.0 * SAVINGS_PLAN_HOURLY).abs() < 0.01);
    let coverage = s.savings_plans_coverage(&req).await.unwrap();
    let covered: f64 = coverage
        .periods
        .iter()
        .map(|p| p.coverage.spend_covered_by_savings_plans)
        .sum();
    assert!((covered - utilization.total.on_demand_cost_equivalent).abs() < 1.0);
    let grouped = s
        .savings_plans_coverage(&CommitmentRequest {
            group_by: vec![GroupKey::Dimension(Dimension::LinkedAccount)],
            ..req.clone()
        })
        .await
        .unwrap();
    let grouped_covered: f64 = grouped
        .periods
        .iter()
        .map(|p| p.coverage.spend_covered_by_savings_plans)
        .sum();
    assert!((grouped_covered - covered).abs() < 1.0);

    let ri = s.reservation_utilization(&req).await.unwrap();
    assert!(ri.total.utilization_percentage > 50.0 && ri.total.utilization_percentage <= 100.0);
    let ri_coverage = s.reservation_coverage(&req).await.unwrap();
    assert!((ri_coverage.total.reserved_hours - ri.total.used_hours).abs() < 1.0);
    assert!(
        ri_coverage.total.coverage_hours_percentage > 0.0
            && ri_coverage.total.coverage_hours_percentage < 100.0
    );
}

#[tokio::test]
async fn the_same_day_gives_the_same_answers() {
    let a = source();
    let b = SampleCostSource::fixed(today());
    let req = request(
        range("2025-06-01", "2026-05-20"),
        Granularity::Monthly,
        vec![GroupKey::Dimension(Dimension::Service)],
    );
    assert_eq!(
        a.cost_and_usage(&req).await.unwrap(),
        b.cost_and_usage(&req).await.unwrap()
    );
}
