//! [`ObjectStore`] for `Arc<T>` and `Box<T>`: a service can hold `Arc<dyn ObjectStore>` (or wrap one in a
//! layer) and pass it wherever an `ObjectStore` is expected. Every method forwards to `T`, the provided ones
//! too, so an override in `T` (e.g. a backend's own `copy` or `list_all`) is not lost.

use crate::{
    ByteStream, Capabilities, CopyOptions, GetOptions, GetResult, Health, ListOptions, ListPage,
    MultipartUpload, ObjectMeta, ObjectStore, PartId, PresignConstraints, PresignMethod,
    PresignedRequest, PutOptions, PutResult, ReadConditions, Result,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

macro_rules! forward_object_store {
    ($pointer:ident) => {
        #[async_trait]
        impl<T: ObjectStore + ?Sized> ObjectStore for $pointer<T> {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            // Each `forward_async!` hands back the inner call's boxed future as is.
            avb_core::forward_async!(put<'life1>(key: &'life1 str, data: Bytes, options: PutOptions) -> Result<PutResult>);
            avb_core::forward_async!(put_stream<'life1>(key: &'life1 str, body: ByteStream, options: PutOptions) -> Result<PutResult>);
            avb_core::forward_async!(get<'life1>(key: &'life1 str, options: GetOptions) -> Result<GetResult>);
            avb_core::forward_async!(head<'life1>(key: &'life1 str) -> Result<ObjectMeta>);
            avb_core::forward_async!(head_with<'life1>(key: &'life1 str, conditions: ReadConditions) -> Result<ObjectMeta>);
            avb_core::forward_async!(delete<'life1>(key: &'life1 str) -> Result<()>);
            avb_core::forward_async!(list<'life1>(options: &'life1 ListOptions) -> Result<ListPage>);
            avb_core::forward_async!(copy<'life1, 'life2>(from: &'life1 str, to: &'life2 str) -> Result<()>);
            avb_core::forward_async!(copy_with<'life1, 'life2>(from: &'life1 str, to: &'life2 str, options: CopyOptions) -> Result<()>);
            avb_core::forward_async!(create_multipart<'life1>(key: &'life1 str, options: PutOptions) -> Result<MultipartUpload>);
            avb_core::forward_async!(put_part<'life1>(upload: &'life1 MultipartUpload, part_number: u32, data: Bytes) -> Result<PartId>);
            avb_core::forward_async!(complete_multipart<'life1>(upload: &'life1 MultipartUpload, parts: Vec<PartId>) -> Result<PutResult>);
            avb_core::forward_async!(abort_multipart<'life1>(upload: &'life1 MultipartUpload) -> Result<()>);
            avb_core::forward_async!(presign<'life1>(method: PresignMethod, key: &'life1 str, expires_in: Duration, constraints: PresignConstraints) -> Result<PresignedRequest>);
            avb_core::forward_async!(health<>() -> Health);
            avb_core::forward_async!(get_bytes<'life1>(key: &'life1 str) -> Result<Bytes>);
            avb_core::forward_async!(list_all<'life1>(prefix: &'life1 str) -> Result<Vec<ObjectMeta>>);
        }
    };
}

forward_object_store!(Arc);
forward_object_store!(Box);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Every required method fails with its own name; every provided method is overridden with an answer
    /// its default (built on the required ones) never gives.
    #[derive(Debug)]
    struct Overrides;

    fn named(operation: &'static str) -> Error {
        Error::NotSupported {
            operation,
            backend: "overrides",
        }
    }

    #[async_trait]
    impl ObjectStore for Overrides {
        fn backend(&self) -> &'static str {
            "overrides"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                presign: true,
                ..Capabilities::default()
            }
        }
        async fn put(&self, _: &str, _: Bytes, _: PutOptions) -> Result<PutResult> {
            Err(named("put"))
        }
        async fn put_stream(&self, _: &str, _: ByteStream, _: PutOptions) -> Result<PutResult> {
            Err(named("put_stream"))
        }
        async fn get(&self, _: &str, _: GetOptions) -> Result<GetResult> {
            Err(named("get"))
        }
        async fn head(&self, key: &str) -> Result<ObjectMeta> {
            Err(Error::NotFound {
                key: format!("head override {key}"),
            })
        }
        async fn head_with(&self, _: &str, _: ReadConditions) -> Result<ObjectMeta> {
            Err(named("head_with"))
        }
        async fn delete(&self, _: &str) -> Result<()> {
            Err(named("delete"))
        }
        async fn list(&self, _: &ListOptions) -> Result<ListPage> {
            Err(named("list"))
        }
        async fn copy(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        async fn copy_with(&self, _: &str, _: &str, _: CopyOptions) -> Result<()> {
            Err(named("copy_with"))
        }
        async fn create_multipart(&self, _: &str, _: PutOptions) -> Result<MultipartUpload> {
            Err(named("create_multipart"))
        }
        async fn put_part(&self, _: &MultipartUpload, _: u32, _: Bytes) -> Result<PartId> {
            Err(named("put_part"))
        }
        async fn complete_multipart(
            &self,
            _: &MultipartUpload,
            _: Vec<PartId>,
        ) -> Result<PutResult> {
            Err(named("complete_multipart"))
        }
        async fn abort_multipart(&self, _: &MultipartUpload) -> Result<()> {
            Err(named("abort_multipart"))
        }
        async fn presign(
            &self,
            _: PresignMethod,
            _: &str,
            _: Duration,
            _: PresignConstraints,
        ) -> Result<PresignedRequest> {
            Err(named("presign"))
        }
        async fn health(&self) -> Health {
            Health::down("overrides", "overridden")
        }
        async fn get_bytes(&self, _: &str) -> Result<Bytes> {
            Ok(Bytes::from_static(b"get_bytes override"))
        }
        async fn list_all(&self, _: &str) -> Result<Vec<ObjectMeta>> {
            Ok(Vec::new())
        }
    }

    fn operation<T: std::fmt::Debug>(result: Result<T>) -> &'static str {
        match result {
            Err(Error::NotSupported { operation, .. }) => operation,
            other => panic!("expected NotSupported, got {other:?}"),
        }
    }

    async fn reaches_every_method(store: &impl ObjectStore) {
        assert_eq!(store.backend(), "overrides");
        assert!(store.capabilities().presign);
        let upload = MultipartUpload {
            key: "k".into(),
            upload_id: "u".into(),
        };
        let empty: ByteStream = Box::pin(futures::stream::empty());
        let o = PutOptions::default;
        assert_eq!(operation(store.put("k", Bytes::new(), o()).await), "put");
        assert_eq!(
            operation(store.put_stream("k", empty, o()).await),
            "put_stream"
        );
        assert_eq!(
            operation(store.get("k", GetOptions::default()).await),
            "get"
        );
        let head_with = store.head_with("k", ReadConditions::default()).await;
        assert_eq!(operation(head_with), "head_with");
        assert_eq!(operation(store.delete("k").await), "delete");
        assert_eq!(operation(store.list(&ListOptions::default()).await), "list");
        let copy_with = store.copy_with("a", "b", CopyOptions::default()).await;
        assert_eq!(operation(copy_with), "copy_with");
        assert_eq!(
            operation(store.create_multipart("k", o()).await),
            "create_multipart"
        );
        assert_eq!(
            operation(store.put_part(&upload, 1, Bytes::new()).await),
            "put_part"
        );
        let complete = store.complete_multipart(&upload, Vec::new()).await;
        assert_eq!(operation(complete), "complete_multipart");
        assert_eq!(
            operation(store.abort_multipart(&upload).await),
            "abort_multipart"
        );
        let presign = store
            .presign(
                PresignMethod::Get,
                "k",
                Duration::from_secs(1),
                PresignConstraints::default(),
            )
            .await;
        assert_eq!(operation(presign), "presign");
        // The provided methods: each default would reach a required method above and fail with its name.
        assert!(
            matches!(store.head("k").await, Err(Error::NotFound { key }) if key == "head override k")
        );
        assert!(store.copy("a", "b").await.is_ok());
        assert_eq!(
            &store.get_bytes("k").await.unwrap()[..],
            b"get_bytes override"
        );
        assert!(store.list_all("").await.unwrap().is_empty());
        assert!(!store.health().await.is_up());
    }

    #[tokio::test]
    async fn arc_and_box_forward_every_method_and_overridden_provided_ones() {
        reaches_every_method(&Arc::new(Overrides)).await;
        reaches_every_method(&Box::new(Overrides)).await;
        let arc: Arc<dyn ObjectStore> = Arc::new(Overrides);
        reaches_every_method(&arc).await;
        let boxed: Box<dyn ObjectStore> = Box::new(Overrides);
        reaches_every_method(&boxed).await;
    }

    /// `Arc<T>` and `Box<T>` hand back the backend's own boxed future, not a second box around it.
    #[test]
    fn pointers_hand_back_the_backends_own_future() {
        let own = std::mem::size_of_val(&*Overrides.get("k", GetOptions::default()));
        let arc: Arc<dyn ObjectStore> = Arc::new(Overrides);
        let boxed: Box<dyn ObjectStore> = Box::new(Overrides);
        assert_eq!(
            std::mem::size_of_val(&*arc.get("k", GetOptions::default())),
            own
        );
        assert_eq!(
            std::mem::size_of_val(&*boxed.get("k", GetOptions::default())),
            own
        );
        let own = std::mem::size_of_val(&*Overrides.delete("k"));
        assert_eq!(std::mem::size_of_val(&*arc.delete("k")), own);
    }
}
