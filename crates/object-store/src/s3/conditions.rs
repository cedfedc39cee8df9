//! Preconditions of the S3 backend: which the profile declares, and how they go on the wire.

use super::{S3Store, SCHEME, error::Ctx};
use crate::{Error, ObjectStore, PutMode, PutOptions, Result};

/// A write's precondition, sent as `If-None-Match: *` or `If-Match: <etag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Condition {
    Create,
    IfMatch(String),
}

impl Condition {
    /// `(If-None-Match, If-Match)` header values.
    pub(super) fn headers(c: Option<&Condition>) -> (Option<String>, Option<String>) {
        match c {
            Some(Condition::Create) => (Some("*".into()), None),
            Some(Condition::IfMatch(tag)) => (None, Some(tag.clone())),
            None => (None, None),
        }
    }
}

/// A read precondition as sent to the server: a concrete entity tag only. `*` is decided here, on the
/// answer (moto 5.2.5 compares `If-Match: *` literally and answers 412; it ignores `If-None-Match: *`).
pub(super) fn sent(tag: &Option<String>) -> Option<String> {
    tag.clone().filter(|t| t != "*")
}

impl S3Store {
    pub(super) fn ctx_for<'a>(&'a self, key: &'a str, condition: Option<&Condition>) -> Ctx<'a> {
        Ctx {
            create: matches!(condition, Some(Condition::Create)),
            if_match: matches!(condition, Some(Condition::IfMatch(_))),
            ..self.ctx(key, false)
        }
    }

    /// The write's precondition, or [`Error::NotSupported`] when the profile does not declare it.
    pub(super) fn check_conditions(
        &self,
        mode: PutMode,
        if_match: Option<&str>,
    ) -> Result<Option<Condition>> {
        crate::types::check_condition(mode, if_match)?;
        let caps = self.capabilities();
        match (mode, if_match) {
            (PutMode::Create, _) if !caps.conditional_create => Err(Error::NotSupported {
                operation: "conditional create (PutMode::Create)",
                backend: SCHEME,
            }),
            (PutMode::Create, _) => Ok(Some(Condition::Create)),
            (_, Some(_)) if !caps.conditional_update => Err(Error::NotSupported {
                operation: "compare-and-swap (If-Match)",
                backend: SCHEME,
            }),
            (_, Some(tag)) => Ok(Some(Condition::IfMatch(tag.to_string()))),
            (_, None) => Ok(None),
        }
    }

    pub(super) fn check_create(&self, options: &PutOptions) -> Result<Option<Condition>> {
        self.check_conditions(options.mode, options.if_match.as_deref())
    }
}
