//! A minimal W3C WebDriver client over reqwest, for driving Debian's headless Chromium through
//! chromedriver (`scripts/services up chromium`): new session, navigate, find, text, click, type,
//! execute script, screenshot. Every call fails the test with the driver's message.

use base64::Engine as _;
use serde_json::{Value, json};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session; the browser quits when it is dropped.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element handle.
pub struct Element(String);

impl Browser {
    /// Starts headless `chromium` through the driver at `driver` (e.g. `http://127.0.0.1:19515`).
    pub async fn start(driver: &str, chromium: &std::path::Path) -> Browser {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_else(|e| panic!("building the WebDriver client: {e}"));
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("profile dir: {e}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display())],
            },
        }}});
        let answer = call(
            &http,
            reqwest::Method::POST,
            &format!("{driver}/session"),
            Some(caps),
        )
        .await;
        let session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {answer}"))
            .to_string();
        Browser {
            http,
            session: format!("{driver}/session/{session}"),
            _profile: profile,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.session),
            Some(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}{path}", self.session),
            None,
        )
        .await
    }

    /// Loads `url`.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The element matching the CSS `selector`.
    pub async fn find(&self, selector: &str) -> Element {
        let v = self
            .post(
                "/element",
                json!({"using": "css selector", "value": selector}),
            )
            .await;
        Element(
            v[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no element {selector}: {v}"))
                .to_string(),
        )
    }

    /// The rendered text of the element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        let e = self.find(selector).await;
        let v = self.get(&format!("/element/{}/text", e.0)).await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Whether the element matching `selector` is displayed.
    pub async fn displayed(&self, selector: &str) -> bool {
        let e = self.find(selector).await;
        self.get(&format!("/element/{}/displayed", e.0)).await == Value::Bool(true)
    }

    /// Clicks the element matching `selector`.
    pub async fn click(&self, selector: &str) {
        let e = self.find(selector).await;
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    /// Types `text` into the element matching `selector`.
    pub async fn type_into(&self, selector: &str, text: &str) {
        let e = self.find(selector).await;
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await;
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// Waits until the text of `selector` satisfies `ok`; its text. Fails the test after 60 s (a hang
    /// guard: the condition is what is asserted, not the time).
    pub async fn wait_text(&self, selector: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..600 {
            last = self.text(selector).await;
            if ok(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{selector} never reached the expected text; last: {last:?}")
    }

    /// Saves a PNG screenshot as `target/test-artifacts/<name>` and prints its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let v = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot is not base64: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap_or_else(|| std::path::Path::new("target"))
            .join("test-artifacts");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
        path
    }
}

impl Drop for Browser {
    /// Quits the browser, also when the test failed: a plain blocking `DELETE /session/<id>`.
    fn drop(&mut self) {
        use std::io::{Read as _, Write as _};
        let Ok(url) = url::Url::parse(&self.session) else {
            return;
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return;
        };
        let Ok(mut conn) = std::net::TcpStream::connect((host, port)) else {
            return;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
        let request = format!(
            "DELETE {} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            url.path()
        );
        if conn.write_all(request.as_bytes()).is_ok() {
            let _ = conn.read_to_end(&mut Vec::new());
        }
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method.clone(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = r.status();
    let v: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: answer is not JSON: {e}"));
    assert!(
        status.is_success(),
        "WebDriver {method} {url}: {status} {v}"
    );
    v["value"].clone()
}
