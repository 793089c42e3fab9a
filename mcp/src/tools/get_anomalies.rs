//! `get_anomalies`: cost anomalies detected in a period (GetAnomalies). Cost Explorer takes no
//! account filter here, so a user limited to some accounts sees only anomalies whose root causes
//! lie in those accounts.

use http::request::Parts;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{CostServer, input};
use crate::access::Visibility;
use crate::cost::{AnomaliesRequest, AnomaliesResponse};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetAnomaliesParams {
    /// First day of the period, YYYY-MM-DD (at most 90 days ago).
    pub start_date: String,
    /// Last day of the period (inclusive), YYYY-MM-DD.
    pub end_date: String,
    /// Only anomalies found by this anomaly monitor (ARN).
    #[serde(default)]
    pub monitor_arn: Option<String>,
    /// Only anomalies whose total impact is at least this many USD.
    #[serde(default)]
    pub min_total_impact: Option<f64>,
}

#[tool_router(router = get_anomalies_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_anomalies",
        description = "Cost anomalies detected by AWS Cost Anomaly Detection in a period, with their impact and root causes (service, account, region, usage type).",
        annotations(
            title = "Cost anomalies",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_anomalies(
        &self,
        Parameters(p): Parameters<GetAnomaliesParams>,
        Extension(parts): Extension<Parts>,
    ) -> Result<Json<AnomaliesResponse>, String> {
        let access = self.access(&parts)?;
        let period = input::period("start_date", &p.start_date, "end_date", &p.end_date)?;
        if p.min_total_impact
            .is_some_and(|v| !v.is_finite() || v < 0.0)
        {
            return Err("min_total_impact: must be a non-negative number of USD".into());
        }
        // Refuses users mapped to no account, like every other tool.
        access.visibility.restrict(None)?;
        let request = AnomaliesRequest {
            period,
            monitor_arn: p.monitor_arn.filter(|a| !a.trim().is_empty()),
            min_total_impact: p.min_total_impact,
        };
        let mut out: AnomaliesResponse = self
            .run(&access, "GetAnomalies", &request, || {
                self.source().anomalies(&request)
            })
            .await?;
        if let Visibility::Accounts(_) = &access.visibility {
            for anomaly in &mut out.anomalies {
                anomaly.root_causes.retain(|c| {
                    c.linked_account
                        .as_deref()
                        .is_some_and(|a| access.visibility.allows(a))
                });
            }
            out.anomalies.retain(|a| !a.root_causes.is_empty());
        }
        Ok(Json(out))
    }
}
