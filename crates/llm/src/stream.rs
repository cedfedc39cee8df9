//! [`ChatStream`]: a streamed answer, one [`Delta`] per piece the backend received, never merged. It
//! measures time to first token, keeps the usage of the provider's final chunk, and enforces the total
//! timeout. Dropping it drops the backend's body: the HTTP request is cancelled and its connection closed.

use crate::error::TimeoutPhase;
use crate::{ChatResponse, Delta, Error, FinishReason, Result, StreamSummary, Timing, Usage};
use futures::{Stream, StreamExt};
use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What a backend's raw stream yields; [`ChatStream`] turns it into deltas and a summary.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Text, as received (empty text is dropped, not handed out).
    Delta(String),
    /// Token counts (the provider's final chunk).
    Usage(Usage),
    /// Why generation ended.
    Finish(FinishReason),
    /// The model that answers.
    Model(String),
}

/// A backend's raw stream of events.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event>> + Send>>;

/// A streamed chat answer: a [`Stream`] of [`Delta`]s, then [`ChatStream::summary`].
///
/// An error ends the stream (it yields no item after one). A backend retries only before the stream is
/// handed out (before the first token); an error after the first delta is the caller's to see.
#[must_use = "a stream does nothing unless polled; dropping it cancels the request"]
pub struct ChatStream {
    inner: EventStream,
    buffered: VecDeque<Event>,
    started: Instant,
    first_token: Option<Duration>,
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    backend: &'static str,
    endpoint: String,
    model: Option<String>,
    finish: Option<FinishReason>,
    usage: Usage,
    deltas: u32,
    done: Option<Duration>,
    failed: bool,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("backend", &self.backend)
            .field("deltas", &self.deltas)
            .field("done", &self.done.is_some())
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// A stream over `inner`, for a call started at `started`. `buffered` are events the backend already
    /// read (it reads up to the first token before handing the stream out, so that it may retry until
    /// then); `first_token_at` is when that first token arrived. `total` is the whole call's limit.
    pub fn new(
        backend: &'static str,
        endpoint: impl Into<String>,
        started: Instant,
        buffered: Vec<Event>,
        first_token_at: Option<Instant>,
        inner: EventStream,
        total: Option<Duration>,
    ) -> Self {
        let deadline = total.map(|t| (Box::pin(tokio::time::sleep_until((started + t).into())), t));
        Self {
            inner,
            buffered: buffered.into(),
            started,
            first_token: first_token_at.map(|t| t.duration_since(started)),
            deadline,
            backend,
            endpoint: endpoint.into(),
            model: None,
            finish: None,
            usage: Usage::default(),
            deltas: 0,
            done: None,
            failed: false,
        }
    }

    /// After the stream ended without error: the model, finish reason, usage, delta count and timing.
    /// `None` while the stream is still running (or after it failed).
    pub fn summary(&self) -> Option<StreamSummary> {
        if self.failed {
            return None;
        }
        let total = self.done?;
        Some(StreamSummary {
            model: self.model.clone(),
            finish_reason: self.finish.clone(),
            usage: self.usage,
            deltas: self.deltas,
            timing: Timing {
                time_to_first_token: self.first_token,
                total,
            },
        })
    }

    /// Reads the stream to its end and joins the deltas into one [`ChatResponse`].
    pub async fn collect_response(mut self) -> Result<ChatResponse> {
        let mut content = String::new();
        while let Some(delta) = self.next().await {
            content.push_str(&delta?.content);
        }
        let summary = self.summary().ok_or_else(|| Error::MalformedResponse {
            backend: self.backend,
            endpoint: self.endpoint.clone(),
            detail: "the stream ended without a summary".into(),
        })?;
        Ok(ChatResponse {
            content,
            model: summary.model.unwrap_or_default(),
            finish_reason: summary.finish_reason,
            usage: summary.usage,
            timing: summary.timing,
        })
    }

    /// Applies one non-delta event; returns the delta's text for a delta.
    fn take(&mut self, event: Event) -> Option<String> {
        match event {
            Event::Delta(text) if text.is_empty() => None,
            Event::Delta(text) => Some(text),
            Event::Usage(u) => {
                self.usage = u;
                None
            }
            Event::Finish(f) => {
                self.finish = Some(f);
                None
            }
            Event::Model(m) => {
                self.model = Some(m);
                None
            }
        }
    }

    fn hand_out(&mut self, content: String) -> Delta {
        if self.first_token.is_none() {
            self.first_token = Some(self.started.elapsed());
        }
        let index = self.deltas;
        self.deltas += 1;
        Delta { index, content }
    }

    /// Ended by an error: drops the backend's body now (closing its connection), no summary, no more items.
    fn fail(&mut self) {
        self.failed = true;
        self.deadline = None;
        self.buffered.clear();
        self.inner = Box::pin(futures::stream::empty());
    }

    fn end(&mut self) {
        self.done = Some(self.started.elapsed());
        self.deadline = None;
    }
}

impl Stream for ChatStream {
    type Item = Result<Delta>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done.is_some() || this.failed {
            return Poll::Ready(None);
        }
        while let Some(event) = this.buffered.pop_front() {
            if let Some(text) = this.take(event) {
                return Poll::Ready(Some(Ok(this.hand_out(text))));
            }
        }
        loop {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(event))) => {
                    if let Some(text) = this.take(event) {
                        return Poll::Ready(Some(Ok(this.hand_out(text))));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.fail();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.end();
                    return Poll::Ready(None);
                }
                Poll::Pending => break,
            }
        }
        if let Some((sleep, after)) = this.deadline.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            let after = *after;
            this.fail();
            return Poll::Ready(Some(Err(Error::Timeout {
                backend: this.backend,
                endpoint: this.endpoint.clone(),
                phase: TimeoutPhase::Total,
                after,
            })));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(items: Vec<Result<Event>>) -> EventStream {
        Box::pin(futures::stream::iter(items))
    }

    #[tokio::test]
    async fn deltas_are_handed_out_one_by_one_with_usage_and_ttft() {
        let inner = events(vec![
            Ok(Event::Model("m".into())),
            Ok(Event::Delta("b".into())),
            Ok(Event::Delta(String::new())),
            Ok(Event::Delta("c".into())),
            Ok(Event::Finish(FinishReason::Stop)),
            Ok(Event::Usage(Usage {
                prompt_tokens: 3,
                completion_tokens: 3,
                cached_tokens: Some(1),
            })),
        ]);
        let now = Instant::now();
        let mut s = ChatStream::new(
            "t",
            "e",
            now,
            vec![Event::Delta("a".into())],
            Some(now),
            inner,
            None,
        );
        let mut got = Vec::new();
        while let Some(d) = s.next().await {
            got.push(d.unwrap());
        }
        let texts: Vec<_> = got.iter().map(|d| (d.index, d.content.as_str())).collect();
        assert_eq!(texts, [(0, "a"), (1, "b"), (2, "c")]);
        let summary = s.summary().unwrap();
        assert_eq!(summary.usage.completion_tokens, 3);
        assert_eq!(summary.usage.cached_tokens, Some(1));
        assert_eq!(summary.deltas, 3);
        assert_eq!(summary.model.as_deref(), Some("m"));
        assert_eq!(summary.timing.time_to_first_token, Some(Duration::ZERO));
        assert!(summary.timing.total >= Duration::ZERO);
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_without_a_summary() {
        let inner = events(vec![
            Ok(Event::Delta("a".into())),
            Err(Error::invalid("boom")),
            Ok(Event::Delta("never".into())),
        ]);
        let mut s = ChatStream::new("t", "e", Instant::now(), vec![], None, inner, None);
        assert_eq!(s.next().await.unwrap().unwrap().content, "a");
        assert!(s.next().await.unwrap().is_err());
        assert!(s.next().await.is_none());
        assert!(s.summary().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_total_timeout_ends_a_stalled_stream() {
        let inner: EventStream = Box::pin(futures::stream::pending());
        let mut s = ChatStream::new(
            "t",
            "e",
            Instant::now(),
            vec![],
            None,
            inner,
            Some(Duration::from_millis(50)),
        );
        let err = s.next().await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    phase: TimeoutPhase::Total,
                    ..
                }
            ),
            "{err}"
        );
        assert!(s.next().await.is_none());
    }
}
