//! Reading the `keycloak` backend's settings (OIDC issuer, audience, client, limits, introspection).

use super::*;

const HTTP: &[&str] = &["http", "https"];

/// `AUTH_WORKSPACE_CLAIM`, refusing a claim tokens carry for another purpose.
fn workspace_claim(r: &mut Reader<'_>) -> Option<String> {
    let claim = r.with_default(&AUTH_WORKSPACE_CLAIM, DEFAULT_WORKSPACE_CLAIM)?;
    match reserved_claim(&claim) {
        None => Some(claim),
        Some(why) => {
            r.invalid(
                &AUTH_WORKSPACE_CLAIM,
                &claim,
                format!(
                    "a claim that is not reserved: {claim:?} is {why}, so every token would be refused or mis-read (reserved: {})",
                    reserved_claim_names()
                ),
            );
            None
        }
    }
}

fn issuer(r: &mut Reader<'_>, needed_by: &str) -> Option<ServiceUrl> {
    let has_issuer = r.is_set(&OIDC_ISSUER_URL);
    let has_keycloak = r.is_set(&KEYCLOAK_URL) || r.is_set(&KEYCLOAK_REALM);
    match (has_issuer, has_keycloak) {
        (true, true) => {
            r.problem(Problem::Conflict {
                keys: vec!["OIDC_ISSUER_URL".into(), "KEYCLOAK_URL".into(), "KEYCLOAK_REALM".into()],
                reason: "OIDC_ISSUER_URL and KEYCLOAK_URL/KEYCLOAK_REALM are both set: set the issuer one way only".into(),
            });
            None
        }
        (false, true) => {
            let base = r.url(&KEYCLOAK_URL, needed_by, HTTP, "http://127.0.0.1:8080");
            let realm = r.required(&KEYCLOAK_REALM, "KEYCLOAK_URL is set", "avb");
            let (mut base, realm) = (base?.expose().clone(), realm?);
            if realm.contains(['/', '?', '#']) {
                r.invalid(
                    &KEYCLOAK_REALM,
                    realm,
                    "a realm name without '/', '?' or '#'",
                );
                return None;
            }
            let path = format!("{}/realms/{realm}", base.path().trim_end_matches('/'));
            base.set_path(&path);
            Some(ServiceUrl::new(base))
        }
        _ => r.url(
            &OIDC_ISSUER_URL,
            needed_by,
            HTTP,
            "http://127.0.0.1:8080/realms/avb, or KEYCLOAK_URL + KEYCLOAK_REALM",
        ),
    }
}

pub(super) fn keycloak(r: &mut Reader<'_>, needed_by: &str) -> Option<AuthConfig> {
    let issuer = issuer(r, needed_by)?;
    let audience = r
        .required(&OIDC_AUDIENCE, needed_by, "avb-api")
        .map(str::to_string);
    let client_id = r.optional(&OIDC_CLIENT_ID);
    let client_secret = r.optional_secret(&OIDC_CLIENT_SECRET);
    let workspace_claim = workspace_claim(r);
    let leeway_seconds = r.integer(&AUTH_LEEWAY_SECONDS, DEFAULT_LEEWAY.as_secs(), 0..=300);
    let jwks_min_refresh_seconds = r.integer(
        &OIDC_JWKS_MIN_REFRESH_SECONDS,
        DEFAULT_JWKS_MIN_REFRESH.as_secs(),
        1..=3600,
    );
    let jwks_max_age_seconds = r.integer(
        &OIDC_JWKS_MAX_AGE_SECONDS,
        DEFAULT_JWKS_MAX_AGE.as_secs(),
        10..=86_400,
    );
    let allowed_origins = r.origins(&OIDC_ALLOWED_ORIGINS);
    let introspection = r.choice(
        &OIDC_INTROSPECTION,
        &[
            ("off", OidcIntrospection::Off),
            ("all", OidcIntrospection::All),
            ("per_route", OidcIntrospection::PerRoute),
        ],
        OidcIntrospection::Off,
    );
    let introspection_cache_seconds = r.integer(
        &OIDC_INTROSPECTION_CACHE_SECONDS,
        DEFAULT_INTROSPECTION_CACHE.as_secs(),
        0..=300,
    );
    let token_cache_size = token_cache_size(r);
    let (client_id, client_secret) = (client_id?, client_secret?);
    let introspection = introspection?;
    if introspection != OidcIntrospection::Off && (client_id.is_none() || client_secret.is_none()) {
        r.problem(Problem::Conflict {
            keys: vec![
                "OIDC_INTROSPECTION".into(),
                "OIDC_CLIENT_ID".into(),
                "OIDC_CLIENT_SECRET".into(),
            ],
            reason: format!(
                "OIDC_INTROSPECTION={} needs the client that calls the introspection endpoint: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
                introspection.as_str()
            ),
        });
        return None;
    }
    if client_secret.is_some() && client_id.is_none() {
        r.problem(Problem::Conflict {
            keys: vec!["OIDC_CLIENT_ID".into(), "OIDC_CLIENT_SECRET".into()],
            reason: "OIDC_CLIENT_SECRET is set but OIDC_CLIENT_ID is not: the secret belongs to a client".into(),
        });
        return None;
    }
    Some(AuthConfig::Keycloak {
        issuer,
        audience: audience?,
        client_id,
        client_secret,
        workspace_claim: workspace_claim?,
        leeway_seconds: leeway_seconds?,
        jwks_min_refresh_seconds: jwks_min_refresh_seconds?,
        jwks_max_age_seconds: jwks_max_age_seconds?,
        allowed_origins: allowed_origins?,
        introspection,
        introspection_cache_seconds: introspection_cache_seconds?,
        token_cache_size: token_cache_size?,
    })
}
