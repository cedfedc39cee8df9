//! The admin REST API calls the bus makes: a workspace's namespace, created on first use with its
//! policies (idempotent: "already exists" is success, so concurrent buses may race safely).
//!
//! | call | REST |
//! |---|---|
//! | the tenant (if missing) | `GET /admin/v2/clusters`, `PUT /admin/v2/tenants/<tenant>` (allowed on every cluster) |
//! | the namespace | `PUT /admin/v2/namespaces/<tenant>/<scope>.<workspace>` ([`super::wire::Names::namespace`]) |
//! | retention | `POST …/retention` (`retentionTimeInMinutes`, `retentionSizeInMB`) |
//! | backlog quota | `POST …/backlogQuota?backlogQuotaType=destination_storage` (`limitSize`, policy `producer_exception`) |
//! | topic auto-creation | `POST …/autoTopicCreation` (non-partitioned: the retry topics are created on first use) |

use super::SCHEME;
use crate::{Error, Result};
use std::time::Duration;

/// Per-workspace policies (`PULSAR_RETENTION_MINUTES`, `PULSAR_RETENTION_MB`, `PULSAR_BACKLOG_QUOTA_MB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespacePolicies {
    /// Retention of acknowledged messages, minutes (-1: forever).
    pub retention_minutes: i64,
    /// Retention of acknowledged messages, MiB (-1: unlimited).
    pub retention_mb: i64,
    /// Backlog quota per topic, MiB (-1: none); a producer over it gets an error, never silent loss.
    pub backlog_quota_mb: i64,
}

impl Default for NamespacePolicies {
    fn default() -> Self {
        Self {
            retention_minutes: 7 * 24 * 60,
            retention_mb: 1024,
            backlog_quota_mb: 512,
        }
    }
}

pub(crate) struct Admin {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Admin {
    pub(crate) fn new(base: &str, token: Option<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Backend {
                backend: SCHEME,
                reason: format!("building the admin HTTP client: {e}"),
                source: None,
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends `r`; `Ok(status)` for a 2xx or one of `accept`, else an error naming `what` and the answer.
    async fn send(&self, r: reqwest::RequestBuilder, what: &str, accept: &[u16]) -> Result<u16> {
        let resp = r.send().await.map_err(|e| Error::Unavailable {
            backend: SCHEME,
            reason: format!("{what}: the admin API did not answer: {}", e.without_url()),
            source: None,
        })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() || accept.contains(&status) {
            return Ok(status);
        }
        let phrase = resp.status().canonical_reason().unwrap_or("");
        let body = resp.text().await.unwrap_or_default();
        // Pulsar's JSON errors ({"reason": …}) say what is wrong; an HTML error page adds nothing.
        let detail: String = if body.trim_start().starts_with('<') {
            String::new()
        } else {
            let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
            format!(": {}", flat.chars().take(300).collect::<String>())
        };
        let reason = format!("{what}: the admin API answered {status} {phrase}{detail}");
        Err(if status >= 500 || status == 429 {
            Error::Unavailable {
                backend: SCHEME,
                reason,
                source: None,
            }
        } else {
            Error::Backend {
                backend: SCHEME,
                reason,
                source: None,
            }
        })
    }

    /// GET `path` as JSON; `None` when the admin API answers 404 Not Found.
    pub(crate) async fn get_json_if_found(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Option<serde_json::Value>> {
        match self.get_json(path, what).await {
            Err(Error::Backend { reason, .. }) if reason.ends_with("answered 404") => Ok(None),
            other => other.map(Some),
        }
    }

    /// GET `path` as JSON.
    pub(crate) async fn get_json(&self, path: &str, what: &str) -> Result<serde_json::Value> {
        let resp = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .map_err(|e| Error::Unavailable {
                backend: SCHEME,
                reason: format!("{what}: the admin API did not answer: {}", e.without_url()),
                source: None,
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::Backend {
                backend: SCHEME,
                reason: format!("{what}: the admin API answered {}", status.as_u16()),
                source: None,
            });
        }
        resp.json().await.map_err(|e| Error::Backend {
            backend: SCHEME,
            reason: format!(
                "{what}: the admin API's answer is not JSON: {}",
                e.without_url()
            ),
            source: None,
        })
    }

    /// Creates `tenant` (allowed on every cluster) unless it exists.
    pub(crate) async fn ensure_tenant(&self, tenant: &str) -> Result<()> {
        let path = format!("/admin/v2/tenants/{tenant}");
        let exists = self.send(
            self.request(reqwest::Method::GET, &path),
            "reading the tenant",
            &[404],
        );
        if exists.await? != 404 {
            return Ok(());
        }
        let clusters = self
            .get_json("/admin/v2/clusters", "listing the clusters")
            .await?;
        let body = serde_json::json!({ "adminRoles": [], "allowedClusters": clusters });
        let created = self
            .send(
                self.request(reqwest::Method::PUT, &path).json(&body),
                "creating the tenant",
                &[409],
            )
            .await;
        self.unless_created_meanwhile(created, &path, "reading the tenant")
            .await
    }

    /// `created` (the answer to a create), unless it failed and the resource at `path` exists now: two
    /// buses creating the same tenant or namespace at once can make the broker answer the loser `500
    /// … BadVersionException … AlreadyExistsException` instead of 409 (seen on a fresh broker when
    /// several test processes started together).
    async fn unless_created_meanwhile(
        &self,
        created: Result<u16>,
        path: &str,
        what: &str,
    ) -> Result<()> {
        let Err(failed) = created else {
            return Ok(());
        };
        match self
            .send(self.request(reqwest::Method::GET, path), what, &[404])
            .await
        {
            Ok(404) | Err(_) => Err(failed),
            Ok(_) => Ok(()),
        }
    }

    /// Creates `namespace` (`<tenant>/<scope>.<workspace>`) unless it exists, and sets its policies (every time:
    /// setting the same values again changes nothing).
    pub(crate) async fn ensure_namespace(
        &self,
        namespace: &str,
        p: NamespacePolicies,
    ) -> Result<()> {
        let path = format!("/admin/v2/namespaces/{namespace}");
        let created = self
            .send(
                self.request(reqwest::Method::PUT, &path)
                    .json(&serde_json::json!({})),
                "creating the namespace",
                &[409],
            )
            .await;
        self.unless_created_meanwhile(
            created,
            &format!("{path}/policies"),
            "reading the namespace",
        )
        .await?;
        self.send(
            self.request(reqwest::Method::POST, &format!("{path}/autoTopicCreation"))
                .json(&serde_json::json!({
                    "allowAutoTopicCreation": true,
                    "topicType": "non-partitioned"
                })),
            "allowing topic creation in the namespace",
            &[],
        )
        .await?;
        self.send(
            self.request(reqwest::Method::POST, &format!("{path}/retention"))
                .json(&serde_json::json!({
                    "retentionTimeInMinutes": p.retention_minutes,
                    "retentionSizeInMB": p.retention_mb
                })),
            "setting the namespace's retention",
            &[],
        )
        .await?;
        let limit = if p.backlog_quota_mb < 0 {
            -1
        } else {
            p.backlog_quota_mb.saturating_mul(1024 * 1024)
        };
        self.send(
            self.request(
                reqwest::Method::POST,
                &format!("{path}/backlogQuota?backlogQuotaType=destination_storage"),
            )
            .json(&serde_json::json!({ "limitSize": limit, "policy": "producer_exception" })),
            "setting the namespace's backlog quota",
            &[],
        )
        .await?;
        Ok(())
    }
}
