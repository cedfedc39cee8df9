//! The `avb` command.
//!
//! Run with: `cargo run -- mode` (the resolved configuration), `cargo run -- vars` (every variable), or
//! `cargo run -- token --subject alice --workspace ws-1 --roles analyst,viewer` (a local-issuer token),
//! `cargo run -- catalog validate examples/pipeline.yaml` (a pipeline against the configured catalog).

mod main_catalog;
mod main_check;
mod main_health;
mod main_serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// avb: one service, sandbox on a laptop, live in production.
#[derive(Parser)]
#[command(name = "avb", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the resolved configuration (environment, mode, each port's backend); non-zero on a bad one.
    Mode {
        /// Print JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Print every environment variable avb reads, as a Markdown table.
    Vars,
    /// Build each used port and report its health; non-zero unless all are up. With `--wait`, retry
    /// until healthy or the time is up (health-gated startup, e.g. an init container).
    Health {
        /// Print JSON (the `/health` body) instead of the summary.
        #[arg(long)]
        json: bool,
        /// Keep checking until healthy, at most this long (`60s`, `2m`, `500ms`); on timeout print the
        /// report and exit non-zero.
        #[arg(long, value_parser = parse_duration)]
        wait: Option<std::time::Duration>,
        /// The ports the service uses, comma-separated (`event_bus,object_store`; default: every port):
        /// only these are resolved and checked.
        #[arg(long, value_parser = avb::PortSet::parse_list)]
        uses: Option<avb::PortSet>,
    },
    /// Run each port's conformance suite against its configured backend (needs the `check` feature):
    /// progress as it goes, then a pass/fail table; non-zero exit when a case fails or a backend is down.
    Check {
        /// Print JSON instead (no progress lines).
        #[arg(long)]
        json: bool,
        /// The configured catalog holds the sample content (examples/stub-catalog.json): run the catalog
        /// suite against it (it compares exact answers about that content).
        #[arg(long)]
        catalog_sample: bool,
        /// Instead of the suites: the capabilities the sandbox default backends declare that the configured
        /// ones lack (and those they add); non-zero exit when one is lacking.
        #[arg(long)]
        parity: bool,
    },
    /// Serve `/health` and the dev-mode API on the resolved configuration at `AVB_HTTP_ADDR` (default
    /// 127.0.0.1:65020) until SIGTERM or Ctrl-C (needs the `http` feature).
    Serve {
        /// Listen here instead of `AVB_HTTP_ADDR`.
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// The configured catalog: validate a pipeline against it, or snapshot it into a JSON catalog file.
    Catalog {
        #[command(subcommand)]
        command: main_catalog::CatalogCommand,
    },
    /// Print an access token signed by the local issuer's development key (`AUTH_MODE=local`), for curl
    /// and tests against a running sandbox service: `-H "Authorization: Bearer $(avb token ...)"`.
    Token {
        /// `sub` of the token.
        #[arg(long)]
        subject: String,
        /// Workspace id (claim `workspace_id`).
        #[arg(long)]
        workspace: String,
        /// Realm roles, comma-separated (owner, admin, analyst, viewer, workspace-admin, project-member).
        #[arg(long, value_delimiter = ',', default_value = "viewer")]
        roles: Vec<String>,
        /// Lifetime: `90s`, `30m`, `1h`, `2d` or plain seconds.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        ttl: std::time::Duration,
    },
}

/// A positive duration: a number with unit `ms`, `s`, `m`, `h` or `d` (`1h`, `500ms`), or plain seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    avb::parse_duration(text).ok_or_else(|| {
        format!(
            "{:?}: expected a positive whole number with unit ms, s, m, h or d (e.g. 1h, 60s)",
            text.trim()
        )
    })
}

/// The configuration from the environment; a bad one is printed and exits 2.
pub(crate) fn resolved() -> Result<avb::config::Config, ExitCode> {
    avb::from_env().map_err(|e| {
        eprintln!("avb: {e}");
        ExitCode::from(2)
    })
}

/// A tokio runtime (`threads`: a multi-threaded one, else one thread); a failure is printed and exits 1.
pub(crate) fn runtime(threads: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = if threads {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("avb: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

fn token(subject: &str, workspace: &str, roles: &[String], ttl: std::time::Duration) -> ExitCode {
    let config = match resolved() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let key_file = match &config.auth.backend {
        avb::config::AuthConfig::Local { key_file, .. } => key_file.clone(),
        other => {
            eprintln!(
                "avb: note: AUTH_MODE resolves to {other}; services validate this token only under AUTH_MODE=local"
            );
            avb::auth::local::DEFAULT_KEY_FILE.into()
        }
    };
    let roles: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .collect();
    match avb::auth::local::LocalIssuer::from_key_file(&key_file)
        .and_then(|issuer| issuer.mint(subject, workspace, &roles, ttl))
    {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("avb: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Mode { json } => match avb::from_env() {
            Ok(config) if json => match serde_json::to_string_pretty(&config) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("avb: cannot serialise the configuration: {e}");
                    ExitCode::FAILURE
                }
            },
            Ok(config) => {
                print!("{config}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("avb: {e}");
                ExitCode::from(2)
            }
        },
        Command::Vars => {
            print!("{}", avb::config::registry().markdown_table());
            ExitCode::SUCCESS
        }
        Command::Health { json, wait, uses } => main_health::run(json, wait, uses),
        Command::Serve { addr } => main_serve::run(addr),
        Command::Check {
            json,
            catalog_sample,
            parity,
        } if parity => main_check::parity(json, catalog_sample),
        Command::Check {
            json,
            catalog_sample,
            ..
        } => main_check::run(json, catalog_sample),
        Command::Catalog { command } => main_catalog::run(command),
        Command::Token {
            subject,
            workspace,
            roles,
            ttl,
        } => token(&subject, &workspace, &roles, ttl),
    }
}
