//! Build script: digests the code each task kind runs (`src/plan/code_digest.rs`)
//! into `$OUT_DIR/code_digests.rs`, which `src/plan/versions.rs` compares with
//! the recorded digests.

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/plan/code_digest.rs"]
mod code_digest;

fn main() {
    let var = |name: &str| {
        PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("cargo sets {name}")))
    };
    let (root, out) = (var("CARGO_MANIFEST_DIR"), var("OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/plan/code_digest.rs");
    let mut table = String::from("&[\n");
    for (kind, entries) in code_digest::KIND_SOURCES {
        for entry in *entries {
            println!("cargo:rerun-if-changed={entry}");
        }
        let digest = code_digest::kind_digest(&root, entries)
            .unwrap_or_else(|e| panic!("code digest of task kind {kind}: {e}"));
        writeln!(table, "    ({kind:?}, {digest:?}),").expect("writing to a String");
    }
    table.push_str("]\n");
    let path = out.join("code_digests.rs");
    std::fs::write(&path, table).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
