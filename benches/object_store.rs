//! ObjectStore adapter vs the raw `aws-sdk-s3` client, against the same s3s-fs server in the same run:
//! 4 KiB and 16 MiB, put and get. The 16 MiB put streams 1 MiB chunks through both, uploaded as 8 MiB
//! multipart parts by both (the adapter's default part size). The ratio, not the absolute time, is the result.
//!
//! Run with: `eval "$(scripts/services env)"; cargo bench --features object-store-s3,testing --bench object_store`
// Test code: an unwrap that fails is the test (or benchmark) failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use avb::object_store::s3::sdk::primitives::ByteStream as SdkBody;
use avb::object_store::s3::sdk::types::{CompletedMultipartUpload, CompletedPart};
use avb::object_store::s3::{DEFAULT_PART_SIZE, S3Builder, S3Store};
use avb::object_store::{ByteStream, GetOptions, ObjectStore, PutOptions};
use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::TryStreamExt;
use std::time::Duration;

const SMALL: usize = 4 * 1024;
const LARGE: usize = 16 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

fn chunks(data: &Bytes) -> ByteStream {
    let parts: Vec<avb::object_store::Result<Bytes>> = (0..data.len())
        .step_by(CHUNK)
        .map(|i| Ok(data.slice(i..(i + CHUNK).min(data.len()))))
        .collect();
    Box::pin(futures::stream::iter(parts))
}

/// Bench code panics on a failed call, but with what failed and the server's answer, never a bare `unwrap`.
trait OrPanic<T> {
    fn or_panic(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> OrPanic<T> for Result<T, E> {
    #[track_caller]
    fn or_panic(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {e}"))
    }
}

impl<T> OrPanic<T> for Option<T> {
    #[track_caller]
    fn or_panic(self, what: &str) -> T {
        self.unwrap_or_else(|| panic!("{what}: the answer lacked it"))
    }
}

/// The raw SDK doing what the adapter does for a streamed put: fill a part, upload it, repeat, complete.
async fn raw_put_stream(client: &aws_sdk::Client, bucket: &str, key: &str, mut body: ByteStream) {
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .or_panic("S3 call");
    let id = upload
        .upload_id()
        .or_panic("CreateMultipartUpload upload id")
        .to_string();
    let mut parts = Vec::new();
    let mut buffer = BytesMut::new();
    let mut ended = false;
    while !ended || !buffer.is_empty() {
        while !ended && buffer.len() < DEFAULT_PART_SIZE {
            match body.try_next().await.or_panic("reading the body") {
                Some(c) => buffer.extend_from_slice(&c),
                None => ended = true,
            }
        }
        if buffer.is_empty() {
            break;
        }
        let part = buffer
            .split_to(buffer.len().min(DEFAULT_PART_SIZE))
            .freeze();
        let number = parts.len() as i32 + 1;
        let out = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(number)
            .content_length(part.len() as i64)
            .body(SdkBody::from(part))
            .send()
            .await
            .or_panic("S3 call");
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(out.e_tag().or_panic("UploadPart ETag"))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .or_panic("S3 call");
}

use avb::object_store::s3::sdk as aws_sdk;

async fn setup() -> Option<(S3Store, String)> {
    let url = avb::testing::live_server("AVB_TEST_S3_URL")?;
    let key = avb::testing::harness_value("AVB_TEST_S3_ACCESS_KEY")?;
    let secret = avb::testing::harness_value("AVB_TEST_S3_SECRET_KEY")?;
    let bucket = avb::testing::harness_value("AVB_TEST_S3_BUCKET")?;
    let store = S3Builder::new()
        .with_endpoint(url)
        .with_bucket(&bucket)
        .with_credentials(key, secret)
        .build()
        .await
        .or_panic("S3 call");
    Some((store, bucket))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().or_panic("the Tokio runtime");
    let Some((store, bucket)) = rt.block_on(setup()) else {
        eprintln!("SKIPPED storage benchmarks: no S3 server");
        return;
    };
    // The raw client is the adapter's own SDK client: same connection pool, checksum and retry settings,
    // so the ratio isolates the adapter's overhead.
    let client = store.client().clone();
    let prefix = format!("bench/{}", std::process::id());

    for (label, size) in [("4KiB", SMALL), ("16MiB", LARGE)] {
        let data = Bytes::from(vec![42u8; size]);
        let adapter_key = format!("{prefix}/adapter-{label}");
        let raw_key = format!("{prefix}/raw-{label}");
        // Seed both objects, so the get groups also run alone (`cargo bench … -- get_`).
        rt.block_on(async {
            for key in [&adapter_key, &raw_key] {
                store
                    .put(key, data.clone(), PutOptions::default())
                    .await
                    .or_panic("S3 call");
            }
        });

        let mut group = c.benchmark_group(format!("put_{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function("adapter", |b| {
            b.to_async(&rt).iter(|| async {
                if size == LARGE {
                    store
                        .put_stream(&adapter_key, chunks(&data), PutOptions::default())
                        .await
                        .or_panic("S3 call");
                } else {
                    store
                        .put(&adapter_key, data.clone(), PutOptions::default())
                        .await
                        .or_panic("S3 call");
                }
            })
        });
        group.bench_function("raw_sdk", |b| {
            b.to_async(&rt).iter(|| async {
                if size == LARGE {
                    raw_put_stream(&client, &bucket, &raw_key, chunks(&data)).await;
                } else {
                    client
                        .put_object()
                        .bucket(&bucket)
                        .key(&raw_key)
                        .content_length(size as i64)
                        .body(SdkBody::from(data.clone()))
                        .send()
                        .await
                        .or_panic("S3 call");
                }
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("get_{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function("adapter", |b| {
            b.to_async(&rt).iter(|| async {
                let got = store
                    .get(&adapter_key, GetOptions::default())
                    .await
                    .or_panic("S3 call");
                let mut body = got.body;
                let mut n = 0;
                while let Some(chunk) = body.try_next().await.or_panic("reading the body") {
                    n += chunk.len();
                }
                assert_eq!(n, size);
            })
        });
        group.bench_function("raw_sdk", |b| {
            b.to_async(&rt).iter(|| async {
                let mut out = client
                    .get_object()
                    .bucket(&bucket)
                    .key(&raw_key)
                    .send()
                    .await
                    .or_panic("S3 call");
                let mut n = 0;
                while let Some(chunk) = out.body.next().await {
                    n += chunk.or_panic("reading a chunk").len();
                }
                assert_eq!(n, size);
            })
        });
        group.finish();
    }
    rt.block_on(async {
        for o in store.list_all(&prefix).await.unwrap_or_default() {
            let _ = store.delete(&o.key).await;
        }
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
