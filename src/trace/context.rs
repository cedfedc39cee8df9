//! The W3C trace context (<https://www.w3.org/TR/trace-context/>) as message headers, without dependencies:
//! [`TraceContext::parse`] validates a `traceparent` strictly and [`TraceContext::traceparent`] formats one.

use std::collections::BTreeMap;
use std::fmt;

/// The header that carries the trace id, the parent span id and the flags.
pub const TRACEPARENT: &str = "traceparent";
/// The header that carries vendor-specific trace state (passed on unchanged).
pub const TRACESTATE: &str = "tracestate";
/// The longest `tracestate` passed on (the W3C limit: 512 characters); a longer one is dropped.
pub const MAX_TRACESTATE: usize = 512;

/// Why a `traceparent` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceParentError {
    /// Not `version-traceid-spanid-flags` with 2, 32, 16 and 2 characters (version `00`: exactly 55 in all).
    Shape,
    /// A character that is not lower-case hexadecimal.
    NotHex,
    /// Version `ff` (forbidden by the specification).
    Version,
    /// An all-zero trace id.
    ZeroTraceId,
    /// An all-zero span id.
    ZeroSpanId,
}

impl fmt::Display for TraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TraceParentError::Shape => {
                "traceparent is not version-traceid-spanid-flags (2-32-16-2 lower-case hex digits)"
            }
            TraceParentError::NotHex => "traceparent has a character that is not lower-case hex",
            TraceParentError::Version => "traceparent version ff is forbidden",
            TraceParentError::ZeroTraceId => "traceparent has an all-zero trace id",
            TraceParentError::ZeroSpanId => "traceparent has an all-zero parent span id",
        })
    }
}

impl std::error::Error for TraceParentError {}

/// One position in a trace: the trace id, the span id (the parent of whatever continues from here), the
/// flags (bit 0: sampled) and the vendor trace state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 16 bytes, never all zero.
    pub trace_id: [u8; 16],
    /// 8 bytes, never all zero.
    pub span_id: [u8; 8],
    /// Trace flags (`0x01`: sampled).
    pub flags: u8,
    /// The `tracestate` header, passed on unchanged (at most [`MAX_TRACESTATE`] characters).
    pub state: Option<String>,
}

fn hex_digit(c: u8) -> Result<u8, TraceParentError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(TraceParentError::NotHex),
    }
}

fn decode<const N: usize>(hex: &[u8]) -> Result<[u8; N], TraceParentError> {
    if hex.len() != 2 * N {
        return Err(TraceParentError::Shape);
    }
    let mut out = [0u8; N];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Ok(out)
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

thread_local! {
    /// A splitmix64 state per thread, seeded once from the operating system's generator (through `uuid`'s
    /// v4): ids need to be unique and unpredictable enough to not collide, not secret, and a system call
    /// per id would cost more than the publish it traces.
    static STATE: std::cell::Cell<u64> = std::cell::Cell::new({
        let b = uuid::Uuid::new_v4().into_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    });
}

fn next_u64() -> u64 {
    STATE.with(|s| {
        let x = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        s.set(x);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        chunk.copy_from_slice(&next_u64().to_le_bytes()[..chunk.len()]);
    }
    out
}

fn nonzero<const N: usize>() -> [u8; N] {
    loop {
        let r = random::<N>();
        if r.iter().any(|b| *b != 0) {
            return r;
        }
    }
}

impl TraceContext {
    /// Parses a `traceparent` value. Version `00` must be exactly `00-<32 hex>-<16 hex>-<2 hex>`; a later
    /// version (`01`–`fe`) is read by its first 55 characters, which must be followed by nothing or `-`
    /// (the specification's rule for versions this parser does not know). Upper-case hex, all-zero ids and
    /// version `ff` are refused.
    pub fn parse(traceparent: &str) -> Result<Self, TraceParentError> {
        let b = traceparent.as_bytes();
        if b.len() < 55 {
            return Err(TraceParentError::Shape);
        }
        let version = decode::<1>(&b[0..2])?[0];
        if version == 0xff {
            return Err(TraceParentError::Version);
        }
        if (version == 0 && b.len() != 55) || (b.len() > 55 && b[55] != b'-') {
            return Err(TraceParentError::Shape);
        }
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return Err(TraceParentError::Shape);
        }
        let trace_id = decode::<16>(&b[3..35])?;
        let span_id = decode::<8>(&b[36..52])?;
        let flags = decode::<1>(&b[53..55])?[0];
        if trace_id == [0; 16] {
            return Err(TraceParentError::ZeroTraceId);
        }
        if span_id == [0; 8] {
            return Err(TraceParentError::ZeroSpanId);
        }
        Ok(Self {
            trace_id,
            span_id,
            flags,
            state: None,
        })
    }

    /// The `traceparent` value (always version `00`).
    pub fn traceparent(&self) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        push_hex(&mut out, &self.trace_id);
        out.push('-');
        push_hex(&mut out, &self.span_id);
        out.push('-');
        push_hex(&mut out, &[self.flags]);
        out
    }

    /// The trace id in hex (32 characters), as logs and trace viewers show it.
    pub fn trace_id_hex(&self) -> String {
        let mut out = String::with_capacity(32);
        push_hex(&mut out, &self.trace_id);
        out
    }

    /// The span id in hex (16 characters).
    pub fn span_id_hex(&self) -> String {
        let mut out = String::with_capacity(16);
        push_hex(&mut out, &self.span_id);
        out
    }

    /// A new trace: random trace and span ids, sampled.
    pub fn new_root() -> Self {
        Self {
            trace_id: nonzero(),
            span_id: nonzero(),
            flags: 1,
            state: None,
        }
    }

    /// A new span of the same trace (a fresh span id; flags and state kept).
    pub fn child(&self) -> Self {
        Self {
            span_id: nonzero(),
            ..self.clone()
        }
    }

    /// The context a message carries: `None` when it has no `traceparent`, or a malformed one (ignored
    /// with a debug log — a header from the wire is never trusted). A `tracestate` longer than
    /// [`MAX_TRACESTATE`] or with non-printable characters is dropped the same way.
    pub fn from_headers(headers: &BTreeMap<String, String>) -> Option<Self> {
        let raw = headers.get(TRACEPARENT)?;
        let mut context = match Self::parse(raw) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "ignoring a malformed traceparent header");
                return None;
            }
        };
        if let Some(state) = headers.get(TRACESTATE) {
            if state.len() <= MAX_TRACESTATE && state.bytes().all(|c| (0x20..0x7f).contains(&c)) {
                context.state = Some(state.clone());
            } else {
                tracing::debug!("ignoring a tracestate header that is too long or not printable");
            }
        }
        Some(context)
    }

    /// Writes `traceparent` (and `tracestate`, when there is one) into `headers`.
    pub fn inject(&self, headers: &mut BTreeMap<String, String>) {
        headers.insert(TRACEPARENT.to_string(), self.traceparent());
        if let Some(state) = &self.state {
            headers.insert(TRACESTATE.to_string(), state.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_specifications_example_round_trips() {
        let c = TraceContext::parse(GOOD).unwrap();
        assert_eq!(c.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(c.span_id_hex(), "00f067aa0ba902b7");
        assert_eq!(c.flags, 1);
        assert_eq!(c.traceparent(), GOOD);
    }

    #[test]
    fn malformed_values_are_refused_with_the_reason() {
        use TraceParentError::*;
        for (value, why) in [
            ("", Shape),
            (&GOOD[..54], Shape),
            (&format!("{GOOD}-"), Shape),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                NotHex,
            ),
            (
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                Version,
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                ZeroTraceId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                ZeroSpanId,
            ),
            (
                "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                Shape,
            ),
            (
                "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                NotHex,
            ),
            (
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
                Shape,
            ),
        ] {
            assert_eq!(TraceContext::parse(value), Err(why), "{value:?}");
        }
        // A later version with more fields after a dash is read by its first 55 characters.
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes";
        assert_eq!(TraceContext::parse(later).unwrap().traceparent(), GOOD);
    }

    #[test]
    fn headers_keep_a_valid_state_and_ignore_a_bad_parent() {
        let mut h = BTreeMap::new();
        h.insert(TRACEPARENT.to_string(), GOOD.to_string());
        h.insert(TRACESTATE.to_string(), "congo=t61rcWkgMzE".to_string());
        let c = TraceContext::from_headers(&h).unwrap();
        assert_eq!(c.state.as_deref(), Some("congo=t61rcWkgMzE"));
        let mut out = BTreeMap::new();
        c.inject(&mut out);
        assert_eq!(out, h);
        h.insert(TRACESTATE.to_string(), "x".repeat(MAX_TRACESTATE + 1));
        assert_eq!(TraceContext::from_headers(&h).unwrap().state, None);
        h.insert(TRACEPARENT.to_string(), "garbage".to_string());
        assert_eq!(TraceContext::from_headers(&h), None);
    }

    #[test]
    fn children_keep_the_trace_and_change_the_span() {
        let root = TraceContext::new_root();
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
        assert_ne!(TraceContext::new_root().trace_id, root.trace_id);
    }

    proptest! {
        #[test]
        fn any_string_parses_or_is_refused_without_panicking(s in "\\PC{0,80}") {
            let _ = TraceContext::parse(&s);
        }

        #[test]
        fn near_valid_strings_never_panic(s in "[0-9a-fA-F-]{50,60}") {
            if let Ok(c) = TraceContext::parse(&s) {
                prop_assert_eq!(&c.traceparent()[3..], &s[3..55]);
            }
        }

        #[test]
        fn every_valid_context_round_trips(t in any::<[u8; 16]>(), sp in any::<[u8; 8]>(), f in any::<u8>()) {
            prop_assume!(t != [0; 16] && sp != [0; 8]);
            let c = TraceContext { trace_id: t, span_id: sp, flags: f, state: None };
            prop_assert_eq!(TraceContext::parse(&c.traceparent()), Ok(c));
        }
    }
}
