//! The `avb` command.
//!
//! Run with: `cargo run -- mode` (the resolved configuration), `cargo run -- vars` (every variable), or
//! `cargo run -- token --subject alice --workspace ws-1 --roles analyst,viewer` (a local-issuer token).

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
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: std::time::Duration,
    },
}

fn parse_ttl(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: expected a number with unit s, m, h or d (e.g. 1h)"
            ));
        }
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(std::time::Duration::from_secs(n.saturating_mul(scale))),
        _ => Err(format!(
            "{text:?}: expected a positive number with unit s, m, h or d (e.g. 1h)"
        )),
    }
}

fn token(subject: &str, workspace: &str, roles: &[String], ttl: std::time::Duration) -> ExitCode {
    let config = match avb::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("avb: {e}");
            return ExitCode::from(2);
        }
    };
    let key_file = match &config.auth.backend {
        avb::config::AuthConfig::Local { key_file } => key_file.clone(),
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
            print!("{}", avb::config::keys::markdown_table());
            ExitCode::SUCCESS
        }
        Command::Token {
            subject,
            workspace,
            roles,
            ttl,
        } => token(&subject, &workspace, &roles, ttl),
    }
}
