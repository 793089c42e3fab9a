//! `get_today_date`: today's date (UTC) and the periods around it, so relative questions
//! ("last month", "next quarter") are anchored. Calls no Cost Explorer API.

use rmcp::handler::server::wrapper::Json;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::CostServer;
use crate::cost::Date;

/// Today and the month boundaries around it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TodayDate {
    /// Today (UTC), YYYY-MM-DD.
    pub today: Date,
    pub current_month_start: Date,
    pub current_month_end: Date,
    pub previous_month_start: Date,
    pub previous_month_end: Date,
    /// The earliest date Cost Explorer keeps daily data for (about 13 months back).
    pub history_available_from: Date,
}

#[tool_router(router = get_today_date_router, vis = "pub(crate)")]
impl CostServer {
    #[tool(
        name = "get_today_date",
        description = "Today's date (UTC) and the current and previous month's boundaries. Call this first to turn relative periods into YYYY-MM-DD dates.",
        annotations(title = "Today's date", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_today_date(&self) -> Json<TodayDate> {
        let today = self.today();
        let month = today.first_of_month();
        let previous = today.months_back(1);
        Json(TodayDate {
            today,
            current_month_start: month,
            current_month_end: month.last_of_month(),
            previous_month_start: previous,
            previous_month_end: previous.last_of_month(),
            history_available_from: today.months_back(13),
        })
    }
}
