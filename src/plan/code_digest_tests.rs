//! Tests of the code digest: what must and must not change it.

use std::path::Path;

use super::*;

const BASE: &str = r#"//! A module.

/// The factor.
pub const FACTOR: f64 = 0.5;

/** Scales `x`. */
pub fn scale(x: f64) -> f64 {
    // multiply
    x * FACTOR /* inline */
}

#[cfg(test)]
mod tests {
    #[test]
    fn halves() {
        assert_eq!(super::scale(2.0), 1.0);
    }
}
"#;

fn same(a: &str, b: &str) -> bool {
    normalise(a).unwrap() == normalise(b).unwrap()
}

#[test]
fn comment_and_formatting_edits_keep_the_digest() {
    let comments = BASE
        .replace(
            "//! A module.",
            "//! A module, documented at length.\n//! Twice.",
        )
        .replace(
            "/// The factor.",
            "/// The factor (halving).\n// a plain remark",
        )
        .replace("/** Scales `x`. */", "/// Scales `x` by [`FACTOR`].")
        .replace(
            "// multiply",
            "// multiply by the factor\n    // over two lines",
        )
        .replace("/* inline */", "");
    assert!(same(BASE, &comments));
    let reformatted = BASE
        .replace(
            "pub fn scale(x: f64) -> f64 {\n",
            "pub fn scale(\n    x: f64,\n) -> f64\n{",
        )
        .replace("x * FACTOR", "x*FACTOR")
        .replace("    ", "\t");
    assert!(same(BASE, &reformatted));
    // What rustfmt changes as it wraps lines: trailing commas, blocks around
    // match arms and closure bodies, `?` and `.` on one line or two.
    let narrow = "fn f<T,>(a: Vec<T,>,) -> [u8; 2] {
        let s = S { a: g(1,), b: [1, 2,], };
        h::<u8,>(3,)?
            .len();
        let v = x.map(|y| { y + 1 });
        match v { A => { 1 } B => 2, }
    }";
    let wide = "fn f<T>(a: Vec<T>) -> [u8; 2] {
        let s = S { a: g(1), b: [1, 2] };
        h::<u8>(3)?.len();
        let v = x.map(|y| y + 1);
        match v { A => 1, B => 2 }
    }";
    assert!(same(narrow, wide));
}

#[test]
fn code_edits_change_the_digest() {
    assert!(!same(BASE, &BASE.replace("0.5", "0.25")));
    assert!(!same(BASE, &BASE.replace("x * FACTOR", "FACTOR * x")));
    assert!(!same(
        "fn f(a: bool, b: &bool) -> bool { a && *b }",
        "fn f(a: bool, b: &bool) -> bool { a & &*b }"
    ));
    // A one-element tuple is not a parenthesised value.
    assert!(!same("fn f() { let t = (1,); }", "fn f() { let t = (1); }"));
    assert!(!same(
        "fn f() -> (u8,) { return (1,); }",
        "fn f() -> (u8,) { return (1); }"
    ));
    // A block with statements is not an expression.
    assert!(!same(
        "fn f() { match 1 { _ => { g(); } } }",
        "fn f() { match 1 { _ => g(), } }"
    ));
    assert!(!same(
        "fn f() { x.map(|y| { y; }) }",
        "fn f() { x.map(|y| y) }"
    ));
    // A non-doc attribute is code.
    assert!(!same(
        BASE,
        &BASE.replace("pub fn", "#[inline(never)]\npub fn")
    ));
}

#[test]
fn test_items_are_ignored() {
    let edited = BASE.replace(
        "1.0);",
        "1.0);\n        assert_eq!(super::scale(0.0), 0.0);",
    );
    assert!(same(BASE, &edited));
    let without = BASE.split("#[cfg(test)]").next().unwrap();
    assert!(same(BASE, without));
    assert!(same(
        BASE,
        &format!("{BASE}\n#[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod more;\n")
    ));
    // Inside an impl, and a test-only item never swallows the item after it.
    let item = "struct S; impl S {\n#[cfg(test)]\nconst fn t() -> u32 { 1 }\nfn f() -> u32 { 2 } }\n#[cfg(test)]\nconst C: S = S {};\nfn g() -> u8 { 3 }";
    assert!(same(
        item,
        &item.replace("{ 1 }", "{ 5 }").replace("S {}", "S { }")
    ));
    assert!(!same(item, &item.replace("{ 2 }", "{ 4 }")));
    assert!(!same(item, &item.replace("{ 3 }", "{ 4 }")));
    // Other cfgs are code.
    let any = BASE.replace("#[cfg(test)]", "#[cfg(any(test, feature = \"x\"))]");
    assert!(!same(&any, &any.replace("1.0);", "3.0);")));
}

#[test]
fn the_digest_covers_paths_and_is_order_free() {
    let a = ("src/a.rs".to_owned(), "fn a ( ) ".to_owned());
    let b = ("src/b.rs".to_owned(), "fn b ( ) ".to_owned());
    assert_eq!(
        digest(&[a.clone(), b.clone()]),
        digest(&[b.clone(), a.clone()])
    );
    let moved = ("src/c.rs".to_owned(), a.1.clone());
    assert_ne!(digest(&[a, b.clone()]), digest(&[moved, b]));
}

#[test]
fn every_listed_source_exists_and_test_files_are_skipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (kind, entries) in KIND_SOURCES {
        let files = kind_files(root, entries).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(!files.is_empty(), "{kind}");
        assert!(
            files
                .iter()
                .all(|f| !is_test_file(f.rsplit('/').next().unwrap())),
            "{kind}: {files:?}"
        );
    }
    let model = kind_files(root, &["src/model"]).unwrap();
    assert!(model.contains(&"src/model/fused/kernel/forward.rs".to_owned()));
    assert!(!model.contains(&"src/model/fused/tests.rs".to_owned()));
    assert!(kind_files(root, &["src/no_such_file.rs"]).is_err());
}
