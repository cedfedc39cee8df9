//! A small server-sent-events reader for tests: opens a stream with reqwest and yields its events.
//! A stream that sends nothing fails the test after [`QUIET_LIMIT`] (a hang guard, not a timed assertion).

use std::time::Duration;

/// How long a test waits for the next event before it fails.
pub const QUIET_LIMIT: Duration = Duration::from_secs(60);

/// One event: its `event:` name and its `data:` lines joined with `\n`.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// An open event stream.
pub struct Sse {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// Comment lines seen (keep-alives).
    #[allow(dead_code)]
    pub comments: usize,
}

impl Sse {
    /// Opens `url`; panics unless it answers 200 with `text/event-stream`.
    pub async fn open(url: &str) -> Sse {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|e| panic!("building the SSE client: {e}"));
        let response = client
            .get(url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(response.status().as_u16(), 200, "GET {url}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "GET {url}: content-type {content_type:?}"
        );
        Sse {
            response,
            buffer: Vec::new(),
            comments: 0,
        }
    }

    /// The next event (comments are counted and skipped); panics when the stream ends or stays quiet.
    pub async fn next(&mut self) -> SseEvent {
        self.next_or_comment(false)
            .await
            .unwrap_or_else(|| unreachable!("only a comment returns None"))
    }

    /// Reads until the next comment line (a keep-alive); the events read meanwhile.
    #[allow(dead_code)] // used by the keep-alive test only
    pub async fn until_comment(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(e) = self.next_or_comment(true).await {
            events.push(e);
        }
        events
    }

    /// The next event, or `None` at a comment when `stop_at_comment`.
    async fn next_or_comment(&mut self, stop_at_comment: bool) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let bytes: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(bytes)
                    .unwrap_or_else(|e| panic!("an event that is not UTF-8: {e}"));
                let mut event = SseEvent {
                    event: "message".into(),
                    data: String::new(),
                };
                let mut data = Vec::new();
                let mut comment_only = true;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim_start().to_string();
                        comment_only = false;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                        comment_only = false;
                    }
                }
                if comment_only {
                    if stop_at_comment {
                        return None;
                    }
                    continue;
                }
                event.data = data.join("\n");
                return Some(event);
            }
            let chunk = tokio::time::timeout(QUIET_LIMIT, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no server-sent event within {QUIET_LIMIT:?}"))
                .unwrap_or_else(|e| panic!("reading the event stream: {e}"))
                .unwrap_or_else(|| panic!("the event stream ended"));
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// The next `state` event's data as JSON.
    #[allow(dead_code)] // not every test that reads events reads the console's state
    pub async fn next_state(&mut self) -> serde_json::Value {
        loop {
            let e = self.next().await;
            if e.event == "state" {
                return serde_json::from_str(&e.data)
                    .unwrap_or_else(|err| panic!("state event is not JSON ({err}): {}", e.data));
            }
        }
    }
}
