//! The registry of every variable avb reads: name, allowed values, default and meaning.
//!
//! This table is the single source for three things: the resolver's "unknown `AVB_*` variable" check, the
//! `avb vars` command, and the README's variable table (a test fails when the README drifts from it).

/// One documented variable.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The variable's name.
    pub name: &'static str,
    /// The port or area it belongs to (`mode`, `event bus`, …).
    pub area: &'static str,
    /// Allowed values or value shape.
    pub values: &'static str,
    /// Default, or when it is required.
    pub default: &'static str,
    /// What it does.
    pub meaning: &'static str,
    /// Whether the value is a secret (never shown in summaries, JSON, logs or errors).
    pub secret: bool,
}

const fn key(
    name: &'static str,
    area: &'static str,
    values: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        area,
        values,
        default,
        meaning,
        secret: false,
    }
}

const fn secret(
    name: &'static str,
    area: &'static str,
    values: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        area,
        values,
        default: "unset",
        meaning,
        secret: true,
    }
}

impl Key {
    /// Whether the value is a URL, as the `values` column says ("URL"): errors and the summary show such a
    /// value only with its userinfo, query values and fragment hidden, and nothing of it but its scheme
    /// when it cannot be parsed. A variable added later with "URL" in its `values` is covered.
    pub fn is_url(&self) -> bool {
        self.values.contains("URL")
    }

    /// Whether the value is a URL or a network address (`host:port` list). An address is shown as written
    /// unless it carries `@` or `://` (then as a URL).
    pub fn is_address(&self) -> bool {
        self.is_url() || self.values.contains("host:port")
    }
}

/// Prefix of variables owned by the test harness (`scripts/services env`); the resolver ignores them.
pub const TEST_PREFIX: &str = "AVB_TEST_";

/// Every variable avb reads, in documentation order.
pub const KEYS: &[Key] = &[
    key(
        "AVB_ENV",
        "mode",
        "`development`, `staging`, `production`",
        "`development`",
        "Deployment environment. Wins over `DJANGO_ENV` when both are set.",
    ),
    key(
        "DJANGO_ENV",
        "mode",
        "as `AVB_ENV`",
        "unset",
        "Alias of `AVB_ENV`, read only when `AVB_ENV` is unset.",
    ),
    key(
        "AVB_DEV_MODE",
        "mode",
        "`sandbox`, `live`",
        "`sandbox`",
        "Backend family. Read only in `development`; staging and production are always `live` (the summary says it was ignored).",
    ),
    key(
        "AVB_DOTENV_DIR",
        "mode",
        "directory",
        "current directory",
        "Where the facade looks for `.env.sandbox` / `.env.live` (chosen by the mode; the process environment wins over the file).",
    ),
    key(
        "EVENT_BUS",
        "event bus",
        "`memory`, `redis`, `kafka`, `pulsar`",
        "sandbox: `memory`; live: `pulsar`",
        "EventBus backend. `memory` is sandbox-only.",
    ),
    key(
        "REDIS_URL",
        "event bus",
        "`redis://`, `rediss://`, `redis+unix://`, `unix://` URL",
        "required for `EVENT_BUS=redis`",
        "Redis server for the Streams backend. Userinfo is redacted everywhere.",
    ),
    key(
        "EVENT_BUS_ACK_TIMEOUT_MS",
        "event bus",
        "milliseconds, an integer >= 10",
        "`30000`",
        "A delivery neither acked nor nacked within this time is delivered again (`memory`, `redis`).",
    ),
    key(
        "EVENT_BUS_MAX_ATTEMPTS",
        "event bus",
        "an integer >= 1",
        "`5`",
        "Hand-outs of a message to the application within a consumer group (read-ahead never counts) before it moves to the dead-letter topic `<topic>.dlq` (`memory`, `redis`).",
    ),
    key(
        "EVENT_BUS_MAX_LEN",
        "event bus",
        "an integer >= 1, or `none`",
        "`100000`",
        "Messages retained per topic: Redis trims each stream with `XADD MAXLEN ~` (a group lagging further loses the oldest); memory keeps this many for new `earliest` groups. `none` keeps everything.",
    ),
    key(
        "KAFKA_BOOTSTRAP_SERVERS",
        "event bus",
        "`host:port[,host:port…]`",
        "required for `EVENT_BUS=kafka`",
        "Kafka bootstrap brokers.",
    ),
    key(
        "PULSAR_URL",
        "event bus",
        "`pulsar://` or `pulsar+ssl://` URL",
        "required for `EVENT_BUS=pulsar`",
        "Pulsar broker service URL.",
    ),
    secret(
        "PULSAR_TOKEN",
        "event bus",
        "token",
        "Pulsar authentication token (optional).",
    ),
    key(
        "AUTH_MODE",
        "auth",
        "`none`, `local`, `keycloak` (alias `oidc`)",
        "sandbox: `none`; live: `keycloak`",
        "Auth backend. `none` (trust-all) and `local` (dev-key issuer) are sandbox-only.",
    ),
    key(
        "AVB_SANDBOX_WORKSPACE",
        "auth",
        "workspace id",
        "`sandbox`",
        "Workspace every request gets under `AUTH_MODE=none`.",
    ),
    key(
        "AVB_SANDBOX_SUBJECT",
        "auth",
        "subject",
        "`sandbox-user`",
        "Subject every request gets under `AUTH_MODE=none`.",
    ),
    key(
        "OIDC_ISSUER_URL",
        "auth",
        "`http(s)://` URL",
        "required for `AUTH_MODE=keycloak` unless `KEYCLOAK_URL` is set",
        "OIDC issuer; discovery is read from `<issuer>/.well-known/openid-configuration`.",
    ),
    key(
        "KEYCLOAK_URL",
        "auth",
        "`http(s)://` URL",
        "unset",
        "Keycloak base URL; with `KEYCLOAK_REALM` gives the issuer `<url>/realms/<realm>`. Set this pair or `OIDC_ISSUER_URL`, not both.",
    ),
    key(
        "KEYCLOAK_REALM",
        "auth",
        "realm name",
        "required with `KEYCLOAK_URL`",
        "Keycloak realm.",
    ),
    key(
        "OIDC_AUDIENCE",
        "auth",
        "`aud` value",
        "required for `AUTH_MODE=keycloak`",
        "The audience this service's access tokens must carry (Keycloak: the client id or an audience mapper's value).",
    ),
    key(
        "OIDC_CLIENT_ID",
        "auth",
        "client id",
        "unset",
        "This service's client: its `resource_access.<client>.roles` count as roles, and with `OIDC_CLIENT_SECRET` it gets tokens for outgoing calls (client credentials).",
    ),
    secret(
        "OIDC_CLIENT_SECRET",
        "auth",
        "client secret",
        "Secret of `OIDC_CLIENT_ID` for the client-credentials grant (optional).",
    ),
    key(
        "AUTH_WORKSPACE_CLAIM",
        "auth",
        "claim name, not a reserved one (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `typ`, `azp`, `scope`, `realm_access`, `resource_access`)",
        "`workspace_id`",
        "Access-token claim holding the workspace id; a token without it is rejected.",
    ),
    key(
        "AUTH_LEEWAY_SECONDS",
        "auth",
        "integer 0-300",
        "`30`",
        "Clock-skew allowance for `exp`, `nbf` and `iat`.",
    ),
    key(
        "OIDC_JWKS_MIN_REFRESH_SECONDS",
        "auth",
        "integer 1-3600",
        "`10`",
        "Least time between two JWKS fetches triggered by unknown `kid`s (rate limit against `kid` floods).",
    ),
    key(
        "OIDC_JWKS_MAX_AGE_SECONDS",
        "auth",
        "integer 10-86400",
        "`300`",
        "Cached JWKS older than this is refetched at the next validation, so keys the issuer removed stop validating.",
    ),
    key(
        "OIDC_ALLOWED_ORIGINS",
        "auth",
        "comma-separated `http(s)://host[:port]` origins",
        "unset (the issuer's origin only)",
        "Origins besides the issuer's on which its discovery document may place `jwks_uri` and `token_endpoint` (e.g. a Keycloak back-channel host). Unset: an endpoint elsewhere fails startup.",
    ),
    key(
        "OIDC_INTROSPECTION",
        "auth",
        "`off`, `all` or `per_route`",
        "`off`",
        "Token introspection (RFC 7662): besides offline validation, ask the issuer's `introspection_endpoint` whether a token is still active (a logout or a disabled user then counts at once) — for every token (`all`) or only on routes behind `AuthLayer::introspected` (`per_route`). Calls as `OIDC_CLIENT_ID`/`OIDC_CLIENT_SECRET` (required then); Keycloak 26 answers inactive to a client not in the token's audience, so use the audience's client.",
    ),
    key(
        "OIDC_INTROSPECTION_CACHE_SECONDS",
        "auth",
        "integer 0-300",
        "`5`",
        "How long an introspection answer is reused (never past the token's `exp`; at most 10 000 answers cached).",
    ),
    key(
        "AVB_AUTH_DEV_KEY_FILE",
        "auth",
        "path",
        "`.avb/auth/dev-key.pem`",
        "Development RSA key of `AUTH_MODE=local`; created (mode 0600) on first use and shared by `avb token` and services.",
    ),
    key(
        "OBJECT_STORE",
        "object store",
        "`memory`, `fs`, `s3`",
        "sandbox: `memory`; live: `s3`",
        "ObjectStore backend. `memory` is sandbox-only.",
    ),
    key(
        "OBJECT_STORE_DIR",
        "object store",
        "directory",
        "sandbox: `.avb/objects`; live: required for `fs`",
        "Root directory of the `fs` backend.",
    ),
    key(
        "OBJECT_STORE_BUCKET",
        "object store",
        "bucket name",
        "required for `OBJECT_STORE=s3`",
        "Bucket of the `s3` backend.",
    ),
    key(
        "AWS_ENDPOINT_URL",
        "object store",
        "`http(s)://` URL",
        "unset (AWS)",
        "S3 endpoint: MinIO, GCS (`https://storage.googleapis.com`) or AWS, with no code change.",
    ),
    key(
        "AWS_REGION",
        "object store",
        "region",
        "unset: with `AWS_ENDPOINT_URL` and static credentials `us-east-1`; else the AWS SDK's chain (with an endpoint, falling back to `us-east-1`)",
        "S3 region (`avb mode` states the one used).",
    ),
    secret(
        "AWS_ACCESS_KEY_ID",
        "object store",
        "key id",
        "Static S3 credentials; set with `AWS_SECRET_ACCESS_KEY` or neither (then the AWS SDK's chain).",
    ),
    secret(
        "AWS_SECRET_ACCESS_KEY",
        "object store",
        "secret key",
        "Static S3 credentials; set with `AWS_ACCESS_KEY_ID`.",
    ),
    key(
        "OBJECT_STORE_S3_PROFILE",
        "object store",
        "`aws`, `gcs`, `generic`",
        "from `AWS_ENDPOINT_URL`: unset or `*.amazonaws.com` → `aws`, `storage.googleapis.com` → `gcs`, else `generic`",
        "Which S3 implementation the endpoint is; decides the defaults below and the GCS workarounds (checksums only when required, no conditional create; every profile sends `Content-Length: 0` on body-less PUT/POST, which GCS requires).",
    ),
    key(
        "OBJECT_STORE_S3_PATH_STYLE",
        "object store",
        "`true`, `false`",
        "`false` for `aws`, `true` otherwise",
        "Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted (`bucket.endpoint/key`).",
    ),
    key(
        "OBJECT_STORE_S3_CHECKSUMS",
        "object store",
        "`when_required`, `when_supported`",
        "`when_supported` for `aws`, `when_required` otherwise",
        "When the S3 client sends request checksums and validates response checksums. GCS rejects the flexible-checksum headers: `gcs` requires `when_required`.",
    ),
    key(
        "OBJECT_STORE_S3_PREFIX",
        "object store",
        "key segments, e.g. `avb/prod`",
        "unset (bucket root)",
        "Every key lives under this prefix in the bucket (shares one bucket between deployments).",
    ),
    key(
        "DATA_CATALOG",
        "catalog",
        "`json`, `openmetadata`",
        "sandbox: `json`; live: `openmetadata`",
        "Catalog backend.",
    ),
    key(
        "DATA_CATALOG_FILE",
        "catalog",
        "path",
        "sandbox: `stub-catalog.json`; live: required for `json`",
        "The JSON catalog file (methods + ontology).",
    ),
    key(
        "OPENMETADATA_URL",
        "catalog",
        "`http(s)://` URL",
        "required for `DATA_CATALOG=openmetadata`",
        "OpenMetadata server (the API root, e.g. `http://host:8585/api`).",
    ),
    secret(
        "OPENMETADATA_TOKEN",
        "catalog",
        "JWT",
        "OpenMetadata bot token (optional).",
    ),
    key(
        "LLM_PROVIDER",
        "llm",
        "`mock`, `openai`, `ollama`",
        "sandbox: `mock`; live: `ollama`",
        "LLM backend. `mock` (the offline model) is sandbox-only.",
    ),
    key(
        "LLM_API_URL",
        "llm",
        "`http(s)://` URL",
        "required for `openai` and `ollama`",
        "Base URL of the OpenAI-compatible API (Ollama: `http://host:11434`).",
    ),
    secret(
        "LLM_API_KEY",
        "llm",
        "API key",
        "API key (optional; Groq and OpenAI need one).",
    ),
    key(
        "LLM_MODEL",
        "llm",
        "model name",
        "required for `openai` and `ollama`",
        "Model used for chat and embeddings.",
    ),
    key(
        "AVB_TEST_REQUIRE_LIVE",
        "tests",
        "`1` or unset",
        "unset",
        "Tests only: a live test whose server is missing fails instead of skipping (`scripts/test` sets it).",
    ),
    key(
        "AVB_TEST_REDIS_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's Redis (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_OIDC_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's OIDC provider issuer, `http://127.0.0.1:18080/realms/avb` (`scripts/services env`); any `/realms/<name>` there is a separate realm with its own keys.",
    ),
    key(
        "AVB_TEST_S3_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's S3 server, s3s-fs (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_S3_ACCESS_KEY",
        "tests",
        "key id",
        "unset",
        "Tests only: access key of the harness's S3 server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_S3_SECRET_KEY",
        "tests",
        "secret key",
        "unset",
        "Tests only: secret key of the harness's S3 server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_S3_BUCKET",
        "tests",
        "bucket name",
        "unset",
        "Tests only: the bucket the harness's S3 server creates for tests.",
    ),
    key(
        "AVB_TEST_MOTO_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's second S3 server, moto (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_MOTO_BUCKET",
        "tests",
        "bucket name",
        "unset",
        "Tests only: the bucket the harness's moto server creates for tests.",
    ),
    key(
        "AVB_TEST_KEYCLOAK_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: issuer of the harness's Keycloak realm `avb` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_KEYCLOAK_ADMIN",
        "tests",
        "user:password",
        "unset",
        "Tests only: the harness Keycloak's bootstrap admin, for admin REST calls (a loopback test credential).",
    ),
    key(
        "AVB_TEST_MINIO_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's MinIO server, built from its Go module (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_MINIO_ACCESS_KEY",
        "tests",
        "key id",
        "unset",
        "Tests only: root user of the harness's MinIO server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_MINIO_SECRET_KEY",
        "tests",
        "secret key",
        "unset",
        "Tests only: root password of the harness's MinIO server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_MINIO_BUCKET",
        "tests",
        "bucket name",
        "unset",
        "Tests only: the bucket the harness's MinIO server creates for tests.",
    ),
    key(
        "AVB_TEST_REDIS_SERVER_BIN",
        "tests",
        "path",
        "unset",
        "Tests only: the `redis-server` binary for fault tests that run and restart a private server (`scripts/services env`).",
    ),
];

/// Looks a variable up by name.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Whether the value of `name` is a secret.
pub fn is_secret(name: &str) -> bool {
    find(name).is_some_and(|k| k.secret)
}

/// The closest known variable to an unknown one, when it is plausibly a typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (edit_distance(name, k.name), k.name))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The README's variable table, generated from [`KEYS`].
pub fn markdown_table() -> String {
    let mut out =
        String::from("| variable | area | values | default | meaning |\n|---|---|---|---|---|\n");
    for k in KEYS {
        let meaning = if k.secret {
            format!("{} Secret: always redacted.", k.meaning)
        } else {
            k.meaning.to_string()
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            k.name, k.area, k.values, k.default, meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        for (i, k) in KEYS.iter().enumerate() {
            assert!(
                KEYS[i + 1..].iter().all(|o| o.name != k.name),
                "{} listed twice",
                k.name
            );
        }
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(suggest("AVB_DEV_MOD"), Some("AVB_DEV_MODE"));
        assert_eq!(suggest("AVB_ENVV"), Some("AVB_ENV"));
        assert_eq!(suggest("AVB_COMPLETELY_DIFFERENT"), None);
    }
}
