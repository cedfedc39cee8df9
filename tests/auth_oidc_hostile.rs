//! The OIDC backend against *hostile or broken* issuers: a small loopback HTTP server in the test serves
//! what a real provider would not — a discovery document pointing elsewhere, cross-origin redirects,
//! endless bodies, absurd token lifetimes — and an issuer URL carrying secrets. (The positive path runs
//! against the real oidc-provider in tests/auth.rs.) Nothing here needs a live server.
#![cfg(feature = "auth-oidc")]
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed setup fails the test

use avb::auth::ErrorKind;
use avb::auth::oidc::http::MAX_RESPONSE_BYTES;
use avb::auth::oidc::{ClientCredentials, OidcBuilder};
use avb_core::config::Secret;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the hostile server answers for one request.
#[derive(Clone)]
enum Reply {
    Json(String),
    Status(u16),
    Redirect(String),
    /// `bytes` of JSON-ish filler, with or without a (true) `Content-Length`.
    Huge {
        bytes: usize,
        content_length: bool,
    },
}

/// A loopback HTTP/1.1 server answering by path (`/` + the rest, query included); it records the paths
/// it was asked for and how many body bytes it managed to write.
struct Hostile {
    base: String,
    paths: Arc<Mutex<Vec<String>>>,
    written: Arc<AtomicUsize>,
}

impl Hostile {
    async fn start(route: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let paths = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicUsize::new(0));
        let route = Arc::new(route);
        let (b, p, w) = (base.clone(), paths.clone(), written.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (b, p, w, route) = (b.clone(), p.clone(), w.clone(), route.clone());
                tokio::spawn(async move {
                    let Some(path) = read_request(&mut socket).await else {
                        return;
                    };
                    p.lock().unwrap().push(path.clone());
                    let reply = route(&b, &path);
                    let _ = write_reply(&mut socket, reply, &w).await;
                });
            }
        });
        Self {
            base,
            paths,
            written,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(head.split_whitespace().nth(1)?.to_string())
}

async fn write_reply(
    socket: &mut tokio::net::TcpStream,
    reply: Reply,
    written: &AtomicUsize,
) -> std::io::Result<()> {
    let head = |status: &str, extra: &str| {
        format!(
            "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-type: application/json\r\n{extra}\r\n"
        )
    };
    match reply {
        Reply::Json(body) => {
            let h = head("200 OK", &format!("content-length: {}\r\n", body.len()));
            socket.write_all(format!("{h}{body}").as_bytes()).await
        }
        Reply::Status(code) => {
            let h = head(&format!("{code} Nope"), "content-length: 0\r\n");
            socket.write_all(h.as_bytes()).await
        }
        Reply::Redirect(to) => {
            let h = head(
                "302 Found",
                &format!("location: {to}\r\ncontent-length: 0\r\n"),
            );
            socket.write_all(h.as_bytes()).await
        }
        Reply::Huge {
            bytes,
            content_length,
        } => {
            let extra = if content_length {
                format!("content-length: {bytes}\r\n")
            } else {
                String::new()
            };
            socket.write_all(head("200 OK", &extra).as_bytes()).await?;
            socket.write_all(b"{\"keys\":[").await?;
            let filler = vec![b' '; 64 * 1024];
            let mut sent = 9;
            while sent < bytes {
                let n = filler.len().min(bytes - sent);
                socket.write_all(&filler[..n]).await?;
                sent += n;
                written.store(sent, Ordering::Relaxed);
            }
            Ok(())
        }
    }
}

fn discovery(issuer: &str, jwks_uri: &str, token_endpoint: &str) -> Reply {
    Reply::Json(
        serde_json::json!({"issuer": issuer, "jwks_uri": jwks_uri, "token_endpoint": token_endpoint})
            .to_string(),
    )
}

const WELL_KNOWN: &str = "/.well-known/openid-configuration";
const MARKERS: [&str; 3] = ["MARKERPW", "MARKERQ", "MARKERFRAG"];

fn assert_no_marker(context: &str, err: &avb::auth::Error) {
    let shown = format!("{err} {err:?}");
    for marker in MARKERS {
        assert!(
            !shown.contains(marker),
            "{context}: {marker} leaked: {shown}"
        );
    }
}

/// An issuer URL with a password in its userinfo and secrets in its query and fragment, `base` the
/// server it points at: no error's Display or Debug may show any of them, on any failure path.
fn secret_issuer(base: &str) -> String {
    let rest = base.trim_start_matches("http://");
    format!("http://user:MARKERPW@{rest}/realms/x?token=MARKERQ&x=MARKERQ#MARKERFRAG")
}

#[tokio::test]
async fn issuer_url_secrets_never_reach_error_text() {
    // Unreachable (nothing listens on port 9), and reachable but answering 404, 500, garbage, a foreign
    // issuer, or a document whose endpoints fail.
    let unreachable = secret_issuer("http://127.0.0.1:9");
    let not_found = Hostile::start(|_, _| Reply::Status(404)).await;
    let failing = Hostile::start(|_, _| Reply::Status(500)).await;
    let garbage = Hostile::start(|_, _| Reply::Json("<html>MARKERQ".into())).await;
    let foreign = Hostile::start(|_, _| discovery("http://elsewhere/realms/x", "/j", "/t")).await;
    let issuers = [
        unreachable,
        secret_issuer(&not_found.base),
        secret_issuer(&failing.base),
        secret_issuer(&garbage.base),
        secret_issuer(&foreign.base),
    ];
    for issuer in &issuers {
        let err = OidcBuilder::new(issuer)
            .with_audience("a")
            .build()
            .await
            .unwrap_err();
        assert_no_marker("discovery", &err);
        let err = ClientCredentials::discover(issuer, "c", Secret::new("MARKERPW"))
            .await
            .unwrap_err();
        assert_no_marker("client-credentials discovery", &err);
        let source = ClientCredentials::new(issuer, issuer.clone(), "c", Secret::new("s")).unwrap();
        let err = source.token().await.unwrap_err();
        assert_no_marker("token endpoint", &err);
        assert!(!format!("{source:?}").contains("MARKER"), "{source:?}");
    }
    // The issuer answers discovery for its own (secret-carrying) URL; the JWKS then fails.
    let jwks_fails = Hostile::start(|base, path| {
        if path.contains(WELL_KNOWN) {
            let issuer = secret_issuer(base);
            let issuer = issuer.split('?').next().unwrap();
            discovery(
                issuer,
                &format!("{base}/jwks?key=MARKERQ"),
                &format!("{base}/t"),
            )
        } else {
            Reply::Status(500)
        }
    })
    .await;
    let issuer = secret_issuer(&jwks_fails.base);
    let issuer = issuer.split('?').next().unwrap();
    let err = OidcBuilder::new(issuer)
        .with_audience("a")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IssuerUnavailable, "{err}");
    assert_no_marker("JWKS", &err);
}

#[tokio::test]
async fn issuer_secrets_never_reach_the_facade_error() {
    for (key, value) in [
        (
            "OIDC_ISSUER_URL",
            "http://user:MARKERPW@127.0.0.1:9/realms/x?token=MARKERQ",
        ),
        ("KEYCLOAK_URL", "http://user:MARKERPW@127.0.0.1:9/"),
    ] {
        let mut vars = vec![
            ("AUTH_MODE", "keycloak"),
            ("OIDC_AUDIENCE", "a"),
            (key, value),
        ];
        if key == "KEYCLOAK_URL" {
            vars.push(("KEYCLOAK_REALM", "x"));
        }
        let config = avb::config::Config::from_iter(vars).unwrap();
        let err = avb::auth::open(&config.auth.backend).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IssuerUnavailable, "{err}");
        assert_no_marker(key, &err);
    }
}

#[tokio::test]
async fn endpoints_off_the_issuer_origin_are_refused_unless_allowed() {
    // The "other origin" is a real server that records what it is asked: it must be asked nothing.
    let elsewhere = Hostile::start(|_, _| Reply::Json(r#"{"keys":[]}"#.into())).await;
    let other = elsewhere.base.clone();
    for jwks_uri in [
        "http://169.254.169.254/latest/meta-data/keys".to_string(),
        format!("{other}/jwks"),
        "file:///etc/passwd".to_string(),
        "https://127.0.0.1:1/jwks".to_string(),
    ] {
        let uri = jwks_uri.clone();
        let issuer =
            Hostile::start(move |base, _| discovery(base, &uri, &format!("{base}/t"))).await;
        let err = OidcBuilder::new(&issuer.base)
            .with_audience("a")
            .build()
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::UntrustedEndpoint,
            "{jwks_uri}: {err}"
        );
        assert!(err.to_string().contains("jwks_uri"), "{err}");
    }
    // The token endpoint: the client secret must not be posted to another origin.
    let t = format!("{other}/token");
    let issuer = Hostile::start(move |base, _| discovery(base, &format!("{base}/jwks"), &t)).await;
    let err = ClientCredentials::discover(&issuer.base, "c", Secret::new("s"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UntrustedEndpoint, "{err}");
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );

    // Explicitly allowed: the key set on the other origin is fetched.
    let j = format!("{other}/jwks");
    let issuer = Hostile::start(move |base, _| discovery(base, &j, &format!("{base}/t"))).await;
    let auth = OidcBuilder::new(&issuer.base)
        .with_audience("a")
        .with_allowed_origin(other.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(elsewhere.requests(), ["/jwks"]);
    assert!(auth.keys().snapshot().is_empty());
    let err = OidcBuilder::new(&issuer.base)
        .with_audience("a")
        .with_allowed_origin(format!("{other}/path"))
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
}

#[tokio::test]
async fn redirects_are_followed_on_the_same_origin_only() {
    let elsewhere = Hostile::start(|base, _| discovery(base, "/j", "/t")).await;
    let other = elsewhere.base.clone();
    // Discovery redirected to another origin.
    let to = format!("{other}{WELL_KNOWN}");
    let issuer = Hostile::start(move |_, _| Reply::Redirect(to.clone())).await;
    let err = OidcBuilder::new(&issuer.base)
        .with_audience("a")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UntrustedEndpoint, "{err}");
    // JWKS on the issuer's origin, redirected to another.
    let to = format!("{other}/jwks");
    let issuer = Hostile::start(move |base, path| {
        if path == WELL_KNOWN {
            discovery(base, &format!("{base}/jwks"), &format!("{base}/t"))
        } else {
            Reply::Redirect(to.clone())
        }
    })
    .await;
    let err = OidcBuilder::new(&issuer.base)
        .with_audience("a")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UntrustedEndpoint, "{err}");
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
    // Same-origin redirects are followed (a relative Location, as proxies send).
    let issuer = Hostile::start(|base, path| match path {
        WELL_KNOWN => Reply::Redirect("/moved/config".into()),
        "/moved/config" => discovery(base, &format!("{base}/jwks"), &format!("{base}/t")),
        "/jwks" => Reply::Redirect(format!("{base}/moved/jwks")),
        _ => Reply::Json(r#"{"keys":[]}"#.into()),
    })
    .await;
    OidcBuilder::new(&issuer.base)
        .with_audience("a")
        .build()
        .await
        .unwrap();
    // An endless same-origin loop stops.
    let issuer = Hostile::start(|_, _| Reply::Redirect("/again".into())).await;
    let err = OidcBuilder::new(&issuer.base)
        .with_audience("a")
        .build()
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::UntrustedEndpoint, "{err}");
}

#[tokio::test]
async fn oversized_answers_are_cut_at_the_cap() {
    const HUGE: usize = 64 * 1024 * 1024;
    for content_length in [false, true] {
        let huge = Reply::Huge {
            bytes: HUGE,
            content_length,
        };
        // Discovery, JWKS and token endpoint each answering 64 MiB.
        let (d, j) = (huge.clone(), huge.clone());
        let big_discovery = Hostile::start(move |_, _| d.clone()).await;
        let big_jwks = Hostile::start(move |base, path| {
            if path == WELL_KNOWN {
                discovery(base, &format!("{base}/jwks"), &format!("{base}/token"))
            } else {
                j.clone()
            }
        })
        .await;
        for server in [&big_discovery, &big_jwks] {
            let err = OidcBuilder::new(&server.base)
                .with_audience("a")
                .build()
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::IssuerUnavailable, "{err}");
            assert!(err.to_string().contains("larger than"), "{err}");
        }
        let source = ClientCredentials::discover(&big_jwks.base, "c", Secret::new("s"))
            .await
            .unwrap();
        let err = source.token().await.unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        // The client stopped reading: the server could not push the whole body (at most the cap plus
        // what the kernel's socket buffers absorbed).
        for server in [&big_discovery, &big_jwks] {
            let written = server.written.load(Ordering::Relaxed);
            assert!(
                written < HUGE,
                "server wrote {written} bytes (cap {MAX_RESPONSE_BYTES})"
            );
        }
    }
}

#[tokio::test]
async fn absurd_token_lifetimes_never_panic() {
    // Before: `expires_in` = u64::MAX panicked ("overflow when adding duration to instant").
    for (expires_in, ok) in [
        ("18446744073709551615", true),
        ("1e300", true),
        ("\"3600\"", true),
        ("0", true),
        ("-5", false),
        ("\"soon\"", false),
        ("1e999", false),
        ("[]", false),
    ] {
        let body =
            format!(r#"{{"access_token":"t","token_type":"Bearer","expires_in":{expires_in}}}"#);
        let server = Hostile::start(move |_, _| Reply::Json(body.clone())).await;
        let source = ClientCredentials::new(
            "http://issuer.test",
            format!("{}/token", server.base),
            "c",
            Secret::new("s"),
        )
        .unwrap();
        let result = source.token().await;
        assert_eq!(result.is_ok(), ok, "expires_in {expires_in}: {result:?}");
        if expires_in == "18446744073709551615" {
            // Cached (lifetime capped at a day), so no second request.
            assert_eq!(source.token().await.unwrap(), "t");
            assert_eq!(source.requests(), 1);
        }
    }
}
