//! The EventBus conformance suite against the Kafka backend and the harness's real Apache Kafka broker
//! (`AVB_TEST_KAFKA_BOOTSTRAP` from `scripts/services env`; `AVB_TEST_REQUIRE_LIVE=1` makes a missing
//! broker a failure).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::conformance::{Expect, Harness, run_all};
use avb::event_bus::kafka::KafkaBus;
use avb::event_bus::{EventBus, Result, Settings};
use std::sync::Arc;
use std::time::Duration;

fn settings() -> Settings {
    Settings {
        ack_timeout: Duration::from_secs(1),
        max_attempts: 3,
        ..Settings::default()
    }
}

struct Kafka {
    bootstrap: String,
}

#[async_trait::async_trait]
impl Harness for Kafka {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            KafkaBus::builder()
                .with_bootstrap_servers([&self.bootstrap])
                .with_settings(settings())
                .build()?,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_passes_every_conformance_case() {
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    // Declared in KafkaBus::capabilities: everything, per-key order included.
    run_all(&Kafka { bootstrap })
        .await
        .assert_exact(&Expect::all());
}
