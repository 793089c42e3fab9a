//! Sample charts, one per kind the tools draw: the golden test's inputs (its reference images
//! are README pictures, docs/images/charts/) and the benchmark's (`bench-driver charts`).

use crate::{Band, BarChart, Chart, Series, TimeChart, TimeStyle, Unit};

fn usd() -> Unit {
    Unit::Currency { code: "USD".into() }
}

fn series(name: &str, values: &[f64]) -> Series {
    Series {
        name: name.into(),
        values: values.to_vec(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Six months of cost grouped by service: ten services, so the three smallest fold into Other.
pub fn cost_by_service() -> Chart {
    Chart::Time(TimeChart {
        title: "UnblendedCost by SERVICE, 2026-08-01 – 2027-01-31".into(),
        unit: usd(),
        period_name: "Month (UTC)".into(),
        periods: strings(&[
            "2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01",
        ]),
        style: TimeStyle::StackedBars,
        series: vec![
            series(
                "Amazon Elastic Compute Cloud - Compute",
                &[4210.0, 4388.5, 4502.1, 4630.9, 4702.4, 5120.7],
            ),
            series(
                "Amazon Relational Database Service",
                &[1830.2, 1841.0, 1902.7, 1950.3, 1961.8, 2012.4],
            ),
            series(
                "Amazon Simple Storage Service",
                &[920.4, 951.2, 978.3, 1003.9, 1040.0, 1077.5],
            ),
            series("AWS Lambda", &[310.7, 402.3, 388.9, 415.0, 1260.2, 455.1]),
            series(
                "Amazon CloudFront",
                &[280.0, 292.1, 301.8, 330.2, 410.9, 342.3],
            ),
            series(
                "Amazon DynamoDB",
                &[201.3, 199.8, 215.4, 222.0, 230.7, 241.9],
            ),
            series(
                "Amazon CloudWatch",
                &[120.4, 124.9, 131.0, 129.3, 133.8, 140.2],
            ),
            series(
                "AWS Key Management Service",
                &[12.0, 12.1, 12.0, 12.3, 12.2, 12.4],
            ),
            series("Amazon Route 53", &[5.5, 5.5, 5.6, 5.5, 5.6, 5.7]),
            series("Tax", &[72.1, 75.0, 77.4, 79.9, 92.3, 84.0]),
        ],
        band: None,
    })
}

/// A three-month forecast with its 80 % prediction interval.
pub fn forecast() -> Chart {
    Chart::Time(TimeChart {
        title: "UnblendedCost forecast, 2027-01-15 – 2027-04-30".into(),
        unit: usd(),
        period_name: "Month (UTC)".into(),
        periods: strings(&["2027-01", "2027-02", "2027-03", "2027-04"]),
        style: TimeStyle::Lines,
        series: vec![series(
            "Forecast (mean)",
            &[5210.0, 9480.0, 10110.0, 10380.0],
        )],
        band: Some(Band {
            name: "80% prediction interval".into(),
            lower: vec![4870.0, 8420.0, 8650.0, 8510.0],
            upper: vec![5550.0, 10540.0, 11570.0, 12250.0],
        }),
    })
}

/// Daily Savings Plans utilization and coverage over two weeks, in percent.
pub fn utilization() -> Chart {
    let days: Vec<String> = (1..=14).map(|d| format!("2027-01-{d:02}")).collect();
    Chart::Time(TimeChart {
        title: "Savings Plans utilization, 2027-01-01 – 2027-01-14".into(),
        unit: Unit::Percent,
        period_name: "Day (UTC)".into(),
        periods: days,
        style: TimeStyle::Lines,
        series: vec![series(
            "Utilization",
            &[
                96.2, 97.1, 88.4, 84.9, 98.8, 99.1, 99.4, 98.7, 97.9, 86.3, 85.0, 99.0, 99.3, 98.9,
            ],
        )],
        band: None,
    })
}

/// One month against the previous, by service: twelve services, so the smallest three fold.
pub fn comparison() -> Chart {
    let services = [
        ("AWS Lambda", 415.0, 1260.2),
        ("Amazon Elastic Compute Cloud - Compute", 4630.9, 4702.4),
        ("Amazon CloudFront", 330.2, 410.9),
        ("Amazon Simple Storage Service", 1003.9, 1040.0),
        ("Amazon Relational Database Service", 1950.3, 1961.8),
        ("Tax", 79.9, 92.3),
        ("Amazon DynamoDB", 222.0, 230.7),
        ("Amazon Athena", 88.0, 81.5),
        ("Amazon CloudWatch", 129.3, 133.8),
        ("Amazon Route 53", 5.5, 5.6),
        ("AWS Key Management Service", 12.3, 12.2),
        ("Amazon Simple Queue Service", 3.1, 3.1),
    ];
    Chart::Bars(BarChart {
        title: "UnblendedCost by SERVICE: 2026-12 against 2026-11".into(),
        unit: usd(),
        categories: services.iter().map(|s| s.0.to_owned()).collect(),
        series: vec![
            series("2026-11", &services.map(|s| s.1)),
            series("2026-12", &services.map(|s| s.2)),
        ],
    })
}

/// Every sample with its file name (without extension).
pub fn all() -> Vec<(&'static str, Chart)> {
    vec![
        ("cost-by-service", cost_by_service()),
        ("forecast", forecast()),
        ("utilization", utilization()),
        ("comparison", comparison()),
    ]
}
