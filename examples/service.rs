//! Run with: `cargo run --example service --features http` — an axum service that links avb, on the sandbox
//! default (in-memory bus and store, trust-all auth, the sample catalog, the mock LLM). The same program
//! runs on live servers with environment variables only (and the backends' features), e.g.
//! `AVB_DEV_MODE=live EVENT_BUS=redis REDIS_URL=… AUTH_MODE=keycloak OIDC_ISSUER_URL=… OBJECT_STORE=s3 …
//! DATA_CATALOG=openmetadata OPENMETADATA_URL=… LLM_PROVIDER=ollama LLM_API_URL=… LLM_MODEL=…`
//! (`tests/example_service.rs` runs it both ways). Listens on `AVB_HTTP_ADDR` (default `127.0.0.1:65020`).
//!
//! | route | what it does |
//! |---|---|
//! | `POST /orders` | bearer token checked by the Auth port; body `{"method": <catalog method id>, "inputs": {..}}`; publishes an event on the caller's workspace topic `orders`; 202 `{"id", "message_id"}` |
//! | (consumer) | per workspace: stores each order as `orders/<id>.json` in the workspace's object-store prefix, looks its method up in the catalog and validates the inputs, then acks |
//! | `GET /orders/{id}` | bearer token; what the consumer did: the stored object (read back from the store) and the catalog lookup; 404 until processed |
//! | `GET /answer?q=…` | the LLM's answer streamed as server-sent events: `token` per piece, then `done` (or `error`) |
//! | avb's routes | `/health`, `/ready`, `/metrics`, `/api/v2/system/dev-mode`, and in development the dev console `/console` |
//!
//! SIGTERM or Ctrl-C: stops taking requests, finishes the ones in flight, stops the consumers, closes the
//! bus, exits 0.

use avb::Platform;
use avb::auth::Principal;
use avb::event_bus::{Message, StartPosition, Topic};
use avb::llm::ChatRequest;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The consumer group of this service.
const GROUP: &str = "order-service";

#[derive(Clone)]
struct App {
    platform: Arc<Platform>,
    /// Workspaces whose consumer runs.
    consumers: Arc<Mutex<tokio::task::JoinSet<()>>>,
    started: Arc<Mutex<std::collections::HashSet<String>>>,
    /// What the consumer did, by (workspace, order id).
    processed: Arc<Mutex<HashMap<(String, String), Value>>>,
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The caller, from `Authorization: Bearer <token>` through the Auth port.
async fn principal(app: &App, headers: &HeaderMap) -> Result<Principal, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            problem(
                StatusCode::UNAUTHORIZED,
                "send `Authorization: Bearer <token>`",
            )
        })?;
    app.platform
        .ports()
        .auth()
        .authenticate(token)
        .await
        .map_err(|e| {
            problem(
                StatusCode::UNAUTHORIZED,
                format!("the token was refused: {e}"),
            )
        })
}

async fn place_order(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let caller = match principal(&app, &headers).await {
        Ok(p) => p,
        Err(refusal) => return refusal,
    };
    let order: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    let Some(method) = order.get("method").and_then(Value::as_str) else {
        return problem(
            StatusCode::BAD_REQUEST,
            r#"send {"method": "<method id>", "inputs": {..}}"#,
        );
    };
    let inputs = order.get("inputs").cloned().unwrap_or_else(|| json!({}));
    if !inputs.is_object() {
        return problem(StatusCode::BAD_REQUEST, "\"inputs\" must be an object");
    }
    let topic = match Topic::new(&caller.workspace_id, "orders") {
        Ok(t) => t,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    // Subscribe before the first publish, so the consumer sees it whatever the backend's start position.
    if let Err(e) = ensure_consumer(&app, &caller, &topic).await {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot subscribe: {e}"),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let event = json!({ "id": id, "method": method, "inputs": inputs, "by": caller.subject });
    let message = Message::new(event.to_string().into_bytes()).with_key(id.clone());
    match app
        .platform
        .ports()
        .event_bus()
        .publish(&topic, message)
        .await
    {
        Ok(message_id) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": id, "message_id": message_id.to_string() })),
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("publish failed: {e}"),
        ),
    }
}

async fn ensure_consumer(app: &App, caller: &Principal, topic: &Topic) -> Result<(), String> {
    let workspace = caller.workspace_id.to_string();
    let mut started = app.started.lock().await;
    if started.contains(&workspace) {
        return Ok(());
    }
    let ports = app.platform.ports();
    let mut subscription = ports
        .event_bus()
        .subscribe(topic, GROUP, StartPosition::Earliest)
        .await
        .map_err(|e| e.to_string())?;
    let store =
        avb::object_store::for_workspace(ports.object_store().clone(), &caller.workspace_id);
    let catalog = ports.catalog().clone();
    let processed = app.processed.clone();
    let ws = workspace.clone();
    app.consumers.lock().await.spawn(async move {
        while let Some(delivery) = subscription.next().await {
            let delivery = match delivery {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("service: consumer for {ws}: {e}");
                    continue;
                }
            };
            match consume(&store, catalog.as_ref(), &delivery.message().payload).await {
                Ok((id, record)) => {
                    processed.lock().await.insert((ws.clone(), id), record);
                    if let Err(e) = delivery.ack().await {
                        eprintln!("service: ack failed: {e}");
                    }
                }
                Err(e) => {
                    eprintln!("service: order not processed ({e}); redelivered later");
                    let _ = delivery.nack(std::time::Duration::from_secs(1), &e).await;
                }
            }
        }
    });
    started.insert(workspace);
    Ok(())
}

/// Stores the order and looks its method up: the order's id and what was done.
async fn consume(
    store: &Arc<dyn avb::object_store::ObjectStore>,
    catalog: &dyn avb::catalog::Catalog,
    payload: &[u8],
) -> Result<(String, Value), String> {
    let order: Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    let id = order["id"].as_str().ok_or("no id")?.to_string();
    let method = order["method"].as_str().ok_or("no method")?.to_string();
    let key = format!("orders/{id}.json");
    store
        .put(
            &key,
            bytes::Bytes::copy_from_slice(payload),
            Default::default(),
        )
        .await
        .map_err(|e| format!("storing {key}: {e}"))?;
    let lookup = match catalog.get_method(&method).await {
        Ok(m) => {
            let inputs =
                avb::catalog::inputs_from_json(order["inputs"].as_object().ok_or("no inputs")?);
            let mismatches = catalog
                .validate_call(&method, &inputs)
                .await
                .map_err(|e| format!("validating {method}: {e}"))?;
            json!({
                "found": true, "method_id": m.method_id, "name": m.name, "entity_type": m.entity_type,
                "valid": mismatches.is_empty(),
                "mismatches": mismatches.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        }
        Err(avb::catalog::Error::NotFound { .. }) => json!({ "found": false, "method_id": method }),
        Err(e) => return Err(format!("catalog lookup of {method}: {e}")),
    };
    Ok((id, json!({ "object_key": key, "catalog": lookup })))
}

async fn order_status(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match principal(&app, &headers).await {
        Ok(p) => p,
        Err(refusal) => return refusal,
    };
    let workspace = caller.workspace_id.to_string();
    let Some(record) = app
        .processed
        .lock()
        .await
        .get(&(workspace, id.clone()))
        .cloned()
    else {
        return problem(
            StatusCode::NOT_FOUND,
            format!("order {id} is not processed (yet)"),
        );
    };
    let store = avb::object_store::for_workspace(
        app.platform.ports().object_store().clone(),
        &caller.workspace_id,
    );
    let key = record["object_key"].as_str().unwrap_or_default();
    let stored = match store.get_bytes(key).await {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => v,
            Err(e) => return problem(StatusCode::BAD_GATEWAY, format!("{key} is not JSON: {e}")),
        },
        Err(e) => {
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("reading {key}: {e}"),
            );
        }
    };
    Json(json!({ "id": id, "object_key": key, "stored": stored, "catalog": record["catalog"] }))
        .into_response()
}

async fn answer(State(app): State<App>, uri: axum::http::Uri) -> Response {
    let question = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.into_owned());
    let Some(question) = question.filter(|q| !q.trim().is_empty()) else {
        return problem(StatusCode::BAD_REQUEST, "ask with ?q=<question>");
    };
    let request = ChatRequest::user(question.clone()).max_tokens(48);
    let stream = match app.platform.ports().llm().chat_stream(request).await {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_GATEWAY, format!("the LLM refused: {e}")),
    };
    // `token` per piece; `done` with the summary when the stream ends, `error` if it breaks.
    let events = futures::stream::unfold(Some(stream), |state| async move {
        let mut stream = state?;
        let event = match stream.next().await {
            Some(Ok(delta)) => Event::default().event("token").data(delta.content),
            Some(Err(e)) => {
                return Some((Event::default().event("error").data(e.to_string()), None));
            }
            None => {
                let summary = stream.summary().map(|s| json!(s)).unwrap_or(Value::Null);
                return Some((
                    Event::default().event("done").data(summary.to_string()),
                    None,
                ));
            }
        };
        Some((event, Some(stream)))
    })
    .map(Ok::<_, std::convert::Infallible>);
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let platform = Arc::new(Platform::from_env().await?);
    let config = platform.ports().config().clone();
    print!("{config}"); // the startup summary; secrets are redacted
    let app = App {
        platform: platform.clone(),
        consumers: Arc::default(),
        started: Arc::default(),
        processed: Arc::default(),
    };
    let routes = Router::new()
        .route("/orders", post(place_order))
        .route("/orders/{id}", get(order_status))
        .route("/answer", get(answer))
        .with_state(app.clone())
        .merge(avb::http::router(platform.clone()));
    let listener = tokio::net::TcpListener::bind(config.http_addr).await?;
    println!("service: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, routes)
        .with_graceful_shutdown(stop_signal())
        .await?;
    app.consumers.lock().await.shutdown().await;
    platform.ports().event_bus().close().await?;
    println!("service: stopped");
    Ok(())
}

/// SIGTERM (what an orchestrator sends) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                eprintln!("service: cannot watch SIGTERM ({e}); Ctrl-C still stops it");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
