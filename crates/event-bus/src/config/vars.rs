//! The EventBus variables: each described once (the registry, `avb vars` and the README table are made from
//! these constants).

use avb_core::config::keys::{Key, key, secret};

/// `EVENT_BUS`.
pub const EVENT_BUS: Key = key(
    "EVENT_BUS",
    "event bus",
    "`memory`, `redis`, `kafka`, `pulsar`",
    "sandbox: `memory`; live: `pulsar`",
    "EventBus backend. `memory` is sandbox-only.",
);

/// `REDIS_URL`.
pub const REDIS_URL: Key = key(
    "REDIS_URL",
    "event bus",
    "`redis://`, `rediss://`, `redis+unix://`, `unix://` URL",
    "required for `EVENT_BUS=redis`",
    "Redis server for the Streams backend. Userinfo is redacted everywhere.",
);

/// `EVENT_BUS_ACK_TIMEOUT_MS`.
pub const EVENT_BUS_ACK_TIMEOUT_MS: Key = key(
    "EVENT_BUS_ACK_TIMEOUT_MS",
    "event bus",
    "milliseconds, an integer >= 10",
    "`30000`",
    "A delivery neither acked nor nacked within this time is delivered again (`memory`, `redis`).",
);

/// `EVENT_BUS_MAX_ATTEMPTS`.
pub const EVENT_BUS_MAX_ATTEMPTS: Key = key(
    "EVENT_BUS_MAX_ATTEMPTS",
    "event bus",
    "an integer >= 1",
    "`5`",
    "Hand-outs of a message to the application within a consumer group (read-ahead never counts) before it moves to the dead-letter topic `<topic>.dlq` (`memory`, `redis`).",
);

/// `EVENT_BUS_MAX_LEN`.
pub const EVENT_BUS_MAX_LEN: Key = key(
    "EVENT_BUS_MAX_LEN",
    "event bus",
    "an integer >= 1, or `none`",
    "`100000`",
    "Messages retained per topic: Redis trims each stream with `XADD MAXLEN ~` (a group lagging further loses the oldest); memory keeps this many for new `earliest` groups. `none` keeps everything.",
);

/// `KAFKA_BOOTSTRAP_SERVERS`.
pub const KAFKA_BOOTSTRAP_SERVERS: Key = key(
    "KAFKA_BOOTSTRAP_SERVERS",
    "event bus",
    "`host:port[,host:port…]`",
    "required for `EVENT_BUS=kafka`",
    "Kafka bootstrap brokers.",
);

/// `PULSAR_URL`.
pub const PULSAR_URL: Key = key(
    "PULSAR_URL",
    "event bus",
    "`pulsar://` or `pulsar+ssl://` URL",
    "required for `EVENT_BUS=pulsar`",
    "Pulsar broker service URL.",
);

/// `PULSAR_TOKEN`.
pub const PULSAR_TOKEN: Key = secret(
    "PULSAR_TOKEN",
    "event bus",
    "token",
    "Pulsar authentication token (optional).",
);

/// Every variable of the port, in documentation order.
pub const VARS: &[Key] = &[
    EVENT_BUS,
    REDIS_URL,
    EVENT_BUS_ACK_TIMEOUT_MS,
    EVENT_BUS_MAX_ATTEMPTS,
    EVENT_BUS_MAX_LEN,
    KAFKA_BOOTSTRAP_SERVERS,
    PULSAR_URL,
    PULSAR_TOKEN,
];
