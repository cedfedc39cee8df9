//! The harnesses of the sandbox backends: the local issuer (it makes every token the suite asks for) and
//! trust-all (it has nothing to make: any string is a token).

use super::{Abilities, Forge, Harness, HarnessError, merge};
use crate::Authenticator;
use crate::local::{LocalIssuer, Signing};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::time::Duration;

/// The harness for the local issuer: signs with the dev key, a rogue key, or none; any claims; raw
/// payloads.
#[derive(Debug)]
pub struct LocalHarness(pub LocalIssuer);

#[async_trait]
impl Harness for LocalHarness {
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

    async fn token(&self, overrides: Value, forge: Forge) -> Result<String, HarnessError> {
        let claims = self.claims(overrides).await?;
        let signing = match forge {
            Forge::Valid => Signing::Valid,
            Forge::RogueKey => Signing::Rogue,
            Forge::Hs256WithPublicKey => Signing::Hs256WithPublicKey,
            Forge::AlgNone => Signing::None,
            Forge::UnknownKid => Signing::Kid("never-published".into()),
        };
        Ok(self.0.sign(&claims, &signing)?)
    }

    async fn claims(&self, overrides: Value) -> Result<Map<String, Value>, HarnessError> {
        let mut claims = self.0.claims("user-1", "ws-test", Duration::from_secs(300));
        merge(&mut claims, overrides);
        Ok(claims)
    }

    async fn sign_raw(&self, header: Value, payload: String) -> Result<String, HarnessError> {
        let Value::Object(header) = header else {
            return Err(format!("a JWS header is a JSON object, not {header}").into());
        };
        Ok(self.0.sign_raw(&header, payload.as_bytes())?)
    }
}

/// The harness for trust-all: it cannot mint anything meaningful, so its one token is an arbitrary string
/// (declares no ability; only the cases every backend runs apply).
#[derive(Debug)]
pub struct TrustAllHarness(pub crate::none::TrustAll);

#[async_trait]
impl Harness for TrustAllHarness {
    fn authenticator(&self) -> &dyn Authenticator {
        &self.0
    }

    fn abilities(&self) -> Abilities {
        Abilities::default()
    }

    async fn token(&self, _claims: Value, _forge: Forge) -> Result<String, HarnessError> {
        Ok("any-token".into())
    }
}
