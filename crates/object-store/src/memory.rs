//! In-process store (the sandbox default): objects live in a map and vanish with the process.

use crate::types::{check_part_number, e_tag_matches};
use crate::util::{paginate, rand_id};
use crate::{
    ByteStream, Capabilities, CopyOptions, DEFAULT_CONTENT_TYPE, Error, GetOptions, GetResult,
    Health, ListOptions, ListPage, MultipartUpload, ObjectMeta, ObjectStore, PartId, PutMode,
    PutOptions, PutResult, ReadConditions, Result, validate_key, validate_prefix,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The scheme and backend name.
pub const SCHEME: &str = "memory";

#[derive(Debug, Clone)]
struct Object {
    data: Bytes,
    meta: ObjectMeta,
}

#[derive(Debug, Default)]
struct Upload {
    key: String,
    options: PutOptions,
    parts: BTreeMap<u32, Bytes>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<String, Object>,
    uploads: HashMap<String, Upload>,
    next_etag: u64,
}

/// The in-memory store. Clones share the same objects.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-written (every update is one insert),
        // so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn store(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult> {
        let mut state = self.state();
        if options.mode == PutMode::Create && state.objects.contains_key(key) {
            return Err(Error::AlreadyExists {
                key: key.to_string(),
            });
        }
        if let Some(wanted) = &options.if_match {
            let stored = state.objects.get(key).and_then(|o| o.meta.e_tag.as_deref());
            if !e_tag_matches(stored, wanted) {
                return Err(Error::PreconditionFailed {
                    key: key.to_string(),
                    detail: format!("If-Match {wanted}: the object's entity tag is {stored:?}"),
                });
            }
        }
        state.next_etag += 1;
        let e_tag = format!("\"{:x}\"", state.next_etag);
        let meta = ObjectMeta {
            key: key.to_string(),
            size: data.len() as u64,
            last_modified: Some(SystemTime::now()),
            e_tag: Some(e_tag.clone()),
            content_type: Some(
                options
                    .content_type
                    .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
            ),
            metadata: options.metadata,
        };
        state.objects.insert(key.to_string(), Object { data, meta });
        Ok(PutResult { e_tag: Some(e_tag) })
    }

    fn object(&self, key: &str) -> Result<Object> {
        validate_key(key)?;
        self.state()
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                key: key.to_string(),
            })
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_create: true,
            conditional_update: true,
            conditional_read: true,
            presign: false,
            multipart: true,
            min_part_size: 0,
            metadata: true,
            persistent: false,
            streaming: false,
        }
    }

    async fn put(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult> {
        validate_key(key)?;
        options.validate()?;
        self.store(key, data, options)
    }

    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        validate_key(key)?;
        options.validate()?;
        // The object lives in memory by design; collect it once, without a second copy.
        let data = body
            .try_fold(bytes::BytesMut::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await?;
        self.store(key, data.freeze(), options)
    }

    async fn get(&self, key: &str, options: GetOptions) -> Result<GetResult> {
        options.conditions.validate()?;
        let object = self.object(key)?;
        options
            .conditions
            .evaluate(key, object.meta.e_tag.as_deref())?;
        let size = object.data.len() as u64;
        let range = match &options.range {
            Some(r) => {
                r.check()?;
                r.resolve(key, size)?
            }
            None => 0..size,
        };
        // The range is within the object, whose length fits usize.
        let (start, end) = (range.start as usize, range.end as usize);
        let data = object.data.slice(start..end);
        let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(data) }));
        Ok(GetResult {
            meta: object.meta,
            range,
            body,
        })
    }

    async fn head_with(&self, key: &str, conditions: ReadConditions) -> Result<ObjectMeta> {
        conditions.validate()?;
        let meta = self.object(key)?.meta;
        conditions.evaluate(key, meta.e_tag.as_deref())?;
        Ok(meta)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.state().objects.remove(key);
        Ok(())
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        validate_prefix(&options.prefix)?;
        let state = self.state();
        let entries = state
            .objects
            .range::<str, _>((
                std::ops::Bound::Included(options.prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(options.prefix.as_str()))
            .map(|(k, o)| {
                let mut meta = o.meta.clone();
                meta.content_type = None;
                meta.metadata.clear();
                (k.as_str(), meta)
            });
        let (objects, common_prefixes, next_token) = paginate(entries, options);
        Ok(ListPage {
            objects,
            common_prefixes,
            next_token,
        })
    }

    async fn copy_with(&self, from: &str, to: &str, options: CopyOptions) -> Result<()> {
        validate_key(to)?;
        options.validate()?;
        let object = self.object(from)?;
        let options = PutOptions {
            mode: options.mode,
            content_type: object.meta.content_type,
            metadata: object.meta.metadata,
            if_match: options.if_match,
        };
        self.store(to, object.data, options).map(drop)
    }

    async fn create_multipart(&self, key: &str, options: PutOptions) -> Result<MultipartUpload> {
        validate_key(key)?;
        options.validate()?;
        let upload_id = format!("{:032x}", rand_id());
        self.state().uploads.insert(
            upload_id.clone(),
            Upload {
                key: key.to_string(),
                options,
                parts: BTreeMap::new(),
            },
        );
        Ok(MultipartUpload {
            key: key.to_string(),
            upload_id,
        })
    }

    async fn put_part(
        &self,
        upload: &MultipartUpload,
        part_number: u32,
        data: Bytes,
    ) -> Result<PartId> {
        validate_key(&upload.key)?;
        check_part_number(part_number)?;
        let mut state = self.state();
        let entry = state
            .uploads
            .get_mut(&upload.upload_id)
            .filter(|u| u.key == upload.key)
            .ok_or_else(|| Error::NotFound {
                key: upload.key.clone(),
            })?;
        entry.parts.insert(part_number, data);
        Ok(PartId {
            part_number,
            e_tag: format!("\"part-{part_number}\""),
        })
    }

    async fn complete_multipart(
        &self,
        upload: &MultipartUpload,
        parts: Vec<PartId>,
    ) -> Result<PutResult> {
        validate_key(&upload.key)?;
        let entry = {
            let mut state = self.state();
            match state.uploads.get(&upload.upload_id) {
                Some(u) if u.key == upload.key => state.uploads.remove(&upload.upload_id),
                _ => None,
            }
        }
        .ok_or_else(|| Error::NotFound {
            key: upload.key.clone(),
        })?;
        let mut data = Vec::new();
        let mut previous = 0;
        for part in &parts {
            if part.part_number <= previous {
                return Err(Error::invalid_argument("parts must be in ascending order"));
            }
            previous = part.part_number;
            let bytes = entry.parts.get(&part.part_number).ok_or_else(|| {
                Error::invalid_argument(format!("part {} was not uploaded", part.part_number))
            })?;
            data.extend_from_slice(bytes);
        }
        self.store(&entry.key, data.into(), entry.options)
    }

    async fn abort_multipart(&self, upload: &MultipartUpload) -> Result<()> {
        validate_key(&upload.key)?;
        let mut state = self.state();
        // Only the upload of this key: another key's (another workspace's) upload id aborts nothing.
        if state
            .uploads
            .get(&upload.upload_id)
            .is_some_and(|u| u.key == upload.key)
        {
            state.uploads.remove(&upload.upload_id);
        }
        Ok(())
    }

    async fn presign(
        &self,
        _method: crate::PresignMethod,
        key: &str,
        _expires_in: std::time::Duration,
        _constraints: crate::PresignConstraints,
    ) -> Result<crate::PresignedRequest> {
        validate_key(key)?;
        Err(Error::NotSupported {
            operation: "presigned URLs (no HTTP endpoint to sign for)",
            backend: SCHEME,
        })
    }

    async fn health(&self) -> Health {
        Health::up(SCHEME)
    }
}
