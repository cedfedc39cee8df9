//! The naming functions never let one environment scope's resource name equal, or sit under, another's
//! (`docs/isolation.md`): for any two different (scope, workspace, topic) triples, the Redis keys, Kafka
//! topics and Pulsar topics differ, a scope's root followed by its separator (what a `SCAN <root>:*`, a
//! topic-prefix ACL or a namespace listing matches) starts no name of another scope, and Kafka's
//! `.`/`_`-folded metric names of two scopes never collide. Scopes such as `dev` and `dev-x`, and workspaces
//! and topics with `.`, `-`, `_`, are in the generated ranges. The object-key side (traversal cannot leave a
//! scope) is checked on real stores by `tests/isolation.rs` and by property in
//! `crates/object-store/tests/workspace_escape.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::ResourceScope;
use avb::WorkspaceId;
use avb::event_bus::Topic;
use avb::event_bus::kafka::wire::{kafka_topic, topic_root};
use avb::event_bus::pulsar::wire::Names;
use avb::event_bus::redis::{key_root, stream_key};
use proptest::prelude::*;

/// A scope, `None` for the unscoped names; short alphabets so that near-misses (`dev` / `dev-x`) are common.
fn scope() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        8 => "[de][ev0-]{0,3}(-x)?".prop_map(Some),
    ]
}

fn workspace() -> impl Strategy<Value = String> {
    "[a-c0-9][a-c0-9_-]{0,6}"
}

fn topic_name() -> impl Strategy<Value = String> {
    "[a-cA-C0-9][a-c0-9._-]{0,6}"
}

fn triple() -> impl Strategy<Value = (Option<String>, String, String)> {
    (scope(), workspace(), topic_name())
}

fn to_scope(s: &Option<String>) -> ResourceScope {
    match s {
        None => ResourceScope::unscoped(),
        Some(s) => ResourceScope::new(s).unwrap(),
    }
}

fn topic(ws: &str, name: &str) -> Topic {
    Topic::new(&WorkspaceId::new(ws).unwrap(), name).unwrap()
}

/// Every name of `(scope, ws, name)` on each backend, and the scope's "everything of mine" prefixes.
struct Named {
    redis: String,
    redis_root: String,
    kafka: String,
    kafka_root: String,
    pulsar: String,
    pulsar_namespace: String,
}

fn named(scope: &ResourceScope, ws: &str, name: &str) -> Named {
    let t = topic(ws, name);
    let names = Names {
        tenant: "t".into(),
        scope: scope.clone(),
    };
    Named {
        redis: stream_key(&key_root(scope), &t),
        redis_root: format!("{}:", key_root(scope)),
        kafka: kafka_topic(&topic_root(scope), &t).unwrap(),
        kafka_root: format!("{}.", topic_root(scope)),
        pulsar: names.topic_url(&t),
        pulsar_namespace: format!("persistent://{}/", names.namespace(&t)),
    }
}

fn folded(kafka: &str) -> String {
    kafka.replace('.', "_")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn two_triples_never_share_a_name(a in triple(), b in triple()) {
        prop_assume!(a != b);
        let (sa, sb) = (to_scope(&a.0), to_scope(&b.0));
        let na = named(&sa, &a.1, &a.2);
        let nb = named(&sb, &b.1, &b.2);
        prop_assert_ne!(&na.redis, &nb.redis);
        prop_assert_ne!(&na.kafka, &nb.kafka);
        prop_assert_ne!(&na.pulsar, &nb.pulsar);
        if sa != sb {
            // A scope's prefix starts none of another scope's names.
            prop_assert!(!nb.redis.starts_with(&na.redis_root), "{} under {}", nb.redis, na.redis_root);
            prop_assert!(!nb.kafka.starts_with(&na.kafka_root), "{} under {}", nb.kafka, na.kafka_root);
            prop_assert!(!folded(&nb.kafka).starts_with(&folded(&na.kafka_root)),
                "{} under {} once folded", nb.kafka, na.kafka_root);
            prop_assert_ne!(folded(&na.kafka), folded(&nb.kafka));
            prop_assert!(!nb.pulsar.starts_with(&na.pulsar_namespace),
                "{} under {}", nb.pulsar, na.pulsar_namespace);
        }
        if a.1 != b.1 || sa != sb {
            // Another workspace or scope: another namespace.
            prop_assert_ne!(&na.pulsar_namespace, &nb.pulsar_namespace);
        }
    }

    #[test]
    fn a_scoped_redis_key_keeps_the_workspace_hash_tag(t in triple()) {
        // The cluster slot is the workspace's, whatever the scope: `{<workspace>}` is the first `{…}`.
        let n = named(&to_scope(&t.0), &t.1, &t.2);
        let open = n.redis.find('{').unwrap();
        let close = n.redis[open..].find('}').unwrap() + open;
        prop_assert_eq!(&n.redis[open + 1..close], t.1.as_str());
    }
}

#[test]
fn near_miss_scopes_are_apart_on_every_backend() {
    let dev = ResourceScope::new("dev").unwrap();
    let dev_x = ResourceScope::new("dev-x").unwrap();
    let a = named(&dev, "x", "t");
    let b = named(&dev_x, "x", "t");
    assert_eq!(a.redis, "avb-dev:{x}:t");
    assert_eq!(b.redis, "avb-dev-x:{x}:t");
    assert_eq!(a.kafka, "avb-dev.x.t");
    assert_eq!(b.kafka, "avb-dev-x.x.t");
    assert_eq!(a.pulsar, "persistent://t/dev.x/t");
    assert_eq!(b.pulsar, "persistent://t/dev-x.x/t");
    assert!(!b.redis.starts_with(&a.redis_root));
    assert!(!b.kafka.starts_with(&a.kafka_root));
    assert!(!b.pulsar.starts_with(&a.pulsar_namespace));
}
