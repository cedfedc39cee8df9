//! What a broken or hostile OpenMetadata server sends is an error naming what was wrong — never a panic,
//! never a silent default, never an endless loop. Two levels: the mapping of entities (any JSON value in
//! any field) and the HTTP client (any status, any body, a cut body, a non-HTTP answer, an endless
//! cursor chain, an oversized body).

use super::{OpenMetadataCatalog, map};
use crate::{Catalog, Error};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Keys the mapping reads, so generated objects often hit the paths that matter.
const KEYS: &[&str] = &[
    "name",
    "displayName",
    "description",
    "tags",
    "tagFQN",
    "requestSchema",
    "responseSchema",
    "schemaFields",
    "dataType",
    "parent",
    "relatedTerms",
    "term",
    "id",
    "data",
    "paging",
    "after",
    "version",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => ".{0,6}",
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "STRING",
            "ARRAY",
            "AvbEntityType.Trade",
            "AvbParam.Optional",
            "avb_ontology_1_0",
            "avb_ontology_x",
            "",
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A valid avb method endpoint.
fn endpoint() -> Value {
    json!({
        "name": "get_trade",
        "displayName": "Get trade",
        "tags": [{"tagFQN": "AvbEntityType.Trade"}],
        "requestSchema": {"schemaFields": [{"name": "id", "dataType": "STRING"}]},
        "responseSchema": {"schemaFields": [{"name": "price", "dataType": "DOUBLE"}]}
    })
}

/// The fields of [`endpoint`] a server could garble, as (JSON pointer, the path an error must name).
const ENDPOINT_FIELDS: &[(&str, &str)] = &[
    ("/name", "$.name"),
    (
        "/requestSchema/schemaFields/0/name",
        "$.requestSchema.schemaFields[0].name",
    ),
    (
        "/requestSchema/schemaFields/0/dataType",
        "$.requestSchema.schemaFields[0].dataType",
    ),
    (
        "/responseSchema/schemaFields/0/name",
        "$.responseSchema.schemaFields[0].name",
    ),
    (
        "/responseSchema/schemaFields/0/dataType",
        "$.responseSchema.schemaFields[0].dataType",
    ),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any JSON value at all: the mapping answers (no panic); a method it accepts carries the entity tag
    /// and a non-empty id; an error is `Malformed` naming a path.
    #[test]
    fn any_value_maps_or_is_malformed(v in any_json()) {
        match map::method(&v) {
            Ok(Some(m)) => {
                prop_assert!(!m.method_id.is_empty());
                let tag = format!("AvbEntityType.{}", m.entity_type);
                prop_assert!(v.to_string().contains(&tag), "{} lacks {}", v, tag);
            }
            Ok(None) => {}
            Err(Error::Malformed { path, .. }) => prop_assert!(path.starts_with('$'), "{path}"),
            Err(other) => prop_assert!(false, "not Malformed: {other:?}"),
        }
        match map::entity(&v) {
            Ok(e) => prop_assert!(!e.name.is_empty()),
            Err(Error::Malformed { path, .. }) => prop_assert!(path.starts_with('$'), "{path}"),
            Err(other) => prop_assert!(false, "not Malformed: {other:?}"),
        }
        if let Some((version, _)) = map::glossary_version(&v) {
            prop_assert!(crate::version_key(&version).is_some(), "{version}");
        }
    }

    /// One field of a valid endpoint garbled: either it is still a valid value, or the error names exactly
    /// that field.
    #[test]
    fn a_garbled_field_is_named(which in 0..ENDPOINT_FIELDS.len(), v in any_json()) {
        let (pointer, expected_path) = ENDPOINT_FIELDS[which];
        let mut e = endpoint();
        if let Some(slot) = e.pointer_mut(pointer) {
            *slot = v.clone();
        }
        let valid = match v.as_str() {
            Some(t) if expected_path.ends_with("dataType") => {
                ["STRING", "INT", "LONG", "FLOAT", "DOUBLE", "BOOLEAN", "RECORD", "MAP", "ARRAY"].contains(&t)
            }
            Some(t) => !t.is_empty(),
            None => false,
        };
        match map::method(&e) {
            Ok(Some(_)) => prop_assert!(valid, "{} accepted at {}", v, expected_path),
            Ok(None) => prop_assert!(false, "the tag was not touched, the endpoint must stay a method"),
            Err(Error::Malformed { path, .. }) => {
                prop_assert!(!valid, "{} refused at {}", v, path);
                prop_assert_eq!(path, expected_path);
            }
            Err(other) => prop_assert!(false, "not Malformed: {other:?}"),
        }
    }
}

/// A loopback HTTP server answering every request with `answer(request number)`, then closing.
async fn serve(answer: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answer = answer.clone();
            let n = count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&chunk[..k]),
                    }
                }
                let _ = sock.write_all(&answer(n)).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    url::Url::parse(&format!("http://{addr}/api")).unwrap()
}

fn response(status: u16, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[derive(Debug, Clone)]
enum Answer {
    /// A well-formed HTTP answer with a JSON body.
    Json(u16, Value),
    /// A well-formed HTTP answer with any bytes as body.
    Bytes(u16, Vec<u8>),
    /// Not HTTP at all.
    Raw(Vec<u8>),
    /// A content-length longer than the bytes sent before the connection closes.
    Cut(u16, Value, usize),
}

impl Answer {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Answer::Json(s, v) => response(*s, v.to_string().as_bytes()),
            Answer::Bytes(s, b) => response(*s, b),
            Answer::Raw(b) => b.clone(),
            Answer::Cut(s, v, keep) => {
                let mut full = response(*s, v.to_string().as_bytes());
                let body_start = full.len() - v.to_string().len();
                full.truncate(body_start + keep % (v.to_string().len().max(1)));
                full
            }
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Answer::Json(s, _) | Answer::Bytes(s, _) | Answer::Cut(s, _, _) => Some(*s),
            Answer::Raw(_) => None,
        }
    }
}

fn status() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![200u16, 201, 204, 301, 400, 401, 403, 404, 500, 503])
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => (status(), any_json()).prop_map(|(s, v)| Answer::Json(s, v)),
        2 => (status(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(s, b)| Answer::Bytes(s, b)),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Answer::Raw),
        1 => (status(), any_json(), any::<usize>()).prop_map(|(s, v, k)| Answer::Cut(s, v, k)),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    // Each case starts a server and makes real requests (retryable answers are retried with backoff).
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the server answers, every call returns; a well-formed error status maps to its error
    /// class, a non-success answer is never taken as data, and the token never shows in the error text.
    #[test]
    fn any_answer_is_an_answer_or_a_clear_error(a in answer()) {
        let rt = runtime();
        let (methods, versions, ontology, health) = rt.block_on(async {
            let bytes = a.bytes();
            let url = serve(move |_| bytes.clone()).await;
            let catalog = OpenMetadataCatalog::new(&url, Some("s3cr3t-token")).unwrap();
            (
                catalog.list_methods(None).await,
                catalog.list_ontology_versions().await,
                catalog.get_ontology(None).await,
                catalog.health().await,
            )
        });
        let errors: Vec<&Error> = [methods.as_ref().err(), versions.as_ref().err(), ontology.as_ref().err()]
            .into_iter()
            .flatten()
            .collect();
        for e in &errors {
            prop_assert!(!e.to_string().contains("s3cr3t"), "{e}");
        }
        let health = format!("{health:?}");
        prop_assert!(!health.contains("s3cr3t"), "{}", health);
        let complete = !matches!(a, Answer::Cut(..) | Answer::Raw(_));
        match a.status() {
            Some(401 | 403) if complete => {
                prop_assert!(matches!(methods, Err(Error::Unauthorized { .. })), "{methods:?}");
                prop_assert!(matches!(versions, Err(Error::Unauthorized { .. })), "{versions:?}");
            }
            Some(404) if complete => {
                prop_assert!(matches!(methods, Err(Error::NotFound { .. })), "{methods:?}");
            }
            Some(503) if complete => {
                prop_assert!(matches!(methods, Err(Error::Unavailable { .. })), "{methods:?}");
            }
            Some(s) if !(200..300).contains(&s) => {
                prop_assert!(methods.is_err() && versions.is_err() && ontology.is_err());
            }
            _ => {}
        }
        if !complete {
            prop_assert!(methods.is_err(), "a cut or non-HTTP answer taken as data: {methods:?}");
        }
    }
}

#[test]
fn an_endless_cursor_chain_is_a_protocol_error() {
    let rt = runtime();
    let result = rt.block_on(async {
        let url = serve(|n| {
            response(
                200,
                json!({"data": [], "paging": {"after": format!("cursor-{n}")}})
                    .to_string()
                    .as_bytes(),
            )
        })
        .await;
        let mut catalog = OpenMetadataCatalog::new(&url, None).unwrap();
        catalog.client = catalog.client.with_max_pages(5);
        catalog.list_methods(None).await
    });
    match result {
        Err(Error::Protocol { detail, .. }) => {
            assert!(detail.contains("more than 5 pages"), "{detail}")
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn an_oversized_answer_is_an_error_not_a_cut_one() {
    let rt = runtime();
    let result = rt.block_on(async {
        // A valid JSON document longer than the client's cap: cut at the cap it would be invalid JSON, but
        // a client that silently cut and parsed a prefix would be wrong either way.
        let mut body = br#"{"data": [], "pad": ""#.to_vec();
        body.extend(std::iter::repeat_n(b'x', 17 << 20));
        body.extend_from_slice(br#""}"#);
        let answer = response(200, &body);
        let url = serve(move |_| answer.clone()).await;
        OpenMetadataCatalog::new(&url, None)
            .unwrap()
            .list_methods(None)
            .await
    });
    match result {
        Err(Error::Protocol { detail, .. }) => {
            assert!(detail.contains("longer than 16 MiB"), "{detail}")
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}
