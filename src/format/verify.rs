//! Verification results: one entry per check, with a stable code, in the spirit of C2PA
//! validation reports.

use super::error::Location;

/// Stable check codes. Scripts match on these; never rename one.
pub mod code {
    pub const HEADER_MAGIC: &str = "header.magic";
    pub const HEADER_VERSION: &str = "header.version";
    pub const HEADER_FLAGS: &str = "header.flags";
    pub const HEADER_RESERVED: &str = "header.reserved";
    pub const HEADER_TABLE_BOUNDS: &str = "header.table_bounds";
    pub const HEADER_FILE_SIZE: &str = "header.file_size";
    pub const HEADER_CHUNK_COUNT: &str = "header.chunk_count";
    pub const MANIFEST_DECODE: &str = "manifest.decode";
    pub const MANIFEST_INNER_HEADER: &str = "manifest.inner_header";
    pub const MANIFEST_SCHEMA: &str = "manifest.schema";
    pub const MANIFEST_FILE_INFO: &str = "manifest.file_info";
    pub const CHUNK_RECORD: &str = "chunk.record";
    pub const CHUNK_BOUNDS: &str = "chunk.bounds";
    pub const CHUNK_OVERLAP: &str = "chunk.overlap";
    pub const CHUNK_INNER_HEADER: &str = "chunk.inner_header";
    pub const CHUNK_SHAPE: &str = "chunk.shape";
    pub const CHUNK_DECODE: &str = "chunk.decode";
    pub const CHUNK_HASH: &str = "chunk.hash";
    pub const CHUNK_STORED_HASH: &str = "chunk.stored_hash";
    pub const ENVC_DIGEST: &str = "envc.digest";
    pub const LAYOUT_COVERAGE: &str = "layout.coverage";
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub code: &'static str,
    pub ok: bool,
    pub message: String,
    #[serde(serialize_with = "location_text")]
    pub location: Location,
}

fn location_text<S: serde::Serializer>(location: &Location, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(location)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed.
    Valid,
    /// Readable, but at least one check failed.
    Invalid,
    /// The header or manifest could not be read; little or nothing can be shown.
    Unreadable,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unreadable => "unreadable",
        }
    }
    /// Exit status of `raiiaf verify` for this verdict.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Unreadable => 2,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn push(&mut self, code: &'static str, location: Location, ok: bool, message: impl Into<String>) {
        self.checks.push(Check { code, ok, message: message.into(), location });
    }
    pub fn pass(&mut self, code: &'static str, location: Location, message: impl Into<String>) {
        self.push(code, location, true, message);
    }
    pub fn fail(&mut self, code: &'static str, location: Location, message: impl Into<String>) {
        self.push(code, location, false, message);
    }
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}
