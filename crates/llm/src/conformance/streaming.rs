//! Streamed chat: one delta per piece, the summary's usage from the final chunk, time to first token,
//! equality with the non-streamed answer, cached tokens, and a dropped stream.

use super::{Harness, prompt};
use crate::{ChatStream, Delta, FinishReason};
use avb_conformance::{Abort, CaseResult, Checks};
use futures::StreamExt;

async fn drain(c: &mut Checks, mut stream: ChatStream) -> Result<(Vec<Delta>, ChatStream), Abort> {
    let mut deltas = Vec::new();
    while let Some(d) = stream.next().await {
        deltas.push(c.ok("delta", d)?);
    }
    Ok((deltas, stream))
}

/// Deltas are handed out one per piece (at least two for an 8-token answer, never more than the tokens
/// counted), numbered 0, 1, 2, … and never empty; the summary has the final chunk's usage (not zero), the
/// finish reason and a time to first token within the total.
pub async fn stream_deltas_and_summary(h: &Harness, c: &mut Checks) -> CaseResult {
    let stream = c.ok("stream", h.client.chat_stream(prompt(8)).await)?;
    let (deltas, stream) = drain(c, stream).await?;
    c.check(
        "several_deltas",
        deltas.len() >= 2,
        format_args!(
            "an 8-token answer streams in several deltas, got {}",
            deltas.len()
        ),
    );
    let numbered = deltas
        .iter()
        .enumerate()
        .all(|(i, d)| d.index as usize == i);
    c.check("numbered", numbered, "deltas are numbered 0, 1, 2, …");
    c.check(
        "not_empty",
        deltas.iter().all(|d| !d.content.is_empty()),
        "no empty delta is handed out",
    );
    let Some(summary) = stream.summary() else {
        return Err(c.fail("summary", "a finished stream has a summary"));
    };
    c.check_eq(
        "summary_deltas",
        summary.deltas as usize,
        deltas.len(),
        "delta count",
    );
    c.check(
        "usage_prompt",
        summary.usage.prompt_tokens > 0,
        format_args!("a streamed call reports prompt tokens: {:?}", summary.usage),
    );
    c.check(
        "usage_completion",
        summary.usage.completion_tokens as usize >= deltas.len()
            && summary.usage.completion_tokens <= 8,
        format_args!(
            "completion tokens ({}) between the deltas ({}) and max_tokens (8)",
            summary.usage.completion_tokens,
            deltas.len()
        ),
    );
    c.check(
        "finish_reason",
        matches!(
            summary.finish_reason,
            Some(FinishReason::Stop | FinishReason::Length)
        ),
        format_args!("finish reason: {:?}", summary.finish_reason),
    );
    match summary.timing.time_to_first_token {
        Some(ttft) => c.check(
            "ttft_within_total",
            ttft <= summary.timing.total,
            format_args!(
                "time to first token {ttft:?} <= total {:?}",
                summary.timing.total
            ),
        ),
        None => c.check(
            "ttft",
            false,
            "a stream with deltas has a time to first token",
        ),
    };
    Ok(())
}

/// At temperature 0, the streamed answer is the non-streamed one, with the same completion tokens.
pub async fn stream_equals_chat(h: &Harness, c: &mut Checks) -> CaseResult {
    let whole = c.ok("chat", h.client.chat(prompt(12)).await)?;
    let stream = c.ok("stream", h.client.chat_stream(prompt(12)).await)?;
    let (deltas, stream) = drain(c, stream).await?;
    let text: String = deltas.iter().map(|d| d.content.as_str()).collect();
    c.check_eq("same_text", &text, &whole.content, "the streamed text");
    let usage = stream.summary().map(|s| s.usage.completion_tokens);
    c.check_eq(
        "same_completion_tokens",
        usage,
        Some(whole.usage.completion_tokens),
        "completion tokens",
    );
    Ok(())
}

/// A streamed call's usage says how many prompt tokens came from the cache.
pub async fn stream_cached_tokens(h: &Harness, c: &mut Checks) -> CaseResult {
    for label in ["first", "second"] {
        let stream = c.ok(label, h.client.chat_stream(prompt(4)).await)?;
        let r = c.ok(label, stream.collect_response().await)?;
        c.check(
            "cached_reported",
            r.usage.cached_tokens.is_some(),
            format_args!("{label} call reports cached tokens: {:?}", r.usage),
        );
    }
    Ok(())
}

/// A stream dropped after its first delta cancels its request; the client's next call answers normally.
pub async fn stream_dropped_then_next_call(h: &Harness, c: &mut Checks) -> CaseResult {
    let mut stream = c.ok("stream", h.client.chat_stream(prompt(64)).await)?;
    let first = stream.next().await;
    c.require(
        "first_delta",
        matches!(first, Some(Ok(_))),
        format_args!("a first delta before the drop: {first:?}"),
    )?;
    drop(stream);
    let r = c.ok("next_call", h.client.chat(prompt(2)).await)?;
    c.check(
        "next_call_answers",
        r.usage.completion_tokens >= 1,
        format_args!("the call after the drop answers: {:?}", r.usage),
    );
    Ok(())
}
