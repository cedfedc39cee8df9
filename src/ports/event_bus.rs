//! The EventBus chosen by `EVENT_BUS` (see [`avb_core::config::EventBusConfig`]).
//!
//! | `EVENT_BUS` | backend | cargo feature of `avb` |
//! |---|---|---|
//! | `memory` | [`avb_event_bus::memory::MemoryBus`] | `event-bus-memory` (default) |
//! | `redis` | `avb_event_bus::redis::RedisBus` at `REDIS_URL` | `event-bus-redis` |
//! | `kafka`, `pulsar` | not implemented yet: an error says so | — |

use avb_core::config::{Config, EventBusConfig, EventBusDelivery};
use avb_event_bus::{Error, EventBus, Settings};
use std::sync::Arc;
use std::time::Duration;

/// The port's [`Settings`] from the resolved `EVENT_BUS_*` variables.
pub fn settings(delivery: &EventBusDelivery) -> Settings {
    Settings {
        ack_timeout: Duration::from_millis(delivery.ack_timeout_ms),
        max_attempts: delivery.max_attempts,
        max_len: delivery
            .max_len
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..Settings::default()
    }
}

#[cfg_attr(
    all(feature = "event-bus-memory", feature = "event-bus-redis"),
    allow(dead_code)
)]
fn not_compiled(backend: &'static str, feature: &str) -> Error {
    Error::NotSupported {
        operation: format!("EVENT_BUS={backend}"),
        backend,
        hint: format!("this build of avb lacks it: enable the cargo feature `{feature}` of avb"),
    }
}

fn not_implemented(backend: &'static str) -> Error {
    Error::NotSupported {
        operation: format!("EVENT_BUS={backend}"),
        backend,
        hint: "this backend is not implemented yet; use EVENT_BUS=redis (live) or memory (sandbox)"
            .into(),
    }
}

/// Builds the event bus the configuration selects, with the delivery settings of `EVENT_BUS_ACK_TIMEOUT_MS`,
/// `EVENT_BUS_MAX_ATTEMPTS` and `EVENT_BUS_MAX_LEN`. Call it inside a Tokio
/// runtime (the Redis backend needs one). Connection problems are not errors here: the Redis bus connects
/// lazily and reports them through `health()` and retryable errors.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let config = avb::config::Config::from_iter([("EVENT_BUS", "memory")]).expect("valid");
/// let bus = avb::ports::event_bus::event_bus(&config).await.expect("memory is compiled in by default");
/// assert_eq!(bus.backend(), "memory");
/// # }
/// ```
pub async fn event_bus(config: &Config) -> Result<Arc<dyn EventBus>, Error> {
    match &config.event_bus.backend {
        #[cfg(feature = "event-bus-memory")]
        EventBusConfig::Memory { delivery } => Ok(Arc::new(
            avb_event_bus::memory::MemoryBus::builder()
                .with_settings(settings(delivery))
                .build()?,
        )),
        #[cfg(not(feature = "event-bus-memory"))]
        EventBusConfig::Memory { .. } => Err(not_compiled("memory", "event-bus-memory")),
        #[cfg(feature = "event-bus-redis")]
        EventBusConfig::Redis { url, delivery } => Ok(Arc::new(
            avb_event_bus::redis::RedisBus::builder()
                .with_url(url.expose().as_str())
                .with_settings(settings(delivery))
                .build()?,
        )),
        #[cfg(not(feature = "event-bus-redis"))]
        EventBusConfig::Redis { .. } => Err(not_compiled("redis", "event-bus-redis")),
        EventBusConfig::Kafka { .. } => Err(not_implemented("kafka")),
        EventBusConfig::Pulsar { .. } => Err(not_implemented("pulsar")),
        // `EventBusConfig` is non-exhaustive: a backend added to the config before its wiring lands.
        _ => Err(not_implemented("unknown")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_iter(pairs.iter().copied()).unwrap()
    }

    #[cfg(feature = "event-bus-memory")]
    #[tokio::test]
    async fn delivery_variables_reach_the_bus() {
        use avb_event_bus::{Message, StartPosition, Topic, WorkspaceId};
        let bus = event_bus(&config(&[("EVENT_BUS_MAX_ATTEMPTS", "1")]))
            .await
            .unwrap();
        let topic = Topic::new(&WorkspaceId::new("w").unwrap(), "t").unwrap();
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let mut dlq = bus
            .subscribe(&topic.dead_letter(), "g", StartPosition::Earliest)
            .await
            .unwrap();
        bus.publish(&topic, Message::new(&b"x"[..])).await.unwrap();
        let d = sub.next().await.unwrap().unwrap();
        d.nack(std::time::Duration::ZERO, "no").await.unwrap();
        let dead = dlq.next().await.unwrap().unwrap();
        assert_eq!(
            dead.message().payload.as_ref(),
            b"x",
            "one attempt, then the DLQ"
        );
    }

    #[tokio::test]
    async fn kafka_and_pulsar_say_not_implemented() {
        let err = event_bus(&config(&[
            ("EVENT_BUS", "kafka"),
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        ]))
        .await
        .unwrap_err();
        assert!(err.to_string().contains("not implemented yet"), "{err}");
        let err = event_bus(&config(&[
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", "pulsar://127.0.0.1:6650"),
        ]))
        .await
        .unwrap_err();
        assert!(err.to_string().contains("EVENT_BUS=pulsar"), "{err}");
    }

    #[tokio::test]
    async fn redis_without_its_feature_names_the_feature() {
        let result = event_bus(&config(&[
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:1"),
        ]))
        .await;
        if cfg!(feature = "event-bus-redis") {
            let bus = result.unwrap();
            assert_eq!(bus.backend(), "redis");
            assert!(!bus.health().await.is_up(), "nothing listens on port 1");
        } else {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("`event-bus-redis`"), "{err}");
        }
    }
}
