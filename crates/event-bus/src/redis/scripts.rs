//! The Lua scripts the Redis backend runs (atomic on the server; sent as `EVALSHA`, loaded on `NOSCRIPT`).
//!
//! - [`PUBLISH`]: idempotent publish. Per message, `GET <stream>:dedupe:<id>`: when set, the message was
//!   published within the dedupe window and is skipped; else `XADD` and `SET <stream>:dedupe:<id>
//!   <entry id> PX <window>`. One script call for a whole batch.
//! - [`EXTEND`]: lease extension. When the entry is still pending for this consumer with the delivery's
//!   attempt as its delivery counter (its lease has not been claimed by anyone since), `XCLAIM <id> IDLE
//!   <ack_timeout - duration> JUSTID` to the same consumer (min-idle 0): its idle time restarts, so
//!   `XAUTOCLAIM` (min-idle = the ack timeout) leaves it alone for `duration`. `JUSTID` leaves the
//!   delivery counter as it is. Returns 1, or 0 when the lease was lost.
//! - [`NACK`]: the same holder check, then the last error and the backoff's attempt recorded and the entry
//!   made due after the delay (`XCLAIM … IDLE <ack_timeout - delay>`). A stale receipt (the lease lapsed and
//!   the entry went to another consumer or attempt) changes nothing: it returns 0 and must not take the
//!   entry back from its new holder.
//! - [`DEAD_LETTER`]: optionally the same holder check, then `XADD` to the dead-letter stream, `XACK` and
//!   the errors hash cleaned — atomically, so a stale receipt never dead-letters a message another
//!   consumer is working on.
//! - [`CREATE_AT_END`]: a `Latest` group created with `ENTRIESREAD`, so its lag is known from the start.

use super::map_err;
use crate::Result;
use redis::aio::ConnectionManager;
use std::sync::{Mutex, PoisonError};

/// A Lua script, run with `EVALSHA` (its SHA1 learnt from `SCRIPT LOAD`; loaded again after `NOSCRIPT`,
/// e.g. when the server restarted).
pub(super) struct Lua {
    source: &'static str,
    sha: Mutex<Option<String>>,
    what: &'static str,
}

impl Lua {
    const fn new(what: &'static str, source: &'static str) -> Self {
        Self {
            source,
            sha: Mutex::new(None),
            what,
        }
    }

    fn known_sha(&self) -> Option<String> {
        self.sha
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn load(&self, conn: &mut ConnectionManager) -> Result<String> {
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(self.source)
            .query_async(conn)
            .await
            .map_err(|e| map_err(e, "SCRIPT LOAD"))?;
        *self.sha.lock().unwrap_or_else(PoisonError::into_inner) = Some(sha.clone());
        Ok(sha)
    }

    /// Runs the script with `keys` and `args` (each a list of byte strings).
    pub(super) async fn run<T: redis::FromRedisValue>(
        &self,
        conn: &mut ConnectionManager,
        keys: &[Vec<u8>],
        args: &[Vec<u8>],
    ) -> Result<T> {
        let cmd = |sha: &str| {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(sha).arg(keys.len());
            for k in keys {
                cmd.arg(k.as_slice());
            }
            for a in args {
                cmd.arg(a.as_slice());
            }
            cmd
        };
        let sha = match self.known_sha() {
            Some(sha) => sha,
            None => self.load(conn).await?,
        };
        match cmd(&sha).query_async(conn).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                let sha = self.load(conn).await?;
                cmd(&sha)
                    .query_async(conn)
                    .await
                    .map_err(|e| map_err(e, self.what))
            }
            other => other.map_err(|e| map_err(e, self.what)),
        }
    }
}

/// `KEYS`: the stream, then one dedupe key per message. `ARGV`: the window in ms (0: no dedupe), `MAXLEN ~`
/// (empty: no trimming), then per message its field count and its fields. Returns the number of entries
/// added.
pub(super) static PUBLISH: Lua = Lua::new(
    "XADD (publish script)",
    r"
local window = tonumber(ARGV[1])
local maxlen = ARGV[2]
local at = 3
local added = 0
for m = 2, #KEYS do
  local n = tonumber(ARGV[at])
  at = at + 1
  if window > 0 and redis.call('EXISTS', KEYS[m]) == 1 then
    at = at + n
  else
    local args = {KEYS[1]}
    if maxlen ~= '' then
      args[#args + 1] = 'MAXLEN'
      args[#args + 1] = '~'
      args[#args + 1] = maxlen
    end
    args[#args + 1] = '*'
    for i = at, at + n - 1 do
      args[#args + 1] = ARGV[i]
    end
    at = at + n
    local id = redis.call('XADD', unpack(args))
    if window > 0 then
      redis.call('SET', KEYS[m], id, 'PX', window)
    end
    added = added + 1
  end
end
return added
",
);

/// `KEYS`: the stream. `ARGV`: group, consumer, entry id, attempt, idle ms.
pub(super) static EXTEND: Lua = Lua::new(
    "XCLAIM (extend script)",
    r"
local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
local row = rows[1]
if not row or row[2] ~= ARGV[2] or tonumber(row[4]) ~= tonumber(ARGV[4]) then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')
return 1
",
);

/// `KEYS`: the stream, its group's errors hash. `ARGV`: group, consumer, entry id, attempt, idle ms, the
/// last error, the backoff field. Returns 1, or 0 for a stale receipt (nothing changed).
pub(super) static NACK: Lua = Lua::new(
    "XCLAIM (nack script)",
    r"
local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
local row = rows[1]
if not row or row[2] ~= ARGV[2] or tonumber(row[4]) ~= tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[6], ARGV[7], ARGV[4])
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')
return 1
",
);

/// `KEYS`: the stream, the dead-letter stream, the group's errors hash. `ARGV`: group, consumer (empty: no
/// holder check), entry id, attempt, `MAXLEN ~` (empty: no trimming), the backoff field, then the dead
/// letter's fields and values. Returns 1, or 0 for a stale receipt (nothing changed).
pub(super) static DEAD_LETTER: Lua = Lua::new(
    "XADD (dead-letter script)",
    r"
if ARGV[2] ~= '' then
  local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
  local row = rows[1]
  if not row or row[2] ~= ARGV[2] or tonumber(row[4]) ~= tonumber(ARGV[4]) then
    return 0
  end
end
local args = {KEYS[2]}
if ARGV[5] ~= '' then
  args[#args + 1] = 'MAXLEN'
  args[#args + 1] = '~'
  args[#args + 1] = ARGV[5]
end
args[#args + 1] = '*'
for i = 7, #ARGV do
  args[#args + 1] = ARGV[i]
end
redis.call('XADD', unpack(args))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('HDEL', KEYS[3], ARGV[3], ARGV[6])
return 1
",
);

/// Creates a group at the end of the stream (`StartPosition::Latest`) with `ENTRIESREAD` set to the
/// stream's `entries-added` (Redis ≥ 7.0), atomically: without it Redis cannot tell the group's lag
/// (`XINFO GROUPS` answers nil) until the group first reads, so a group whose consumers died before
/// reading anything would have no lag at all. `KEYS`: the stream. `ARGV`: the group. Returns 1 when
/// created, 0 when the group exists.
pub(super) static CREATE_AT_END: Lua = Lua::new(
    "XGROUP CREATE $ (group script)",
    r"
local key = KEYS[1]
local group = ARGV[1]
local added = 0
if redis.call('EXISTS', key) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    for i = 1, #g, 2 do
      if g[i] == 'name' and g[i + 1] == group then return 0 end
    end
  end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then added = info[i + 1] end
  end
end
redis.call('XGROUP', 'CREATE', key, group, '$', 'MKSTREAM', 'ENTRIESREAD', added)
return 1
",
);
