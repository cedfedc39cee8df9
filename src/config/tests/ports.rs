//! Per-port overrides, endpoints, sandbox-only refusals and missing live settings.

use super::*;

#[test]
fn per_port_overrides() {
    // (override pairs, port index in `kinds`, expected kind)
    let rows: &[(Pairs, usize, &str)] = &[
        (&[("EVENT_BUS", "memory")], 0, "memory"),
        (
            &[
                ("EVENT_BUS", "redis"),
                ("REDIS_URL", "redis://127.0.0.1:6379"),
            ],
            0,
            "redis",
        ),
        (
            &[
                ("EVENT_BUS", "kafka"),
                ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092, [::1]:9093"),
            ],
            0,
            "kafka",
        ),
        (
            &[
                ("EVENT_BUS", "pulsar"),
                ("PULSAR_URL", "pulsar+ssl://broker:6651"),
            ],
            0,
            "pulsar",
        ),
        (&[("AUTH_MODE", "none")], 1, "none"),
        (&[("AUTH_MODE", "local")], 1, "local"),
        (
            &[
                ("AUTH_MODE", "keycloak"),
                ("OIDC_ISSUER_URL", "https://kc/realms/a"),
                ("OIDC_AUDIENCE", "avb-api"),
            ],
            1,
            "keycloak",
        ),
        (
            &[
                ("AUTH_MODE", "oidc"),
                ("OIDC_ISSUER_URL", "https://kc/realms/a"),
                ("OIDC_AUDIENCE", "avb-api"),
            ],
            1,
            "keycloak",
        ),
        (&[("OBJECT_STORE", "memory")], 2, "memory"),
        (&[("OBJECT_STORE", "fs")], 2, "fs"),
        (
            &[("OBJECT_STORE", "s3"), ("OBJECT_STORE_BUCKET", "b")],
            2,
            "s3",
        ),
        (&[("DATA_CATALOG", "json")], 3, "json"),
        (
            &[
                ("DATA_CATALOG", "openmetadata"),
                ("OPENMETADATA_URL", "http://om:8585/api"),
            ],
            3,
            "openmetadata",
        ),
        (&[("LLM_PROVIDER", "mock")], 4, "mock"),
        (
            &[
                ("LLM_PROVIDER", "openai"),
                ("LLM_API_URL", "https://api.groq.com/openai/v1"),
                ("LLM_MODEL", "m"),
            ],
            4,
            "openai",
        ),
        (
            &[
                ("LLM_PROVIDER", "ollama"),
                ("LLM_API_URL", "http://127.0.0.1:11434"),
                ("LLM_MODEL", "m"),
            ],
            4,
            "ollama",
        ),
    ];
    for (pairs, port, kind) in rows {
        let c = ok(pairs);
        assert_eq!(kinds(&c)[*port], *kind, "{pairs:?}");
        let var = pairs[0].0;
        let chosen_by = [
            &c.event_bus.chosen_by,
            &c.auth.chosen_by,
            &c.object_store.chosen_by,
            &c.catalog.chosen_by,
            &c.llm.chosen_by,
        ][*port];
        assert_eq!(
            chosen_by,
            &Source::Variable { name: var.into() },
            "{pairs:?}"
        );
        assert!(
            c.to_string().contains(&format!("(set by {var})")),
            "{pairs:?}: {c}"
        );
    }
}

#[test]
fn aws_endpoint_url_picks_minio_gcs_or_aws_without_code_changes() {
    for (endpoint, shown) in [
        (Some("http://127.0.0.1:19000"), "at http://127.0.0.1:19000/"),
        (
            Some("https://storage.googleapis.com"),
            "at https://storage.googleapis.com/",
        ),
        (None, "at AWS"),
    ] {
        let mut pairs = vec![("OBJECT_STORE", "s3"), ("OBJECT_STORE_BUCKET", "b")];
        pairs.extend(endpoint.map(|e| ("AWS_ENDPOINT_URL", e)));
        let c = ok(&pairs);
        let ObjectStoreConfig::S3 { endpoint: got, .. } = &c.object_store.backend else {
            panic!("not s3")
        };
        assert_eq!(
            got.as_ref()
                .map(|u| u.expose().as_str().trim_end_matches('/').to_string()),
            endpoint.map(str::to_string)
        );
        assert!(c.to_string().contains(shown), "{c}");
    }
}

#[test]
fn keycloak_url_and_realm_make_the_issuer() {
    let c = ok(&[
        ("AUTH_MODE", "keycloak"),
        ("KEYCLOAK_URL", "http://kc:8080/auth/"),
        ("KEYCLOAK_REALM", "avb"),
        ("OIDC_AUDIENCE", "avb-api"),
    ]);
    let AuthConfig::Keycloak { issuer, .. } = &c.auth.backend else {
        panic!("not keycloak")
    };
    assert_eq!(issuer.expose().as_str(), "http://kc:8080/auth/realms/avb");
}

#[test]
fn sandbox_only_backends_are_refused_in_staging_and_production() {
    let backends = [
        ("AUTH_MODE", "none", "keycloak"),
        ("AUTH_MODE", "local", "keycloak"),
        ("EVENT_BUS", "memory", "redis, kafka, pulsar"),
        ("OBJECT_STORE", "memory", "fs, s3"),
        ("LLM_PROVIDER", "mock", "openai, ollama"),
    ];
    for env_var in ["AVB_ENV", "DJANGO_ENV"] {
        for environment in ["staging", "production"] {
            for (key, value, allowed) in backends {
                // AVB_DEV_MODE=sandbox must not reopen the door.
                let got = messages(&with_live(&[
                    (env_var, environment),
                    ("AVB_DEV_MODE", "sandbox"),
                    (key, value),
                ]));
                assert_eq!(
                    got,
                    [format!(
                        "{key}=\"{value}\" is a sandbox-only backend and is refused when {env_var}={environment}: expected one of {allowed}"
                    )],
                );
            }
        }
    }
    // The same backends are fine in development, sandbox or live.
    for mode in ["sandbox", "live"] {
        let c = ok(&with_live(&[
            ("AVB_DEV_MODE", mode),
            ("AUTH_MODE", "none"),
            ("EVENT_BUS", "memory"),
            ("OBJECT_STORE", "memory"),
            ("LLM_PROVIDER", "mock"),
        ]));
        assert_eq!(kinds(&c)[..3], ["memory", "none", "memory"]);
    }
}

#[test]
fn live_backends_without_connection_settings_are_errors() {
    let rows: &[(Pairs, &str)] = &[
        (
            &[("EVENT_BUS", "redis")],
            "REDIS_URL is required when EVENT_BUS=redis (for example REDIS_URL=redis://127.0.0.1:6379)",
        ),
        (
            &[("EVENT_BUS", "kafka")],
            "KAFKA_BOOTSTRAP_SERVERS is required when EVENT_BUS=kafka (for example KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092)",
        ),
        (
            &[("EVENT_BUS", "pulsar")],
            "PULSAR_URL is required when EVENT_BUS=pulsar (for example PULSAR_URL=pulsar://127.0.0.1:6650)",
        ),
        (
            &[("AUTH_MODE", "oidc")],
            "OIDC_ISSUER_URL is required when AUTH_MODE=keycloak (for example OIDC_ISSUER_URL=http://127.0.0.1:8080/realms/avb, or KEYCLOAK_URL + KEYCLOAK_REALM)",
        ),
        (
            &[("AUTH_MODE", "keycloak"), ("KEYCLOAK_URL", "http://kc")],
            "KEYCLOAK_REALM is required when KEYCLOAK_URL is set (for example KEYCLOAK_REALM=avb)",
        ),
        (
            &[("OBJECT_STORE", "s3")],
            "OBJECT_STORE_BUCKET is required when OBJECT_STORE=s3 (for example OBJECT_STORE_BUCKET=avb-data)",
        ),
        (
            &[("DATA_CATALOG", "openmetadata")],
            "OPENMETADATA_URL is required when DATA_CATALOG=openmetadata (for example OPENMETADATA_URL=http://127.0.0.1:8585/api)",
        ),
        (
            &[("LLM_PROVIDER", "ollama"), ("LLM_MODEL", "m")],
            "LLM_API_URL is required when LLM_PROVIDER=ollama (for example LLM_API_URL=http://127.0.0.1:11434)",
        ),
        (
            &[
                ("LLM_PROVIDER", "openai"),
                ("LLM_API_URL", "https://api.openai.com/v1"),
            ],
            "LLM_MODEL is required when LLM_PROVIDER=openai (for example LLM_MODEL=gemma3:270m)",
        ),
        // Locations that have a sandbox default must be explicit in live mode.
        (
            &[
                ("AVB_DEV_MODE", "live"),
                ("PULSAR_URL", "pulsar://h:6650"),
                ("OIDC_ISSUER_URL", "http://i"),
                ("OBJECT_STORE", "fs"),
                ("DATA_CATALOG", "json"),
                ("LLM_API_URL", "http://l"),
                ("LLM_MODEL", "m"),
            ],
            "OBJECT_STORE_DIR is required when OBJECT_STORE=fs in live mode (for example OBJECT_STORE_DIR=.avb/objects)",
        ),
    ];
    for (pairs, want) in rows {
        let got = messages(pairs);
        assert!(got.iter().any(|m| m == want), "{pairs:?}: got {got:?}");
    }
    // Production with nothing set: every live default's missing setting is reported at once.
    let got = messages(&[("AVB_ENV", "production")]);
    let keys: Vec<&str> = got.iter().filter_map(|m| m.split(' ').next()).collect();
    assert_eq!(
        keys,
        [
            "PULSAR_URL",
            "OIDC_ISSUER_URL",
            "OBJECT_STORE_BUCKET",
            "OPENMETADATA_URL",
            "LLM_API_URL",
            "LLM_MODEL"
        ]
    );
    assert!(got[0].ends_with("when EVENT_BUS=pulsar (the live default) (for example PULSAR_URL=pulsar://127.0.0.1:6650)"), "{got:?}");
}
