//! Environment and mode resolution, ignored variables, per-mode port defaults.

use super::*;

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
