//! Digests of the code each task kind runs, blind to comments and formatting.
//!
//! [`KIND_SOURCES`] lists, per task kind, the source files and directories
//! whose code determines the bytes the kind's tasks write. [`kind_digest`]
//! tokenises each of them with `proc-macro2`, drops what cannot change a
//! result — comments, doc comments (which the tokeniser turns into `#[doc]`
//! attributes), whitespace and `#[cfg(test)]` items — and hashes the re-printed
//! tokens with blake3, path by path in sorted order.
//!
//! `build.rs` includes this file as a module (`#[path]`) and writes the digests
//! into `$OUT_DIR/code_digests.rs`; `plan::versions` compares them with the
//! recorded ones. So this file names nothing of the crate: std, proc-macro2
//! and blake3 only.
//!
//! Over-inclusion is the safe side: a file listed needlessly costs a "record
//! the new digest" at worst, a file missing lets a change go unnoticed.
//! Test files (`tests.rs`, `*_tests.rs`) inside listed directories are skipped.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use proc_macro2::{Delimiter, Punct, Spacing, TokenStream, TokenTree};

/// Per task kind, the sources (relative to the crate root) whose code
/// determines its output bytes; a directory stands for every `.rs` file below.
pub const KIND_SOURCES: &[(&str, &[&str])] = &[
    (
        "features",
        &[
            "src/audio",
            "src/dataset/mod.rs",
            "src/dataset/synthetic",
            "src/device",
            "src/features",
            "src/layout.rs",
            "src/tasks/features.rs",
            "src/tasks/mod.rs",
        ],
    ),
    (
        "norm",
        &[
            "src/audio/mod.rs",
            "src/dataset/folds.rs",
            "src/dataset/mod.rs",
            "src/device",
            "src/features/front_end.rs",
            "src/features/mod.rs",
            "src/features/normalise.rs",
            "src/layout.rs",
            "src/tasks/chunks.rs",
            "src/tasks/features.rs",
            "src/tasks/mod.rs",
            "src/tasks/norm.rs",
        ],
    ),
    (
        "chunks",
        &[
            "src/audio/mod.rs",
            "src/dataset/chunks.rs",
            "src/dataset/folds.rs",
            "src/dataset/mod.rs",
            "src/device",
            "src/features/front_end.rs",
            "src/features/mod.rs",
            "src/layout.rs",
            "src/tasks/chunks.rs",
            "src/tasks/features.rs",
            "src/tasks/mod.rs",
        ],
    ),
    (
        "train",
        &[
            "src/audio/mod.rs",
            "src/dataset/chunks.rs",
            "src/dataset/folds.rs",
            "src/dataset/mod.rs",
            "src/device",
            "src/features/config.rs",
            "src/features/front_end.rs",
            "src/features/mod.rs",
            "src/features/normalise.rs",
            "src/layout.rs",
            "src/model",
            "src/tasks/chunks.rs",
            "src/tasks/features.rs",
            "src/tasks/mod.rs",
            "src/tasks/norm.rs",
            "src/tasks/train.rs",
            "src/tensorboard",
            "src/train",
        ],
    ),
    (
        "report",
        &[
            "src/audio/mod.rs",
            "src/dataset/mod.rs",
            "src/device",
            "src/features/config.rs",
            "src/features/front_end.rs",
            "src/features/mod.rs",
            "src/layout.rs",
            "src/model/arch.rs",
            "src/model/dense/mod.rs",
            "src/model/fused/mod.rs",
            "src/model/fused/reference.rs",
            "src/model/grads.rs",
            "src/model/init.rs",
            "src/model/mod.rs",
            "src/model/net.rs",
            "src/model/pooled/mod.rs",
            "src/plan/params/report.rs",
            "src/report",
            "src/spec/claims.rs",
            "src/spec/error.rs",
            "src/spec/raw.rs",
            "src/stats.rs",
            "src/tasks/mod.rs",
            "src/tasks/report.rs",
            "src/train/entry.rs",
            "src/train/mod.rs",
            "src/train/weights.rs",
        ],
    ),
];

/// Whether a file inside a listed directory holds tests only.
pub fn is_test_file(name: &str) -> bool {
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// The `.rs` files `entries` stand for, relative to `root` with `/`
/// separators, sorted; an entry that does not exist is an error.
pub fn kind_files(root: &Path, entries: &[&str]) -> Result<Vec<String>, String> {
    let mut files = BTreeSet::new();
    for entry in entries {
        let path = root.join(entry);
        if path.is_dir() {
            walk(&path, entry, &mut files)?;
        } else if path.is_file() {
            files.insert((*entry).to_owned());
        } else {
            return Err(format!(
                "{entry} does not exist: update KIND_SOURCES in src/plan/code_digest.rs"
            ));
        }
    }
    Ok(files.into_iter().collect())
}

fn walk(dir: &Path, rel: &str, files: &mut BTreeSet<String>) -> Result<(), String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{rel}: {e}"))?;
    for entry in read {
        let entry = entry.map_err(|e| format!("{rel}: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = format!("{rel}/{name}");
        let path = entry.path();
        if path.is_dir() {
            walk(&path, &child, files)?;
        } else if name.ends_with(".rs") && !is_test_file(&name) {
            files.insert(child);
        }
    }
    Ok(())
}

/// The digest of one kind's sources (see [`digest`]).
pub fn kind_digest(root: &Path, entries: &[&str]) -> Result<String, String> {
    let mut normalised = Vec::new();
    for file in kind_files(root, entries)? {
        let text = std::fs::read_to_string(root.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        let tokens = normalise(&text).map_err(|e| format!("{file}: {e}"))?;
        normalised.push((file, tokens));
    }
    Ok(digest(&normalised))
}

/// blake3 (hex) over `(path, normalised source)` pairs in sorted path order,
/// each path and text length-prefixed, so moving code between files counts.
pub fn digest(files: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort();
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"tempora code digest v1\0");
    for (path, text) in sorted {
        for part in [path.as_bytes(), text.as_bytes()] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hasher.finalize().to_hex().to_string()
}

/// Re-prints a Rust source file's tokens without comments, doc attributes,
/// formatting or `#[cfg(test)]` items (at file level and inside `mod`,
/// `impl` and `trait` bodies), nor what rustfmt changes as it wraps lines:
/// trailing commas (but a one-element tuple's), blocks around a match arm or a
/// closure body ([`unwrap_blocks`]), joins of punctuation that form no
/// operator (`?.`). Kept: `&&` against `& &`.
pub fn normalise(source: &str) -> Result<String, String> {
    let stream = TokenStream::from_str(source).map_err(|e| format!("cannot tokenise: {e}"))?;
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut out = String::new();
    print_items(&tokens, &mut out);
    Ok(out)
}

/// How an item ends, from its leading keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemEnd {
    /// At its first brace group or `;` (`fn`, `struct`, `mod` …); `nested`:
    /// the brace body holds items (`mod`, `impl`, `trait`).
    Braced { nested: bool },
    /// At its first `;` (`const`, `static`, `use`, `type`, `extern crate`).
    Semi,
}

fn ident_is(token: Option<&TokenTree>, names: &[&str]) -> bool {
    matches!(token, Some(TokenTree::Ident(i)) if names.iter().any(|n| i == n))
}

fn punct_is(token: &TokenTree, c: char) -> bool {
    matches!(token, TokenTree::Punct(p) if p.as_char() == c)
}

/// Recognises the item starting at `tokens[0]` (after its attributes).
fn item_end(tokens: &[TokenTree]) -> Option<ItemEnd> {
    let mut i = 0;
    while let Some(TokenTree::Ident(ident)) = tokens.get(i) {
        let next = tokens.get(i + 1);
        match ident.to_string().as_str() {
            "pub" => {
                if matches!(next, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
                {
                    i += 1;
                }
            }
            "unsafe" | "async" | "default" | "auto" => {}
            "const" if ident_is(next, &["fn", "unsafe", "async", "extern"]) => {}
            "const" | "static" | "use" | "type" => return Some(ItemEnd::Semi),
            "extern" if ident_is(next, &["crate"]) => return Some(ItemEnd::Semi),
            "extern" | "fn" | "struct" | "enum" | "union" | "macro_rules" => {
                return Some(ItemEnd::Braced { nested: false })
            }
            "mod" | "impl" | "trait" => return Some(ItemEnd::Braced { nested: true }),
            _ => return None,
        }
        i += 1;
    }
    None
}

/// The length of the item at `tokens[0]` (at least one token).
fn item_len(tokens: &[TokenTree], end: Option<ItemEnd>) -> usize {
    let at_brace = end != Some(ItemEnd::Semi);
    tokens
        .iter()
        .position(|t| {
            punct_is(t, ';')
                || (at_brace
                    && matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
        })
        .map_or(tokens.len(), |p| p + 1)
}

/// The length of the attribute at `tokens[0]` (`#[…]` or `#![…]`) and its
/// bracket contents.
fn attribute(tokens: &[TokenTree]) -> Option<(usize, TokenStream)> {
    if !punct_is(tokens.first()?, '#') {
        return None;
    }
    let bang = usize::from(punct_is(tokens.get(1)?, '!'));
    match tokens.get(1 + bang)? {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => Some((2 + bang, g.stream())),
        _ => None,
    }
}

fn is_doc(attr: &TokenStream) -> bool {
    ident_is(attr.clone().into_iter().next().as_ref(), &["doc"])
}

fn is_cfg_test(attr: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = attr.clone().into_iter().collect();
    match tokens.as_slice() {
        [TokenTree::Ident(cfg), TokenTree::Group(args)] if cfg == "cfg" => {
            let inner: Vec<TokenTree> = args.stream().into_iter().collect();
            args.delimiter() == Delimiter::Parenthesis
                && matches!(inner.as_slice(), [TokenTree::Ident(t)] if t == "test")
        }
        _ => false,
    }
}

/// Prints a sequence of items, leaving out `#[cfg(test)]` ones.
fn print_items(tokens: &[TokenTree], out: &mut String) {
    let mut i = 0;
    while i < tokens.len() {
        let (mut kept, mut test_only) = (Vec::new(), false);
        while let Some((len, attr)) = attribute(&tokens[i..]) {
            if !is_doc(&attr) {
                test_only |= is_cfg_test(&attr);
                kept.push(i..i + len);
            }
            i += len;
        }
        if i == tokens.len() {
            kept.iter()
                .for_each(|r| print_tokens(&tokens[r.clone()], out));
            break;
        }
        let end = item_end(&tokens[i..]);
        let len = item_len(&tokens[i..], end);
        if !(test_only && end.is_some()) {
            kept.iter()
                .for_each(|r| print_tokens(&tokens[r.clone()], out));
            let item = &tokens[i..i + len];
            match (end, item.last()) {
                (Some(ItemEnd::Braced { nested: true }), Some(TokenTree::Group(body)))
                    if body.delimiter() == Delimiter::Brace =>
                {
                    print_tokens(&item[..len - 1], out);
                    let inner: Vec<TokenTree> = body.stream().into_iter().collect();
                    out.push_str("{ ");
                    print_items(&inner, out);
                    out.push_str("} ");
                }
                _ => print_tokens(item, out),
            }
        }
        i += len;
    }
}

/// Prints tokens (recursively), leaving out doc attributes and the trailing
/// comma of a wrapped generic list (`<A, B,>`).
fn print_tokens(tokens: &[TokenTree], out: &mut String) {
    let mut kept: Vec<TokenTree> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let Some((len, attr)) = attribute(&tokens[i..]) {
            if is_doc(&attr) {
                i += len;
                continue;
            }
        }
        let before_gt = tokens.get(i + 1).is_some_and(|t| punct_is(t, '>'));
        if !(before_gt && punct_is(&tokens[i], ',')) {
            kept.push(tokens[i].clone());
        }
        i += 1;
    }
    for (i, token) in kept.iter().enumerate() {
        match token {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("( ", ") "),
                    Delimiter::Brace => ("{ ", "} "),
                    Delimiter::Bracket => ("[ ", "] "),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                let mut inner = Vec::new();
                unwrap_blocks(
                    &g.stream().into_iter().collect::<Vec<_>>(),
                    None,
                    &mut inner,
                );
                print_tokens(
                    without_trailing_comma(g.delimiter(), &inner, &kept[..i]),
                    out,
                );
                out.push_str(close);
            }
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                let joined = match kept.get(i + 1) {
                    Some(TokenTree::Punct(q)) => {
                        p.spacing() == Spacing::Joint
                            && OPERATOR_PAIRS.contains(&[p.as_char(), q.as_char()])
                    }
                    _ => false,
                };
                if !joined {
                    out.push(' ');
                }
            }
            TokenTree::Ident(ident) => {
                out.push_str(&ident.to_string());
                out.push(' ');
            }
            TokenTree::Literal(lit) => {
                out.push_str(&lit.to_string());
                out.push(' ');
            }
        }
    }
}

/// Character pairs that begin a multi-character operator: only these are
/// printed joined (`&&` against `& &`); other joins (`?.` at a line break or
/// not) are formatting.
const OPERATOR_PAIRS: &[[char; 2]] = &[
    ['&', '&'],
    ['|', '|'],
    [':', ':'],
    ['-', '>'],
    ['=', '>'],
    ['=', '='],
    ['!', '='],
    ['<', '='],
    ['>', '='],
    ['+', '='],
    ['-', '='],
    ['*', '='],
    ['/', '='],
    ['%', '='],
    ['^', '='],
    ['&', '='],
    ['|', '='],
    ['<', '<'],
    ['>', '>'],
    ['.', '.'],
    ['.', '='],
];

/// Copies `tokens` into `out`, replacing a block that rustfmt adds or removes
/// as it wraps lines by its contents: a match arm's `=> { expr }` (becomes
/// `=> expr,`) and a closure's `|..| { expr }` at the end of an argument;
/// "`expr`": no `;` at the block's top level. `after`: the token after `tokens`.
fn unwrap_blocks(tokens: &[TokenTree], after: Option<&TokenTree>, out: &mut Vec<TokenTree>) {
    for (k, token) in tokens.iter().enumerate() {
        let next = tokens.get(k + 1).or(after);
        if let TokenTree::Group(g) = token {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let expr = g.delimiter() == Delimiter::Brace
                && !inner.is_empty()
                && !inner.iter().any(|t| punct_is(t, ';'));
            let arm = matches!(out.as_slice(), [.., TokenTree::Punct(eq), TokenTree::Punct(gt)]
                if eq.as_char() == '=' && eq.spacing() == Spacing::Joint && gt.as_char() == '>');
            let closure = matches!(out.last(), Some(TokenTree::Punct(bar))
                if bar.as_char() == '|' && bar.spacing() == Spacing::Alone)
                && next.is_none_or(|n| punct_is(n, ',') || punct_is(n, ';'));
            if expr && (arm || closure) {
                unwrap_blocks(&inner, next, out);
                if arm && !next.is_some_and(|n| punct_is(n, ',')) {
                    out.push(TokenTree::Punct(Punct::new(',', Spacing::Alone)));
                }
                continue;
            }
        }
        out.push(token.clone());
    }
}

/// Keywords after which `(x,)` is a one-element tuple, not an argument list.
const BEFORE_TUPLE: &[&str] = &[
    "as", "box", "break", "const", "dyn", "else", "for", "if", "impl", "in", "let", "match",
    "move", "mut", "ref", "return", "static", "type", "unsafe", "where", "while", "yield",
];

/// `inner` without the trailing comma rustfmt adds or removes as it wraps
/// lines; kept only where it means something: a one-element tuple `(x,)`
/// (a parenthesis not preceded by a name, `>` other than in `->` and `=>`,
/// `)`, `]` or `!`); `before`: the tokens before the group.
fn without_trailing_comma<'a>(
    delimiter: Delimiter,
    inner: &'a [TokenTree],
    before: &[TokenTree],
) -> &'a [TokenTree] {
    let Some((last, rest)) = inner.split_last() else {
        return inner;
    };
    if !punct_is(last, ',') {
        return inner;
    }
    let droppable = match delimiter {
        Delimiter::Brace | Delimiter::Bracket => true,
        Delimiter::Parenthesis => {
            rest.iter().any(|t| punct_is(t, ','))
                || match before {
                    [.., TokenTree::Punct(arrow), TokenTree::Punct(p)]
                        if p.as_char() == '>' && matches!(arrow.as_char(), '-' | '=') =>
                    {
                        arrow.spacing() == Spacing::Alone
                    }
                    [.., TokenTree::Ident(name)] => !BEFORE_TUPLE.iter().any(|k| name == k),
                    [.., TokenTree::Punct(p)] => matches!(p.as_char(), '>' | '!'),
                    [.., TokenTree::Group(g)] => g.delimiter() != Delimiter::Brace,
                    _ => false,
                }
        }
        Delimiter::None => false,
    };
    if droppable {
        rest
    } else {
        inner
    }
}

#[cfg(test)]
#[path = "code_digest_tests.rs"]
mod tests;
