//! Portable object keys: what every backend accepts.

use crate::{Error, Result};

/// Longest key, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks that `key` is a portable object key, accepted the same way by every backend:
///
/// - 1 to [`MAX_KEY_LEN`] bytes of UTF-8, no control characters;
/// - `/` separates segments: no leading or trailing `/`, no empty segment (`a//b`), no `.` or `..` segment.
///
/// Spaces, unicode, `%`, `+`, `?`, `#` and the like are fine and round-trip.
pub fn validate_key(key: &str) -> Result<()> {
    let reason = if key.is_empty() {
        Some("it is empty")
    } else if key.len() > MAX_KEY_LEN {
        Some("it is longer than 1024 bytes")
    } else if key.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if key.starts_with('/') {
        Some("it starts with '/'")
    } else if key.ends_with('/') {
        Some("it ends with '/'")
    } else if key.split('/').any(str::is_empty) {
        Some("it has an empty segment ('//')")
    } else if key.split('/').any(|s| s == "." || s == "..") {
        Some("it has a '.' or '..' segment")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidKey {
            key: key.to_string(),
            reason: reason.to_string(),
        }),
        None => Ok(()),
    }
}

/// Checks a list prefix: any string a key could start with (so it may end with `/`), or empty.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    let reason = if prefix.len() > MAX_KEY_LEN {
        Some("it is longer than 1024 bytes")
    } else if prefix.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if prefix.starts_with('/') {
        Some("it starts with '/'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidKey {
            key: prefix.to_string(),
            reason: format!("as a list prefix, {reason}"),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_weird_but_portable_keys() {
        for key in [
            "a",
            "a/b/c",
            "with space",
            "ünïcödé/ключ",
            "100%",
            "a+b?c#d",
            "..a/b..",
        ] {
            assert!(validate_key(key).is_ok(), "{key:?}");
        }
    }

    #[test]
    fn refuses_escapes_and_ambiguity() {
        for key in ["", "/abs", "a/", "a//b", "../x", "a/./b", "a/..", "nul\0"] {
            let err = validate_key(key).err();
            assert!(
                matches!(err, Some(Error::InvalidKey { .. })),
                "{key:?} gave {err:?}"
            );
        }
        assert!(validate_key(&"k".repeat(1025)).is_err());
    }

    #[test]
    fn prefixes_may_end_with_slash() {
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("a/").is_ok());
        assert!(validate_prefix("/a").is_err());
    }
}
