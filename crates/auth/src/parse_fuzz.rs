//! Property tests: nothing an issuer sends may panic. Every parser of server answers — the JWKS (and
//! verification with whatever keys it yields), the discovery document, the token endpoint's answer, the
//! token cache's instant arithmetic — and the validator on validly signed tokens with arbitrary claims get
//! arbitrary JSON, mutated valid documents and extreme numbers, and must return a value or an error.

use crate::jwks::KeySet;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NAMES: &[&str] = &[
    "issuer",
    "jwks_uri",
    "token_endpoint",
    "access_token",
    "token_type",
    "expires_in",
    "keys",
    "kty",
    "kid",
    "alg",
    "use",
    "n",
    "e",
    "crv",
    "x",
    "y",
    "k",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(str::to_string),
        1 => "[a-z_]{0,6}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
    ]
}

/// Arbitrary JSON whose object members are mostly names the parsers look for.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        ".{0,24}".prop_map(Value::String),
        "[A-Za-z0-9_-]{0,400}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((name(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A base64url value: of random bytes (sometimes of a plausible key size), or not base64 at all.
fn b64() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| json!(URL_SAFE_NO_PAD.encode(b))),
        prop::collection::vec(any::<u8>(), 255..=257)
            .prop_map(|b| json!(URL_SAFE_NO_PAD.encode(b))),
        prop::collection::vec(any::<u8>(), 31..=33).prop_map(|b| json!(URL_SAFE_NO_PAD.encode(b))),
        ".{0,12}".prop_map(Value::String),
        Just(json!("AQAB")),
        json_value(),
    ]
}

/// A JWK that is close to a usable one: real `kty`/`crv`/`alg` values with arbitrary key material.
fn jwk() -> impl Strategy<Value = Value> {
    let kty = prop::sample::select(&["RSA", "EC", "OKP", "oct", "junk"][..]);
    let crv = prop::sample::select(&["P-256", "P-384", "P-521", "Ed25519", "X25519", "?"][..]);
    let alg = prop::sample::select(
        &[
            "RS256", "PS512", "ES256", "ES384", "EdDSA", "HS256", "none", "RSA-OAEP",
        ][..],
    );
    (kty, crv, alg, any::<bool>(), b64(), b64(), b64(), b64()).prop_map(
        |(kty, crv, alg, with_alg, n, e, x, y)| {
            let mut k = json!({"kty": kty, "crv": crv, "kid": "k", "n": n, "e": e, "x": x, "y": y});
            if with_alg {
                k["alg"] = json!(alg);
            }
            k
        },
    )
}

/// `text` with a few bytes replaced, inserted or removed.
fn mutated(text: String) -> impl Strategy<Value = Vec<u8>> {
    let len = text.len().max(1);
    prop::collection::vec((0..len, any::<u8>(), 0..3u8), 1..6).prop_map(move |edits| {
        let mut bytes = text.clone().into_bytes();
        for (at, byte, op) in edits {
            let at = at.min(bytes.len());
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        bytes
    })
}

/// A JWKS of the shapes Keycloak publishes (an RSA signing key, an EC key, an encryption key), with key
/// material of the right sizes.
fn valid_jwks() -> String {
    let n = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
    let c = URL_SAFE_NO_PAD.encode([0x6Bu8; 32]);
    json!({"keys": [
        {"kty": "RSA", "kid": "k", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"},
        {"kty": "EC", "kid": "e", "crv": "P-256", "x": c, "y": c},
        {"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP", "n": n, "e": "AQAB"},
    ]})
    .to_string()
}

/// Parses a JWKS and verifies a dummy signature with every key it yields, under every algorithm.
fn jwks_never_panics(body: &[u8]) {
    let Ok(set) = KeySet::from_jwks_json(body) else {
        return;
    };
    let Some(key) = set.get(Some("k")).or_else(|| set.get(None)) else {
        return;
    };
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let _ = jsonwebtoken::crypto::verify("c2ln", b"a.b", &key.decoding, alg);
        let _ = jsonwebtoken::crypto::verify("", b"", &key.decoding, alg);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn jwks_of_arbitrary_json_never_panics(doc in json_value()) {
        jwks_never_panics(doc.to_string().as_bytes());
    }

    #[test]
    fn jwks_of_near_valid_keys_never_panics(keys in prop::collection::vec(jwk(), 0..4)) {
        jwks_never_panics(json!({"keys": keys}).to_string().as_bytes());
    }

    #[test]
    fn mutated_jwks_never_panics(bytes in mutated(valid_jwks())) {
        jwks_never_panics(&bytes);
    }

    #[test]
    fn jwks_of_arbitrary_bytes_is_an_error(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // Valid JSON of the right shape from random bytes is astronomically unlikely; no panic either way.
        jwks_never_panics(&bytes);
    }
}

/// Validly signed tokens with arbitrary claims and header parameters: an error or a principal, never a
/// panic (the payload is attacker-chosen wherever a signing key leaks or an issuer signs what it is given).
mod signed {
    use super::*;
    use crate::Authenticator;
    use crate::local::LocalIssuer;
    use std::sync::OnceLock;

    fn issuer() -> &'static LocalIssuer {
        static ISSUER: OnceLock<LocalIssuer> = OnceLock::new();
        ISSUER.get_or_init(|| LocalIssuer::ephemeral().unwrap())
    }

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
        })
    }

    const CLAIM_NAMES: &[&str] = &[
        "sub",
        "exp",
        "nbf",
        "iat",
        "iss",
        "aud",
        "typ",
        "scope",
        "workspace_id",
        "realm_access",
        "resource_access",
        "roles",
        "avb",
    ];

    fn claims() -> impl Strategy<Value = Value> {
        let name = prop_oneof![
            3 => prop::sample::select(CLAIM_NAMES).prop_map(str::to_string),
            1 => "[a-z_]{0,6}",
        ];
        prop::collection::vec((name, json_value()), 0..10)
            .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn signed_arbitrary_claims_never_panic(
            claims in prop_oneof![claims(), json_value()],
            header in prop::collection::vec(
                (prop::sample::select(&["typ", "crit", "b64", "kid", "cty", "x5u"][..]), json_value()),
                0..3,
            ),
        ) {
            let header: Map<String, Value> =
                header.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let token = issuer().sign_raw(&header, claims.to_string().as_bytes()).unwrap();
            let _ = runtime().block_on(issuer().authenticate(&token));
        }

        #[test]
        fn signed_mutated_claims_never_panic(bytes in mutated({
            let claims = issuer().claims("u", "ws", std::time::Duration::from_secs(60));
            Value::Object(claims).to_string()
        })) {
            let token = issuer().sign_raw(&Map::new(), &bytes).unwrap();
            let _ = runtime().block_on(issuer().authenticate(&token));
        }
    }
}

#[cfg(feature = "oidc")]
mod oidc {
    use super::*;
    use crate::oidc::http::{MAX_TOKEN_LIFETIME, parse_discovery, parse_token_response};
    use std::time::{Duration, Instant};

    const DISCOVERY: &str = r#"{"issuer":"https://kc/realms/a","jwks_uri":"https://kc/realms/a/certs","token_endpoint":"https://kc/realms/a/token","grant_types_supported":["client_credentials"]}"#;
    const TOKEN: &str =
        r#"{"access_token":"eyJ.eyJ.sig","token_type":"Bearer","expires_in":300,"scope":"read"}"#;

    fn token_ok(body: &[u8]) {
        if let Ok((token, lifetime)) = parse_token_response(body) {
            assert!(!token.is_empty());
            assert!(lifetime <= MAX_TOKEN_LIFETIME, "{lifetime:?}");
            // What the cache does with it must not overflow either.
            let now = Instant::now();
            let expires = now.checked_add(lifetime).unwrap_or(now);
            let _ = expires.checked_sub(lifetime / 2);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn discovery_of_arbitrary_json_never_panics(doc in json_value()) {
            let _ = parse_discovery(doc.to_string().as_bytes());
        }

        #[test]
        fn mutated_discovery_never_panics(bytes in mutated(DISCOVERY.to_string())) {
            let _ = parse_discovery(&bytes);
        }

        #[test]
        fn token_response_of_arbitrary_json_never_panics(doc in json_value()) {
            token_ok(doc.to_string().as_bytes());
        }

        #[test]
        fn mutated_token_response_never_panics(bytes in mutated(TOKEN.to_string())) {
            token_ok(&bytes);
        }

        /// Any `expires_in` a server may send: a lifetime within the cap, or an error.
        #[test]
        fn any_expires_in_is_a_capped_lifetime_or_an_error(expires_in in prop_oneof![
            number(),
            "[0-9]{0,40}".prop_map(Value::String),
            ".{0,8}".prop_map(Value::String),
            json_value(),
        ]) {
            let body = json!({"access_token": "t", "expires_in": expires_in.clone()}).to_string();
            let result = parse_token_response(body.as_bytes());
            let nonnegative = match &expires_in {
                Value::Number(n) => n.as_f64().is_some_and(|f| f >= 0.0),
                Value::String(s) => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
                Value::Null => true,
                _ => false,
            };
            prop_assert_eq!(result.is_ok(), nonnegative, "{} -> {:?}", expires_in, result);
            if let Ok((_, lifetime)) = result {
                prop_assert!(lifetime <= MAX_TOKEN_LIFETIME);
            }
        }
    }

    proptest! {
        /// Whatever a discovery document names as an endpoint: refused, or an http(s) URL on the
        /// issuer's origin — never a panic, never another origin.
        #[test]
        fn endpoint_origin_check_never_panics_and_never_lets_another_origin_through(
            endpoint in prop_oneof![
                ".{0,40}",
                "(https?|file|ftp)://[a-z0-9.@:_-]{0,20}(/[a-z?#=]{0,10})?",
                Just("https://kc.example:443/x".to_string()),
                Just("https://KC.example/realms/a/certs".to_string()),
                Just("https://kc.example.evil/x".to_string()),
                Just("https://kc.example@evil/x".to_string()),
                Just("http://kc.example/x".to_string()),
            ]
        ) {
            let issuer = "https://kc.example/realms/a";
            let origins = crate::oidc::http::Origins::new(issuer, &[]).unwrap();
            if let Ok(url) = origins.check(issuer, "jwks_uri", &endpoint) {
                let url = reqwest::Url::parse(&url).unwrap();
                prop_assert_eq!(url.scheme(), "https");
                prop_assert_eq!(url.host_str(), Some("kc.example"));
                prop_assert_eq!(url.port_or_known_default(), Some(443));
            }
        }
    }

    #[test]
    fn extreme_lifetimes_are_capped() {
        for (expires_in, expected) in [
            (json!(u64::MAX), Some(MAX_TOKEN_LIFETIME)),
            (json!(1e308), Some(MAX_TOKEN_LIFETIME)),
            (
                json!("99999999999999999999999999"),
                Some(MAX_TOKEN_LIFETIME),
            ),
            (json!(300), Some(Duration::from_secs(300))),
            (json!(-1), None),
            (json!(-1e308), None),
            (json!(true), None),
        ] {
            let body = json!({"access_token": "t", "expires_in": expires_in}).to_string();
            let got = parse_token_response(body.as_bytes()).ok().map(|(_, l)| l);
            assert_eq!(got, expected, "{expires_in}");
        }
    }
}
