//! What goes over the wire: the request body we send and tolerant types for what comes back.
//!
//! Every response field is optional and unknown fields are ignored, because compatible
//! providers differ: DeepSeek adds `reasoning_content` and unknown `finish_reason` values, Kimi
//! puts streaming usage inside `choices[0]`, and errors can arrive mid-stream as a chunk of their
//! own (`{"error": …}`).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{ChatRequest, Usage};

/// The JSON body of a chat-completions request. `extra` (provider switches from the
/// configuration) is merged last, so it can override anything but the messages.
pub fn request_body(
    model: &str,
    req: &ChatRequest,
    stream: bool,
    extra: &Map<String, Value>,
) -> Value {
    let mut messages = Vec::with_capacity(2);
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": req.system}));
    }
    messages.push(json!({"role": "user", "content": req.user}));
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "stream": stream,
    });
    if stream {
        // Ask for usage in the last chunk; providers that ignore it still answer.
        body["stream_options"] = json!({"include_usage": true});
    }
    if let Value::Object(obj) = &mut body {
        for (k, v) in extra {
            if k != "messages" && k != "stream" {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
    body
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WireUsage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

impl WireUsage {
    pub fn to_usage(&self) -> Usage {
        Usage {
            prompt_tokens: clamp_u32(self.prompt_tokens.unwrap_or(0)),
            completion_tokens: clamp_u32(self.completion_tokens.unwrap_or(0)),
        }
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// `{"error": {...}}`, also sent mid-stream by some providers. Fields vary: be lenient.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WireError {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<Value>,
    pub code: Option<Value>,
}

impl WireError {
    pub fn describe(&self) -> String {
        let mut s = self.message.clone().unwrap_or_else(|| "no message".into());
        if let Some(code) = &self.code {
            s.push_str(&format!(" (code {code})"));
        }
        s
    }
}

/// An error can be an object or, from some proxies, a bare string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ErrorField {
    Object(WireError),
    Text(String),
    Other(Value),
}

impl ErrorField {
    pub fn describe(&self) -> String {
        match self {
            ErrorField::Object(e) => e.describe(),
            ErrorField::Text(t) => t.clone(),
            ErrorField::Other(v) => v.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WireMessage {
    /// `null` when the model produced only reasoning or a tool call.
    pub content: Option<String>,
    /// Read so it is never mistaken for the answer; not used.
    pub reasoning_content: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WireChoice {
    pub message: Option<WireMessage>,
    /// In stream chunks.
    pub delta: Option<WireMessage>,
    /// A string we do not interpret beyond "present" and a few known values.
    pub finish_reason: Option<String>,
    /// Kimi reports usage here in streams.
    pub usage: Option<WireUsage>,
}

/// A whole completion or one stream chunk: the same shape, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WireResponse {
    pub model: Option<String>,
    pub choices: Vec<WireChoice>,
    pub usage: Option<WireUsage>,
    pub error: Option<ErrorField>,
}

impl WireResponse {
    pub fn first(&self) -> Option<&WireChoice> {
        self.choices.first()
    }

    /// Usage at the top level, else inside the first choice (Kimi).
    pub fn usage(&self) -> Option<Usage> {
        self.usage
            .as_ref()
            .or_else(|| self.first().and_then(|c| c.usage.as_ref()))
            .map(WireUsage::to_usage)
    }

    pub fn finish_reason(&self) -> Option<&str> {
        self.first().and_then(|c| c.finish_reason.as_deref())
    }

    /// The answer text of a whole completion (never the reasoning).
    pub fn message_text(&self) -> Option<&str> {
        self.first()
            .and_then(|c| c.message.as_ref())
            .and_then(|m| m.content.as_deref())
    }
}

/// Finish reasons that mean the answer was withheld by a content filter.
pub fn is_filtered(finish_reason: &str) -> bool {
    matches!(finish_reason, "content_filter" | "sensitive")
}

/// Finish reasons that mean the provider gave up for its own reasons (DeepSeek stops with
/// `insufficient_system_resource` when overloaded): worth another try, like a 5xx.
pub fn is_provider_abort(finish_reason: &str) -> bool {
    matches!(finish_reason, "insufficient_system_resource" | "error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepseek_reasoning_and_unknown_finish_reason_parse() {
        let r: WireResponse = serde_json::from_str(
            r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"答案","reasoning_content":"思考"},"finish_reason":"insufficient_system_resource"}],"service_tier":"weird"}"#,
        )
        .unwrap();
        assert_eq!(r.message_text(), Some("答案"));
        assert_eq!(r.finish_reason(), Some("insufficient_system_resource"));
    }

    #[test]
    fn kimi_usage_inside_the_choice_is_found() {
        let r: WireResponse = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}]}"#,
        )
        .unwrap();
        assert_eq!(
            r.usage(),
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 3
            })
        );
    }

    #[test]
    fn mid_stream_error_chunk_parses_as_error() {
        let r: WireResponse = serde_json::from_str(
            r#"{"error":{"message":"overloaded","type":"server_error","code":503}}"#,
        )
        .unwrap();
        assert!(r.choices.is_empty());
        assert!(r.error.unwrap().describe().contains("overloaded"));
        let r: WireResponse = serde_json::from_str(r#"{"error":"bad gateway"}"#).unwrap();
        assert_eq!(r.error.unwrap().describe(), "bad gateway");
    }

    #[test]
    fn null_content_and_null_usage_are_tolerated() {
        let r: WireResponse = serde_json::from_str(
            r#"{"choices":[{"delta":{"content":null,"reasoning_content":"…"},"finish_reason":null}],"usage":null}"#,
        )
        .unwrap();
        assert_eq!(r.first().unwrap().delta.as_ref().unwrap().content, None);
        assert_eq!(r.usage(), None);
    }

    #[test]
    fn extra_overrides_but_cannot_replace_messages_or_stream() {
        let req = ChatRequest {
            system: "sys".into(),
            user: "问".into(),
            max_tokens: 100,
            temperature: 0.2,
        };
        let mut extra = Map::new();
        extra.insert("temperature".into(), json!(0.9));
        extra.insert("stream".into(), json!(false));
        extra.insert("messages".into(), json!([]));
        extra.insert("enable_thinking".into(), json!(false));
        let body = request_body("m", &req, true, &extra);
        assert_eq!(body["temperature"], json!(0.9));
        assert_eq!(body["stream"], json!(true));
        assert_eq!(body["messages"].as_array().unwrap().len(), 2);
        assert_eq!(body["enable_thinking"], json!(false));
        assert_eq!(body["stream_options"]["include_usage"], json!(true));
    }
}
