//! Nothing an S3 server answers may panic the s3 backend. A loopback fake server answers every request with
//! a generated reply — any status, odd headers (`Content-Range`, `Content-Length`, dates, ETags), and bodies
//! that are arbitrary bytes or mutated S3 XML (errors, listings, multipart and copy results) — and every
//! operation of the port is run against it. Each must return, never panic, and an error must be of a kind
//! that fits the status: 5xx/429 retryable `Unavailable`, 404 `NotFound`, 403 `PermissionDenied`, a
//! malformed success `Backend`; no error text shows the secret key.
#![cfg(feature = "s3")]
// Test code: an unwrap that fails is the test failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb_object_store::s3::{S3Builder, S3Store};
use avb_object_store::{
    Error, GetOptions, GetRange, ListOptions, MultipartUpload, ObjectStore, PartId, PutOptions,
};
use bytes::Bytes;
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "fuzz-secret-never-shown";

/// What the fake server answers.
#[derive(Debug, Clone, Default)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send this `Content-Length` instead of the body's.
    wrong_length: Option<u64>,
}

type Shared = Arc<Mutex<Reply>>;

async fn serve(listener: TcpListener, reply: Shared) {
    while let Ok((socket, _)) = listener.accept().await {
        let reply = reply.lock().unwrap().clone();
        tokio::spawn(async move {
            let _ = answer(socket, reply).await;
        });
    }
}

/// Reads one request (head and `Content-Length` body) and writes `reply`, then closes.
async fn answer(mut socket: TcpStream, reply: Reply) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buffer.len() - head_end;
    while have < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let mut out = format!("HTTP/1.1 {} Fuzz\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let length = reply.wrong_length.unwrap_or(reply.body.len() as u64);
    out.push_str(&format!(
        "content-length: {length}\r\nconnection: close\r\n\r\n"
    ));
    socket.write_all(out.as_bytes()).await?;
    if !head.starts_with("head ") {
        socket.write_all(&reply.body).await?;
    }
    socket.shutdown().await
}

const CODES: &[&str] = &[
    "NoSuchKey",
    "NoSuchBucket",
    "NoSuchUpload",
    "AccessDenied",
    "SignatureDoesNotMatch",
    "PreconditionFailed",
    "InvalidRange",
    "InvalidArgument",
    "EntityTooSmall",
    "InvalidPart",
    "SlowDown",
    "InternalError",
    "",
    "\u{0}",
    "<>&",
];

fn templates() -> Vec<String> {
    let mut t: Vec<String> = CODES
        .iter()
        .map(|c| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{c}</Code><Message>m</Message><RequestId>r</RequestId></Error>"
            )
        })
        .collect();
    t.extend([
        "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><Contents><Key>k</Key><Size>18446744073709551615</Size><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag></Contents><Contents><Key></Key><Size>-1</Size><LastModified>not a date</LastModified></Contents><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>".to_string(),
        "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>".to_string(),
        "<?xml version=\"1.0\"?><CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key><ETag>\"e\"</ETag></CompleteMultipartUploadResult>".to_string(),
        "<?xml version=\"1.0\"?><CopyObjectResult><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag></CopyObjectResult>".to_string(),
    ]);
    t
}

/// A template with a few bytes cut, inserted or replaced.
fn mutated_xml() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(templates()),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..6),
    )
        .prop_map(|(template, edits)| {
            let mut body = template.into_bytes();
            for (at, op, byte) in edits {
                if body.is_empty() {
                    break;
                }
                let i = at.index(body.len());
                match op {
                    0 => body.truncate(i),
                    1 => body.insert(i, byte),
                    _ => body[i] = byte,
                }
            }
            body
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => mutated_xml(),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => Just(Vec::new()),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..20).prop_map(|n| n.to_string()),
        Just(u64::MAX.to_string()),
        Just("-1".to_string()),
        Just("x".to_string()),
    ]
}

fn header() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        (number(), number(), number())
            .prop_map(|(a, b, c)| ("content-range".into(), format!("bytes {a}-{b}/{c}"))),
        "[ -~]{0,20}".prop_map(|v| ("content-range".into(), v)),
        "[ -~]{0,20}".prop_map(|v| ("last-modified".into(), v)),
        "[ -~]{0,20}".prop_map(|v| ("etag".into(), v)),
        "[ -~]{0,20}".prop_map(|v| ("content-type".into(), v)),
        "[ -~]{0,20}".prop_map(|v| ("x-amz-meta-n".into(), v)),
        "[ -~]{0,20}".prop_map(|v| ("x-amz-request-id".into(), v)),
        Just(("content-type".into(), "application/xml".into())),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        prop_oneof![
            prop::sample::select(vec![
                200u16, 206, 204, 301, 304, 400, 403, 404, 409, 412, 416, 429, 500, 503
            ]),
            200u16..600,
        ],
        prop::collection::vec(header(), 0..4),
        body(),
        prop_oneof![4 => Just(None), 1 => (0u64..600).prop_map(Some)],
    )
        .prop_map(|(status, headers, body, wrong_length)| Reply {
            status,
            headers,
            body,
            wrong_length,
        })
}

/// Whether `result` of operation `op` is a sensible answer to `reply`.
fn check<T: std::fmt::Debug>(
    op: &str,
    reply: &Reply,
    result: &Result<T, Error>,
) -> Result<(), String> {
    let status = reply.status;
    let has_code = String::from_utf8_lossy(&reply.body).contains("<Code>");
    let Err(e) = result else {
        let ok = (200..300).contains(&status)
            // Deleting or aborting what is not there succeeds (as on S3).
            || (matches!(op, "delete" | "abort") && (status == 404 || has_code));
        return if ok {
            Ok(())
        } else {
            Err(format!("{op}: HTTP {status} gave Ok: {result:?}"))
        };
    };
    let text = format!("{e} {e:?}");
    if text.contains(SECRET) {
        return Err(format!("{op}: the secret key is in the error: {text}"));
    }
    let fits = match status {
        429 | 500..=599 => matches!(e, Error::Unavailable { .. }) && e.is_retryable(),
        _ if has_code => true,
        404 => matches!(e, Error::NotFound { .. } | Error::BucketNotFound { .. }),
        403 => matches!(e, Error::PermissionDenied { .. }),
        412 => matches!(
            e,
            Error::PreconditionFailed { .. } | Error::AlreadyExists { .. }
        ),
        416 => matches!(e, Error::InvalidRange { .. } | Error::Backend { .. }),
        400..=499 => matches!(e, Error::Backend { .. } | Error::InvalidArgument { .. }),
        // A success or redirect the backend cannot use: malformed (Backend), or a body cut short
        // (Unavailable while reading it), or a range the object does not have.
        _ => matches!(
            e,
            Error::Backend { .. } | Error::Unavailable { .. } | Error::InvalidRange { .. }
        ),
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{op}: HTTP {status} gave {e:?}"))
    }
}

async fn exercise(store: &S3Store, reply: &Reply) -> Result<(), String> {
    check(
        "put",
        reply,
        &store
            .put("k", Bytes::from_static(b"data"), PutOptions::default())
            .await,
    )?;
    for range in [
        None,
        Some(GetRange::Suffix(4)),
        Some(GetRange::Bounded(2..5)),
        Some(GetRange::Offset(1)),
    ] {
        let r = store
            .get(
                "k",
                GetOptions {
                    range,
                    ..GetOptions::default()
                },
            )
            .await;
        let r = match r {
            // Reading the body must not panic either; a short or long body is an error, not a panic.
            Ok(got) => got.bytes().await,
            Err(e) => Err(e),
        };
        check("get", reply, &r)?;
    }
    check("head", reply, &store.head("k").await)?;
    check("delete", reply, &store.delete("k").await)?;
    check("list", reply, &store.list(&ListOptions::prefix("p/")).await)?;
    check("copy", reply, &store.copy("k", "k2").await)?;
    check(
        "create_multipart",
        reply,
        &store.create_multipart("k", PutOptions::default()).await,
    )?;
    let upload = MultipartUpload {
        key: "k".into(),
        upload_id: "u".into(),
    };
    check(
        "put_part",
        reply,
        &store.put_part(&upload, 1, Bytes::from_static(b"p")).await,
    )?;
    let part = PartId {
        part_number: 1,
        e_tag: "\"e\"".into(),
    };
    check(
        "complete",
        reply,
        &store.complete_multipart(&upload, vec![part]).await,
    )?;
    check("abort", reply, &store.abort_multipart(&upload).await)?;
    Ok(())
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    store: S3Store,
    reply: Shared,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let reply: Shared = Arc::default();
    let (store, reply) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, reply.clone()));
        let store = S3Builder::new()
            .with_endpoint(url)
            .with_bucket("bucket")
            .with_credentials("fuzz-key-id", SECRET)
            .build()
            .await
            .unwrap();
        (store, reply)
    });
    Fixture {
        runtime,
        store,
        reply,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn no_server_answer_panics_and_errors_fit_the_status(reply in reply()) {
        thread_local! {
            static FIXTURE: Fixture = fixture();
        }
        FIXTURE.with(|f| {
            *f.reply.lock().unwrap() = reply.clone();
            f.runtime.block_on(exercise(&f.store, &reply))
        }).map_err(TestCaseError::fail)?;
    }
}

/// Answers that broke the backend before (found by the property above): a reversed or overflowing
/// `Content-Range` made `get` subtract past zero or add past `u64::MAX`; a 500 carrying an error code was
/// mapped by the code instead of being retryable.
#[test]
fn known_bad_answers() {
    let f = fixture();
    for reply in [
        Reply {
            status: 206,
            headers: vec![("content-range".into(), "bytes 5-2/10".into())],
            body: b"abcd".to_vec(),
            wrong_length: None,
        },
        Reply {
            status: 206,
            headers: vec![(
                "content-range".into(),
                format!("bytes 0-{}/{}", u64::MAX, u64::MAX),
            )],
            body: Vec::new(),
            wrong_length: None,
        },
        Reply {
            status: 500,
            headers: Vec::new(),
            body: templates()[0].clone().into_bytes(),
            wrong_length: None,
        },
    ] {
        *f.reply.lock().unwrap() = reply.clone();
        f.runtime
            .block_on(exercise(&f.store, &reply))
            .unwrap_or_else(|e| panic!("{reply:?}: {e}"));
    }
}
