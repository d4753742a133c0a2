//! Comparing two files: every manifest field, the environment snapshots, each pair of latents
//! (by key) and the images, summed up in one sentence.
//!
//! Two files are *equivalent* when everything but the volatile fields (the date, and the
//! chunk table's offsets and sizes, see [`is_volatile`]) is identical: manifest, environment,
//! every latent bit for bit, and the image.

use image::RgbaImage;
use serde_json::{Map, Value, json};

use crate::format::environment::{self, ComponentComparison, ComponentStatus};
use crate::format::reader::DecodedLatent;
use crate::format::{Inspection, Latent, LatentValues, Limits, StoredCodec, Verdict};

use super::words::{self, Segment};
use crate::platform::FileInput;

/// How a row of two-sided values relates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Same,
    Differs,
    OnlyInA,
    OnlyInB,
}

impl RowStatus {
    fn of(a: Option<&Value>, b: Option<&Value>) -> RowStatus {
        match (a, b) {
            (Some(a), Some(b)) if a == b => RowStatus::Same,
            (Some(_), Some(_)) => RowStatus::Differs,
            (Some(_), None) => RowStatus::OnlyInA,
            (None, _) => RowStatus::OnlyInB,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::Same => "same",
            RowStatus::Differs => "differs",
            RowStatus::OnlyInA => "only in A",
            RowStatus::OnlyInB => "only in B",
        }
    }
}

/// One leaf of the manifest body, on both sides.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ManifestRow {
    /// Dotted path under the manifest's root key, e.g. `model_info.generation_settings.seed`.
    pub path: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
    pub status: RowStatus,
    /// Expected to differ between otherwise equivalent files (see [`is_volatile`]).
    pub volatile: bool,
}

/// Differences in the value of one pair of latents with the same shape.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ValueDifferences {
    /// Same dtype and every value bit for bit the same.
    pub identical: bool,
    pub value_count: u64,
    /// Values that are not equal (NaN equals NaN here).
    pub differing_values: u64,
    /// Over the pairs where both values are finite.
    pub max_abs_diff: f64,
    pub mean_abs_diff: f64,
    pub rmse: f64,
    /// Pairs where one value is NaN or infinite and the other is not the same non-finite value.
    pub non_finite_mismatches: u64,
}

/// One key's latents on both sides.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LatentComparison {
    pub key: String,
    pub a_shape: Option<Vec<usize>>,
    pub b_shape: Option<Vec<usize>>,
    pub a_dtype: Option<&'static str>,
    pub b_dtype: Option<&'static str>,
    /// `None` when the key is on one side only or the shapes differ.
    pub values: Option<ValueDifferences>,
}

impl LatentComparison {
    pub fn identical(&self) -> bool {
        self.values.is_some_and(|v| v.identical)
    }
    pub fn shapes_agree(&self) -> bool {
        self.a_shape.is_some() && self.a_shape == self.b_shape
    }
    pub fn dtypes_agree(&self) -> bool {
        self.a_dtype.is_some() && self.a_dtype == self.b_dtype
    }
}

/// Differences between the two decoded images of the same size.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PixelDifferences {
    /// Largest difference of one channel (RGBA, 0 to 255).
    pub max_abs_diff: u8,
    /// Mean over every channel of every pixel.
    pub mean_abs_diff: f64,
    /// Peak signal-to-noise ratio over RGBA in dB; `None` when identical (infinite).
    pub psnr: Option<f64>,
    /// Share of pixels (0 to 1) where any channel differs.
    pub differing_pixel_share: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageComparison {
    /// The stored image files are the same bytes.
    pub bytes_identical: bool,
    /// The decoded pixels are the same (true as well when the bytes are).
    pub identical: bool,
    pub a_size: Option<[u32; 2]>,
    pub b_size: Option<[u32; 2]>,
    /// `None` unless both decoded to the same size.
    pub pixels: Option<PixelDifferences>,
    /// Why a side could not be compared (missing, or not decodable).
    pub problem: Option<String>,
}

/// Everything compared between file A and file B.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub a_verdict: Verdict,
    pub b_verdict: Verdict,
    /// The fatal errors, when a side cannot be read.
    pub a_error: Option<String>,
    pub b_error: Option<String>,
    pub manifest: Vec<ManifestRow>,
    /// A's components against B's, paired by id (`file` is A, `other` is B).
    pub environment: Vec<ComponentComparison>,
    pub latents: Vec<LatentComparison>,
    /// `None` when neither file has an image.
    pub image: Option<ImageComparison>,
    /// Word by word, each prompt field (`model_info.prompt`, a `negative_prompt`) that differs,
    /// by manifest path.
    pub prompt_words: Vec<(String, Vec<Segment>)>,
}

/// A decoded image, `Err` when its bytes do not decode.
pub type DecodedPixels = Result<RgbaImage, String>;

/// Decodes a file's image to RGBA at full resolution within the limits; `None` when the file has
/// none.
pub fn decode_image(inspection: &Inspection, limits: &Limits) -> Option<DecodedPixels> {
    let image = inspection.image.as_ref()?;
    Some(crate::format::picture::decode_rgba(&image.bytes, limits).map_err(|e| e.to_string()))
}

/// Reads and checks two files at once (on two threads where the platform has them).
pub fn inspect_pair(a: &FileInput, b: &FileInput, limits: &Limits) -> (Inspection, Inspection) {
    let mut both = crate::platform::map_in_parallel(vec![a, b], |file| file.inspect(limits)).into_iter();
    // map_in_parallel returns one result per item.
    let empty = || crate::format::inspect(&[], limits);
    let a_inspection = both.next().unwrap_or_else(empty);
    (a_inspection, both.next().unwrap_or_else(empty))
}

impl Comparison {
    /// Compares two files, decoding their images within the limits.
    pub fn of(a: &Inspection, b: &Inspection, limits: &Limits) -> Comparison {
        Comparison::with_images(a, b, decode_image(a, limits).as_ref(), decode_image(b, limits).as_ref())
    }

    /// Compares two files whose images the caller has already decoded.
    pub fn with_images(
        a: &Inspection,
        b: &Inspection,
        a_pixels: Option<&DecodedPixels>,
        b_pixels: Option<&DecodedPixels>,
    ) -> Comparison {
        let no_components = Vec::new();
        let a_components = a.environment.as_ref().map_or(&no_components, |e| &e.components);
        let b_components = b.environment.as_ref().map_or(&no_components, |e| &e.components);
        let image = match (&a.image, &b.image) {
            (None, None) => None,
            (a_image, b_image) => Some(compare_images(
                a_image.as_ref().map(|i| i.bytes.as_slice()),
                b_image.as_ref().map(|i| i.bytes.as_slice()),
                a_pixels,
                b_pixels,
            )),
        };
        let manifest = compare_manifests(a, b);
        Comparison {
            a_verdict: a.verdict(),
            b_verdict: b.verdict(),
            a_error: a.fatal.as_ref().map(|e| e.root().to_string()),
            b_error: b.fatal.as_ref().map(|e| e.root().to_string()),
            prompt_words: prompt_words(&manifest),
            manifest,
            environment: environment::compare(a_components, b_components),
            latents: compare_latents(a, b),
            image,
        }
    }

    /// Manifest rows that differ; volatile ones only with `all`.
    pub fn manifest_differences(&self, all: bool) -> impl Iterator<Item = &ManifestRow> {
        self.manifest.iter().filter(move |row| row.status != RowStatus::Same && (all || !row.volatile))
    }

    pub fn environment_differences(&self) -> impl Iterator<Item = &ComponentComparison> {
        self.environment.iter().filter(|c| c.status != ComponentStatus::Same)
    }

    /// Both files readable and identical but for the volatile fields.
    pub fn equivalent(&self) -> bool {
        self.a_error.is_none()
            && self.b_error.is_none()
            && self.manifest_differences(false).next().is_none()
            && self.environment_differences().next().is_none()
            && self.latents.iter().all(LatentComparison::identical)
            && self.image.as_ref().is_none_or(|i| i.identical)
    }

    /// The comparison in one sentence, most telling parts first.
    pub fn verdict_line(&self) -> String {
        let mut parts = Vec::new();
        for (side, verdict, error) in [("A", self.a_verdict, &self.a_error), ("B", self.b_verdict, &self.b_error)] {
            match (verdict, error) {
                (Verdict::Unreadable, Some(error)) => parts.push(format!("{side} cannot be read ({error})")),
                (Verdict::Invalid, _) => parts.push(format!("{side} fails some checks")),
                _ => {}
            }
        }
        if self.a_error.is_some() || self.b_error.is_some() {
            return parts.join("; ");
        }
        parts.extend(self.latents_sentence());
        parts.extend(self.manifest_sentences());
        parts.push(self.environment_sentence());
        if let Some(image) = &self.image {
            parts.push(image_sentence(image));
        }
        let line = parts.join("; ");
        if self.equivalent() { format!("Equivalent: {line}") } else { line }
    }

    fn latents_sentence(&self) -> Vec<String> {
        if self.latents.is_empty() {
            return vec!["no latents on either side".into()];
        }
        let identical: Vec<&str> = self.latents.iter().filter(|l| l.identical()).map(|l| l.key.as_str()).collect();
        let mut parts = Vec::new();
        if !identical.is_empty() {
            let noun = if identical.len() == 1 { "latent" } else { "latents" };
            parts.push(format!("{noun} {} bit-identical", short_list(&identical)));
            if identical.len() == self.latents.len() {
                return parts;
            }
        }
        for latent in self.latents.iter().filter(|l| !l.identical()) {
            let key = &latent.key;
            parts.push(match (&latent.a_shape, &latent.b_shape, &latent.values) {
                (Some(_), None, _) => format!("latent {key} only in A"),
                (None, Some(_), _) => format!("latent {key} only in B"),
                (Some(a), Some(b), None) => format!("latent {key} shapes differ ({a:?} vs {b:?})"),
                (_, _, Some(values)) if values.differing_values == 0 => format!(
                    "latent {key} has equal values stored as {} vs {}",
                    latent.a_dtype.unwrap_or("?"),
                    latent.b_dtype.unwrap_or("?")
                ),
                (_, _, Some(values)) => format!(
                    "latent {key} differs in {} of {} values (max |a-b| {})",
                    values.differing_values,
                    values.value_count,
                    short_number(values.max_abs_diff)
                ),
                (None, None, None) => format!("latent {key} missing on both sides"),
            });
        }
        parts
    }

    /// "settings differ in seed (42 vs 43)", one sentence per manifest section.
    fn manifest_sentences(&self) -> Vec<String> {
        const SECTIONS: [(&str, &str); 5] = [
            ("model_info.generation_settings.", "settings"),
            ("model_info.hardware_info.", "hardware"),
            ("model_info.", "model info"),
            ("chunks.", "storage"),
            ("", "manifest"),
        ];
        let mut grouped: Vec<(&str, Vec<String>)> = SECTIONS.iter().map(|(_, name)| (*name, Vec::new())).collect();
        // A chunk's hash changes with its content, which the latent, image and environment
        // parts of the sentence already describe.
        let rows =
            self.manifest_differences(false).filter(|r| !(r.path.starts_with("chunks.") && r.path.ends_with(".hash")));
        for row in rows {
            let Some((position, (prefix, _))) =
                SECTIONS.iter().enumerate().find(|(_, (prefix, _))| row.path.starts_with(prefix))
            else {
                continue;
            };
            let field = row.path.get(prefix.len()..).unwrap_or(&row.path);
            // "chunk 0 flags" rather than "0.flags".
            let field = match (*prefix, field.split_once('.')) {
                ("chunks.", Some((position, rest))) => format!("chunk {position} {rest}"),
                _ => field.to_string(),
            };
            let described = match (&row.a, &row.b) {
                (Some(a), Some(b)) if is_short(a) && is_short(b) => {
                    format!("{field} ({} vs {})", value_text(a), value_text(b))
                }
                (Some(_), None) => format!("{field} (only in A)"),
                (None, Some(_)) => format!("{field} (only in B)"),
                _ => field,
            };
            if let Some((_, list)) = grouped.get_mut(position) {
                list.push(described);
            }
        }
        grouped
            .into_iter()
            .filter(|(_, fields)| !fields.is_empty())
            .map(|(name, fields)| {
                let verb = if name == "settings" { "differ" } else { "differs" };
                let shown: Vec<&str> = fields.iter().map(String::as_str).collect();
                format!("{name} {verb} in {}", short_list(&shown))
            })
            .collect()
    }

    fn environment_sentence(&self) -> String {
        let differing: Vec<String> = self
            .environment_differences()
            .map(|c| match (&c.file, &c.other) {
                (Some(a), Some(b)) => {
                    format!("{} ({} vs {})", c.component_id, component_version(a), component_version(b))
                }
                (Some(_), None) => format!("{} (only in A)", c.component_id),
                _ => format!("{} (only in B)", c.component_id),
            })
            .collect();
        if differing.is_empty() {
            if self.environment.is_empty() {
                "no environment on either side".into()
            } else {
                "environment identical".into()
            }
        } else {
            let shown: Vec<&str> = differing.iter().map(String::as_str).collect();
            format!("environment differs in {}", short_list(&shown))
        }
    }

    /// The `raiiaf diff --json` object.
    pub fn to_json(&self, all: bool, a_path: &str, b_path: &str) -> Value {
        let latents: Vec<Value> = self
            .latents
            .iter()
            .map(|l| {
                let v = l.values;
                json!({
                    "key": l.key,
                    "identical": l.identical(),
                    "a_shape": l.a_shape, "b_shape": l.b_shape,
                    "a_dtype": l.a_dtype, "b_dtype": l.b_dtype,
                    "value_count": v.map(|v| v.value_count),
                    "differing_values": v.map(|v| v.differing_values),
                    "max_abs_diff": v.map(|v| v.max_abs_diff),
                    "mean_abs_diff": v.map(|v| v.mean_abs_diff),
                    "rmse": v.map(|v| v.rmse),
                    "non_finite_mismatches": v.map(|v| v.non_finite_mismatches),
                })
            })
            .collect();
        let manifest: Vec<Value> =
            self.manifest_differences(all).map(|r| json!({"path": r.path, "a": r.a, "b": r.b})).collect();
        let environment: Vec<Value> = self
            .environment_differences()
            .map(|c| json!({"component_id": c.component_id, "a": c.file, "b": c.other}))
            .collect();
        let image = self.image.as_ref().map(|i| {
            json!({
                "identical": i.identical,
                "bytes_identical": i.bytes_identical,
                "a_size": i.a_size, "b_size": i.b_size,
                "max_abs_diff": i.pixels.map(|p| p.max_abs_diff),
                "mean_abs_diff": i.pixels.map(|p| p.mean_abs_diff),
                "psnr": i.pixels.and_then(|p| p.psnr),
                "differing_pixel_share": i.pixels.map(|p| p.differing_pixel_share),
                "problem": i.problem,
            })
        });
        let prompt_words: Vec<Value> =
            self.prompt_words.iter().map(|(path, segments)| json!({"path": path, "segments": segments})).collect();
        json!({
            "equivalent": self.equivalent(),
            "summary": self.verdict_line(),
            "a": {"verdict": self.a_verdict.name(), "error": self.a_error, "path": a_path},
            "b": {"verdict": self.b_verdict.name(), "error": self.b_error, "path": b_path},
            "latents": latents,
            "manifest_differences": manifest,
            "environment_differences": environment,
            "image": image,
            "prompt_words": prompt_words,
        })
    }
}

/// The differing prompt rows (paths ending in `prompt`), word by word.
fn prompt_words(manifest: &[ManifestRow]) -> Vec<(String, Vec<Segment>)> {
    manifest
        .iter()
        .filter(|row| row.status == RowStatus::Differs && row.path.ends_with("prompt"))
        .filter_map(|row| Some((row.path.clone(), words::diff(row.a.as_ref()?.as_str()?, row.b.as_ref()?.as_str()?))))
        .collect()
}

/// B - A for each latent of A whose key B has too, in the same shape: what the difference
/// heatmaps show. Each keeps the position of A's latent as its record.
pub fn difference_latents(a: &Inspection, b: &Inspection) -> Vec<DecodedLatent> {
    a.latents
        .iter()
        .enumerate()
        .filter_map(|(position, decoded)| {
            let partner = b.latents.iter().find(|other| other.latent.key() == decoded.latent.key())?;
            let latent = difference_latent(&decoded.latent, &partner.latent)?;
            Some(DecodedLatent { record: position, codec: StoredCodec::Raw, latent, sha256: None })
        })
        .collect()
}

/// Fields expected to differ between two writes of the same content: the date, the size the
/// manifest records for the file, and where and how large each stored chunk is.
pub fn is_volatile(path: &str) -> bool {
    if path == "model_info.date" || path == "file_info.file_size" {
        return true;
    }
    let Some(rest) = path.strip_prefix("chunks.") else { return false };
    let field = rest.split_once('.').map_or("", |(_, field)| field);
    // `len_header`/`len_data` are the byte lengths of a zfp chunk's parts; the stored hash changes
    // with the compression of the same content.
    matches!(
        field,
        "offset"
            | "compressed_size"
            | "uncompressed_size"
            | "len_header"
            | "len_data"
            | crate::format::manifest::STORED_HASH_KEY
    )
}

/// Every leaf of a manifest body as (dotted path, value). Objects are descended into; arrays
/// of plain values (tags) are one leaf; arrays holding objects (chunks, GPUs) are descended
/// into by position.
pub fn flatten(body: &Map<String, Value>) -> Vec<(String, &Value)> {
    fn walk<'a>(prefix: &str, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    walk(&join(prefix, key), child, out);
                }
            }
            Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
                for (position, child) in items.iter().enumerate() {
                    walk(&join(prefix, &position.to_string()), child, out);
                }
            }
            leaf => out.push((prefix.to_string(), leaf)),
        }
    }
    fn join(prefix: &str, key: &str) -> String {
        if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
    }
    let mut out = Vec::new();
    for (key, value) in body {
        walk(key, value, &mut out);
    }
    out
}

fn compare_manifests(a: &Inspection, b: &Inspection) -> Vec<ManifestRow> {
    let empty = Map::new();
    let a_leaves = flatten(a.manifest_body().unwrap_or(&empty));
    let b_leaves = flatten(b.manifest_body().unwrap_or(&empty));
    let b_index: std::collections::HashMap<&str, &Value> = b_leaves.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let a_paths: std::collections::HashSet<&str> = a_leaves.iter().map(|(p, _)| p.as_str()).collect();
    let mut rows = Vec::new();
    let mut push = |path: &str, a: Option<&Value>, b: Option<&Value>| {
        rows.push(ManifestRow {
            path: path.to_string(),
            a: a.cloned(),
            b: b.cloned(),
            status: RowStatus::of(a, b),
            volatile: is_volatile(path),
        });
    };
    if a.format() != b.format() {
        let name = |i: &Inspection| i.format().map(|f| Value::from(f.name()));
        push("format", name(a).as_ref(), name(b).as_ref());
    }
    for (path, value) in &a_leaves {
        push(path, Some(value), b_index.get(path.as_str()).copied());
    }
    for (path, value) in &b_leaves {
        if !a_paths.contains(path.as_str()) {
            push(path, None, Some(value));
        }
    }
    rows
}

fn compare_latents(a: &Inspection, b: &Inspection) -> Vec<LatentComparison> {
    let mut rows: Vec<LatentComparison> = Vec::new();
    let mut used = vec![false; b.latents.len()];
    for decoded in &a.latents {
        let latent = &decoded.latent;
        let partner = b
            .latents
            .iter()
            .enumerate()
            .find(|(i, other)| !used.get(*i).copied().unwrap_or(true) && other.latent.key() == latent.key());
        let mut row = LatentComparison {
            key: latent.key().to_string(),
            a_shape: Some(latent.shape().to_vec()),
            b_shape: None,
            a_dtype: Some(latent.dtype().numpy_name()),
            b_dtype: None,
            values: None,
        };
        if let Some((i, other)) = partner {
            if let Some(slot) = used.get_mut(i) {
                *slot = true;
            }
            row.b_shape = Some(other.latent.shape().to_vec());
            row.b_dtype = Some(other.latent.dtype().numpy_name());
            if latent.shape() == other.latent.shape() {
                row.values = Some(value_differences(latent.values(), other.latent.values()));
            }
        }
        rows.push(row);
    }
    for (other, _) in b.latents.iter().zip(&used).filter(|(_, used)| !**used) {
        rows.push(LatentComparison {
            key: other.latent.key().to_string(),
            a_shape: None,
            b_shape: Some(other.latent.shape().to_vec()),
            a_dtype: None,
            b_dtype: Some(other.latent.dtype().numpy_name()),
            values: None,
        });
    }
    rows
}

/// Values as f32 without a copy when they already are.
fn as_f32(values: &LatentValues) -> std::borrow::Cow<'_, [f32]> {
    match values {
        LatentValues::F32(v) => std::borrow::Cow::Borrowed(v),
        LatentValues::F16(_) => std::borrow::Cow::Owned(values.to_f32_vec()),
    }
}

/// Differences between two value buffers of the same length.
pub fn value_differences(a: &LatentValues, b: &LatentValues) -> ValueDifferences {
    // Bits, not `==`: floats say NaN != NaN and 0.0 == -0.0.
    let identical = match (a, b) {
        (LatentValues::F32(x), LatentValues::F32(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        (LatentValues::F16(x), LatentValues::F16(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => false,
    };
    let (a, b) = (as_f32(a), as_f32(b));
    let (mut differing, mut non_finite, mut finite_pairs) = (0u64, 0u64, 0u64);
    let (mut max_abs, mut sum_abs, mut sum_sq) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b.iter()) {
        let same = x == y || (x.is_nan() && y.is_nan());
        if !same {
            differing += 1;
        }
        if x.is_finite() && y.is_finite() {
            let d = (f64::from(x) - f64::from(y)).abs();
            finite_pairs += 1;
            max_abs = max_abs.max(d);
            sum_abs += d;
            sum_sq += d * d;
        } else if !same {
            non_finite += 1;
        }
    }
    let mean = |sum: f64| if finite_pairs == 0 { 0.0 } else { sum / finite_pairs as f64 };
    ValueDifferences {
        identical,
        value_count: a.len() as u64,
        differing_values: differing,
        max_abs_diff: max_abs,
        mean_abs_diff: mean(sum_abs),
        rmse: mean(sum_sq).sqrt(),
        non_finite_mismatches: non_finite,
    }
}

/// `b - a` as a float32 latent of the same shape, for difference heatmaps; `None` when the
/// shapes differ.
pub fn difference_latent(a: &Latent, b: &Latent) -> Option<Latent> {
    if a.shape() != b.shape() {
        return None;
    }
    let (x, y) = (as_f32(a.values()), as_f32(b.values()));
    let values: Vec<f32> =
        x.iter().zip(y.iter()).map(|(p, q)| if p.to_bits() == q.to_bits() { 0.0 } else { q - p }).collect();
    Latent::new(format!("{} (B - A)", a.key()), a.shape().to_vec(), LatentValues::F32(values)).ok()
}

/// Compares the stored images: bytes first, then decoded pixels when both decode to one size.
pub fn compare_images(
    a_bytes: Option<&[u8]>,
    b_bytes: Option<&[u8]>,
    a_pixels: Option<&DecodedPixels>,
    b_pixels: Option<&DecodedPixels>,
) -> ImageComparison {
    let bytes_identical = matches!((a_bytes, b_bytes), (Some(x), Some(y)) if x == y);
    let size = |p: Option<&DecodedPixels>| p.and_then(|r| r.as_ref().ok()).map(|i| [i.width(), i.height()]);
    let mut comparison = ImageComparison {
        bytes_identical,
        identical: bytes_identical,
        a_size: size(a_pixels),
        b_size: size(b_pixels),
        pixels: None,
        problem: None,
    };
    comparison.problem = match (a_pixels, b_pixels) {
        (None, _) => Some("only B has an image".into()),
        (_, None) => Some("only A has an image".into()),
        (Some(Err(error)), _) => Some(format!("A: {error}")),
        (_, Some(Err(error))) => Some(format!("B: {error}")),
        (Some(Ok(a)), Some(Ok(b))) if a.dimensions() != b.dimensions() => {
            Some(format!("sizes differ ({}x{} vs {}x{})", a.width(), a.height(), b.width(), b.height()))
        }
        (Some(Ok(a)), Some(Ok(b))) => {
            let pixels = pixel_differences(a, b);
            comparison.identical = bytes_identical || pixels.max_abs_diff == 0;
            comparison.pixels = Some(pixels);
            None
        }
    };
    comparison
}

/// Per-channel differences of two images of the same size.
pub fn pixel_differences(a: &RgbaImage, b: &RgbaImage) -> PixelDifferences {
    let (mut max_abs, mut sum_abs, mut sum_sq, mut differing_pixels) = (0u8, 0u64, 0u64, 0u64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        let mut pixel_differs = false;
        for (x, y) in p.0.iter().zip(q.0.iter()) {
            let d = x.abs_diff(*y);
            pixel_differs |= d != 0;
            max_abs = max_abs.max(d);
            sum_abs += u64::from(d);
            sum_sq += u64::from(d) * u64::from(d);
        }
        differing_pixels += u64::from(pixel_differs);
    }
    let channels = (u64::from(a.width()) * u64::from(a.height()) * 4).max(1) as f64;
    let mse = sum_sq as f64 / channels;
    PixelDifferences {
        max_abs_diff: max_abs,
        mean_abs_diff: sum_abs as f64 / channels,
        psnr: (mse > 0.0).then(|| 10.0 * (255.0f64 * 255.0 / mse).log10()),
        differing_pixel_share: differing_pixels as f64 / (channels / 4.0),
    }
}

/// Where the images differ: black where identical, the largest channel difference of each
/// pixel on the inferno colormap, scaled so the largest difference in the image is brightest.
pub fn difference_image(a: &RgbaImage, b: &RgbaImage) -> Option<RgbaImage> {
    if a.dimensions() != b.dimensions() {
        return None;
    }
    let per_pixel: Vec<u8> = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| p.0.iter().zip(q.0.iter()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0))
        .collect();
    let largest = per_pixel.iter().copied().max().unwrap_or(0).max(1);
    let colormap = crate::tensor::Colormap::Inferno;
    let mut out = RgbaImage::new(a.width(), a.height());
    for (pixel, &d) in out.pixels_mut().zip(&per_pixel) {
        let [r, g, b] = if d == 0 { [0, 0, 0] } else { colormap.eval(f64::from(d) / f64::from(largest)) };
        *pixel = image::Rgba([r, g, b, 255]);
    }
    Some(out)
}

fn image_sentence(image: &ImageComparison) -> String {
    if image.bytes_identical {
        return "images identical".into();
    }
    if image.identical {
        return "images pixel-identical (stored differently)".into();
    }
    match (&image.pixels, &image.problem) {
        (Some(p), _) => format!(
            "images differ (PSNR {}, {:.1}% of pixels)",
            p.psnr.map_or("inf".into(), |v| format!("{v:.1} dB")),
            p.differing_pixel_share * 100.0
        ),
        (None, Some(problem)) => format!("images not comparable: {problem}"),
        (None, None) => "images differ".into(),
    }
}

/// `version=2.5.1` out of `name=torch;version=2.5.1;cuda=12.1`; the whole remainder when
/// there is more than the version, so that `cuda=` changes are not hidden.
fn component_version(canonical: &str) -> String {
    let fields: Vec<&str> = canonical.split(';').filter(|f| !f.starts_with("name=")).collect();
    match fields.as_slice() {
        [single] => single.split_once('=').map_or(*single, |(_, v)| v).to_string(),
        many => many.join(";"),
    }
}

fn is_short(value: &Value) -> bool {
    value_text(value).chars().count() <= 40
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short_number(value: f64) -> String {
    if value != 0.0 && (value.abs() < 1e-3 || value.abs() >= 1e5) {
        format!("{value:.3e}")
    } else {
        format!("{value:.4}")
    }
}

/// "a, b and 3 more".
fn short_list(items: &[&str]) -> String {
    const SHOWN: usize = 4;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!("{} and {} more", items.get(..SHOWN).unwrap_or(items).join(", "), items.len() - SHOWN)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use half::f16;

    #[test]
    fn flatten_descends_objects_and_arrays_of_objects_only() {
        let body = json!({
            "model_info": {"seed_free": 1, "tags": ["a", "b"], "hardware_info": {"gpu": [{"name": "A100"}, {"name": "H100"}]}},
            "chunks": [{"index": 0, "extra": {}}],
            "empty": []
        });
        let leaves: Vec<(String, Value)> =
            flatten(body.as_object().unwrap()).into_iter().map(|(p, v)| (p, v.clone())).collect();
        assert_eq!(
            leaves,
            vec![
                ("model_info.seed_free".to_string(), json!(1)),
                ("model_info.tags".to_string(), json!(["a", "b"])),
                ("model_info.hardware_info.gpu.0.name".to_string(), json!("A100")),
                ("model_info.hardware_info.gpu.1.name".to_string(), json!("H100")),
                ("chunks.0.index".to_string(), json!(0)),
                ("chunks.0.extra".to_string(), json!({})),
                ("empty".to_string(), json!([])),
            ]
        );
    }

    #[test]
    fn volatile_fields_are_the_date_and_chunk_positions_and_sizes() {
        let cases = [
            ("model_info.date", true),
            ("file_info.file_size", true),
            ("chunks.0.offset", true),
            ("chunks.12.compressed_size", true),
            ("chunks.1.uncompressed_size", true),
            ("chunks.1.len_data", true),
            ("chunks.1.hash", false),
            ("chunks.1.flags", false),
            ("chunks.1.extra.shape", false),
            ("model_info.generation_settings.seed", false),
            ("model_info.hardware_info.offset", false),
            ("file_info.chunk_count", false),
        ];
        for (path, volatile) in cases {
            assert_eq!(is_volatile(path), volatile, "{path}");
        }
    }

    #[test]
    fn value_differences_table() {
        let f32s = |v: &[f32]| LatentValues::F32(v.to_vec());
        struct Case {
            a: LatentValues,
            b: LatentValues,
            identical: bool,
            differing: u64,
            max: f64,
            non_finite: u64,
        }
        let cases = [
            Case { a: f32s(&[1.0, 2.0]), b: f32s(&[1.0, 2.0]), identical: true, differing: 0, max: 0.0, non_finite: 0 },
            Case {
                a: f32s(&[1.0, 2.0]),
                b: f32s(&[1.0, 2.5]),
                identical: false,
                differing: 1,
                max: 0.5,
                non_finite: 0,
            },
            // NaN against NaN with the same bits: identical.
            Case {
                a: f32s(&[f32::NAN, 1.0]),
                b: f32s(&[f32::NAN, 1.0]),
                identical: true,
                differing: 0,
                max: 0.0,
                non_finite: 0,
            },
            // NaN against a number: a mismatch kept out of the finite statistics.
            Case {
                a: f32s(&[f32::NAN, 1.0]),
                b: f32s(&[0.0, 1.0]),
                identical: false,
                differing: 1,
                max: 0.0,
                non_finite: 1,
            },
            Case {
                a: f32s(&[f32::INFINITY]),
                b: f32s(&[f32::INFINITY]),
                identical: true,
                differing: 0,
                max: 0.0,
                non_finite: 0,
            },
            // 0.0 and -0.0 are equal numbers but not the same bits.
            Case { a: f32s(&[0.0]), b: f32s(&[-0.0]), identical: false, differing: 0, max: 0.0, non_finite: 0 },
            // Equal values in two dtypes: not bit-identical, no value differs.
            Case {
                a: f32s(&[0.5, -2.0]),
                b: LatentValues::F16(vec![f16::from_f32(0.5), f16::from_f32(-2.0)]),
                identical: false,
                differing: 0,
                max: 0.0,
                non_finite: 0,
            },
        ];
        for (n, case) in cases.iter().enumerate() {
            let d = value_differences(&case.a, &case.b);
            assert_eq!(
                (d.identical, d.differing_values, d.max_abs_diff, d.non_finite_mismatches),
                (case.identical, case.differing, case.max, case.non_finite),
                "case {n}"
            );
        }
    }

    #[test]
    fn mean_and_rmse_over_finite_pairs() {
        let a = LatentValues::F32(vec![0.0, 0.0, 0.0, 0.0]);
        let b = LatentValues::F32(vec![1.0, -3.0, 0.0, 0.0]);
        let d = value_differences(&a, &b);
        assert_eq!(d.max_abs_diff, 3.0);
        assert_eq!(d.mean_abs_diff, (1.0 + 3.0) / 4.0);
        assert_eq!(d.rmse, ((1.0f64 + 9.0) / 4.0).sqrt());
    }

    #[test]
    fn pixel_differences_and_difference_image() {
        let a = RgbaImage::from_pixel(4, 2, image::Rgba([10, 20, 30, 255]));
        let mut b = a.clone();
        b.put_pixel(1, 1, image::Rgba([10, 20, 50, 255]));
        b.put_pixel(3, 0, image::Rgba([15, 20, 30, 255]));
        let d = pixel_differences(&a, &b);
        assert_eq!(d.max_abs_diff, 20);
        let channels = 4.0 * 2.0 * 4.0;
        assert_eq!(d.mean_abs_diff, 25.0 / channels);
        let mse = (400.0 + 25.0) / channels;
        assert!((d.psnr.unwrap() - 10.0 * (65025.0f64 / mse).log10()).abs() < 1e-9);
        assert_eq!(d.differing_pixel_share, 2.0 / 8.0);
        assert_eq!(pixel_differences(&a, &a).psnr, None);

        let map = difference_image(&a, &b).unwrap();
        assert_eq!(map.get_pixel(0, 0).0, [0, 0, 0, 255], "identical pixels are black");
        let brightest = crate::tensor::Colormap::Inferno.eval(1.0);
        assert_eq!(map.get_pixel(1, 1).0[..3], brightest, "the largest difference is brightest");
        assert_ne!(map.get_pixel(3, 0).0[..3], brightest);
        assert!(difference_image(&a, &RgbaImage::new(2, 2)).is_none());
    }

    #[test]
    fn component_versions_are_shortened_only_when_alone() {
        assert_eq!(component_version("name=numpy;version=1.26.4"), "1.26.4");
        assert_eq!(component_version("name=torch;version=2.5.1;cuda=12.1"), "version=2.5.1;cuda=12.1");
        assert_eq!(component_version("name=gpu;model=H100;driver=550"), "model=H100;driver=550");
    }
}
