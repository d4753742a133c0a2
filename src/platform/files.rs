//! A file as a platform hands it over: a path on a machine with a file system, or bytes already
//! read with the name they came with (the browser's file picker, drops and fetches).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::format::{Inspection, Limits};

#[derive(Debug, Clone, PartialEq)]
pub enum FileInput {
    /// A file on disk.
    Path(PathBuf),
    /// Bytes in memory and the file name they came with (no folders: a browser gives none).
    Memory { name: String, bytes: Arc<[u8]> },
}

impl FileInput {
    pub fn memory(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> FileInput {
        FileInput::Memory { name: name.into(), bytes: bytes.into() }
    }

    /// The file name, for titles and suggested output names.
    pub fn name(&self) -> String {
        match self {
            FileInput::Path(path) => {
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
            }
            FileInput::Memory { name, .. } => name.clone(),
        }
    }

    /// The full path where there is one, else the name: what reports and tooltips show.
    pub fn display_name(&self) -> String {
        match self {
            FileInput::Path(path) => path.display().to_string(),
            FileInput::Memory { name, .. } => name.clone(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            FileInput::Path(path) => Some(path),
            FileInput::Memory { .. } => None,
        }
    }

    /// A folder given to verify (only paths can be folders).
    pub fn is_dir(&self) -> bool {
        self.path().is_some_and(Path::is_dir)
    }

    /// The whole file: read from disk, or the bytes held.
    pub fn read(&self) -> std::io::Result<Cow<'_, [u8]>> {
        match self {
            FileInput::Path(path) => std::fs::read(path).map(Cow::Owned),
            FileInput::Memory { bytes, .. } => Ok(Cow::Borrowed(bytes)),
        }
    }

    /// The whole file when it is at most `limit` bytes; a larger one (or a device that never
    /// ends) is refused after reading one byte past the limit, not read whole.
    pub fn read_within(&self, limit: u64) -> std::io::Result<Cow<'_, [u8]>> {
        match self {
            FileInput::Path(path) => read_within(path, limit).map(Cow::Owned),
            FileInput::Memory { bytes, .. } if bytes.len() as u64 > limit => Err(over_limit(limit)),
            FileInput::Memory { bytes, .. } => Ok(Cow::Borrowed(bytes)),
        }
    }

    /// Reads and checks the container (from disk without loading it whole when it is a path).
    pub fn inspect(&self, limits: &Limits) -> Inspection {
        match self {
            FileInput::Path(path) => crate::format::inspect_path(path, limits),
            FileInput::Memory { bytes, .. } => crate::format::inspect(bytes, limits),
        }
    }
}

impl From<PathBuf> for FileInput {
    fn from(path: PathBuf) -> FileInput {
        FileInput::Path(path)
    }
}

fn over_limit(limit: u64) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than the limit of {limit} bytes"))
}

/// The file at `path` when it is at most `limit` bytes (see [`FileInput::read_within`]).
pub fn read_within(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(over_limit(limit));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_memory_reads_and_inspects_as_the_same_file_on_disk() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/f32_zfp.raiiaf");
        let on_disk = FileInput::Path(path.clone());
        let bytes = std::fs::read(&path).unwrap_or_default();
        let in_memory = FileInput::memory("f32_zfp.raiiaf", bytes.clone());
        assert_eq!(on_disk.name(), in_memory.name());
        assert_eq!(in_memory.read().map(|b| b.into_owned()).ok(), Some(bytes));
        let limits = Limits::default();
        let (a, b) = (on_disk.inspect(&limits), in_memory.inspect(&limits));
        assert_eq!(a.verdict(), crate::format::Verdict::Valid);
        assert_eq!(
            crate::format::info::info_json("x", &a),
            crate::format::info::info_json("x", &b),
            "the same checks and hashes from disk and from memory"
        );
        assert!(!in_memory.is_dir() && in_memory.path().is_none());
    }
}
