//! What the nodes of one chat keep in Redis, and the Lua scripts that change it. Each script runs
//! atomically in Redis, so every rule that must hold across nodes is decided there, once: a name is
//! taken by exactly one registration, an id is given to exactly one entry, and an entry is in the log
//! in id order.
//!
//! Keys (all under the hash tag `{confab}`, so they live in one slot):
//! - `log`: a Stream, the chat log. Entry `N-0` is the message with id N (chat lines and
//!   announcements); fields `ts`, `from` + `text` (chat) or `kind` + `name` (announcements), and the
//!   `node` + `sid` it came from.
//! - `seq`: the last id given. `run`: names the id sequence (`welcome.run`).
//! - `names`: folded name → name, one field per registered user on any node.
//! - `members:<node>`: socket id → folded name, the users registered through that node.
//! - `lease:<node>`: exists while the node is alive (it renews the expiry); `nodes`: every node that
//!   holds members. A node whose lease expired is reaped by whichever node notices first: its users
//!   are announced as left and their names freed.
//! - `filed`: a sorted set of file ids, scored by the id of the message each came with, so the files
//!   of messages the log no longer holds can be found (they follow the history, protocol §2.11).

use redis::Script;

pub const PREFIX: &str = "{confab}";
pub const LOG: &str = "{confab}:log";
pub const SEQ: &str = "{confab}:seq";
pub const RUN: &str = "{confab}:run";
pub const NAMES: &str = "{confab}:names";
pub const NODES: &str = "{confab}:nodes";
pub const FILED: &str = "{confab}:filed";

pub fn members_key(node: &str) -> String {
    format!("{PREFIX}:members:{node}")
}

pub fn lease_key(node: &str) -> String {
    format!("{PREFIX}:lease:{node}")
}

/// What [`REGISTER`] and [`POST`] answer besides an id (ids are at least 1).
pub const TAKEN: i64 = 0;
pub const NOT_MEMBER: i64 = 0;
pub const NO_LEASE: i64 = -1;
/// What [`POST`] answers when a private message's addressee is not registered (any more).
pub const NO_RECIPIENT: i64 = -2;

/// KEYS: seq, log, names, members:<node>, lease:<node>. ARGV: sid, folded name, name, ts, max log
/// length, node. Answers the join announcement's id, [`TAKEN`], or [`NO_LEASE`] when this node was
/// reaped (it must renew its lease first).
pub fn register() -> Script {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[5]) == 0 then return -1 end
        if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 0 then return 0 end
        redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
        local id = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], id .. '-0',
            'ts', ARGV[4], 'kind', 'join', 'name', ARGV[3], 'node', ARGV[6], 'sid', ARGV[1])
        return id
        ",
    )
}

/// KEYS: seq, log, members:<node>, names, filed. ARGV: sid, from, text, ts, max log length, node, for
/// a private message the addressee's folded name and name (else empty), the attachment's JSON and
/// its file id (else empty). Answers the message's id,
/// [`NOT_MEMBER`] when the sender's registration is gone (its node was reaped), or
/// [`NO_RECIPIENT`] when the addressee is not registered.
pub fn post() -> Script {
    Script::new(
        r"
        if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return 0 end
        if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[7]) == 0 then return -2 end
        local id = redis.call('INCR', KEYS[1])
        local fields = {'ts', ARGV[4], 'from', ARGV[2], 'text', ARGV[3], 'node', ARGV[6], 'sid', ARGV[1]}
        if ARGV[7] ~= '' then
            table.insert(fields, 'to')
            table.insert(fields, ARGV[8])
        end
        if ARGV[9] ~= '' then
            table.insert(fields, 'attachment')
            table.insert(fields, ARGV[9])
            redis.call('ZADD', KEYS[5], id, ARGV[10])
        end
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], id .. '-0', unpack(fields))
        return id
        ",
    )
}

/// KEYS: seq, log, names, members:<node>. ARGV: sid, ts, max log length, node. Frees the socket's
/// name and answers the leave announcement's id, or 0 when it held none (any more).
pub fn leave() -> Script {
    Script::new(
        r"
        local key = redis.call('HGET', KEYS[4], ARGV[1])
        if not key then return 0 end
        local name = redis.call('HGET', KEYS[3], key) or key
        redis.call('HDEL', KEYS[4], ARGV[1])
        redis.call('HDEL', KEYS[3], key)
        local id = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-0',
            'ts', ARGV[2], 'kind', 'leave', 'name', name, 'node', ARGV[4], 'sid', ARGV[1])
        return id
        ",
    )
}

/// KEYS: lease:<node>, nodes, seq, log, names. ARGV: node, lease ms, ts, max log length, key prefix.
/// Renews this node's lease, then reaps every node whose lease expired: each of its users is
/// announced as left and its name freed. Answers how many users were reaped.
pub fn renew_and_reap() -> Script {
    Script::new(
        r"
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[1])
        local reaped = 0
        for _, node in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            if redis.call('EXISTS', ARGV[5] .. ':lease:' .. node) == 0 then
                local members_key = ARGV[5] .. ':members:' .. node
                local members = redis.call('HGETALL', members_key)
                for i = 1, #members, 2 do
                    local name = redis.call('HGET', KEYS[5], members[i + 1]) or members[i + 1]
                    redis.call('HDEL', KEYS[5], members[i + 1])
                    local id = redis.call('INCR', KEYS[3])
                    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], id .. '-0',
                        'ts', ARGV[3], 'kind', 'leave', 'name', name, 'node', node, 'sid', members[i])
                    reaped = reaped + 1
                end
                redis.call('DEL', members_key)
                redis.call('SREM', KEYS[2], node)
            end
        end
        return reaped
        ",
    )
}

/// KEYS: log, filed. The ids of the files whose messages are older than the log's oldest entry (it
/// was trimmed), taken out of `filed` at once, so each goes to exactly one node to delete.
pub fn forgotten_files() -> Script {
    Script::new(
        r"
        local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
        if #oldest == 0 then return {} end
        local below = '(' .. string.match(oldest[1][1], '^(%d+)')
        local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', below)
        if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', below) end
        return gone
        ",
    )
}

/// KEYS: seq, names, run. ARGV: a new run name. Where a node starts reading: the run (set by the
/// first node ever), the last id, and every registered name, all at one instant.
pub fn snapshot() -> Script {
    Script::new(
        r"
        redis.call('SET', KEYS[3], ARGV[1], 'NX')
        return {redis.call('GET', KEYS[3]), tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HVALS', KEYS[2])}
        ",
    )
}
