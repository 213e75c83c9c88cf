//! [`SpecError`]: everything that can be wrong with a spec, rendered the way a
//! compiler would: `path:line:column: message`, the offending source line with a
//! caret, and a hint saying what to do.
//!
//! Owns byte-offset → line:column conversion and the "did you mean" hints.
//! Must not know the schema: callers pass spans, messages and hints.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The spec file could not be read.
    #[error("{}: cannot read the spec: {source}\n  hint: check the path; specs live in `experiments/` (e.g. experiments/table1.toml)", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The spec is malformed or invalid: a located diagnostic.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

impl SpecError {
    /// The diagnostic, when the error is located in the spec's text.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            SpecError::Invalid(d) => Some(d),
            SpecError::Read { .. } => None,
        }
    }
}

/// A located problem in a spec's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the spec came from (a path or a name given to [`crate::spec::parse`]).
    pub origin: String,
    /// 1-based line and column (in characters) of the problem, when known.
    pub position: Option<(usize, usize)>,
    /// The offending source line, when known.
    pub source_line: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.origin, self.message)?,
            None => write!(f, "{}: {}", self.origin, self.message)?,
        }
        if let (Some((line, column)), Some(text)) = (self.position, &self.source_line) {
            let gutter = line.to_string().len();
            write!(f, "\n{:gutter$} |\n{line} | {text}", "")?;
            write!(f, "\n{:gutter$} | {:>column$}", "", "^")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Builds located [`SpecError`]s for one spec text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reporter<'a> {
    origin: &'a str,
    text: &'a str,
}

impl<'a> Reporter<'a> {
    /// A reporter for `text`, which came from `origin`.
    pub(crate) fn new(origin: &'a str, text: &'a str) -> Self {
        Self { origin, text }
    }

    /// An error at byte span `span` (`None`: the spec as a whole).
    pub(crate) fn at(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> SpecError {
        let located = span.map(|s| line_column(self.text, s.start));
        SpecError::Invalid(Box::new(Diagnostic {
            origin: self.origin.to_owned(),
            position: located.as_ref().map(|l| (l.line, l.column)),
            source_line: located.map(|l| l.text.to_owned()),
            message: message.into(),
            hint,
        }))
    }

    /// Converts a TOML syntax or schema error, adding a "did you mean" hint for
    /// unknown keys and variants (and a TOML syntax hint for anything serde did not say).
    pub(crate) fn toml_error(&self, err: &toml::de::Error) -> SpecError {
        let message = err.message().trim().to_owned();
        if message.ends_with("expected a borrowed string") {
            // toml 0.8 cannot give a dotted-key table (`a.b = 1`) to a spanned
            // value (toml-rs/toml#798); say what happened instead of its message.
            return self.at(
                err.span(),
                "a dotted key (`a.b = ...`) cannot be used here",
                Some(DOTTED_KEY_HINT.into()),
            );
        }
        let hint = serde_hint(&message).unwrap_or_else(|| {
            "the text is not valid TOML (toml.io): check quotes, brackets and `key = value` pairs here".into()
        });
        self.at(err.span(), message, Some(hint))
    }
}

/// What to write instead of a dotted key.
const DOTTED_KEY_HINT: &str =
    "in [sweep], quote the whole path: \"banks.O.filters_per_length\" = [1, 2]; \
elsewhere write the table out: [a] then b = ...";

/// A position in a text.
struct LineColumn<'a> {
    line: usize,
    column: usize,
    text: &'a str,
}

/// 1-based line and character column of byte `offset` in `text`, and the line's text.
fn line_column(text: &str, offset: usize) -> LineColumn<'_> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    LineColumn {
        line: before.matches('\n').count() + 1,
        column: text[line_start..offset].chars().count() + 1,
        text: text[line_start..line_end].trim_end_matches('\r'),
    }
}

/// The closest of `candidates` to `word`, if any is close enough to be a plausible typo.
pub(crate) fn nearest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, c)| (d, c))
        .map(|(_, c)| c)
}

/// A hint naming valid choices, with the nearest one first when `word` looks like a typo of it.
pub(crate) fn choice_hint(word: &str, what: &str, candidates: &[&str]) -> String {
    let list = candidates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(word, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? valid {what}: {list}"),
        None if candidates.is_empty() => format!("there are no {what} here"),
        None => format!("valid {what}: {list}"),
    }
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (and the variant
/// form) and suggests the nearest valid name.
fn serde_hint(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = rest.trim_matches('`');
        return Some(format!(
            "add `{field}`; experiments/table1.toml shows every table and key of a spec"
        ));
    }
    if message.ends_with("recursion limit exceeded") {
        return Some(
            "arrays, inline tables or dotted keys nest too deeply here; a spec needs at most a few levels (see experiments/table1.toml)".into(),
        );
    }
    if message.starts_with("invalid type") {
        return Some(
            "write the value with the type named after `expected`; experiments/table1.toml shows an example of each key".into(),
        );
    }
    let (what, rest) = if let Some(rest) = message.strip_prefix("unknown field ") {
        ("keys", rest)
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        ("values", rest)
    } else {
        return None;
    };
    let mut quoted = rest.split('`').skip(1).step_by(2);
    let word = quoted.next()?;
    let candidates: Vec<&str> = quoted.collect();
    Some(choice_hint(word, what, &candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nbé = 2\n";
        let at = line_column(text, text.find('2').unwrap_or(0));
        assert_eq!((at.line, at.column, at.text), (2, 6, "bé = 2"));
        let start = line_column(text, 0);
        assert_eq!((start.line, start.column), (1, 1));
    }

    #[test]
    fn serde_messages_get_the_nearest_key() {
        let hint = serde_hint("unknown field `filter_per_length`, expected one of `axis`, `filters_per_length`, `pool`");
        assert_eq!(
            hint.as_deref(),
            Some("did you mean `filters_per_length`? valid keys: `axis`, `filters_per_length`, `pool`")
        );
        assert_eq!(serde_hint("invalid length 3, expected 2"), None);
    }

    #[test]
    fn far_words_get_the_list_only() {
        assert_eq!(nearest("zzzzzz", ["time", "freq"]), None);
        assert_eq!(nearest("tme", ["time", "freq"]), Some("time"));
    }
}
