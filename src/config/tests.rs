//! Table-driven tests: every row of DESIGN §2 and every error message of the foundation issue.

use super::*;

/// Variables of one table row.
type Pairs = &'static [(&'static str, &'static str)];

fn resolve(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_iter(pairs.iter().copied())
}

fn ok(pairs: &[(&str, &str)]) -> Config {
    resolve(pairs).unwrap_or_else(|e| panic!("{pairs:?} should resolve: {e}"))
}

fn messages(pairs: &[(&str, &str)]) -> Vec<String> {
    match resolve(pairs) {
        Ok(c) => panic!("{pairs:?} should fail, resolved to:\n{c}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

/// Connection settings that make every live backend resolvable, so a case can focus on one thing.
const LIVE_SETTINGS: &[(&str, &str)] = &[
    ("PULSAR_URL", "pulsar://127.0.0.1:6650"),
    ("OIDC_ISSUER_URL", "http://127.0.0.1:18080/realms/avb"),
    ("OIDC_AUDIENCE", "avb-api"),
    ("OBJECT_STORE_BUCKET", "avb"),
    ("OPENMETADATA_URL", "http://127.0.0.1:18585/api"),
    ("LLM_API_URL", "http://127.0.0.1:11434"),
    ("LLM_MODEL", "gemma3:270m"),
];

fn with_live(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    LIVE_SETTINGS.iter().chain(extra).copied().collect()
}

fn kinds(c: &Config) -> [String; 5] {
    let tag = |v: serde_json::Value| v["kind"].as_str().unwrap_or_default().to_string();
    [
        tag(serde_json::to_value(&c.event_bus.backend).unwrap()),
        tag(serde_json::to_value(&c.auth.backend).unwrap()),
        tag(serde_json::to_value(&c.object_store.backend).unwrap()),
        tag(serde_json::to_value(&c.catalog.backend).unwrap()),
        tag(serde_json::to_value(&c.llm.backend).unwrap()),
    ]
}

#[test]
fn environment_and_mode_rows() {
    use Environment::*;
    use Mode::*;
    // (pairs, environment, mode, what set the environment)
    let rows: &[(Pairs, Environment, Mode, Source)] = &[
        (&[], Development, Sandbox, Source::Default),
        (
            &[("AVB_ENV", "development")],
            Development,
            Sandbox,
            Source::Variable {
                name: "AVB_ENV".into(),
            },
        ),
        (
            &[("DJANGO_ENV", "development")],
            Development,
            Sandbox,
            Source::Variable {
                name: "DJANGO_ENV".into(),
            },
        ),
        (
            &[("AVB_DEV_MODE", "live")],
            Development,
            Live,
            Source::Default,
        ),
        (
            &[("AVB_DEV_MODE", "sandbox")],
            Development,
            Sandbox,
            Source::Default,
        ),
        (
            &[("AVB_ENV", "Production")],
            Production,
            Live,
            Source::Variable {
                name: "AVB_ENV".into(),
            },
        ),
        (
            &[("AVB_ENV", "staging")],
            Staging,
            Live,
            Source::Variable {
                name: "AVB_ENV".into(),
            },
        ),
        (
            &[("DJANGO_ENV", "production")],
            Production,
            Live,
            Source::Variable {
                name: "DJANGO_ENV".into(),
            },
        ),
        // AVB_ENV wins over DJANGO_ENV, both ways round.
        (
            &[("AVB_ENV", "staging"), ("DJANGO_ENV", "development")],
            Staging,
            Live,
            Source::Variable {
                name: "AVB_ENV".into(),
            },
        ),
        (
            &[("AVB_ENV", "development"), ("DJANGO_ENV", "production")],
            Development,
            Sandbox,
            Source::Variable {
                name: "AVB_ENV".into(),
            },
        ),
        // AVB_DEV_MODE is ignored outside development: staging/production are always live.
        (
            &[("AVB_ENV", "production"), ("AVB_DEV_MODE", "sandbox")],
            Production,
            Live,
            Source::Variable {
                name: "AVB_ENV".into(),
            },
        ),
        (
            &[("DJANGO_ENV", "staging"), ("AVB_DEV_MODE", "sandbox")],
            Staging,
            Live,
            Source::Variable {
                name: "DJANGO_ENV".into(),
            },
        ),
    ];
    for (pairs, environment, mode, env_source) in rows {
        let c = ok(&with_live(pairs));
        assert_eq!(
            (c.environment, c.mode, &c.environment_source),
            (*environment, *mode, env_source),
            "{pairs:?}"
        );
    }
}

#[test]
fn ignored_variables_are_reported_in_the_summary() {
    let c = ok(&with_live(&[
        ("AVB_ENV", "production"),
        ("AVB_DEV_MODE", "sandbox"),
        ("DJANGO_ENV", "development"),
    ]));
    let keys: Vec<&str> = c.ignored.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["DJANGO_ENV", "AVB_DEV_MODE"]);
    let summary = c.to_string();
    assert!(summary.contains("ignored       AVB_DEV_MODE=\"sandbox\": read only in development; the environment is production, which is always live"), "{summary}");
    assert!(
        summary.contains(
            "ignored       DJANGO_ENV=\"development\": AVB_ENV is set and wins over DJANGO_ENV"
        ),
        "{summary}"
    );
    assert!(summary.contains("(always live in production)"), "{summary}");
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["ignored"][1]["key"], "AVB_DEV_MODE");
}

#[test]
fn port_defaults_per_mode() {
    let sandbox = ok(&[]);
    assert_eq!(
        kinds(&sandbox),
        ["memory", "none", "memory", "json", "mock"]
    );
    let dev_live = ok(&with_live(&[("AVB_DEV_MODE", "live")]));
    assert_eq!(
        kinds(&dev_live),
        ["pulsar", "keycloak", "s3", "openmetadata", "ollama"]
    );
    let production = ok(&with_live(&[("AVB_ENV", "production")]));
    assert_eq!(
        kinds(&production),
        ["pulsar", "keycloak", "s3", "openmetadata", "ollama"]
    );
    for port in [&sandbox.event_bus.chosen_by, &production.llm.chosen_by] {
        assert_eq!(port, &Source::Default);
    }
}

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

#[test]
fn unknown_values_list_the_allowed_values() {
    let rows = [
        (
            "EVENT_BUS",
            "kafak",
            "EVENT_BUS=\"kafak\" is invalid: expected one of memory, redis, kafka, pulsar",
        ),
        (
            "AUTH_MODE",
            "jwt",
            "AUTH_MODE=\"jwt\" is invalid: expected one of none, local, keycloak, oidc",
        ),
        (
            "OBJECT_STORE",
            "gcs",
            "OBJECT_STORE=\"gcs\" is invalid: expected one of memory, fs, s3",
        ),
        (
            "DATA_CATALOG",
            "yaml",
            "DATA_CATALOG=\"yaml\" is invalid: expected one of json, openmetadata",
        ),
        (
            "LLM_PROVIDER",
            "groq",
            "LLM_PROVIDER=\"groq\" is invalid: expected one of mock, openai, ollama",
        ),
        (
            "AVB_ENV",
            "prod",
            "AVB_ENV=\"prod\" is invalid: expected one of development, staging, production",
        ),
        (
            "DJANGO_ENV",
            "test",
            "DJANGO_ENV=\"test\" is invalid: expected one of development, staging, production",
        ),
        (
            "AVB_DEV_MODE",
            "offline",
            "AVB_DEV_MODE=\"offline\" is invalid: expected one of sandbox, live",
        ),
        (
            "EVENT_BUS",
            "",
            "EVENT_BUS=\"\" is invalid: expected `memory`, `redis`, `kafka`, `pulsar` (unset the variable instead of leaving it empty)",
        ),
    ];
    for (key, value, want) in rows {
        assert_eq!(messages(&[(key, value)]), [want]);
    }
}

#[test]
fn unknown_avb_variables_are_errors_and_test_variables_are_not() {
    assert_eq!(
        messages(&[("AVB_DEV_MOD", "live")]),
        ["AVB_DEV_MOD is not a known avb variable (did you mean AVB_DEV_MODE?)"]
    );
    assert_eq!(
        messages(&[("AVB_FROBNICATE", "1")]),
        ["AVB_FROBNICATE is not a known avb variable (`avb vars` lists them all)"]
    );
    // The harness's own variables and other programs' variables are not avb's business.
    ok(&[
        ("AVB_TEST_WHATEVER", "x"),
        ("PATH", "/bin"),
        ("EVENTBUS", "x"),
    ]);
}

#[test]
fn malformed_urls_name_their_variable_and_hide_credentials() {
    let rows: &[(Pairs, &str)] = &[
        (
            &[
                ("EVENT_BUS", "redis"),
                ("REDIS_URL", "redis://:hunter2@host:notaport"),
            ],
            "REDIS_URL=\"redis://***\" is invalid: expected a URL (invalid port number) with scheme redis or rediss or redis+unix or unix",
        ),
        (
            &[("EVENT_BUS", "redis"), ("REDIS_URL", "http://host:6379")],
            "REDIS_URL=\"http://host:6379\" is invalid: expected a URL with scheme redis or rediss or redis+unix or unix (got \"http\")",
        ),
        (
            &[("EVENT_BUS", "redis"), ("REDIS_URL", "127.0.0.1:6379")],
            "REDIS_URL=\"***\" is invalid: expected a URL (relative URL without a base) with scheme redis or rediss or redis+unix or unix",
        ),
        (
            &[("EVENT_BUS", "pulsar"), ("PULSAR_URL", "pulsar://")],
            "PULSAR_URL=\"pulsar://\" is invalid: expected a URL with a host",
        ),
        (
            &[
                ("EVENT_BUS", "kafka"),
                ("KAFKA_BOOTSTRAP_SERVERS", "h:9092,nohost"),
            ],
            "KAFKA_BOOTSTRAP_SERVERS=\"h:9092,nohost\" is invalid: expected host:port[,host:port…] (entry 2 is not host:port)",
        ),
        (
            &[
                ("AUTH_MODE", "oidc"),
                ("OIDC_ISSUER_URL", "keycloak/realms/x"),
            ],
            "OIDC_ISSUER_URL=\"***\" is invalid: expected a URL (relative URL without a base) with scheme http or https",
        ),
        (
            &[
                ("OBJECT_STORE", "s3"),
                ("OBJECT_STORE_BUCKET", "b"),
                ("AWS_ENDPOINT_URL", "s3://minio"),
            ],
            "AWS_ENDPOINT_URL=\"s3://minio\" is invalid: expected a URL with scheme http or https (got \"s3\")",
        ),
        (
            &[
                ("DATA_CATALOG", "openmetadata"),
                ("OPENMETADATA_URL", "http://[::1"),
            ],
            "OPENMETADATA_URL=\"http://***\" is invalid: expected a URL (invalid IPv6 address) with scheme http or https",
        ),
        (
            &[
                ("LLM_PROVIDER", "ollama"),
                ("LLM_MODEL", "m"),
                ("LLM_API_URL", "ftp://x"),
            ],
            "LLM_API_URL=\"ftp://x\" is invalid: expected a URL with scheme http or https (got \"ftp\")",
        ),
        // A password with an unencoded '/', '#' or '?' that still parses: '@' after the host.
        (
            &[
                ("EVENT_BUS", "redis"),
                ("REDIS_URL", "redis://user:12/pw@host"),
            ],
            "REDIS_URL=\"redis://***\" is invalid: expected a URL with '@' only before the host (percent-encode '/', '?', '#' and '@' in a user name or password: %2F, %3F, %23, %40)",
        ),
        (
            &[("EVENT_BUS", "redis"), ("REDIS_URL", "redis://h:1#pw@x")],
            "REDIS_URL=\"redis://***\" is invalid: expected a URL with '@' only before the host (percent-encode '/', '?', '#' and '@' in a user name or password: %2F, %3F, %23, %40)",
        ),
        // No "scheme://": the first word may be a user name, so nothing is shown.
        (
            &[("EVENT_BUS", "redis"), ("REDIS_URL", "user:pw@host:6379")],
            "REDIS_URL=\"***\" is invalid: expected a URL of the form <scheme>://host with scheme redis or rediss or redis+unix or unix",
        ),
        (
            &[("EVENT_BUS", "redis"), ("REDIS_URL", "redis:/user:pw@host")],
            "REDIS_URL=\"***\" is invalid: expected a URL of the form <scheme>://host with scheme redis or rediss or redis+unix or unix",
        ),
        (
            &[
                ("EVENT_BUS", "kafka"),
                ("KAFKA_BOOTSTRAP_SERVERS", "h:9092,user:pw@h:9093"),
            ],
            "KAFKA_BOOTSTRAP_SERVERS=\"***\" is invalid: expected host:port[,host:port…] (entry 2 is not host:port)",
        ),
    ];
    for (pairs, want) in rows {
        assert_eq!(messages(pairs), [*want], "{pairs:?}");
    }
}

#[test]
fn conflicting_settings_are_errors() {
    assert_eq!(
        messages(&[
            ("AUTH_MODE", "oidc"),
            ("OIDC_ISSUER_URL", "http://a/realms/x"),
            ("KEYCLOAK_URL", "http://a")
        ]),
        [
            "OIDC_ISSUER_URL and KEYCLOAK_URL/KEYCLOAK_REALM are both set: set the issuer one way only"
        ]
    );
    assert_eq!(
        messages(&[
            ("OBJECT_STORE", "s3"),
            ("OBJECT_STORE_BUCKET", "b"),
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        ]),
        [
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both for static credentials, or neither for the AWS SDK's chain"
        ]
    );
    assert_eq!(
        messages(&[
            ("AUTH_MODE", "keycloak"),
            ("KEYCLOAK_URL", "http://kc"),
            ("KEYCLOAK_REALM", "a/b")
        ]),
        ["KEYCLOAK_REALM=\"a/b\" is invalid: expected a realm name without '/', '?' or '#'"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = resolve(&[
        ("AVB_ENV", "production"),
        ("EVENT_BUS", "memory"),
        ("AUTH_MODE", "none"),
        ("AVB_DEV_MOD", "x"),
    ])
    .unwrap_err();
    assert_eq!(err.problems().len(), 2 + 1 + 4, "{err}");
    assert!(
        err.to_string()
            .starts_with("invalid avb configuration (7 problems):\n  - "),
        "{err}"
    );
    assert_eq!(err.problems()[0].key(), Some("AVB_DEV_MOD"));
}

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
            root: "/data".into()
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
