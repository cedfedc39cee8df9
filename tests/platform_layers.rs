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

/// An OpenMetadata server that answers every request `503` (retryable) and counts them.
async fn unavailable_catalog_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let requests = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    (url, requests)
}

/// A backend that retries by itself is not retried again by the layers (no retry amplification): the
/// OpenMetadata client retries a retryable answer 3 times, so one catalog call through the Platform's
/// default layers reaches a server that always answers 503 exactly 4 times — not 4 × the layer's 3
/// attempts — and counts as one failure for the breaker.
#[tokio::test]
async fn a_catalog_call_is_retried_by_the_client_only() {
    use avb::catalog::Classify;
    use std::sync::atomic::Ordering;
    let (url, requests) = unavailable_catalog_server().await;
    let platform = Platform::builder()
        .uses(&[Port::Catalog])
        .from_pairs([
            ("DATA_CATALOG", "openmetadata"),
            ("OPENMETADATA_URL", url.as_str()),
            ("OPENMETADATA_TOKEN", "t0ken"),
        ])
        .build()
        .await
        .unwrap();
    let catalog = platform.ports().catalog().clone();
    let before = requests.load(Ordering::SeqCst);
    let e = catalog.list_methods(None).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(
        requests.load(Ordering::SeqCst) - before,
        4,
        "one call: the client's 1 + 3 attempts, and no second round from the layers ({e})"
    );
}
