//! Where the reader takes a file's bytes from.
//!
//! A file is read range by range rather than whole, so a large latent goes from disk straight
//! into its decoded buffer: opening a 400 MB latent costs 400 MB, not a copy of the file as well.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Opens another [`Source`] over the same bytes, to read them on another thread.
pub type Reopen<'a> = Box<dyn Fn() -> io::Result<Box<dyn Source + Send + 'a>> + Sync + 'a>;

/// Random access to the bytes of one file. Callers check ranges against [`Source::len`] first.
pub trait Source {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A reader over `start..end`.
    fn reader(&mut self, start: u64, end: u64) -> io::Result<Box<dyn Read + '_>>;
    /// The bytes `start..end`, borrowed when the source already holds them.
    fn bytes(&mut self, start: u64, end: u64) -> io::Result<Cow<'_, [u8]>> {
        let capacity = usize::try_from(end.saturating_sub(start)).map_err(io::Error::other)?;
        let mut buffer = Vec::with_capacity(capacity);
        self.reader(start, end)?.read_to_end(&mut buffer)?;
        if buffer.len() != capacity {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was read"));
        }
        Ok(Cow::Owned(buffer))
    }
    /// A way to open more sources over the same bytes, where there is one.
    fn reopener(&self) -> Option<Reopen<'_>> {
        None
    }
}

/// A file already in memory.
pub struct SliceSource<'a>(pub &'a [u8]);

impl SliceSource<'_> {
    fn range(&self, start: u64, end: u64) -> io::Result<&[u8]> {
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(start, end)| self.0.get(start..end))
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, format!("bytes {start}..{end} are past the end"))
            })
    }
}

impl Source for SliceSource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn reader(&mut self, start: u64, end: u64) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.range(start, end)?))
    }
    fn bytes(&mut self, start: u64, end: u64) -> io::Result<Cow<'_, [u8]>> {
        self.range(start, end).map(Cow::Borrowed)
    }
    fn reopener(&self) -> Option<Reopen<'_>> {
        let bytes = self.0;
        Some(Box::new(move || Ok(Box::new(SliceSource(bytes)))))
    }
}

/// An open file, read where the reader asks. Its length is taken once, when it is opened.
pub struct FileSource {
    file: io::BufReader<File>,
    len: u64,
    path: std::path::PathBuf,
}

impl FileSource {
    pub fn open(path: &std::path::Path) -> io::Result<FileSource> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource { file: io::BufReader::with_capacity(64 << 10, file), len, path: path.to_path_buf() })
    }

    /// The whole file, in one read; an error if it is no longer the length it had when opened.
    pub fn read_whole(self) -> io::Result<Vec<u8>> {
        let capacity = usize::try_from(self.len).map_err(io::Error::other)?;
        let mut bytes = Vec::with_capacity(capacity);
        let mut file = self.file.into_inner();
        file.seek(SeekFrom::Start(0))?;
        file.take(self.len.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() != capacity {
            return Err(io::Error::other(format!(
                "the file changed from {} to {} bytes while it was read",
                self.len,
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn reader(&mut self, start: u64, end: u64) -> io::Result<Box<dyn Read + '_>> {
        self.file.seek(SeekFrom::Start(start))?;
        Ok(Box::new((&mut self.file).take(end.saturating_sub(start))))
    }
    /// Opens the path again (each thread then has its own position in the file), refusing a
    /// file that is no longer the same length.
    fn reopener(&self) -> Option<Reopen<'_>> {
        let (path, len) = (self.path.clone(), self.len);
        Some(Box::new(move || {
            let again = FileSource::open(&path)?;
            if again.len != len {
                return Err(io::Error::other(format!(
                    "the file changed from {len} to {} bytes while it was read",
                    again.len
                )));
            }
            Ok(Box::new(again))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_slice_sources_read_the_same_ranges() {
        let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        let mut temp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut temp, &data).unwrap();
        let mut file = FileSource::open(temp.path()).unwrap();
        let mut slice = SliceSource(&data);
        assert_eq!(file.len(), slice.len());
        for (start, end) in [(0, 1), (7, 70_000), (199_990, 200_000), (5, 5), (100_000, 100_008)] {
            let from_file = file.bytes(start, end).unwrap().into_owned();
            assert_eq!(from_file, slice.bytes(start, end).unwrap().as_ref());
            assert_eq!(from_file, &data[start as usize..end as usize]);
        }
        assert!(slice.bytes(199_999, 200_001).is_err());
        assert!(file.bytes(199_999, 200_001).is_err(), "a short read is an error, not a short buffer");
    }
}
