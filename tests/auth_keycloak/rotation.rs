//! Key rotation on real Keycloak through the admin REST API, in a throwaway realm (a copy of the fixture):
//! a new `rsa-generated` key provider with a higher priority takes over signing (the authenticator fetches
//! the key set exactly once for the new `kid`, also for 100 concurrent requests), the old key is made
//! passive (still published, still validating), then deleted (it stops validating once the cached key
//! set is older than the max age).
//! Keycloak cannot count JWKS requests, so the authenticator's own fetch counter is the measure.

use super::*;
use avb::auth::clock::ManualClock;

/// An admin session on the Keycloak at `root` (bootstrap admin from `AVB_TEST_KEYCLOAK_ADMIN`).
pub(crate) struct Admin {
    root: String,
    token: String,
    http: reqwest::Client,
}

impl Admin {
    pub(crate) async fn login(root: &str) -> Option<Self> {
        let credential = avb::testing::harness_value("AVB_TEST_KEYCLOAK_ADMIN")?;
        let (user, password) = credential.split_once(':').unwrap();
        let http = crate::http::client();
        let answer: Value = http
            .post(format!(
                "{root}/realms/master/protocol/openid-connect/token"
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().unwrap().to_string();
        Some(Self {
            root: root.to_string(),
            token,
            http,
        })
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/admin/realms{path}", self.root))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A new realm from the fixture under `name`; its issuer.
    async fn create_realm(&self, name: &str) -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keycloak/avb-realm.json"
        );
        let mut realm: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        realm["realm"] = json!(name);
        self.call(reqwest::Method::POST, "", Some(realm)).await;
        format!("{}/realms/{name}", self.root)
    }

    /// `(kid, component id)` of the realm's key with `kid`, or of its active RS256 key.
    async fn rs256_key(&self, realm: &str, kid: Option<&str>) -> (String, String, String) {
        let keys = self
            .call(reqwest::Method::GET, &format!("/{realm}/keys"), None)
            .await;
        let kid = kid.map_or_else(
            || keys["active"]["RS256"].as_str().unwrap().to_string(),
            str::to_string,
        );
        let key = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap();
        let status = key["status"].as_str().unwrap().to_string();
        (kid, key["providerId"].as_str().unwrap().to_string(), status)
    }
}

pub(crate) fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn kid(token: &str) -> String {
    parts(token).0["kid"].as_str().unwrap().to_string()
}

async fn published_kids(issuer: &str) -> Vec<String> {
    let jwks: Value = crate::http::client()
        .get(format!("{issuer}/protocol/openid-connect/certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn keycloak_key_rotation_fetches_once_and_a_deleted_key_stops_validating_within_max_age() {
    let Some(avb_issuer) = issuer() else { return };
    let Some(admin) = Admin::login(&root(&avb_issuer)).await else {
        return;
    };
    let realm = unique("rotation");
    let issuer = admin.create_realm(&realm).await;
    let realm_id = admin
        .call(reqwest::Method::GET, &format!("/{realm}"), None)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let interval = Duration::from_millis(300);
    let clock = ManualClock::new();
    let auth = std::sync::Arc::new(
        OidcBuilder::new(&issuer)
            .with_audience(AUDIENCE)
            .with_min_refresh_interval(interval)
            .with_clock(clock.clone())
            .build()
            .await
            .unwrap(),
    );
    let old = service_token(&issuer).await;
    auth.authenticate(&old).await.unwrap();
    let (old_kid, old_component, _) = admin.rs256_key(&realm, None).await;
    assert_eq!(kid(&old), old_kid);

    // A new rsa-generated provider with a higher priority than the default (100) takes over signing.
    let provider = json!({
        "name": "rsa-rotated", "providerId": "rsa-generated",
        "providerType": "org.keycloak.keys.KeyProvider", "parentId": realm_id,
        "config": {"priority": ["200"], "enabled": ["true"], "active": ["true"], "algorithm": ["RS256"]}
    });
    admin
        .call(
            reqwest::Method::POST,
            &format!("/{realm}/components"),
            Some(provider),
        )
        .await;
    clock.advance(interval);
    let new = service_token(&issuer).await;
    assert_ne!(
        kid(&new),
        old_kid,
        "Keycloak did not switch to the higher-priority key"
    );
    // 100 concurrent requests carrying the new kid: one fetch between them (single flight).
    let before = auth.keys().fetches();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (auth, new) = (auth.clone(), new.clone());
            tokio::spawn(async move { auth.authenticate(&new).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    auth.authenticate(&old).await.unwrap();
    assert_eq!(
        auth.keys().fetches() - before,
        1,
        "exactly one key-set fetch for the new kid"
    );

    // The old key made passive: no longer signing, still published, so its tokens still validate —
    // also for an authenticator that starts now.
    let path = format!("/{realm}/components/{old_component}");
    let mut component = admin.call(reqwest::Method::GET, &path, None).await;
    component["config"]["active"] = json!(["false"]);
    admin
        .call(reqwest::Method::PUT, &path, Some(component))
        .await;
    assert_eq!(admin.rs256_key(&realm, Some(&old_kid)).await.2, "PASSIVE");
    assert!(
        published_kids(&issuer).await.contains(&old_kid),
        "a passive key is still in the JWKS"
    );
    let max_age = Duration::from_secs(2);
    let aged_clock = ManualClock::new();
    let aged = OidcBuilder::new(&issuer)
        .with_audience(AUDIENCE)
        .with_min_refresh_interval(Duration::from_secs(60))
        .with_jwks_max_age(max_age)
        .with_clock(aged_clock.clone())
        .build()
        .await
        .unwrap();
    aged.authenticate(&old).await.unwrap();

    // Deleted: gone from the JWKS; once the cached set is older than the max age, one refetch, and the old
    // key's tokens are "rotated out" while the new key's still validate.
    admin.call(reqwest::Method::DELETE, &path, None).await;
    assert!(!published_kids(&issuer).await.contains(&old_kid));
    // Inside the max age the cached key still validates (no fetch).
    aged_clock.advance(max_age - Duration::from_millis(1));
    aged.authenticate(&old).await.unwrap();
    assert_eq!(aged.keys().fetches(), 1, "only the startup fetch");
    aged_clock.advance(Duration::from_millis(1));
    let before = aged.keys().fetches();
    let err = aged.authenticate(&old).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyRotatedOut, "{err}");
    assert_eq!(aged.keys().fetches() - before, 1);
    aged.authenticate(&new).await.unwrap();

    admin
        .call(reqwest::Method::DELETE, &format!("/{realm}"), None)
        .await;
}
