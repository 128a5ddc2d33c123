//! `Mutation`: a write, fully determined before it reaches the log.
//!
//! Everything non-deterministic is fixed by the proposer: relative expiries become absolute
//! Unix milliseconds, and the proposal carries the `now` every replica uses to judge
//! expiry while applying. Values computed from stored data (`INCR`, `APPEND`) are computed at
//! apply time, so every replica that applies the same log reaches the same state.

use bytes::Bytes;

/// A mutation with the clock reading it is applied under.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Proposal {
    /// Proposer's clock, Unix milliseconds.
    pub now: u64,
    /// What to change.
    pub mutation: Mutation,
}

/// When a `SET`-like write applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// Always (plain `SET`).
    Always,
    /// Only if the key does not exist (`NX`).
    IfAbsent,
    /// Only if the key exists (`XX`).
    IfPresent,
}

/// What a `SET` does to the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SetExpiry {
    /// Remove any TTL.
    Clear,
    /// Keep the current TTL (`KEEPTTL`).
    Keep,
    /// Expire at this absolute Unix time in ms.
    At(u64),
}

/// How a `SET`-family command replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SetReply {
    /// `+OK`, or nil when the condition failed (`SET`).
    Ok,
    /// `:1` if set, `:0` if not (`SETNX`).
    Flag,
    /// The old value or nil (`SET … GET`, `GETSET`).
    Old,
}

/// The condition flags of `EXPIRE`-family commands (`NX`, `XX`, `GT`, `LT`; `XX` combines
/// with `GT` or `LT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ExpireCondition {
    /// `NX`: only if the key has no expiry.
    pub if_none: bool,
    /// `XX`: only if the key has an expiry.
    pub if_some: bool,
    /// `GT`: only if the new expiry is greater (no expiry counts as infinite).
    pub greater: bool,
    /// `LT`: only if the new expiry is less (no expiry counts as infinite).
    pub less: bool,
}

impl ExpireCondition {
    /// Whether a key whose expiry is `current` (0: none) may get expiry `at`.
    pub fn allows(self, current: u64, at: u64) -> bool {
        let volatile = current != 0;
        !(self.if_none && volatile)
            && (!self.if_some || volatile)
            && !(self.greater && (!volatile || at <= current))
            && !(self.less && volatile && at >= current)
    }
}

/// What `GETEX` does to the TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GetExExpiry {
    /// No option: leave the TTL as it is.
    Keep,
    /// `PERSIST`: remove it.
    Persist,
    /// Expire at this absolute time in ms.
    At(u64),
}

/// How `HSET`-family commands reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HashSetReply {
    /// Number of new fields (`HSET`).
    Added,
    /// `+OK` (`HMSET`).
    Ok,
    /// `:1`/`:0` (`HSETNX`).
    Flag,
}

/// A deterministic change to a shard's data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Mutation {
    /// `SET` and friends.
    Set {
        key: Bytes,
        value: Bytes,
        condition: Condition,
        expiry: SetExpiry,
        reply: SetReply,
    },
    /// `MSET` (`all_absent: false`) and `MSETNX` (`all_absent: true`).
    MSet {
        pairs: Vec<(Bytes, Bytes)>,
        all_absent: bool,
    },
    /// `APPEND`.
    Append { key: Bytes, value: Bytes },
    /// `SETRANGE`.
    SetRange {
        key: Bytes,
        offset: usize,
        value: Bytes,
    },
    /// `INCR`, `INCRBY`, `DECR`, `DECRBY`.
    IncrBy { key: Bytes, delta: i64 },
    /// `INCRBYFLOAT`.
    IncrByFloat { key: Bytes, delta: f64 },
    /// `GETDEL`.
    GetDel { key: Bytes },
    /// `GETEX`.
    GetEx { key: Bytes, expiry: GetExExpiry },
    /// `DEL`, `UNLINK`; replies with the number removed.
    Del { keys: Vec<Bytes> },
    /// `EXPIRE`, `PEXPIRE`, `EXPIREAT`, `PEXPIREAT`, resolved to an absolute ms time.
    Expire {
        key: Bytes,
        at: u64,
        condition: ExpireCondition,
    },
    /// `PERSIST`.
    Persist { key: Bytes },
    /// `RENAME` (`only_if_absent: false`) and `RENAMENX`.
    Rename {
        from: Bytes,
        to: Bytes,
        only_if_absent: bool,
    },
    /// `FLUSHDB`, `FLUSHALL`.
    FlushAll,
    /// `HSET`, `HMSET`, `HSETNX` (`only_if_absent`).
    HSet {
        key: Bytes,
        pairs: Vec<(Bytes, Bytes)>,
        only_if_absent: bool,
        reply: HashSetReply,
    },
    /// `HDEL`.
    HDel { key: Bytes, fields: Vec<Bytes> },
    /// `HINCRBY`.
    HIncrBy {
        key: Bytes,
        field: Bytes,
        delta: i64,
    },
    /// `HINCRBYFLOAT`.
    HIncrByFloat {
        key: Bytes,
        field: Bytes,
        delta: f64,
    },
    /// Active expiry: delete these keys if they have expired by the proposal's `now`.
    DeleteExpired { keys: Vec<Bytes> },
}
