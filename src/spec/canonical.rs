//! Canonical JSON: the one serialisation every hash of tempora is computed
//! over (the spec hash here; the planner's task keys may reuse it).
//!
//! Rules: object keys sorted by byte order at every depth, no whitespace,
//! integers as integers, floats in serde_json's shortest round-trip form
//! (ryu: `0.01`, `1.0`, `1e-7`), strings JSON-escaped. `serde_json` may be
//! built with `preserve_order` (another dependency enables it), so key order is
//! imposed here rather than trusted.

use serde::Serialize;
use serde_json::Value;

/// Canonical JSON text of `value` (see the module docs for the rules).
///
/// Fails only for a value serde_json cannot represent (a map whose keys are
/// neither strings nor integers); no type of this crate has one, and such a
/// value is refused rather than hashed as an error message.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(canonical_text(&serde_json::to_value(value)?))
}

/// Canonical JSON text of a JSON value (cannot fail: it is JSON already).
pub fn canonical_text(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let mut inner = HashMap::new();
        inner.insert("b", 2.5);
        inner.insert("a", 0.01);
        let mut outer = HashMap::new();
        outer.insert("z", vec![inner.clone()]);
        outer.insert("y", vec![]);
        assert_eq!(
            canonical_json(&outer).unwrap(),
            r#"{"y":[],"z":[{"a":0.01,"b":2.5}]}"#
        );
    }

    #[test]
    fn floats_and_integers_keep_their_kind() {
        assert_eq!(
            canonical_json(&(1.0_f64, 1_u32, "é\"")).unwrap(),
            r#"[1.0,1,"é\""]"#
        );
    }

    #[test]
    fn a_value_json_cannot_represent_is_refused_not_hashed() {
        let mut odd = HashMap::new();
        odd.insert((1, 2), "tuple key");
        assert!(canonical_json(&odd).is_err());
    }
}
