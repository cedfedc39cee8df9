//! The EventBus conformance suite against the Pulsar backend and the harness's real Apache Pulsar
//! standalone (`AVB_TEST_PULSAR_URL`, `AVB_TEST_PULSAR_ADMIN_URL` from `scripts/services env`;
//! `AVB_TEST_REQUIRE_LIVE=1` makes a missing broker a failure).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::conformance::{Expect, Harness, run_all};
use avb::event_bus::pulsar::PulsarBus;
use avb::event_bus::{EventBus, Result, Settings};
use std::sync::Arc;
use std::time::Duration;

fn settings() -> Settings {
    Settings {
        // 2 s, not Kafka's 1 s: a subscribe is two topic lookups and two consumers (the topic and the
        // group's retry topic), and dropped_consumer_redelivery measures its prompt redelivery against it.
        ack_timeout: Duration::from_secs(2),
        max_attempts: 3,
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        drain_timeout: Duration::from_secs(1),
        ..Settings::default()
    }
}

/// The tenant the tests' workspaces live under (created by the bus on first use).
const TENANT: &str = "avb-test";

struct Pulsar {
    url: String,
    admin: String,
}

fn live() -> Option<Pulsar> {
    let url = avb::testing::live_server("AVB_TEST_PULSAR_URL")?;
    let admin = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL")?;
    Some(Pulsar { url, admin })
}

#[async_trait::async_trait]
impl Harness for Pulsar {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            PulsarBus::builder()
                .with_url(&self.url)
                .with_admin_url(&self.admin)
                .with_tenant(TENANT)
                .with_settings(settings())
                .build()?,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsar_passes_every_conformance_case() {
    let Some(pulsar) = live() else {
        return;
    };
    // Declared in PulsarBus::capabilities: everything but per-key order (a Shared subscription spreads a
    // key over the members; a redelivery is a new message on the group's retry topic) and idempotent
    // publish (broker deduplication keys on producer and sequence id, not on the message id).
    run_all(&pulsar).await.assert_exact(
        &Expect::all()
            .skipped("per_key_order", "ordering_per_key")
            .skipped("batched_per_key_order", "ordering_per_key")
            .skipped("idempotent_publish", "idempotent_publish"),
    );
}
