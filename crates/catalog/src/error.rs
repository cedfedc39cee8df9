//! The port's one portable error, classified by [`Classify`].

use avb_core::{Classify, ErrorClass};

/// Everything a [`Catalog`](crate::Catalog) operation can fail with, whatever the backend. An invalid
/// *call* is not an error: [`Catalog::validate_call`](crate::Catalog::validate_call) answers its
/// [`Mismatch`](crate::Mismatch)es.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No method (or ontology version) with this id.
    ///
    /// Class: [`ErrorClass::NotFound`].
    #[error("{what} {id:?} not found")]
    NotFound {
        /// `method` or `ontology version`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The catalog's content is malformed: the JSON file (or what a server answered) at a JSON path.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("{source_name}: at {path}: expected {expected}, found {found}")]
    Malformed {
        /// The file (or the server's resource) read.
        source_name: String,
        /// Where in it, as a JSON path (`$.methods[3].inputs.username`).
        path: String,
        /// What was expected there.
        expected: String,
        /// What was there.
        found: String,
    },
    /// The catalog file cannot be read.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("cannot read the catalog file {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server refused the credentials (HTTP 401/403).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("{backend} at {endpoint} refused the credentials: {detail}")]
    Unauthorized {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// What the server said.
        detail: String,
    },
    /// The server is unreachable, timed out or answered 5xx/429: the same call may succeed later.
    ///
    /// Class: [`ErrorClass::Retryable`].
    #[error("{backend} at {endpoint} is unavailable: {detail}")]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// Why.
        detail: String,
    },
    /// The server answered something this client cannot use (an unexpected status or body).
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{backend} at {endpoint}: {detail}")]
    Protocol {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// What went wrong.
        detail: String,
    },
    /// A request argument is not acceptable.
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What is wrong.
        detail: String,
    },
    /// The configuration selects a backend this build does not contain.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
}

impl Error {
    /// [`Error::NotFound`] for a method id.
    pub fn method_not_found(id: &str) -> Self {
        Error::NotFound {
            what: "method",
            id: id.to_string(),
        }
    }

    /// [`Error::NotFound`] for an ontology version.
    pub fn version_not_found(version: &str) -> Self {
        Error::NotFound {
            what: "ontology version",
            id: version.to_string(),
        }
    }
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::NotFound { .. } => ErrorClass::NotFound,
            Error::Malformed { .. } | Error::Io { .. } | Error::NotCompiled(_) => {
                ErrorClass::Configuration
            }
            Error::Unauthorized { .. } => ErrorClass::Unauthorized,
            Error::Unavailable { .. } => ErrorClass::Retryable,
            Error::Protocol { .. } | Error::InvalidArgument { .. } => ErrorClass::Permanent,
        }
    }
}

/// The port's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(Error::method_not_found("x").class(), ErrorClass::NotFound);
        let malformed = Error::Malformed {
            source_name: "c.json".into(),
            path: "$.methods[0]".into(),
            expected: "an object".into(),
            found: "a number".into(),
        };
        assert_eq!(malformed.class(), ErrorClass::Configuration);
        assert_eq!(
            malformed.to_string(),
            "c.json: at $.methods[0]: expected an object, found a number"
        );
        let down = Error::Unavailable {
            backend: "openmetadata",
            endpoint: "http://h".into(),
            detail: "503".into(),
        };
        assert!(down.is_retryable());
    }
}
