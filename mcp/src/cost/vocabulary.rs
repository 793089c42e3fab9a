//! The words of the cost port: time granularity, metrics, dimensions, filter expressions, group
//! keys and amounts, named as Cost Explorer names them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How results are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Granularity {
    Daily,
    Monthly,
}

/// A cost or usage metric, named as Cost Explorer names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Metric {
    /// Cost as billed, without discounts spread over time (the usual choice).
    UnblendedCost,
    /// Average cost across the organisation's consolidated billing.
    BlendedCost,
    /// Upfront and recurring reservation fees spread over the period.
    AmortizedCost,
    /// Unblended cost after discounts.
    NetUnblendedCost,
    /// Amortized cost after discounts.
    NetAmortizedCost,
    /// Usage in the usage type's own unit (hours, GB, requests …).
    UsageQuantity,
    /// Usage normalised to instance-size units.
    NormalizedUsageAmount,
}

impl Metric {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnblendedCost => "UnblendedCost",
            Self::BlendedCost => "BlendedCost",
            Self::AmortizedCost => "AmortizedCost",
            Self::NetUnblendedCost => "NetUnblendedCost",
            Self::NetAmortizedCost => "NetAmortizedCost",
            Self::UsageQuantity => "UsageQuantity",
            Self::NormalizedUsageAmount => "NormalizedUsageAmount",
        }
    }

    pub const fn is_usage(self) -> bool {
        matches!(self, Self::UsageQuantity | Self::NormalizedUsageAmount)
    }

    /// The API's name for the forecast metric (`UNBLENDED_COST`, …).
    pub const fn forecast_name(self) -> &'static str {
        match self {
            Self::UnblendedCost => "UNBLENDED_COST",
            Self::BlendedCost => "BLENDED_COST",
            Self::AmortizedCost => "AMORTIZED_COST",
            Self::NetUnblendedCost => "NET_UNBLENDED_COST",
            Self::NetAmortizedCost => "NET_AMORTIZED_COST",
            Self::UsageQuantity => "USAGE_QUANTITY",
            Self::NormalizedUsageAmount => "NORMALIZED_USAGE_AMOUNT",
        }
    }
}

/// A Cost Explorer dimension.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Dimension {
    /// The member account (12-digit id).
    LinkedAccount,
    /// The AWS service, e.g. "Amazon Elastic Compute Cloud - Compute".
    Service,
    /// The AWS region, e.g. "us-east-1".
    Region,
    /// The usage type, e.g. "USE1-BoxUsage:m5.large".
    UsageType,
    /// The EC2/RDS instance type, e.g. "m5.large".
    InstanceType,
    /// The resource id (only with resource-level data).
    ResourceId,
}

impl Dimension {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LinkedAccount => "LINKED_ACCOUNT",
            Self::Service => "SERVICE",
            Self::Region => "REGION",
            Self::UsageType => "USAGE_TYPE",
            Self::InstanceType => "INSTANCE_TYPE",
            Self::ResourceId => "RESOURCE_ID",
        }
    }
}

/// A filter, as Cost Explorer's `Expression`: exactly one of its members per node. At most 8
/// levels deep and 100 nodes; every `and`/`or` needs an operand and every leaf a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expression {
    /// All sub-expressions must match.
    And(Vec<Expression>),
    /// Any sub-expression matches.
    Or(Vec<Expression>),
    /// The sub-expression must not match.
    Not(Box<Expression>),
    /// A dimension equals one of the values.
    Dimension { key: Dimension, values: Vec<String> },
    /// A cost allocation tag equals one of the values ("" matches untagged cost).
    Tag { key: String, values: Vec<String> },
}

impl Expression {
    /// Every value named for `dimension` anywhere in the expression.
    pub fn values_of(&self, dimension: Dimension) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_values(dimension, &mut out);
        out
    }

    fn collect_values<'a>(&'a self, dimension: Dimension, out: &mut Vec<&'a str>) {
        match self {
            Self::And(items) | Self::Or(items) => {
                items.iter().for_each(|e| e.collect_values(dimension, out));
            }
            Self::Not(inner) => inner.collect_values(dimension, out),
            Self::Dimension { key, values } if *key == dimension => {
                out.extend(values.iter().map(String::as_str));
            }
            Self::Dimension { .. } | Self::Tag { .. } => {}
        }
    }

    /// `self AND other`, flattening nested `And`s.
    pub fn and(self, other: Expression) -> Expression {
        match self {
            Self::And(mut items) => {
                items.push(other);
                Self::And(items)
            }
            first => Self::And(vec![first, other]),
        }
    }
}

/// Combines an optional filter with a required one.
pub fn and_filter(filter: Option<Expression>, required: Option<Expression>) -> Option<Expression> {
    match (filter, required) {
        (Some(f), Some(r)) => Some(f.and(r)),
        (f, None) => f,
        (None, r) => r,
    }
}

/// What results are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupKey {
    /// Group by a dimension.
    Dimension(Dimension),
    /// Group by a cost allocation tag key; group keys read `key$value` (`key$` when untagged).
    Tag(String),
}

/// An amount with its unit (USD for costs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Amount {
    pub amount: f64,
    pub unit: String,
}

impl Amount {
    pub fn usd(amount: f64) -> Self {
        Self {
            amount,
            unit: "USD".into(),
        }
    }
}
