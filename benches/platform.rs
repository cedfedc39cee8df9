//! What the Platform costs: building the sandbox ports (all five), and the metered layer's added cost per
//! call on the memory backends — the instrumented port beside the same backend without it, in interleaved
//! rounds (the ratio is raw time / instrumented time: 1.00 = free; the target is ≥ 0.95, i.e. ≤ 5 %).
//!
//! Then the same two calls behind the whole default stack the Platform builds (metered → retry → breaker →
//! timeout, `PortLayers::default_for`) against the raw port, with the steps between (the instrumented
//! wrapper with no layer, the metered layer alone) in the same rounds and the nanoseconds each step adds.
//!
//! `cargo bench --bench platform` (prints its own report; criterion is not used for the ratios);
//! `cargo bench --bench platform -- --sizes` prints the layers' future sizes instead.

// Bench code: a failed expect is the benchmark failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb::event_bus::{EventBus, Message, Topic};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/ratio.rs"]
mod ratio;

const ROUNDS: usize = 40;

/// The steps from the raw port to the Platform's default stack, each adding one layer.
const STEPS: [&str; 5] = [
    "wrapper only (no layer)",
    "metered",
    "metered + timeout",
    "metered + breaker + timeout",
    "the Platform's default layers (metered + retry + breaker + timeout)",
];
const PER_ROUND: usize = 20_000;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if std::env::args().any(|a| a == "--sizes") {
        sizes();
        return;
    }
    rt.block_on(async {
        // Building the sandbox platform (all five ports), median of 30.
        let mut builds: Vec<Duration> = Vec::new();
        for _ in 0..30 {
            let started = Instant::now();
            let platform = avb::Platform::from_pairs(Vec::<(String, String)>::new())
                .await
                .expect("sandbox platform");
            builds.push(started.elapsed());
            black_box(platform);
        }
        builds.sort();
        println!(
            "sandbox Platform build (event bus, auth, object store, catalog, llm): median {:.2} ms, p90 {:.2} ms (30 builds)",
            builds[15].as_secs_f64() * 1e3,
            builds[27].as_secs_f64() * 1e3
        );

        let metrics = Arc::new(avb::metrics::Metrics::new());
        let topic = Topic::new(&avb::WorkspaceId::new("bench").expect("ws"), "t").expect("topic");

        // EventBus publish: raw memory bus vs the same bus behind the metered layer.
        let raw: Arc<dyn EventBus> = Arc::new(
            avb::event_bus::memory::MemoryBus::builder()
                .build()
                .expect("bus"),
        );
        let layered: Arc<dyn EventBus> = {
            use avb::layers::{Direct, Layer, metered::MeteredLayer};
            let inner: Arc<dyn EventBus> = Arc::new(
                avb::event_bus::memory::MemoryBus::builder()
                    .build()
                    .expect("bus"),
            );
            let stack = MeteredLayer::new(metrics.clone(), "event_bus", "memory").layer(Direct);
            Arc::new(avb::instrument::InstrumentedBus::new(inner, stack))
        };
        let payload = bytes::Bytes::from_static(b"0123456789abcdef");
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let mut times = [Duration::ZERO; 2];
            for (i, bus) in [&raw, &layered].into_iter().enumerate() {
                let started = Instant::now();
                for _ in 0..PER_ROUND {
                    black_box(
                        bus.publish(&topic, Message::new(payload.clone()))
                            .await
                            .expect("publish"),
                    );
                }
                times[i] = started.elapsed();
            }
            rounds.push((times[0], times[1]));
        }
        ratio::ratio_report("memory publish, metered vs raw", PER_ROUND, &rounds, 0);

        // EventBus delivery: publish + next + ack on the raw memory bus, the same bus behind the metered
        // layer (spans; deliveries passed through), and as the Platform hands it out (plus delivery metrics:
        // each delivery re-wrapped for the in-flight gauge) — three buses, interleaved in every round.
        let memory = || -> Arc<dyn EventBus> {
            Arc::new(
                avb::event_bus::memory::MemoryBus::builder()
                    .build()
                    .expect("bus"),
            )
        };
        let metered = |with_metrics: bool| -> Arc<dyn EventBus> {
            use avb::layers::{Direct, Layer, metered::MeteredLayer};
            let stack = MeteredLayer::new(metrics.clone(), "event_bus", "memory").layer(Direct);
            let bus = avb::instrument::InstrumentedBus::new(memory(), stack);
            Arc::new(if with_metrics {
                bus.with_metrics(metrics.clone())
            } else {
                bus
            })
        };
        let buses = [memory(), metered(false), metered(true)];
        let mut subs = Vec::new();
        for bus in &buses {
            subs.push(
                bus.subscribe(&topic, "bench", avb::event_bus::StartPosition::Latest)
                    .await
                    .expect("subscribe"),
            );
        }
        let (mut plain, mut counted) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let mut times = [Duration::ZERO; 3];
            for (i, bus) in buses.iter().enumerate() {
                let sub = &mut subs[i];
                let started = Instant::now();
                for _ in 0..PER_ROUND {
                    bus.publish(&topic, Message::new(payload.clone()))
                        .await
                        .expect("publish");
                    let d = sub.next().await.expect("open").expect("delivery");
                    d.ack().await.expect("ack");
                }
                times[i] = started.elapsed();
            }
            plain.push((times[0], times[1]));
            counted.push((times[0], times[2]));
        }
        ratio::ratio_report(
            "memory publish + next + ack, metered (no delivery metrics) vs raw",
            PER_ROUND,
            &plain,
            0,
        );
        ratio::ratio_report(
            "memory publish + next + ack, metered + delivery metrics (in-flight wrapper) vs raw",
            PER_ROUND,
            &counted,
            0,
        );

        // Auth: trust-all authenticate, raw vs metered.
        let config = avb::config::Config::from_iter(Vec::<(String, String)>::new()).expect("config");
        let raw = avb::auth::open(&config.auth.backend).await.expect("auth");
        let layered: Arc<dyn avb::auth::Authenticator> = {
            use avb::layers::{Direct, Layer, metered::MeteredLayer};
            let stack = MeteredLayer::new(metrics.clone(), "auth", raw.backend()).layer(Direct);
            Arc::new(avb::instrument::InstrumentedAuth::new(raw.clone(), stack))
        };
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let mut times = [Duration::ZERO; 2];
            for (i, auth) in [&raw, &layered].into_iter().enumerate() {
                let started = Instant::now();
                for _ in 0..PER_ROUND {
                    black_box(auth.authenticate("token").await.expect("accepted"));
                }
                times[i] = started.elapsed();
            }
            rounds.push((times[0], times[1]));
        }
        ratio::ratio_report("trust-all authenticate, metered vs raw", PER_ROUND, &rounds, 0);

        // What the Platform hands out — metered → retry → breaker → timeout (PortLayers::default_for) —
        // against the raw port, with the steps between in the same interleaved rounds, so each step's
        // cost per call can be read off: the instrumented wrapper alone (`Direct`, no layer), the metered
        // layer, then the default stack.
        use avb::layers::{Direct, Layer, defaults::PortLayers, metered::MeteredLayer};
        let memory = || -> Arc<dyn EventBus> {
            Arc::new(
                avb::event_bus::memory::MemoryBus::builder()
                    .build()
                    .expect("bus"),
            )
        };
        let metered = || MeteredLayer::new(metrics.clone(), "event_bus", "memory");
        let layered = |layers: PortLayers| -> Arc<dyn EventBus> {
            Arc::new(avb::instrument::InstrumentedBus::new(
                memory(),
                metered().layer(
                    layers
                        .stack(Direct)
                        .count_retries(metrics.retry_counter("event_bus", "memory")),
                ),
            ))
        };
        let steps_of = |port| {
            let all = PortLayers::default_for(port);
            [
                PortLayers { timeout: all.timeout, ..PortLayers::NONE },
                PortLayers { retry: None, ..all },
                all,
            ]
        };
        let [timed, broken, all] = steps_of(avb::Port::EventBus);
        let buses: [Arc<dyn EventBus>; 6] = [
            memory(),
            Arc::new(avb::instrument::InstrumentedBus::new(memory(), Direct)),
            Arc::new(avb::instrument::InstrumentedBus::new(
                memory(),
                metered().layer(Direct),
            )),
            layered(timed),
            layered(broken),
            layered(all),
        ];
        let times =
            interleaved(&buses, async |bus| publish_one(bus, &topic, &payload).await).await;
        steps(
            "memory publish",
            &STEPS,
            &times,
        );

        let raw = avb::auth::open(&config.auth.backend).await.expect("auth");
        let backend = raw.backend();
        let metered = || MeteredLayer::new(metrics.clone(), "auth", backend);
        let layered = |layers: PortLayers| -> Arc<dyn avb::auth::Authenticator> {
            Arc::new(avb::instrument::InstrumentedAuth::new(
                raw.clone(),
                metered().layer(
                    layers
                        .stack(Direct)
                        .count_retries(metrics.retry_counter("auth", backend)),
                ),
            ))
        };
        let [timed, broken, all] = steps_of(avb::Port::Auth);
        let auths: [Arc<dyn avb::auth::Authenticator>; 6] = [
            raw.clone(),
            Arc::new(avb::instrument::InstrumentedAuth::new(raw.clone(), Direct)),
            Arc::new(avb::instrument::InstrumentedAuth::new(
                raw.clone(),
                metered().layer(Direct),
            )),
            layered(timed),
            layered(broken),
            layered(all),
        ];
        let times = interleaved(&auths, async |auth| {
            black_box(auth.authenticate("token").await.expect("accepted"));
        })
        .await;
        steps(
            "trust-all authenticate",
            &STEPS,
            &times,
        );

        // Catalog: the json backend's `validate_call` (a service validates each call it forwards), bare,
        // behind the wrapper alone and behind the Platform's default layers.
        let catalog: Arc<dyn avb::catalog::Catalog> =
            Arc::new(avb::catalog::json::JsonCatalog::sample().expect("sample catalog"));
        let args = avb::catalog::inputs_from_json(
            serde_json::json!({"username": "someone", "limit": 10})
                .as_object()
                .expect("an object"),
        );
        let catalogs: [Arc<dyn avb::catalog::Catalog>; 3] = [
            catalog.clone(),
            Arc::new(avb::instrument::InstrumentedCatalog::new(catalog.clone(), Direct)),
            Arc::new(avb::instrument::InstrumentedCatalog::new(
                catalog.clone(),
                MeteredLayer::new(metrics.clone(), "catalog", "json").layer(
                    PortLayers::default_for(avb::Port::Catalog)
                        .stack(Direct)
                        .count_retries(metrics.retry_counter("catalog", "json")),
                ),
            )),
        ];
        let times = interleaved(&catalogs, async |catalog| {
            let found = catalog
                .validate_call("crawler_twitter_posts", &args)
                .await
                .expect("validated");
            assert!(found.is_empty(), "a valid call: {found:?}");
        })
        .await;
        steps(
            "json validate_call",
            &[STEPS[0], STEPS[4]],
            &times,
        );

        // The floor of any wrapper: the least a port wrapper that counts each call exactly can cost —
        // its own boxed future and dynamic call around the backend's on-the-spot answer, then the same
        // with one and with two relaxed atomic increments (the metered layer counts the operation, and
        // on authenticate the decision too). Nothing else: no span check, no sampling, no layer.
        let floors = |counts: u8| -> Arc<dyn avb::auth::Authenticator> {
            Arc::new(floor::Counted::new(raw.clone(), counts))
        };
        let auths = [raw.clone(), floors(0), floors(1), floors(2)];
        let times = interleaved(&auths, async |auth| {
            black_box(auth.authenticate("token").await.expect("accepted"));
        })
        .await;
        steps("trust-all authenticate, floor", &FLOORS, &times);
        let floors = |counts: u8| -> Arc<dyn EventBus> {
            Arc::new(floor::Counted::new(memory(), counts))
        };
        let buses = [memory(), floors(0), floors(1), floors(2)];
        let times =
            interleaved(&buses, async |bus| publish_one(bus, &topic, &payload).await).await;
        steps("memory publish, floor", &FLOORS, &times);
    });
}

/// The floor steps: a bare wrapper, then one and two counter increments in it.
const FLOORS: [&str; 3] = [
    "bare wrapper (own boxed future, answer on the spot)",
    "+ one atomic increment",
    "+ two atomic increments",
];

/// The least a counting wrapper can be (see "the floor of any wrapper" in `main`).
mod floor {
    use avb::auth::{Authenticator, Principal};
    use avb::event_bus::{
        Capabilities, EventBus, Health, Message, MessageId, PublishNow, Result, StartPosition,
        Subscription, Topic,
    };
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug)]
    pub struct Counted<P: ?Sized> {
        inner: Arc<P>,
        counts: u8,
        ops: AtomicU64,
        decisions: AtomicU64,
    }

    impl<P: ?Sized> Counted<P> {
        pub fn new(inner: Arc<P>, counts: u8) -> Self {
            Counted {
                inner,
                counts,
                ops: AtomicU64::new(0),
                decisions: AtomicU64::new(0),
            }
        }

        fn count(&self) {
            if self.counts >= 1 {
                self.ops.fetch_add(1, Ordering::Relaxed);
            }
            if self.counts >= 2 {
                self.decisions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[async_trait::async_trait]
    impl Authenticator for Counted<dyn Authenticator> {
        async fn authenticate(&self, token: &str) -> avb::auth::Result<Principal> {
            let answer = match self.inner.authenticate_now(token) {
                Some(answer) => answer,
                None => self.inner.authenticate(token).await,
            };
            self.count();
            answer
        }
        fn capabilities(&self) -> avb::auth::Capabilities {
            self.inner.capabilities()
        }
        fn backend(&self) -> &'static str {
            self.inner.backend()
        }
    }

    #[async_trait::async_trait]
    impl EventBus for Counted<dyn EventBus> {
        fn backend(&self) -> &'static str {
            self.inner.backend()
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
        async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
            let answer = match self.inner.publish_now(topic, message) {
                PublishNow::Published(id) => Ok(id),
                PublishNow::Failed(e, _) => Err(e),
                PublishNow::Wait(m) => self.inner.publish(topic, m).await,
            };
            self.count();
            answer
        }
        async fn publish_batch(
            &self,
            topic: &Topic,
            messages: Vec<Message>,
        ) -> Result<Vec<MessageId>> {
            self.inner.publish_batch(topic, messages).await
        }
        async fn subscribe(
            &self,
            topic: &Topic,
            group: &str,
            start: StartPosition,
        ) -> Result<Subscription> {
            self.inner.subscribe(topic, group, start).await
        }
        async fn close(&self) -> Result<()> {
            self.inner.close().await
        }
        async fn health(&self) -> Health {
            self.inner.health().await
        }
    }
}

/// One timed call of the publish rounds: a fresh message of `payload` to `topic`.
async fn publish_one(bus: &Arc<dyn EventBus>, topic: &Topic, payload: &bytes::Bytes) {
    black_box(
        bus.publish(topic, Message::new(payload.clone()))
            .await
            .expect("publish"),
    );
}

/// Times `PER_ROUND` calls of `call` on each of `ports` in turn, `ROUNDS` times (so every round runs
/// every port under the same conditions): one list of round times per port.
async fn interleaved<P>(ports: &[P], mut call: impl AsyncFnMut(&P)) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::new(); ports.len()];
    for _ in 0..ROUNDS {
        for (i, port) in ports.iter().enumerate() {
            let started = Instant::now();
            for _ in 0..PER_ROUND {
                call(port).await;
            }
            times[i].push(started.elapsed());
        }
    }
    times
}

/// Reports each variant (`times[1..]`, named by `names`) against the raw port (`times[0]`), round by
/// round, and the median added nanoseconds per call of each step over the one before.
fn steps(what: &str, names: &[&str], times: &[Vec<Duration>]) {
    let per_call = |d: Duration| d.as_secs_f64() * 1e9 / PER_ROUND as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (k, name) in names.iter().enumerate() {
        let rounds: Vec<(Duration, Duration)> = times[0]
            .iter()
            .copied()
            .zip(times[k + 1].iter().copied())
            .collect();
        ratio::ratio_report(&format!("{what}, {name} vs raw"), PER_ROUND, &rounds, 0);
    }
    let raw = median(times[0].iter().map(|d| per_call(*d)).collect());
    let mut line = format!("{what}, ns per call (median of per-round differences): raw {raw:.1}");
    for (k, name) in names.iter().enumerate() {
        let added = median(
            times[k]
                .iter()
                .zip(&times[k + 1])
                .map(|(before, after)| per_call(*after) - per_call(*before))
                .collect(),
        );
        line.push_str(&format!("; + {name} {added:+.1}"));
    }
    println!("{line}");
}

/// `--sizes`: the bytes of one call's future through each layer and through the default stack (a call's
/// future is moved into the instrumented port's box on every call, so its size is a cost per call).
fn sizes() {
    use avb::layers::{Direct, Layer, Service, defaults::PortLayers, metered::MeteredLayer};
    let metrics = Arc::new(avb::metrics::Metrics::new());
    let stack = MeteredLayer::new(metrics.clone(), "event_bus", "memory")
        .layer(PortLayers::default_for(avb::Port::EventBus).stack(Direct));
    let inner = PortLayers::default_for(avb::Port::EventBus).stack(Direct);
    let plain = MeteredLayer::new(metrics.clone(), "event_bus", "memory").layer(Direct);
    let f = || async { Ok::<u32, avb::event_bus::Error>(1) };
    use avb::layers::{breaker::BreakerLayer, retry::RetryLayer, timeout::TimeoutLayer};
    println!(
        "retry {}, breaker {}, timeout {}",
        std::mem::size_of_val(&RetryLayer::default().layer(Direct).call("publish", f)),
        std::mem::size_of_val(&BreakerLayer::default().layer(Direct).call("publish", f)),
        std::mem::size_of_val(
            &TimeoutLayer::new(Duration::from_secs(1))
                .layer(Direct)
                .call("publish", f)
        ),
    );
    // The boxed futures a port call allocates: the bare memory bus's and each wrapper's.
    let topic = Topic::new(&avb::WorkspaceId::new("bench").expect("ws"), "t").expect("topic");
    let bus = |stack: Option<bool>| -> Arc<dyn EventBus> {
        let memory: Arc<dyn EventBus> = Arc::new(
            avb::event_bus::memory::MemoryBus::builder()
                .build()
                .expect("bus"),
        );
        match stack {
            None => memory,
            Some(false) => Arc::new(avb::instrument::InstrumentedBus::new(memory, Direct)),
            Some(true) => Arc::new(avb::instrument::InstrumentedBus::new(
                memory,
                MeteredLayer::new(metrics.clone(), "event_bus", "memory")
                    .layer(PortLayers::default_for(avb::Port::EventBus).stack(Direct)),
            )),
        }
    };
    let boxed =
        |b: Arc<dyn EventBus>| std::mem::size_of_val(&*b.publish(&topic, Message::new(&b"x"[..])));
    println!(
        "boxed publish futures: memory bus {}, wrapper (no layer) {}, the Platform's default layers {}",
        boxed(bus(None)),
        boxed(bus(Some(false))),
        boxed(bus(Some(true))),
    );
    println!(
        "value sizes: Message {}, MessageId {}, event bus Error {}, Result<MessageId> {}, PublishNow {}, Principal {}, auth Error {}",
        std::mem::size_of::<Message>(),
        std::mem::size_of::<avb::event_bus::MessageId>(),
        std::mem::size_of::<avb::event_bus::Error>(),
        std::mem::size_of::<avb::event_bus::Result<avb::event_bus::MessageId>>(),
        std::mem::size_of::<avb::event_bus::PublishNow>(),
        std::mem::size_of::<avb::auth::Principal>(),
        std::mem::size_of::<avb::auth::Error>(),
    );
    println!(
        "future sizes: metered+defaults {}, defaults {}, metered {}, direct {}",
        std::mem::size_of_val(&stack.call("publish", f)),
        std::mem::size_of_val(&inner.call("publish", f)),
        std::mem::size_of_val(&plain.call("publish", f)),
        std::mem::size_of_val(&Direct.call("publish", f)),
    );
}
