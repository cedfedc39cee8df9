//! Turning key material into a [`VerifyKey`]: JWKS entries, the key's fingerprint, and the key parsed once
//! per algorithm for aws-lc-rs.

use super::VerifyKey;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use std::sync::Arc;

/// The aws-lc-rs verification algorithm `jsonwebtoken` (feature `aws_lc_rs`) uses for `alg`.
fn verification_algorithm(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => return None,
    })
}

/// DER `RSAPublicKey` (PKCS#1) of a modulus and an exponent (big-endian, leading zeros allowed).
pub(crate) fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn length(len: usize, out: &mut Vec<u8>) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn integer(value: &[u8], out: &mut Vec<u8>) {
        let value = &value[value.iter().take_while(|b| **b == 0).count()..];
        let pad = value.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        length(value.len() + usize::from(pad), out);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(n, &mut body);
    integer(e, &mut body);
    let mut der = Vec::with_capacity(body.len() + 4);
    der.push(0x30);
    length(body.len(), &mut der);
    der.extend_from_slice(&body);
    der
}

/// `decoding` parsed for each of `algorithms` that aws-lc-rs verifies and accepts it for.
pub(super) fn parse_for(
    decoding: &DecodingKey,
    algorithms: &[Algorithm],
) -> Arc<[(Algorithm, ParsedPublicKey)]> {
    let bytes = match decoding.kind() {
        DecodingKeyKind::SecretOrDer(bytes) => bytes.clone(),
        DecodingKeyKind::RsaModulusExponent { n, e } => rsa_public_key_der(n, e),
    };
    algorithms
        .iter()
        .filter_map(|alg| {
            let parsed = ParsedPublicKey::new(verification_algorithm(*alg)?, &bytes).ok()?;
            Some((*alg, parsed))
        })
        .collect()
}

/// SHA-256 over `parts`, each length-prefixed (so `("ab", "c")` and `("a", "bc")` differ).
pub(crate) fn fingerprint(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

pub(super) fn algorithms_tag(algorithms: &[Algorithm]) -> String {
    format!("{algorithms:?}")
}

#[derive(serde::Deserialize)]
pub(super) struct RawJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

pub(super) fn jwk_to_key(jwk: RawJwk) -> Option<VerifyKey> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let (decoding, family): (DecodingKey, &[Algorithm]) =
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) => (
                DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?,
                &[
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
            ),
            ("EC", Some("P-256")) => (
                DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok()?,
                &[Algorithm::ES256],
            ),
            ("EC", Some("P-384")) => (
                DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok()?,
                &[Algorithm::ES384],
            ),
            ("OKP", Some("Ed25519")) => (
                DecodingKey::from_ed_components(jwk.x.as_deref()?).ok()?,
                &[Algorithm::EdDSA],
            ),
            _ => return None,
        };
    let algorithms = match jwk.alg.as_deref() {
        // A key that names its algorithm verifies that one only — if it fits the key type at all.
        Some(alg) => {
            let alg: Algorithm = alg.parse().ok()?;
            if !family.contains(&alg) {
                return None;
            }
            vec![alg]
        }
        None => family.to_vec(),
    };
    let material = |v: &Option<String>| v.as_deref().unwrap_or_default().as_bytes().to_vec();
    let fingerprint = fingerprint(&[
        b"jwk",
        jwk.kty.as_bytes(),
        &material(&jwk.crv),
        &material(&jwk.n),
        &material(&jwk.e),
        &material(&jwk.x),
        &material(&jwk.y),
        algorithms_tag(&algorithms).as_bytes(),
    ]);
    Some(VerifyKey {
        kid: jwk.kid,
        parsed: parse_for(&decoding, &algorithms),
        algorithms,
        decoding,
        fingerprint,
    })
}
