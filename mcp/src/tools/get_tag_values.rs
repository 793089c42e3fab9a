//! `get_tag_values`: the values of a cost allocation tag in a period (GetTags with a tag key),
//! or the tag keys when no key is given.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Authenticated, CostServer, input};
use crate::cost::{Expression, TagsRequest, TagsResponse};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTagValuesParams {
    /// The tag key, e.g. "team". Omit it to list the tag keys instead.
    #[serde(default)]
    pub tag_key: Option<String>,
    /// First day of the period, YYYY-MM-DD.
    pub start_date: String,
    /// Last day of the period (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// Only values containing this text (case-insensitive).
    #[serde(default)]
    pub search: Option<String>,
    /// Only tags on cost matching this filter.
    #[serde(default)]
    pub filter: Option<Expression>,
}

#[tool_router(router = get_tag_values_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_tag_values",
        description = "List the values of a cost allocation tag (e.g. team, env) seen on cost in a period, or the tag keys when tag_key is omitted. An empty string stands for untagged cost.",
        annotations(title = "Tag values", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_tag_values(
        &self,
        Parameters(p): Parameters<GetTagValuesParams>,
        caller: Authenticated,
    ) -> Result<Json<TagsResponse>, String> {
        let access = caller.access()?;
        let request = TagsRequest {
            period: input::period("start_date", &p.start_date, "end_date", &p.end_date)?,
            tag_key: p.tag_key.filter(|k| !k.trim().is_empty()),
            search: p.search.filter(|s| !s.trim().is_empty()),
            filter: access.visibility.restrict(p.filter)?,
        };
        let out = self
            .run(&access, "GetTags", &request, || {
                self.source().tags(&request)
            })
            .await?;
        Ok(Json(out))
    }
}
