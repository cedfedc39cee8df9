//! [`PrefixStore`]: a view of a store under a key prefix — how workspaces (tenants) are isolated.

use crate::{
    ByteStream, Capabilities, CopyOptions, Error, GetOptions, GetResult, Health, ListOptions,
    ListPage, MultipartUpload, ObjectMeta, ObjectStore, PartId, PutOptions, PutResult,
    ReadConditions, Result,
};
use async_trait::async_trait;
use avb_core::WorkspaceId;
use bytes::Bytes;
use std::sync::Arc;

/// Every key of `inner` seen through `prefix`: `put("a")` writes `<prefix>a`, and listings strip the prefix,
/// so nothing outside the prefix is visible or reachable: keys and list prefixes are validated by
/// [`validate_key`](crate::validate_key) / [`validate_prefix`](crate::validate_prefix) here, before the inner
/// store sees them (no `.` or `..` segment, nothing absolute), and listings keep only keys under the prefix.
#[derive(Debug, Clone)]
pub struct PrefixStore {
    inner: Arc<dyn ObjectStore>,
    prefix: String,
}

/// The store as seen by one workspace: keys live under `ws/<workspace id>/`.
pub fn for_workspace(inner: Arc<dyn ObjectStore>, workspace: &WorkspaceId) -> Arc<dyn ObjectStore> {
    Arc::new(PrefixStore {
        inner,
        prefix: format!("ws/{workspace}/"),
    })
}

impl PrefixStore {
    /// Scopes `inner` to `prefix`: one or more key segments (validated like a key), without a trailing `/`.
    pub fn new(inner: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self> {
        let trimmed = prefix.trim_end_matches('/');
        crate::validate_key(trimmed).map_err(|e| match e {
            Error::InvalidKey { reason, .. } => Error::InvalidKey {
                key: prefix.to_string(),
                reason: format!("as a store prefix, {reason}"),
            },
            other => other,
        })?;
        Ok(Self {
            inner,
            prefix: format!("{trimmed}/"),
        })
    }

    /// The prefix, ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full(&self, key: &str) -> Result<String> {
        crate::validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn strip(&self, key: String) -> String {
        match key.strip_prefix(&self.prefix) {
            Some(rest) => rest.to_string(),
            None => key,
        }
    }

    fn strip_meta(&self, mut meta: ObjectMeta) -> ObjectMeta {
        meta.key = self.strip(std::mem::take(&mut meta.key));
        meta
    }

    fn inner_upload(&self, upload: &MultipartUpload) -> Result<MultipartUpload> {
        Ok(MultipartUpload {
            key: self.full(&upload.key)?,
            upload_id: upload.upload_id.clone(),
        })
    }

    fn not_found_inside(&self, e: Error) -> Error {
        match e {
            Error::NotFound { key } => Error::NotFound {
                key: self.strip(key),
            },
            Error::AlreadyExists { key } => Error::AlreadyExists {
                key: self.strip(key),
            },
            Error::PreconditionFailed { key, detail } => Error::PreconditionFailed {
                key: self.strip(key),
                detail,
            },
            Error::NotModified { key, e_tag } => Error::NotModified {
                key: self.strip(key),
                e_tag,
            },
            other => other,
        }
    }
}

#[async_trait]
impl ObjectStore for PrefixStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn put(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult> {
        let full = self.full(key)?;
        let r = self.inner.put(&full, data, options).await;
        r.map_err(|e| self.not_found_inside(e))
    }

    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        let full = self.full(key)?;
        let r = self.inner.put_stream(&full, body, options).await;
        r.map_err(|e| self.not_found_inside(e))
    }

    async fn get(&self, key: &str, options: GetOptions) -> Result<GetResult> {
        let full = self.full(key)?;
        let mut r = self
            .inner
            .get(&full, options)
            .await
            .map_err(|e| self.not_found_inside(e))?;
        r.meta = self.strip_meta(r.meta);
        Ok(r)
    }

    async fn head_with(&self, key: &str, conditions: ReadConditions) -> Result<ObjectMeta> {
        let full = self.full(key)?;
        let meta = self
            .inner
            .head_with(&full, conditions)
            .await
            .map_err(|e| self.not_found_inside(e))?;
        Ok(self.strip_meta(meta))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let full = self.full(key)?;
        self.inner.delete(&full).await
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        crate::validate_prefix(&options.prefix)?;
        let mut inner = options.clone();
        inner.prefix = format!("{}{}", self.prefix, options.prefix);
        let page = self.inner.list(&inner).await?;
        Ok(ListPage {
            // Only what lies under the prefix, whatever the inner store answered: nothing outside is visible.
            objects: page
                .objects
                .into_iter()
                .filter(|m| m.key.starts_with(&self.prefix))
                .map(|m| self.strip_meta(m))
                .collect(),
            common_prefixes: page
                .common_prefixes
                .into_iter()
                .filter(|p| p.starts_with(&self.prefix))
                .map(|p| self.strip(p))
                .collect(),
            next_token: page.next_token,
        })
    }

    async fn copy_with(&self, from: &str, to: &str, options: CopyOptions) -> Result<()> {
        let (from, to) = (self.full(from)?, self.full(to)?);
        let r = self.inner.copy_with(&from, &to, options).await;
        r.map_err(|e| self.not_found_inside(e))
    }

    async fn create_multipart(&self, key: &str, options: PutOptions) -> Result<MultipartUpload> {
        let full = self.full(key)?;
        let upload = self.inner.create_multipart(&full, options).await?;
        Ok(MultipartUpload {
            key: key.to_string(),
            upload_id: upload.upload_id,
        })
    }

    async fn put_part(
        &self,
        upload: &MultipartUpload,
        part_number: u32,
        data: Bytes,
    ) -> Result<PartId> {
        let inner = self.inner_upload(upload)?;
        let r = self.inner.put_part(&inner, part_number, data).await;
        r.map_err(|e| self.not_found_inside(e))
    }

    async fn complete_multipart(
        &self,
        upload: &MultipartUpload,
        parts: Vec<PartId>,
    ) -> Result<PutResult> {
        let inner = self.inner_upload(upload)?;
        let r = self.inner.complete_multipart(&inner, parts).await;
        r.map_err(|e| self.not_found_inside(e))
    }

    async fn abort_multipart(&self, upload: &MultipartUpload) -> Result<()> {
        let inner = self.inner_upload(upload)?;
        self.inner.abort_multipart(&inner).await
    }

    async fn presign(
        &self,
        method: crate::PresignMethod,
        key: &str,
        expires_in: std::time::Duration,
        constraints: crate::PresignConstraints,
    ) -> Result<crate::PresignedRequest> {
        // The URL names the full key: the holder reaches this object and no other.
        let full = self.full(key)?;
        self.inner
            .presign(method, &full, expires_in, constraints)
            .await
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}
