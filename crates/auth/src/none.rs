//! Trust-all (`AUTH_MODE=none`, sandbox only): every token — even an empty or garbage one — is the
//! configured workspace and subject. Refusing it outside development is the configuration's job
//! (`avb_core::config` fails closed), so this backend cannot be reached in staging or production through
//! the facade.

use crate::{Authenticator, Capabilities, Principal, Result};
use async_trait::async_trait;
use avb_core::WorkspaceId;
use std::collections::BTreeSet;

/// The scheme of this backend.
pub const SCHEME: &str = "none";

/// Accepts everything as one fixed principal.
#[derive(Debug, Clone)]
pub struct TrustAll {
    principal: Principal,
}

impl TrustAll {
    /// Every request becomes `subject` in `workspace_id`, with `roles` (the sandbox usually grants `owner`).
    pub fn new(
        workspace_id: WorkspaceId,
        subject: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            principal: Principal {
                subject: subject.into(),
                workspace_id,
                roles: roles.into_iter().map(Into::into).collect(),
                scopes: BTreeSet::new(),
                expires_at: None,
            },
        }
    }
}

#[async_trait]
impl Authenticator for TrustAll {
    async fn authenticate(&self, _bearer_token: &str) -> Result<Principal> {
        Ok(self.principal.clone())
    }

    fn authenticate_now(&self, _bearer_token: &str) -> Option<Result<Principal>> {
        Some(Ok(self.principal.clone()))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn backend(&self) -> &'static str {
        SCHEME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn any_token_is_the_fixed_principal() {
        let auth = TrustAll::new(WorkspaceId::new("sandbox").unwrap(), "dev", ["owner"]);
        for token in ["", "garbage", "a.b.c"] {
            let p = auth.authenticate(token).await.unwrap();
            assert_eq!(p.subject, "dev");
            assert_eq!(p.workspace_id.as_str(), "sandbox");
            assert!(p.has_role("owner"));
            assert_eq!(p.expires_at, None);
        }
        assert!(!auth.capabilities().rejects_invalid_tokens);
    }
}
