//! The ports the Platform hands out run behind metered → retry → breaker → timeout
//! (`PortLayers::default_for`): still conforming — the layers change no answer (memory backends).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::Port;
use avb::layers::defaults::PortLayers;
use avb::layers::{Direct, Layer, metered::MeteredLayer};
use std::sync::Arc;
use std::time::Duration;

mod event_bus {
    use super::*;
    use avb::event_bus::conformance::{Expect, Harness, run_all};
    use avb::event_bus::{EventBus, Result, Settings};

    fn settings() -> Settings {
        Settings {
            ack_timeout: Duration::from_secs(1),
            max_attempts: 3,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_millis(400),
            drain_timeout: Duration::from_secs(1),
            ..Settings::default()
        }
    }

    struct DefaultLayers(Arc<avb::metrics::Metrics>);

    #[async_trait::async_trait]
    impl Harness for DefaultLayers {
        fn settings(&self) -> Settings {
            settings()
        }
        async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
            let inner: Arc<dyn EventBus> = Arc::new(
                avb::event_bus::memory::MemoryBus::builder()
                    .with_settings(settings())
                    .build()?,
            );
            let stack = MeteredLayer::new(self.0.clone(), "event_bus", "memory")
                .layer(PortLayers::default_for(Port::EventBus).stack(Direct));
            Ok(Arc::new(avb::instrument::InstrumentedBus::new(
                inner, stack,
            )))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_behind_the_default_layers_passes_every_conformance_case() {
        let metrics = Arc::new(avb::metrics::Metrics::new());
        run_all(&DefaultLayers(metrics.clone()))
            .await
            .assert_exact(&Expect::all());
        assert!(metrics.encode().contains(
            r#"avb_event_bus_operations_total{backend="memory",operation="publish",result="ok"}"#
        ));
    }
}

mod object_store {
    use super::*;
    use avb::object_store::ObjectStore;
    use avb::object_store::conformance::{self, Expect, Harness, capability};

    #[tokio::test]
    async fn memory_behind_the_default_layers_passes_conformance() {
        let metrics = Arc::new(avb::metrics::Metrics::new());
        let stack = MeteredLayer::new(metrics.clone(), "object_store", "memory")
            .layer(PortLayers::default_for(Port::ObjectStore).stack(Direct));
        let store: Arc<dyn ObjectStore> = Arc::new(avb::instrument::InstrumentedStore::new(
            Arc::new(avb::object_store::memory::MemoryStore::new()),
            stack,
        ));
        let expect = Expect::all()
            .skipped("symlinks_not_followed", capability::SYMLINKS)
            .skipped("presigned_round_trip", capability::PRESIGN)
            .skipped("presigned_refusals", capability::PRESIGN);
        let root = format!("conformance-{}", uuid::Uuid::new_v4().simple());
        let harness = Harness::new(store).with_root(root);
        conformance::run_all_with(&harness, &conformance::runner())
            .await
            .assert_exact(&expect);
    }
}
