//! Local issuer (`AUTH_MODE=local`, sandbox only): mints Keycloak-shaped RS256 access tokens with a
//! development key and validates them through the same [`Validator`] as the OIDC backend.
//!
//! ## Where the development key lives
//! A 2048-bit RSA key, PKCS#8, in `.avb/auth/dev-key.pem` under the current directory (`.avb/` is
//! git-ignored), created on first use with mode 0600 (`AVB_AUTH_DEV_KEY_FILE` moves it). Every process that
//! uses the same file shares the key, so a token printed by `avb token` validates in a running service.
//! Creation is race-free: the key is written to a temporary file and hard-linked into place, so two
//! processes starting at once agree on one key. Delete the file to rotate it. It is a *development* key:
//! the configuration refuses `AUTH_MODE=local` outside development.
//!
//! | claim | value |
//! |---|---|
//! | `iss` | [`ISSUER`] |
//! | `aud` | [`AUDIENCE`] |
//! | `sub`, `workspace_id`, `realm_access.roles` | as minted |
//! | `resource_access.avb.roles` | empty |
//! | `azp` | `avb` |
//! | `iat`, `nbf`, `exp`, `jti` | now, now, now + ttl, random |

use crate::jwks::{KeyCache, KeySet, StaticKeys, VerifyKey};
use crate::validator::{DEFAULT_WORKSPACE_CLAIM, Rules, TokenCache, Validator};
use crate::{Authenticator, Capabilities, Error, Principal, Result};
use async_trait::async_trait;
use avb_core::WorkspaceId;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The scheme of this backend.
pub const SCHEME: &str = "local";
/// `iss` of locally minted tokens.
pub const ISSUER: &str = "urn:avb:local-issuer";
/// `aud` of locally minted tokens.
pub const AUDIENCE: &str = "avb";
/// The client id in `azp` and `resource_access`.
pub const CLIENT_ID: &str = "avb";
/// Default key file, relative to the current directory.
pub const DEFAULT_KEY_FILE: &str = crate::config::DEFAULT_DEV_KEY_FILE;

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// Mints and validates sandbox tokens with a development RSA key.
pub struct LocalIssuer {
    key: KeyPair,
    kid: String,
    public_der: Vec<u8>,
    validator: Validator,
}

impl fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// How a token is signed, for tests of the validator (the conformance suite's attack cases).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signing {
    /// RS256 with the dev key, its own `kid`.
    Valid,
    /// RS256 with the dev key but another `kid`.
    Kid(String),
    /// RS256 with a freshly generated key, under the dev key's `kid`.
    Rogue,
    /// HS256 keyed with the dev key's public key (DER), under the dev key's `kid`.
    Hs256WithPublicKey,
    /// `alg: none`, empty signature.
    None,
}

impl LocalIssuer {
    /// The issuer with the key in `path`, creating the key (and its directory) on first use.
    pub fn from_key_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let err = |reason: String| Error::DevKey {
            path: path.display().to_string(),
            reason,
        };
        let pkcs8 = match std::fs::read_to_string(path) {
            Ok(text) => pem_decode(&text).ok_or_else(|| err("not a PEM PRIVATE KEY".into()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(path).map_err(|e| err(e.to_string()))?
            }
            Err(e) => return Err(err(e.to_string())),
        };
        let key = KeyPair::from_pkcs8(&pkcs8).map_err(|e| err(format!("not an RSA key: {e}")))?;
        Ok(Self::with_key(key))
    }

    /// The issuer with the default key file, [`DEFAULT_KEY_FILE`].
    pub fn from_default_key_file() -> Result<Self> {
        Self::from_key_file(DEFAULT_KEY_FILE)
    }

    /// An issuer with a fresh in-memory key (tests, examples); its tokens validate only in this process.
    pub fn ephemeral() -> Result<Self> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|e| Error::DevKey {
            path: "<memory>".into(),
            reason: e.to_string(),
        })?;
        Ok(Self::with_key(key))
    }

    fn with_key(key: KeyPair) -> Self {
        let public_der = key.public_key().as_ref().to_vec();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &public_der);
        let kid = format!("avb-dev-{}", hex(&digest.as_ref()[..8]));
        let keys = KeySet::new([VerifyKey::rsa_der(kid.clone(), &public_der)]);
        let cache = KeyCache::preloaded(
            Arc::new(StaticKeys(keys.clone())),
            keys,
            Duration::from_secs(60),
        );
        let validator = Validator::new(
            Rules {
                client_id: Some(CLIENT_ID.into()),
                ..Rules::new(ISSUER, AUDIENCE)
            },
            Arc::new(cache),
        )
        .with_token_cache(TokenCache::new(crate::config::DEFAULT_TOKEN_CACHE_SIZE));
        Self {
            key,
            kid,
            public_der,
            validator,
        }
    }

    /// Remember at most `entries` validated tokens (default
    /// [`DEFAULT_TOKEN_CACHE_SIZE`](crate::validator::DEFAULT_TOKEN_CACHE_SIZE); `0` turns the cache off;
    /// see [`token_cache`](crate::validator::token_cache)).
    pub fn with_token_cache(self, entries: usize) -> Self {
        self.with_token_cache_of(TokenCache::new(entries))
    }

    /// Use `cache` (its own size, memory cap and clock) for validated tokens.
    pub fn with_token_cache_of(mut self, cache: TokenCache) -> Self {
        self.validator = self.validator.with_token_cache(cache);
        self
    }

    /// The validated-token cache, unless turned off.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.validator.token_cache()
    }

    /// The dev key's public half, DER `RSAPublicKey` (PKCS#1).
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    /// The dev key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Mints an access token for `subject` in `workspace` with realm `roles`, valid for `ttl`.
    pub fn mint(
        &self,
        subject: &str,
        workspace: &str,
        roles: &[&str],
        ttl: Duration,
    ) -> Result<String> {
        let workspace = WorkspaceId::new(workspace)?;
        let now = now_secs();
        let claims = json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "azp": CLIENT_ID,
            "typ": "Bearer",
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(ttl.as_secs()),
            "jti": random_id()?,
            "scope": "openid",
            DEFAULT_WORKSPACE_CLAIM: workspace.as_str(),
            "realm_access": { "roles": roles },
            "resource_access": { CLIENT_ID: { "roles": [] } },
        });
        match claims {
            Value::Object(claims) => self.sign(&claims, &Signing::Valid),
            _ => Err(Error::malformed("claims are not an object")),
        }
    }

    /// Claims of a valid token for `subject` (to modify before [`LocalIssuer::sign`]).
    pub fn claims(&self, subject: &str, workspace: &str, ttl: Duration) -> Map<String, Value> {
        let now = now_secs();
        let mut claims = Map::new();
        for (k, v) in [
            ("iss", json!(ISSUER)),
            ("aud", json!(AUDIENCE)),
            ("sub", json!(subject)),
            ("typ", json!("Bearer")),
            ("iat", json!(now)),
            ("nbf", json!(now)),
            ("exp", json!(now.saturating_add(ttl.as_secs()))),
            (DEFAULT_WORKSPACE_CLAIM, json!(workspace)),
            ("realm_access", json!({ "roles": ["viewer"] })),
        ] {
            claims.insert(k.into(), v);
        }
        claims
    }

    /// Signs arbitrary `claims` as `signing` says. Only [`Signing::Valid`] produces a token this issuer
    /// accepts (given valid claims); the others exist to prove the validator refuses them.
    pub fn sign(&self, claims: &Map<String, Value>, signing: &Signing) -> Result<String> {
        let (alg, kid) = match signing {
            Signing::Valid | Signing::Rogue => ("RS256", self.kid.as_str()),
            Signing::Kid(kid) => ("RS256", kid.as_str()),
            Signing::Hs256WithPublicKey => ("HS256", self.kid.as_str()),
            Signing::None => ("none", self.kid.as_str()),
        };
        let header = json!({ "alg": alg, "typ": "JWT", "kid": kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
        );
        let signature = match signing {
            Signing::Valid | Signing::Kid(_) => rs256(&self.key, input.as_bytes())?,
            Signing::Rogue => {
                let rogue = KeyPair::generate(KeySize::Rsa2048).map_err(|e| Error::DevKey {
                    path: "<memory>".into(),
                    reason: e.to_string(),
                })?;
                rs256(&rogue, input.as_bytes())?
            }
            Signing::Hs256WithPublicKey => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.public_der);
                aws_lc_rs::hmac::sign(&key, input.as_bytes())
                    .as_ref()
                    .to_vec()
            }
            Signing::None => Vec::new(),
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Signs `payload` bytes verbatim (not re-serialised: duplicate names or trailing text survive) with the
    /// dev key, under the header `{"alg":"RS256","typ":"JWT","kid":<dev kid>}` with `header` merged in (a
    /// `null` value removes a parameter). For tests of the validator's refusals.
    pub fn sign_raw(&self, header: &Map<String, Value>, payload: &[u8]) -> Result<String> {
        let mut full = Map::new();
        full.insert("alg".into(), json!("RS256"));
        full.insert("typ".into(), json!("JWT"));
        full.insert("kid".into(), json!(self.kid));
        for (k, v) in header {
            if v.is_null() {
                full.remove(k);
            } else {
                full.insert(k.clone(), v.clone());
            }
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(full).to_string()),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = rs256(&self.key, input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[async_trait]
impl Authenticator for LocalIssuer {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal> {
        self.validator.validate(bearer_token).await
    }

    /// The issuer's keys are its own, so validation never waits: the validator's future, polled once.
    /// (Were it ever to wait, the future is dropped — validation is cancel-safe — and `None` sends the
    /// caller to `authenticate`.)
    fn authenticate_now(&self, bearer_token: &str) -> Option<Result<Principal>> {
        let validation = std::pin::pin!(self.validator.validate(bearer_token));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match validation.poll(&mut cx) {
            std::task::Poll::Ready(answer) => Some(answer),
            std::task::Poll::Pending => None,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_invalid_tokens: true,
            mints_tokens: true,
            ..Capabilities::default()
        }
    }

    fn backend(&self) -> &'static str {
        SCHEME
    }
}

fn rs256(key: &KeyPair, message: &[u8]) -> Result<Vec<u8>> {
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message,
        &mut signature,
    )
    .map_err(|e| Error::DevKey {
        path: "<signing>".into(),
        reason: e.to_string(),
    })?;
    Ok(signature)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|e| Error::DevKey {
            path: "<random>".into(),
            reason: e.to_string(),
        })?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pem_decode(text: &str) -> Option<Vec<u8>> {
    let body = text.split(PEM_BEGIN).nth(1)?.split(PEM_END).next()?;
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).ok()
}

fn pem_encode(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("{PEM_BEGIN}\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

/// Creates the key file atomically; when another process won the race, reads its key instead.
fn create_key_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir)?;
    let key = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|e| std::io::Error::other(format!("key generation failed: {e}")))?;
    let der = key
        .as_der()
        .map_err(|e| std::io::Error::other(format!("key encoding failed: {e}")))?;
    let der = der.as_ref().to_vec();
    let tmp = dir.join(format!(".dev-key-{}.tmp", std::process::id()));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(pem_encode(&der).as_bytes())?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(der),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            pem_decode(&text).ok_or_else(|| std::io::Error::other("not a PEM PRIVATE KEY"))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[tokio::test]
    async fn minted_token_validates_with_roles_workspace_and_expiry() {
        let issuer = LocalIssuer::ephemeral().unwrap();
        let token = issuer
            .mint(
                "alice",
                "ws-1",
                &["analyst", "viewer"],
                Duration::from_secs(60),
            )
            .unwrap();
        let p = issuer.authenticate(&token).await.unwrap();
        assert_eq!(p.subject, "alice");
        assert_eq!(p.workspace_id.as_str(), "ws-1");
        assert!(p.has_role("analyst") && p.has_role("viewer") && !p.has_role("admin"));
        assert!(p.expires_at.unwrap() > SystemTime::now());
    }

    #[tokio::test]
    async fn key_file_is_created_once_and_shared() {
        let dir = std::env::temp_dir().join(format!("avb-auth-key-{}", random_id().unwrap()));
        let path = dir.join("nested/dev-key.pem");
        let a = LocalIssuer::from_key_file(&path).unwrap();
        let b = LocalIssuer::from_key_file(&path).unwrap();
        assert_eq!(a.kid(), b.kid());
        let token = a.mint("bob", "ws-2", &[], Duration::from_secs(60)).unwrap();
        assert_eq!(b.authenticate(&token).await.unwrap().subject, "bob");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "dev key must not be group/world readable");
        }
        let other = LocalIssuer::ephemeral().unwrap();
        let err = other.authenticate(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("avb-auth-bad-{}", random_id().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dev-key.pem");
        std::fs::write(&path, "garbage").unwrap();
        let err = LocalIssuer::from_key_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DevKey);
        assert!(err.to_string().contains("dev-key.pem"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
