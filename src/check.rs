//! `avb check` (feature `check`): runs each port's conformance suite against the backend the
//! configuration chose — the same suites the repo runs against every backend — so a deployment can be
//! checked from the command line: `avb check` on the sandbox default needs no server.
//!
//! What each port's run uses of the deployment:
//!
//! | port | what the check runs | what it writes |
//! |---|---|---|
//! | EventBus | the whole suite on buses opened from the configuration, with the check's delivery settings (ack timeout 1 s, 3 attempts, backoff 100–400 ms, drain 1 s: the suite waits past the ack timeout on purpose) | topics named `<case>-<uuid>` in workspace `conformance` (and their `.dlq`) |
//! | Auth | `none` and `local`: the whole suite (the local issuer mints every token it needs); `keycloak`: skipped, naming why (the suite must mint arbitrary and forged tokens, which a configured issuer does not allow) | nothing |
//! | ObjectStore | the whole suite, a 16 MiB streamed object | objects under `avb-check/<run uuid>/`, deleted afterwards |
//! | Catalog | the whole suite when the catalog holds the sample content (the sandbox's built-in sample, or `--catalog-sample` to say so); otherwise skipped, naming why (the suite compares exact answers about that content) | nothing |
//! | LLM | the whole suite on the configured client (health asked first, so capabilities learnt from the server count; a backend that is down is one line) | nothing (it sends short prompts to the model) |
//!
//! `avb check --parity` ([`parity`]) compares instead what each port's sandbox default backend declares in
//! its `Capabilities` with what the configured backend declares: `lacks` (code that works in the sandbox
//! may break there: e.g. Redis Streams keep no per-key order) and `extra` (it does what the sandbox never
//! shows, e.g. persistence).

use crate::config::Config;
use avb_event_bus::conformance::{Report, Runner};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Print one line per case as it goes (off for `--json`).
    pub print: bool,
    /// The catalog holds the sample content (`examples/stub-catalog.json`) even though it is not the
    /// built-in sample: run the catalog suite against it.
    pub catalog_sample: bool,
}

/// One port's result.
#[derive(Debug)]
pub struct PortCheck {
    /// The port (`event_bus`, `auth`, …).
    pub port: &'static str,
    /// The backend, as the configuration summary names it.
    pub backend: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What happened to one port.
#[derive(Debug)]
pub enum Outcome {
    /// The suite ran.
    Ran(Report),
    /// The suite was not run, and why.
    Skipped(String),
    /// The backend could not be opened (the error text).
    Unavailable(String),
}

impl PortCheck {
    /// Whether this port failed the check (a failed case or a backend that could not be opened).
    pub fn failed(&self) -> bool {
        match &self.outcome {
            Outcome::Ran(report) => !report.failed().is_empty(),
            Outcome::Skipped(_) => false,
            Outcome::Unavailable(_) => true,
        }
    }
}

/// The delivery settings the EventBus suite runs with (see the module docs).
pub fn event_bus_check_settings() -> avb_event_bus::Settings {
    avb_event_bus::Settings {
        ack_timeout: Duration::from_secs(1),
        max_attempts: 3,
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        drain_timeout: Duration::from_secs(1),
        ..avb_event_bus::Settings::default()
    }
}

/// Runs every port's suite against `config`'s backends, one port after the other.
pub async fn run(config: &Config, options: &CheckOptions) -> Vec<PortCheck> {
    let mut out = Vec::new();
    out.push(event_bus(config, options).await);
    out.push(auth(config, options).await);
    out.push(object_store(config, options).await);
    out.push(catalog(config, options).await);
    out.push(llm(config, options).await);
    out
}

async fn llm(config: &Config, options: &CheckOptions) -> PortCheck {
    use avb_llm::conformance::{self as suite, Harness};
    let shown = config.llm.backend.to_string();
    header(options, "llm", &shown);
    let port = |outcome| PortCheck {
        port: "llm",
        backend: shown.clone(),
        outcome,
    };
    let client = match avb_llm::open(&config.llm.backend) {
        Ok(client) => client,
        Err(e) => return port(Outcome::Unavailable(e.to_string())),
    };
    let health = client.health().await;
    if !health.is_up() {
        return port(Outcome::Unavailable(
            health.reason.unwrap_or_else(|| "down".into()),
        ));
    }
    let runner = runner(options, Runner::new().concurrency(2));
    port(Outcome::Ran(
        suite::run_all_with(&Harness::new(client), runner).await,
    ))
}

fn header(options: &CheckOptions, port: &str, backend: &str) {
    if options.print {
        println!("== {port}: {backend}");
    }
}

fn runner(options: &CheckOptions, runner: Runner) -> Runner {
    if options.print {
        runner
    } else {
        runner.silent()
    }
}

struct EventBusHarness {
    backend: avb_event_bus::config::EventBusConfig,
}

#[async_trait::async_trait]
impl avb_event_bus::conformance::Harness for EventBusHarness {
    fn settings(&self) -> avb_event_bus::Settings {
        event_bus_check_settings()
    }

    async fn new_bus(&self) -> avb_event_bus::Result<Arc<dyn avb_event_bus::EventBus>> {
        avb_event_bus::open(&self.backend).await
    }
}

async fn event_bus(config: &Config, options: &CheckOptions) -> PortCheck {
    let mut backend = config.event_bus.backend.clone();
    let settings = event_bus_check_settings();
    // The suite's timing, shown as the backend's settings: the check runs with them, not the service's.
    let timed = match backend.delivery_mut() {
        Some(d) => {
            *d = avb_event_bus::config::EventBusDelivery::from_settings(&settings);
            true
        }
        None => false,
    };
    let shown = backend.to_string();
    header(options, "event_bus", &shown);
    let port = |outcome| PortCheck {
        port: "event_bus",
        backend: shown.clone(),
        outcome,
    };
    if !timed {
        return port(Outcome::Skipped(
            "this backend takes no delivery settings, so the suite's timing cannot be set".into(),
        ));
    }
    // Opened once first, and asked for its health: a server that is down is one clear line, not every
    // case failing on it.
    match avb_event_bus::open(&backend).await {
        Ok(bus) => {
            let health = bus.health().await;
            if !health.is_up() {
                return port(Outcome::Unavailable(
                    health.reason.unwrap_or_else(|| "down".into()),
                ));
            }
        }
        Err(e) => return port(Outcome::Unavailable(e.to_string())),
    }
    let harness = EventBusHarness { backend };
    let runner = runner(options, avb_event_bus::conformance::runner(&settings));
    port(Outcome::Ran(
        avb_event_bus::conformance::run_all_with(&harness, &runner).await,
    ))
}

async fn auth(config: &Config, options: &CheckOptions) -> PortCheck {
    use avb_auth::config::AuthConfig;
    use avb_auth::conformance::{self as suite, LocalHarness, TrustAllHarness};
    let shown = config.auth.backend.to_string();
    header(options, "auth", &shown);
    let port = |outcome| PortCheck {
        port: "auth",
        backend: shown.clone(),
        outcome,
    };
    let runner = runner(options, suite::runner());
    let harness: Box<dyn suite::Harness> = match &config.auth.backend {
        AuthConfig::None {
            workspace_id,
            subject,
        } => match avb_core::WorkspaceId::new(workspace_id.as_str()) {
            Ok(ws) => Box::new(TrustAllHarness(avb_auth::none::TrustAll::new(
                ws,
                subject.clone(),
                [avb_auth::TRUST_ALL_ROLE],
            ))),
            Err(e) => return port(Outcome::Unavailable(format!("AVB_SANDBOX_WORKSPACE: {e}"))),
        },
        AuthConfig::Local {
            key_file,
            token_cache_size,
        } => match avb_auth::local::LocalIssuer::from_key_file(key_file) {
            Ok(issuer) => Box::new(LocalHarness(
                issuer.with_token_cache(usize::try_from(*token_cache_size).unwrap_or(usize::MAX)),
            )),
            Err(e) => return port(Outcome::Unavailable(e.to_string())),
        },
        #[allow(unreachable_patterns)] // with the `oidc` feature off, only the two above exist
        _ => {
            return port(Outcome::Skipped(
                "the suite mints tokens with arbitrary claims and forged signatures, which a configured \
                 issuer does not allow; run it with a harness holding the issuer's admin access \
                 (tests/auth_keycloak.rs shows one)"
                    .into(),
            ));
        }
    };
    port(Outcome::Ran(
        suite::run_all_with(harness.as_ref(), &runner).await,
    ))
}

async fn object_store(config: &Config, options: &CheckOptions) -> PortCheck {
    use avb_object_store::conformance::{self as suite, Harness};
    let shown = config.object_store.backend.to_string();
    header(options, "object_store", &shown);
    let port = |outcome| PortCheck {
        port: "object_store",
        backend: shown.clone(),
        outcome,
    };
    let store = match avb_object_store::open(&config.object_store.backend).await {
        Ok(store) => store,
        Err(e) => return port(Outcome::Unavailable(e.to_string())),
    };
    let mut harness = Harness::new(store).with_root("avb-check");
    harness.large_object_size = 16 * 1024 * 1024;
    let runner = runner(options, suite::runner());
    port(Outcome::Ran(suite::run_all_with(&harness, &runner).await))
}

async fn catalog(config: &Config, options: &CheckOptions) -> PortCheck {
    use avb_catalog::config::CatalogConfig;
    use avb_catalog::conformance::{self as suite, Harness};
    let shown = config.catalog.backend.to_string();
    header(options, "catalog", &shown);
    let port = |outcome| PortCheck {
        port: "catalog",
        backend: shown.clone(),
        outcome,
    };
    let builtin_sample = matches!(
        &config.catalog.backend,
        CatalogConfig::Json { file, sample_when_absent: true } if !file.exists()
    );
    if !builtin_sample && !options.catalog_sample {
        return port(Outcome::Skipped(
            "the suite compares exact answers about the sample content (examples/stub-catalog.json); load \
             it into this catalog and pass --catalog-sample"
                .into(),
        ));
    }
    let catalog = match avb_catalog::open(&config.catalog.backend).await {
        Ok(catalog) => catalog,
        Err(e) => return port(Outcome::Unavailable(e.to_string())),
    };
    let runner = runner(options, Runner::new());
    port(Outcome::Ran(
        suite::run_all_with(&Harness::new(catalog), runner).await,
    ))
}

/// The JSON form of a check (`avb check --json`).
#[derive(Debug, Serialize)]
pub struct CheckJson {
    /// Every port passed or was skipped.
    pub ok: bool,
    /// One entry per port.
    pub ports: Vec<PortJson>,
}

/// One port in [`CheckJson`].
#[derive(Debug, Serialize)]
pub struct PortJson {
    /// The port.
    pub port: &'static str,
    /// The backend.
    pub backend: String,
    /// `passed`, `failed`, `skipped` or `unavailable`.
    pub status: &'static str,
    /// Why it was skipped or unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Cases passed.
    pub passed: Vec<&'static str>,
    /// Cases skipped, with the capability they lack.
    pub skipped: Vec<SkippedJson>,
    /// Cases failed, with their failing checks.
    pub failed: Vec<FailedJson>,
}

/// A skipped case.
#[derive(Debug, Serialize)]
pub struct SkippedJson {
    /// The case.
    pub case: &'static str,
    /// Why.
    pub reason: String,
}

/// A failed case.
#[derive(Debug, Serialize)]
pub struct FailedJson {
    /// The case.
    pub case: &'static str,
    /// Its report lines.
    pub lines: Vec<String>,
}

/// The JSON form of `checks`.
pub fn to_json(checks: &[PortCheck]) -> CheckJson {
    let ports = checks
        .iter()
        .map(|c| {
            let mut p = PortJson {
                port: c.port,
                backend: c.backend.clone(),
                status: "passed",
                reason: None,
                passed: Vec::new(),
                skipped: Vec::new(),
                failed: Vec::new(),
            };
            match &c.outcome {
                Outcome::Ran(report) => {
                    p.passed = report.passed();
                    p.skipped = report
                        .skipped()
                        .into_iter()
                        .map(|(case, why)| SkippedJson {
                            case,
                            reason: why.reason().to_string(),
                        })
                        .collect();
                    p.failed = report
                        .failed()
                        .into_iter()
                        .map(|case| FailedJson {
                            case,
                            lines: report.case(case).map(|r| r.lines()).unwrap_or_default(),
                        })
                        .collect();
                    if !p.failed.is_empty() {
                        p.status = "failed";
                    }
                }
                Outcome::Skipped(why) => {
                    p.status = "skipped";
                    p.reason = Some(why.clone());
                }
                Outcome::Unavailable(why) => {
                    p.status = "unavailable";
                    p.reason = Some(why.clone());
                }
            }
            p
        })
        .collect();
    CheckJson {
        ok: !checks.iter().any(PortCheck::failed),
        ports,
    }
}

/// The pass/fail table printed at the end of `avb check`.
pub fn table(checks: &[PortCheck]) -> String {
    let mut out = format!(
        "{:<13} {:<8} {:>6} {:>7} {:>6}  {}\n",
        "port", "result", "passed", "skipped", "failed", "backend"
    );
    for c in checks {
        let (result, passed, skipped, failed, note) = match &c.outcome {
            Outcome::Ran(r) => (
                if r.failed().is_empty() {
                    "ok"
                } else {
                    "FAILED"
                },
                r.passed().len().to_string(),
                r.skipped().len().to_string(),
                r.failed().len().to_string(),
                String::new(),
            ),
            Outcome::Skipped(why) => (
                "skipped",
                "-".into(),
                "-".into(),
                "-".into(),
                format!(" — {why}"),
            ),
            Outcome::Unavailable(why) => (
                "DOWN",
                "-".into(),
                "-".into(),
                "-".into(),
                format!(" — {why}"),
            ),
        };
        out.push_str(&format!(
            "{:<13} {:<8} {:>6} {:>7} {:>6}  {}{}\n",
            c.port, result, passed, skipped, failed, c.backend, note
        ));
    }
    out
}

/// One difference between what the sandbox default backend of a port promises and what the configured
/// backend does (`avb check --parity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParityGap {
    /// The port.
    pub port: &'static str,
    /// The capability (its field name in the port's `Capabilities`).
    pub capability: &'static str,
    /// What the sandbox default backend declares.
    pub sandbox: String,
    /// What the configured backend declares.
    pub configured: String,
    /// `lacks`: code that works on the sandbox may break on the configured backend (it promises less);
    /// `extra`: the configured backend does something the sandbox never shows (so the sandbox does not
    /// test it).
    pub kind: &'static str,
}

/// Compares a capability the sandbox may rely on: `more_is_better` says which direction is a loss.
fn compare<T: PartialOrd + std::fmt::Debug>(
    out: &mut Vec<ParityGap>,
    port: &'static str,
    capability: &'static str,
    sandbox: T,
    configured: T,
    more_is_better: bool,
) {
    if sandbox == configured {
        return;
    }
    let configured_is_less = if more_is_better {
        configured < sandbox
    } else {
        configured > sandbox
    };
    out.push(ParityGap {
        port,
        capability,
        sandbox: format!("{sandbox:?}"),
        configured: format!("{configured:?}"),
        kind: if configured_is_less { "lacks" } else { "extra" },
    });
}

/// `avb check --parity`: the capabilities the sandbox default backends declare against those of the
/// configured ones, port by port (both are opened, so the configured servers must answer). The sandbox
/// reference is what the same variables resolve to with `AVB_DEV_MODE=sandbox` in development.
pub async fn parity(config: &Config) -> Result<Vec<ParityGap>, String> {
    let sandbox = Config::from_iter([("AVB_ENV", "development"), ("AVB_DEV_MODE", "sandbox")])
        .map_err(|e| format!("the sandbox reference does not resolve: {e}"))?;
    let mut out = Vec::new();

    let open_bus = |c: &avb_event_bus::config::EventBusConfig| {
        let c = c.clone();
        async move { avb_event_bus::open(&c).await.map_err(|e| e.to_string()) }
    };
    let (s, l) = (
        open_bus(&sandbox.event_bus.backend).await?.capabilities(),
        open_bus(&config.event_bus.backend).await?.capabilities(),
    );
    let p = "event_bus";
    compare(
        &mut out,
        p,
        "ordering_per_key",
        s.ordering_per_key,
        l.ordering_per_key,
        true,
    );
    compare(&mut out, p, "persistent", s.persistent, l.persistent, true);
    compare(
        &mut out,
        p,
        "dead_letter",
        s.dead_letter,
        l.dead_letter,
        true,
    );
    compare(
        &mut out,
        p,
        "redeliver_on_drop",
        s.redeliver_on_drop,
        l.redeliver_on_drop,
        true,
    );
    compare(
        &mut out,
        p,
        "max_message_bytes",
        s.max_message_bytes,
        l.max_message_bytes,
        true,
    );
    compare(
        &mut out,
        p,
        "max_nack_delay",
        s.max_nack_delay,
        l.max_nack_delay,
        true,
    );
    compare(
        &mut out,
        p,
        "extend_lease",
        s.extend_lease,
        l.extend_lease,
        true,
    );
    compare(
        &mut out,
        p,
        "max_lease_extension",
        s.max_lease_extension,
        l.max_lease_extension,
        true,
    );
    compare(
        &mut out,
        p,
        "idempotent_publish",
        s.idempotent_publish,
        l.idempotent_publish,
        true,
    );
    compare(
        &mut out,
        p,
        "backlog_lag",
        s.backlog_lag,
        l.backlog_lag,
        true,
    );
    compare(
        &mut out,
        p,
        "backlog_in_flight",
        s.backlog_in_flight,
        l.backlog_in_flight,
        true,
    );
    compare(
        &mut out,
        p,
        "backlog_dead_letters",
        s.backlog_dead_letters,
        l.backlog_dead_letters,
        true,
    );
    compare(
        &mut out,
        p,
        "shares_read_ahead",
        s.shares_read_ahead,
        l.shares_read_ahead,
        true,
    );

    let open_store = |c: &avb_object_store::config::ObjectStoreConfig| {
        let c = c.clone();
        async move { avb_object_store::open(&c).await.map_err(|e| e.to_string()) }
    };
    let (s, l) = (
        open_store(&sandbox.object_store.backend)
            .await?
            .capabilities(),
        open_store(&config.object_store.backend)
            .await?
            .capabilities(),
    );
    let p = "object_store";
    compare(
        &mut out,
        p,
        "conditional_create",
        s.conditional_create,
        l.conditional_create,
        true,
    );
    compare(
        &mut out,
        p,
        "conditional_update",
        s.conditional_update,
        l.conditional_update,
        true,
    );
    compare(
        &mut out,
        p,
        "conditional_read",
        s.conditional_read,
        l.conditional_read,
        true,
    );
    compare(&mut out, p, "multipart", s.multipart, l.multipart, true);
    compare(
        &mut out,
        p,
        "min_part_size",
        s.min_part_size,
        l.min_part_size,
        false,
    );
    compare(&mut out, p, "presign", s.presign, l.presign, true);
    compare(&mut out, p, "metadata", s.metadata, l.metadata, true);
    compare(&mut out, p, "persistent", s.persistent, l.persistent, true);
    compare(&mut out, p, "streaming", s.streaming, l.streaming, true);

    let open_auth = |c: &avb_auth::config::AuthConfig| {
        let c = c.clone();
        async move { avb_auth::open(&c).await.map_err(|e| e.to_string()) }
    };
    let (s, l) = (
        open_auth(&sandbox.auth.backend).await?.capabilities(),
        open_auth(&config.auth.backend).await?.capabilities(),
    );
    let p = "auth";
    compare(
        &mut out,
        p,
        "rejects_invalid_tokens",
        s.rejects_invalid_tokens,
        l.rejects_invalid_tokens,
        true,
    );
    compare(
        &mut out,
        p,
        "key_rotation",
        s.key_rotation,
        l.key_rotation,
        true,
    );
    compare(
        &mut out,
        p,
        "mints_tokens",
        s.mints_tokens,
        l.mints_tokens,
        true,
    );

    let open_catalog = |c: &avb_catalog::config::CatalogConfig| {
        let c = c.clone();
        async move { avb_catalog::open(&c).await.map_err(|e| e.to_string()) }
    };
    let (s, l) = (
        open_catalog(&sandbox.catalog.backend).await?.capabilities(),
        open_catalog(&config.catalog.backend).await?.capabilities(),
    );
    compare(&mut out, "catalog", "reload", s.reload, l.reload, true);
    compare(&mut out, "catalog", "remote", s.remote, l.remote, true);
    Ok(out)
}

/// The `--parity` report as text: one line per difference, `lacks` first.
pub fn parity_text(gaps: &[ParityGap]) -> String {
    if gaps.is_empty() {
        return "parity: the configured backends declare every capability of the sandbox defaults, and no more\n"
            .into();
    }
    let mut sorted: Vec<&ParityGap> = gaps.iter().collect();
    sorted.sort_by_key(|g| (g.kind != "lacks", g.port));
    let mut out = String::new();
    for g in sorted {
        let what = if g.kind == "lacks" {
            "LACKS what the sandbox promises"
        } else {
            "does more than the sandbox shows"
        };
        out.push_str(&format!(
            "{:<13} {:<24} sandbox {:<12} configured {:<12} {what}\n",
            g.port, g.capability, g.sandbox, g.configured
        ));
    }
    out
}
