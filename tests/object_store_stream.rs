//! Streaming a 100 MiB object does not buffer it whole: the process's peak resident memory (`VmHWM`, reset
//! through `/proc/self/clear_refs` before each backend) grows by far less than the object — on fs and on s3
//! against every harness S3 server (s3s-fs, moto, MinIO). Its own test
//! binary with a single test, so nothing else runs in the process while it is measured.
//!
//! Run with: `eval "$(scripts/services env)"; cargo test --all-features --test object_store_stream -- --nocapture`
// Test code: an unwrap that fails is the test (or benchmark) failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb::object_store::ObjectStore;
use avb::object_store::conformance::{self, Checks};

#[cfg(feature = "object-store-s3")]
#[path = "support/s3_servers.rs"]
mod s3_servers;

const SIZE: u64 = 100 * 1024 * 1024;
/// The bound: a streaming backend holds at most a part (8 MiB for S3) and some chunks; 100 MiB would fail.
const BOUND_KIB: u64 = 48 * 1024;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak (`VmHWM`) to the current resident size; false where the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn measure(name: &str, store: &dyn ObjectStore) -> Option<u64> {
    let resettable = reset_peak();
    let before = status_kib("VmRSS:")?;
    let mut checks = Checks::new("stream_large");
    let ended = conformance::stream_through(&mut checks, store, SIZE).await;
    assert!(
        ended.is_ok() && checks.failures().is_empty(),
        "{name}: {:?}",
        checks.failures()
    );
    let peak = status_kib("VmHWM:")?;
    let grew = peak.saturating_sub(before);
    println!(
        "PEAK {name}: streamed {} MiB; resident before {before} KiB, peak {peak} KiB, growth {grew} KiB ({:.1} MiB){}",
        SIZE >> 20,
        grew as f64 / 1024.0,
        if resettable {
            ""
        } else {
            " (VmHWM not resettable here: figure is the process peak)"
        }
    );
    resettable.then_some(grew)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_100_mib_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let fs = avb::object_store::fs::FsStore::new(dir.path()).unwrap();
    if let Some(grew) = measure("fs", &fs).await {
        assert!(
            grew < BOUND_KIB,
            "fs buffered {grew} KiB while streaming 100 MiB"
        );
    }
    // Every harness S3 server (s3s-fs, moto, MinIO): multipart upload and streamed download.
    #[cfg(feature = "object-store-s3")]
    for server in s3_servers::all() {
        let s3 = server.builder().build().await.unwrap();
        let prefixed = avb::object_store::PrefixStore::new(
            std::sync::Arc::new(s3),
            &format!("stream-test/{}", std::process::id()),
        )
        .unwrap();
        let name = format!("s3 on {}", server.name);
        if let Some(grew) = measure(&name, &prefixed).await {
            assert!(
                grew < BOUND_KIB,
                "{name} buffered {grew} KiB while streaming 100 MiB"
            );
        }
    }
    // The in-memory store holds objects in memory by design (capability `streaming: false`): measured for
    // the record, not bounded.
    let memory = avb::object_store::memory::MemoryStore::new();
    assert!(!memory.capabilities().streaming);
    measure("memory", &memory).await;
}
