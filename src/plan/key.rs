//! Task keys: the ONE function, [`task_key`], that turns what determines a
//! task's output into a blake3 hash (snakemake's provenance hash, cargo's
//! fingerprint). Every task kind calls it; nothing else hashes.
//!
//! What goes in, in this order, each length-prefixed so no two inputs can run
//! together: [`KEY_VERSION`], the kind, the kind's code version, the canonical
//! parameters ([`canonical_json`]), the named source content hashes (sorted by
//! name) and the upstream keys (sorted).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Version of the key algorithm itself.
///
/// ATTENTION: bump whenever anything in [`task_key`] or [`canonical_json`]
/// changes, or old cache entries would be read under a new meaning.
pub const KEY_VERSION: u32 = 1;

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
    /// The task's parameters (canonicalised here: key order does not matter).
    pub params: &'a serde_json::Value,
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
    put(&mut h, canonical_json(input.params).as_bytes());
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

/// JSON with object keys sorted at every level and no whitespace.
///
/// Numbers are written by serde_json (integers exactly, floats as the
/// shortest text that reads back to the same bits), never with `{:?}`.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(params: serde_json::Value, upstream: &[Key]) -> Key {
        task_key(KeyInput {
            kind: "train",
            code_version: 1,
            params: &params,
            sources: &BTreeMap::new(),
            upstream,
        })
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
            params: &json!({"lr": 0.01}),
            sources: &sources,
            upstream: &[],
        });
        assert_ne!(base, with_source);
        let other_code = task_key(KeyInput {
            kind: "train",
            code_version: 2,
            params: &json!({"lr": 0.01}),
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
                params: &serde_json::Value::Null,
                sources: s,
                upstream: &[],
            })
        };
        assert_ne!(k(&a), k(&b));
    }

    #[test]
    fn canonical_json_sorts_nested_objects() {
        let v = json!({"b": [{"z": 1, "a": 2}], "a": 0.5});
        assert_eq!(canonical_json(&v), r#"{"a":0.5,"b":[{"a":2,"z":1}]}"#);
    }

    #[test]
    fn hex_round_trips() {
        let k = key(json!(null), &[]);
        assert_eq!(Key::from_hex(&k.hex()), Some(k));
    }
}
