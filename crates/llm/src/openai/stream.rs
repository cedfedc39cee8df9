//! A streamed response body → [`Event`]s: SSE parsed as it arrives, each `data:` a JSON chunk, `[DONE]`
//! the end, an error object mid-stream a typed error, a body that is not SSE or ends without `[DONE]` an
//! error. Nothing here buffers more than one event.

use super::sse::SseParser;
use super::wire::{Chunk, Origin, error_for, shorten};
use crate::{Error, Event, EventStream, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::collections::VecDeque;
use std::pin::Pin;

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

struct State {
    body: Body,
    parser: SseParser,
    pending: VecDeque<Result<Event>>,
    done: bool,
    backend: &'static str,
    endpoint: String,
    model: String,
}

impl State {
    fn origin(&self) -> Origin<'_> {
        Origin {
            backend: self.backend,
            endpoint: &self.endpoint,
            model: &self.model,
        }
    }

    fn malformed(&self, detail: String) -> Error {
        Error::MalformedResponse {
            backend: self.backend,
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    /// One event's `data`: `[DONE]`, a chunk, or an error object.
    fn data(&mut self, data: &str) {
        if self.done {
            return;
        }
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return;
        }
        let value: serde_json::Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => {
                let err = self.malformed(format!(
                    "a stream event is not JSON ({e}): {}",
                    shorten(data)
                ));
                self.fail(err);
                return;
            }
        };
        if value.get("error").is_some() {
            let err = error_for(self.origin(), 0, data, None);
            self.fail(err);
            return;
        }
        match serde_json::from_value::<Chunk>(value) {
            Ok(chunk) => self.pending.extend(chunk.events().into_iter().map(Ok)),
            Err(e) => {
                let err = self.malformed(format!(
                    "a stream chunk has the wrong shape ({e}): {}",
                    shorten(data)
                ));
                self.fail(err);
            }
        }
    }

    fn fail(&mut self, err: Error) {
        self.pending.push_back(Err(err));
        self.done = true;
    }
}

/// The events of a `text/event-stream` body.
pub fn events(
    response: reqwest::Response,
    backend: &'static str,
    endpoint: String,
    model: String,
) -> EventStream {
    let state = State {
        body: Box::pin(response.bytes_stream()),
        parser: SseParser::new(),
        pending: VecDeque::new(),
        done: false,
        backend,
        endpoint,
        model,
    };
    Box::pin(futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        loop {
            if let Some(item) = s.pending.pop_front() {
                let last = item.is_err();
                return Some((item, (!last).then_some(s)));
            }
            if s.done {
                // `[DONE]` seen (or a failure handed out): the body is dropped here, unread remainder and all.
                return None;
            }
            match s.body.next().await {
                Some(Ok(bytes)) => match s.parser.feed(&bytes) {
                    Ok(datas) => datas.iter().for_each(|d| s.data(d)),
                    Err(_) => {
                        let err = s.malformed(format!(
                            "a stream line is longer than {} bytes",
                            super::sse::MAX_LINE
                        ));
                        s.fail(err);
                    }
                },
                Some(Err(e)) => {
                    let err = Error::Unavailable {
                        backend: s.backend,
                        endpoint: s.endpoint.clone(),
                        detail: format!("the stream broke: {}", super::describe(&e)),
                    };
                    s.fail(err);
                }
                None => {
                    if let Some(d) = s.parser.finish() {
                        s.data(&d);
                    }
                    if !s.done {
                        let err = if s.parser.seen_field {
                            Error::Unavailable {
                                backend: s.backend,
                                endpoint: s.endpoint.clone(),
                                detail: "the stream ended before [DONE]".into(),
                            }
                        } else {
                            s.malformed("the answer is not a server-sent event stream".into())
                        };
                        s.fail(err);
                    }
                }
            }
        }
    }))
}
