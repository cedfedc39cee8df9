//! The `avb` command.
//!
//! Run with: `cargo run -- mode` (the resolved configuration) or `cargo run -- vars` (every variable).

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
    }
}
