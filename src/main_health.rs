//! `avb health [--json] [--wait 60s] [--uses event_bus,object_store]`: builds each used port and reports
//! its health; with `--wait`, polls until every used port is healthy (exit 0) or the time is up (the last
//! report is printed, exit 1). An unused port is neither resolved nor checked, so its state never affects
//! the exit code.

use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How often `--wait` asks again.
const POLL: Duration = Duration::from_millis(500);

pub fn run(json: bool, wait: Option<Duration>, uses: Option<avb::PortSet>) -> ExitCode {
    let config = match avb::from_env_using(uses.unwrap_or(avb::PortSet::ALL)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("avb: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::runtime(false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let deadline = wait.map(|w| Instant::now() + w);
    let report = runtime.block_on(async {
        loop {
            let report = avb::health::check(&config).await;
            match deadline {
                Some(d) if !report.is_healthy() && Instant::now() < d => {
                    tokio::time::sleep(POLL.min(d.saturating_duration_since(Instant::now()))).await
                }
                _ => break report,
            }
        }
    });
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("avb: cannot serialise the report: {e}"),
        }
    } else {
        print!("{report}");
    }
    if report.is_healthy() {
        ExitCode::SUCCESS
    } else {
        if let Some(w) = wait {
            eprintln!("avb: not healthy after waiting {} ms", w.as_millis());
        }
        ExitCode::FAILURE
    }
}
