//! [`MessageId`]: a message's id, kept inline (no allocation, no reference count) when it is short.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Longest id kept inline: a hyphenated UUID (36 bytes) fits, and the whole id stays 40 bytes.
const INLINE: usize = 38;

/// A message id: assigned by [`Message::new`](crate::Message::new) (a UUID), kept through publish,
/// delivery and dead-lettering. An id of up to 38 bytes (every UUID) is stored inline: creating one
/// allocates nothing and cloning one (as `publish` does to return it) is a copy of 40 bytes, with no
/// reference count to update; a longer id is shared (`Arc<str>`: a clone costs a reference count).
#[derive(Clone)]
pub struct MessageId(Repr);

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]` is the id's UTF-8 text (copied from a `&str`, so always valid).
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Shared(Arc<str>),
}

impl MessageId {
    /// A fresh random id (a UUID v4, lower-case hyphenated).
    pub fn random() -> Self {
        let mut buf = uuid::Uuid::encode_buffer();
        Self::from(&*uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf))
    }
    /// An id chosen by the caller (e.g. for idempotency on the consumer side).
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        if id.len() <= INLINE {
            Self::from(id.as_str())
        } else {
            Self(Repr::Shared(Arc::from(id)))
        }
    }
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always valid: the bytes were copied from a `&str` (see `From<&str>`), whole characters only.
            Repr::Inline { len, bytes } => match std::str::from_utf8(&bytes[..usize::from(*len)]) {
                Ok(text) => text,
                Err(_) => unreachable!("an inline id is copied from a &str"),
            },
            Repr::Shared(text) => text,
        }
    }
    /// The id's bytes (its UTF-8 text), without re-checking the encoding.
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(text) => text.as_bytes(),
        }
    }
    /// The id's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }
    /// Whether the id is empty (only an id chosen as `""` is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for MessageId {
    /// An id with this text: inline up to 38 bytes (no allocation), else one allocation.
    fn from(id: &str) -> Self {
        if id.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            // `id.len() <= INLINE` (38), so it fits a `u8`.
            let len = id.len() as u8;
            Self(Repr::Inline { len, bytes })
        } else {
            Self(Repr::Shared(Arc::from(id)))
        }
    }
}

impl PartialEq for MessageId {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for MessageId {}

impl Hash for MessageId {
    /// Hashes like the id's `str` (its bytes, then `0xff`), wherever it is stored.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.bytes());
        state.write_u8(0xff);
    }
}

impl PartialOrd for MessageId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MessageId {
    /// The order of the ids' text (byte-wise, as `str` orders).
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes().cmp(other.bytes())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MessageId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of(h: impl Hash) -> u64 {
        let mut s = DefaultHasher::new();
        h.hash(&mut s);
        s.finish()
    }

    #[test]
    fn inline_and_shared_ids_behave_like_their_text() {
        let long = "x".repeat(INLINE + 1);
        let edge = "é".repeat(INLINE / 2); // 38 bytes of two-byte characters: inline
        for text in ["", "a", "order-7", edge.as_str(), long.as_str()] {
            let id = MessageId::from(text);
            assert_eq!(id.as_str(), text);
            assert_eq!(id.len(), text.len());
            assert_eq!(id, MessageId::new(text.to_string()));
            assert_eq!(hash_of(&id), hash_of(text), "{text:?}");
            assert_eq!(id.to_string(), text);
            assert_eq!(format!("{id:?}"), format!("MessageId({text:?})"));
        }
        assert!(matches!(
            MessageId::from(edge.as_str()).0,
            Repr::Inline { .. }
        ));
        assert!(matches!(MessageId::from(long.as_str()).0, Repr::Shared(_)));
        let uuid = MessageId::random();
        assert_eq!(uuid.len(), 36);
        assert!(matches!(uuid.0, Repr::Inline { .. }));
        assert_ne!(uuid, MessageId::random());
        assert!(MessageId::from("a") < MessageId::from("b"));
        assert!(MessageId::from("ab") > MessageId::from("a"));
        assert!(MessageId::from(long.as_str()) > MessageId::from("x"));
        assert_eq!(std::mem::size_of::<MessageId>(), 40);
    }
}
