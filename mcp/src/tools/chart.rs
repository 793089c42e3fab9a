//! Charts beside structured content (issue 18): tools whose answers are series or breakdowns
//! take `"chart": true` and then answer, after their usual text block, one PNG image content
//! block (`image/png`, base64) drawn by the `charts` crate from the answer ([`figures`]).
//! Without it the result is exactly what `Json<T>` answers. A chart that cannot be drawn is left
//! out with a logged warning: it never fails the call.

pub(crate) mod figures;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::handler::server::wrapper::Json;
use rmcp::model::{CallToolResponse, ContentBlock};
use schemars::JsonSchema;
use serde::Serialize;

/// The MIME type of chart images.
pub(crate) const MIME: &str = "image/png";

/// A tool's structured answer and, when the caller asked and it could be drawn, its chart.
/// Tools returning it name their output schema explicitly (`#[tool(output_schema = …)]`): rmcp
/// derives it from the return type only for `Json<T>`.
pub(crate) struct Charted<T> {
    value: T,
    png: Option<charts::Png>,
}

impl<T> Charted<T> {
    /// The chart, when there is one.
    #[cfg(test)]
    pub(crate) fn png(&self) -> Option<&charts::Png> {
        self.png.as_ref()
    }
}

/// `value`, with a chart of it when `wanted`: `figure` says what to draw (`None`: nothing worth
/// drawing, e.g. no periods), rendered off the async workers.
pub(crate) async fn attach<T>(
    wanted: bool,
    value: T,
    figure: impl FnOnce(&T) -> Option<charts::Chart>,
) -> Charted<T> {
    if !wanted {
        return Charted { value, png: None };
    }
    let Some(chart) = figure(&value) else {
        tracing::debug!("nothing to chart");
        return Charted { value, png: None };
    };
    let png = match tokio::task::spawn_blocking(move || charts::render(&chart)).await {
        Ok(Ok(png)) => Some(png),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "chart not rendered; answering without it");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "chart rendering did not finish; answering without it");
            None
        }
    };
    Charted { value, png }
}

impl<T: Serialize + JsonSchema + 'static> IntoCallToolResult for Charted<T> {
    /// What `Json<T>` answers (text block and `structuredContent`), then the image block.
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let response = Json(self.value).into_call_tool_result()?;
        match (response, self.png) {
            (CallToolResponse::Complete(mut result), Some(png)) => {
                result
                    .content
                    .push(ContentBlock::image(BASE64.encode(&png.bytes), MIME));
                Ok(result.into())
            }
            (response, _) => Ok(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize, JsonSchema)]
    struct Answer {
        total: f64,
    }

    fn sample() -> Option<charts::Chart> {
        Some(charts::samples::forecast())
    }

    fn result(response: CallToolResponse) -> serde_json::Value {
        match response {
            CallToolResponse::Complete(result) => serde_json::to_value(result).unwrap(),
            _ => panic!("a complete result"),
        }
    }

    #[tokio::test]
    async fn without_the_parameter_the_result_is_what_json_answers() {
        let plain = result(Json(Answer { total: 1.5 }).into_call_tool_result().unwrap());
        let charted = attach(false, Answer { total: 1.5 }, |_| sample()).await;
        assert!(charted.png().is_none());
        assert_eq!(result(charted.into_call_tool_result().unwrap()), plain);
    }

    #[tokio::test]
    async fn with_it_an_image_block_follows_the_text() {
        let plain = result(Json(Answer { total: 1.5 }).into_call_tool_result().unwrap());
        let out = result(
            attach(true, Answer { total: 1.5 }, |_| sample())
                .await
                .into_call_tool_result()
                .unwrap(),
        );
        assert_eq!(out["structuredContent"], json!({"total": 1.5}));
        assert_eq!(out["content"][0], plain["content"][0]);
        assert_eq!(out["content"][1]["type"], "image");
        assert_eq!(out["content"][1]["mimeType"], MIME);
        let png = BASE64
            .decode(out["content"][1]["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }

    #[tokio::test]
    async fn a_chart_that_cannot_be_drawn_is_left_out() {
        let empty = charts::Chart::Bars(charts::BarChart {
            title: "nothing".into(),
            unit: charts::Unit::Percent,
            categories: Vec::new(),
            series: Vec::new(),
        });
        let charted = attach(true, Answer { total: 1.5 }, |_| Some(empty)).await;
        assert!(charted.png().is_none());
        let out = result(charted.into_call_tool_result().unwrap());
        assert_eq!(out["content"].as_array().unwrap().len(), 1);
        assert_eq!(out["isError"], false);
    }
}
