//! The one error type of the format library.
//!
//! Every variant says where the problem is (chunk, offset) and, where it applies, what was
//! expected and what was found. When an error is tied to a file, [`FormatError::in_file`] wraps it
//! so the path is printed last.

use std::path::PathBuf;

/// Which part of a file an error or check refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Header,
    /// The chunk table (META chunk) that the header points at.
    Manifest,
    /// A chunk record of the manifest, by its position in the `chunks` list.
    Chunk {
        index: usize,
        kind: String,
    },
    /// A component of the ENVC snapshot, by its position.
    EnvComponent {
        index: usize,
    },
    File,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Header => write!(f, "header"),
            Location::Manifest => write!(f, "manifest (META chunk)"),
            Location::Chunk { index, kind } => write!(f, "{kind} chunk {index}"),
            Location::EnvComponent { index } => write!(f, "environment component {index}"),
            Location::File => write!(f, "file"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a raiiaf or gen5 file: starts with {found:02x?}")]
    NotRaiiaf { found: Vec<u8> },

    #[error("unsupported {format} version {major}.{minor} (this program reads {supported})")]
    UnsupportedVersion { format: &'static str, major: u8, minor: u8, supported: &'static str },

    #[error("truncated: {location} needs bytes {offset}..{end} but the file has {available}")]
    Truncated { location: Location, offset: u64, end: u64, available: u64 },

    #[error("corrupt {location} at offset {offset}: {detail}")]
    Corrupt { location: Location, offset: u64, detail: String },

    #[error("{location}: {what} is {actual}, over the limit of {limit}")]
    LimitExceeded { location: Location, what: &'static str, actual: u64, limit: u64 },

    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },

    #[error("{path} exists; pass --force to overwrite it")]
    DestinationExists { path: PathBuf },

    #[error("could not write {path}: {source}{hint}; any file already there is unchanged", hint = write_hint(source))]
    WriteFailed { path: PathBuf, source: std::io::Error },

    #[error("I/O error: {source}")]
    Io {
        #[from]
        source: std::io::Error,
    },

    /// Any of the above, tied to the file it happened in (the path goes last).
    #[error("{source} (file: {path})")]
    InFile { source: Box<FormatError>, path: PathBuf },
}

/// What a failed write most likely means, for the two failures users can act on.
fn write_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::StorageFull => " (the disk is full)",
        std::io::ErrorKind::FileTooLarge => " (over the file-size limit of this process or file system)",
        _ => "",
    }
}

impl FormatError {
    pub fn in_file(self, path: impl Into<PathBuf>) -> FormatError {
        match self {
            already @ FormatError::InFile { .. } => already,
            other => FormatError::InFile { source: Box::new(other), path: path.into() },
        }
    }

    /// The error without the file wrapper.
    pub fn root(&self) -> &FormatError {
        match self {
            FormatError::InFile { source, .. } => source.root(),
            other => other,
        }
    }

    /// A stable short name of the kind, for reports and scripts.
    pub fn kind(&self) -> &'static str {
        match self.root() {
            FormatError::NotRaiiaf { .. } => "not_raiiaf",
            FormatError::UnsupportedVersion { .. } => "unsupported_version",
            FormatError::Truncated { .. } => "truncated",
            FormatError::Corrupt { .. } => "corrupt",
            FormatError::LimitExceeded { .. } => "limit_exceeded",
            FormatError::InvalidInput { .. } => "invalid_input",
            FormatError::DestinationExists { .. } => "destination_exists",
            FormatError::WriteFailed { .. } => "write_failed",
            FormatError::Io { .. } => "io",
            FormatError::InFile { .. } => "in_file",
        }
    }

    pub(crate) fn corrupt(location: Location, offset: u64, detail: impl Into<String>) -> FormatError {
        FormatError::Corrupt { location, offset, detail: detail.into() }
    }

    pub(crate) fn invalid_input(detail: impl Into<String>) -> FormatError {
        FormatError::InvalidInput { detail: detail.into() }
    }
}

pub type Result<T, E = FormatError> = std::result::Result<T, E>;
