//! The claims of an access token, parsed in one pass ([`ClaimsSeed`]): the ones the port reads, every
//! other one skipped unparsed, and every name checked for repeats.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

/// The claims the port reads, parsed in one pass; every other claim is skipped unparsed.
#[derive(Default)]
pub(super) struct Claims {
    pub(super) sub: Option<String>,
    pub(super) exp: Option<f64>,
    pub(super) nbf: Option<f64>,
    pub(super) iat: Option<f64>,
    pub(super) typ: Option<String>,
    pub(super) iss: Option<String>,
    pub(super) aud: Vec<String>,
    pub(super) scope: Option<String>,
    pub(super) workspace: Option<Value>,
    pub(super) roles: BTreeSet<String>,
    /// The first claim name seen twice (the whole object is still parsed, so its syntax is checked).
    pub(super) duplicate: Option<String>,
}

#[derive(serde::Deserialize)]
struct Access {
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

pub(super) struct ClaimsSeed<'r> {
    pub(super) workspace_claim: &'r str,
    pub(super) client_id: Option<&'r str>,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Claims, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Claims, A::Error> {
        let mut c = Claims::default();
        // Names seen so far: a token has a dozen or two claims, so a linear scan beats hashing.
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(16);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if seen.contains(&key) {
                if c.duplicate.is_none() {
                    c.duplicate = Some(key.into_owned());
                }
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            match key.as_ref() {
                k if k == self.workspace_claim => c.workspace = Some(map.next_value()?),
                "sub" => c.sub = map.next_value()?,
                "exp" => c.exp = map.next_value()?,
                "nbf" => c.nbf = map.next_value()?,
                "iat" => c.iat = map.next_value()?,
                "typ" => c.typ = map.next_value()?,
                "iss" => c.iss = map.next_value()?,
                "aud" => {
                    c.aud = match map.next_value::<Option<Audience>>()? {
                        Some(Audience::One(a)) => vec![a],
                        Some(Audience::Many(a)) => a,
                        None => Vec::new(),
                    }
                }
                "scope" => c.scope = map.next_value()?,
                "realm_access" => {
                    if let Some(access) = map.next_value::<Option<Access>>()? {
                        c.roles.extend(access.roles);
                    }
                }
                "resource_access" => {
                    let clients = map.next_value_seed(ClientsSeed(self.client_id))?;
                    c.roles.extend(clients.roles);
                    if let Some(client) = clients.duplicate
                        && c.duplicate.is_none()
                    {
                        c.duplicate = Some(format!("resource_access.{client}"));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            seen.push(key);
        }
        Ok(c)
    }
}

/// `resource_access`: the configured client's roles, and the first client named twice (a repeated client
/// would otherwise let the last entry win).
#[derive(Default)]
struct Clients {
    roles: Vec<String>,
    duplicate: Option<String>,
}

struct ClientsSeed<'r>(Option<&'r str>);

impl<'de> DeserializeSeed<'de> for ClientsSeed<'_> {
    type Value = Clients;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Clients, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ClientsSeed<'_> {
    type Value = Clients;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of clients' roles")
    }

    fn visit_unit<E>(self) -> std::result::Result<Clients, E> {
        Ok(Clients::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Clients, A::Error> {
        let mut out = Clients::default();
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Key(client)) = map.next_key::<Key<'de>>()? {
            let access: Access = map.next_value()?;
            if seen.contains(&client) {
                if out.duplicate.is_none() {
                    out.duplicate = Some(client.into_owned());
                }
                continue;
            }
            if self.0 == Some(client.as_ref()) {
                out.roles = access.roles;
            }
            seen.push(client);
        }
        Ok(out)
    }
}
