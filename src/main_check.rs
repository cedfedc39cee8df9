//! `avb check`: every port's conformance suite against the configured backends (see `avb::check`).

use std::process::ExitCode;

/// Runs the check; exit 0 when every port passed or was skipped, 1 when a case failed or a backend could
/// not be opened, 2 on a bad configuration.
#[cfg(feature = "check")]
pub fn run(json: bool, catalog_sample: bool) -> ExitCode {
    let (config, runtime) = match (crate::resolved(), crate::runtime(true)) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let options = avb::check::CheckOptions {
        print: !json,
        catalog_sample,
    };
    if !json {
        println!(
            "avb check: {} mode, {} — each port's conformance suite against its configured backend",
            config.mode, config.environment
        );
    }
    let checks = runtime.block_on(avb::check::run(&config, &options));
    let summary = avb::check::to_json(&checks);
    if json {
        match serde_json::to_string_pretty(&summary) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("avb: cannot serialise the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!();
        print!("{}", avb::check::table(&checks));
    }
    if summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `avb check --parity`: exit 0 when the configured backends lack nothing the sandbox defaults declare, 1
/// when one does (or cannot be opened), 2 on a bad configuration.
#[cfg(feature = "check")]
pub fn parity(json: bool, _catalog_sample: bool) -> ExitCode {
    let (config, runtime) = match (crate::resolved(), crate::runtime(true)) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let gaps = match runtime.block_on(avb::check::parity(&config)) {
        Ok(gaps) => gaps,
        Err(e) => {
            eprintln!("avb: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lacking = gaps.iter().any(|g| g.kind == "lacks");
    if json {
        let body = serde_json::json!({ "ok": !lacking, "gaps": gaps });
        match serde_json::to_string_pretty(&body) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("avb: cannot serialise the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", avb::check::parity_text(&gaps));
    }
    if lacking {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Without the `check` feature: says how to build it.
#[cfg(not(feature = "check"))]
pub fn parity(json: bool, catalog_sample: bool) -> ExitCode {
    run(json, catalog_sample)
}

/// Without the `check` feature: says how to build it.
#[cfg(not(feature = "check"))]
pub fn run(_json: bool, _catalog_sample: bool) -> ExitCode {
    eprintln!(
        "avb: `avb check` runs the conformance suites, which this build leaves out: \
         cargo run --features check -- check"
    );
    ExitCode::from(2)
}
