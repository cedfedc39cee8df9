use super::*;
use avb_core::config::PortConfig;

fn event_bus(pairs: &[(&str, &str)]) -> Result<EventBusConfig, String> {
    EventBusConfig::from_pairs(pairs.iter().copied())
        .map(|p| p.backend)
        .map_err(|e| e.to_string())
}

#[test]
fn documented_defaults_are_the_settings_defaults() {
    let d = EventBusDelivery::default();
    assert_eq!(
        EVENT_BUS_ACK_TIMEOUT_MS.default,
        format!("`{}`", d.ack_timeout_ms)
    );
    assert_eq!(
        EVENT_BUS_MAX_ATTEMPTS.default,
        format!("`{}`", d.max_attempts)
    );
    assert_eq!(
        EVENT_BUS_MAX_LEN.default,
        format!("`{}`", d.max_len.unwrap_or_default())
    );
    for (key, value) in [
        (&EVENT_BUS_RETRY_MIN_MS, d.retry_min_ms),
        (&EVENT_BUS_RETRY_MAX_MS, d.retry_max_ms),
        (&EVENT_BUS_DEDUPE_WINDOW_MS, d.dedupe_window_ms),
        (&EVENT_BUS_DRAIN_TIMEOUT_MS, d.drain_timeout_ms),
    ] {
        assert_eq!(key.default, format!("`{value}`"), "{}", key.name);
    }
    assert_eq!(d.settings(), Settings::default());
}

#[test]
fn kafka_and_pulsar_settings_are_checked() {
    assert_eq!(
        event_bus(&[
            ("EVENT_BUS", "kafka"),
            ("KAFKA_BOOTSTRAP_SERVERS", "a:1, [::1]:2")
        ])
        .unwrap(),
        EventBusConfig::Kafka {
            bootstrap_servers: vec!["a:1".into(), "[::1]:2".into()],
            scope: ResourceScope::default(),
            delivery: EventBusDelivery::default(),
        }
    );
    let err = event_bus(&[
        ("EVENT_BUS", "kafka"),
        ("KAFKA_BOOTSTRAP_SERVERS", "a:1,u:p@b:2"),
    ])
    .unwrap_err();
    assert!(err.contains("entry 2 is not host:port"), "{err}");
    let err = event_bus(&[
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", "pulsar://h:1"),
        ("PULSAR_TOKEN", ""),
    ])
    .unwrap_err();
    assert!(err.contains("PULSAR_TOKEN"), "{err}");
}

#[test]
fn secrets_reach_the_scrubber() {
    let c = event_bus(&[
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", "pulsar://u:pw1@h:1"),
        ("PULSAR_TOKEN", "tok1"),
    ])
    .unwrap();
    let mut s = Scrubber::new();
    c.secrets(&mut s);
    assert_eq!(s.scrub("pw1 tok1 u"), "*** *** u");
}
#[test]
fn delivery_settings_default_and_override() {
    assert_eq!(
        event_bus(&[]).unwrap(),
        EventBusConfig::Memory {
            delivery: EventBusDelivery::default()
        }
    );
    let got = event_bus(&[
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("EVENT_BUS_ACK_TIMEOUT_MS", "1500"),
        ("EVENT_BUS_MAX_ATTEMPTS", "9"),
        ("EVENT_BUS_MAX_LEN", "none"),
        ("EVENT_BUS_RETRY_MIN_MS", "50"),
        ("EVENT_BUS_RETRY_MAX_MS", "800"),
        ("EVENT_BUS_DEDUPE_WINDOW_MS", "0"),
        ("EVENT_BUS_DRAIN_TIMEOUT_MS", "2500"),
    ])
    .unwrap();
    let EventBusConfig::Redis { delivery, .. } = got else {
        panic!("{got:?}")
    };
    assert_eq!(
        delivery,
        EventBusDelivery {
            ack_timeout_ms: 1500,
            max_attempts: 9,
            max_len: None,
            retry_min_ms: 50,
            retry_max_ms: 800,
            dedupe_window_ms: 0,
            drain_timeout_ms: 2500,
        }
    );
    let s = delivery.settings();
    assert_eq!(
        (s.retry_min, s.retry_max, s.dedupe_window, s.drain_timeout),
        (
            Duration::from_millis(50),
            Duration::from_millis(800),
            Duration::ZERO,
            Duration::from_millis(2500)
        )
    );
    assert!(
        delivery
            .to_string()
            .ends_with("no trimming, retry 50..800 ms, dedupe window 0 ms, drain 2500 ms")
    );
    // A minimum above the default maximum raises the maximum with it (unless that is set too).
    let EventBusConfig::Memory { delivery } =
        event_bus(&[("EVENT_BUS_RETRY_MIN_MS", "20000")]).unwrap()
    else {
        panic!("memory")
    };
    assert_eq!(
        (delivery.retry_min_ms, delivery.retry_max_ms),
        (20000, 20000)
    );
    assert!(delivery.settings().validate().is_ok());
}

#[test]
fn bad_delivery_settings_name_variable_value_and_allowed_values() {
    for (key, value, expected) in [
        (
            "EVENT_BUS_ACK_TIMEOUT_MS",
            "5",
            "milliseconds, an integer >= 10",
        ),
        (
            "EVENT_BUS_ACK_TIMEOUT_MS",
            "soon",
            "milliseconds, an integer >= 10",
        ),
        ("EVENT_BUS_MAX_ATTEMPTS", "0", "an integer >= 1"),
        ("EVENT_BUS_MAX_ATTEMPTS", "-1", "an integer >= 1"),
        ("EVENT_BUS_MAX_LEN", "0", "an integer >= 1, or none"),
        ("EVENT_BUS_MAX_LEN", "all", "an integer >= 1, or none"),
        (
            "EVENT_BUS_RETRY_MIN_MS",
            "0",
            "milliseconds, an integer >= 1",
        ),
        (
            "EVENT_BUS_RETRY_MAX_MS",
            "99",
            "milliseconds, an integer >= EVENT_BUS_RETRY_MIN_MS (100)",
        ),
        (
            "EVENT_BUS_DEDUPE_WINDOW_MS",
            "-1",
            "milliseconds, an integer >= 0",
        ),
        (
            "EVENT_BUS_DRAIN_TIMEOUT_MS",
            "1s",
            "milliseconds, an integer >= 0",
        ),
    ] {
        let err = event_bus(&[(key, value)]).unwrap_err();
        let want = format!("{key}={value:?} is invalid: expected {expected}");
        assert!(err.contains(&want), "{err}\nshould contain: {want}");
    }
}

#[test]
fn pulsar_settings_default_derive_and_are_checked() {
    let got = event_bus(&[
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", "pulsar://broker.internal:6650"),
        ("EVENT_BUS_MAX_ATTEMPTS", "4"),
    ])
    .unwrap();
    let EventBusConfig::Pulsar {
        admin_url,
        tenant,
        token,
        policies,
        receiver_queue,
        delivery,
        ..
    } = &got
    else {
        panic!("{got:?}")
    };
    assert_eq!(*receiver_queue, 1, "fair by default");
    assert_eq!(PULSAR_RECEIVER_QUEUE.default, format!("`{receiver_queue}`"));
    // The admin API defaults to Pulsar's web port on the broker's host.
    assert_eq!(admin_url.expose().as_str(), "http://broker.internal:8080/");
    assert_eq!(tenant, "public");
    assert!(token.is_none());
    assert_eq!(*policies, PulsarPolicies::default());
    assert_eq!(
        delivery.max_attempts, 4,
        "the delivery settings reach pulsar"
    );
    for (key, value) in [
        (&PULSAR_RETENTION_MINUTES, policies.retention_minutes),
        (&PULSAR_RETENTION_MB, policies.retention_mb),
        (&PULSAR_BACKLOG_QUOTA_MB, policies.backlog_quota_mb),
    ] {
        assert_eq!(key.default, format!("`{value}`"), "{}", key.name);
    }
    let got = event_bus(&[
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", "pulsar://h:6650"),
        ("PULSAR_ADMIN_URL", "https://admin.example:8443"),
        ("PULSAR_TENANT", "acme-saas"),
        ("PULSAR_RETENTION_MINUTES", "-1"),
        ("PULSAR_RETENTION_MB", "-1"),
        ("PULSAR_BACKLOG_QUOTA_MB", "4096"),
        ("PULSAR_RECEIVER_QUEUE", "64"),
    ])
    .unwrap();
    assert!(got.to_string().contains("receiver queue 64"), "{got}");
    let EventBusConfig::Pulsar {
        admin_url,
        tenant,
        policies,
        receiver_queue,
        ..
    } = &got
    else {
        panic!("{got:?}")
    };
    assert_eq!(admin_url.expose().as_str(), "https://admin.example:8443/");
    assert_eq!(tenant, "acme-saas");
    assert_eq!(*receiver_queue, 64);
    assert_eq!(
        *policies,
        PulsarPolicies {
            retention_minutes: -1,
            retention_mb: -1,
            backlog_quota_mb: 4096
        }
    );
    for (pairs, want) in [
        (
            ("PULSAR_TENANT", "a/b"),
            "PULSAR_TENANT=\"a/b\" is invalid: expected 1-100 characters of A-Z a-z 0-9 _ - .",
        ),
        (
            ("PULSAR_ADMIN_URL", "ftp://h"),
            "PULSAR_ADMIN_URL=\"ftp://h\" is invalid",
        ),
        (
            ("PULSAR_RETENTION_MINUTES", "-2"),
            "PULSAR_RETENTION_MINUTES=\"-2\" is invalid: expected an integer >= -1",
        ),
        (
            ("PULSAR_BACKLOG_QUOTA_MB", "1024"),
            "PULSAR_BACKLOG_QUOTA_MB=\"1024\" is invalid: expected an integer >= -1 and below PULSAR_RETENTION_MB (1024)",
        ),
        (
            ("PULSAR_RECEIVER_QUEUE", "0"),
            "PULSAR_RECEIVER_QUEUE=\"0\" is invalid: expected an integer 1-10000",
        ),
        (
            ("PULSAR_RECEIVER_QUEUE", "10001"),
            "PULSAR_RECEIVER_QUEUE=\"10001\" is invalid: expected an integer 1-10000",
        ),
        (
            ("PULSAR_RECEIVER_QUEUE", "many"),
            "PULSAR_RECEIVER_QUEUE=\"many\" is invalid: expected an integer 1-10000",
        ),
    ] {
        let err = event_bus(&[
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", "pulsar://h:6650"),
            pairs,
        ])
        .unwrap_err();
        assert!(err.contains(want), "{pairs:?}: {err}");
    }
}

#[test]
fn the_pulsar_summary_shows_no_token_and_no_admin_userinfo() {
    let c = event_bus(&[
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", "pulsar://h:6650"),
        ("PULSAR_ADMIN_URL", "http://admin:adminpw9@h:8080"),
        ("PULSAR_TOKEN", "tok-secret-7"),
    ])
    .unwrap();
    let shown = format!("{c} {c:?}");
    assert!(!shown.contains("tok-secret-7"), "{shown}");
    assert!(!shown.contains("adminpw9"), "{shown}");
    assert!(shown.contains("token ***"), "{shown}");
    let mut s = Scrubber::new();
    c.secrets(&mut s);
    assert_eq!(s.scrub("adminpw9 tok-secret-7"), "*** ***");
}

fn scope_of(pairs: &[(&str, &str)]) -> Result<ResourceScope, String> {
    match event_bus(pairs)? {
        EventBusConfig::Redis { scope, .. }
        | EventBusConfig::Kafka { scope, .. }
        | EventBusConfig::Pulsar { scope, .. } => Ok(scope),
        EventBusConfig::Memory { .. } => Err("memory has no scope".into()),
    }
}

#[test]
fn every_live_bus_is_scoped_by_the_environment_or_the_override() {
    for backend in [
        [("EVENT_BUS", "redis"), ("REDIS_URL", "redis://h:1")],
        [("EVENT_BUS", "kafka"), ("KAFKA_BOOTSTRAP_SERVERS", "h:1")],
        [("EVENT_BUS", "pulsar"), ("PULSAR_URL", "pulsar://h:1")],
    ] {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = backend.to_vec();
            pairs.extend_from_slice(extra);
            scope_of(&pairs)
        };
        assert_eq!(with(&[]).unwrap().as_str(), Some("development"));
        let prod = with(&[("AVB_ENV", "production")]).unwrap();
        assert_eq!(prod.as_str(), Some("production"));
        let eu = with(&[("AVB_ENV", "production"), ("AVB_RESOURCE_SCOPE", "prod-eu")]);
        assert_eq!(eu.unwrap().as_str(), Some("prod-eu"));
        let err = with(&[("AVB_RESOURCE_SCOPE", "Prod.EU")]).unwrap_err();
        assert!(
            err.contains("AVB_RESOURCE_SCOPE") && err.contains("Prod.EU") && err.contains("1-32"),
            "{err}"
        );
        let err = with(&[("AVB_RESOURCE_SCOPE", "none")]).unwrap_err();
        assert!(err.contains("AVB_ENV=development"), "{err}");
        let none = with(&[("AVB_ENV", "staging"), ("AVB_RESOURCE_SCOPE", "none")]);
        assert!(none.unwrap().is_unscoped());
        let err = with(&[("AVB_RESOURCE_SCOPE", "production")]).unwrap_err();
        assert!(err.contains("share production"), "{err}");
    }
}
