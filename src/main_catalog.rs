//! `avb catalog validate <pipeline.yaml>` and `avb catalog snapshot --out <file>`: the configured catalog
//! (`DATA_CATALOG`, either backend), from the command line.

use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum CatalogCommand {
    /// Check every step of a pipeline (method and inputs, references to earlier outputs) against the
    /// configured catalog; prints each problem as `<file>:<line>:<column>: …`; exit 1 on problems, 2 when
    /// the configuration, the file or the catalog fails.
    Validate {
        /// The pipeline YAML (shape: docs/catalog.md).
        pipeline: PathBuf,
    },
    /// Read the whole configured catalog (e.g. OpenMetadata) and write it as a JSON catalog file
    /// (`DATA_CATALOG=json` answers every query from it as the source did).
    Snapshot {
        /// Where to write it (replaced atomically).
        #[arg(long)]
        out: PathBuf,
    },
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("avb: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(command: CatalogCommand) -> ExitCode {
    let config = match avb::from_env() {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let catalog = match avb::catalog::open(&config.catalog.backend).await {
            Ok(c) => c,
            Err(e) => return fail(format!("catalog: {}", config.scrub(&e.to_string()))),
        };
        match command {
            CatalogCommand::Validate { pipeline } => {
                let text = match std::fs::read_to_string(&pipeline) {
                    Ok(t) => t,
                    Err(e) => return fail(format!("cannot read {}: {e}", pipeline.display())),
                };
                match avb::catalog::pipeline::validate(&*catalog, &text).await {
                    Ok(problems) if problems.is_empty() => {
                        println!(
                            "{}: valid ({} catalog)",
                            pipeline.display(),
                            catalog.backend()
                        );
                        ExitCode::SUCCESS
                    }
                    Ok(problems) => {
                        for p in &problems {
                            println!("{}:{p}", pipeline.display());
                        }
                        eprintln!(
                            "avb: {} problem{} in {}",
                            problems.len(),
                            if problems.len() == 1 { "" } else { "s" },
                            pipeline.display()
                        );
                        ExitCode::FAILURE
                    }
                    Err(e) => fail(format!("catalog: {}", config.scrub(&e.to_string()))),
                }
            }
            CatalogCommand::Snapshot { out } => {
                let data = match avb::catalog::snapshot(&*catalog).await {
                    Ok(d) => d,
                    Err(e) => return fail(format!("catalog: {}", config.scrub(&e.to_string()))),
                };
                match write(&out, &data) {
                    Ok(()) => {
                        println!(
                            "wrote {} methods and {} ontology versions from the {} catalog to {}",
                            data.methods.len(),
                            data.ontology.len(),
                            catalog.backend(),
                            out.display()
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(format!("cannot write {}: {e}", out.display())),
                }
            }
        }
    })
}

/// Writes through a temporary file beside `out` and a rename: a JSON catalog reading `out` never sees half.
fn write(out: &Path, data: &avb::catalog::CatalogData) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(data).map_err(std::io::Error::other)?;
    text.push('\n');
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "catalog.json".into());
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, out).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
