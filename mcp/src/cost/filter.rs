//! Limits on a filter [`Expression`] before it reaches a cost source: every `and`/`or` names at
//! least one operand, every leaf at least one value, and the tree stays small and shallow. Cost
//! Explorer would reject most of these itself; checking here gives the user the reason in our
//! words and keeps recursion over a filter bounded.

use super::Expression;

/// Deepest nesting accepted: a leaf directly under the root is at depth 2.
pub const MAX_DEPTH: usize = 8;
/// Most nodes (operators and leaves) in one filter.
pub const MAX_NODES: usize = 100;
/// Most values in one leaf.
pub const MAX_VALUES: usize = 500;
/// Longest value or tag key, in characters (Cost Explorer's own limit).
pub const MAX_TEXT: usize = 1024;

impl Expression {
    /// Checks the filter against the limits above; the error names what is wrong and is meant for
    /// the user (prefix it with the parameter name).
    pub fn validate(&self) -> Result<(), String> {
        let mut nodes = 0;
        self.check(1, &mut nodes)
    }

    fn check(&self, depth: usize, nodes: &mut usize) -> Result<(), String> {
        *nodes += 1;
        if *nodes > MAX_NODES {
            return Err(format!(
                "at most {MAX_NODES} operators and conditions are allowed"
            ));
        }
        if depth > MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        match self {
            Self::And(items) | Self::Or(items) if items.is_empty() => {
                Err("\"and\" and \"or\" need at least one operand".into())
            }
            Self::And(items) | Self::Or(items) => items
                .iter()
                .try_for_each(|item| item.check(depth + 1, nodes)),
            Self::Not(inner) => inner.check(depth + 1, nodes),
            Self::Dimension { key, values } => leaf_values(key.as_str(), values),
            Self::Tag { key, values } => {
                if key.is_empty() || key.chars().count() > MAX_TEXT {
                    return Err(format!("a tag key must have 1 to {MAX_TEXT} characters"));
                }
                leaf_values(&format!("tag {key:?}"), values)
            }
        }
    }

    /// Operators and leaves in the tree.
    pub fn node_count(&self) -> usize {
        1 + match self {
            Self::And(items) | Self::Or(items) => items.iter().map(Self::node_count).sum(),
            Self::Not(inner) => inner.node_count(),
            Self::Dimension { .. } | Self::Tag { .. } => 0,
        }
    }

    /// Levels in the tree: 1 for a single leaf.
    pub fn depth(&self) -> usize {
        1 + match self {
            Self::And(items) | Self::Or(items) => items.iter().map(Self::depth).max().unwrap_or(0),
            Self::Not(inner) => inner.depth(),
            Self::Dimension { .. } | Self::Tag { .. } => 0,
        }
    }
}

fn leaf_values(name: &str, values: &[String]) -> Result<(), String> {
    if values.is_empty() {
        return Err(format!("{name} needs at least one value"));
    }
    if values.len() > MAX_VALUES {
        return Err(format!("{name} has more than {MAX_VALUES} values"));
    }
    if values.iter().any(|v| v.chars().count() > MAX_TEXT) {
        return Err(format!(
            "{name} has a value longer than {MAX_TEXT} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod properties {
    use aws_sdk_costexplorer::types as ce;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::access::Visibility;
    use crate::cost::aws::expression;
    use crate::cost::sample::{SampleCostSource, accounts};
    use crate::cost::{
        CostAndUsageRequest, CostSource as _, Date, DateRange, Dimension, Granularity, Metric,
    };

    const DIMENSIONS: [Dimension; 6] = [
        Dimension::LinkedAccount,
        Dimension::Service,
        Dimension::Region,
        Dimension::UsageType,
        Dimension::InstanceType,
        Dimension::ResourceId,
    ];

    /// Values the sample organisation has, and some it has not.
    fn value() -> impl Strategy<Value = String> {
        let mut known: Vec<String> = accounts().map(|(id, _)| id.to_owned()).collect();
        known.extend(
            [
                "us-east-1",
                "eu-west-1",
                "Amazon Elastic Compute Cloud - Compute",
                "Amazon Simple Storage Service",
                "m5.large",
                "platform",
                "web",
                "prod",
                "",
            ]
            .map(str::to_owned),
        );
        prop_oneof![4 => prop::sample::select(known), 1 => ".{0,12}"]
    }

    fn leaf(dimensions: &'static [Dimension]) -> impl Strategy<Value = Expression> {
        prop_oneof![
            (
                prop::sample::select(dimensions),
                prop::collection::vec(value(), 1..4)
            )
                .prop_map(|(key, values)| Expression::Dimension { key, values }),
            (
                prop_oneof![
                    prop::sample::select(vec!["team".to_owned(), "env".to_owned()]),
                    ".{1,12}"
                ],
                prop::collection::vec(value(), 1..4)
            )
                .prop_map(|(key, values)| Expression::Tag { key, values }),
        ]
    }

    /// Well-formed filters of at most `levels` levels.
    fn tree(levels: u32, dimensions: &'static [Dimension]) -> impl Strategy<Value = Expression> {
        leaf(dimensions).prop_recursive(levels - 1, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Expression::And),
                prop::collection::vec(inner.clone(), 1..4).prop_map(Expression::Or),
                inner.prop_map(|e| Expression::Not(Box::new(e))),
            ]
        })
    }

    #[derive(Debug, Default, PartialEq, Eq)]
    struct Counts {
        and: usize,
        or: usize,
        not: usize,
        dimensions: Vec<(String, Vec<String>)>,
        tags: Vec<(String, Vec<String>)>,
        cost_categories: usize,
    }

    /// What the translation must keep: operators (an `and`/`or` of one operand is that
    /// operand) and every leaf, in order.
    fn expected(e: &Expression, out: &mut Counts) {
        match e {
            Expression::And(items) | Expression::Or(items) => {
                if items.len() > 1 {
                    if matches!(e, Expression::And(_)) {
                        out.and += 1;
                    } else {
                        out.or += 1;
                    }
                }
                items.iter().for_each(|i| expected(i, out));
            }
            Expression::Not(inner) => {
                out.not += 1;
                expected(inner, out);
            }
            Expression::Dimension { key, values } => {
                out.dimensions
                    .push((key.as_str().to_owned(), values.clone()));
            }
            Expression::Tag { key, values } => out.tags.push((key.clone(), values.clone())),
        }
    }

    /// The same counts read from the SDK's expression; every node sets exactly one member.
    fn translated(e: &ce::Expression, out: &mut Counts) -> Result<(), TestCaseError> {
        let members = [
            e.and.is_some(),
            e.or.is_some(),
            e.not.is_some(),
            e.dimensions.is_some(),
            e.tags.is_some(),
            e.cost_categories.is_some(),
        ];
        prop_assert_eq!(members.iter().filter(|m| **m).count(), 1, "{:?}", e);
        if let Some(items) = &e.and {
            prop_assert!(items.len() >= 2);
            out.and += 1;
            items.iter().try_for_each(|i| translated(i, out))?;
        }
        if let Some(items) = &e.or {
            prop_assert!(items.len() >= 2);
            out.or += 1;
            items.iter().try_for_each(|i| translated(i, out))?;
        }
        if let Some(inner) = &e.not {
            out.not += 1;
            translated(inner, out)?;
        }
        if let Some(d) = &e.dimensions {
            let key = d
                .key
                .as_ref()
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default();
            out.dimensions
                .push((key, d.values.clone().unwrap_or_default()));
        }
        if let Some(t) = &e.tags {
            out.tags.push((
                t.key.clone().unwrap_or_default(),
                t.values.clone().unwrap_or_default(),
            ));
        }
        if e.cost_categories.is_some() {
            out.cost_categories += 1;
        }
        Ok(())
    }

    fn unblended(source: &SampleCostSource, filter: Option<Expression>) -> i64 {
        let request = CostAndUsageRequest {
            period: DateRange::new(
                Date::parse("2026-04-01").unwrap(),
                Date::parse("2026-04-03").unwrap(),
            )
            .unwrap(),
            granularity: Granularity::Monthly,
            metrics: vec![Metric::UnblendedCost],
            group_by: Vec::new(),
            filter,
        };
        let response = futures::executor::block_on(source.cost_and_usage(&request)).unwrap();
        response
            .periods
            .iter()
            .map(|p| (p.total["UnblendedCost"].amount * 100.0).round() as i64)
            .sum()
    }

    /// `e` with the `and`/`or` found at preorder index `target` emptied; false if there is none.
    fn empty_an_operator(e: &mut Expression, target: &mut usize) -> bool {
        let here = *target == 0;
        *target = target.saturating_sub(1);
        match e {
            Expression::And(items) | Expression::Or(items) => {
                if here {
                    items.clear();
                    return true;
                }
                items.iter_mut().any(|i| empty_an_operator(i, target))
            }
            Expression::Not(inner) => empty_an_operator(inner, target),
            Expression::Dimension { .. } | Expression::Tag { .. } => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Filters within the limits are accepted, survive the JSON of a tool call unchanged,
        /// and translate into the same tree of Cost Explorer expressions.
        #[test]
        fn well_formed_filters_translate_with_their_structure(e in tree(MAX_DEPTH as u32, &DIMENSIONS)) {
            prop_assert_eq!(e.validate().is_ok(), e.node_count() <= MAX_NODES, "{:?}", e);
            prop_assert!(e.depth() <= MAX_DEPTH);
            let text = serde_json::to_value(&e).unwrap();
            prop_assert_eq!(&serde_json::from_value::<Expression>(text).unwrap(), &e);
            let mut want = Counts::default();
            expected(&e, &mut want);
            let mut got = Counts::default();
            translated(&expression(&e), &mut got)?;
            prop_assert_eq!(got, want);
        }

        /// Too deep, an empty `and`/`or`, or a leaf without values: refused with a reason.
        #[test]
        fn malformed_filters_are_refused(
            e in tree(4, &DIMENSIONS),
            wrap in 0usize..3,
            target in 0usize..20,
        ) {
            let mut deep = e.clone();
            while deep.depth() <= MAX_DEPTH {
                deep = match wrap {
                    0 => Expression::Not(Box::new(deep)),
                    1 => Expression::And(vec![deep]),
                    _ => Expression::Or(vec![deep]),
                };
            }
            prop_assert!(deep.validate().unwrap_err().contains("deep"));

            let mut emptied = e.clone();
            let mut index = target % e.node_count();
            if empty_an_operator(&mut emptied, &mut index) {
                prop_assert!(emptied.validate().is_err(), "{:?}", emptied);
            }
            prop_assert!(Expression::And(Vec::new()).validate().is_err());
            prop_assert!(Expression::Or(Vec::new()).validate().is_err());
            let no_values = Expression::Dimension { key: Dimension::Region, values: Vec::new() };
            prop_assert!(Expression::And(vec![e.clone(), no_values]).validate().is_err());
            let wide = Expression::Or(vec![e; MAX_NODES]);
            prop_assert!(wide.validate().is_err());
            // The tools' single entry point refuses them too, naming the parameter.
            for refused in [deep, wide, Expression::Or(Vec::new())] {
                let why = Visibility::All.restrict(Some(refused)).unwrap_err();
                prop_assert!(why.starts_with("filter: "), "{}", why);
            }
        }

        /// JSON a client may send that is not a filter: refused by deserialization, no panic.
        #[test]
        fn malformed_filter_json_is_refused(
            e in tree(3, &DIMENSIONS),
            junk in "[A-Z_]{1,16}",
            any in ".{0,40}",
        ) {
            let Value::Object(mut node) = serde_json::to_value(&e).unwrap() else {
                unreachable!("an expression serializes to an object")
            };
            // Two members in one node.
            node.insert("not".into(), json!({ "tag": { "key": "team", "values": ["web"] } }));
            if node.len() > 1 {
                prop_assert!(serde_json::from_value::<Expression>(Value::Object(node)).is_err());
            }
            let unknown = json!({ "dimension": { "key": junk, "values": ["x"] } });
            if !DIMENSIONS.iter().any(|d| d.as_str() == junk) {
                prop_assert!(serde_json::from_value::<Expression>(unknown).is_err());
            }
            let _ = serde_json::from_str::<Expression>(&any);
            for not_a_filter in [json!({}), json!({ "and": {} }), json!({ "not": [] }), json!(null)] {
                let parsed = serde_json::from_value::<Expression>(not_a_filter);
                prop_assert!(parsed.is_err());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// The sample source applies filters as boolean algebra: `e or not e` keeps everything,
        /// `e and not e` nothing, and `not not e` what `e` keeps.
        #[test]
        fn sample_filters_obey_boolean_laws(e in tree(5, &DIMENSIONS[..5])) {
            let source = SampleCostSource::fixed(Date::parse("2026-05-20").unwrap());
            let all = unblended(&source, None);
            let not = |e: &Expression| Expression::Not(Box::new(e.clone()));
            prop_assert_eq!(unblended(&source, Some(Expression::Or(vec![e.clone(), not(&e)]))), all);
            prop_assert_eq!(unblended(&source, Some(Expression::And(vec![e.clone(), not(&e)]))), 0);
            prop_assert_eq!(unblended(&source, Some(not(&not(&e)))), unblended(&source, Some(e)));
        }
    }
}
