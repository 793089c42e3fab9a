//! The [`ServerHandler`] of [`FixtureServer`]: capabilities, and each MCP method routed to the
//! module that owns it. rmcp does the lifecycle of both eras (initialize and sessions for
//! 2025-11-25, per-request `_meta`, `server/discover` and cache hints for 2026-07-28).

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestParams, GetPromptResponse,
    GetTaskParams, GetTaskResult, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::input_required::TOOLS;
use crate::{Change, FixtureServer, headers, object, prompts, resources, tasks, tools};

/// Every tool, in a fixed order.
fn all_tools() -> Vec<Tool> {
    let mut all = tools::list();
    for (name, description) in TOOLS {
        all.push(Tool::new(
            name,
            description,
            object(json!({"type": "object", "properties": {}})),
        ));
    }
    all.push(headers::tool());
    for (name, description) in tasks::TOOLS {
        all.push(Tool::new(
            name,
            description,
            object(json!({"type": "object", "properties": {}})),
        ));
    }
    all
}

impl ServerHandler for FixtureServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .enable_prompts_list_changed()
            .enable_resources_subscribe()
            .enable_tool_list_changed()
            .enable_tasks()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "serverless-mcp-conformance-fixture",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "The MCP conformance suite's fixture tools, prompts and resources; for testing only.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(all_tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(result) = tools::call(self, &request, &context).await {
            return result;
        }
        if let Some(result) = self.input_required_tool(&request, &context).await {
            return result;
        }
        let capabilities = context.client_capabilities().unwrap_or_default();
        if let Some(result) = self.task_tool(&request, &capabilities).await {
            return result;
        }
        if request.name == "test_custom_headers" {
            let parts = context.extensions.get::<http::request::Parts>();
            let schema = headers::tool().input_schema;
            headers::check(
                &schema,
                request.arguments.as_ref(),
                parts.map(|p| &p.headers),
            )?;
            let region = request
                .arguments
                .as_ref()
                .and_then(|args| args.get("region"))
                .cloned()
                .unwrap_or_default();
            return Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "Region: {region}"
            ))])
            .into());
        }
        Err(ErrorData::invalid_params(
            format!("unknown tool {}", request.name),
            Some(json!({"name": request.name})),
        ))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        prompts::list()
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.prompt(&request)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        prompts::completion(&request)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        resources::list()
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        resources::templates()
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(&request.uri).map(Into::into)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared.subscriptions.lock().await.insert(request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared.subscriptions.lock().await.remove(&request.uri);
        Ok(())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        *self.shared.log_level.lock().await = request.level;
        Ok(())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        Ok(GetTaskResult::new(
            self.get_task_state(&request.task_id).await?,
        ))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.update_task_inputs(&request.task_id, request.input_responses)
            .await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.cancel_task_work(&request.task_id).await
    }

    /// Every category asked for; rmcp narrows it to what [`Self::get_info`] advertises.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    /// Forwards the trigger tools' list changes until the client goes away.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut changes = self.shared.changes.subscribe();
        loop {
            let change = tokio::select! {
                () = context.cancelled() => return Ok(()),
                change = changes.recv() => change,
            };
            let sent = match change {
                Ok(Change::Tools) => context.sink().notify_tool_list_changed().await,
                Ok(Change::Prompts) => context.sink().notify_prompt_list_changed().await,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return Ok(()),
            };
            // A category this stream did not ask for is refused by rmcp: nothing to send.
            if let Err(e) = sent {
                tracing::debug!(error = %e, "list change not forwarded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tool a `conformance server` scenario calls is listed, once.
    #[test]
    fn every_fixture_tool_is_listed_once() {
        let names: Vec<String> = all_tools().iter().map(|t| t.name.to_string()).collect();
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for expected in [
            "test_simple_text",
            "test_image_content",
            "test_audio_content",
            "test_embedded_resource",
            "test_multiple_content_types",
            "test_tool_with_logging",
            "test_tool_with_progress",
            "test_error_handling",
            "test_sampling",
            "test_elicitation",
            "test_elicitation_sep1034_defaults",
            "test_elicitation_sep1330_enums",
            "json_schema_2020_12_tool",
            "test_input_required_result_elicitation",
            "test_input_required_result_capabilities",
            "test_missing_capability",
            "test_custom_headers",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} is missing");
        }
    }

    #[test]
    fn prompts_resources_and_completions_answer() {
        let server = FixtureServer::new();
        assert_eq!(prompts::list().unwrap().prompts.len(), 5);
        let mut request = GetPromptRequestParams::new("test_prompt_with_arguments");
        request.arguments = Some(object(json!({"arg1": "one", "arg2": "two"})));
        let GetPromptResponse::Complete(prompt) = server.prompt(&request).unwrap() else {
            panic!("expected a complete prompt");
        };
        let text = serde_json::to_string(&prompt.messages).unwrap();
        assert!(text.contains("one") && text.contains("two"));
        let missing = GetPromptRequestParams::new("test_prompt_with_arguments");
        assert!(server.prompt(&missing).is_err());
        assert_eq!(resources::list().unwrap().resources.len(), 3);
        let template = resources::read("test://template/123/data").unwrap();
        assert!(serde_json::to_string(&template).unwrap().contains("123"));
        let completion: CompleteRequestParams = serde_json::from_value(json!({
            "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
            "argument": {"name": "arg1", "value": "par"},
        }))
        .unwrap();
        let values = prompts::completion(&completion).unwrap().completion.values;
        assert_eq!(values, ["paris", "park", "party"]);
    }
}
