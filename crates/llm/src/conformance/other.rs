//! Embeddings, the model list, typed errors and health.

use super::Harness;
use crate::{ChatRequest, Classify, Error, ErrorClass};
use avb_conformance::{CaseResult, Checks};

/// One vector per input, in order, all of one dimension, finite and not all zero; the same text gives the
/// same vector, another text another.
pub async fn embeddings_shape(h: &Harness, c: &mut Checks) -> CaseResult {
    let inputs = [
        "a lighthouse on the coast",
        "tax law of 1892",
        "a lighthouse on the coast",
    ]
    .map(String::from);
    let e = c.ok("embed", h.client.embed(&inputs, None).await)?;
    c.require_eq("count", e.vectors.len(), 3, "vectors for 3 inputs")?;
    let dim = e.vectors[0].len();
    c.check("dimension", dim > 0, "vectors have a dimension");
    c.check(
        "same_dimension",
        e.vectors.iter().all(|v| v.len() == dim),
        "every vector has the same dimension",
    );
    c.check(
        "finite_not_zero",
        e.vectors
            .iter()
            .all(|v| v.iter().all(|x| x.is_finite()) && v.iter().any(|x| *x != 0.0)),
        "components are finite and not all zero",
    );
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4);
    c.check(
        "same_text_same_vector",
        close(&e.vectors[0], &e.vectors[2]),
        "equal texts, equal vectors",
    );
    c.check(
        "other_text_other_vector",
        !close(&e.vectors[0], &e.vectors[1]),
        "different texts, different vectors",
    );
    let empty = h.client.embed(&[], None).await;
    c.check(
        "empty_input_invalid",
        matches!(empty, Err(Error::InvalidArgument { .. })),
        format_args!("no input is an invalid argument: {empty:?}"),
    );
    Ok(())
}

/// The model list names the client's model.
pub async fn list_models_has_model(h: &Harness, c: &mut Checks) -> CaseResult {
    let models = c.ok("list", h.client.list_models().await)?;
    let want = h.client.model();
    c.check(
        "has_model",
        models.iter().any(|m| m.id == want),
        format_args!(
            "{want:?} is listed in {:?}",
            models.iter().map(|m| &m.id).collect::<Vec<_>>()
        ),
    );
    Ok(())
}

/// A model the server does not have is a `NotFound` ([`Error::ModelNotFound`]), streamed or not.
pub async fn unknown_model_not_found(h: &Harness, c: &mut Checks) -> CaseResult {
    let request = ChatRequest::user("hi")
        .max_tokens(2)
        .model("avb-no-such-model");
    let r = h.client.chat(request.clone()).await;
    c.check(
        "chat",
        matches!(&r, Err(Error::ModelNotFound { model, .. }) if model == "avb-no-such-model"),
        format_args!("chat with an unknown model: {r:?}"),
    );
    let s = h.client.chat_stream(request).await;
    c.check(
        "stream",
        matches!(&s, Err(e) if e.class() == ErrorClass::NotFound),
        format_args!("stream with an unknown model: {:?}", s.as_ref().err()),
    );
    Ok(())
}

/// A prompt far beyond any small model's context is [`Error::ContextTooLong`], not retryable.
pub async fn context_too_long(h: &Harness, c: &mut Checks) -> CaseResult {
    let long = "lighthouse ".repeat(40_000);
    let r = h.client.chat(ChatRequest::user(long).max_tokens(2)).await;
    c.check(
        "typed",
        matches!(&r, Err(Error::ContextTooLong { .. })),
        format_args!("a 40,000-word prompt: {:?}", r.as_ref().map(|a| &a.usage)),
    );
    c.check(
        "not_retryable",
        r.as_ref().is_err_and(|e| !e.is_retryable()),
        "retrying does not help",
    );
    Ok(())
}

/// Requests every backend refuses before sending: no message, a negative temperature, zero max tokens.
pub async fn invalid_request(h: &Harness, c: &mut Checks) -> CaseResult {
    let bad = [
        ("no_messages", ChatRequest::new([])),
        (
            "negative_temperature",
            ChatRequest::user("x").temperature(-1.0),
        ),
        ("zero_max_tokens", ChatRequest::user("x").max_tokens(0)),
    ];
    for (label, request) in bad {
        let r = h.client.chat(request.clone()).await;
        c.check(
            label,
            matches!(r, Err(Error::InvalidArgument { .. })),
            format_args!("chat: {r:?}"),
        );
        let s = h.client.chat_stream(request).await;
        c.check(
            label,
            matches!(s, Err(Error::InvalidArgument { .. })),
            format_args!("stream: {:?}", s.err()),
        );
    }
    Ok(())
}

/// The backend is up.
pub async fn health_up(h: &Harness, c: &mut Checks) -> CaseResult {
    let health = h.client.health().await;
    c.check("up", health.is_up(), format_args!("health: {health:?}"));
    Ok(())
}
