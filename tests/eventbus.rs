//! The EventBus conformance suite against every backend compiled in: memory always, Redis against the
//! harness server (`AVB_TEST_REDIS_URL` from `scripts/services env`).

use avb::eventbus::conformance::{CASES, Harness, run_all};
use avb::eventbus::memory::MemoryBus;
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

struct Memory;

#[async_trait::async_trait]
impl Harness for Memory {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            MemoryBus::builder().with_settings(settings()).build()?,
        ))
    }
}

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
