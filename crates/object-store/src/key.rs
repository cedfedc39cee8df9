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

/// Checks a list prefix: the rules of a key (see [`validate_key`]), except that it may be empty and may end
/// with `/`. So no `.` or `..` segment (not even the last, unfinished one), no empty segment, nothing
/// absolute: a prefix names the same part of the key space on every backend and never reaches outside the
/// store or the workspace it is given to. (Keys starting with `..`, such as `..a`, are listed with the prefix
/// `..a` or any longer one.)
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.len() > MAX_KEY_LEN {
        return Err(Error::InvalidKey {
            key: prefix.to_string(),
            reason: "as a list prefix, it is longer than 1024 bytes".into(),
        });
    }
    let as_key = prefix.strip_suffix('/').unwrap_or(prefix);
    validate_key(as_key).map_err(|e| match e {
        Error::InvalidKey { reason, .. } => Error::InvalidKey {
            key: prefix.to_string(),
            reason: format!("as a list prefix, {reason}"),
        },
        other => other,
    })
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
        for prefix in ["", "a/", "a", "a/b", "a/b/", "..a", "a/.b/", "ünï/"] {
            assert!(validate_prefix(prefix).is_ok(), "{prefix:?}");
        }
    }

    /// A prefix obeys the rules of a key: nothing that could name a path outside the store or workspace.
    #[test]
    fn prefixes_refuse_what_keys_refuse() {
        for prefix in [
            "/a",
            "/",
            "..",
            "../",
            "../other/",
            "../../../",
            "a/..",
            "a/../",
            "a/../b",
            ".",
            "./",
            "a/.",
            "a/./",
            "a//",
            "//",
            "a//b",
            "nul\0/",
        ] {
            let err = validate_prefix(prefix).err();
            assert!(
                matches!(err, Some(Error::InvalidKey { .. })),
                "{prefix:?} gave {err:?}"
            );
        }
        assert!(validate_prefix(&"k".repeat(1025)).is_err());
        assert!(validate_prefix(&format!("{}/", "k".repeat(1024))).is_err());
    }
}
