//! What a backend does not declare, it refuses: `NotSupported`, never a silent overwrite or a useless URL.

use super::Subject;
use crate::{Error, PresignConstraints, PresignMethod, PutOptions};
use avb_conformance::{CaseResult, Checks};
use bytes::Bytes;
use std::time::Duration;

/// For each capability the backend does not declare, its operation is `NotSupported`: a create-only put
/// without `conditional_create` (it must not overwrite), an `If-Match` put without `conditional_update`, a
/// presigned URL without `presign`. A backend declaring all three passes with nothing to check.
pub async fn undeclared_capabilities_refused(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let caps = store.capabilities();
    if !caps.conditional_create {
        let r = store
            .put("c", Bytes::from_static(b"1"), PutOptions::create())
            .await;
        c.check(
            "create_not_supported",
            matches!(r, Err(Error::NotSupported { .. })),
            format_args!("Create without the capability gave {r:?}"),
        );
    }
    if !caps.conditional_update {
        let r = store
            .put(
                "cas",
                Bytes::from_static(b"1"),
                PutOptions::if_match("\"x\""),
            )
            .await;
        c.check(
            "if_match_not_supported",
            matches!(r, Err(Error::NotSupported { .. })),
            format_args!("If-Match without the capability gave {r:?}"),
        );
    }
    if !caps.presign {
        let hour = Duration::from_secs(3600);
        let r = store
            .presign(PresignMethod::Get, "p", hour, PresignConstraints::default())
            .await;
        c.check(
            "presign_not_supported",
            matches!(r, Err(Error::NotSupported { .. })),
            format_args!("presign without the capability gave {r:?}"),
        );
    }
    Ok(())
}
