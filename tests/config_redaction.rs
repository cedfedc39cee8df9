//! No value of a URL-, address- or secret-typed variable ever shows where a secret could sit: not in the
//! summary (`avb mode`), the JSON (`avb mode --json`), the health report (`avb health --json`), nor any
//! error. Driven off the variable registry (`avb::config::registry()`), so a variable added there later is
//! covered without touching this file.
//!
//! "Where a secret could sit": the userinfo, every query value, the fragment, and everything of a value
//! that is not a URL avb can parse (a password with an unencoded `/`, `#`, `?`; no scheme; `redis:user:pw@…`).
//! Hosts, ports and paths of a well-formed URL are shown: they are what a reader needs to debug.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::config::keys::{Key, TEST_PREFIX};

fn keys() -> Vec<&'static Key> {
    avb::config::registry().iter().collect()
}
use avb::config::{Config, ConfigBuilder};
use proptest::prelude::*;
use std::process::Command;

/// Base configurations that make every port read its connection settings. Each variable under test is
/// set on top of each profile; at least one profile must read it (checked below).
const PROFILES: &[&[(&str, &str)]] = &[
    &[
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", "redis://127.0.0.1:1/0"),
        ("AUTH_MODE", "keycloak"),
        ("OIDC_ISSUER_URL", "http://127.0.0.1:9/realms/x"),
        ("OIDC_AUDIENCE", "a"),
        ("OIDC_CLIENT_ID", "c"),
        ("OBJECT_STORE", "s3"),
        ("OBJECT_STORE_BUCKET", "b"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ACCESS_KEY_ID", "id"),
        ("AWS_SECRET_ACCESS_KEY", "sk"),
        ("DATA_CATALOG", "openmetadata"),
        ("OPENMETADATA_URL", "http://127.0.0.1:1/api"),
        ("LLM_PROVIDER", "openai"),
        ("LLM_API_URL", "http://127.0.0.1:1/v1"),
        ("LLM_MODEL", "m"),
    ],
    &[
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", "pulsar://127.0.0.1:1"),
        ("AUTH_MODE", "keycloak"),
        ("KEYCLOAK_URL", "http://127.0.0.1:9"),
        ("KEYCLOAK_REALM", "x"),
        ("OIDC_AUDIENCE", "a"),
        ("LLM_PROVIDER", "ollama"),
        ("LLM_API_URL", "http://127.0.0.1:1"),
        ("LLM_MODEL", "m"),
    ],
    &[
        ("EVENT_BUS", "kafka"),
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
    ],
];

/// Whether a variable's value is a URL or a network address (`host:port` list): the registry's `values`
/// column says so.
fn is_address(k: &Key) -> bool {
    k.is_address()
}

/// The variables whose values must never be shown whole, as the registry lists them (the harness's own
/// `AVB_TEST_*` are not read by the resolver).
fn guarded() -> Vec<&'static Key> {
    keys()
        .into_iter()
        .filter(|k| !k.name.starts_with(TEST_PREFIX) && (k.secret || is_address(k)))
        .collect()
}

/// URL shapes with a secret part `{P}` and a scheme `{S}` (the issue's 140 shapes, by family).
const URL_SHAPES: &[&str] = &[
    "{S}://user:{P}@127.0.0.1:6379/0",
    "{S}://:{P}@127.0.0.1:6379",
    "{S}://{P}@127.0.0.1",
    "{S}://{P}:pw@127.0.0.1",
    ":{P}@127.0.0.1:6379",
    "user:{P}@127.0.0.1:6379",
    "{S}:user:{P}@127.0.0.1",
    "{S}:/user:{P}@127.0.0.1",
    "{S}://127.0.0.1:6379/?api_key={P}",
    "{S}://127.0.0.1:bad/?api_key={P}",
    "{S}://127.0.0.1:6379/x?db=1&token={P}&x=2",
    "{S}://127.0.0.1:6379/x?{P}",
    "{S}://127.0.0.1:6379#access_token={P}",
    "{S}://127.0.0.1:bad#access_token={P}",
    "{S}://user:{P}@[::1",
    "{S}://user:{P}@127.0.0.1:6379?x=1#frag",
    "{S}://user:pa/{P}@127.0.0.1:6379",
    "{S}://user:12/{P}@127.0.0.1",
    "{S}://user:pa#{P}@127.0.0.1:6379",
    "{S}://user:12#{P}@127.0.0.1",
    "{S}://user:pa?{P}@127.0.0.1:6379",
    "{S}://user:12?{P}@127.0.0.1",
    "127.0.0.1:9092,user:{P}@127.0.0.1:9093",
];

const SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "unix",
    "pulsar",
    "pulsar+ssl",
    "http",
    "https",
    "ftp",
    "s3",
];

fn shape(template: &str, scheme: &str, secret: &str) -> String {
    template.replace("{S}", scheme).replace("{P}", secret)
}

fn leaks(text: &str, marker: &str) -> bool {
    text.to_ascii_lowercase()
        .contains(&marker.to_ascii_lowercase())
}

type Outcome = Result<String, String>;

/// Everything the library shows of one resolution: summary, JSON and Debug, or the error's Display,
/// Debug and every problem.
fn outcome(pairs: &[(&str, &str)]) -> Outcome {
    match Config::from_iter(pairs.iter().copied()) {
        Ok(c) => Ok(format!(
            "{c}\n{}\n{c:?}",
            serde_json::to_string(&c).unwrap()
        )),
        Err(e) => {
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            Err(format!("{e}\n{e:?}\n{}", problems.join("\n")))
        }
    }
}

fn with(
    profile: &[(&'static str, &'static str)],
    key: &'static str,
    value: &str,
) -> Vec<(String, String)> {
    profile
        .iter()
        .filter(|(k, _)| *k != key)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([(key.to_string(), value.to_string())])
        .collect()
}

fn pairs_ref(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The profiles that read `key`: setting it to `probe` changes what avb shows.
fn reading_profiles(
    key: &'static str,
    probe: &str,
) -> Vec<&'static [(&'static str, &'static str)]> {
    PROFILES
        .iter()
        .copied()
        .filter(|p| {
            let without: Vec<(&str, &str)> = p.iter().copied().filter(|(k, _)| *k != key).collect();
            outcome(&without) != outcome(&pairs_ref(&with(p, key, probe)))
        })
        .collect()
}

#[test]
fn every_guarded_variable_is_read_by_some_profile() {
    let guarded = guarded();
    assert!(
        guarded.len() >= 12,
        "the registry lost its URL and secret variables?"
    );
    for k in guarded {
        assert!(
            !reading_profiles(k.name, "probe-value-1").is_empty(),
            "no profile of tests/config_redaction.rs makes avb read {}: add one, or the redaction tests skip it",
            k.name
        );
    }
}

/// The values under test for `k`, with `secret` where a secret could sit.
fn values_for(k: &Key, scheme: &str, template: &str, secret: &str) -> String {
    if is_address(k) {
        shape(template, scheme, secret)
    } else {
        secret.to_string()
    }
}

fn assert_library_hides(marker: &str, values: impl Fn(&Key) -> String) {
    for k in guarded() {
        let value = values(k);
        for p in PROFILES {
            let pairs = with(p, k.name, &value);
            let shown = match outcome(&pairs_ref(&pairs)) {
                Ok(s) | Err(s) => s,
            };
            assert!(
                !leaks(&shown, marker),
                "{}={value:?} leaked {marker:?}:\n{shown}",
                k.name
            );
        }
    }
}

#[test]
fn the_issue_shapes_never_show_their_secret() {
    for template in URL_SHAPES {
        for scheme in SCHEMES {
            for secret in [
                "SeCrEtMk",
                "pa/SeCrEtMk",
                "pa#SeCrEtMk",
                "pa?SeCrEtMk",
                "SeCrEtMk/x",
            ] {
                assert_library_hides("SeCrEtMk", |k| values_for(k, scheme, template, secret));
            }
        }
    }
}

/// A `.env.*` line the parser rejects never shows its value (or a name that may be a value).
#[test]
fn env_file_errors_never_show_values() {
    for k in keys() {
        for line in [
            format!("{}=\"abc\"SeCrEtMk", k.name),
            format!("{}='abc' SeCrEtMk", k.name),
            format!("{} SeCrEtMk=x", k.name),
            format!("SeCrEtMk {}=x", k.name),
            format!("{}=\"\\qSeCrEtMk\"", k.name),
            format!("{}=\"SeCrEtMk", k.name),
            format!("{}='SeCrEtMk", k.name),
            "SeCrEtMk".to_string(),
        ] {
            let err = ConfigBuilder::new()
                .with_env_file(".env.sandbox", &line)
                .build()
                .unwrap_err();
            let shown = format!("{err}\n{err:?}");
            assert!(!leaks(&shown, "SeCrEtMk"), "{line:?} leaked:\n{shown}");
            assert!(shown.contains(".env.sandbox:1:"), "{shown}");
        }
    }
}

fn marker() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9]{9}".prop_map(|m| format!("Mk{m}"))
}

/// Noise around the secret: the characters that end a userinfo, a query or a path early.
fn noise() -> impl Strategy<Value = String> {
    "[/#?:@%\\[\\] a-z0-9]{0,3}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_values_never_show_their_secret(
        marker in marker(),
        pre in noise(),
        post in noise(),
        template in prop::sample::select(URL_SHAPES),
        scheme in prop::sample::select(SCHEMES),
    ) {
        let secret = format!("{pre}{marker}{post}");
        assert_library_hides(&marker, |k| values_for(k, scheme, template, &secret));
    }

    #[test]
    fn generated_env_file_lines_never_show_their_value(
        marker in marker(),
        shape in prop::sample::select(&[
            "{K}={a}{M}{b}", "{K}=\"{a}\"{M}{b}", "{K}='{a}'{b}{M}", "{K}=\"{a}\\{M}{b}\"",
            "{K}=\"{a}{M}{b}", "{K}='{a}{M}{b}", "{K} {M}={a}", "{M}{a} {K}={b}", "{a}{M}{b}",
        ][..]),
        a in "[^\n\r]{0,6}",
        b in "[^\n\r]{0,6}",
        k in prop::sample::select(keys()),
    ) {
        let text = shape
            .replace("{K}", k.name)
            .replace("{M}", &marker)
            .replace("{a}", &a)
            .replace("{b}", &b);
        if let Err(err) = ConfigBuilder::new().with_env_file(".env.live", &text).build() {
            let shown = format!("{err}\n{err:?}");
            // A parsed value may be shown by the normal rules (a plain variable's invalid value); a line the
            // parser rejects must not be.
            if shown.contains(".env.live:1:") {
                prop_assert!(!leaks(&shown, &marker), "{text:?} leaked:\n{shown}");
            }
        }
    }
}

fn avb(args: &[&str], pairs: &[(String, String)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_avb"))
        .args(args)
        .env_clear()
        .envs(pairs.iter().map(|(k, v)| (k, v)))
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The binary, for a fixed set of shapes: `avb mode`, `avb mode --json`, `avb health --json`.
#[test]
fn the_avb_command_never_shows_a_secret() {
    const MARKER: &str = "SeCrEtMk";
    let mut cases: Vec<(&'static str, Vec<(String, String)>)> = vec![(
        "OIDC_ISSUER_URL",
        [
            ("AUTH_MODE", "keycloak"),
            ("OIDC_AUDIENCE", "a"),
            (
                "OIDC_ISSUER_URL",
                "http://user:SeCrEtMk@127.0.0.1:9/realms/x",
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec(),
    )];
    for k in guarded() {
        let Some(profile) = reading_profiles(k.name, "probe-value-1").first().copied() else {
            continue; // every_guarded_variable_is_read_by_some_profile fails for it
        };
        let scheme = profile
            .iter()
            .find(|(name, _)| *name == k.name)
            .and_then(|(_, v)| v.split_once("://"))
            .map_or("http", |(s, _)| s);
        let values: Vec<String> = if is_address(k) {
            URL_SHAPES
                .iter()
                .map(|t| shape(t, scheme, &format!("pa/{MARKER}")))
                .chain(URL_SHAPES.iter().map(|t| shape(t, scheme, MARKER)))
                .collect()
        } else {
            vec![MARKER.to_string(), format!("\"{MARKER}\"")]
        };
        for v in values {
            cases.push((k.name, with(profile, k.name, &v)));
        }
    }
    // Four runners: each `avb health` waits for its refused connections.
    let chunk = cases.len().div_ceil(4);
    std::thread::scope(|s| {
        for part in cases.chunks(chunk) {
            s.spawn(move || {
                for (key, pairs) in part {
                    for args in [&["mode"][..], &["mode", "--json"], &["health", "--json"]] {
                        let shown = avb(args, pairs);
                        let value = pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v);
                        assert!(
                            !leaks(&shown, MARKER),
                            "avb {args:?} with {key}={value:?} leaked:\n{shown}"
                        );
                    }
                }
            });
        }
    });
}
