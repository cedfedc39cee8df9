//! Helpers shared by the memory and fs backends (each compiles alone: neither reaches into the other).

use crate::ListOptions;
use std::time::SystemTime;

/// One page of `keys` (sorted) under `options`: shared by the memory and fs backends. The page token is the
/// last key or common prefix returned.
pub(crate) fn paginate<'a, T: 'a>(
    entries: impl Iterator<Item = (&'a str, T)>,
    options: &ListOptions,
) -> (Vec<T>, Vec<String>, Option<String>) {
    let limit = options.page_size();
    let after = options.page_token.as_deref();
    let (mut objects, mut prefixes) = (Vec::new(), Vec::<String>::new());
    let mut last: Option<String> = None;
    let mut more = false;
    for (key, value) in entries {
        let Some(rest) = key.strip_prefix(options.prefix.as_str()) else {
            continue;
        };
        let group = match rest.find('/') {
            Some(i) if options.delimiter => Some(&key[..options.prefix.len() + i + 1]),
            _ => None,
        };
        let name = group.unwrap_or(key);
        if after.is_some_and(|a| name <= a) || prefixes.last().is_some_and(|p| p == name) {
            continue;
        }
        if objects.len() + prefixes.len() == limit {
            more = true;
            break;
        }
        match group {
            Some(g) => prefixes.push(g.to_string()),
            None => objects.push(value),
        }
        last = Some(name.to_string());
    }
    (objects, prefixes, if more { last } else { None })
}

/// A process-unique id: time and a counter (no randomness needed; ids only name uploads in this process).
pub(crate) fn rand_id() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos << 32)
        ^ u128::from(COUNTER.fetch_add(1, Ordering::Relaxed))
        ^ u128::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_groups_and_resumes() {
        let keys = ["a/1", "a/2", "b", "c/x/y", "d"];
        let opts = ListOptions::prefix("").with_delimiter().with_max_keys(2);
        let (objs, prefixes, token) = paginate(keys.iter().map(|k| (*k, *k)), &opts);
        assert_eq!(
            (objs, prefixes.clone()),
            (vec!["b"], vec!["a/".to_string()])
        );
        assert_eq!(token.as_deref(), Some("b"));
        let opts = ListOptions {
            page_token: token,
            ..opts
        };
        let (objs, prefixes, token) = paginate(keys.iter().map(|k| (*k, *k)), &opts);
        assert_eq!(
            (objs, prefixes, token),
            (vec!["d"], vec!["c/".to_string()], None)
        );
    }
}
