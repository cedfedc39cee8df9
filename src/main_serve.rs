//! `avb serve`: the HTTP surface (`avb::http`: `/health`, the dev-mode API) on the resolved configuration,
//! at `AVB_HTTP_ADDR` (default `127.0.0.1:65020`), until SIGTERM or Ctrl-C.

use std::process::ExitCode;

/// Serves until a signal; exit 0 after a clean stop, 1 when the ports or the address fail, 2 on a bad
/// configuration.
#[cfg(feature = "http")]
pub fn run(addr: Option<std::net::SocketAddr>) -> ExitCode {
    let runtime = match crate::runtime(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let platform = match avb::Platform::from_env().await {
            Ok(p) => std::sync::Arc::new(p),
            Err(avb::PlatformError::Config(e)) => {
                eprintln!("avb: {e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("avb: {e}");
                return ExitCode::FAILURE;
            }
        };
        let config = platform.ports().config().clone();
        print!("{config}");
        let addr = addr.unwrap_or(config.http_addr);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("avb: cannot listen on {addr} (AVB_HTTP_ADDR): {e}");
                return ExitCode::FAILURE;
            }
        };
        let shown = listener.local_addr().unwrap_or(addr);
        println!(
            "avb serve: listening on http://{shown} (GET /health, GET|POST /api/v2/system/dev-mode)"
        );
        let served = axum::serve(listener, avb::http::router(platform))
            .with_graceful_shutdown(stop_signal())
            .await;
        match served {
            Ok(()) => {
                println!("avb serve: stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("avb: the server failed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// SIGTERM (what an orchestrator sends) or Ctrl-C.
#[cfg(feature = "http")]
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("avb: cannot watch SIGTERM ({e}); Ctrl-C still stops the server");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Without the `http` feature: says how to build it.
#[cfg(not(feature = "http"))]
pub fn run(_addr: Option<std::net::SocketAddr>) -> ExitCode {
    eprintln!("avb: `avb serve` needs the `http` feature: cargo run --features http -- serve");
    ExitCode::from(2)
}
