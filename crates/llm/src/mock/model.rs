//! The offline model itself: pure functions from a request to its answer. Same input, same output.

use crate::{ChatRequest, FinishReason, Usage};

/// The vocabulary the mock speaks.
const WORDS: [&str; 32] = [
    "the",
    "port",
    "answers",
    "offline",
    "with",
    "a",
    "deterministic",
    "reply",
    "and",
    "every",
    "token",
    "arrives",
    "in",
    "its",
    "own",
    "chunk",
    "so",
    "streams",
    "can",
    "be",
    "tested",
    "without",
    "any",
    "network",
    "or",
    "key",
    "sandbox",
    "model",
    "says",
    "hello",
    "again",
    "today",
];

/// The mock's context window, in tokens (prompt + completion).
pub const CONTEXT_TOKENS: u32 = 8192;

/// Dimension of every mock embedding.
pub const DIMENSIONS: usize = 64;

/// FNV-1a, 64 bits: stable across runs, platforms and releases (unlike `std`'s hasher).
pub(crate) fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// splitmix64: the n-th pseudo-random number of a seed.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Tokens of a text, as the mock counts them (words, at least 1 per non-empty text).
pub(crate) fn count_tokens(text: &str) -> u32 {
    u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
}

/// The prompt's token count: its words plus 4 per message (role and separators).
pub(crate) fn prompt_tokens(request: &ChatRequest) -> u32 {
    request
        .messages
        .iter()
        .map(|m| count_tokens(&m.content).saturating_add(4))
        .fold(0u32, u32::saturating_add)
}

/// The answer to `request` as its pieces (one per token, the last possibly cut by a stop sequence), why it
/// ended, and its usage.
pub(crate) fn answer(request: &ChatRequest, model: &str) -> (Vec<String>, FinishReason, Usage) {
    let mut parts: Vec<&[u8]> = vec![model.as_bytes()];
    for m in &request.messages {
        parts.push(m.role.as_str().as_bytes());
        parts.push(m.content.as_bytes());
    }
    let temperature = request
        .temperature
        .map(f32::to_bits)
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let seed = request.seed.unwrap_or(0).to_le_bytes();
    parts.push(&temperature);
    parts.push(&seed);
    let h = fnv(&parts);
    let natural = 8 + u32::try_from(h % 24).unwrap_or(0);
    let limit = request.max_tokens.unwrap_or(u32::MAX);
    let n = natural.min(limit);
    let mut finish = if n < natural {
        FinishReason::Length
    } else {
        FinishReason::Stop
    };
    let mut pieces: Vec<String> = (0..n)
        .map(|i| {
            let word = WORDS[usize::try_from(mix(h, u64::from(i)) % 32).unwrap_or(0)];
            if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            }
        })
        .collect();
    if let Some(cut) = first_stop(&pieces.concat(), &request.stop) {
        pieces = cut_at(pieces, cut);
        finish = FinishReason::Stop;
    }
    let usage = Usage {
        prompt_tokens: prompt_tokens(request),
        completion_tokens: u32::try_from(pieces.len()).unwrap_or(u32::MAX),
        cached_tokens: Some(0),
    };
    (pieces, finish, usage)
}

/// The byte offset of the earliest stop sequence in `text`.
fn first_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter_map(|s| text.find(s.as_str())).min()
}

/// The pieces up to byte `cut` of their concatenation (the last one shortened; empty pieces dropped).
fn cut_at(pieces: Vec<String>, cut: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    for p in pieces {
        if at >= cut {
            break;
        }
        let keep = (cut - at).min(p.len());
        at += p.len();
        let kept = p.get(..keep).unwrap_or_default().to_string();
        if !kept.is_empty() {
            out.push(kept);
        }
    }
    out
}

/// A unit vector of [`DIMENSIONS`] determined by `model` and `text`.
pub(crate) fn embedding(model: &str, text: &str) -> Vec<f32> {
    let h = fnv(&[model.as_bytes(), text.as_bytes()]);
    #[allow(clippy::cast_precision_loss)]
    // a pseudo-random value in [-1, 1): precision is irrelevant
    let raw: Vec<f32> = (0..DIMENSIONS as u64)
        .map(|i| (mix(h, i) >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        raw.into_iter().map(|x| x / norm).collect()
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_output_and_the_seed_matters() {
        let r = ChatRequest::user("hi").temperature(0.0);
        assert_eq!(answer(&r, "m"), answer(&r.clone(), "m"));
        let (a, ..) = answer(&r, "m");
        let (b, ..) = answer(&r.clone().seed(7), "m");
        assert_ne!(a, b);
    }

    #[test]
    fn max_tokens_and_stop_cut_the_answer() {
        let (pieces, finish, usage) = answer(&ChatRequest::user("hi").max_tokens(3), "m");
        assert_eq!(pieces.len(), 3);
        assert_eq!(finish, FinishReason::Length);
        assert_eq!(usage.completion_tokens, 3);
        let (full, ..) = answer(&ChatRequest::user("hi"), "m");
        let text = full.concat();
        let stop = full[3].trim().to_string();
        let (cut, finish, _) = answer(&ChatRequest::user("hi").stop(stop.clone()), "m");
        let cut_text = cut.concat();
        assert_eq!(finish, FinishReason::Stop);
        assert!(text.starts_with(&cut_text), "{cut_text:?} / {text:?}");
        assert!(!cut_text.contains(&stop));
    }

    #[test]
    fn embeddings_are_unit_vectors_of_fixed_dimension() {
        let a = embedding("m", "x");
        assert_eq!(a.len(), DIMENSIONS);
        assert_eq!(a, embedding("m", "x"));
        assert_ne!(a, embedding("m", "y"));
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
}
