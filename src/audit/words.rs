//! Word-level differences between two texts (prompts), for highlighting what changed.
//!
//! The texts are split into words, single punctuation marks and runs of whitespace, and the
//! longest common subsequence of those tokens is kept as "same". Whitespace-only changes
//! therefore show up, and "cat," vs "cat" differs only in the comma.

#![allow(
    clippy::indexing_slicing,
    reason = "the token diff indexes its dynamic-programming table and token slices by positions bounded by their lengths in the same loop"
)]

/// What a segment of the comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// In both texts.
    Same,
    /// Only in the first text.
    Removed,
    /// Only in the second text.
    Added,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    pub kind: SegmentKind,
    pub text: String,
}

/// Above this many token pairs the quadratic table is not built; the differing middle (after
/// the common prefix and suffix) is then shown as one removal and one addition.
const MAX_TABLE_CELLS: usize = 4_000_000;

/// Splits text into words (letters, digits, `_` and `'`), single other characters, and runs
/// of whitespace. Concatenating the tokens gives the text back.
pub fn tokens(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' || c == '\'' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut previous: Option<Class> = None;
    for (at, c) in text.char_indices() {
        let current = class(c);
        let joins = previous == Some(current) && current != Class::Other;
        if !joins && at > start {
            out.push(&text[start..at]);
            start = at;
        }
        previous = Some(current);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The segments that turn `a` into `b`: removals come before additions where both happen at
/// one place, and neighbouring segments of one kind are merged.
pub fn diff(a: &str, b: &str) -> Vec<Segment> {
    let a_tokens = tokens(a);
    let b_tokens = tokens(b);
    let prefix = a_tokens.iter().zip(&b_tokens).take_while(|(x, y)| x == y).count();
    let suffix =
        a_tokens[prefix..].iter().rev().zip(b_tokens[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let a_middle = &a_tokens[prefix..a_tokens.len() - suffix];
    let b_middle = &b_tokens[prefix..b_tokens.len() - suffix];

    let mut out = Vec::new();
    push_all(&mut out, SegmentKind::Same, &a_tokens[..prefix]);
    if a_middle.len().saturating_mul(b_middle.len()) > MAX_TABLE_CELLS {
        push_all(&mut out, SegmentKind::Removed, a_middle);
        push_all(&mut out, SegmentKind::Added, b_middle);
    } else {
        lcs_segments(&mut out, a_middle, b_middle);
    }
    push_all(&mut out, SegmentKind::Same, &a_tokens[a_tokens.len() - suffix..]);
    out
}

/// Both texts in one line, removed words as `[-...-]` and added ones as `{+...+}` (the marks of
/// `git diff --word-diff=plain`).
pub fn marked(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|segment| match segment.kind {
            SegmentKind::Same => segment.text.clone(),
            SegmentKind::Removed => format!("[-{}-]", segment.text),
            SegmentKind::Added => format!("{{+{}+}}", segment.text),
        })
        .collect()
}

/// The text of `a` (`Same` and `Removed` segments) or of `b` (`Same` and `Added`).
pub fn side_text(segments: &[Segment], first: bool) -> String {
    let hidden = if first { SegmentKind::Added } else { SegmentKind::Removed };
    segments.iter().filter(|s| s.kind != hidden).map(|s| s.text.as_str()).collect()
}

fn push(out: &mut Vec<Segment>, kind: SegmentKind, token: &str) {
    match out.last_mut() {
        Some(last) if last.kind == kind => last.text.push_str(token),
        _ => out.push(Segment { kind, text: token.to_string() }),
    }
}

fn push_all(out: &mut Vec<Segment>, kind: SegmentKind, tokens: &[&str]) {
    for token in tokens {
        push(out, kind, token);
    }
}

/// Longest-common-subsequence table, walked from the start so that the output is in order.
fn lcs_segments(out: &mut Vec<Segment>, a: &[&str], b: &[&str]) {
    let width = b.len() + 1;
    // suffix[i * width + j] = LCS length of a[i..] and b[j..].
    let mut suffix = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            suffix[i * width + j] = if a[i] == b[j] {
                suffix[(i + 1) * width + j + 1] + 1
            } else {
                suffix[(i + 1) * width + j].max(suffix[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut removed: Vec<&str> = Vec::new();
    let mut added: Vec<&str> = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push_all(out, SegmentKind::Removed, &removed);
            push_all(out, SegmentKind::Added, &added);
            removed.clear();
            added.clear();
            push(out, SegmentKind::Same, a[i]);
            i += 1;
            j += 1;
        } else if j >= b.len() || (i < a.len() && suffix[(i + 1) * width + j] >= suffix[i * width + j + 1]) {
            removed.push(a[i]);
            i += 1;
        } else {
            added.push(b[j]);
            j += 1;
        }
    }
    push_all(out, SegmentKind::Removed, &removed);
    push_all(out, SegmentKind::Added, &added);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tokens_split_words_punctuation_and_spaces_and_rejoin() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("a cat", &["a", " ", "cat"]),
            ("cat,  dog", &["cat", ",", "  ", "dog"]),
            ("((masterpiece))", &["(", "(", "masterpiece", ")", ")"]),
            ("don't_stop 4k", &["don't_stop", " ", "4k"]),
            ("château\nnuit", &["château", "\n", "nuit"]),
        ];
        for (text, expected) in cases {
            let got = tokens(text);
            assert_eq!(&got, expected, "{text:?}");
            assert_eq!(got.concat(), *text);
        }
    }

    #[test]
    fn diff_marks_changed_words() {
        let cases = [
            ("a red cat", "a red cat", "a red cat"),
            ("a red cat", "a blue cat", "a [-red-]{+blue+} cat"),
            ("a cat", "a fluffy cat", "a {+fluffy +}cat"),
            ("a fluffy cat", "a cat", "a [-fluffy -]cat"),
            ("cat, dog", "cat dog", "cat[-,-] dog"),
            ("", "new", "{+new+}"),
            ("old", "", "[-old-]"),
        ];
        for (a, b, expected) in cases {
            assert_eq!(marked(&diff(a, b)), expected, "{a:?} -> {b:?}");
        }
    }

    #[test]
    fn each_side_is_recovered_from_the_segments() {
        let pairs = [
            ("portrait of an astronaut, 8k, detailed", "portrait of a cosmonaut, 4k, detailed, sharp"),
            ("x y z", "z y x"),
            ("one two three", "three two one"),
            ("same", "same"),
            ("", "something"),
        ];
        for (a, b) in pairs {
            let segments = diff(a, b);
            assert_eq!(side_text(&segments, true), a);
            assert_eq!(side_text(&segments, false), b);
            // Merged: no two neighbours of one kind.
            assert!(segments.windows(2).all(|w| w[0].kind != w[1].kind), "{segments:?}");
        }
    }

    #[test]
    fn huge_texts_fall_back_to_one_change_without_the_table() {
        let a: String = (0..3000).map(|i| format!("a{i} ")).collect();
        let b: String = (0..3000).map(|i| format!("b{i} ")).collect();
        let a = format!("start {a}end");
        let b = format!("start {b}end");
        let segments = diff(&a, &b);
        assert_eq!(
            segments.iter().map(|s| s.kind).collect::<Vec<_>>(),
            [SegmentKind::Same, SegmentKind::Removed, SegmentKind::Added, SegmentKind::Same]
        );
        assert_eq!(side_text(&segments, true), a);
        assert_eq!(side_text(&segments, false), b);
    }
}
