//! A bounded reader for the TIFF structure inside EXIF data, for the few text tags generators write
//! to: `UserComment` (0x9286), `ImageDescription` (0x010E), `Make` (0x010F), `Model` (0x0110),
//! `Software` (0x0131), `XPComment` (0x9C9C) and a textual `MakerNote` (0x927C, Fooocus' scheme).
//!
//! Every offset and count comes from the file, so every read goes through `get`, every size is
//! checked arithmetic, and IFDs already visited are not read again (a pointer back to an earlier
//! IFD would otherwise loop). Tags are taken from IFD0 and the Exif sub-IFD: Pillow writes
//! `UserComment` into IFD0 when a program sets it on the top-level `Exif` object (Fooocus does).
//! IFD1 (the thumbnail's) is skipped.

use super::TEXT_LIMIT;

/// EXIF data larger than this is not read (a JPEG segment holds at most 64 KiB; a WebP chunk has
/// no such bound).
pub const MAX_EXIF_BYTES: usize = TEXT_LIMIT;

/// IFDs read at most: IFD0, the Exif sub-IFD, and room for damaged files that point elsewhere.
const MAX_IFDS: usize = 8;

const EXIF_IFD_POINTER: u16 = 0x8769;

/// The text tags read, by tag number, with the name their entries get (`EXIF <name>`).
const TEXT_TAGS: [(u16, &str); 7] = [
    (0x010E, "ImageDescription"),
    (0x010F, "Make"),
    (0x0110, "Model"),
    (0x0131, "Software"),
    (0x9286, "UserComment"),
    (0x9C9C, "XPComment"),
    (0x927C, "MakerNote"),
];

/// What one EXIF block gave: (tag name, text) in the order read, and what was wrong with it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Exif {
    pub fields: Vec<(&'static str, String)>,
    pub problems: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Order {
    Little,
    Big,
}

struct Tiff<'a> {
    data: &'a [u8],
    order: Order,
}

impl Tiff<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let bytes: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self.order {
            Order::Little => u16::from_le_bytes(bytes),
            Order::Big => u16::from_be_bytes(bytes),
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let bytes: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self.order {
            Order::Little => u32::from_le_bytes(bytes),
            Order::Big => u32::from_be_bytes(bytes),
        })
    }
}

/// Bytes per value of a TIFF field type; `None` for types this reader does not know.
fn type_size(field_type: u16) -> Option<usize> {
    match field_type {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

/// Reads the text tags of a TIFF structure (`II*\0` or `MM\0*` first). Never fails: damage is a
/// problem, and the fields read before it are kept.
pub fn read(tiff: &[u8]) -> Exif {
    let mut exif = Exif::default();
    if tiff.len() > MAX_EXIF_BYTES {
        exif.problems.push(format!("EXIF: {} bytes, over the limit of {MAX_EXIF_BYTES}; not read", tiff.len()));
        return exif;
    }
    let order = match tiff.get(..4) {
        Some(b"II*\0") => Order::Little,
        Some(b"MM\0*") => Order::Big,
        _ => {
            exif.problems.push("EXIF: no TIFF header (II*\\0 or MM\\0*)".into());
            return exif;
        }
    };
    let tiff = Tiff { data: tiff, order };
    let Some(first) = tiff.u32_at(4) else {
        exif.problems.push("EXIF: truncated TIFF header".into());
        return exif;
    };
    // IFD offsets to read: IFD0, then the Exif sub-IFD its pointer names. IFD0's next-IFD pointer
    // (IFD1, the thumbnail's tags) is not followed.
    let mut queue: Vec<u32> = vec![first];
    let mut visited: Vec<u32> = Vec::new();
    let mut loop_reported = false;
    while let Some(offset) = queue.pop() {
        if visited.contains(&offset) {
            // Said once: thousands of entries may point back.
            if !loop_reported {
                exif.problems.push(format!("EXIF: IFD at offset {offset} is pointed at twice (a loop); read once"));
                loop_reported = true;
            }
            continue;
        }
        if visited.len() >= MAX_IFDS {
            exif.problems.push(format!("EXIF: more than {MAX_IFDS} IFDs; the rest are skipped"));
            break;
        }
        visited.push(offset);
        read_ifd(&tiff, offset, &mut exif, &mut queue);
    }
    exif
}

fn read_ifd(tiff: &Tiff<'_>, offset: u32, exif: &mut Exif, queue: &mut Vec<u32>) {
    let Ok(start) = usize::try_from(offset) else { return };
    let Some(count) = tiff.u16_at(start) else {
        exif.problems.push(format!("EXIF: IFD offset {offset} is past the end ({} bytes)", tiff.data.len()));
        return;
    };
    let entries_end = usize::from(count).checked_mul(12).and_then(|n| n.checked_add(start + 2));
    if entries_end.is_none_or(|end| end > tiff.data.len()) {
        exif.problems.push(format!("EXIF: IFD at offset {offset} claims {count} entries, more than the data holds"));
        return;
    }
    for index in 0..usize::from(count) {
        let Some(at) = index.checked_mul(12).and_then(|n| n.checked_add(start + 2)) else { return };
        let (Some(tag), Some(field_type), Some(value_count)) =
            (tiff.u16_at(at), tiff.u16_at(at + 2), tiff.u32_at(at + 4))
        else {
            return;
        };
        if tag == EXIF_IFD_POINTER {
            match tiff.u32_at(at + 8) {
                // A pointer already followed or queued is not queued again (each would only add
                // a problem, and thousands of entries can repeat one).
                Some(pointer) if queue.contains(&pointer) => {}
                Some(pointer) => queue.push(pointer),
                None => exif.problems.push("EXIF: truncated Exif IFD pointer".into()),
            }
            continue;
        }
        let Some(&(_, name)) = TEXT_TAGS.iter().find(|(t, _)| *t == tag) else { continue };
        // Each text tag is read once: thousands of entries may point at one large value, and
        // decoding each would take far more memory than the data holds.
        if exif.fields.iter().any(|(read, _)| *read == name) {
            continue;
        }
        match value_bytes(tiff, at, field_type, value_count) {
            Ok(bytes) => {
                if let Some(text) = decode(tag, bytes) {
                    exif.fields.push((name, text));
                }
            }
            Err(problem) => exif.problems.push(format!("EXIF {name}: {problem}")),
        }
    }
}

/// The bytes of one entry's value: inline in the entry when they fit in four bytes, else at the
/// offset the entry gives.
fn value_bytes<'a>(tiff: &Tiff<'a>, entry: usize, field_type: u16, count: u32) -> Result<&'a [u8], String> {
    let size = type_size(field_type).ok_or_else(|| format!("unknown field type {field_type}"))?;
    let total = usize::try_from(count)
        .ok()
        .and_then(|count| count.checked_mul(size))
        .ok_or_else(|| format!("{count} values of {size} bytes overflow"))?;
    if total <= 4 {
        return tiff.data.get(entry + 8..entry + 8 + total).ok_or_else(|| "truncated entry".to_string());
    }
    let offset = tiff.u32_at(entry + 8).ok_or("truncated entry")?;
    let start = usize::try_from(offset).map_err(|_| "offset out of range".to_string())?;
    start
        .checked_add(total)
        .and_then(|end| tiff.data.get(start..end))
        .ok_or_else(|| format!("{total} bytes at offset {offset} run past the end ({} bytes)", tiff.data.len()))
}

fn decode(tag: u16, bytes: &[u8]) -> Option<String> {
    match tag {
        0x9286 => Some(user_comment(bytes)),
        0x9C9C => Some(utf16(bytes, Order::Little)),
        // Camera maker notes are binary; only a short, textual one (Fooocus writes its scheme
        // name) is kept.
        0x927C => std::str::from_utf8(trim_nuls(bytes))
            .ok()
            .filter(|text| text.len() <= 256 && text.chars().all(|c| !c.is_control() || c.is_whitespace()))
            .map(str::to_string),
        _ => Some(String::from_utf8_lossy(trim_nuls(bytes)).into_owned()),
    }
}

fn trim_nuls(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or_default()
}

/// `UserComment`: an 8-byte character code, then the text. `UNICODE\0` is UTF-16 in either byte
/// order in practice (piexif, which AUTOMATIC1111 and Easy Diffusion use, writes big-endian
/// whatever the TIFF order; other writers follow the TIFF order): a byte-order mark decides, else
/// the order that reads as more ASCII (prompts and JSON are mostly ASCII; the wrong order turns
/// each ASCII character into a CJK one), else big-endian. `ASCII\0\0\0` and the all-zero "undefined"
/// code are read as UTF-8 (a superset in practice). Without a known code (Pillow writes a plain
/// string), the whole value is the text.
fn user_comment(bytes: &[u8]) -> String {
    let (prefix, body) = bytes.split_at_checked(8).unwrap_or((bytes, &[]));
    match prefix {
        b"UNICODE\0" => match body.get(..2) {
            Some([0xFE, 0xFF]) => utf16(body.get(2..).unwrap_or_default(), Order::Big),
            Some([0xFF, 0xFE]) => utf16(body.get(2..).unwrap_or_default(), Order::Little),
            _ => {
                let big = utf16(body, Order::Big);
                let little = utf16(body, Order::Little);
                let ascii = |text: &str| text.chars().filter(char::is_ascii).count();
                if ascii(&little) > ascii(&big) { little } else { big }
            }
        },
        b"ASCII\0\0\0" | b"JIS\0\0\0\0\0" | [0, 0, 0, 0, 0, 0, 0, 0] => {
            String::from_utf8_lossy(trim_nuls(body)).into_owned()
        }
        _ => String::from_utf8_lossy(trim_nuls(bytes)).into_owned(),
    }
}

/// UTF-16 in the given order, unpaired surrogates replaced, trailing NULs dropped; an odd last
/// byte is ignored.
fn utf16(bytes: &[u8], order: Order) -> String {
    let units = bytes.chunks_exact(2).map(|pair| {
        let pair = [pair.first().copied().unwrap_or(0), pair.get(1).copied().unwrap_or(0)];
        match order {
            Order::Little => u16::from_le_bytes(pair),
            Order::Big => u16::from_be_bytes(pair),
        }
    });
    let text: String = char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    text.trim_end_matches('\0').to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One IFD entry to write: tag, type, count and the value bytes (inline or placed after).
    pub(crate) struct Entry {
        pub tag: u16,
        pub field_type: u16,
        pub value: Vec<u8>,
    }

    impl Entry {
        pub fn ascii(tag: u16, text: &str) -> Entry {
            let mut value = text.as_bytes().to_vec();
            value.push(0);
            Entry { tag, field_type: 2, value }
        }

        pub fn undefined(tag: u16, value: Vec<u8>) -> Entry {
            Entry { tag, field_type: 7, value }
        }
    }

    /// UserComment bytes: `UNICODE\0` and UTF-16 in the order given.
    pub(crate) fn unicode_comment(text: &str, big_endian: bool) -> Vec<u8> {
        let mut bytes = b"UNICODE\0".to_vec();
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        bytes
    }

    /// A TIFF structure written byte by byte: IFD0 with `ifd0`, and when `exif_ifd` is not empty
    /// an Exif sub-IFD holding it, pointed at from IFD0.
    pub(crate) fn tiff(big_endian: bool, ifd0: Vec<Entry>, exif_ifd: Vec<Entry>) -> Vec<u8> {
        let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = if big_endian { b"MM\0*".to_vec() } else { b"II*\0".to_vec() };
        out.extend(u32b(8));
        let mut ifd0 = ifd0;
        let has_exif = !exif_ifd.is_empty();
        if has_exif {
            ifd0.push(Entry { tag: EXIF_IFD_POINTER, field_type: 4, value: vec![0; 4] });
        }
        // Layout: IFD0 entries, next pointer, IFD0 values, then the Exif IFD and its values.
        let write_ifd = |out: &mut Vec<u8>, entries: &[Entry], patch_pointer: Option<u32>| {
            let start = out.len();
            let table_len = 2 + entries.len() * 12 + 4;
            let mut data_at = start + table_len;
            let mut table = Vec::new();
            let mut data = Vec::new();
            table.extend(u16b(entries.len() as u16));
            for entry in entries {
                table.extend(u16b(entry.tag));
                table.extend(u16b(entry.field_type));
                let size = type_size(entry.field_type).unwrap();
                table.extend(u32b((entry.value.len() / size) as u32));
                if entry.tag == EXIF_IFD_POINTER {
                    table.extend(u32b(patch_pointer.unwrap()));
                } else if entry.value.len() <= 4 {
                    let mut inline = entry.value.clone();
                    inline.resize(4, 0);
                    table.extend(inline);
                } else {
                    table.extend(u32b(data_at as u32));
                    data.extend(&entry.value);
                    data_at += entry.value.len();
                    if entry.value.len() % 2 == 1 {
                        data.push(0);
                        data_at += 1;
                    }
                }
            }
            table.extend(u32b(0));
            out.extend(table);
            out.extend(data);
        };
        // The Exif IFD goes after IFD0; its offset is known once IFD0's size is.
        let ifd0_size = {
            let mut scratch = vec![0; 8];
            write_ifd(&mut scratch, &ifd0, has_exif.then_some(0));
            scratch.len() - 8
        };
        let exif_at = (8 + ifd0_size) as u32;
        write_ifd(&mut out, &ifd0, has_exif.then_some(exif_at));
        if has_exif {
            write_ifd(&mut out, &exif_ifd, None);
        }
        out
    }

    fn field<'a>(exif: &'a Exif, name: &str) -> Option<&'a str> {
        exif.fields.iter().find(|(n, _)| *n == name).map(|(_, text)| text.as_str())
    }

    #[test]
    fn text_tags_are_read_in_both_byte_orders() {
        let prompt = "a cat, ünïcödé ✓\nSteps: 20, Sampler: Euler, Seed: 1";
        for big_endian in [false, true] {
            for comment_big_endian in [false, true] {
                let bytes = tiff(
                    big_endian,
                    vec![
                        Entry::ascii(0x010E, "workflow:{}"),
                        Entry::ascii(0x010F, "Make"),
                        Entry::ascii(0x0110, "prompt:{\"1\": {}}"),
                        Entry::ascii(0x0131, "Fooocus v2.5.5"),
                        Entry {
                            tag: 0x9C9C,
                            field_type: 1,
                            value: "xp ✓\0".encode_utf16().flat_map(u16::to_le_bytes).collect(),
                        },
                        Entry::undefined(0x927C, b"fooocus".to_vec()),
                    ],
                    vec![Entry::undefined(0x9286, unicode_comment(prompt, comment_big_endian))],
                );
                let exif = read(&bytes);
                assert!(exif.problems.is_empty(), "{:?}", exif.problems);
                let case = format!("tiff big-endian {big_endian}, comment big-endian {comment_big_endian}");
                assert_eq!(field(&exif, "UserComment"), Some(prompt), "{case}");
                assert_eq!(field(&exif, "ImageDescription"), Some("workflow:{}"), "{case}");
                assert_eq!(field(&exif, "Make"), Some("Make"), "{case}");
                assert_eq!(field(&exif, "Model"), Some("prompt:{\"1\": {}}"), "{case}");
                assert_eq!(field(&exif, "Software"), Some("Fooocus v2.5.5"), "{case}");
                assert_eq!(field(&exif, "XPComment"), Some("xp ✓"), "{case}");
                assert_eq!(field(&exif, "MakerNote"), Some("fooocus"), "{case}");
            }
        }
    }

    #[test]
    fn user_comment_character_codes() {
        let cases: [(Vec<u8>, &str); 8] = [
            (b"ASCII\0\0\0plain text".to_vec(), "plain text"),
            ([&[0u8; 8][..], b"undefined code\0\0"].concat(), "undefined code"),
            (b"no prefix at all".to_vec(), "no prefix at all"),
            ([&b"UNICODE\0"[..], &[0xFE, 0xFF, 0, b'h', 0, b'i']].concat(), "hi"),
            ([&b"UNICODE\0"[..], &[0xFF, 0xFE, b'h', 0, b'i', 0]].concat(), "hi"),
            (unicode_comment("Steps: 20", true), "Steps: 20"),
            (unicode_comment("Steps: 20", false), "Steps: 20"),
            // CJK text has no zero bytes to tell the order: big-endian (piexif's) is taken.
            (unicode_comment("猫", true), "猫"),
        ];
        for (bytes, text) in cases {
            assert_eq!(user_comment(&bytes), text, "{bytes:?}");
        }
        assert_eq!(user_comment(b"UNI"), "UNI");
        assert_eq!(user_comment(&[]), "");
    }

    #[test]
    fn damaged_exif_gives_problems_never_panics() {
        let good = tiff(false, vec![Entry::ascii(0x010E, "a description long enough")], vec![]);
        let mut past_end = good.clone();
        past_end.truncate(good.len() - 10);
        let mut huge_count = good.clone();
        // The entry's count (bytes 14..18 in II order): four billion ASCII values.
        huge_count[14..18].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut bad_ifd_offset = good.clone();
        bad_ifd_offset[4..8].copy_from_slice(&1_000_000u32.to_le_bytes());
        let mut many_entries = good.clone();
        many_entries[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        let mut unknown_type = good.clone();
        unknown_type[12..14].copy_from_slice(&99u16.to_le_bytes());
        let cases: [(&str, Vec<u8>, &str); 8] = [
            ("empty", vec![], "no TIFF header"),
            ("not tiff", b"JFIF0000".to_vec(), "no TIFF header"),
            ("header only", b"II*\0".to_vec(), "truncated TIFF header"),
            ("value past the end", past_end, "run past the end"),
            ("huge count", huge_count, "run past the end"),
            ("IFD offset past the end", bad_ifd_offset, "past the end"),
            ("65535 entries", many_entries, "more than the data holds"),
            ("unknown type", unknown_type, "unknown field type"),
        ];
        for (name, bytes, problem) in cases {
            let exif = read(&bytes);
            assert!(exif.fields.is_empty(), "{name}: {:?}", exif.fields);
            assert_eq!(exif.problems.len(), 1, "{name}: {:?}", exif.problems);
            assert!(exif.problems[0].contains(problem), "{name}: {:?}", exif.problems);
        }
        // Every prefix of a good block: no panic, and a problem whenever something was cut.
        let full = tiff(
            true,
            vec![Entry::ascii(0x010F, "maker name")],
            vec![Entry::undefined(0x9286, unicode_comment("x y z", true))],
        );
        for cut in 0..full.len() {
            let exif = read(&full[..cut]);
            assert!(!exif.problems.is_empty() || exif.fields.len() == 2, "cut {cut}");
        }
        assert_eq!(read(&full).fields.len(), 2);
    }

    #[test]
    fn ifd_loops_are_read_once() {
        // The Exif IFD pointer points back at IFD0 itself.
        let mut bytes = tiff(false, vec![Entry::ascii(0x010F, "maker name")], vec![Entry::ascii(0x0131, "soft")]);
        // IFD0 starts at 8: count, entry 0 (Make), entry 1 (pointer); the pointer's value at 8+2+12+8.
        let pointer_at = 8 + 2 + 12 + 8;
        bytes[pointer_at..pointer_at + 4].copy_from_slice(&8u32.to_le_bytes());
        let exif = read(&bytes);
        assert_eq!(exif.fields, vec![("Make", "maker name".to_string())]);
        assert_eq!(exif.problems.len(), 1, "{:?}", exif.problems);
        assert!(exif.problems[0].contains("loop"));
        let too_big = vec![0u8; MAX_EXIF_BYTES + 1];
        assert!(read(&too_big).problems[0].contains("over the limit"));
    }
}
