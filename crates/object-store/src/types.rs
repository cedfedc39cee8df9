//! Request and response types of the port.

use crate::{Error, Result};
use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::time::SystemTime;

/// A streamed object body.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send + 'static>>;

/// What a backend can do. Code and tests branch on these, never on the backend's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// [`PutMode::Create`] is honoured atomically (fail if the key exists).
    pub conditional_create: bool,
    /// [`PutOptions::if_match`] (compare-and-swap on the entity tag) is honoured on every write path (put,
    /// streamed put, multipart complete, [`CopyOptions`]); a mismatch, or a missing object, is
    /// [`Error::PreconditionFailed`] and changes nothing.
    pub conditional_update: bool,
    /// The multipart API works.
    pub multipart: bool,
    /// Smallest size of every multipart part but the last (S3: 5 MiB).
    pub min_part_size: usize,
    /// [`ReadConditions`] (`If-Match` / `If-None-Match` on `get` and `head_with`) are honoured.
    pub conditional_read: bool,
    /// [`ObjectStore::presign`](crate::ObjectStore::presign) gives URLs (S3 only: memory and fs have no HTTP
    /// endpoint).
    pub presign: bool,
    /// Content type and user metadata round-trip.
    pub metadata: bool,
    /// Objects survive the process (not the in-memory store).
    pub persistent: bool,
    /// Large bodies are streamed rather than held whole in memory.
    pub streaming: bool,
}

/// How a put treats an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PutMode {
    /// Replace whatever is there.
    #[default]
    Overwrite,
    /// Fail with [`Error::AlreadyExists`] when the key exists (see [`Capabilities::conditional_create`]).
    Create,
}

/// The content type of an object stored without one, on every backend (RFC 9110 §8.3: an unknown type is
/// treated as `application/octet-stream`). S3 servers differ when none is sent, so the S3 backend always
/// sends one.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Options of a put.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutOptions {
    /// Overwrite or create-only.
    pub mode: PutMode,
    /// `Content-Type` stored with the object; `None` stores [`DEFAULT_CONTENT_TYPE`].
    pub content_type: Option<String>,
    /// User metadata: names of `a-z`, `0-9`, `-`; values of printable ASCII.
    pub metadata: BTreeMap<String, String>,
    /// Compare-and-swap (`If-Match`): write only when the object exists with this entity tag (as
    /// [`ObjectMeta::e_tag`] / [`PutResult::e_tag`] gave it); otherwise [`Error::PreconditionFailed`] and
    /// nothing changes, neither content nor metadata. Cannot be combined with [`PutMode::Create`]. See
    /// [`Capabilities::conditional_update`].
    pub if_match: Option<String>,
}

impl PutOptions {
    /// Create-only ([`PutMode::Create`]).
    pub fn create() -> Self {
        Self {
            mode: PutMode::Create,
            ..Self::default()
        }
    }

    /// Compare-and-swap: overwrite only the object whose entity tag is `e_tag` ([`PutOptions::if_match`]).
    pub fn if_match(e_tag: impl Into<String>) -> Self {
        Self {
            if_match: Some(e_tag.into()),
            ..Self::default()
        }
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds a user metadata entry.
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// Checks the content type and metadata are portable (S3 sends them as HTTP headers).
    pub fn validate(&self) -> Result<()> {
        check_condition(self.mode, self.if_match.as_deref())?;
        if let Some(ct) = &self.content_type
            && (ct.is_empty() || !ct.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        {
            return Err(Error::invalid_argument(format!(
                "content type {ct:?} must be non-empty printable ASCII"
            )));
        }
        for (name, value) in &self.metadata {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(Error::invalid_argument(format!(
                    "metadata name {name:?} must be non-empty a-z, 0-9, '-'"
                )));
            }
            if !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                return Err(Error::invalid_argument(format!(
                    "metadata value of {name:?} must be printable ASCII"
                )));
            }
        }
        Ok(())
    }
}

/// Checks a write's preconditions: `If-Match` is a non-empty printable entity tag and not combined with
/// create-only.
pub(crate) fn check_condition(mode: PutMode, if_match: Option<&str>) -> Result<()> {
    match if_match {
        None => Ok(()),
        Some(_) if mode == PutMode::Create => Err(Error::invalid_argument(
            "If-Match and PutMode::Create cannot be combined (an object cannot both exist and not)",
        )),
        Some(tag) if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_graphic()) => {
            Err(Error::invalid_argument(format!(
                "entity tag {tag:?} must be non-empty printable ASCII"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// Whether entity tag `stored` satisfies `If-Match: wanted` (strong comparison; `*` matches any object).
/// Quotes are optional on `wanted`.
#[cfg_attr(not(any(feature = "memory", feature = "fs")), allow(dead_code))] // used by the memory and fs backends
pub(crate) fn e_tag_matches(stored: Option<&str>, wanted: &str) -> bool {
    let Some(stored) = stored else { return false };
    wanted == "*" || stored.trim_matches('"') == wanted.trim_matches('"')
}

/// Preconditions of a [`copy_with`](crate::ObjectStore::copy_with) on its destination.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyOptions {
    /// Overwrite, or create-only (see [`Capabilities::conditional_create`]).
    pub mode: PutMode,
    /// Compare-and-swap on the destination (see [`PutOptions::if_match`]).
    pub if_match: Option<String>,
}

impl CopyOptions {
    /// Checks the preconditions are well-formed.
    pub fn validate(&self) -> Result<()> {
        check_condition(self.mode, self.if_match.as_deref())
    }
}

/// What a successful put returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutResult {
    /// The entity tag, when the backend has one.
    pub e_tag: Option<String>,
}

/// An object's metadata. In [`ListPage::objects`], `content_type` and `metadata` are not filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, when known.
    pub last_modified: Option<SystemTime>,
    /// Entity tag, when known.
    pub e_tag: Option<String>,
    /// Content type: what the put gave, else [`DEFAULT_CONTENT_TYPE`] (always set by `head` and `get`; `None`
    /// in listings, and for objects written by other tools without one).
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A byte range of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetRange {
    /// `start..end`; an `end` past the object is clamped to its size. A `start` at or past the end (so any
    /// start on an empty object) is [`Error::InvalidRange`].
    Bounded(Range<u64>),
    /// From this offset to the end. An offset at or past the end (so any offset on an empty object) is
    /// [`Error::InvalidRange`].
    Offset(u64),
    /// The last `n` bytes: the whole object when it is shorter, so an empty object gives an empty body
    /// (RFC 9110 §14.1.1: a suffix range is the one range satisfiable on an empty representation).
    Suffix(u64),
}

impl GetRange {
    /// The HTTP `Range` header value.
    pub fn to_header(&self) -> String {
        match self {
            GetRange::Bounded(r) => format!("bytes={}-{}", r.start, r.end.saturating_sub(1)),
            GetRange::Offset(o) => format!("bytes={o}-"),
            GetRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }

    /// Resolves against an object of `size` bytes: the absolute range, or [`Error::InvalidRange`].
    pub fn resolve(&self, key: &str, size: u64) -> Result<Range<u64>> {
        let range = match self {
            GetRange::Bounded(r) if r.start < r.end && r.start < size => r.start..r.end.min(size),
            GetRange::Offset(o) if *o < size => *o..size,
            GetRange::Suffix(n) if *n > 0 => size.saturating_sub(*n)..size,
            _ => {
                return Err(Error::InvalidRange {
                    key: key.to_string(),
                    range: self.to_string(),
                    size,
                });
            }
        };
        Ok(range)
    }

    #[cfg_attr(
        not(any(feature = "memory", feature = "fs", feature = "s3")),
        allow(dead_code)
    )] // used by the backends only
    pub(crate) fn check(&self) -> Result<()> {
        match self {
            GetRange::Bounded(r) if r.start >= r.end => Err(Error::invalid_argument(format!(
                "range {self} is empty or reversed"
            ))),
            GetRange::Suffix(0) => Err(Error::invalid_argument("a suffix range of 0 bytes")),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for GetRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetRange::Bounded(r) => write!(f, "{}..{}", r.start, r.end),
            GetRange::Offset(o) => write!(f, "{o}.."),
            GetRange::Suffix(n) => write!(f, "last {n} bytes"),
        }
    }
}

/// Preconditions of a read (`get`, [`head_with`](crate::ObjectStore::head_with)), as in RFC 9110 §13: checked
/// against the object's entity tag ([`ObjectMeta::e_tag`]), `If-Match` first. See
/// [`Capabilities::conditional_read`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadConditions {
    /// Read only when the entity tag is this (or `*`): otherwise [`Error::PreconditionFailed`].
    pub if_match: Option<String>,
    /// Read only when the entity tag is not this (`*`: any): otherwise [`Error::NotModified`] — the
    /// caller's copy is current.
    pub if_none_match: Option<String>,
}

impl ReadConditions {
    /// `If-Match: e_tag`.
    pub fn if_match(e_tag: impl Into<String>) -> Self {
        Self {
            if_match: Some(e_tag.into()),
            if_none_match: None,
        }
    }

    /// `If-None-Match: e_tag`.
    pub fn if_none_match(e_tag: impl Into<String>) -> Self {
        Self {
            if_match: None,
            if_none_match: Some(e_tag.into()),
        }
    }

    /// Whether no condition is set.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// Checks the entity tags are well-formed (non-empty printable ASCII).
    pub fn validate(&self) -> Result<()> {
        for tag in [&self.if_match, &self.if_none_match].into_iter().flatten() {
            if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Error::invalid_argument(format!(
                    "entity tag {tag:?} must be non-empty printable ASCII"
                )));
            }
        }
        Ok(())
    }

    /// Evaluates the conditions against an existing object's entity tag (the backends that evaluate them
    /// themselves).
    #[cfg_attr(not(any(feature = "memory", feature = "fs")), allow(dead_code))]
    pub(crate) fn evaluate(&self, key: &str, stored: Option<&str>) -> Result<()> {
        if let Some(wanted) = &self.if_match
            && !e_tag_matches(stored, wanted)
        {
            return Err(Error::PreconditionFailed {
                key: key.to_string(),
                detail: format!("If-Match {wanted}: the object's entity tag is {stored:?}"),
            });
        }
        if let Some(unwanted) = &self.if_none_match
            && e_tag_matches(stored, unwanted)
        {
            return Err(Error::NotModified {
                key: key.to_string(),
                e_tag: stored.map(str::to_string),
            });
        }
        Ok(())
    }
}

/// Options of a get.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetOptions {
    /// Only this range.
    pub range: Option<GetRange>,
    /// `If-Match` / `If-None-Match`.
    pub conditions: ReadConditions,
}

impl GetOptions {
    /// Only `range`.
    pub fn range(range: GetRange) -> Self {
        Self {
            range: Some(range),
            ..Self::default()
        }
    }

    /// Only with these conditions.
    pub fn conditions(conditions: ReadConditions) -> Self {
        Self {
            range: None,
            conditions,
        }
    }
}

/// A streamed object (or range).
pub struct GetResult {
    /// The whole object's metadata (`size` is the whole object's size).
    pub meta: ObjectMeta,
    /// The range of the object that `body` carries.
    pub range: Range<u64>,
    /// The bytes, streamed.
    pub body: ByteStream,
}

impl fmt::Debug for GetResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetResult")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl GetResult {
    /// Collects the body, checking it has exactly the announced length.
    pub async fn bytes(self) -> Result<Bytes> {
        let expected = self.range.end - self.range.start;
        let mut out = bytes::BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
        let mut body = self.body;
        while let Some(chunk) = body.try_next().await? {
            out.extend_from_slice(&chunk);
        }
        if out.len() as u64 != expected {
            return Err(Error::Backend {
                backend: "object store",
                detail: format!(
                    "{:?}: body has {} bytes, {expected} announced",
                    self.meta.key,
                    out.len()
                ),
                source: None,
            });
        }
        Ok(out.freeze())
    }
}

/// Options of a list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// Only keys starting with this: empty, or the rules of a key, optionally ending with `/` (see
    /// [`validate_prefix`](crate::validate_prefix); `..` and `.` segments are [`Error::InvalidKey`]).
    pub prefix: String,
    /// Group keys by the first `/` after the prefix into [`ListPage::common_prefixes`].
    pub delimiter: bool,
    /// At most this many entries (objects + common prefixes) per page; capped at [`MAX_LIST_PAGE`](crate::MAX_LIST_PAGE).
    pub max_keys: Option<usize>,
    /// Continue after the page that returned this [`ListPage::next_token`].
    pub page_token: Option<String>,
}

impl ListOptions {
    /// Keys under `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            ..Self::default()
        }
    }

    /// Groups by `/`.
    pub fn with_delimiter(mut self) -> Self {
        self.delimiter = true;
        self
    }

    /// Caps the page size.
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = Some(max_keys);
        self
    }

    /// The effective page size.
    pub fn page_size(&self) -> usize {
        self.max_keys
            .unwrap_or(crate::MAX_LIST_PAGE)
            .clamp(1, crate::MAX_LIST_PAGE)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Objects, in key order.
    pub objects: Vec<ObjectMeta>,
    /// With a delimiter: the distinct `prefix…/` groups, in order, each ending with `/`.
    pub common_prefixes: Vec<String>,
    /// Pass back as [`ListOptions::page_token`] for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    /// The key being written.
    pub key: String,
    /// The backend's upload id.
    pub upload_id: String,
}

/// An uploaded part, to pass to [`ObjectStore::complete_multipart`](crate::ObjectStore::complete_multipart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartId {
    /// 1-based part number.
    pub part_number: u32,
    /// The part's entity tag.
    pub e_tag: String,
}

/// Largest part number (S3's limit).
#[cfg_attr(
    not(any(feature = "memory", feature = "fs", feature = "s3")),
    allow(dead_code)
)]
pub const MAX_PART_NUMBER: u32 = 10_000;

#[cfg_attr(
    not(any(feature = "memory", feature = "fs", feature = "s3")),
    allow(dead_code)
)] // used by the backends only
pub(crate) fn check_part_number(n: u32) -> Result<()> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "part number {n} is outside 1..=10000"
        )))
    }
}
