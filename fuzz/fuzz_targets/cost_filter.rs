//! Cost Explorer filters (mcp::cost::Expression): validation, account scoping, translation into
//! the SDK's Expression, and evaluation against the sample organisation. Nothing panics; what is
//! accepted is within the limits, and the translation keeps every leaf and operator. An input
//! starting with `{` is JSON, as a tool call carries it; any other is read as a tree directly
//! (structure-aware, so the fuzzer does not spend its time on JSON syntax).
#![no_main]

use std::future::Future as _;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_sdk_costexplorer::types as ce;
use libfuzzer_sys::arbitrary::{Result as Built, Unstructured};
use libfuzzer_sys::fuzz_target;
use mcp::access::Visibility;
use mcp::cost::filter::{MAX_DEPTH, MAX_NODES};
use mcp::cost::sample::SampleCostSource;
use mcp::cost::{
    CostAndUsageRequest, CostSource as _, Date, DateRange, Dimension, Expression, Granularity,
    Metric,
};

fuzz_target!(|data: &[u8]| {
    let filter = if data.first() == Some(&b'{') {
        match serde_json::from_slice::<Expression>(data) {
            Ok(filter) => filter,
            Err(_) => return,
        }
    } else {
        match tree(&mut Unstructured::new(data), 0) {
            Ok(filter) => filter,
            Err(_) => return,
        }
    };
    // What a client sends is JSON: the tree survives it unchanged.
    let text = serde_json::to_vec(&filter).expect("a filter serializes");
    assert_eq!(
        serde_json::from_slice::<Expression>(&text).ok().as_ref(),
        Some(&filter)
    );
    let Ok(()) = filter.validate() else {
        return;
    };
    assert!(filter.depth() <= MAX_DEPTH && filter.node_count() <= MAX_NODES);

    let (leaves, operators) = counts(&filter);
    let translated = mcp::cost::aws::expression(&filter);
    assert_eq!(sdk_counts(&translated), (leaves, operators), "{filter:?}");

    let limited = Visibility::Accounts(["111111111111".to_owned()].into_iter().collect());
    if let Ok(Some(scoped)) = limited.restrict(Some(filter.clone())) {
        assert!(
            scoped
                .values_of(mcp::cost::Dimension::LinkedAccount)
                .iter()
                .all(|a| *a == "111111111111")
        );
    }

    // The sample source evaluates the filter; its future never waits, so one poll finishes it.
    let day = Date::parse("2026-04-01").expect("a date");
    let request = CostAndUsageRequest {
        period: DateRange::new(day, day).expect("a range"),
        granularity: Granularity::Daily,
        metrics: vec![Metric::UnblendedCost],
        group_by: Vec::new(),
        filter: Some(filter),
    };
    let source = SampleCostSource::fixed(Date::parse("2026-05-20").expect("a date"));
    let future = pin!(source.cost_and_usage(&request));
    let Poll::Ready(_) = future.poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("the sample source waited");
    };
});

/// Leaves, and operators the translation keeps (an `and`/`or` of one operand is that operand).
fn counts(e: &Expression) -> (usize, usize) {
    match e {
        Expression::And(items) | Expression::Or(items) => items
            .iter()
            .map(counts)
            .fold((0, usize::from(items.len() > 1)), |(l, o), (il, io)| {
                (l + il, o + io)
            }),
        Expression::Not(inner) => {
            let (l, o) = counts(inner);
            (l, o + 1)
        }
        Expression::Dimension { .. } | Expression::Tag { .. } => (1, 0),
    }
}

fn sdk_counts(e: &ce::Expression) -> (usize, usize) {
    let set = [
        e.and.is_some(),
        e.or.is_some(),
        e.not.is_some(),
        e.dimensions.is_some(),
        e.tags.is_some(),
        e.cost_categories.is_some(),
    ];
    assert_eq!(set.iter().filter(|s| **s).count(), 1, "{e:?}");
    assert!(e.cost_categories.is_none());
    let children: Vec<&ce::Expression> = e
        .and
        .iter()
        .chain(e.or.iter())
        .flatten()
        .chain(e.not.as_deref())
        .collect();
    if let Some(items) = e.and.as_ref().or(e.or.as_ref()) {
        assert!(items.len() >= 2, "{e:?}");
    }
    if e.dimensions.is_some() || e.tags.is_some() {
        return (1, 0);
    }
    children
        .into_iter()
        .map(sdk_counts)
        .fold((0, 1), |(l, o), (cl, co)| (l + cl, o + co))
}

const DIMENSIONS: [Dimension; 6] = [
    Dimension::LinkedAccount,
    Dimension::Service,
    Dimension::Region,
    Dimension::UsageType,
    Dimension::InstanceType,
    Dimension::ResourceId,
];

const VALUES: [&str; 8] = [
    "111111111111",
    "us-east-1",
    "Amazon Simple Storage Service",
    "m5.large",
    "team",
    "web",
    "prod",
    "",
];

/// A filter read from the input, nested a little deeper than the limit allows.
fn tree(u: &mut Unstructured<'_>, depth: usize) -> Built<Expression> {
    let kind = if depth > MAX_DEPTH + 1 {
        3
    } else {
        u.int_in_range(0..=4u8)?
    };
    Ok(match kind {
        0 | 1 => {
            let n = u.int_in_range(0..=4usize)?;
            let items = (0..n)
                .map(|_| tree(u, depth + 1))
                .collect::<Built<Vec<_>>>()?;
            if kind == 0 {
                Expression::And(items)
            } else {
                Expression::Or(items)
            }
        }
        2 => Expression::Not(Box::new(tree(u, depth + 1)?)),
        3 => Expression::Dimension {
            key: *u.choose(&DIMENSIONS)?,
            values: values(u)?,
        },
        _ => Expression::Tag {
            key: text(u)?,
            values: values(u)?,
        },
    })
}

fn values(u: &mut Unstructured<'_>) -> Built<Vec<String>> {
    let n = u.int_in_range(0..=3usize)?;
    (0..n).map(|_| text(u)).collect()
}

fn text(u: &mut Unstructured<'_>) -> Built<String> {
    if u.ratio(3u8, 4u8)? {
        Ok((*u.choose(&VALUES)?).to_owned())
    } else {
        u.arbitrary()
    }
}
