//! The audit as a hash chain: each entry carries the SHA-256 of its own content and
//! of the entry before it, so an entry changed or removed by hand breaks the chain
//! at that entry. Written inside the write transaction that adds the entry (writes
//! are serialised per registry, so the chain has no forks); checked by
//! `diming audit verify`.
//!
//! What a chain cannot show by itself: the newest entries cut off together with
//! nothing after them. `verify` reports the head (id and hash) so it can be
//! written down elsewhere (a daily log, the backup's name) and compared later.

use super::AuditEntry;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one entry given the hash before it. Covers every column but the
/// hash itself; `before`/`after` as JSON values, so a copy between backends that
/// re-serialises them keeps its hashes.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    id: i64,
    prev_hash: &str,
    at: &str,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> String {
    let canonical = json!([id, prev_hash, at, actor, action, entity, entity_id, before, after]).to_string();
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_of(e: &AuditEntry, prev_hash: &str) -> String {
    entry_hash(
        e.id,
        prev_hash,
        &e.at,
        &e.actor,
        &e.action,
        &e.entity,
        &e.entity_id,
        e.before.as_ref(),
        e.after.as_ref(),
    )
}

/// Where the chain breaks, naming the first entry that is not as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry's content no longer gives its hash: it was edited.
    Changed { id: i64 },
    /// The entry's hash no longer matches what the next entry recorded: it was
    /// edited and its hash recomputed.
    Relinked { id: i64, next: i64 },
    /// Entries between `after` and `next` are gone.
    Removed { after: i64, next: i64 },
    /// The entry carries no hash (written around the chain).
    Unsealed { id: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Changed { id } => {
                write!(f, "审计记录 {id} 已被改动：内容与其哈希不符 (audit entry {id} was changed: its content no longer gives its hash)")
            }
            ChainBreak::Relinked { id, next } => write!(
                f,
                "审计记录 {id} 已被改动：其哈希与记录 {next} 所链接的不符 (audit entry {id} was changed and re-hashed: entry {next} links to another hash)"
            ),
            ChainBreak::Removed { after, next } => write!(
                f,
                "审计记录 {after} 与 {next} 之间的记录已被删除 (audit entries between {after} and {next} were removed)"
            ),
            ChainBreak::Unsealed { id } => {
                write!(f, "审计记录 {id} 没有哈希 (audit entry {id} carries no hash: written around the chain)")
            }
        }
    }
}

/// Walks entries in id order.
#[derive(Debug, Clone)]
pub struct ChainWalker {
    last_id: i64,
    last_hash: String,
    count: u64,
}

impl Default for ChainWalker {
    fn default() -> Self {
        ChainWalker { last_id: 0, last_hash: GENESIS.to_string(), count: 0 }
    }
}

impl ChainWalker {
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        let (Some(prev), Some(hash)) = (e.prev_hash.as_deref(), e.hash.as_deref()) else {
            return Err(ChainBreak::Unsealed { id: e.id });
        };
        if prev != self.last_hash {
            return Err(if e.id != self.last_id + 1 {
                ChainBreak::Removed { after: self.last_id, next: e.id }
            } else {
                ChainBreak::Relinked { id: self.last_id, next: e.id }
            });
        }
        if e.id != self.last_id + 1 {
            // Linked right but numbered with a gap: an entry was taken out and the
            // rest re-linked by someone who could not renumber them.
            return Err(ChainBreak::Removed { after: self.last_id, next: e.id });
        }
        if hash_of(e, prev) != hash {
            return Err(ChainBreak::Changed { id: e.id });
        }
        self.last_id = e.id;
        self.last_hash = hash.to_string();
        self.count += 1;
        Ok(())
    }

    /// How many entries verified, and the head (last id and hash).
    pub fn head(&self) -> (u64, i64, &str) {
        (self.count, self.last_id, &self.last_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|id| {
                let mut e = AuditEntry {
                    id,
                    at: "2026-12-02T00:00:00Z".into(),
                    actor: "user:甲".into(),
                    action: "update".into(),
                    entity: "facility".into(),
                    entity_id: format!("f{id:04}"),
                    before: None,
                    after: Some(json!({"name": "乐土驿镇敬老院", "n": id})),
                    prev_hash: Some(prev.clone()),
                    hash: None,
                };
                let h = hash_of(&e, &prev);
                e.hash = Some(h.clone());
                prev = h;
                e
            })
            .collect()
    }

    fn walk(entries: &[AuditEntry]) -> Result<(), ChainBreak> {
        let mut w = ChainWalker::default();
        entries.iter().try_for_each(|e| w.push(e))
    }

    #[test]
    fn an_intact_chain_verifies_and_every_kind_of_tampering_is_named() {
        let good = chain(5);
        assert_eq!(walk(&good), Ok(()));

        let mut edited = good.clone();
        edited[2].actor = "user:乙".into();
        assert_eq!(walk(&edited), Err(ChainBreak::Changed { id: 3 }));

        let mut rehashed = good.clone();
        rehashed[2].after = Some(json!({"name": "改过"}));
        let prev = rehashed[2].prev_hash.clone().unwrap_or_default();
        rehashed[2].hash = Some(hash_of(&rehashed[2], &prev));
        assert_eq!(walk(&rehashed), Err(ChainBreak::Relinked { id: 3, next: 4 }));

        let mut removed = good.clone();
        removed.remove(1);
        assert_eq!(walk(&removed), Err(ChainBreak::Removed { after: 1, next: 3 }));

        let mut unsealed = good;
        unsealed[0].hash = None;
        assert_eq!(walk(&unsealed), Err(ChainBreak::Unsealed { id: 1 }));
    }
}
