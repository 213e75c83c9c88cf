//! Task keys: the ONE function, [`task_key`], that turns what determines a
//! task's output into a blake3 hash (snakemake's provenance hash, cargo's
//! fingerprint). Every task kind calls it; nothing else hashes.
//!
//! What goes in, in this order, each length-prefixed so no two inputs can run
//! together: [`KEY_VERSION`], the kind, the kind's code version, the canonical
//! JSON of the typed parameters ([`crate::spec::canonical_json`], the one
//! canonical serialisation of the crate), the named source content hashes
//! (sorted by name) and the upstream keys (sorted).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Version of the key algorithm itself.
///
/// ATTENTION: bump whenever anything in [`task_key`] or the canonical JSON
/// changes, or old cache entries would be read under a new meaning. The
/// golden-key test below pins the composition, so such a change is deliberate.
///
/// Version 2: typed parameters (named by their kind), no aggregate kind.
pub const KEY_VERSION: u32 = 2;

/// A task key: 32 bytes of blake3, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The 64-digit hex form (the cache directory name).
    pub fn hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// The first 12 hex digits, for tables and logs.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }

    /// Parses the hex form.
    pub fn from_hex(hex: &str) -> Option<Self> {
        blake3::Hash::from_hex(hex).ok().map(|h| Key(*h.as_bytes()))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.short())
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Key::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// Everything a key is computed from.
#[derive(Debug, Clone, Copy)]
pub struct KeyInput<'a> {
    /// Task kind name (`features`, `train`, …).
    pub kind: &'a str,
    /// Version of the code that computes this kind (bumped when its output changes).
    pub code_version: u32,
    /// The canonical JSON of the task's parameters.
    pub params: &'a str,
    /// Content hashes of source inputs (files, generator parameters), by name.
    pub sources: &'a BTreeMap<String, String>,
    /// Keys of the tasks whose outputs this task reads (sorted here).
    pub upstream: &'a [Key],
}

fn put(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// The key of a task (see the module doc for what goes in).
pub fn task_key(input: KeyInput<'_>) -> Key {
    let mut h = blake3::Hasher::new();
    put(&mut h, b"tempora-task-key");
    put(&mut h, &KEY_VERSION.to_le_bytes());
    put(&mut h, input.kind.as_bytes());
    put(&mut h, &input.code_version.to_le_bytes());
    put(&mut h, input.params.as_bytes());
    put(&mut h, &(input.sources.len() as u64).to_le_bytes());
    for (name, hash) in input.sources {
        put(&mut h, name.as_bytes());
        put(&mut h, hash.as_bytes());
    }
    let mut upstream = input.upstream.to_vec();
    upstream.sort();
    upstream.dedup();
    put(&mut h, &(upstream.len() as u64).to_le_bytes());
    for key in &upstream {
        h.update(&key.0);
    }
    Key(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::canonical_json;
    use serde_json::json;

    fn key(params: serde_json::Value, upstream: &[Key]) -> Key {
        task_key(KeyInput {
            kind: "train",
            code_version: 1,
            params: &canonical_json(&params).unwrap(),
            sources: &BTreeMap::new(),
            upstream,
        })
    }

    /// Pins the key of one fixed input: a change to how keys are composed
    /// (this function, the canonical JSON, the length prefixes) must be
    /// deliberate, with [`KEY_VERSION`] bumped and this value updated.
    #[test]
    fn golden_key_of_a_fixed_task() {
        let upstream = [Key([7; 32])];
        let sources = BTreeMap::from([("audio".to_string(), "00ff".to_string())]);
        let params = canonical_json(&json!({"kind": "train", "lr": 0.01, "hop": 250})).unwrap();
        assert_eq!(params, r#"{"hop":250,"kind":"train","lr":0.01}"#);
        let key = task_key(KeyInput {
            kind: "train",
            code_version: 3,
            params: &params,
            sources: &sources,
            upstream: &upstream,
        });
        assert_eq!(
            key.hex(),
            "d927ec12aef2259c56d1a2ee918bbbc49bbf6a95df24dfe5ff6119cf938f6516"
        );
    }

    #[test]
    fn key_order_in_params_and_upstream_order_do_not_matter() {
        let a = key(json!({"lr": 0.01, "epochs": 250}), &[]);
        let b = key(json!({"epochs": 250, "lr": 0.01}), &[]);
        assert_eq!(a, b);
        let (u1, u2) = (key(json!(1), &[]), key(json!(2), &[]));
        assert_eq!(key(json!(0), &[u1, u2]), key(json!(0), &[u2, u1]));
    }

    #[test]
    fn every_input_changes_the_key() {
        let base = key(json!({"lr": 0.01}), &[]);
        assert_ne!(base, key(json!({"lr": 0.010000000000000002}), &[]));
        assert_ne!(base, key(json!({"lr": 0.01}), &[base]));
        let sources = BTreeMap::from([("audio".to_string(), "ab".to_string())]);
        let with_source = task_key(KeyInput {
            kind: "train",
            code_version: 1,
            params: &canonical_json(&json!({"lr": 0.01})).unwrap(),
            sources: &sources,
            upstream: &[],
        });
        assert_ne!(base, with_source);
        let other_code = task_key(KeyInput {
            kind: "train",
            code_version: 2,
            params: &canonical_json(&json!({"lr": 0.01})).unwrap(),
            sources: &BTreeMap::new(),
            upstream: &[],
        });
        assert_ne!(base, other_code);
    }

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let a = BTreeMap::from([("ab".to_string(), "c".to_string())]);
        let b = BTreeMap::from([("a".to_string(), "bc".to_string())]);
        let k = |s| {
            task_key(KeyInput {
                kind: "f",
                code_version: 1,
                params: "null",
                sources: s,
                upstream: &[],
            })
        };
        assert_ne!(k(&a), k(&b));
    }

    #[test]
    fn hex_round_trips() {
        let k = key(json!(null), &[]);
        assert_eq!(Key::from_hex(&k.hex()), Some(k));
    }
}
