//! The ObjectStore behind a layer stack: every operation goes through it. A streamed put consumes its
//! body, so it is never repeated by a layer (a retry of it answers the layer's error, naming why).

use crate::layers::{Refusal, Service};
use async_trait::async_trait;
use avb_core::Health;
use avb_object_store::{
    ByteStream, Capabilities, CopyOptions, Error, GetOptions, GetResult, ListOptions, ListPage,
    MultipartUpload, ObjectMeta, ObjectStore, PartId, PresignConstraints, PresignMethod,
    PresignedRequest, PutOptions, PutResult, ReadConditions, Result,
};
use bytes::Bytes;
use std::sync::Arc;

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Unavailable {
            backend: "layers",
            endpoint: String::new(),
            detail: r.to_string(),
            source: None,
        }
    }
}

/// An [`ObjectStore`] whose operations run through `stack`.
pub struct InstrumentedStore<S> {
    inner: Arc<dyn ObjectStore>,
    stack: S,
}

impl<S> InstrumentedStore<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn ObjectStore>, stack: S) -> Self {
        Self { inner, stack }
    }
}

impl<S> std::fmt::Debug for InstrumentedStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

fn not_again(operation: &str) -> Error {
    Error::Unavailable {
        backend: "layers",
        endpoint: String::new(),
        detail: format!("{operation} consumes its body and cannot be repeated by a layer"),
        source: None,
    }
}

#[async_trait]
impl<S: Service + 'static> ObjectStore for InstrumentedStore<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn put(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult> {
        self.stack
            .call("put", || self.inner.put(key, data.clone(), options.clone()))
            .await
    }

    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        let mut body = Some(body);
        self.stack
            .call("put_stream", || {
                let once = body.take();
                let options = options.clone();
                async move {
                    match once {
                        Some(b) => self.inner.put_stream(key, b, options).await,
                        None => Err(not_again("put_stream")),
                    }
                }
            })
            .await
    }

    async fn get(&self, key: &str, options: GetOptions) -> Result<GetResult> {
        self.stack
            .call("get", || self.inner.get(key, options.clone()))
            .await
    }

    async fn head_with(&self, key: &str, conditions: ReadConditions) -> Result<ObjectMeta> {
        self.stack
            .call("head", || self.inner.head_with(key, conditions.clone()))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.stack.call("delete", || self.inner.delete(key)).await
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        self.stack.call("list", || self.inner.list(options)).await
    }

    async fn copy_with(&self, from: &str, to: &str, options: CopyOptions) -> Result<()> {
        self.stack
            .call("copy", || self.inner.copy_with(from, to, options.clone()))
            .await
    }

    async fn create_multipart(&self, key: &str, options: PutOptions) -> Result<MultipartUpload> {
        self.stack
            .call("create_multipart", || {
                self.inner.create_multipart(key, options.clone())
            })
            .await
    }

    async fn put_part(
        &self,
        upload: &MultipartUpload,
        part_number: u32,
        data: Bytes,
    ) -> Result<PartId> {
        self.stack
            .call("put_part", || {
                self.inner.put_part(upload, part_number, data.clone())
            })
            .await
    }

    async fn complete_multipart(
        &self,
        upload: &MultipartUpload,
        parts: Vec<PartId>,
    ) -> Result<PutResult> {
        self.stack
            .call("complete_multipart", || {
                self.inner.complete_multipart(upload, parts.clone())
            })
            .await
    }

    async fn abort_multipart(&self, upload: &MultipartUpload) -> Result<()> {
        self.stack
            .call("abort_multipart", || self.inner.abort_multipart(upload))
            .await
    }

    async fn presign(
        &self,
        method: PresignMethod,
        key: &str,
        expires_in: std::time::Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest> {
        self.stack
            .call("presign", || {
                self.inner
                    .presign(method, key, expires_in, constraints.clone())
            })
            .await
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}
