//! `get_dimension_values`: the values a dimension takes in a period (GetDimensionValues), to
//! build filters and group-bys with real values. For a user limited to some accounts the call
//! carries their LINKED_ACCOUNT filter like every other; a LINKED_ACCOUNT listing is also cut to
//! their accounts afterwards, so other accounts' ids and names never show even if Cost Explorer
//! lists a dimension's values without applying the filter on that same dimension.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Authenticated, CostServer, input};
use crate::cost::{Dimension, DimensionValuesRequest, DimensionValuesResponse, Expression};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetDimensionValuesParams {
    /// The dimension whose values are wanted, e.g. SERVICE or LINKED_ACCOUNT.
    pub dimension: Dimension,
    /// First day of the period, YYYY-MM-DD.
    pub start_date: String,
    /// Last day of the period (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// Only values containing this text (case-insensitive).
    #[serde(default)]
    pub search: Option<String>,
    /// Only values of cost matching this filter.
    #[serde(default)]
    pub filter: Option<Expression>,
}

#[tool_router(router = get_dimension_values_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_dimension_values",
        description = "List the values of a Cost Explorer dimension (SERVICE, LINKED_ACCOUNT, REGION, USAGE_TYPE, INSTANCE_TYPE) that have cost in a period, optionally matching a search string. Use it to find exact values for filters. A user limited to some linked accounts sees only values with cost in those accounts.",
        annotations(
            title = "Dimension values",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_dimension_values(
        &self,
        Parameters(p): Parameters<GetDimensionValuesParams>,
        caller: Authenticated,
    ) -> Result<Json<DimensionValuesResponse>, String> {
        let access = caller.access()?;
        if p.dimension == Dimension::ResourceId {
            return Err(
                "dimension: RESOURCE_ID values come from get_cost_and_usage_with_resources".into(),
            );
        }
        let request = DimensionValuesRequest {
            period: input::period("start_date", &p.start_date, "end_date", &p.end_date)?,
            dimension: p.dimension,
            search: p.search.filter(|s| !s.trim().is_empty()),
            filter: access.visibility.restrict(p.filter)?,
        };
        let mut out: DimensionValuesResponse = self
            .run(&access, "GetDimensionValues", &request, || {
                self.source().dimension_values(&request)
            })
            .await?;
        if out.dimension == Dimension::LinkedAccount {
            out.values.retain(|v| access.visibility.allows(&v.value));
        }
        Ok(Json(out))
    }
}
