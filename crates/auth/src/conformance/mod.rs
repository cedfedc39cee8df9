//! The Auth port's shared conformance suite (feature `conformance`), on the conformance kit
//! ([`avb_conformance`]): one documented `pub async fn` per case, run against any [`Authenticator`] through
//! a [`Harness`] that makes the test tokens.
//!
//! Skips are decided by the kit before a case runs, from what is *declared*: the backend's
//! [`Capabilities`] (`rejects_invalid_tokens`) and the harness's [`Abilities`] (which tokens it can make) —
//! never from a backend's name. A skipped case prints `SKIPPED <case>: lacks <capability>` (see
//! [`capability`]). A harness that declares an ability and then fails to make the token fails the case
//! (`[make_token]`), it does not skip it. Every case has a timeout; a run returns a [`Report`] that the
//! caller checks exactly with [`Report::assert_exact`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_auth::conformance::{Expect, LocalHarness, run_all};
//! use avb_auth::local::LocalIssuer;
//! let harness = LocalHarness(LocalIssuer::ephemeral().unwrap());
//! run_all(&harness).await.assert_exact(&Expect::all());
//! # }
//! ```

mod harnesses;
mod shape;
mod tokens;

/// The kit's types a caller needs to run the suite and check its result.
pub use avb_conformance::{Expect, Gap, Report, Runner};
pub use harnesses::{LocalHarness, TrustAllHarness};
pub use shape::*;
pub use tokens::*;

use crate::{Authenticator, Capabilities, ErrorKind};
use async_trait::async_trait;
use avb_conformance::{Capable, Case, CaseResult, Checks};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a harness signs a test token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forge {
    /// Properly, with the issuer's current key.
    Valid,
    /// With a key the issuer never published, under the current key's `kid`.
    RogueKey,
    /// HS256 keyed with the issuer's RSA public key, under that key's `kid`.
    Hs256WithPublicKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// With the current key but a `kid` the issuer never published.
    UnknownKid,
}

/// Why a harness could not make a token (a failure of the case, not a skip).
pub type HarnessError = Box<dyn std::error::Error + Send + Sync>;

/// Which test tokens a [`Harness`] can make. Cases that need more are skipped by the kit, naming the
/// ability (see [`capability`]); what a harness declares here it must deliver, or the case fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Abilities {
    /// [`Harness::token`] with `Forge::Valid` honours any claim overrides (not only the issuer's
    /// defaults, `{}`).
    pub arbitrary_claims: bool,
    /// [`Harness::token`] makes every [`Forge`] other than `Valid` (with the default claims).
    pub forgeries: bool,
    /// [`Harness::claims`] and [`Harness::sign_raw`] work.
    pub raw_signing: bool,
}

/// What a backend's test provides to the suite.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The backend under test.
    fn authenticator(&self) -> &dyn Authenticator;

    /// Which tokens this harness can make (the kit skips cases needing more).
    fn abilities(&self) -> Abilities;

    /// A token whose claims are the issuer's valid defaults (`iss`, `aud`, `exp` in 5 min, `sub`,
    /// `workspace_id`, and an access-token marker: Keycloak's `typ: "Bearer"`) overridden by `claims` (a
    /// `null` value removes the claim), signed as `forge` says. Every harness makes the default valid token
    /// (`{}`, `Forge::Valid`); the rest as its [`Abilities`] declare.
    async fn token(&self, claims: Value, forge: Forge) -> Result<String, HarnessError>;

    /// The valid default claims of [`Harness::token`] overridden by `claims`, as an object (for cases that
    /// write the payload text themselves). Needed when [`Abilities::raw_signing`] is declared.
    async fn claims(&self, claims: Value) -> Result<Map<String, Value>, HarnessError> {
        let _ = claims;
        Err("this harness does not declare raw_signing".into())
    }

    /// `payload` signed verbatim (not re-serialised) with the issuer's current key, under the issuer's usual
    /// header with `header` merged in (a `null` value removes a parameter). Needed when
    /// [`Abilities::raw_signing`] is declared.
    async fn sign_raw(&self, header: Value, payload: String) -> Result<String, HarnessError> {
        let _ = (header, payload);
        Err("this harness does not declare raw_signing".into())
    }
}

/// The capabilities cases require, by the names the report prints.
pub mod capability {
    /// [`Capabilities::rejects_invalid_tokens`](crate::Capabilities::rejects_invalid_tokens) (false for
    /// trust-all).
    pub const REJECTS_INVALID_TOKENS: &str = "rejects_invalid_tokens";
    /// The harness's [`Abilities::arbitrary_claims`](super::Abilities::arbitrary_claims).
    pub const ARBITRARY_CLAIMS: &str = "a harness that mints tokens with arbitrary claims";
    /// The harness's [`Abilities::forgeries`](super::Abilities::forgeries).
    pub const FORGERIES: &str = "a harness that forges signatures";
    /// The harness's [`Abilities::raw_signing`](super::Abilities::raw_signing).
    pub const RAW_SIGNING: &str = "a harness that signs raw payloads";
}

/// What the cases run against: the harness, the backend's capabilities and the harness's abilities.
pub struct Subject<'a> {
    harness: &'a dyn Harness,
    capabilities: Capabilities,
    abilities: Abilities,
    agreeing: Agreeing<'a>,
}

/// The backend under test as the cases see it: every `authenticate` also asks
/// [`Authenticator::authenticate_now`] first and, when that answers, checks that both answers agree (the
/// same principal, or the same [`ErrorKind`]) — so every case checks both paths on every backend. A
/// disagreement is an [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming both answers, which no case expects.
#[derive(Debug)]
struct Agreeing<'a>(&'a dyn Authenticator);

#[async_trait]
impl Authenticator for Agreeing<'_> {
    async fn authenticate(&self, bearer_token: &str) -> crate::Result<crate::Principal> {
        let now = self.0.authenticate_now(bearer_token);
        let answer = self.0.authenticate(bearer_token).await;
        let agree = match (&now, &answer) {
            (None, _) => true,
            (Some(Ok(a)), Ok(b)) => a == b,
            (Some(Err(a)), Err(b)) => a.kind() == b.kind(),
            _ => false,
        };
        if agree {
            return answer;
        }
        Err(crate::Error::InvalidConfig {
            key: "authenticate_now".into(),
            value: format!("{now:?} (authenticate: {answer:?})"),
            expected: "the answer authenticate gives".into(),
        })
    }

    fn authenticate_now(&self, bearer_token: &str) -> Option<crate::Result<crate::Principal>> {
        self.0.authenticate_now(bearer_token)
    }

    async fn authenticate_introspected(
        &self,
        bearer_token: &str,
    ) -> crate::Result<crate::Principal> {
        self.0.authenticate_introspected(bearer_token).await
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    fn backend(&self) -> &'static str {
        self.0.backend()
    }

    async fn health(&self) -> avb_core::Health {
        self.0.health().await
    }
}

impl<'a> Subject<'a> {
    /// Reads the backend's capabilities and the harness's abilities.
    pub fn new(harness: &'a dyn Harness) -> Self {
        Self {
            harness,
            capabilities: harness.authenticator().capabilities(),
            abilities: harness.abilities(),
            agreeing: Agreeing(harness.authenticator()),
        }
    }

    /// The harness.
    pub fn harness(&self) -> &dyn Harness {
        self.harness
    }

    /// The backend under test.
    pub fn authenticator(&self) -> &dyn Authenticator {
        &self.agreeing
    }
}

impl Capable for Subject<'_> {
    fn has(&self, wanted: &'static str) -> bool {
        match wanted {
            capability::REJECTS_INVALID_TOKENS => self.capabilities.rejects_invalid_tokens,
            capability::ARBITRARY_CLAIMS => self.abilities.arbitrary_claims,
            capability::FORGERIES => self.abilities.forgeries,
            capability::RAW_SIGNING => self.abilities.raw_signing,
            _ => false,
        }
    }
}

macro_rules! case {
    ($name:ident) => {
        Case::new(stringify!($name), |s, c| Box::pin($name(s, c)))
    };
}

/// Every case, in the order the report lists them.
pub fn cases<'a>() -> Vec<Case<Subject<'a>>> {
    use capability::*;
    const CLAIMS: &[&str] = &[REJECTS_INVALID_TOKENS, ARBITRARY_CLAIMS];
    const FORGED: &[&str] = &[REJECTS_INVALID_TOKENS, FORGERIES];
    const RAW: &[&str] = &[REJECTS_INVALID_TOKENS, RAW_SIGNING];
    vec![
        case!(valid_token_accepted),
        case!(valid_token_gives_principal).requires(CLAIMS),
        case!(rejects_expired).requires(CLAIMS),
        case!(rejects_not_yet_valid).requires(CLAIMS),
        case!(rejects_wrong_issuer).requires(CLAIMS),
        case!(rejects_wrong_audience).requires(CLAIMS),
        case!(rejects_alg_none).requires(FORGED),
        case!(rejects_hs256_with_public_key).requires(FORGED),
        case!(rejects_unknown_kid).requires(FORGED),
        case!(rejects_bad_signature).requires(FORGED),
        case!(rejects_missing_workspace).requires(CLAIMS),
        case!(rejects_tampered_payload).requires(&[REJECTS_INVALID_TOKENS]),
        case!(rejects_garbage).requires(&[REJECTS_INVALID_TOKENS]),
        case!(rejects_id_token).requires(CLAIMS),
        case!(rejects_refresh_token).requires(CLAIMS),
        case!(rejects_unmarked_token).requires(CLAIMS),
        case!(accepts_rfc9068_access_token).requires(RAW),
        case!(rejects_crit_header).requires(RAW),
        case!(rejects_unencoded_payload).requires(RAW),
        case!(rejects_duplicate_claims).requires(RAW),
        case!(rejects_trailing_data).requires(RAW),
        case!(rejects_future_iat).requires(CLAIMS),
        case!(repeated_token_same_principal).requires(&[REJECTS_INVALID_TOKENS]),
        case!(rejects_altered_copy_of_accepted_token).requires(&[REJECTS_INVALID_TOKENS]),
    ]
}

/// The runner [`run_all`] uses: 4 cases at once, each within 60 s (a case makes a few tokens and validates
/// them; against a live issuer each is an HTTP round trip).
pub fn runner() -> Runner {
    Runner::new()
        .concurrency(4)
        .timeout(Duration::from_secs(60))
}

/// Runs every case against `harness` with [`runner`]; prints one line per case as it goes.
pub async fn run_all(harness: &dyn Harness) -> Report {
    run_all_with(harness, &runner()).await
}

/// Runs every case against `harness` with `runner` (your concurrency, timeout, declared server gaps).
pub async fn run_all_with(harness: &dyn Harness, runner: &Runner) -> Report {
    runner.run(&Subject::new(harness), &cases()).await
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The harness's token for `claims` signed as `forge`; a harness error stops the case as `[make_token]`.
pub(crate) async fn make(
    s: &Subject<'_>,
    c: &mut Checks,
    claims: Value,
    forge: Forge,
) -> Result<String, avb_conformance::Abort> {
    c.ok("make_token", s.harness.token(claims, forge).await)
}

/// The harness's claims object for `claims`; a harness error stops the case as `[make_token]`.
pub(crate) async fn claims_of(
    s: &Subject<'_>,
    c: &mut Checks,
    claims: Value,
) -> Result<Map<String, Value>, avb_conformance::Abort> {
    c.ok("make_token", s.harness.claims(claims).await)
}

/// `payload` signed raw under `header`; a harness error stops the case as `[make_token]`.
pub(crate) async fn signed_raw(
    s: &Subject<'_>,
    c: &mut Checks,
    header: Value,
    payload: String,
) -> Result<String, avb_conformance::Abort> {
    c.ok("make_token", s.harness.sign_raw(header, payload).await)
}

/// A token made from `claims` and `forge` is refused with `kind` (check `rejected`).
pub(crate) async fn expect_rejected(
    s: &Subject<'_>,
    c: &mut Checks,
    claims: Value,
    forge: Forge,
    kind: ErrorKind,
) -> CaseResult {
    let token = make(s, c, claims, forge).await?;
    expect_token_rejected(s, c, "rejected", &token, kind, "the token").await;
    Ok(())
}

/// `token` is refused with `kind`; a failure is recorded under `label`, naming `what` (the variant), and
/// the case goes on.
pub(crate) async fn expect_token_rejected(
    s: &Subject<'_>,
    c: &mut Checks,
    label: &'static str,
    token: &str,
    kind: ErrorKind,
    what: &str,
) -> bool {
    match s.authenticator().authenticate(token).await {
        Ok(p) => c.check(
            label,
            false,
            format_args!("{what} was accepted as {p:?}, expected {kind}"),
        ),
        Err(e) => c.check_eq(
            label,
            e.kind(),
            kind,
            format_args!("{what} was refused with the wrong error ({e})"),
        ),
    }
}

/// `overrides` merged into `claims`; a `null` value removes the claim.
pub(crate) fn merge(claims: &mut Map<String, Value>, overrides: Value) {
    if let Value::Object(overrides) = overrides {
        for (k, v) in overrides {
            if v.is_null() {
                claims.remove(&k);
            } else {
                claims.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests;
