//! `avb serve`: the HTTP surface (`avb::http`: `/health`, the dev-mode API) on the resolved configuration,
//! at `AVB_HTTP_ADDR` (default `127.0.0.1:65020`), until SIGTERM or Ctrl-C.
//!
//! Stopping: on the signal the listener stops accepting, the requests in flight finish (axum's graceful
//! shutdown), then `Platform::shutdown` drains and closes the ports — the whole stop bounded by
//! `AVB_SHUTDOWN_TIMEOUT` (default 30 s). Exit 0 when everything finished in time, 1 otherwise (what was
//! still in flight is printed).

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
        let deadline = config.shutdown_timeout;
        let signalled = std::sync::Arc::new(tokio::sync::Notify::new());
        let on_signal = signalled.clone();
        let served = axum::serve(listener, avb::http::router(platform.clone()))
            .with_graceful_shutdown(async move {
                stop_signal().await;
                on_signal.notify_one();
            });
        let serve = served.into_future();
        tokio::pin!(serve);
        // After the signal, the requests in flight get the deadline; the ports' drain what is left of it.
        let (served, end, requests_unfinished) = tokio::select! {
            r = &mut serve => (r, tokio::time::Instant::now() + deadline, false),
            () = signalled.notified() => {
                println!(
                    "avb serve: stopping (draining for at most {} ms, AVB_SHUTDOWN_TIMEOUT)",
                    deadline.as_millis()
                );
                let end = tokio::time::Instant::now() + deadline;
                match tokio::time::timeout_at(end, &mut serve).await {
                    Ok(r) => (r, end, false),
                    Err(_) => (Ok(()), end, true),
                }
            }
        };
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        let report = platform.shutdown(left).await;
        if requests_unfinished {
            eprintln!("avb serve: HTTP requests were still in flight at the deadline");
        }
        match served {
            Ok(()) if report.is_clean() && !requests_unfinished => {
                println!("avb serve: stopped ({report})");
                ExitCode::SUCCESS
            }
            Ok(()) => {
                eprintln!("avb serve: stopped: {report}");
                ExitCode::FAILURE
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
