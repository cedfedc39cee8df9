//! `Platform::builder()`: only the used ports are resolved and opened (live mode demands nothing of the
//! others; an unused port is absent, never in `/health` or readiness); a required capability the resolved
//! backend lacks fails the build naming port, capability and backend; the startup summary is logged once
//! and each set variable nothing reads is warned about.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/log_capture.rs"]
mod log_capture;
#[path = "support/private_redis.rs"]
mod private_redis;

use avb::{Platform, PlatformError, Port};

#[tokio::test]
async fn live_mode_demands_settings_of_the_used_ports_only() {
    let live = [("AVB_DEV_MODE", "live"), ("OBJECT_STORE", "memory")];
    // Every port: live mode demands the event bus's (and the others') settings.
    let e = Platform::from_pairs(live).await.unwrap_err();
    assert!(matches!(e, PlatformError::Config(_)), "{e}");
    assert!(e.to_string().contains("PULSAR_URL"), "{e}");

    let platform = Platform::builder()
        .uses(&[Port::ObjectStore])
        .from_pairs(live)
        .build()
        .await
        .unwrap();
    let ports = platform.ports();
    assert_eq!(ports.object_store().backend(), "memory");
    let unused = ports.try_event_bus().unwrap_err();
    assert_eq!(unused, avb::Unused(Port::EventBus));
    assert!(
        unused.to_string().contains("add Port::EventBus to"),
        "{unused}"
    );
    assert!(ports.try_llm().is_err() && ports.try_auth().is_err());
    let report = platform.health().await;
    assert!(report.is_healthy(), "{report}");
    assert_eq!(
        report.components.keys().copied().collect::<Vec<_>>(),
        ["object_store"]
    );
    assert!(platform.ready().await.0);
    let summary = ports.config().to_string();
    assert!(
        summary.contains("unused        event_bus, auth, catalog, llm"),
        "{summary}"
    );
}

#[tokio::test]
#[should_panic(expected = "the llm port is not among the ports this service uses")]
async fn asking_for_an_unused_port_panics_naming_it() {
    let platform = Platform::builder()
        .uses(&[Port::EventBus])
        .from_pairs([("EVENT_BUS", "memory")])
        .build()
        .await
        .unwrap();
    let _ = platform.ports().llm();
}

#[tokio::test]
async fn a_lacking_capability_fails_the_build_naming_port_capability_and_backend() {
    let e = Platform::builder()
        .uses(&[Port::EventBus, Port::ObjectStore])
        .requires(Port::ObjectStore, "conditional_create")
        .requires(Port::EventBus, "persistent")
        .from_pairs([("EVENT_BUS", "memory")])
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PlatformError::Lacks {
                port: Port::EventBus,
                capability: "persistent",
                backend: "memory"
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("event_bus capability `persistent`") && text.contains("EVENT_BUS=memory"),
        "{text}"
    );

    let e = Platform::builder()
        .requires(Port::EventBus, "persistance")
        .from_pairs(Vec::<(String, String)>::new())
        .build()
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("\"persistance\" is not a capability of the event_bus port")
            && e.to_string().contains("ordering_per_key"),
        "{e}"
    );

    let e = Platform::builder()
        .uses(&[Port::ObjectStore])
        .requires(Port::EventBus, "persistent")
        .from_pairs(Vec::<(String, String)>::new())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::RequiresUnused { .. }), "{e}");
}

/// On Redis Streams (a real server) the same requirement is met.
#[tokio::test]
async fn a_backend_that_has_the_capability_builds() {
    let Some(redis) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let platform = Platform::builder()
        .uses(&[Port::EventBus])
        .requires(Port::EventBus, "persistent")
        .from_pairs([("EVENT_BUS", "redis"), ("REDIS_URL", redis.as_str())])
        .build()
        .await
        .unwrap();
    assert_eq!(platform.ports().event_bus().backend(), "redis");
}

#[tokio::test]
async fn the_summary_is_logged_once_and_unread_variables_are_warned_about() {
    let (log, _guard) = log_capture::capture();
    let pairs = [
        ("EVENT_BUS", "memory"),
        ("REDIS_URL", "redis://:hunter2@127.0.0.1:6379"),
        ("AUTH_MODE", "none"),
        ("AUTH_WORKSPACE_CLAIM", "tenant"),
        ("LLM_PROVIDER", "mock"),
    ];
    let platform = Platform::builder()
        .uses(&[Port::EventBus, Port::Auth])
        .from_pairs(pairs)
        .build()
        .await
        .unwrap();
    let events: Vec<_> = log
        .events()
        .into_iter()
        .filter(|e| e.target == "avb::platform")
        .collect();
    let summaries: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::INFO)
        .collect();
    assert_eq!(summaries.len(), 1, "{events:#?}");
    let config = platform.ports().config().to_string();
    assert!(
        summaries[0].message.ends_with(&config),
        "{:?}",
        summaries[0]
    );
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .map(|e| (e.field("variable").unwrap_or_default(), e.message.as_str()))
        .collect();
    let names: Vec<&str> = warned.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        names,
        ["AUTH_WORKSPACE_CLAIM", "LLM_PROVIDER", "REDIS_URL"],
        "{warned:#?}"
    );
    assert!(warned[0].1.contains("(AUTH_MODE=none)"), "{warned:?}");
    assert!(
        warned[1].1.contains("does not use the llm port"),
        "{warned:?}"
    );
    assert!(warned[2].1.contains("(EVENT_BUS=memory)"), "{warned:?}");
    let all = format!("{events:?}");
    assert!(!all.contains("hunter2"), "a secret was logged: {all}");
}

/// Readiness covers the used ports: a killed broker of a used port turns it false (and true again after
/// the restart); the same dead broker configured for an unused port never affects it.
#[tokio::test]
async fn readiness_follows_the_used_ports_only() {
    let Some(mut redis) = private_redis::PrivateRedis::start() else {
        return;
    };
    let url = redis.url();
    let pairs = [("EVENT_BUS", "redis"), ("REDIS_URL", url.as_str())];
    let using_bus = Platform::builder()
        .uses(&[Port::EventBus, Port::ObjectStore])
        .from_pairs(pairs)
        .build()
        .await
        .unwrap();
    let not_using_bus = Platform::builder()
        .uses(&[Port::ObjectStore, Port::Auth])
        .from_pairs(pairs)
        .build()
        .await
        .unwrap();
    assert!(using_bus.ready().await.0);
    assert!(not_using_bus.ready().await.0);

    redis.kill();
    let (ready, report) = using_bus.ready().await;
    assert!(!ready, "{report}");
    assert_eq!(report.components["event_bus"].status, avb::Status::Down);
    let (ready, report) = not_using_bus.ready().await;
    assert!(ready, "{report}");
    assert!(!report.components.contains_key("event_bus"));

    redis.restart();
    // The connection manager reconnects on its own; poll until it has (bounded).
    let mut ready = false;
    for _ in 0..100 {
        if using_bus.ready().await.0 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "never ready again after the restart");
}
