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
        // OTEL_EXPORTER_OTLP_ENDPOINT: spans exported while serving (the guard flushes them at the end).
        #[cfg(feature = "otlp")]
        let _otlp = match &config.otlp_endpoint {
            Some(endpoint) => match avb::trace::init_otlp(endpoint.expose().as_str(), "avb") {
                Ok(guard) => {
                    println!("avb serve: exporting spans over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)");
                    Some(guard)
                }
                Err(e) => {
                    eprintln!("avb: OTEL_EXPORTER_OTLP_ENDPOINT: {e}");
                    return ExitCode::from(2);
                }
            },
            None => None,
        };
        #[cfg(not(feature = "otlp"))]
        if config.otlp_endpoint.is_some() {
            eprintln!(
                "avb serve: WARNING: OTEL_EXPORTER_OTLP_ENDPOINT is set, but this avb was built without the \
                 `otlp` feature: no spans are exported"
            );
        }
        let addr = addr.unwrap_or(config.http_addr);
        let signal = stop_signal();
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("avb: cannot listen on {addr} (AVB_HTTP_ADDR): {e}");
                return ExitCode::FAILURE;
            }
        };
        let shown = listener.local_addr().unwrap_or(addr);
        println!(
            "avb serve: listening on http://{shown} (GET /health, /ready, /metrics, GET|POST /api/v2/system/dev-mode, the dev console /console in development)"
        );
        let deadline = config.shutdown_timeout;
        // Set when the signal arrives: the end of the drain.
        let end = std::sync::Arc::new(std::sync::OnceLock::new());
        let signalled = std::sync::Arc::new(tokio::sync::Notify::new());
        let (on_signal, end_at) = (signalled.clone(), end.clone());
        let served = axum::serve(listener, avb::http::router(platform.clone()))
            .with_graceful_shutdown(async move {
                signal.await;
                println!(
                    "avb serve: stopping (draining for at most {} ms, AVB_SHUTDOWN_TIMEOUT)",
                    deadline.as_millis()
                );
                let _ = end_at.set(tokio::time::Instant::now() + deadline);
                on_signal.notify_one();
            });
        let serve = served.into_future();
        tokio::pin!(serve);
        // After the signal, the requests in flight get until the end; the ports' drain what is left.
        let (served, requests_unfinished) = tokio::select! {
            r = &mut serve => (r, false),
            () = signalled.notified() => {
                let until = end.get().copied().unwrap_or_else(|| tokio::time::Instant::now() + deadline);
                match tokio::time::timeout_at(until, &mut serve).await {
                    Ok(r) => (r, false),
                    Err(_) => (Ok(()), true),
                }
            }
        };
        let end = end
            .get()
            .copied()
            .unwrap_or_else(|| tokio::time::Instant::now() + deadline);
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

/// SIGTERM (what an orchestrator sends) or Ctrl-C. The handlers are installed by this call (before the
/// listener is bound), so a signal that arrives early is not lost to the default action.
#[cfg(feature = "http")]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!(
                        "avb: cannot watch SIGTERM/SIGINT ({e}); Ctrl-C still stops the server"
                    );
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Without the `http` feature: says how to build it.
#[cfg(not(feature = "http"))]
pub fn run(_addr: Option<std::net::SocketAddr>) -> ExitCode {
    eprintln!("avb: `avb serve` needs the `http` feature: cargo run --features http -- serve");
    ExitCode::from(2)
}
