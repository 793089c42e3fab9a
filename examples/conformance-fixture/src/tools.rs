//! The suite's content, notification and server-request tools (`tools-call-*`,
//! `elicitation-sep1034-defaults`, `elicitation-sep1330-enums`, `json-schema-2020-12`): what
//! each returns is what its scenario checks. Sampling and elicitation are server-to-client
//! requests, so they exist only in 2025-11-25 sessions; the 2026-07-28 way is in
//! `input_required`.

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
    LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ResourceContents,
    ServerRequest, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};

use crate::{FixtureServer, PNG_BASE64, WAV_BASE64, object};

/// The pause between notifications, so they arrive as separate SSE events before the result.
const STEP: Duration = Duration::from_millis(50);

/// A tool without arguments.
fn plain(name: &'static str, description: &'static str) -> Tool {
    Tool::new(
        name,
        description,
        object(json!({"type": "object", "properties": {}})),
    )
}

/// A tool with one required string argument.
fn with_string(name: &'static str, description: &'static str, arg: &str, about: &str) -> Tool {
    Tool::new(
        name,
        description,
        object(json!({
            "type": "object",
            "properties": {arg: {"type": "string", "description": about}},
            "required": [arg],
        })),
    )
}

/// The tools of this module, in a fixed order.
pub(crate) fn list() -> Vec<Tool> {
    vec![
        plain("test_simple_text", "Answers one text content block"),
        plain("test_image_content", "Answers one PNG image content block"),
        plain("test_audio_content", "Answers one WAV audio content block"),
        plain(
            "test_embedded_resource",
            "Answers one embedded text resource",
        ),
        plain(
            "test_multiple_content_types",
            "Answers text, an image and an embedded JSON resource",
        ),
        plain(
            "test_tool_with_logging",
            "Sends three log messages, then answers",
        ),
        plain(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100 against the request's progress token",
        ),
        plain(
            "test_error_handling",
            "Always fails with a tool error (isError)",
        ),
        with_string(
            "test_sampling",
            "Asks the client's model to complete a prompt (sampling/createMessage)",
            "prompt",
            "The prompt to send to the model",
        ),
        with_string(
            "test_elicitation",
            "Asks the user for a response through the client (elicitation/create)",
            "message",
            "The message to show the user",
        ),
        plain(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose every primitive field has a default (SEP-1034)",
        ),
        plain(
            "test_elicitation_sep1330_enums",
            "Elicits a form with the five enum shapes of SEP-1330",
        ),
        Tool::new(
            "json_schema_2020_12_tool",
            "Takes an input schema using JSON Schema 2020-12 keywords ($defs, $anchor, allOf/anyOf, if/then/else)",
            object(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "$anchor": "addressDef",
                        "type": "object",
                        "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
                    },
                },
                "properties": {
                    "name": {"type": "string"},
                    "address": {"$ref": "#/$defs/address"},
                    "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                    "phone": {"type": "string"},
                    "email": {"type": "string"},
                },
                "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
                "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
                "then": {"required": ["phone"]},
                "else": {"required": ["email"]},
                "additionalProperties": false,
            })),
        ),
    ]
}

fn text(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
}

fn embedded(uri: &str, mime_type: &str, text: String) -> ContentBlock {
    ContentBlock::resource(ResourceContents::TextResourceContents {
        uri: uri.into(),
        mime_type: Some(mime_type.into()),
        text,
        meta: None,
    })
}

/// Runs one of this module's tools; `None` when `name` is not one of them.
pub(crate) async fn call(
    server: &FixtureServer,
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Option<Result<CallToolResponse, ErrorData>> {
    let argument = |key: &str| {
        request
            .arguments
            .as_ref()
            .and_then(|args| args.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some(match request.name.as_ref() {
        "test_simple_text" => text("This is a simple text response for testing."),
        "test_image_content" => {
            Ok(CallToolResult::success(vec![ContentBlock::image(PNG_BASE64, "image/png")]).into())
        }
        "test_audio_content" => {
            Ok(CallToolResult::success(vec![ContentBlock::audio(WAV_BASE64, "audio/wav")]).into())
        }
        "test_embedded_resource" => Ok(CallToolResult::success(vec![embedded(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.".into(),
        )])
        .into()),
        "test_multiple_content_types" => Ok(CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG_BASE64, "image/png"),
            embedded(
                "test://mixed-content-resource",
                "application/json",
                json!({"test": "data", "value": 123}).to_string(),
            ),
        ])
        .into()),
        "test_tool_with_logging" => {
            for message in [
                "Tool execution started",
                "Tool processing data",
                "Tool execution completed",
            ] {
                server.log(context, LoggingLevel::Info, message).await;
                tokio::time::sleep(STEP).await;
            }
            text("Tool with logging executed successfully")
        }
        "test_tool_with_progress" => progress(context).await,
        "test_error_handling" => Ok(CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
        .into()),
        "test_sampling" => sampling(context, &argument("prompt")).await,
        "test_elicitation" => {
            let schema = json!({
                "type": "object",
                "properties": {"response": {"type": "string", "description": "The user's response"}},
                "required": ["response"],
            });
            elicit(context, &argument("message"), schema, "User response").await
        }
        "test_elicitation_sep1034_defaults" => {
            let schema = json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {
                        "type": "string",
                        "description": "User status",
                        "enum": ["active", "inactive", "pending"],
                        "default": "active",
                    },
                    "verified": {"type": "boolean", "description": "Verification status", "default": true},
                },
                "required": [],
            });
            let message = "Please review and update the form fields with defaults";
            elicit(context, message, schema, "Elicitation completed").await
        }
        "test_elicitation_sep1330_enums" => {
            elicit(
                context,
                "Please choose your options",
                enum_schema(),
                "Elicitation completed",
            )
            .await
        }
        "json_schema_2020_12_tool" => text(format!(
            "Received: {}",
            Value::Object(request.arguments.clone().unwrap_or_default())
        )),
        _ => return None,
    })
}

/// The five enum shapes of SEP-1330, one property each.
fn enum_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {
                "type": "string",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"},
                ],
            },
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
            },
            "titledMulti": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"},
                    ],
                },
            },
        },
    })
}

/// Progress 0, 50, 100 of 100 (when the request carries a progress token), then the token as text.
async fn progress(context: &RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
    let token = context.meta.get_progress_token();
    if let Some(token) = &token {
        for step in [0u32, 50, 100] {
            let notification = ProgressNotificationParam::new(token.clone(), f64::from(step))
                .with_total(100.0)
                .with_message(format!("Completed step {step} of 100"));
            if let Err(e) = context.peer.notify_progress(notification).await {
                tracing::warn!(error = %e, "progress notification not sent");
            }
            tokio::time::sleep(STEP).await;
        }
    }
    text(token.map_or_else(|| "no progress token".to_owned(), |t| t.0.to_string()))
}

/// Sends a server-to-client request (2025-11-25 sessions) and returns the client's result as JSON.
/// Sent as a custom request so the schema reaches the client exactly as written here.
async fn ask(
    context: &RequestContext<RoleServer>,
    method: &str,
    params: Value,
) -> Result<Value, String> {
    let request = ServerRequest::CustomRequest(CustomRequest::new(method, Some(params)));
    let result = context
        .peer
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_value(result).map_err(|e| e.to_string())
}

async fn sampling(
    context: &RequestContext<RoleServer>,
    prompt: &str,
) -> Result<CallToolResponse, ErrorData> {
    let params = json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
        "maxTokens": 100,
    });
    match ask(context, "sampling/createMessage", params).await {
        Ok(result) => {
            let answer = result
                .pointer("/content/text")
                .and_then(Value::as_str)
                .unwrap_or("(no text in the client's answer)");
            text(format!("LLM response: {answer}"))
        }
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "Sampling failed: {e}"
        ))])
        .into()),
    }
}

async fn elicit(
    context: &RequestContext<RoleServer>,
    message: &str,
    schema: Value,
    label: &str,
) -> Result<CallToolResponse, ErrorData> {
    let params = json!({"mode": "form", "message": message, "requestedSchema": schema});
    match ask(context, "elicitation/create", params).await {
        Ok(result) => {
            let action = result
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let content = result.get("content").cloned().unwrap_or_else(|| json!({}));
            text(format!("{label}: action={action}, content={content}"))
        }
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "Elicitation failed: {e}"
        ))])
        .into()),
    }
}

impl FixtureServer {
    /// Sends a log message when `level` is at or above the session's `logging/setLevel`.
    pub(crate) async fn log(
        &self,
        context: &RequestContext<RoleServer>,
        level: LoggingLevel,
        message: &str,
    ) {
        let threshold = *self.shared.log_level.lock().await;
        if rank(level) < rank(threshold) {
            return;
        }
        let notification = LoggingMessageNotificationParam::new(level, json!(message))
            .with_logger("conformance-fixture");
        if let Err(e) = context.peer.notify_logging_message(notification).await {
            tracing::warn!(error = %e, "log notification not sent");
        }
    }
}

/// Severity order of RFC 5424, as `logging/setLevel` uses it.
pub(crate) fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}
