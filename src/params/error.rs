//! Why an image's metadata, or one generator's record in it, could not be read.

/// What stops [`super::import_from_image`] or [`super::read_image_metadata`], or makes one
/// generator's record unreadable (then the record's text is kept and this becomes a note).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("not a PNG, JPEG or WebP image (by its first bytes)")]
    NotAnImage,
    #[error("not a readable PNG: {detail}")]
    UnreadablePng { detail: String },
    /// A `zTXt` or `iTXt` chunk that does not inflate within the budget all share.
    #[error("{chunk} {keyword:?}: {detail} (all text chunks together may inflate to {limit} bytes)")]
    TextChunkInflate { chunk: &'static str, keyword: String, detail: String, limit: usize },
    /// A text chunk whose inflated bytes are not text.
    #[error("{chunk} {keyword:?}: {detail}")]
    TextChunkText { chunk: &'static str, keyword: String, detail: String },
    #[error("{record} is not JSON: {detail}")]
    NotJson { record: &'static str, detail: String },
    #[error("{record} is not {expected}")]
    Unexpected { record: &'static str, expected: &'static str },
    #[error("{record} has no {missing}")]
    Missing { record: &'static str, missing: &'static str },
}
