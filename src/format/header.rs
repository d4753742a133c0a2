//! The fixed-size file header: 33 bytes for raiiaf 1.x, 32 bytes for gen5 0.1.

use super::error::{FormatError, Location, Result};

/// Which generation of the container a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Raiiaf,
    Gen5,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Raiiaf => "raiiaf",
            Format::Gen5 => "gen5",
        }
    }
    pub fn header_size(self) -> usize {
        match self {
            Format::Raiiaf => RAIIAF_HEADER_SIZE,
            Format::Gen5 => GEN5_HEADER_SIZE,
        }
    }
    /// Root key of the manifest JSON.
    pub fn manifest_root(self) -> &'static str {
        match self {
            Format::Raiiaf => "raiiaf_metadata",
            Format::Gen5 => "gen5_metadata",
        }
    }
    pub fn magic(self) -> &'static [u8] {
        match self {
            Format::Raiiaf => RAIIAF_MAGIC,
            Format::Gen5 => GEN5_MAGIC,
        }
    }
}

pub const RAIIAF_MAGIC: &[u8] = b"raiiaf";
pub const GEN5_MAGIC: &[u8] = b"GEN5";
pub const RAIIAF_HEADER_SIZE: usize = 33;
pub const GEN5_HEADER_SIZE: usize = 32;
/// The larger of the two header sizes: enough bytes to parse either.
pub const MAX_HEADER_SIZE: u64 =
    if RAIIAF_HEADER_SIZE > GEN5_HEADER_SIZE { RAIIAF_HEADER_SIZE } else { GEN5_HEADER_SIZE } as u64;

/// Header fields of either format; gen5's narrower fields are widened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub format: Format,
    pub version_major: u8,
    pub version_minor: u8,
    pub flags: u16,
    pub chunk_table_offset: u32,
    pub chunk_table_size: u32,
    pub chunk_count: u32,
    pub file_size: u64,
    pub reserved: u64,
}

fn u8_at(bytes: &[u8], at: usize) -> Option<u8> {
    bytes.get(at).copied()
}
fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}
fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// Recognises the format from the first bytes, if they are long enough to tell.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(RAIIAF_MAGIC) {
        Some(Format::Raiiaf)
    } else if bytes.starts_with(GEN5_MAGIC) {
        Some(Format::Gen5)
    } else {
        None
    }
}

impl Header {
    /// Parses the header at the start of `bytes`. Only the magic and the version decide whether
    /// the file can be read at all; everything else is left to the checks.
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        let format =
            sniff(bytes).ok_or_else(|| FormatError::NotRaiiaf { found: bytes.iter().take(8).copied().collect() })?;
        let size = format.header_size();
        let truncated = || FormatError::Truncated {
            location: Location::Header,
            offset: 0,
            end: size as u64,
            available: bytes.len() as u64,
        };
        let head = bytes.get(..size).ok_or_else(truncated)?;
        let header = match format {
            Format::Raiiaf => Header {
                format,
                version_major: u8_at(head, 6).ok_or_else(truncated)?,
                version_minor: u8_at(head, 7).ok_or_else(truncated)?,
                flags: u16::from(u8_at(head, 8).ok_or_else(truncated)?),
                chunk_table_offset: le_u32(head, 9).ok_or_else(truncated)?,
                chunk_table_size: le_u32(head, 13).ok_or_else(truncated)?,
                chunk_count: le_u32(head, 17).ok_or_else(truncated)?,
                file_size: le_u64(head, 21).ok_or_else(truncated)?,
                reserved: u64::from(le_u32(head, 29).ok_or_else(truncated)?),
            },
            Format::Gen5 => Header {
                format,
                version_major: u8_at(head, 4).ok_or_else(truncated)?,
                version_minor: u8_at(head, 5).ok_or_else(truncated)?,
                flags: le_u16(head, 6).ok_or_else(truncated)?,
                chunk_table_offset: le_u32(head, 8).ok_or_else(truncated)?,
                chunk_table_size: le_u32(head, 12).ok_or_else(truncated)?,
                chunk_count: le_u32(head, 16).ok_or_else(truncated)?,
                file_size: u64::from(le_u32(head, 20).ok_or_else(truncated)?),
                reserved: le_u64(head, 24).ok_or_else(truncated)?,
            },
        };
        // Both reference readers accept any major version >= 1 (gen5: any); a later major
        // version may change the layout, so refuse what neither reference ever wrote.
        if header.version_major != 1 && !(format == Format::Gen5 && header.version_major == 0) {
            return Err(FormatError::UnsupportedVersion {
                format: format.name(),
                major: header.version_major,
                minor: header.version_minor,
                supported: "1.x",
            });
        }
        Ok(header)
    }

    /// Serialises a raiiaf 1.0 header (the only kind this program writes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RAIIAF_HEADER_SIZE);
        out.extend_from_slice(RAIIAF_MAGIC);
        out.push(self.version_major);
        out.push(self.version_minor);
        out.push(u8::try_from(self.flags).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.chunk_table_offset.to_le_bytes());
        out.extend_from_slice(&self.chunk_table_size.to_le_bytes());
        out.extend_from_slice(&self.chunk_count.to_le_bytes());
        out.extend_from_slice(&self.file_size.to_le_bytes());
        out.extend_from_slice(&u32::try_from(self.reserved).unwrap_or(u32::MAX).to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raiiaf_header_round_trips() {
        let header = Header {
            format: Format::Raiiaf,
            version_major: 1,
            version_minor: 0,
            flags: 0,
            chunk_table_offset: 1234,
            chunk_table_size: 56,
            chunk_count: 3,
            file_size: 1290,
            reserved: 0,
        };
        let bytes = header.to_bytes();
        assert_eq!(bytes.len(), RAIIAF_HEADER_SIZE);
        assert_eq!(Header::parse(&bytes).unwrap(), header);
    }

    #[test]
    fn gen5_header_fields_are_read_at_their_offsets() {
        let mut bytes = b"GEN5".to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&7u16.to_le_bytes());
        for value in [100u32, 20, 2, 120] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        bytes.extend_from_slice(&9u64.to_le_bytes());
        let header = Header::parse(&bytes).unwrap();
        assert_eq!(header.format, Format::Gen5);
        assert_eq!(
            (header.flags, header.chunk_table_offset, header.chunk_table_size, header.chunk_count),
            (7, 100, 20, 2)
        );
        assert_eq!((header.file_size, header.reserved), (120, 9));
    }

    #[test]
    fn short_and_foreign_inputs_are_refused() {
        assert!(matches!(Header::parse(b"raiiaf\x01"), Err(FormatError::Truncated { .. })));
        assert!(matches!(Header::parse(b"\x89PNG\r\n\x1a\n"), Err(FormatError::NotRaiiaf { .. })));
        assert!(matches!(Header::parse(b""), Err(FormatError::NotRaiiaf { .. })));
        let mut v2 = vec![0u8; RAIIAF_HEADER_SIZE];
        v2[..6].copy_from_slice(RAIIAF_MAGIC);
        v2[6] = 2;
        assert!(matches!(Header::parse(&v2), Err(FormatError::UnsupportedVersion { major: 2, .. })));
    }
}
