//! SEP-2322 input-required results (`input-required-result-*`, 2026-07-28): instead of sending
//! the client a request, the tool answers `resultType: "input_required"` with `inputRequests`
//! (and a sealed `requestState` where rounds must be told apart), and completes when the client
//! retries with `inputResponses`. Also the diagnostic tools `server-stateless` probes
//! (`test_missing_capability`, `test_streaming_elicitation`, `test_logging_tool`, the list-change
//! triggers). Missing or malformed responses are asked for again; a `requestState` that fails its
//! integrity check is a -32602 error.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    InputRequest, InputRequests, InputRequiredResult, InputResponses, LoggingLevel,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Map, Value, json};

use crate::tools::rank;
use crate::{Change, FixtureServer, from_wire};

/// The tools of this module, in a fixed order: name and description.
pub(crate) const TOOLS: [(&str, &str); 13] = [
    (
        "test_input_required_result_elicitation",
        "Asks for the user's name (input request user_name), then greets them",
    ),
    (
        "test_input_required_result_sampling",
        "Asks the client's model a question (input request capital_question)",
    ),
    (
        "test_input_required_result_list_roots",
        "Asks for the client's roots (input request client_roots)",
    ),
    (
        "test_input_required_result_request_state",
        "Asks for a confirmation with a sealed requestState; answers state-ok when it comes back intact",
    ),
    (
        "test_input_required_result_multiple_inputs",
        "Asks for an elicitation, a sampling and the roots at once",
    ),
    (
        "test_input_required_result_multi_round",
        "Asks for a name, then a colour, each round with a new requestState",
    ),
    (
        "test_input_required_result_tampered_state",
        "Asks for a confirmation; refuses a requestState that fails its integrity check",
    ),
    (
        "test_input_required_result_capabilities",
        "Asks only for what the request's client capabilities declare",
    ),
    (
        "test_missing_capability",
        "Needs the sampling client capability; refuses with -32021 without it",
    ),
    (
        "test_streaming_elicitation",
        "Asks for input the 2026-07-28 way (an input-required result, never a request on the stream)",
    ),
    (
        "test_logging_tool",
        "Logs only when the request's _meta asks for a log level",
    ),
    (
        "test_trigger_tool_change",
        "Announces a tool list change on open subscriptions/listen streams",
    ),
    (
        "test_trigger_prompt_change",
        "Announces a prompt list change on open subscriptions/listen streams",
    ),
];

/// An `elicitation/create` input request for one required string (or boolean) property.
fn elicitation(message: &str, property: &str, kind: &str) -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": {property: {"type": kind}},
                "required": [property],
            },
        },
    })
}

fn sampling(question: &str, max_tokens: u32) -> Value {
    json!({
        "method": "sampling/createMessage",
        "params": {
            "messages": [{"role": "user", "content": {"type": "text", "text": question}}],
            "maxTokens": max_tokens,
        },
    })
}

fn roots() -> Value {
    json!({"method": "roots/list", "params": {}})
}

/// An input-required result asking `requests` (key, wire request), with `state` if any.
pub(crate) fn ask(
    requests: Vec<(&str, Value)>,
    state: Option<String>,
) -> Result<InputRequiredResult, ErrorData> {
    let mut map = InputRequests::new();
    for (key, request) in requests {
        map.insert(key.to_owned(), from_wire::<InputRequest>(request)?);
    }
    Ok(InputRequiredResult::new(Some(map), state))
}

/// The accepted content of an elicitation response, if `key` holds one.
pub(crate) fn accepted<'a>(
    responses: Option<&'a InputResponses>,
    key: &str,
) -> Option<&'a Map<String, Value>> {
    let response = responses?.get(key)?.as_object()?;
    if response.get("action").and_then(Value::as_str) != Some("accept") {
        return None;
    }
    response.get("content")?.as_object()
}

/// The text of a sampling response, if `key` holds one.
fn sampled(responses: Option<&InputResponses>, key: &str) -> Option<String> {
    let content = responses?.get(key)?.get("content")?;
    let block = content
        .as_array()
        .and_then(|a| a.first())
        .unwrap_or(content);
    block.get("text")?.as_str().map(str::to_owned)
}

/// The root URIs of a `roots/list` response, if `key` holds one.
fn listed_roots(responses: Option<&InputResponses>, key: &str) -> Option<Vec<String>> {
    let roots = responses?.get(key)?.get("roots")?.as_array()?;
    roots
        .iter()
        .map(|root| root.get("uri").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The string `field` of an accepted elicitation at `key`.
fn field(responses: Option<&InputResponses>, key: &str, field: &str) -> Option<String> {
    accepted(responses, key)?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

fn done(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
}

fn pending(
    requests: Vec<(&str, Value)>,
    state: Option<String>,
) -> Result<CallToolResponse, ErrorData> {
    ask(requests, state).map(Into::into)
}

impl FixtureServer {
    /// The round a sealed `requestState` names for `tool`: `Ok(None)` without a state, an
    /// invalid-params error for a state this server did not seal or sealed for another tool.
    pub(crate) fn round(&self, tool: &str, state: Option<&str>) -> Result<Option<u32>, ErrorData> {
        let Some(state) = state else {
            return Ok(None);
        };
        let refused = || {
            ErrorData::invalid_params(
                "requestState failed its integrity check",
                Some(json!({"tool": tool})),
            )
        };
        let payload = self.shared.sealer.open(state).ok_or_else(refused)?;
        let (named, round) = payload.split_once(':').ok_or_else(refused)?;
        if named != tool {
            return Err(refused());
        }
        round.parse().map(Some).map_err(|_| refused())
    }

    /// A sealed `requestState` for round `round` of `tool`.
    pub(crate) fn state(&self, tool: &str, round: u32) -> String {
        self.shared.sealer.seal(&format!("{tool}:{round}"))
    }

    /// Runs one of this module's tools; `None` when `name` is not one of them.
    pub(crate) async fn input_required_tool(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Option<Result<CallToolResponse, ErrorData>> {
        let name = request.name.as_ref();
        let responses = request.input_responses.as_ref();
        let state = request.request_state.as_deref();
        let capabilities = context.client_capabilities().unwrap_or_default();
        Some(match name {
            "test_input_required_result_elicitation" => {
                match field(responses, "user_name", "name") {
                    Some(name) => done(format!("Hello, {name}!")),
                    None => pending(
                        vec![(
                            "user_name",
                            elicitation("What is your name?", "name", "string"),
                        )],
                        None,
                    ),
                }
            }
            "test_input_required_result_sampling" => match sampled(responses, "capital_question") {
                Some(answer) => done(format!("The model answered: {answer}")),
                None => pending(
                    vec![(
                        "capital_question",
                        sampling("What is the capital of France?", 100),
                    )],
                    None,
                ),
            },
            "test_input_required_result_list_roots" => {
                match listed_roots(responses, "client_roots") {
                    Some(roots) => done(format!("Client roots: {}", roots.join(", "))),
                    None => pending(vec![("client_roots", roots())], None),
                }
            }
            "test_input_required_result_request_state"
            | "test_input_required_result_tampered_state" => self.confirm(name, responses, state),
            "test_input_required_result_multiple_inputs" => self.multiple(responses, state),
            "test_input_required_result_multi_round" => self.multi_round(responses, state),
            "test_input_required_result_capabilities" => capability_bound(&capabilities, responses),
            "test_missing_capability" => match capabilities.sampling {
                Some(_) => done("The client declared sampling"),
                None => Err(ErrorData::missing_required_client_capability(
                    ClientCapabilities::builder().enable_sampling().build(),
                )),
            },
            "test_streaming_elicitation" => match field(responses, "answer", "answer") {
                Some(answer) => done(format!("Received: {answer}")),
                None => pending(
                    vec![(
                        "answer",
                        elicitation("Anything to add?", "answer", "string"),
                    )],
                    None,
                ),
            },
            "test_logging_tool" => {
                // 2026-07-28: a server logs only when the request names a level (SEP-2575).
                if let Some(level) = context.meta.log_level()
                    && rank(LoggingLevel::Info) >= rank(level)
                {
                    self.log(context, LoggingLevel::Info, "test_logging_tool ran")
                        .await;
                }
                done("Logged only if the request asked for a log level")
            }
            "test_trigger_tool_change" => {
                self.announce(Change::Tools);
                done("Tool list change announced")
            }
            "test_trigger_prompt_change" => {
                self.announce(Change::Prompts);
                done("Prompt list change announced")
            }
            _ => return None,
        })
    }

    /// One confirmation under a sealed state: `state-ok` once it comes back intact.
    fn confirm(
        &self,
        tool: &str,
        responses: Option<&InputResponses>,
        state: Option<&str>,
    ) -> Result<CallToolResponse, ErrorData> {
        let round = self.round(tool, state)?;
        let confirmed = accepted(responses, "confirm")
            .and_then(|content| content.get("ok"))
            .and_then(Value::as_bool);
        match (round, confirmed) {
            (Some(1), Some(ok)) => done(format!("state-ok: confirmation {ok}")),
            _ => pending(
                vec![("confirm", elicitation("Please confirm", "ok", "boolean"))],
                Some(self.state(tool, 1)),
            ),
        }
    }

    /// An elicitation, a sampling and the roots in one round; asks again for what is missing.
    fn multiple(
        &self,
        responses: Option<&InputResponses>,
        state: Option<&str>,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_multiple_inputs";
        let round = self.round(TOOL, state)?;
        let name = field(responses, "user_name", "name");
        let greeting = sampled(responses, "greeting");
        let listed = listed_roots(responses, "client_roots");
        if let (Some(1), Some(name), Some(greeting), Some(listed)) =
            (round, &name, &greeting, &listed)
        {
            return done(format!(
                "{name} got the greeting \"{greeting}\" and has {} root(s)",
                listed.len()
            ));
        }
        let mut requests = Vec::new();
        if name.is_none() {
            let request = elicitation("What is your name?", "name", "string");
            requests.push(("user_name", request));
        }
        if greeting.is_none() {
            requests.push(("greeting", sampling("Generate a greeting", 50)));
        }
        if listed.is_none() {
            requests.push(("client_roots", roots()));
        }
        pending(requests, Some(self.state(TOOL, 1)))
    }

    /// A name in round 1, a colour in round 2 (each with its own state), then the answer.
    fn multi_round(
        &self,
        responses: Option<&InputResponses>,
        state: Option<&str>,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_multi_round";
        let step1 = || {
            pending(
                vec![(
                    "step1",
                    elicitation("Step 1: What is your name?", "name", "string"),
                )],
                Some(self.state(TOOL, 1)),
            )
        };
        let step2 = || {
            pending(
                vec![(
                    "step2",
                    elicitation("Step 2: What is your favorite color?", "color", "string"),
                )],
                Some(self.state(TOOL, 2)),
            )
        };
        match self.round(TOOL, state)? {
            Some(1) if field(responses, "step1", "name").is_some() => step2(),
            Some(2) => match field(responses, "step2", "color") {
                Some(color) => done(format!("Favorite color: {color}")),
                None => step2(),
            },
            _ => step1(),
        }
    }
}

/// Asks only for what the request's client capabilities allow; -32021 when they allow nothing.
fn capability_bound(
    capabilities: &ClientCapabilities,
    responses: Option<&InputResponses>,
) -> Result<CallToolResponse, ErrorData> {
    let mut requests = Vec::new();
    if capabilities.elicitation.is_some() && field(responses, "user_name", "name").is_none() {
        let request = elicitation("What is your name?", "name", "string");
        requests.push(("user_name", request));
    }
    if capabilities.sampling.is_some() && sampled(responses, "capital_question").is_none() {
        let request = sampling("What is the capital of France?", 100);
        requests.push(("capital_question", request));
    }
    if capabilities.roots.is_some() && listed_roots(responses, "client_roots").is_none() {
        requests.push(("client_roots", roots()));
    }
    let declared = capabilities.elicitation.is_some()
        || capabilities.sampling.is_some()
        || capabilities.roots.is_some();
    if !declared {
        return Err(ErrorData::missing_required_client_capability(
            ClientCapabilities::builder().enable_sampling().build(),
        ));
    }
    if requests.is_empty() {
        return done("Every declared capability answered");
    }
    pending(requests, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn responses(value: Value) -> InputResponses {
        serde_json::from_value(value).unwrap()
    }

    /// The wire JSON of a call's answer, and whether it asks for input.
    fn wire(response: Result<CallToolResponse, ErrorData>) -> (bool, Value) {
        match response.unwrap() {
            CallToolResponse::InputRequired(result) => {
                (true, serde_json::to_value(result).unwrap())
            }
            CallToolResponse::Complete(result) => (false, serde_json::to_value(result).unwrap()),
            _ => panic!("unexpected task result"),
        }
    }

    #[test]
    fn multi_round_moves_on_only_with_an_intact_state_and_an_answer() {
        const TOOL: &str = "test_input_required_result_multi_round";
        let server = FixtureServer::new();
        let (asks, first) = wire(server.multi_round(None, None));
        assert!(asks);
        assert!(first["inputRequests"]["step1"].is_object());
        let state1 = first["requestState"].as_str().unwrap().to_owned();
        let name = responses(json!({"step1": {"action": "accept", "content": {"name": "Alice"}}}));
        let (asks, second) = wire(server.multi_round(Some(&name), Some(&state1)));
        assert!(asks);
        let state2 = second["requestState"].as_str().unwrap().to_owned();
        assert_ne!(state1, state2);
        assert!(second["inputRequests"]["step2"].is_object());
        let color = responses(json!({"step2": {"action": "accept", "content": {"color": "blue"}}}));
        let (asks, done) = wire(server.multi_round(Some(&color), Some(&state2)));
        assert!(!asks);
        assert!(done.to_string().contains("blue"));
        let tampered = format!("{state2}-TAMPERED");
        let error = server
            .multi_round(Some(&color), Some(&tampered))
            .unwrap_err();
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        // A state sealed for another tool is refused too.
        let other = server.state("test_input_required_result_request_state", 1);
        assert!(server.round(TOOL, Some(&other)).is_err());
    }

    #[test]
    fn malformed_answers_are_asked_for_again() {
        let server = FixtureServer::new();
        let state = server.state("test_input_required_result_request_state", 1);
        let number = responses(json!({"confirm": 12345}));
        let (asks, _) = wire(server.confirm(
            "test_input_required_result_request_state",
            Some(&number),
            Some(&state),
        ));
        assert!(asks);
        let declined = responses(json!({"confirm": {"action": "decline"}}));
        let (asks, _) = wire(server.confirm(
            "test_input_required_result_request_state",
            Some(&declined),
            Some(&state),
        ));
        assert!(asks);
    }

    #[test]
    fn only_declared_capabilities_are_asked_for() {
        let sampling_only: ClientCapabilities =
            serde_json::from_value(json!({"sampling": {}})).unwrap();
        let (asks, result) = wire(capability_bound(&sampling_only, None));
        assert!(asks);
        let requests = result["inputRequests"].as_object().unwrap();
        assert_eq!(requests.keys().collect::<Vec<_>>(), ["capital_question"]);
        let none = ClientCapabilities::default();
        let error = capability_bound(&none, None).unwrap_err();
        assert_eq!(
            error.code,
            rmcp::model::ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
        );
    }
}
