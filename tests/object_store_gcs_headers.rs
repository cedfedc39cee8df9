//! The GCS profile sends none of the headers GCS's S3 interoperability rejects. Requests go through a
//! loopback recording proxy (a small TCP/HTTP forwarder written here) in front of each real harness S3
//! server (s3s-fs, moto, MinIO), so the headers checked are exactly what went over the wire. The same traffic with the AWS profile
//! (`when_supported` checksums) shows those headers, proving the recorder would catch them.
//!
//! Run with: `eval "$(scripts/services env)"; cargo test --all-features --test object_store_gcs_headers -- --nocapture`
// Test code: an unwrap that fails is the test (or benchmark) failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb::config::{S3Checksums, S3Profile};
use avb::object_store::s3::S3Store;
use avb::object_store::{Error, GetOptions, GetRange, ObjectStore, PutOptions};
use bytes::Bytes;
use s3_servers::S3Server;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/s3_servers.rs"]
mod s3_servers;

/// One request as it crossed the proxy.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    /// The first 64 KiB of a POST body (CreateMultipartUpload, CompleteMultipartUpload).
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Recorded>>>;

/// Starts the recording proxy in front of `upstream` (`host:port`); returns its URL and the log.
async fn recording_proxy(upstream: String) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let log2 = log.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, log) = (upstream.clone(), log2.clone());
            tokio::spawn(async move {
                if let Err(e) = forward(client, &upstream, log).await {
                    eprintln!("proxy: {e}");
                }
            });
        }
    });
    (format!("http://{addr}"), log)
}

/// Forwards one request (the head is rewritten with `Connection: close`, so each connection carries one
/// request) and its response.
async fn forward(mut client: TcpStream, upstream: &str, log: Log) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rewritten = format!("{request_line}\r\n");
    for (n, v) in headers.iter().filter(|(n, _)| n != "connection") {
        rewritten.push_str(&format!("{n}: {v}\r\n"));
    }
    rewritten.push_str("connection: close\r\n\r\n");
    let record_body = method == "POST";
    let mut body: Vec<u8> = buffer[head_end..].to_vec();
    let index = {
        let mut log = log.lock().unwrap();
        log.push(Recorded {
            method,
            target,
            headers,
            body: if record_body {
                body.clone()
            } else {
                Vec::new()
            },
        });
        log.len() - 1
    };

    let server = TcpStream::connect(upstream).await?;
    let (mut server_read, mut server_write) = server.into_split();
    let (mut client_read, mut client_write) = client.into_split();
    server_write.write_all(rewritten.as_bytes()).await?;
    server_write.write_all(&body).await?;
    let log2 = log.clone();
    let upload = tokio::spawn(async move {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if record_body && body.len() < 64 * 1024 {
                body.extend_from_slice(&chunk[..n]);
                log2.lock().unwrap()[index].body = body.clone();
            }
            if server_write.write_all(&chunk[..n]).await.is_err() {
                break;
            }
        }
    });
    tokio::io::copy(&mut server_read, &mut client_write).await?;
    client_write.shutdown().await.ok();
    upload.abort();
    Ok(())
}

async fn store(
    server: &S3Server,
    proxy: &str,
    profile: S3Profile,
    checksums: S3Checksums,
) -> S3Store {
    server
        .builder()
        .with_endpoint(proxy)
        .with_profile(profile)
        .with_path_style(true)
        .with_checksums(checksums)
        .build()
        .await
        .unwrap()
}

/// Headers (or values) GCS's S3 interoperability rejects, found in `r`.
fn unsupported(r: &Recorded) -> Vec<String> {
    let mut found = Vec::new();
    for (name, value) in &r.headers {
        let bad_name = name.starts_with("x-amz-checksum-")
            || matches!(
                name.as_str(),
                "x-amz-sdk-checksum-algorithm" | "x-amz-trailer" | "x-amz-decoded-content-length"
            );
        let bad_value = (name == "content-encoding" && value.contains("aws-chunked"))
            || (name == "x-amz-content-sha256" && value.starts_with("STREAMING-"));
        if bad_name || bad_value {
            found.push(format!("{} {}: {name}: {value}", r.method, r.target));
        }
    }
    if String::from_utf8_lossy(&r.body).contains("<Checksum") {
        found.push(format!(
            "{} {}: checksum in the XML body",
            r.method, r.target
        ));
    }
    found
}

/// Every kind of request the port sends.
async fn traffic(store: &S3Store, prefix: &str) {
    let key = |k: &str| format!("{prefix}/{k}");
    store
        .put(
            &key("small"),
            Bytes::from_static(b"hello"),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let meta = PutOptions::default()
        .with_content_type("text/plain")
        .with_metadata("owner", "gcs-test");
    store
        .put(&key("meta"), Bytes::from(vec![7u8; 100_000]), meta)
        .await
        .unwrap();
    let big = Bytes::from(vec![1u8; 12 * 1024 * 1024]);
    let body = futures::stream::iter(
        big.chunks(1 << 20)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    store
        .put_stream(&key("big"), Box::pin(body), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get_bytes(&key("big")).await.unwrap().len(), big.len());
    let ranged = store
        .get(&key("meta"), GetOptions::range(GetRange::Bounded(10..20)))
        .await
        .unwrap();
    assert_eq!(ranged.bytes().await.unwrap().len(), 10);
    store.head(&key("meta")).await.unwrap();
    store.list_all(prefix).await.unwrap();
    store.copy(&key("meta"), &key("copy")).await.unwrap();
    let upload = store
        .create_multipart(&key("aborted"), PutOptions::default())
        .await
        .unwrap();
    store.abort_multipart(&upload).await.unwrap();
    for k in ["small", "meta", "big", "copy"] {
        store.delete(&key(k)).await.unwrap();
    }
}

#[tokio::test]
async fn gcs_profile_sends_no_unsupported_headers() {
    let servers = s3_servers::all();
    for server in &servers {
        gcs_profile_on(server).await;
    }
}

async fn gcs_profile_on(server: &S3Server) {
    let (proxy, log) = recording_proxy(server.host_port()).await;
    let gcs = store(server, &proxy, S3Profile::Gcs, S3Checksums::WhenRequired).await;
    assert!(!gcs.capabilities().conditional_create);
    let prefix = format!("gcs-headers/{}", std::process::id());
    traffic(&gcs, &prefix).await;
    let r = gcs
        .put(&format!("{prefix}/c"), Bytes::new(), PutOptions::create())
        .await;
    assert!(matches!(r, Err(Error::NotSupported { .. })), "{r:?}");

    let requests = log.lock().unwrap().clone();
    let methods: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    println!(
        "RECORDED {} requests through the proxy to {}:\n  {}",
        requests.len(),
        server.name,
        methods.join("\n  ")
    );
    assert!(
        requests.len() >= 14,
        "too few requests recorded: {methods:?}"
    );
    let offending: Vec<String> = requests.iter().flat_map(unsupported).collect();
    assert!(
        offending.is_empty(),
        "GCS profile sent unsupported headers: {offending:#?}"
    );

    // GCS answers a PUT or POST without Content-Length with 411 Length Required. Every PUT and POST the
    // backend sent carries one — the body-less ones (multipart initiation, CopyObject) `Content-Length: 0`.
    let initiations: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.target.contains("uploads"))
        .collect();
    assert_eq!(initiations.len(), 2, "{methods:?}");
    for r in &initiations {
        assert_eq!(r.header("content-length"), Some("0"), "{r:?}");
    }
    let copies: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.header("x-amz-copy-source").is_some())
        .collect();
    assert_eq!(copies.len(), 1, "{methods:?}");
    for r in &copies {
        assert_eq!(r.header("content-length"), Some("0"), "CopyObject: {r:?}");
    }
    let without_length: Vec<String> = requests
        .iter()
        .filter(|r| matches!(r.method.as_str(), "PUT" | "POST"))
        .filter(|r| r.header("content-length").is_none())
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert!(
        without_length.is_empty(),
        "PUT/POST without Content-Length (GCS: 411): {without_length:?}"
    );
    // The completion lists the parts with their ETags only.
    let complete = requests
        .iter()
        .find(|r| r.method == "POST" && r.target.contains("uploadId="))
        .expect("a CompleteMultipartUpload request");
    let xml = String::from_utf8_lossy(&complete.body);
    assert!(xml.contains("<ETag>") && !xml.contains("Checksum"), "{xml}");
    println!(
        "GCS profile on {}: {} requests, 0 unsupported headers, Content-Length on every PUT/POST \
         (0 on {} initiations and {} copies)",
        server.name,
        requests.len(),
        initiations.len(),
        copies.len()
    );
}

#[tokio::test]
async fn aws_profile_sends_flexible_checksums_so_the_recorder_would_notice() {
    let servers = s3_servers::all();
    for server in &servers {
        aws_profile_on(server).await;
    }
}

async fn aws_profile_on(server: &S3Server) {
    let (proxy, log) = recording_proxy(server.host_port()).await;
    let aws = store(
        server,
        &proxy,
        S3Profile::Generic,
        S3Checksums::WhenSupported,
    )
    .await;
    let key = format!("gcs-headers/{}/aws-profile", std::process::id());
    // Whether the server accepts these headers does not matter here: the request went over the wire.
    let result = aws
        .put(&key, Bytes::from_static(b"hello"), PutOptions::default())
        .await;
    let requests = log.lock().unwrap().clone();
    let offending: Vec<String> = requests.iter().flat_map(unsupported).collect();
    println!(
        "when_supported put to {} ({result:?}) sent: {offending:#?}",
        server.name
    );
    assert!(
        !offending.is_empty(),
        "the recorder saw no checksum headers: {requests:#?}"
    );
    let _ = aws.delete(&key).await;
}
