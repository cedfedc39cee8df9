//! Secrets, `.env.*` files, non-UTF-8 values, the summary and the registry.

use super::*;

#[test]
fn secrets_never_appear_in_summary_json_debug_or_errors() {
    let secrets = [
        "redispw",
        "pulsartok",
        "AKIASECRETID",
        "awssecret",
        "omtoken",
        "llmkey",
        "user1",
    ];
    let pairs = [
        ("AVB_DEV_MODE", "live"),
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", "rediss://user1:redispw@cache:6380/0"),
        ("PULSAR_TOKEN", "pulsartok"),
        ("OIDC_ISSUER_URL", "https://kc/realms/a"),
        ("OIDC_AUDIENCE", "avb-api"),
        ("OBJECT_STORE_BUCKET", "b"),
        ("AWS_ACCESS_KEY_ID", "AKIASECRETID"),
        ("AWS_SECRET_ACCESS_KEY", "awssecret"),
        ("DATA_CATALOG", "openmetadata"),
        ("OPENMETADATA_URL", "http://om/api"),
        ("OPENMETADATA_TOKEN", "omtoken"),
        ("LLM_PROVIDER", "openai"),
        ("LLM_API_URL", "https://api.openai.com/v1"),
        ("LLM_API_KEY", "llmkey"),
        ("LLM_MODEL", "gpt"),
    ];
    let c = ok(&pairs);
    let shown = format!("{c}\n{c:?}\n{}", serde_json::to_string(&c).unwrap());
    for s in secrets {
        assert!(!shown.contains(s), "{s} leaked:\n{shown}");
    }
    assert!(shown.contains("rediss://***@cache:6380/0"), "{shown}");
    // ... while the clients can still reach them.
    let EventBusConfig::Redis { url, .. } = &c.event_bus.backend else {
        panic!("not redis")
    };
    assert_eq!(url.expose().password(), Some("redispw"));
    let ObjectStoreConfig::S3 {
        credentials: Some(creds),
        ..
    } = &c.object_store.backend
    else {
        panic!("no creds")
    };
    assert_eq!(creds.secret_access_key.expose(), "awssecret");
    // Errors: an empty secret and a malformed URL with a password.
    let err = resolve(&[
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", "redis://u:redispw@h:bad"),
        ("OBJECT_STORE", "s3"),
        ("OBJECT_STORE_BUCKET", "b"),
        ("AWS_SECRET_ACCESS_KEY", "awssecret"),
    ])
    .unwrap_err();
    let shown = format!("{err}\n{err:?}");
    for s in ["redispw", "awssecret"] {
        assert!(!shown.contains(s), "{s} leaked:\n{shown}");
    }
}

#[test]
fn env_file_layers_under_the_process_environment() {
    let builder =
        ConfigBuilder::new().from_iter([("EVENT_BUS", "redis"), ("REDIS_URL", "redis://env:6379")]);
    assert_eq!(builder.env_file_name().unwrap(), ".env.sandbox");
    let c = builder
        .with_env_file(
            ".env.sandbox",
            "REDIS_URL=redis://file:6379\nOBJECT_STORE=fs\nOBJECT_STORE_DIR=/data\n",
        )
        .build()
        .unwrap();
    let EventBusConfig::Redis { url, .. } = &c.event_bus.backend else {
        panic!("not redis")
    };
    assert_eq!(
        url.expose().host_str(),
        Some("env"),
        "the process environment wins"
    );
    assert_eq!(
        c.object_store.backend,
        ObjectStoreConfig::Fs {
            root: "/data".into(),
            scope: avb_core::ResourceScope::default(),
        }
    );
    assert_eq!(
        c.object_store.chosen_by,
        Source::File {
            name: "OBJECT_STORE".into(),
            file: ".env.sandbox".into()
        }
    );
    assert!(
        c.to_string()
            .contains("(set by OBJECT_STORE in .env.sandbox)"),
        "{c}"
    );
    assert_eq!(c.env_file.as_deref(), Some(".env.sandbox"));

    let live = ConfigBuilder::new().from_iter([("AVB_ENV", "production")]);
    assert_eq!(live.env_file_name().unwrap(), ".env.live");
    let bad = ConfigBuilder::new()
        .from_iter([("AVB_ENV", "prod")])
        .env_file_name()
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "invalid avb configuration: AVB_ENV=\"prod\" is invalid: expected one of development, staging, production"
    );
}

#[test]
fn env_file_cannot_choose_the_mode_and_bad_lines_name_file_and_line() {
    let got: Vec<String> = ConfigBuilder::new()
        .with_env_file(".env.sandbox", "AVB_DEV_MODE=live\nnot a line\n")
        .build()
        .unwrap_err()
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got, [".env.sandbox:2:1: expected KEY=value"]);
    let got = ConfigBuilder::new()
        .with_env_file(".env.live", "AVB_ENV=staging\n")
        .build()
        .unwrap_err();
    assert_eq!(
        got.problems()[0].to_string(),
        "AVB_ENV cannot be set in .env.live: the file is chosen by the mode; set AVB_ENV in the process environment"
    );
    let got = ConfigBuilder::new()
        .with_unreadable_env_file(".env.sandbox", "Permission denied")
        .build()
        .unwrap_err();
    assert_eq!(
        got.problems()[0].to_string(),
        ".env.sandbox exists but cannot be read: Permission denied"
    );
}

#[test]
fn non_unicode_values_of_avb_variables_are_errors() {
    let err = ConfigBuilder::new()
        .with_non_unicode("EVENT_BUS")
        .with_non_unicode("SOMETHING_ELSE")
        .build()
        .unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert_eq!(
        err.problems()[0].to_string(),
        "EVENT_BUS=\"<not UTF-8>\" is invalid: expected a UTF-8 value"
    );
}

#[test]
fn trust_all_identity_is_configurable() {
    let c = ok(&[
        ("AVB_SANDBOX_WORKSPACE", "team-a"),
        ("AVB_SANDBOX_SUBJECT", "alice"),
    ]);
    assert_eq!(
        c.auth.backend,
        AuthConfig::None {
            workspace_id: "team-a".into(),
            subject: "alice".into()
        }
    );
}

#[test]
fn summary_shows_event_bus_delivery_settings() {
    let c = ok(&[
        ("EVENT_BUS_MAX_ATTEMPTS", "7"),
        ("EVENT_BUS_MAX_LEN", "none"),
    ]);
    let summary = c.to_string();
    assert!(
        summary.contains("memory (in-process), ack timeout 30000 ms, max attempts 7, no trimming"),
        "{summary}"
    );
}

#[test]
fn config_error_debug_is_the_readable_message() {
    // `fn main() -> Result<(), Box<dyn Error>>` prints the error's Debug: it must read like the Display.
    let err = resolve(&[("EVENT_BUS", "kafak"), ("AUTH_MODE", "nope")]).unwrap_err();
    let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
    assert_eq!(format!("{boxed:?}"), err.to_string());
    assert!(!format!("{boxed:?}").contains("problems: ["), "{boxed:?}");
}

#[test]
fn the_registry_lists_every_reserved_workspace_claim() {
    let values = registry()
        .find("AUTH_WORKSPACE_CLAIM")
        .map(|k| k.values)
        .unwrap_or_default();
    for (name, _) in avb_auth::config::RESERVED_CLAIMS {
        assert!(
            values.contains(&format!("`{name}`")),
            "{name} missing from {values}"
        );
    }
}
