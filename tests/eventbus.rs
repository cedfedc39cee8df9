//! The EventBus conformance suite against every backend compiled in: memory always, Redis against the
//! harness server (`AVB_TEST_REDIS_URL` from `scripts/services env`).

#![allow(dead_code, unused_imports)] // with neither backend feature, nothing runs

use avb::eventbus::conformance::{CASES, Harness, run_all};
use avb::eventbus::{EventBus, Result, Settings};
use std::sync::Arc;
use std::time::Duration;

fn settings() -> Settings {
    Settings {
        ack_timeout: Duration::from_secs(1),
        max_attempts: 3,
        ..Settings::default()
    }
}

#[cfg(feature = "eventbus-memory")]
struct Memory;

#[cfg(feature = "eventbus-memory")]
#[async_trait::async_trait]
impl Harness for Memory {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            avb::eventbus::memory::MemoryBus::builder()
                .with_settings(settings())
                .build()?,
        ))
    }
}

#[cfg(feature = "eventbus-memory")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_every_conformance_case() {
    let report = run_all(&Memory).await;
    assert_eq!(report.skipped, Vec::<String>::new());
    assert_eq!(report.passed.len(), CASES.len());
}

#[cfg(feature = "eventbus-redis")]
mod redis {
    use super::*;
    use avb::eventbus::redis::RedisBus;

    struct Redis {
        url: String,
    }

    #[async_trait::async_trait]
    impl Harness for Redis {
        fn settings(&self) -> Settings {
            settings()
        }
        async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
            Ok(Arc::new(
                RedisBus::builder()
                    .with_url(&self.url)
                    .with_settings(settings())
                    .with_claim_interval(Duration::from_millis(50))
                    .build()?,
            ))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_passes_every_conformance_case_its_capabilities_allow() {
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let report = run_all(&Redis { url }).await;
        // Declared in RedisBus::capabilities: consumer groups do not keep per-key order.
        assert_eq!(report.skipped, vec!["per_key_order: ordering_per_key"]);
        assert_eq!(report.passed.len(), CASES.len() - 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_foreign_stream_entry_goes_to_the_dead_letter_stream_not_to_consumers() {
        use avb::eventbus::redis::stream_key;
        use avb::eventbus::{HEADER_LAST_ERROR, Message, StartPosition, Topic, WorkspaceId};
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder().with_url(&url).build().unwrap();
        let topic = Topic::new(
            &WorkspaceId::new("tests").unwrap(),
            format!("foreign-{}", uuid::Uuid::new_v4().simple()),
        )
        .unwrap();
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let mut raw = ::redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        ::redis::cmd("XADD")
            .arg(stream_key(&topic))
            .arg("*")
            .arg("foo")
            .arg("bar")
            .query_async::<String>(&mut raw)
            .await
            .unwrap();
        let good = Message::new(&b"good"[..]);
        bus.publish(&topic, good.clone()).await.unwrap();
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!(
            d.message().id,
            good.id,
            "the foreign entry is not delivered"
        );
        d.ack().await.unwrap();
        let dead: ::redis::streams::StreamRangeReply = ::redis::cmd("XRANGE")
            .arg(stream_key(&topic.dead_letter()))
            .arg("-")
            .arg("+")
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(dead.ids.len(), 1);
        let fields = &dead.ids[0].map;
        assert!(fields.contains_key("foo"), "the original fields are kept");
        let reason: String =
            ::redis::from_redis_value(fields[&format!("h:{HEADER_LAST_ERROR}")].clone()).unwrap();
        assert!(reason.contains("not an avb message"), "{reason}");
    }

    #[tokio::test]
    async fn a_bad_url_is_a_config_error_naming_the_setting() {
        let err = RedisBus::builder()
            .with_url("http://user:secret@host")
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("url="), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let err = RedisBus::builder()
            .with_url("redis://127.0.0.1:1")
            .with_config("read_count", "0")
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "read_count=\"0\" is invalid: expected an integer >= 1"
        );
    }
}
