//! Unknown values and variables, malformed URLs, conflicts: every problem named, all at once.

use super::*;

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
