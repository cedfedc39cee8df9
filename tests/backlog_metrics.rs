//! `GET /metrics` shows consumer lag and dead-letter depth moving (read through `EventBus::backlog` at
//! scrape time) on the sandbox's memory bus and on live Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/http.rs"]
mod http;

use avb::Platform;
use avb::event_bus::{Message, StartPosition, Topic};
use std::sync::Arc;

async fn serve(platform: Arc<Platform>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, avb::http::router(platform))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

async fn scrape(base: &str) -> String {
    let r = http::client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

fn has(text: &str, line: &str) {
    assert!(text.contains(line), "missing {line:?} in:\n{text}");
}

/// Publish 3, scrape (lag 3); take one and ack it (lag 2); take one and nack it until it is dead-lettered
/// (lag 1, dead-letter depth 1).
async fn lag_moves(pairs: Vec<(&str, String)>, backend: &str) {
    let platform = Arc::new(
        Platform::builder()
            .uses(&[avb::Port::EventBus])
            .from_pairs(pairs)
            .build()
            .await
            .unwrap(),
    );
    let base = serve(platform.clone()).await;
    let bus = platform.ports().event_bus().clone();
    let name = format!("lag-{}", uuid::Uuid::new_v4().simple());
    let topic = Topic::new(&avb::WorkspaceId::new("acme").unwrap(), &name).unwrap();
    let mut sub = bus
        .subscribe(&topic, "billing", StartPosition::Earliest)
        .await
        .unwrap();
    let lag = |n: u64| {
        format!(
            r#"avb_event_bus_consumer_lag{{backend="{backend}",topic="{name}",group="billing"}} {n}"#
        )
    };
    let depth = |n: u64| {
        format!(r#"avb_event_bus_dead_letter_depth{{backend="{backend}",topic="{name}"}} {n}"#)
    };
    has(&scrape(&base).await, &lag(0));
    for i in 0..3u8 {
        bus.publish(&topic, Message::new(vec![i])).await.unwrap();
    }
    let text = scrape(&base).await;
    has(&text, &lag(3));
    has(&text, &depth(0));
    sub.next().await.unwrap().unwrap().ack().await.unwrap();
    has(&scrape(&base).await, &lag(2));
    let max = MAX_ATTEMPTS;
    loop {
        let d = sub.next().await.unwrap().unwrap();
        let last = d.attempt() >= max;
        d.nack(std::time::Duration::ZERO, "poison").await.unwrap();
        if last {
            break;
        }
    }
    let text = scrape(&base).await;
    has(&text, &lag(1));
    has(&text, &depth(1));
    drop(sub);
}

/// `EVENT_BUS_MAX_ATTEMPTS` of every platform here.
const MAX_ATTEMPTS: u32 = 2;

fn settings(mut pairs: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    pairs.push(("EVENT_BUS_MAX_ATTEMPTS", MAX_ATTEMPTS.to_string()));
    pairs.push(("EVENT_BUS_RETRY_MIN_MS", "10".into()));
    pairs.push(("EVENT_BUS_RETRY_MAX_MS", "50".into()));
    pairs
}

#[tokio::test]
async fn metrics_show_lag_and_dead_letters_moving_on_memory() {
    lag_moves(settings(vec![("EVENT_BUS", "memory".into())]), "memory").await;
}

#[tokio::test]
async fn metrics_show_lag_and_dead_letters_moving_on_redis() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    lag_moves(
        settings(vec![("EVENT_BUS", "redis".into()), ("REDIS_URL", url)]),
        "redis",
    )
    .await;
}
