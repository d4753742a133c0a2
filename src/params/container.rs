//! The metadata an image file carries, as key and text, whatever its container:
//!
//! - PNG: `tEXt`, `zTXt` and `iTXt` chunks under their keywords (read by the `png` crate), the
//!   `eXIf` chunk's EXIF, and the XMP packet in an `XML:com.adobe.xmp` chunk.
//! - JPEG: the APP1 segments holding EXIF (`Exif\0\0`) and XMP (`http://ns.adobe.com/xap/1.0/\0`),
//!   and COM segments. Segments are walked up to the first scan (SOS); the compressed image that
//!   follows is never read.
//! - WebP: the RIFF chunks `EXIF` and `XMP `.
//! - PNG and WebP: stealth data in the pixels' low bits ([`super::stealth`]), when asked for.
//!
//! The container is told by its magic bytes, not by a file name. EXIF tags become entries named
//! `EXIF <tag>` (`EXIF UserComment`), XMP properties `XMP <property>` (`XMP exif:UserComment`), the
//! whole XMP packet `XMP`, JPEG comments `JPEG comment`, and stealth payloads their signature
//! (`stealth_pngcomp`). Damage to one part is a problem noted beside what the rest gave.

use super::{ParamsError, TEXT_LIMIT, exif, stealth};

/// The image formats whose metadata is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Png,
    Jpeg,
    WebP,
}

impl Container {
    /// The container of `bytes`, by its magic bytes.
    pub fn detect(bytes: &[u8]) -> Option<Container> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Container::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Container::Jpeg)
        } else if bytes.get(..4) == Some(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(Container::WebP)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Container::Png => "PNG",
            Container::Jpeg => "JPEG",
            Container::WebP => "WebP",
        }
    }
}

/// Everything an image's metadata gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageMetadata {
    pub container: Container,
    /// Key and text, in file order (stealth payloads last).
    pub entries: Vec<(String, String)>,
    /// What could not be read, for a person: damaged EXIF, a stealth payload that does not
    /// inflate, ...
    pub problems: Vec<String>,
    /// The payload hidden in the pixels, when it was looked for and found (also an entry).
    pub stealth: Option<stealth::Stealth>,
}

impl ImageMetadata {
    /// The text of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, text)| text.as_str())
    }
}

/// The XMP packet's keyword in a PNG `iTXt` chunk.
const PNG_XMP_KEYWORD: &str = "XML:com.adobe.xmp";
const JPEG_EXIF_HEADER: &[u8] = b"Exif\0\0";
const JPEG_XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The XMP properties whose text is given its own entry.
const XMP_PROPERTIES: [&str; 3] = ["exif:UserComment", "xmp:CreatorTool", "dc:description"];

/// Reads the metadata of a PNG, JPEG or WebP image, with the stealth payload when `stealth` is
/// set (that decodes the pixels, so it costs far more than the rest). Fails only when the bytes
/// are none of the three, or a PNG's chunks before its image data cannot be read.
pub fn read(bytes: &[u8], stealth: bool) -> Result<ImageMetadata, ParamsError> {
    let container = Container::detect(bytes).ok_or(ParamsError::NotAnImage)?;
    let mut metadata = ImageMetadata { container, entries: Vec::new(), problems: Vec::new(), stealth: None };
    match container {
        Container::Png => read_png(bytes, &mut metadata)?,
        Container::Jpeg => read_jpeg(bytes, &mut metadata),
        Container::WebP => read_webp(bytes, &mut metadata),
    }
    if stealth && matches!(container, Container::Png | Container::WebP) {
        match stealth::read(bytes) {
            Ok(Some(found)) => {
                metadata.entries.push((found.signature.to_string(), found.text.clone()));
                metadata.stealth = Some(found);
            }
            Ok(None) => {}
            Err(problem) => metadata.problems.push(problem.to_string()),
        }
    }
    Ok(metadata)
}

fn read_png(bytes: &[u8], metadata: &mut ImageMetadata) -> Result<(), ParamsError> {
    let (chunks, exif) = super::png_chunks(bytes)?;
    for (key, text) in chunks {
        if key == PNG_XMP_KEYWORD {
            let properties = xmp_properties(&text);
            metadata.entries.push((key, text));
            metadata.entries.extend(properties);
        } else {
            metadata.entries.push((key, text));
        }
    }
    if let Some(exif) = exif {
        add_exif(strip_exif_header(&exif), metadata);
    }
    Ok(())
}

fn add_exif(tiff: &[u8], metadata: &mut ImageMetadata) {
    // A JPEG may carry hundreds of EXIF segments: past TEXT_LIMIT bytes of text read from all of
    // them, the rest are not read.
    let read_so_far: usize = metadata.entries.iter().map(|(_, text)| text.len()).sum();
    if read_so_far > TEXT_LIMIT {
        metadata
            .problems
            .push(format!("EXIF: over {TEXT_LIMIT} bytes of text read already; a further block is skipped"));
        return;
    }
    let exif = exif::read(tiff);
    metadata.entries.extend(exif.fields.into_iter().map(|(name, text)| (format!("EXIF {name}"), text)));
    metadata.problems.extend(exif.problems);
}

fn add_xmp(packet: &[u8], metadata: &mut ImageMetadata) {
    if packet.len() > TEXT_LIMIT {
        metadata.problems.push(format!("XMP: {} bytes, over the limit of {TEXT_LIMIT}; not read", packet.len()));
        return;
    }
    let text = String::from_utf8_lossy(packet).into_owned();
    let properties = xmp_properties(&text);
    metadata.entries.push(("XMP".into(), text));
    metadata.entries.extend(properties);
}

/// Some writers keep the JPEG APP1 header in a WebP `EXIF` chunk or a PNG `eXIf` chunk.
fn strip_exif_header(data: &[u8]) -> &[u8] {
    data.strip_prefix(JPEG_EXIF_HEADER).unwrap_or(data)
}

fn read_jpeg(bytes: &[u8], metadata: &mut ImageMetadata) {
    let mut at = 2usize; // after SOI
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        let Some(&0xFF) = bytes.get(at) else {
            if at < bytes.len() {
                metadata.problems.push(format!("JPEG: no marker at byte {at}; the rest is not read"));
            } else {
                metadata.problems.push("JPEG: ends before its image data".into());
            }
            return;
        };
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else {
            metadata.problems.push("JPEG: ends inside a marker".into());
            return;
        };
        at += 1;
        match marker {
            // Start of scan or end of image: no metadata after this point is read.
            0xDA | 0xD9 => return,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) =
            bytes.get(at..at + 2).and_then(|b| Some(usize::from(u16::from_be_bytes(b.try_into().ok()?))))
        else {
            metadata.problems.push(format!("JPEG: segment FF{marker:02X} at byte {at} has no length"));
            return;
        };
        let Some(segment) = length.checked_sub(2).and_then(|len| bytes.get(at + 2..at + 2 + len)) else {
            metadata.problems.push(format!(
                "JPEG: segment FF{marker:02X} at byte {at} claims {length} bytes, past the end or too short"
            ));
            return;
        };
        match marker {
            0xE1 => {
                if let Some(tiff) = segment.strip_prefix(JPEG_EXIF_HEADER) {
                    add_exif(tiff, metadata);
                } else if let Some(packet) = segment.strip_prefix(JPEG_XMP_HEADER) {
                    add_xmp(packet, metadata);
                }
            }
            0xFE => {
                let text = String::from_utf8_lossy(segment);
                metadata.entries.push(("JPEG comment".into(), text.trim_end_matches('\0').to_string()));
            }
            _ => {}
        }
        at += length;
    }
}

fn read_webp(bytes: &[u8], metadata: &mut ImageMetadata) {
    let riff_size = u32_le(bytes, 4).unwrap_or(0);
    // The RIFF size counts from byte 8; a file cut short ends where its bytes do.
    let end = usize::try_from(riff_size)
        .ok()
        .and_then(|size| size.checked_add(8))
        .map_or(bytes.len(), |end| end.min(bytes.len()));
    let mut at = 12usize;
    while at.checked_add(8).is_some_and(|header_end| header_end <= end) {
        let (Some(fourcc), Some(size)) = (bytes.get(at..at + 4), u32_le(bytes, at + 4)) else { return };
        let data = usize::try_from(size).ok().and_then(|size| Some((size, (at + 8).checked_add(size)?)));
        let Some((size, data_end)) = data.filter(|&(_, data_end)| data_end <= end) else {
            metadata.problems.push(format!(
                "WebP: chunk {:?} at byte {at} claims {size} bytes, past the end",
                String::from_utf8_lossy(fourcc)
            ));
            return;
        };
        let data = bytes.get(at + 8..data_end).unwrap_or_default();
        match fourcc {
            b"EXIF" => add_exif(strip_exif_header(data), metadata),
            b"XMP " => add_xmp(data, metadata),
            _ => {}
        }
        // Chunks are padded to an even size.
        at = data_end + (size & 1);
    }
}

fn u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The entries for the XMP properties read from a packet ([`XMP_PROPERTIES`]).
fn xmp_properties(packet: &str) -> Vec<(String, String)> {
    XMP_PROPERTIES
        .iter()
        .filter_map(|property| Some((format!("XMP {property}"), xmp_property(packet, property)?)))
        .collect()
}

/// The text of one XMP property, written as an attribute (`exif:UserComment="..."`) or as an
/// element, plain or holding an `rdf:Alt`/`rdf:Seq` whose first `rdf:li` is taken. A small scan,
/// not an XML parser: enough for the packets image tools write, and it cannot fail.
pub fn xmp_property(packet: &str, property: &str) -> Option<String> {
    let mut from = 0;
    while let Some(found) = packet.get(from..)?.find(property) {
        let start = from + found;
        let after = start + property.len();
        from = after;
        let before = packet.get(..start)?.chars().next_back();
        let rest = packet.get(after..)?;
        if before == Some('<') {
            // An element: <prop ...>content</prop>, or <prop/>.
            let close = rest.find('>')?;
            let attributes = rest.get(..close)?;
            if !attributes.is_empty() && !attributes.starts_with(char::is_whitespace) && attributes != "/" {
                // A longer name that starts the same: go on after its tag, so that the scan stays
                // linear however many such tags there are.
                from = after + close + 1;
                continue;
            }
            if attributes.ends_with('/') {
                return Some(String::new());
            }
            let content_start = close + 1;
            let end_tag = format!("</{property}>");
            let content_end = rest.find(&end_tag)?;
            let content = rest.get(content_start..content_end)?;
            let content = first_list_item(content).unwrap_or(content);
            return Some(unescape(strip_cdata(content.trim())));
        }
        if before.is_some_and(char::is_whitespace) {
            // An attribute: prop="value" or prop='value'.
            let value = rest.trim_start().strip_prefix('=')?.trim_start();
            let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value = value.get(1..)?;
            let end = value.find(quote)?;
            return Some(unescape(value.get(..end)?));
        }
    }
    None
}

/// The content of the first `<rdf:li ...>` in `content`, when it has one.
fn first_list_item(content: &str) -> Option<&str> {
    let open = content.find("<rdf:li")?;
    let rest = content.get(open + "<rdf:li".len()..)?;
    let close = rest.find('>')?;
    if rest.get(..close)?.ends_with('/') {
        return Some("");
    }
    let inner = rest.get(close + 1..)?;
    let end = inner.find("</rdf:li>")?;
    inner.get(..end)
}

fn strip_cdata(text: &str) -> &str {
    text.strip_prefix("<![CDATA[").and_then(|t| t.strip_suffix("]]>")).unwrap_or(text)
}

/// XML's five named entities and numeric character references; anything else stays as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        // Only the next eleven bytes can hold an entity's `;`: looking further would make a text
        // of many `&` quadratic.
        let entity =
            after.as_bytes().iter().take(11).position(|&b| b == b';').and_then(|end| Some((after.get(..end)?, end)));
        let decoded = entity.and_then(|(name, end)| {
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn entities_are_decoded_and_a_text_of_ampersands_stays_linear() {
        assert_eq!(unescape("a &amp; b &lt;c&gt; &#65;&#x42; &bogus; &"), "a & b <c> AB &bogus; &");
        // Each `&` used to scan to the end of the text for a `;`.
        let ampersands = "&".repeat(2_000_000);
        assert_eq!(unescape(&ampersands), ampersands);
    }
    use crate::params::exif::tests::{Entry, tiff, unicode_comment};

    /// A small RGB JPEG from `image`'s encoder.
    pub(crate) fn plain_jpeg() -> Vec<u8> {
        let image = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&image).unwrap();
        out
    }

    /// `jpeg` with APP1 segments (or any segment) inserted right after SOI.
    pub(crate) fn jpeg_with_segments(segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let jpeg = plain_jpeg();
        let mut out = jpeg[..2].to_vec();
        for (marker, payload) in segments {
            out.extend([0xFF, *marker]);
            out.extend(((payload.len() + 2) as u16).to_be_bytes());
            out.extend(payload);
        }
        out.extend(&jpeg[2..]);
        out
    }

    pub(crate) fn exif_segment(tiff: Vec<u8>) -> (u8, Vec<u8>) {
        (0xE1, [JPEG_EXIF_HEADER, &tiff].concat())
    }

    pub(crate) fn xmp_segment(packet: &str) -> (u8, Vec<u8>) {
        (0xE1, [JPEG_XMP_HEADER, packet.as_bytes()].concat())
    }

    /// A lossless WebP from `image`'s encoder, turned into the extended format (VP8X) with the
    /// given chunks after the image data.
    pub(crate) fn webp_with_chunks(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(4, 3, |x, y| image::Rgba([x as u8, y as u8, 5, 255]));
        let mut simple = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut simple)
            .encode(image.as_raw(), 4, 3, image::ExtendedColorType::Rgba8)
            .unwrap();
        assert_eq!(&simple[12..16], b"VP8L");
        let mut body = b"WEBP".to_vec();
        // VP8X: flags (EXIF 0x08, XMP 0x04), three reserved bytes, canvas width-1 and height-1.
        let mut flags = 0u8;
        for (fourcc, _) in chunks {
            flags |= match *fourcc {
                b"EXIF" => 0x08,
                b"XMP " => 0x04,
                _ => 0,
            };
        }
        body.extend(b"VP8X");
        body.extend(10u32.to_le_bytes());
        body.extend([flags, 0, 0, 0]);
        body.extend(&3u32.to_le_bytes()[..3]);
        body.extend(&2u32.to_le_bytes()[..3]);
        body.extend(&simple[12..]);
        for (fourcc, data) in chunks {
            body.extend(*fourcc);
            body.extend((data.len() as u32).to_le_bytes());
            body.extend(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    pub(crate) fn png_with_text(chunks: &[(&str, &str)], exif: Option<Vec<u8>>) -> Vec<u8> {
        let mut png = Vec::new();
        {
            let mut info = png::Info::with_size(2, 2);
            info.color_type = png::ColorType::Rgba;
            info.exif_metadata = exif.map(Into::into);
            let mut encoder = png::Encoder::with_info(&mut png, info).unwrap();
            for (key, text) in chunks {
                encoder.add_itxt_chunk(key.to_string(), text.to_string()).unwrap();
            }
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[255; 16]).unwrap();
        }
        png
    }

    const DRAW_THINGS_XMP: &str = r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">a fox &amp; a hound</rdf:li></rdf:Alt></dc:description>
   <exif:UserComment>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">{&quot;c&quot;:&quot;a fox &amp; a hound&quot;,&quot;seed&quot;:7}</rdf:li>
    </rdf:Alt>
   </exif:UserComment>
   <xmp:CreatorTool>Draw Things</xmp:CreatorTool>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#;

    #[test]
    fn containers_are_told_by_magic_bytes() {
        for (bytes, container) in [
            (png_with_text(&[], None), Some(Container::Png)),
            (plain_jpeg(), Some(Container::Jpeg)),
            (webp_with_chunks(&[]), Some(Container::WebP)),
            (b"GIF89a".to_vec(), None),
            (b"RIFF\0\0\0\0WAVE".to_vec(), None),
            (vec![], None),
        ] {
            assert_eq!(Container::detect(&bytes), container);
            assert_eq!(read(&bytes, false).is_ok(), container.is_some());
        }
    }

    #[test]
    fn xmp_properties_as_elements_and_attributes() {
        let cases = [
            (DRAW_THINGS_XMP, "exif:UserComment", Some(r#"{"c":"a fox & a hound","seed":7}"#)),
            (DRAW_THINGS_XMP, "xmp:CreatorTool", Some("Draw Things")),
            (DRAW_THINGS_XMP, "dc:description", Some("a fox & a hound")),
            (
                r#"<rdf:Description exif:UserComment="say &quot;hi&quot; &#x263A;&#65;"/>"#,
                "exif:UserComment",
                Some("say \"hi\" ☺A"),
            ),
            (r#"<rdf:Description exif:UserComment = 'single'/>"#, "exif:UserComment", Some("single")),
            ("<exif:UserCommentary>no</exif:UserCommentary>", "exif:UserComment", None),
            ("<exif:UserComment/>", "exif:UserComment", Some("")),
            ("<exif:UserComment><![CDATA[<raw> & text]]></exif:UserComment>", "exif:UserComment", Some("<raw> & text")),
            ("<exif:UserComment>unclosed", "exif:UserComment", None),
            ("exif:UserComment", "exif:UserComment", None),
            ("&bogus; &#xZZ; &", "x", None),
        ];
        for (packet, property, text) in cases {
            assert_eq!(xmp_property(packet, property).as_deref(), text, "{packet:?} {property}");
        }
        assert_eq!(unescape("&bogus; &#xZZ; & &lt;"), "&bogus; &#xZZ; & <");
        // Many look-alike tags: found after all of them, in linear time.
        let packet = format!("{}<exif:UserComment>x</exif:UserComment>", "<exif:UserCommentX>".repeat(200_000));
        let started = std::time::Instant::now();
        assert_eq!(xmp_property(&packet, "exif:UserComment").as_deref(), Some("x"));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    }

    #[test]
    fn jpeg_exif_xmp_and_comments_are_read() {
        for big_endian in [false, true] {
            let exif = tiff(
                big_endian,
                vec![Entry::ascii(0x0110, "prompt:{}")],
                vec![Entry::undefined(0x9286, unicode_comment("a cat\nSteps: 3, Sampler: Euler, Seed: 1", true))],
            );
            let jpeg = jpeg_with_segments(&[
                exif_segment(exif),
                xmp_segment(DRAW_THINGS_XMP),
                (0xFE, b"a comment\0".to_vec()),
            ]);
            let metadata = read(&jpeg, false).unwrap();
            assert_eq!(metadata.container, Container::Jpeg);
            assert!(metadata.problems.is_empty(), "{:?}", metadata.problems);
            assert_eq!(metadata.get("EXIF Model"), Some("prompt:{}"));
            assert_eq!(metadata.get("EXIF UserComment"), Some("a cat\nSteps: 3, Sampler: Euler, Seed: 1"));
            assert_eq!(metadata.get("XMP"), Some(DRAW_THINGS_XMP));
            assert_eq!(metadata.get("XMP xmp:CreatorTool"), Some("Draw Things"));
            assert_eq!(metadata.get("JPEG comment"), Some("a comment"));
            // The image itself still decodes: the segments were inserted properly.
            image::load_from_memory(&jpeg).unwrap();
        }
    }

    #[test]
    fn webp_and_png_exif_and_xmp_are_read() {
        let exif = tiff(false, vec![Entry::ascii(0x010F, "workflow:{}")], vec![]);
        for with_header in [false, true] {
            let data = if with_header { [JPEG_EXIF_HEADER, &exif].concat() } else { exif.clone() };
            let webp = webp_with_chunks(&[(b"EXIF", data), (b"XMP ", DRAW_THINGS_XMP.as_bytes().to_vec())]);
            let metadata = read(&webp, false).unwrap();
            assert_eq!(metadata.container, Container::WebP);
            assert!(metadata.problems.is_empty(), "{:?}", metadata.problems);
            assert_eq!(metadata.get("EXIF Make"), Some("workflow:{}"));
            assert_eq!(metadata.get("XMP exif:UserComment"), Some(r#"{"c":"a fox & a hound","seed":7}"#));
            image::load_from_memory(&webp).unwrap();
        }
        let png = png_with_text(&[("parameters", "x"), (PNG_XMP_KEYWORD, DRAW_THINGS_XMP)], Some(exif));
        let metadata = read(&png, false).unwrap();
        assert_eq!(metadata.get("parameters"), Some("x"));
        assert_eq!(metadata.get("EXIF Make"), Some("workflow:{}"));
        assert_eq!(metadata.get("XMP xmp:CreatorTool"), Some("Draw Things"));
        assert_eq!(metadata.get("XMP"), None, "the PNG's packet is already its own entry");
    }

    #[test]
    fn damaged_containers_give_problems_never_panics() {
        let good_jpeg = jpeg_with_segments(&[exif_segment(tiff(true, vec![Entry::ascii(0x010F, "maker")], vec![]))]);
        let mut past_end = good_jpeg[..2].to_vec();
        past_end.extend([0xFF, 0xE1, 0xFF, 0xFF, b'E', b'x']);
        let mut short_length = good_jpeg[..2].to_vec();
        short_length.extend([0xFF, 0xE1, 0x00, 0x01]);
        let mut no_marker = good_jpeg[..2].to_vec();
        no_marker.extend([0xFF, 0xE1, 0x00, 0x04, b'a', b'b', 0x12, 0x34]);
        let mut ends_early = good_jpeg[..2].to_vec();
        ends_early.extend([0xFF, 0xE1, 0x00, 0x04, b'a', b'b']);
        let good_webp = webp_with_chunks(&[(b"EXIF", tiff(false, vec![Entry::ascii(0x010F, "maker")], vec![]))]);
        let mut webp_past_end = good_webp.clone();
        // The EXIF chunk is last: its size field sits 4 bytes after its fourcc.
        let fourcc_at = webp_past_end.windows(4).rposition(|w| w == b"EXIF").unwrap();
        webp_past_end[fourcc_at + 4..fourcc_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let cases: [(&str, Vec<u8>, &str); 6] = [
            ("JPEG segment past the end", past_end, "past the end"),
            ("JPEG segment length under 2", short_length, "too short"),
            ("JPEG without a marker", no_marker, "no marker"),
            ("JPEG ending after a segment", ends_early, "ends before"),
            ("JPEG ending inside a marker", good_jpeg[..3].to_vec(), "ends inside a marker"),
            ("WebP chunk past the end", webp_past_end, "past the end"),
        ];
        for (name, bytes, problem) in cases {
            let metadata = read(&bytes, false).unwrap();
            assert_eq!(metadata.problems.len(), 1, "{name}: {:?}", metadata.problems);
            assert!(metadata.problems[0].contains(problem), "{name}: {:?}", metadata.problems);
        }
        // Every prefix of good files reads without panicking.
        for bytes in [&good_jpeg, &good_webp] {
            for cut in 0..bytes.len() {
                let _ = read(&bytes[..cut], true);
            }
        }
        assert_eq!(read(&good_jpeg, false).unwrap().get("EXIF Make"), Some("maker"));
        assert_eq!(read(&good_webp, false).unwrap().get("EXIF Make"), Some("maker"));
    }
}
