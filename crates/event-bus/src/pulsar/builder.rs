//! [`PulsarBusBuilder`]: service URL, admin URL, tenant, token, namespace policies, delivery settings.

use super::admin::{Admin, NamespacePolicies};
use super::{PulsarBus, Shared};
use crate::{Error, Result, Settings};
use avb_core::ResourceScope;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

/// Builds a [`PulsarBus`]. Nothing connects here: the client connects on first use, and an unreachable
/// broker shows in `health()` and as retryable errors.
#[derive(Clone)]
pub struct PulsarBusBuilder {
    url: Option<String>,
    admin_url: Option<String>,
    tenant: String,
    scope: ResourceScope,
    token: Option<String>,
    policies: NamespacePolicies,
    settings: Settings,
    receiver_queue: u32,
}

impl std::fmt::Debug for PulsarBusBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulsarBusBuilder")
            .field("url", &self.url)
            .field("admin_url", &self.admin_url)
            .field("tenant", &self.tenant)
            .field("scope", &self.scope)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("policies", &self.policies)
            .field("settings", &self.settings)
            .field("receiver_queue", &self.receiver_queue)
            .finish()
    }
}

impl Default for PulsarBusBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PulsarBusBuilder {
    /// Defaults: no URLs yet, tenant `public`, [`NamespacePolicies::default`], [`Settings::default`].
    pub fn new() -> Self {
        Self {
            url: None,
            admin_url: None,
            tenant: "public".into(),
            scope: ResourceScope::default(),
            token: None,
            policies: NamespacePolicies::default(),
            settings: Settings::default(),
            receiver_queue: super::consumer::RECEIVER_QUEUE,
        }
    }

    /// The broker's service URL (`pulsar://host:6650`, `PULSAR_URL`).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The admin REST API (`http://host:8080`, `PULSAR_ADMIN_URL`), for the workspaces' namespaces.
    pub fn with_admin_url(mut self, url: impl Into<String>) -> Self {
        self.admin_url = Some(url.into());
        self
    }

    /// The environment scope of every namespace (default `development`): `<tenant>/<scope>.<workspace>`
    /// ([`super::wire::Names`], `docs/isolation.md`).
    pub fn with_scope(mut self, scope: ResourceScope) -> Self {
        self.scope = scope;
        self
    }

    /// The tenant whose namespaces are the workspaces (`PULSAR_TENANT`, default `public`); created if
    /// missing.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// A token for the broker and the admin API (`PULSAR_TOKEN`); never shown in `Debug` or errors.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The policies set on each workspace's namespace.
    pub fn with_policies(mut self, policies: NamespacePolicies) -> Self {
        self.policies = policies;
        self
    }

    /// Delivery settings (`max_len` and `dedupe_window` are not used: retention is the namespace's).
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Flow permits of each subscription's consumer (its read-ahead from the broker; default 1, at least
    /// 1). A Shared subscription's dispatcher hands each member as many messages as it has permits: more
    /// permits make one consumer faster and let it hoard messages other members of its group could take.
    pub fn with_receiver_queue(mut self, permits: u32) -> Self {
        self.receiver_queue = permits.max(1);
        self
    }

    /// Checks the settings and builds the bus (no I/O).
    pub fn build(self) -> Result<PulsarBus> {
        self.settings.validate()?;
        let url = self.url.ok_or_else(|| Error::InvalidConfig {
            key: "url".into(),
            value: String::new(),
            expected: "a pulsar:// or pulsar+ssl:// URL (PULSAR_URL)".into(),
        })?;
        if !(url.starts_with("pulsar://") || url.starts_with("pulsar+ssl://")) {
            return Err(Error::InvalidConfig {
                key: "url".into(),
                value: url.split('@').next_back().unwrap_or_default().to_string(),
                expected: "a pulsar:// or pulsar+ssl:// URL (PULSAR_URL)".into(),
            });
        }
        let admin_url = self.admin_url.ok_or_else(|| Error::InvalidConfig {
            key: "admin_url".into(),
            value: String::new(),
            expected: "an http:// or https:// URL of the admin REST API (PULSAR_ADMIN_URL)".into(),
        })?;
        if !(admin_url.starts_with("http://") || admin_url.starts_with("https://")) {
            return Err(Error::InvalidConfig {
                key: "admin_url".into(),
                value: admin_url
                    .split('@')
                    .next_back()
                    .unwrap_or_default()
                    .to_string(),
                expected: "an http:// or https:// URL of the admin REST API (PULSAR_ADMIN_URL)"
                    .into(),
            });
        }
        if !is_pulsar_name(&self.tenant) {
            return Err(Error::InvalidConfig {
                key: "tenant".into(),
                value: self.tenant,
                expected: "1-100 characters of A-Z, a-z, 0-9, '_', '-', '.'".into(),
            });
        }
        let admin = Admin::new(&admin_url, self.token.clone())?;
        Ok(PulsarBus {
            shared: Arc::new(Shared {
                url,
                token: self.token,
                names: super::wire::Names {
                    tenant: self.tenant,
                    scope: self.scope,
                },
                admin,
                policies: self.policies,
                settings: self.settings,
                receiver_queue: self.receiver_queue,
                client: tokio::sync::OnceCell::new(),
                namespaces: tokio::sync::Mutex::new(HashSet::new()),
                tenant_ready: tokio::sync::OnceCell::new(),
                producers: tokio::sync::Mutex::new(HashMap::new()),
                subscriptions: Mutex::new(Vec::new()),
                closed: AtomicBool::new(false),
                closing: tokio::sync::watch::channel(false).0,
                publish_failures: AtomicU64::new(0),
            }),
        })
    }
}

/// A tenant name Pulsar accepts (and that needs no escaping in a URL path).
fn is_pulsar_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_named_and_the_token_never_shows() {
        let b = PulsarBusBuilder::new()
            .with_url("pulsar://h:6650")
            .with_admin_url("http://h:8080")
            .with_token("tok-secret-3");
        assert!(!format!("{b:?}").contains("tok-secret-3"));
        let bus = b.clone().build().unwrap();
        assert!(!format!("{bus:?}").contains("tok-secret-3"));
        let err = b
            .clone()
            .with_tenant("a/b")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("tenant") && err.contains("a/b"), "{err}");
        let err = b
            .clone()
            .with_url("http://u:pw@h:1")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("pulsar://") && !err.contains("pw"), "{err}");
        let err = PulsarBusBuilder::new()
            .with_url("pulsar://h:6650")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("PULSAR_ADMIN_URL"), "{err}");
    }
}
