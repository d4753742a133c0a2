//! Writing a file so that no crash, kill or full disk leaves a half-written destination: the bytes
//! go to a temporary `.raiiaf-*.partial` file in the destination's folder, which is flushed to
//! disk and then renamed over the destination (a rename within one folder is atomic).
//!
//! A writer that is killed leaves its partial file behind. Each partial file is locked (an advisory
//! lock, released by the system when its process ends however it ends), so the next write into the
//! same folder can tell abandoned partial files from ones still being written, and removes them.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Partial files start with this and end with [`PARTIAL_SUFFIX`].
pub const PARTIAL_PREFIX: &str = ".raiiaf-";
pub const PARTIAL_SUFFIX: &str = ".partial";

/// A locked temporary file beside its destination.
pub struct PartialFile {
    /// The open file, locked; write through it (or through a `try_clone` of it, which shares the lock).
    pub file: File,
    path: tempfile::TempPath,
    destination: PathBuf,
}

/// The folder a destination lies in (`.` for a bare file name).
fn folder_of(destination: &Path) -> &Path {
    match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

impl PartialFile {
    /// Removes partial files abandoned in the destination's folder, then creates and locks a new one.
    pub fn create(destination: &Path) -> io::Result<PartialFile> {
        let folder = folder_of(destination);
        remove_abandoned_partials(folder);
        // Another writer's clean-up can take a partial file between its creation and its lock;
        // the lock is taken at once, so this needs a retry in the rarest case only.
        for _ in 0..3 {
            let mut builder = tempfile::Builder::new();
            builder.prefix(PARTIAL_PREFIX).suffix(PARTIAL_SUFFIX);
            // tempfile creates 0600 files; a finished file gets the usual 0666 less the umask.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                builder.permissions(std::fs::Permissions::from_mode(0o666));
            }
            let (file, path) = builder.tempfile_in(folder)?.into_parts();
            file.lock()?;
            if same_file(&file, &path) {
                return Ok(PartialFile { file, path, destination: destination.to_path_buf() });
            }
        }
        Err(io::Error::other("temporary files in this folder keep disappearing"))
    }

    /// Flushes the file to disk and renames it over the destination (`overwrite`), or to the
    /// destination only if none exists; on failure the partial file is removed and the
    /// destination is as it was.
    pub fn commit(self, overwrite: bool) -> io::Result<()> {
        self.file.sync_all()?;
        let persisted = if overwrite {
            self.path.persist(&self.destination)
        } else {
            self.path.persist_noclobber(&self.destination)
        };
        persisted.map_err(|e| e.error)?;
        // Make the rename itself durable; not every platform can open a folder, so best effort.
        if let Ok(folder) = File::open(folder_of(&self.destination)) {
            let _ = folder.sync_all();
        }
        // `self.file`, and the lock on it, are released as this returns: after the rename.
        Ok(())
    }
}

/// Whether `path` still names the open `file` (a clean-up may have removed it in between).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        // Windows does not let a locked, open file be removed.
        let _ = file;
        path.exists()
    }
}

/// Removes the partial files in `folder` that no running writer holds; returns how many.
pub fn remove_abandoned_partials(folder: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PARTIAL_PREFIX) && name.ends_with(PARTIAL_SUFFIX)) {
            continue;
        }
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else { continue };
        // Locked: a writer is still at work. Unlocked: its writer ended without renaming it.
        if file.try_lock().is_ok() && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn partials(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(PARTIAL_SUFFIX))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_file_replaces_the_destination_and_leaves_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.raiiaf");
        std::fs::write(&destination, b"old").unwrap();
        let mut partial = PartialFile::create(&destination).unwrap();
        partial.file.write_all(b"new contents").unwrap();
        assert_eq!(partials(dir.path()).len(), 1);
        assert_eq!(std::fs::read(&destination).unwrap(), b"old", "the destination changes only at commit");
        partial.commit(true).unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), b"new contents");
        assert!(partials(dir.path()).is_empty());
    }

    #[test]
    fn without_overwrite_an_existing_destination_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.raiiaf");
        std::fs::write(&destination, b"old").unwrap();
        let mut partial = PartialFile::create(&destination).unwrap();
        partial.file.write_all(b"new").unwrap();
        assert_eq!(partial.commit(false).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&destination).unwrap(), b"old");
        assert!(partials(dir.path()).is_empty());
    }

    #[test]
    fn abandoned_partials_are_removed_and_ones_being_written_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        // Abandoned: nobody holds a lock on it (as after a SIGKILL).
        let abandoned = dir.path().join(format!("{PARTIAL_PREFIX}dead{PARTIAL_SUFFIX}"));
        std::fs::write(&abandoned, b"half").unwrap();
        // Not ours: other names are never touched.
        std::fs::write(dir.path().join("notes.partial"), b"x").unwrap();
        // Being written: a live writer holds it.
        let live = PartialFile::create(&dir.path().join("a.raiiaf")).unwrap();
        assert!(!abandoned.exists(), "creating a partial file cleans up abandoned ones");
        let live_name = live.path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(remove_abandoned_partials(dir.path()), 0);
        assert_eq!(partials(dir.path()), vec![live_name, "notes.partial".to_string()]);
        drop(live);
        assert!(partials(dir.path()) == vec!["notes.partial".to_string()], "a dropped partial file removes itself");
    }
}
