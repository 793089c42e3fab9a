//! The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`; the suite's `tasks-*`
//! scenarios): task-supporting tools answer a `CreateTaskResult` when the request declares the
//! extension and run in the background; `tasks/get` shows the state with the result, error or
//! pending input requests inlined, `tasks/update` delivers answers, `tasks/cancel` stops work.
//! Tasks live in memory, shared by every clone of the server (stateless requests included).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    CreateTaskResult, DetailedTask, InputRequests, InputResponses, JsonObject, Task, TaskPayload,
};
use serde_json::{Value, json};

use crate::input_required::{accepted, ask};
use crate::{FixtureServer, from_wire};

/// How long a task is kept, and how often clients should poll.
const TTL_MS: u64 = 300_000;
const POLL_MS: u64 = 100;
/// How often a background task looks at its own state (cancellation, answers).
const TICK: Duration = Duration::from_millis(50);

/// The tools of this module, in a fixed order: name and description.
pub(crate) const TOOLS: [(&str, &str); 7] = [
    ("greet", "Greets by name, synchronously (never a task)"),
    (
        "slow_compute",
        "Sleeps `seconds`, then answers; a task when the request declares the tasks extension",
    ),
    (
        "failing_job",
        "A task (required) that ends with a tool error",
    ),
    (
        "protocol_error_job",
        "A task (required) that fails with a protocol error",
    ),
    (
        "confirm_delete",
        "A task (required) that asks for a confirmation through tasks/update",
    ),
    (
        "multi_input",
        "A task (required) that asks two questions at once",
    ),
    (
        "test_tool_with_task",
        "Asks for a name (input-required round), then becomes a task that greets",
    ),
];

/// One task's state.
pub(crate) struct Entry {
    created_at: String,
    updated_at: String,
    payload: TaskPayload,
    /// Answers delivered by `tasks/update`, by input request key.
    answers: InputResponses,
}

/// Every task, by id.
pub(crate) type Tasks = HashMap<String, Entry>;

/// Now as an RFC 3339 UTC timestamp (civil date from days since the epoch, proleptic Gregorian).
fn now() -> String {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = elapsed.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or_default();
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        elapsed.subsec_millis()
    )
}

fn task_of(id: &str, entry: &Entry) -> Task {
    Task::new(
        id,
        entry.payload.status(),
        &entry.created_at,
        &entry.updated_at,
    )
    .with_ttl_ms(TTL_MS)
    .with_poll_interval_ms(POLL_MS)
}

fn unknown(id: &str) -> ErrorData {
    ErrorData::invalid_params(format!("unknown task {id}"), Some(json!({"taskId": id})))
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn tool_result(text: String, is_error: bool) -> JsonObject {
    let block = ContentBlock::text(text);
    let result = if is_error {
        CallToolResult::error(vec![block])
    } else {
        CallToolResult::success(vec![block])
    };
    object(serde_json::to_value(result).unwrap_or_default())
}

fn elicit(message: &str, field: &str) -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": {field: {"type": if field == "confirm" { "boolean" } else { "string" }}},
                "required": [field],
            },
        },
    })
}

/// What a background task does.
enum Work {
    Sleep { seconds: u64, label: String },
    ToolError,
    ProtocolError,
    Ask(Vec<(&'static str, Value)>),
    Greet(String),
}

impl FixtureServer {
    /// Runs one of this module's tools; `None` when `name` is not one of them.
    pub(crate) async fn task_tool(
        &self,
        request: &CallToolRequestParams,
        capabilities: &ClientCapabilities,
    ) -> Option<Result<CallToolResponse, ErrorData>> {
        let arg = |key: &str| request.arguments.as_ref().and_then(|args| args.get(key));
        let declared = capabilities.supports_tasks();
        let required = || {
            Err(ErrorData::missing_required_client_capability(
                ClientCapabilities::builder().enable_tasks().build(),
            ))
        };
        let work = match request.name.as_ref() {
            "greet" => {
                let name = arg("name").and_then(Value::as_str).unwrap_or("World");
                let text = format!("Hello, {name}!");
                return Some(Ok(
                    CallToolResult::success(vec![ContentBlock::text(text)]).into()
                ));
            }
            "slow_compute" => Work::Sleep {
                seconds: arg("seconds").and_then(Value::as_u64).unwrap_or(1).min(600),
                label: arg("label")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            },
            "failing_job" => Work::ToolError,
            "protocol_error_job" => Work::ProtocolError,
            "confirm_delete" => Work::Ask(vec![("confirm", elicit("Delete the file?", "confirm"))]),
            "multi_input" => Work::Ask(vec![
                ("first", elicit("First question: your name?", "name")),
                ("second", elicit("Second question: confirm?", "confirm")),
            ]),
            "test_tool_with_task" => {
                if !declared {
                    return Some(required());
                }
                let answers = request.input_responses.as_ref();
                let name = accepted(answers, "user_name")
                    .and_then(|content| content.get("name"))
                    .and_then(Value::as_str);
                match name {
                    Some(name) => Work::Greet(name.to_owned()),
                    None => {
                        let question = elicit("What is your name?", "name");
                        return Some(ask(vec![("user_name", question)], None).map(Into::into));
                    }
                }
            }
            _ => return None,
        };
        if !declared {
            // Only slow_compute supports running without a task (optional task support).
            return Some(match work {
                Work::Sleep { seconds, label } => {
                    tokio::time::sleep(Duration::from_secs(seconds.min(5))).await;
                    let text = format!("slow_compute {label} done after {seconds} s");
                    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
                }
                _ => required(),
            });
        }
        Some(self.start(work).await)
    }

    /// Creates the task (visible to `tasks/get` before the answer leaves) and starts its work.
    async fn start(&self, work: Work) -> Result<CallToolResponse, ErrorData> {
        let id = format!("task-{}", uuid_like());
        let stamp = now();
        let entry = Entry {
            created_at: stamp.clone(),
            updated_at: stamp,
            payload: TaskPayload::Working,
            answers: InputResponses::new(),
        };
        let task = task_of(&id, &entry);
        self.shared.tasks.lock().await.insert(id.clone(), entry);
        let server = self.clone();
        tokio::spawn(async move { server.run(id, work).await });
        Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
    }

    /// Sets a task's payload unless it was cancelled (or is gone).
    async fn settle(&self, id: &str, payload: TaskPayload) {
        if let Some(entry) = self.shared.tasks.lock().await.get_mut(id)
            && entry.payload != TaskPayload::Cancelled
        {
            entry.payload = payload;
            entry.updated_at = now();
        }
    }

    async fn cancelled(&self, id: &str) -> bool {
        self.shared
            .tasks
            .lock()
            .await
            .get(id)
            .is_none_or(|entry| entry.payload == TaskPayload::Cancelled)
    }

    async fn run(&self, id: String, work: Work) {
        let payload = match work {
            Work::Sleep { seconds, label } => {
                let end = tokio::time::Instant::now() + Duration::from_secs(seconds);
                while tokio::time::Instant::now() < end {
                    if self.cancelled(&id).await {
                        return;
                    }
                    tokio::time::sleep(TICK).await;
                }
                let text = format!("slow_compute {label} done after {seconds} s");
                TaskPayload::Completed {
                    result: tool_result(text, false),
                }
            }
            Work::ToolError => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let text = "failing_job failed, as it always does".to_owned();
                TaskPayload::Completed {
                    result: tool_result(text, true),
                }
            }
            Work::ProtocolError => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let error =
                    json!({"code": -32603, "message": "protocol_error_job hit an internal error"});
                TaskPayload::Failed {
                    error: object(error),
                }
            }
            Work::Greet(name) => TaskPayload::Completed {
                result: tool_result(format!("Hello, {name}! (from a task)"), false),
            },
            Work::Ask(questions) => {
                let mut requests = InputRequests::new();
                for (key, request) in questions {
                    match from_wire(request) {
                        Ok(request) => {
                            requests.insert(key.to_owned(), request);
                        }
                        Err(e) => {
                            let error = json!({"code": e.code.0, "message": e.message});
                            return self
                                .settle(
                                    &id,
                                    TaskPayload::Failed {
                                        error: object(error),
                                    },
                                )
                                .await;
                        }
                    }
                }
                let keys: Vec<String> = requests.keys().cloned().collect();
                self.settle(
                    &id,
                    TaskPayload::InputRequired {
                        input_requests: requests,
                    },
                )
                .await;
                loop {
                    tokio::time::sleep(TICK).await;
                    let tasks = self.shared.tasks.lock().await;
                    let Some(entry) = tasks.get(&id) else { return };
                    if entry.payload == TaskPayload::Cancelled {
                        return;
                    }
                    if keys.iter().all(|key| entry.answers.contains_key(key)) {
                        break;
                    }
                }
                TaskPayload::Completed {
                    result: tool_result(format!("Answered: {}", keys.join(", ")), false),
                }
            }
        };
        self.settle(&id, payload).await;
    }

    /// `tasks/get`: the task with its payload; -32602 for an unknown id.
    pub(crate) async fn get_task_state(&self, id: &str) -> Result<DetailedTask, ErrorData> {
        let tasks = self.shared.tasks.lock().await;
        let entry = tasks.get(id).ok_or_else(|| unknown(id))?;
        Ok(DetailedTask::new(task_of(id, entry), entry.payload.clone()))
    }

    /// `tasks/update`: records the answers to pending input requests (others are ignored); the
    /// task works on once every request is answered.
    pub(crate) async fn update_task_inputs(
        &self,
        id: &str,
        responses: InputResponses,
    ) -> Result<(), ErrorData> {
        let mut tasks = self.shared.tasks.lock().await;
        let entry = tasks.get_mut(id).ok_or_else(|| unknown(id))?;
        if let TaskPayload::InputRequired { input_requests } = &mut entry.payload {
            for (key, response) in responses {
                if input_requests.remove(&key).is_some() {
                    entry.answers.insert(key, response);
                }
            }
            if input_requests.is_empty() {
                entry.payload = TaskPayload::Working;
            }
            entry.updated_at = now();
        }
        Ok(())
    }

    /// `tasks/cancel`: a running task ends as cancelled; a finished one is left as it is.
    pub(crate) async fn cancel_task_work(&self, id: &str) -> Result<(), ErrorData> {
        let mut tasks = self.shared.tasks.lock().await;
        let entry = tasks.get_mut(id).ok_or_else(|| unknown(id))?;
        if !entry.payload.status().is_terminal() {
            entry.payload = TaskPayload::Cancelled;
            entry.updated_at = now();
        }
        Ok(())
    }
}

/// A random task id (128 bits, hex).
fn uuid_like() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `status` is a task status a client waits on (for tests).
#[cfg(test)]
fn waiting(status: rmcp::model::TaskStatus) -> bool {
    use rmcp::model::TaskStatus;
    matches!(status, TaskStatus::Working | TaskStatus::InputRequired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::TaskStatus;

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        let stamp = now();
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
        assert!(stamp.as_str() > "2024-01-01");
    }

    #[tokio::test]
    async fn answered_tasks_complete_and_cancelled_ones_stay_cancelled() {
        let server = FixtureServer::new();
        let caps = ClientCapabilities::builder().enable_tasks().build();
        let call = |name: &str, args: Value| {
            let mut request = CallToolRequestParams::new(name.to_owned());
            request.arguments = Some(object(args));
            request
        };
        let Some(Ok(CallToolResponse::Task(created))) = server
            .task_tool(&call("confirm_delete", json!({})), &caps)
            .await
        else {
            panic!("confirm_delete did not create a task");
        };
        let id = created.task.task_id.clone();
        let mut state = server.get_task_state(&id).await.unwrap();
        while state.status() != TaskStatus::InputRequired {
            tokio::time::sleep(TICK).await;
            state = server.get_task_state(&id).await.unwrap();
        }
        let answer: InputResponses = serde_json::from_value(
            json!({"confirm": {"action": "accept", "content": {"confirm": true}}}),
        )
        .unwrap();
        server.update_task_inputs(&id, answer).await.unwrap();
        while waiting(state.status()) {
            tokio::time::sleep(TICK).await;
            state = server.get_task_state(&id).await.unwrap();
        }
        assert_eq!(state.status(), TaskStatus::Completed);
        server.cancel_task_work(&id).await.unwrap();
        assert_eq!(
            server.get_task_state(&id).await.unwrap().status(),
            TaskStatus::Completed
        );
        assert!(server.get_task_state("nope").await.is_err());
        let without = ClientCapabilities::default();
        let refused = server
            .task_tool(&call("failing_job", json!({})), &without)
            .await;
        assert!(matches!(refused, Some(Err(_))));
    }
}
