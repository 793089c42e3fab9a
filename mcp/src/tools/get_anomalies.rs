//! `get_anomalies`: cost anomalies detected in a period (GetAnomalies). Cost Explorer takes no
//! account filter here and its impact figures cover everything the monitor watches, across the
//! organisation. So for a user limited to some accounts ([`crate::access`]) the answer is cut
//! down after the call: only anomalies with a root cause in those accounts, only those root
//! causes, none of the anomaly-level figures (dimension value, max/total impact, its percentage,
//! actual/expected spend), and `attributable_impact` as the sum of the root causes left. Their
//! `min_total_impact` is never sent to Cost Explorer (it would compare it with the
//! organisation-wide total impact and answer as an oracle); it is applied to
//! `attributable_impact` instead.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::chart::{self, Charted, figures};
use super::{Authenticated, CostServer, input};
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
    /// Only anomalies whose total impact is at least this many USD. For a user limited to some
    /// linked accounts, compared with attributable_impact (their accounts' share) instead.
    #[serde(default)]
    pub min_total_impact: Option<f64>,
    /// Also answer a PNG chart (image/png content after the JSON text, 800x450): the anomalies by impact, largest first. Default false: images cost context tokens.
    #[serde(default)]
    pub chart: bool,
}

/// What `visibility` may see of `out`. Everyone but account-limited users gets `out` as it is.
/// An account-limited user gets the anomalies with a root cause in their accounts, with only
/// those root causes and none of the anomaly-level (organisation-wide) figures;
/// `attributable_impact` becomes the sum of the remaining root causes' contributions, and
/// `min_total_impact` keeps only anomalies whose attributable impact reaches it (an unreported
/// contribution counts as zero).
pub(crate) fn visible_part(
    mut out: AnomaliesResponse,
    visibility: &Visibility,
    min_total_impact: Option<f64>,
) -> AnomaliesResponse {
    if let Visibility::All = visibility {
        return out;
    }
    out.anomalies.retain_mut(|anomaly| {
        anomaly.root_causes.retain(|c| {
            c.linked_account
                .as_deref()
                .is_some_and(|a| visibility.allows(a))
        });
        anomaly.dimension_value = None;
        anomaly.max_impact = None;
        anomaly.total_impact = None;
        anomaly.total_impact_percentage = None;
        anomaly.total_actual_spend = None;
        anomaly.total_expected_spend = None;
        anomaly.attributable_impact = anomaly.contributions();
        !anomaly.root_causes.is_empty()
            && min_total_impact.is_none_or(|min| anomaly.attributable_impact.unwrap_or(0.0) >= min)
    });
    out
}

#[tool_router(router = get_anomalies_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_anomalies",
        description = "Cost anomalies detected by AWS Cost Anomaly Detection in a period, with their impact and root causes (service, account, region, usage type, contribution). A user limited to some linked accounts sees only anomalies with a root cause in those accounts, only those root causes, and no organisation-wide figures (dimension value, max/total impact, actual/expected spend): attributable_impact, the sum of the visible root causes' contributions, stands in for them, and min_total_impact is compared with it.",
        output_schema = schema_for_output::<AnomaliesResponse>(),
        annotations(
            title = "Cost anomalies",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_anomalies(
        &self,
        Parameters(p): Parameters<GetAnomaliesParams>,
        caller: Authenticated,
    ) -> Result<Charted<AnomaliesResponse>, String> {
        let access = caller.access()?;
        let chart = p.chart;
        let period = input::period("start_date", &p.start_date, "end_date", &p.end_date)?;
        if p.min_total_impact
            .is_some_and(|v| !v.is_finite() || v < 0.0)
        {
            return Err("min_total_impact: must be a non-negative number of USD".into());
        }
        // Refuses users mapped to no account, like every other tool.
        access.visibility.restrict(None)?;
        let limited = matches!(access.visibility, Visibility::Accounts(_));
        let request = AnomaliesRequest {
            period,
            monitor_arn: p.monitor_arn.filter(|a| !a.trim().is_empty()),
            // Cost Explorer would compare it with the organisation-wide total impact.
            min_total_impact: p.min_total_impact.filter(|_| !limited),
        };
        let out: AnomaliesResponse = self
            .run(&access, "GetAnomalies", &request, || {
                self.source().anomalies(&request)
            })
            .await?;
        let visible = visible_part(out, &access.visibility, p.min_total_impact);
        Ok(chart::attach(chart, visible, |out| {
            figures::anomalies(&request.period, out)
        })
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{Anomaly, Date, RootCause};

    fn cause(account: Option<&str>, contribution: Option<f64>) -> RootCause {
        RootCause {
            service: Some("AWS Lambda".into()),
            region: Some("us-east-1".into()),
            linked_account: account.map(str::to_owned),
            linked_account_name: None,
            usage_type: None,
            contribution,
        }
    }

    fn anomaly(id: &str, root_causes: Vec<RootCause>) -> Anomaly {
        Anomaly {
            id: id.into(),
            start: Date::parse("2027-01-02").unwrap(),
            end: None,
            dimension_value: Some("AWS Lambda".into()),
            max_impact: Some(50.0),
            total_impact: Some(100.0),
            total_impact_percentage: Some(200.0),
            total_actual_spend: Some(150.0),
            total_expected_spend: Some(50.0),
            attributable_impact: Some(100.0),
            root_causes,
            monitor_arn: "arn:aws:ce::111111111111:anomalymonitor/m".into(),
        }
    }

    fn answer() -> AnomaliesResponse {
        AnomaliesResponse {
            anomalies: vec![
                anomaly(
                    "mixed",
                    vec![
                        cause(Some("222222222222"), Some(10.0)),
                        cause(Some("333333333333"), Some(2.5)),
                        cause(Some("444444444444"), Some(87.5)),
                    ],
                ),
                // Cost Explorer did not report contributions, nor one cause's account.
                anomaly(
                    "unreported",
                    vec![cause(Some("222222222222"), None), cause(None, Some(99.0))],
                ),
                anomaly("other", vec![cause(Some("444444444444"), Some(100.0))]),
            ],
            truncated: true,
        }
    }

    fn ids(out: &AnomaliesResponse) -> Vec<&str> {
        out.anomalies.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn a_limited_user_keeps_only_their_root_causes_and_their_share() {
        let web = Visibility::Accounts(["222222222222".into(), "333333333333".into()].into());
        let out = visible_part(answer(), &web, None);
        assert_eq!(ids(&out), ["mixed", "unreported"]);
        assert!(out.truncated, "the answer may be incomplete, and says so");
        let mixed = &out.anomalies[0];
        assert_eq!(mixed.root_causes.len(), 2);
        assert_eq!(mixed.attributable_impact, Some(12.5));
        for a in &out.anomalies {
            assert_eq!(
                (
                    &a.dimension_value,
                    a.max_impact,
                    a.total_impact,
                    a.total_impact_percentage,
                    a.total_actual_spend,
                    a.total_expected_spend
                ),
                (&None, None, None, None, None, None),
                "{}",
                a.id
            );
        }
        let unreported = &out.anomalies[1];
        assert_eq!(
            unreported.root_causes,
            vec![cause(Some("222222222222"), None)]
        );
        assert_eq!(unreported.attributable_impact, None);

        // The threshold applies to the share the user may see; an unreported share is zero.
        assert_eq!(ids(&visible_part(answer(), &web, Some(12.5))), ["mixed"]);
        assert!(ids(&visible_part(answer(), &web, Some(12.6))).is_empty());
        assert_eq!(
            ids(&visible_part(answer(), &web, Some(0.0))),
            ["mixed", "unreported"]
        );
    }

    #[test]
    fn everyone_else_gets_the_answer_as_it_came() {
        assert_eq!(
            visible_part(answer(), &Visibility::All, Some(1e9)),
            answer()
        );
    }
}
