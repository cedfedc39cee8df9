//! [`MainError`]: what a service's `main` returns, so a failed startup prints a readable message.

use std::error::Error;
use std::fmt;

/// Any error, for `fn main() -> Result<(), avb::MainError>`. Rust prints a `main` error with `Debug`
/// (`Error: {:?}`); a port's error type derives `Debug` and would print as a struct dump
/// (`NotSupported { operation: … }`). `MainError` prints the error's message and its causes instead:
///
/// ```text
/// Error: EVENT_BUS=redis is not supported by the redis event bus: this build of avb lacks it: enable the cargo feature `event-bus-redis` of avb
/// ```
///
/// `?` converts every error type into it. It does not implement [`Error`] itself (that would clash with
/// the blanket conversion), in the way `Box<dyn Error>` conversions usually work.
pub struct MainError(Box<dyn Error + Send + Sync + 'static>);

impl<E: Error + Send + Sync + 'static> From<E> for MainError {
    fn from(e: E) -> Self {
        Self(Box::new(e))
    }
}

impl MainError {
    /// The error itself.
    pub fn inner(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Display for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_message_not_a_struct_dump() {
        let e: MainError = avb_event_bus::Error::NotSupported {
            operation: "EVENT_BUS=redis".into(),
            backend: "redis",
            hint: "enable the cargo feature `event-bus-redis` of avb".into(),
        }
        .into();
        let shown = format!("{e:?}");
        assert_eq!(
            shown,
            "EVENT_BUS=redis is not supported by the redis event bus: enable the cargo feature `event-bus-redis` of avb"
        );
        let config = crate::config::Config::from_iter([("EVENT_BUS", "kafak")]);
        let e: MainError = config.map(|_| ()).map_err(MainError::from).unwrap_err();
        assert!(
            format!("{e:?}").starts_with("invalid avb configuration: EVENT_BUS=\"kafak\""),
            "{e:?}"
        );
    }

    #[test]
    fn causes_are_listed() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cannot start")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = MainError::from(Outer(std::io::Error::other("disk full")));
        assert_eq!(format!("{e:?}"), "cannot start\n  caused by: disk full");
    }
}
