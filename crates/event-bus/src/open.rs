//! [`open`]: the configured bus. One exhaustive `match` over [`EventBusConfig`]: a new backend does not
//! compile until it is wired here; a backend left out of this build by its cargo feature is
//! [`Error::NotCompiled`].
//!
//! | `EVENT_BUS` | backend | cargo feature of `avb` (of this crate) |
//! |---|---|---|
//! | `memory` | [`MemoryBus`](crate::memory::MemoryBus) | `event-bus-memory` (`memory`), default |
//! | `redis` | `RedisBus` at `REDIS_URL` | `event-bus-redis` (`redis`) |
//! | `kafka` | [`KafkaBus`](crate::kafka::KafkaBus) at `KAFKA_BOOTSTRAP_SERVERS` | `event-bus-kafka` (`kafka`) |
//! | `pulsar` | [`PulsarBus`](crate::pulsar::PulsarBus) at `PULSAR_URL` (namespaces through `PULSAR_ADMIN_URL`) | `event-bus-pulsar` (`pulsar`) |

use crate::config::{EventBusConfig, EventBusDelivery, PulsarPolicies};
use crate::{Error, EventBus, Result};
use avb_core::config::Secret;
use avb_core::config::ServiceUrl;
use avb_core::{NotCompiled, ResourceScope};
use std::sync::Arc;

/// Builds the event bus `config` selects, with its delivery settings. Call it inside a Tokio runtime (the
/// Redis backend needs one). Connection problems are not errors here: the Redis and Kafka buses connect
/// lazily and report them through `health()` and retryable errors.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use avb_core::config::PortConfig;
/// use avb_event_bus::config::EventBusConfig;
/// let config = EventBusConfig::from_pairs([("EVENT_BUS", "memory")]).expect("valid");
/// let bus = avb_event_bus::open(&config.backend).await.expect("memory is compiled in by default");
/// assert_eq!(bus.backend(), "memory");
/// # }
/// ```
pub async fn open(config: &EventBusConfig) -> Result<Arc<dyn EventBus>> {
    match config {
        EventBusConfig::Memory { delivery } => memory(delivery),
        EventBusConfig::Redis {
            url,
            scope,
            delivery,
        } => redis(url, scope, delivery),
        EventBusConfig::Kafka {
            bootstrap_servers,
            scope,
            delivery,
        } => kafka(bootstrap_servers, scope, delivery),
        EventBusConfig::Pulsar {
            url,
            admin_url,
            tenant,
            scope,
            token,
            policies,
            receiver_queue,
            delivery,
        } => pulsar(PulsarArgs {
            url,
            admin_url,
            tenant,
            scope,
            token: token.as_ref(),
            policies,
            receiver_queue: *receiver_queue,
            delivery,
        }),
    }
}

#[cfg(feature = "memory")]
fn memory(delivery: &EventBusDelivery) -> Result<Arc<dyn EventBus>> {
    Ok(Arc::new(
        crate::memory::MemoryBus::builder()
            .with_settings(delivery.settings())
            .build()?,
    ))
}

#[cfg(not(feature = "memory"))]
fn memory(_: &EventBusDelivery) -> Result<Arc<dyn EventBus>> {
    Err(not_compiled("memory", "event-bus-memory"))
}

#[cfg(feature = "redis")]
fn redis(
    url: &ServiceUrl,
    scope: &ResourceScope,
    delivery: &EventBusDelivery,
) -> Result<Arc<dyn EventBus>> {
    Ok(Arc::new(
        crate::redis::RedisBus::builder()
            .with_url(url.expose().as_str())
            .with_scope(scope.clone())
            .with_settings(delivery.settings())
            .build()?,
    ))
}

#[cfg(not(feature = "redis"))]
fn redis(_: &ServiceUrl, _: &ResourceScope, _: &EventBusDelivery) -> Result<Arc<dyn EventBus>> {
    Err(not_compiled("redis", "event-bus-redis"))
}

#[cfg(feature = "kafka")]
fn kafka(
    bootstrap_servers: &[String],
    scope: &ResourceScope,
    delivery: &EventBusDelivery,
) -> Result<Arc<dyn EventBus>> {
    Ok(Arc::new(
        crate::kafka::KafkaBus::builder()
            .with_bootstrap_servers(bootstrap_servers)
            .with_scope(scope.clone())
            .with_settings(delivery.settings())
            .build()?,
    ))
}

#[cfg(not(feature = "kafka"))]
fn kafka(_: &[String], _: &ResourceScope, _: &EventBusDelivery) -> Result<Arc<dyn EventBus>> {
    Err(not_compiled("kafka", "event-bus-kafka"))
}

/// The settings of `EVENT_BUS=pulsar`, as read.
#[cfg_attr(not(feature = "pulsar"), allow(dead_code))]
struct PulsarArgs<'a> {
    url: &'a ServiceUrl,
    admin_url: &'a ServiceUrl,
    tenant: &'a str,
    scope: &'a ResourceScope,
    token: Option<&'a Secret>,
    policies: &'a PulsarPolicies,
    receiver_queue: u32,
    delivery: &'a EventBusDelivery,
}

#[cfg(feature = "pulsar")]
fn pulsar(a: PulsarArgs<'_>) -> Result<Arc<dyn EventBus>> {
    let mut b = crate::pulsar::PulsarBus::builder()
        .with_url(a.url.expose().as_str())
        .with_admin_url(a.admin_url.expose().as_str())
        .with_tenant(a.tenant)
        .with_scope(a.scope.clone())
        .with_policies(crate::pulsar::NamespacePolicies {
            retention_minutes: a.policies.retention_minutes,
            retention_mb: a.policies.retention_mb,
            backlog_quota_mb: a.policies.backlog_quota_mb,
        })
        .with_receiver_queue(a.receiver_queue)
        .with_settings(a.delivery.settings());
    if let Some(token) = a.token {
        b = b.with_token(token.expose());
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(not(feature = "pulsar"))]
fn pulsar(_: PulsarArgs<'_>) -> Result<Arc<dyn EventBus>> {
    Err(not_compiled("pulsar", "event-bus-pulsar"))
}

#[cfg_attr(
    all(
        feature = "memory",
        feature = "redis",
        feature = "kafka",
        feature = "pulsar"
    ),
    allow(dead_code)
)]
fn not_compiled(backend: &str, feature: &'static str) -> Error {
    Error::NotCompiled(NotCompiled {
        backend: format!("EVENT_BUS={backend}"),
        feature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::config::PortConfig;

    fn config(pairs: &[(&str, &str)]) -> EventBusConfig {
        EventBusConfig::from_pairs(pairs.iter().copied())
            .unwrap_or_else(|e| panic!("{e}"))
            .backend
    }

    #[cfg(feature = "memory")]
    #[tokio::test]
    async fn delivery_variables_reach_the_bus() {
        use crate::{Message, StartPosition, Topic, WorkspaceId};
        let bus = open(&config(&[("EVENT_BUS_MAX_ATTEMPTS", "1")]))
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
    async fn pulsar_without_its_feature_names_the_feature() {
        let result = open(&config(&[
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", "pulsar://127.0.0.1:1"),
            ("PULSAR_ADMIN_URL", "http://127.0.0.1:1"),
        ]))
        .await;
        if cfg!(feature = "pulsar") {
            let bus = result.unwrap();
            assert_eq!(bus.backend(), "pulsar");
            assert!(!bus.health().await.is_up(), "nothing listens on port 1");
        } else {
            let err = result.err().unwrap();
            assert!(err.to_string().contains("`event-bus-pulsar`"), "{err}");
        }
    }

    #[tokio::test]
    async fn kafka_without_its_feature_names_the_feature() {
        let result = open(&config(&[
            ("EVENT_BUS", "kafka"),
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
            ("EVENT_BUS_MAX_ATTEMPTS", "2"),
        ]))
        .await;
        if cfg!(feature = "kafka") {
            let bus = result.unwrap();
            assert_eq!(bus.backend(), "kafka");
            assert!(!bus.health().await.is_up(), "nothing listens on port 1");
        } else {
            let err = result.err().unwrap();
            assert!(err.to_string().contains("`event-bus-kafka`"), "{err}");
        }
    }

    #[tokio::test]
    async fn redis_without_its_feature_names_the_feature() {
        let result = open(&config(&[
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:1"),
        ]))
        .await;
        if cfg!(feature = "redis") {
            let bus = result.unwrap();
            assert_eq!(bus.backend(), "redis");
            assert!(!bus.health().await.is_up(), "nothing listens on port 1");
        } else {
            let err = result.err().unwrap();
            assert!(err.to_string().contains("`event-bus-redis`"), "{err}");
        }
    }
}
