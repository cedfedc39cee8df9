//! The Platform's default layers on a failing port (a private Redis, killed after the build): the breaker
//! opens after 3 consecutive retryable failures, the retry retries retryable errors only (an invalid
//! message is an answer: neither retried nor counted), and the opt-outs turn both off.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/private_redis.rs"]
mod private_redis;

use avb::event_bus::{Message, Topic};
use avb::layers::defaults::PortLayers;
use avb::{Platform, Port, WorkspaceId};

fn is_breaker(e: &avb::event_bus::Error) -> bool {
    e.to_string().contains("refused by the circuit breaker")
}

/// A platform on a private Redis that is then killed, and a topic.
async fn failing(
    redis: &mut private_redis::PrivateRedis,
    builder: avb::PlatformBuilder,
) -> (Platform, Topic) {
    let url = redis.url();
    let platform = builder
        .uses(&[Port::EventBus])
        .from_pairs([("EVENT_BUS", "redis"), ("REDIS_URL", url.as_str())])
        .build()
        .await
        .unwrap();
    let topic = Topic::new(&WorkspaceId::new("layers").unwrap(), "t").unwrap();
    redis.kill();
    (platform, topic)
}

#[tokio::test]
async fn the_breaker_opens_after_3_failures_and_answers_are_not_failures() {
    let Some(mut redis) = private_redis::PrivateRedis::start() else {
        return;
    };
    // Retry off, so each call is one attempt the breaker counts.
    let no_retry = PortLayers {
        retry: None,
        ..PortLayers::default_for(Port::EventBus)
    };
    let (platform, topic) = failing(
        &mut redis,
        Platform::builder().layers(Port::EventBus, no_retry),
    )
    .await;
    let bus = platform.ports().event_bus().clone();
    let too_big = Message::new(vec![0u8; bus.capabilities().max_message_bytes + 1]);
    // Answers (a message the bus refuses before sending) are not failures: never refused, never counted.
    for _ in 0..5 {
        let e = bus.publish(&topic, too_big.clone()).await.unwrap_err();
        assert!(!e.is_retryable() && !is_breaker(&e), "{e}");
    }
    for n in 1..=3 {
        let e = bus.publish(&topic, Message::new("x")).await.unwrap_err();
        assert!(
            e.is_retryable() && !is_breaker(&e),
            "failure {n} reaches Redis: {e}"
        );
    }
    let e = bus.publish(&topic, Message::new("x")).await.unwrap_err();
    assert!(is_breaker(&e), "open after 3: {e}");
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn the_default_retry_makes_three_attempts_of_a_retryable_failure_only() {
    let Some(mut redis) = private_redis::PrivateRedis::start() else {
        return;
    };
    let (platform, topic) = failing(&mut redis, Platform::builder()).await;
    let bus = platform.ports().event_bus().clone();
    let too_big = Message::new(vec![0u8; bus.capabilities().max_message_bytes + 1]);
    // Not retryable: one attempt each, none counted (the breaker would open after 3 attempts).
    for _ in 0..4 {
        let e = bus.publish(&topic, too_big.clone()).await.unwrap_err();
        assert!(!e.is_retryable() && !is_breaker(&e), "{e}");
    }
    assert_eq!(retries(&platform), None, "an answer is never retried");
    // One call, retried: 3 attempts reach the dead Redis, so the breaker (fail_max 3) is open after it.
    let e = bus.publish(&topic, Message::new("x")).await.unwrap_err();
    assert!(!is_breaker(&e), "{e}");
    assert_eq!(retries(&platform), Some(2), "3 attempts are 2 retries");
    let e = bus.publish(&topic, Message::new("x")).await.unwrap_err();
    assert!(is_breaker(&e), "one retried call made 3 attempts: {e}");
    // The refusal is retryable (the backend may recover): retried within the budget like any other, each
    // retry refused by the open breaker without reaching Redis (docs/layers.md) — and counted.
    assert_eq!(
        retries(&platform),
        Some(4),
        "the refused call's 2 retries counted"
    );
}

/// `avb_layer_retries_total` of the event bus's publish, as `/metrics` shows it (`None`: no sample yet).
fn retries(platform: &Platform) -> Option<u64> {
    let text = platform.metrics().encode();
    text.lines()
        .find(|l| {
            l.starts_with("avb_layer_retries_total{")
                && l.contains(r#"port="event_bus""#)
                && l.contains(r#"backend="redis""#)
                && l.contains(r#"operation="publish""#)
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn without_default_layers_nothing_is_refused() {
    let Some(mut redis) = private_redis::PrivateRedis::start() else {
        return;
    };
    let (platform, topic) = failing(&mut redis, Platform::builder().without_default_layers()).await;
    let bus = platform.ports().event_bus().clone();
    for _ in 0..5 {
        let e = bus.publish(&topic, Message::new("x")).await.unwrap_err();
        assert!(e.is_retryable() && !is_breaker(&e), "{e}");
    }
}
