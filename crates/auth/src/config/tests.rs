use super::*;
use avb_core::config::PortConfig;

fn keycloak(extra: &[(&str, &str)]) -> Result<AuthConfig, String> {
    let mut pairs = vec![
        ("AUTH_MODE", "keycloak"),
        ("OIDC_ISSUER_URL", "http://127.0.0.1:18080/realms/avb"),
    ];
    pairs.extend_from_slice(extra);
    AuthConfig::from_pairs(pairs)
        .map(|p| p.backend)
        .map_err(|e| e.to_string())
}

#[test]
fn keycloak_reads_audience_client_claim_and_limits() {
    let auth = keycloak(&[
        ("OIDC_AUDIENCE", "urn:avb:api"),
        ("OIDC_CLIENT_ID", "avb-service"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
        ("AUTH_WORKSPACE_CLAIM", "tenant"),
        ("AUTH_LEEWAY_SECONDS", "5"),
    ])
    .unwrap();
    let AuthConfig::Keycloak {
        audience,
        client_id,
        client_secret,
        workspace_claim,
        leeway_seconds,
        jwks_min_refresh_seconds,
        jwks_max_age_seconds,
        ..
    } = auth
    else {
        panic!("not keycloak: {auth:?}");
    };
    assert_eq!(audience, "urn:avb:api");
    assert_eq!(client_id.as_deref(), Some("avb-service"));
    assert_eq!(
        client_secret.map(|s| s.expose().to_string()).as_deref(),
        Some("s3cret")
    );
    assert_eq!(workspace_claim, "tenant");
    assert_eq!(
        (
            leeway_seconds,
            jwks_min_refresh_seconds,
            jwks_max_age_seconds
        ),
        (5, 10, 300)
    );
}

#[test]
fn introspection_is_off_by_default_and_needs_the_client_when_on() {
    let AuthConfig::Keycloak {
        introspection,
        introspection_cache_seconds,
        ..
    } = keycloak(&[("OIDC_AUDIENCE", "a")]).unwrap()
    else {
        panic!("not keycloak");
    };
    assert_eq!(
        (introspection, introspection_cache_seconds),
        (OidcIntrospection::Off, 5)
    );
    let client = [("OIDC_CLIENT_ID", "api"), ("OIDC_CLIENT_SECRET", "s3cret")];
    for (value, expected) in [
        ("all", OidcIntrospection::All),
        ("per_route", OidcIntrospection::PerRoute),
    ] {
        let mut vars = vec![("OIDC_AUDIENCE", "a"), ("OIDC_INTROSPECTION", value)];
        vars.push(("OIDC_INTROSPECTION_CACHE_SECONDS", "0"));
        vars.extend(client);
        let AuthConfig::Keycloak {
            introspection,
            introspection_cache_seconds,
            ..
        } = keycloak(&vars).unwrap()
        else {
            panic!("not keycloak");
        };
        assert_eq!((introspection, introspection_cache_seconds), (expected, 0));
        let err = keycloak(&[("OIDC_AUDIENCE", "a"), ("OIDC_INTROSPECTION", value)]).unwrap_err();
        assert!(
            err.contains("OIDC_INTROSPECTION") && err.contains("OIDC_CLIENT_SECRET"),
            "{err}"
        );
    }
    for bad in [
        ("OIDC_INTROSPECTION", "yes"),
        ("OIDC_INTROSPECTION_CACHE_SECONDS", "301"),
    ] {
        let err = keycloak(&[("OIDC_AUDIENCE", "a"), bad, client[0], client[1]]).unwrap_err();
        assert!(err.contains(bad.0) && !err.contains("s3cret"), "{err}");
    }
}

#[test]
fn allowed_origins_are_parsed_to_origins_and_anything_else_is_refused() {
    let auth = keycloak(&[
        ("OIDC_AUDIENCE", "a"),
        (
            "OIDC_ALLOWED_ORIGINS",
            "https://kc-internal:8443, http://Keys.Example/",
        ),
    ])
    .unwrap();
    let AuthConfig::Keycloak {
        allowed_origins, ..
    } = auth
    else {
        panic!("not keycloak: {auth:?}");
    };
    assert_eq!(
        allowed_origins,
        ["https://kc-internal:8443", "http://keys.example"]
    );
    for bad in [
        "https://h/path",
        "ftp://h",
        "https://u:MARKER@h",
        "not a url",
        "https://h?x=1",
    ] {
        let err = keycloak(&[("OIDC_AUDIENCE", "a"), ("OIDC_ALLOWED_ORIGINS", bad)]).unwrap_err();
        assert!(err.contains("OIDC_ALLOWED_ORIGINS"), "{err}");
        assert!(!err.contains("MARKER"), "{err}");
    }
}

#[test]
fn missing_audience_names_the_variable() {
    let err = keycloak(&[]).unwrap_err();
    assert!(err.contains("OIDC_AUDIENCE"), "{err}");
    assert!(err.contains("AUTH_MODE=keycloak"), "{err}");
}

#[test]
fn bad_numbers_name_variable_value_and_range() {
    let err = keycloak(&[("OIDC_AUDIENCE", "a"), ("AUTH_LEEWAY_SECONDS", "301")]).unwrap_err();
    assert!(err.contains("AUTH_LEEWAY_SECONDS"), "{err}");
    assert!(err.contains("301"), "{err}");
    assert!(err.contains("0 to 300"), "{err}");
    let err = keycloak(&[
        ("OIDC_AUDIENCE", "a"),
        ("OIDC_JWKS_MIN_REFRESH_SECONDS", "soon"),
    ])
    .unwrap_err();
    assert!(
        err.contains("OIDC_JWKS_MIN_REFRESH_SECONDS") && err.contains("soon"),
        "{err}"
    );
    assert!(err.contains("1 to 3600"), "{err}");
}

#[test]
fn secret_without_client_is_a_conflict_and_never_shows_the_secret() {
    let err = keycloak(&[("OIDC_AUDIENCE", "a"), ("OIDC_CLIENT_SECRET", "hunter2")]).unwrap_err();
    assert!(err.contains("OIDC_CLIENT_ID"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn local_key_file_defaults_under_dot_avb() {
    let config = AuthConfig::from_pairs([("AUTH_MODE", "local")]).unwrap();
    assert_eq!(
        config.backend,
        AuthConfig::Local {
            key_file: ".avb/auth/dev-key.pem".into(),
            token_cache_size: DEFAULT_TOKEN_CACHE_SIZE as u32,
        }
    );
    let config = AuthConfig::from_pairs([
        ("AUTH_MODE", "local"),
        ("AVB_AUTH_DEV_KEY_FILE", "/tmp/k.pem"),
    ])
    .unwrap();
    assert!(
        config.backend.to_string().contains("/tmp/k.pem"),
        "{}",
        config.backend
    );
}

#[test]
fn documented_defaults_are_the_constants() {
    let secs = |d: Duration| format!("`{}`", d.as_secs());
    assert_eq!(AUTH_LEEWAY_SECONDS.default, secs(DEFAULT_LEEWAY));
    assert_eq!(
        OIDC_JWKS_MIN_REFRESH_SECONDS.default,
        secs(DEFAULT_JWKS_MIN_REFRESH)
    );
    assert_eq!(
        OIDC_JWKS_MAX_AGE_SECONDS.default,
        secs(DEFAULT_JWKS_MAX_AGE)
    );
    assert_eq!(
        OIDC_INTROSPECTION_CACHE_SECONDS.default,
        secs(DEFAULT_INTROSPECTION_CACHE)
    );
    assert_eq!(
        AUTH_WORKSPACE_CLAIM.default,
        format!("`{DEFAULT_WORKSPACE_CLAIM}`")
    );
    assert_eq!(
        AUTH_TOKEN_CACHE_SIZE.default,
        format!("`{DEFAULT_TOKEN_CACHE_SIZE}`")
    );
    assert_eq!(
        AVB_AUTH_DEV_KEY_FILE.default,
        format!("`{DEFAULT_DEV_KEY_FILE}`")
    );
    assert_eq!(
        AVB_SANDBOX_WORKSPACE.default,
        format!("`{DEFAULT_SANDBOX_WORKSPACE}`")
    );
    assert_eq!(
        AVB_SANDBOX_SUBJECT.default,
        format!("`{DEFAULT_SANDBOX_SUBJECT}`")
    );
}

#[test]
fn the_token_cache_size_is_read_for_both_validating_backends_and_zero_turns_it_off() {
    for (value, expected) in [("0", 0), ("1", 1), ("250000", 250_000)] {
        let local =
            AuthConfig::from_pairs([("AUTH_MODE", "local"), ("AUTH_TOKEN_CACHE_SIZE", value)])
                .unwrap();
        let AuthConfig::Local {
            token_cache_size, ..
        } = local.backend
        else {
            panic!("not local: {:?}", local.backend);
        };
        assert_eq!(token_cache_size, expected);
        let AuthConfig::Keycloak {
            token_cache_size, ..
        } = keycloak(&[("OIDC_AUDIENCE", "a"), ("AUTH_TOKEN_CACHE_SIZE", value)]).unwrap()
        else {
            panic!("not keycloak");
        };
        assert_eq!(token_cache_size, expected);
    }
    let AuthConfig::Keycloak {
        token_cache_size, ..
    } = keycloak(&[("OIDC_AUDIENCE", "a")]).unwrap()
    else {
        panic!("not keycloak");
    };
    assert_eq!(token_cache_size, DEFAULT_TOKEN_CACHE_SIZE as u32);
    let off = AuthConfig::from_pairs([("AUTH_MODE", "local"), ("AUTH_TOKEN_CACHE_SIZE", "0")])
        .unwrap()
        .backend
        .to_string();
    assert!(off.contains("token cache off"), "{off}");
    for bad in ["-1", "many", "1000001"] {
        let err = keycloak(&[("OIDC_AUDIENCE", "a"), ("AUTH_TOKEN_CACHE_SIZE", bad)]).unwrap_err();
        assert!(
            err.contains("AUTH_TOKEN_CACHE_SIZE") && err.contains("0 to 1000000"),
            "{bad}: {err}"
        );
    }
}
