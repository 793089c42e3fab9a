//! Which rows a query ranges over and how they are filtered, grouped and summed.

use std::collections::BTreeMap;

use super::lines::LINES;
use super::{Org, Row, Totals, account_of, bad, line, tag_of};
use crate::cost::{CostError, DateRange, Dimension, Expression, GroupKey};

impl Org {
    pub(super) fn rows(with_resources: bool) -> Vec<Row> {
        LINES
            .iter()
            .enumerate()
            .flat_map(|(index, line)| {
                let resources: Vec<Option<usize>> = if with_resources {
                    (0..line.resources.len()).map(Some).collect()
                } else {
                    vec![None]
                };
                resources.into_iter().map(move |resource| Row {
                    line: index,
                    resource,
                })
            })
            .collect()
    }

    pub(super) fn dimension_value(row: Row, dimension: Dimension) -> Option<String> {
        let line = line(row.line)?;
        Some(match dimension {
            Dimension::LinkedAccount => account_of(line)?.id.to_owned(),
            Dimension::Service => line.service.to_owned(),
            Dimension::Region => line.region.to_owned(),
            Dimension::UsageType => line.usage.to_owned(),
            Dimension::InstanceType => line.instance_type.unwrap_or("NoInstanceType").to_owned(),
            Dimension::ResourceId => {
                let (id, _) = line.resources.get(row.resource?)?;
                (*id).to_owned()
            }
        })
    }

    pub(super) fn group_value(row: Row, key: &GroupKey) -> Result<String, CostError> {
        match key {
            GroupKey::Dimension(Dimension::ResourceId) if row.resource.is_none() => Err(bad(
                "RESOURCE_ID is available only with resource-level data",
            )),
            GroupKey::Dimension(dimension) => {
                Ok(Self::dimension_value(row, *dimension).unwrap_or_default())
            }
            GroupKey::Tag(tag) => {
                let value = line(row.line).and_then(|l| tag_of(l, tag)).unwrap_or("");
                Ok(format!("{tag}${value}"))
            }
        }
    }

    pub(super) fn matches(row: Row, expression: &Expression) -> Result<bool, CostError> {
        Ok(match expression {
            Expression::And(items) => {
                for item in items {
                    if !Self::matches(row, item)? {
                        return Ok(false);
                    }
                }
                true
            }
            Expression::Or(items) => {
                for item in items {
                    if Self::matches(row, item)? {
                        return Ok(true);
                    }
                }
                false
            }
            Expression::Not(inner) => !Self::matches(row, inner)?,
            Expression::Dimension {
                key: Dimension::ResourceId,
                ..
            } if row.resource.is_none() => {
                return Err(bad("RESOURCE_ID filters need resource-level data"));
            }
            Expression::Dimension { key, values } => {
                let value = Self::dimension_value(row, *key).unwrap_or_default();
                values.contains(&value)
            }
            Expression::Tag { key, values } => {
                let value = line(row.line).and_then(|l| tag_of(l, key)).unwrap_or("");
                values.iter().any(|v| v == value)
            }
        })
    }

    pub(super) fn selected(
        filter: Option<&Expression>,
        with_resources: bool,
    ) -> Result<Vec<Row>, CostError> {
        let mut out = Vec::new();
        for row in Self::rows(with_resources) {
            if filter.map_or(Ok(true), |f| Self::matches(row, f))? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Sums rows over `period`, keyed by the group-by values.
    pub(super) fn totals(
        &self,
        rows: &[Row],
        period: &DateRange,
        group_by: &[GroupKey],
    ) -> Result<BTreeMap<Vec<String>, Totals>, CostError> {
        let mut groups: BTreeMap<Vec<String>, Totals> = BTreeMap::new();
        for row in rows {
            let keys = group_by
                .iter()
                .map(|k| Self::group_value(*row, k))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(line) = line(row.line) else { continue };
            let entry = groups.entry(keys).or_default();
            for day in period.days() {
                entry.add(self.row_cents(*row, day), line);
            }
        }
        Ok(groups)
    }
}
