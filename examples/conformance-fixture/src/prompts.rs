//! The suite's prompts (`prompts-list`, `prompts-get-*`, `input-required-result-non-tool-request`)
//! and argument completion (`completion-complete`).

use rmcp::ErrorData;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, ListPromptsResult,
};
use serde_json::{Value, json};

use crate::input_required::{accepted, ask};
use crate::{FixtureServer, PNG_BASE64, from_wire};

/// Every prompt, in a fixed order.
pub(crate) fn list() -> Result<ListPromptsResult, ErrorData> {
    from_wire(json!({"resultType": "complete", "prompts": [
        {"name": "test_simple_prompt", "description": "A prompt without arguments"},
        {
            "name": "test_prompt_with_arguments",
            "description": "A prompt with two required arguments, substituted into its text",
            "arguments": [
                {"name": "arg1", "description": "First argument", "required": true},
                {"name": "arg2", "description": "Second argument", "required": true},
            ],
        },
        {
            "name": "test_prompt_with_embedded_resource",
            "description": "A prompt embedding the resource it is given",
            "arguments": [
                {"name": "resourceUri", "description": "The URI of the resource to embed", "required": true},
            ],
        },
        {"name": "test_prompt_with_image", "description": "A prompt with image content"},
        {
            "name": "test_input_required_result_prompt",
            "description": "A prompt that first asks the client for context (SEP-2322)",
        },
    ]}))
}

fn user(content: Value) -> Value {
    json!({"role": "user", "content": content})
}

fn text(text: String) -> Value {
    json!({"type": "text", "text": text})
}

fn complete(description: &str, messages: Vec<Value>) -> Result<GetPromptResponse, ErrorData> {
    let result: GetPromptResult = from_wire(json!({
        "resultType": "complete",
        "description": description,
        "messages": messages,
    }))?;
    Ok(result.into())
}

impl FixtureServer {
    /// `prompts/get`; an unknown prompt or a missing required argument is -32602.
    pub(crate) fn prompt(
        &self,
        request: &GetPromptRequestParams,
    ) -> Result<GetPromptResponse, ErrorData> {
        let argument = |name: &str| {
            request
                .arguments
                .as_ref()
                .and_then(|args| args.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ErrorData::invalid_params(
                        format!("missing required argument {name}"),
                        Some(json!({"argument": name})),
                    )
                })
        };
        match request.name.as_str() {
            "test_simple_prompt" => complete(
                "A simple prompt",
                vec![user(text("This is a simple prompt for testing.".into()))],
            ),
            "test_prompt_with_arguments" => {
                let (arg1, arg2) = (argument("arg1")?, argument("arg2")?);
                complete(
                    "A prompt with arguments",
                    vec![user(text(format!(
                        "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
                    )))],
                )
            }
            "test_prompt_with_embedded_resource" => {
                let uri = argument("resourceUri")?;
                complete(
                    "A prompt with an embedded resource",
                    vec![
                        user(json!({
                            "type": "resource",
                            "resource": {
                                "uri": uri,
                                "mimeType": "text/plain",
                                "text": "Embedded resource content for testing.",
                            },
                        })),
                        user(text("Please process the embedded resource above.".into())),
                    ],
                )
            }
            "test_prompt_with_image" => complete(
                "A prompt with an image",
                vec![
                    user(json!({"type": "image", "data": PNG_BASE64, "mimeType": "image/png"})),
                    user(text("Please analyze the image above.".into())),
                ],
            ),
            "test_input_required_result_prompt" => {
                let context = accepted(request.input_responses.as_ref(), "user_context")
                    .and_then(|content| content.get("context"))
                    .and_then(Value::as_str);
                match context {
                    Some(context) => complete(
                        "A prompt completed with the client's input",
                        vec![user(text(format!("Use this context: {context}")))],
                    ),
                    None => {
                        let request = json!({
                            "method": "elicitation/create",
                            "params": {
                                "mode": "form",
                                "message": "What context should the prompt use?",
                                "requestedSchema": {
                                    "type": "object",
                                    "properties": {"context": {"type": "string"}},
                                    "required": ["context"],
                                },
                            },
                        });
                        Ok(ask(vec![("user_context", request)], None)?.into())
                    }
                }
            }
            other => Err(ErrorData::invalid_params(
                format!("unknown prompt {other}"),
                Some(json!({"name": other})),
            )),
        }
    }
}

/// `completion/complete`: prefix matches for the prompt's arguments and the template's `id`.
pub(crate) fn completion(request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let wire = serde_json::to_value(request).unwrap_or_default();
    let at = |pointer: &str| wire.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let candidates: &[&str] = match (at("/ref/type"), at("/argument/name")) {
        ("ref/prompt", "arg1") => &["paris", "park", "party"],
        ("ref/prompt", "arg2") => &["red", "green", "blue"],
        ("ref/resource", "id") => &["1", "2", "3", "123"],
        _ => &[],
    };
    let prefix = at("/argument/value");
    let values: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|value| value.starts_with(prefix))
        .collect();
    from_wire(json!({
        "resultType": "complete",
        "completion": {"values": values, "total": values.len(), "hasMore": false},
    }))
}
