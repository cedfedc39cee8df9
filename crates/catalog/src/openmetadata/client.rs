//! HTTP to OpenMetadata: the bearer token on every call, errors mapped by status, retries of what is
//! retryable, list paging followed to the end.

use crate::Error;
use serde_json::Value;
use std::time::Duration;

const BACKEND: &str = "openmetadata";

/// How many times a retryable failure is retried (so at most `1 + RETRIES` attempts), and the first pause
/// (doubled each time).
const RETRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Largest answer body read (a server cannot make the client buffer more): a longer answer is an error.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Most pages one list call follows (a server handing out fresh cursors forever cannot make the client
/// loop or buffer without end): at the default page size, a million entities.
const MAX_PAGES: usize = 10_000;

/// The REST client: base URL `<OPENMETADATA_URL>/v1`.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    /// `<api root>/v1`, without a trailing slash.
    base: String,
    /// The API root as shown in errors (userinfo redacted).
    shown: String,
    /// `Bearer <token>`; never printed.
    authorization: Option<String>,
    page_size: u32,
    /// Most pages one list call follows ([`MAX_PAGES`]; lowered by tests).
    max_pages: usize,
}

impl Client {
    pub(crate) fn new(
        api_root: &url::Url,
        shown: String,
        token: Option<&str>,
        page_size: u32,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::InvalidArgument {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            base: format!("{}/v1", api_root.as_str().trim_end_matches('/')),
            shown,
            authorization: token.map(|t| format!("Bearer {t}")),
            page_size: page_size.max(1),
            max_pages: MAX_PAGES,
        })
    }

    /// The same client following at most `max_pages` pages per list call.
    #[cfg(test)]
    pub(crate) fn with_max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages;
        self
    }

    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// `GET <base>/<path>?<query>` as JSON, retrying what is retryable.
    pub(crate) async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Error> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            match self.get_once(path, query).await {
                Err(e) if avb_core::Classify::is_retryable(&e) && attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                other => return other,
            }
        }
    }

    async fn get_once(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Error> {
        let mut url = url::Url::parse(&format!("{}/{path}", self.base)).map_err(|e| {
            Error::InvalidArgument {
                detail: format!("GET {path}: not a URL: {e}"),
            }
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.get(url);
        if let Some(auth) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let response = request.send().await.map_err(|e| self.transport(path, &e))?;
        let status = response.status();
        let body = match read_body(response).await {
            Ok(Some(body)) => body,
            Ok(None) => {
                return Err(self.protocol(
                    path,
                    &format!("an answer longer than {} MiB", MAX_BODY >> 20),
                ));
            }
            Err(e) => return Err(self.transport(path, &e)),
        };
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| Error::Protocol {
                backend: BACKEND,
                endpoint: self.shown.clone(),
                detail: format!("GET {path}: the answer is not JSON: {e}"),
            });
        }
        let detail = format!(
            "GET {path}: HTTP {}: {}",
            status.as_u16(),
            server_message(&body)
        );
        Err(match status.as_u16() {
            401 | 403 => Error::Unauthorized {
                backend: BACKEND,
                endpoint: self.shown.clone(),
                detail,
            },
            404 => Error::NotFound {
                what: "OpenMetadata resource",
                id: path.to_string(),
            },
            429 | 502 | 503 | 504 => Error::Unavailable {
                backend: BACKEND,
                endpoint: self.shown.clone(),
                detail,
            },
            _ => Error::Protocol {
                backend: BACKEND,
                endpoint: self.shown.clone(),
                detail,
            },
        })
    }

    fn transport(&self, path: &str, e: &reqwest::Error) -> Error {
        // reqwest's text may quote the URL; ours has no userinfo (the token travels in a header) and the
        // query holds no secret.
        let detail = format!("GET {path}: {}", without_url(e));
        if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() {
            Error::Unavailable {
                backend: BACKEND,
                endpoint: self.shown.clone(),
                detail,
            }
        } else {
            Error::Protocol {
                backend: BACKEND,
                endpoint: self.shown.clone(),
                detail,
            }
        }
    }

    /// Every entity of a list endpoint: `limit` = the page size, `after` cursors followed until the answer
    /// has none. A cursor seen twice, or more than [`MAX_PAGES`] pages, is a protocol error (no endless
    /// loop on a broken server).
    pub(crate) async fn list_all(
        &self,
        collection: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<Value>, Error> {
        let limit = self.page_size.to_string();
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", &limit));
            if let Some(a) = &after {
                q.push(("after", a));
            }
            let page = self.get(collection, &q).await?;
            let Value::Object(mut page) = page else {
                return Err(self.protocol(collection, "a list answer that is not an object"));
            };
            match page.remove("data") {
                Some(Value::Array(items)) => out.extend(items),
                _ => return Err(self.protocol(collection, "a list answer without a data array")),
            }
            let next = page
                .get("paging")
                .and_then(|p| p.get("after"))
                .and_then(Value::as_str)
                .map(str::to_string);
            match next {
                None => return Ok(out),
                Some(cursor) => {
                    if !seen.insert(cursor.clone()) {
                        return Err(self.protocol(collection, "the same after cursor twice"));
                    }
                    if seen.len() >= self.max_pages {
                        return Err(self
                            .protocol(collection, &format!("more than {} pages", self.max_pages)));
                    }
                    after = Some(cursor);
                }
            }
        }
    }

    fn protocol(&self, collection: &str, what: &str) -> Error {
        Error::Protocol {
            backend: BACKEND,
            endpoint: self.shown.clone(),
            detail: format!("GET {collection}: {what}"),
        }
    }
}

/// The whole body, or `None` when it is longer than [`MAX_BODY`] (never a silently cut answer).
async fn read_body(mut response: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// OpenMetadata's error text (`{code, errorType, message}`), else the start of the body.
fn server_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    message.chars().take(300).collect()
}

fn without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(url) => text.replace(url.as_str(), "<url>"),
        None => text,
    }
}
