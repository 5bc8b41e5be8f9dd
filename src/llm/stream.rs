//! Reading a streamed answer: deltas forwarded as they arrive, a first-token watchdog and the
//! overall deadline, and the checks that tell a complete answer from a cut one.

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

use async_openai::error::OpenAIError;

use super::retry::CallError;
use super::wire::{self, WireResponse};
use super::Usage;

/// What a finished stream produced.
#[derive(Debug)]
pub struct Streamed {
    pub text: String,
    pub usage: Option<Usage>,
    pub model: Option<String>,
}

/// Reads `stream` to its end. `first_deadline` bounds the wait for the first delta (answer or
/// reasoning: both show the model is alive; keep-alive comments do not), `deadline` the whole.
/// `forwarded` becomes true once any text was sent to `deltas`: after that, a failure can no
/// longer be retried without the listener seeing the text twice.
pub async fn read<S>(
    mut stream: S,
    deltas: Option<&mpsc::Sender<String>>,
    first_deadline: Instant,
    deadline: Instant,
    forwarded: &mut bool,
) -> Result<Streamed, CallError>
where
    S: Stream<Item = Result<WireResponse, OpenAIError>> + Unpin,
{
    let mut text = String::new();
    let mut think = ThinkFilter::default();
    let mut usage = None;
    let mut model = None;
    let mut finish: Option<String> = None;
    let mut alive = false;
    loop {
        let limit = if alive {
            deadline
        } else {
            first_deadline.min(deadline)
        };
        let item = match timeout_at(limit, stream.next()).await {
            Err(_) if alive => {
                return Err(CallError::Timeout(
                    "the whole-request deadline passed while the answer was streaming".into(),
                ))
            }
            Err(_) => {
                return Err(CallError::Timeout(
                    "no first token before the first-token timeout".into(),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(stream_error(e)),
            Ok(Some(Ok(chunk))) => chunk,
        };
        if let Some(err) = &item.error {
            return Err(CallError::Provider(format!(
                "error sent mid-stream: {}",
                err.describe()
            )));
        }
        if let Some(u) = item.usage() {
            usage = Some(u);
        }
        if model.is_none() {
            model = item.model.clone().filter(|m| !m.is_empty());
        }
        if let Some(choice) = item.first() {
            if let Some(delta) = &choice.delta {
                let reasoning = delta
                    .reasoning_content
                    .as_deref()
                    .is_some_and(|r| !r.is_empty());
                let content = delta.content.as_deref().unwrap_or("");
                alive |= reasoning || !content.is_empty();
                let visible = think.push(content);
                if !visible.is_empty() {
                    text.push_str(&visible);
                    if let Some(tx) = deltas {
                        *forwarded = true;
                        forward(tx, visible, deadline).await?;
                    }
                }
            }
            if let Some(f) = &choice.finish_reason {
                finish = Some(f.clone());
            }
        }
    }
    let rest = think.finish();
    if !rest.is_empty() {
        text.push_str(&rest);
        if let Some(tx) = deltas {
            *forwarded = true;
            forward(tx, rest, deadline).await?;
        }
    }
    let Some(finish) = finish else {
        return Err(CallError::Cut(format!(
            "the stream ended after {} characters without a finish_reason",
            text.chars().count()
        )));
    };
    if wire::is_filtered(&finish) {
        return Err(CallError::Empty(format!("finish_reason {finish}")));
    }
    if wire::is_provider_abort(&finish) {
        return Err(CallError::Cut(format!(
            "the provider stopped after {} characters: finish_reason {finish}",
            text.chars().count()
        )));
    }
    if text.trim().is_empty() {
        return Err(CallError::Empty(format!("no text, finish_reason {finish}")));
    }
    if finish == "length" {
        tracing::warn!("the answer was cut at max_tokens (finish_reason length)");
    }
    Ok(Streamed { text, usage, model })
}

/// Sends a delta. A listener that went away does not stop the generation (the caller still
/// gets the whole text); one that stops reading is waited for only until the deadline.
async fn forward(
    tx: &mpsc::Sender<String>,
    text: String,
    deadline: Instant,
) -> Result<(), CallError> {
    match timeout_at(deadline, tx.send(text)).await {
        Ok(_) => Ok(()),
        Err(_) => Err(CallError::Timeout(
            "the listener stopped taking deltas until the deadline passed".into(),
        )),
    }
}

fn stream_error(e: OpenAIError) -> CallError {
    match e {
        OpenAIError::JSONDeserialize(err, _content) => {
            // The content may hold the customer's words: keep only the parser's message.
            CallError::Malformed(format!("a stream chunk is not valid JSON: {err}"))
        }
        OpenAIError::StreamError(err) => CallError::Cut(format!("the connection broke: {err}")),
        OpenAIError::Reqwest(err) => CallError::Cut(format!("the connection broke: {err}")),
        other => CallError::Cut(other.to_string()),
    }
}

/// Drops a `<think>…</think>` block at the start of the answer (reasoning models served by
/// vLLM or Ollama put their reasoning into the content this way).
#[derive(Debug, Default)]
pub struct ThinkFilter {
    state: ThinkState,
    buf: String,
}

#[derive(Debug, Default, PartialEq)]
enum ThinkState {
    #[default]
    Start,
    Inside,
    Pass,
}

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

impl ThinkFilter {
    /// Feeds a piece of content; returns what may be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        match self.state {
            ThinkState::Pass => piece.to_string(),
            ThinkState::Start => {
                self.buf.push_str(piece);
                let head = self.buf.trim_start();
                if let Some(after) = head.strip_prefix(OPEN) {
                    let after = after.to_string();
                    self.buf.clear();
                    self.state = ThinkState::Inside;
                    self.push_inside(&after)
                } else if OPEN.starts_with(head) {
                    String::new() // could still become "<think>"
                } else {
                    self.state = ThinkState::Pass;
                    std::mem::take(&mut self.buf)
                }
            }
            ThinkState::Inside => self.push_inside(piece),
        }
    }

    fn push_inside(&mut self, piece: &str) -> String {
        self.buf.push_str(piece);
        match self.buf.find(CLOSE) {
            Some(i) => {
                let after = self.buf[i + CLOSE.len()..].trim_start().to_string();
                self.buf.clear();
                // What follows the block is the answer; it may start only in a later piece.
                self.state = if after.is_empty() {
                    ThinkState::Start
                } else {
                    ThinkState::Pass
                };
                after
            }
            None => String::new(),
        }
    }

    /// The end of the content: what is still held back and is not reasoning.
    pub fn finish(&mut self) -> String {
        match self.state {
            ThinkState::Start => std::mem::take(&mut self.buf),
            _ => String::new(),
        }
    }
}

/// [`ThinkFilter`] over a whole text.
pub fn strip_think(text: &str) -> String {
    let mut f = ThinkFilter::default();
    let mut out = f.push(text);
    out.push_str(&f.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> String {
        let mut f = ThinkFilter::default();
        let mut out: String = pieces.iter().map(|p| f.push(p)).collect();
        out.push_str(&f.finish());
        out
    }

    #[test]
    fn think_blocks_at_the_start_are_dropped_however_split() {
        assert_eq!(run(&["<think>想一想</think>\n\n亲，您好"]), "亲，您好");
        assert_eq!(
            run(&["<thi", "nk>想", "一想</th", "ink>", "亲，", "您好"]),
            "亲，您好"
        );
        assert_eq!(run(&["  <think>x</think>", "", "好的"]), "好的");
    }

    #[test]
    fn text_without_a_think_block_passes_unchanged() {
        assert_eq!(run(&["亲，", "<think> 不是开头"]), "亲，<think> 不是开头");
        assert_eq!(run(&["<", "b>粗体</b>"]), "<b>粗体</b>");
        assert_eq!(run(&["<"]), "<");
        assert_eq!(strip_think("好的"), "好的");
    }

    #[test]
    fn an_unclosed_think_block_yields_nothing() {
        assert_eq!(run(&["<think>还在想"]), "");
    }
}
