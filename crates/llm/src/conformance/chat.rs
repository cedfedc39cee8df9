//! Non-streamed chat: usage, finish reason, token limit, determinism, stop sequences, roles.

use super::{Harness, prompt};
use crate::{ChatRequest, FinishReason, Message};
use avb_conformance::{CaseResult, Checks};

/// A non-streamed answer reports prompt and completion tokens and why it ended; no time to first token.
pub async fn chat_usage_and_finish(h: &Harness, c: &mut Checks) -> CaseResult {
    let r = c.ok("chat", h.client.chat(prompt(8)).await)?;
    c.check(
        "prompt_tokens",
        r.usage.prompt_tokens > 0,
        format_args!("prompt tokens reported: {:?}", r.usage),
    );
    c.check(
        "completion_tokens",
        (1..=8).contains(&r.usage.completion_tokens),
        format_args!("completion tokens within 1..=8: {:?}", r.usage),
    );
    c.check(
        "finish_reason",
        matches!(
            r.finish_reason,
            Some(FinishReason::Stop | FinishReason::Length)
        ),
        format_args!("finish reason stop or length: {:?}", r.finish_reason),
    );
    c.check(
        "no_ttft",
        r.timing.time_to_first_token.is_none(),
        "a non-streamed call has no time to first token",
    );
    c.check("model", !r.model.is_empty(), "the answer names its model");
    Ok(())
}

/// `max_tokens` bounds the completion; an answer cut by it says `length`.
pub async fn chat_max_tokens(h: &Harness, c: &mut Checks) -> CaseResult {
    let r = c.ok("chat", h.client.chat(prompt(3)).await)?;
    c.check(
        "bounded",
        r.usage.completion_tokens <= 3,
        format_args!("at most 3 completion tokens: {:?}", r.usage),
    );
    if r.usage.completion_tokens == 3 {
        c.check_eq(
            "finish_length",
            r.finish_reason,
            Some(FinishReason::Length),
            "an answer cut at max_tokens",
        );
    }
    Ok(())
}

/// Temperature 0 with a seed: the same request twice gives the same answer.
pub async fn chat_deterministic(h: &Harness, c: &mut Checks) -> CaseResult {
    let a = c.ok("first", h.client.chat(prompt(12)).await)?;
    let b = c.ok("second", h.client.chat(prompt(12)).await)?;
    c.require(
        "not_empty",
        !a.content.is_empty(),
        "the answer is not empty",
    )?;
    c.check_eq("same_content", &b.content, &a.content, "the second answer");
    c.check_eq(
        "same_usage",
        b.usage.completion_tokens,
        a.usage.completion_tokens,
        "completion tokens",
    );
    Ok(())
}

/// A stop sequence taken from the free answer ends the answer before it: the result is a prefix of the free
/// answer, without the stop sequence, finished with `stop`.
pub async fn chat_stop_sequence(h: &Harness, c: &mut Checks) -> CaseResult {
    let free = c.ok("free", h.client.chat(prompt(24)).await)?;
    let Some(stop) = stop_word(&free.content) else {
        return Err(c.fail(
            "stop_word",
            format_args!("no word to stop at in {:?}", free.content),
        ));
    };
    let cut = c.ok(
        "stopped",
        h.client.chat(prompt(24).stop(stop.clone())).await,
    )?;
    c.check(
        "prefix",
        free.content.starts_with(&cut.content),
        format_args!("{:?} is a prefix of {:?}", cut.content, free.content),
    );
    c.check(
        "without_stop",
        !cut.content.contains(&stop),
        format_args!(
            "{:?} does not contain the stop sequence {stop:?}",
            cut.content
        ),
    );
    c.check(
        "shorter",
        cut.content.len() < free.content.len(),
        format_args!("{:?} is shorter than {:?}", cut.content, free.content),
    );
    c.check_eq(
        "finish_stop",
        cut.finish_reason,
        Some(FinishReason::Stop),
        "finish reason",
    );
    Ok(())
}

/// A word of `text` (2+ alphabetic characters) after its first two words whose first occurrence is there.
fn stop_word(text: &str) -> Option<String> {
    let mut at = 0;
    for (i, word) in text.split(' ').enumerate() {
        let w: String = word.chars().filter(|ch| ch.is_alphabetic()).collect();
        if i >= 2 && w.len() >= 2 && text.find(&w) == Some(at + word.find(&w).unwrap_or(0)) {
            return Some(w);
        }
        at += word.len() + 1;
    }
    None
}

/// System, user and assistant messages are accepted together; the answer reports more prompt tokens than
/// the user message alone.
pub async fn chat_roles(h: &Harness, c: &mut Checks) -> CaseResult {
    let alone = c.ok(
        "alone",
        h.client
            .chat(
                ChatRequest::user("Say hello.")
                    .temperature(0.0)
                    .max_tokens(4),
            )
            .await,
    )?;
    let request = ChatRequest::new([
        Message::system("You are terse."),
        Message::user("Hi."),
        Message::assistant("Hello."),
        Message::user("Say hello."),
    ])
    .temperature(0.0)
    .max_tokens(4);
    let r = c.ok("conversation", h.client.chat(request).await)?;
    c.check(
        "more_prompt_tokens",
        r.usage.prompt_tokens > alone.usage.prompt_tokens,
        format_args!(
            "a conversation counts more prompt tokens ({}) than its last message ({})",
            r.usage.prompt_tokens, alone.usage.prompt_tokens
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn stop_word_is_a_first_occurrence_after_two_words() {
        assert_eq!(super::stop_word("a b the c the"), Some("the".into()));
        assert_eq!(super::stop_word("the b the c"), None);
        assert_eq!(super::stop_word("one two, three."), Some("three".into()));
    }
}
