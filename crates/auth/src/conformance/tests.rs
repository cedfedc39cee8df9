//! The suite against the sandbox backends, and proof that it can fail: a backend that accepts what it
//! should refuse, and a harness that cannot make a token it declared, both fail cases (never skip them).

use super::*;
use crate::local::LocalIssuer;
use crate::none::TrustAll;
use crate::{Principal, Result};
use avb_core::WorkspaceId;

fn trust_all() -> TrustAll {
    TrustAll::new(WorkspaceId::new("sandbox").unwrap(), "dev", ["owner"])
}

fn names() -> Vec<&'static str> {
    cases().iter().map(|c| c.name).collect()
}

#[tokio::test]
async fn local_issuer_passes_every_case_with_the_token_cache_on_and_off() {
    // On (the default): the repeated and altered-copy cases are answered from the cache where they can.
    let harness = LocalHarness(LocalIssuer::ephemeral().unwrap());
    let report = run_all(&harness).await;
    report.assert_exact(&Expect::all());
    assert_eq!(report.passed().len(), 24);
    let cache = harness.0.token_cache().unwrap();
    assert!(
        cache.hits() >= 3,
        "the suite hit the cache {} times",
        cache.hits()
    );
    // Off: every token is validated in full.
    let harness = LocalHarness(LocalIssuer::ephemeral().unwrap().with_token_cache(0));
    assert!(harness.0.token_cache().is_none());
    let report = run_all(&harness).await;
    report.assert_exact(&Expect::all());
    assert_eq!(report.passed().len(), 24);
}

#[tokio::test]
async fn trust_all_passes_the_acceptance_case_and_skips_every_rejection_by_capability() {
    let report = run_all(&TrustAllHarness(trust_all())).await;
    let expect = names()
        .into_iter()
        .filter(|n| *n != "valid_token_accepted")
        .fold(Expect::all(), |e, n| {
            e.skipped(n, capability::REJECTS_INVALID_TOKENS)
        });
    report.assert_exact(&expect);
    assert_eq!(report.passed(), ["valid_token_accepted"]);
    assert_eq!(report.skipped().len(), 23);
}

/// Trust-all that claims to validate: everything it should refuse, it accepts.
#[derive(Debug)]
struct Liar(TrustAll);

#[async_trait]
impl Authenticator for Liar {
    async fn authenticate(&self, token: &str) -> Result<Principal> {
        self.0.authenticate(token).await
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_invalid_tokens: true,
            ..Capabilities::default()
        }
    }
    fn backend(&self) -> &'static str {
        "liar"
    }
}

/// The local issuer's tokens against [`Liar`].
struct LiarHarness(LocalHarness, Liar);

#[async_trait]
impl Harness for LiarHarness {
    fn authenticator(&self) -> &dyn Authenticator {
        &self.1
    }
    fn abilities(&self) -> Abilities {
        self.0.abilities()
    }
    async fn token(&self, claims: Value, forge: Forge) -> Result<String, HarnessError> {
        self.0.token(claims, forge).await
    }
    async fn claims(&self, claims: Value) -> Result<Map<String, Value>, HarnessError> {
        self.0.claims(claims).await
    }
    async fn sign_raw(&self, header: Value, payload: String) -> Result<String, HarnessError> {
        self.0.sign_raw(header, payload).await
    }
}

#[tokio::test]
async fn a_backend_that_accepts_invalid_tokens_fails_every_rejection_case() {
    let harness = LiarHarness(
        LocalHarness(LocalIssuer::ephemeral().unwrap()),
        Liar(trust_all()),
    );
    let report = run_all_with(&harness, &runner().silent()).await;
    // Trust-all does give the same principal for a repeated token; it refuses nothing.
    let passes = ["valid_token_accepted", "repeated_token_same_principal"];
    assert_eq!(report.passed(), passes);
    let failed: Vec<_> = names()
        .into_iter()
        .filter(|n| !passes.contains(n))
        .collect();
    assert_eq!(report.failed(), failed);
    let expired = report.case("rejects_expired").unwrap();
    assert_eq!(expired.failures[0].label, "rejected");
    assert!(
        expired.failures[0].message.contains("was accepted"),
        "{report}"
    );
    assert!(report.diff(&Expect::all()).is_err());
}

/// Declares every ability but cannot sign anything: the cases fail with `[make_token]`.
struct Broken(LocalIssuer);

#[async_trait]
impl Harness for Broken {
    fn authenticator(&self) -> &dyn Authenticator {
        &self.0
    }
    fn abilities(&self) -> Abilities {
        Abilities {
            arbitrary_claims: true,
            forgeries: true,
            raw_signing: true,
        }
    }
    async fn token(&self, _claims: Value, _forge: Forge) -> Result<String, HarnessError> {
        Err("the signing service is down".into())
    }
}

#[tokio::test]
async fn a_harness_that_cannot_make_a_declared_token_fails_the_case_instead_of_skipping_it() {
    let harness = Broken(LocalIssuer::ephemeral().unwrap());
    let report = run_all_with(&harness, &runner().silent()).await;
    assert!(report.skipped().is_empty(), "{report}");
    assert_eq!(report.failed(), names(), "{report}");
    for case in &report.cases {
        assert_eq!(case.failures[0].label, "make_token", "{report}");
    }
}

#[tokio::test]
async fn a_harness_without_an_ability_skips_the_cases_that_need_it_naming_it() {
    /// The local issuer's default token only (like a real issuer's harness).
    struct DefaultsOnly(LocalHarness);
    #[async_trait]
    impl Harness for DefaultsOnly {
        fn authenticator(&self) -> &dyn Authenticator {
            self.0.authenticator()
        }
        fn abilities(&self) -> Abilities {
            Abilities {
                forgeries: true,
                ..Abilities::default()
            }
        }
        async fn token(&self, claims: Value, forge: Forge) -> Result<String, HarnessError> {
            self.0.token(claims, forge).await
        }
    }
    let report = run_all(&DefaultsOnly(LocalHarness(
        LocalIssuer::ephemeral().unwrap(),
    )))
    .await;
    let by_claims = cases()
        .iter()
        .filter(|c| c.requires.contains(&capability::ARBITRARY_CLAIMS))
        .map(|c| c.name)
        .collect::<Vec<_>>();
    assert_eq!(by_claims.len(), 10);
    let mut expect = Expect::all();
    for name in by_claims {
        expect = expect.skipped(name, capability::ARBITRARY_CLAIMS);
    }
    for name in [
        "accepts_rfc9068_access_token",
        "rejects_crit_header",
        "rejects_unencoded_payload",
        "rejects_duplicate_claims",
        "rejects_trailing_data",
    ] {
        expect = expect.skipped(name, capability::RAW_SIGNING);
    }
    report.assert_exact(&expect);
    assert_eq!(report.passed().len(), 9);
}

/// The local issuer (which also mints the tokens) whose `authenticate_now` accepts every token as
/// trust-all's principal: its `authenticate` is right, so only the suite's comparison of the two paths
/// can catch it.
struct SplitBrain(LocalHarness, TrustAll);

impl std::fmt::Debug for SplitBrain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SplitBrain")
    }
}

#[async_trait]
impl Authenticator for SplitBrain {
    async fn authenticate(&self, token: &str) -> Result<Principal> {
        self.0.0.authenticate(token).await
    }
    fn authenticate_now(&self, token: &str) -> Option<Result<Principal>> {
        self.1.authenticate_now(token)
    }
    fn capabilities(&self) -> Capabilities {
        self.0.0.capabilities()
    }
    fn backend(&self) -> &'static str {
        "split-brain"
    }
}

#[async_trait]
impl Harness for SplitBrain {
    fn authenticator(&self) -> &dyn Authenticator {
        self
    }
    fn abilities(&self) -> Abilities {
        self.0.abilities()
    }
    async fn token(&self, claims: Value, forge: Forge) -> Result<String, HarnessError> {
        self.0.token(claims, forge).await
    }
    async fn claims(&self, claims: Value) -> Result<Map<String, Value>, HarnessError> {
        self.0.claims(claims).await
    }
    async fn sign_raw(&self, header: Value, payload: String) -> Result<String, HarnessError> {
        self.0.sign_raw(header, payload).await
    }
}

#[tokio::test]
async fn a_backend_whose_two_paths_disagree_fails_every_case() {
    let harness = SplitBrain(LocalHarness(LocalIssuer::ephemeral().unwrap()), trust_all());
    let report = run_all_with(&harness, &runner().silent()).await;
    // A valid token's principal (the token's subject) is not trust-all's "dev"; every invalid token is
    // refused by one path and accepted by the other.
    assert_eq!(report.passed(), Vec::<&str>::new(), "{report}");
    assert_eq!(report.failed(), names(), "{report}");
    let valid = report.case("valid_token_accepted").unwrap();
    assert!(
        valid.failures[0].message.contains("authenticate_now"),
        "{report}"
    );
}
