//! `raiiaf verify` over whole folders: discovery (recursive or not, extensions, ignored files),
//! stdout order, exit codes, and the JSON and CSV reports read back and compared with what the
//! library says about each file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;

use common::raiiaf;

use std::path::{Path, PathBuf};

use raiiaf_workbench::format::manifest::lookup;
use raiiaf_workbench::format::verify::code;
use raiiaf_workbench::format::{
    EnvComponent, Environment, LatentCodec, LatentValues, ModelInfo, PackLatent, PackRequest, Verdict, pack,
};
use serde_json::{Map, Value, json};

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn packed(model: &str, seed: u64, components: Vec<EnvComponent>) -> Vec<u8> {
    let values = (0..256).map(|i| (i as f32 * 0.61 + seed as f32).cos()).collect();
    let latent = raiiaf_workbench::format::Latent::new("noise", vec![1, 4, 8, 8], LatentValues::F32(values)).unwrap();
    let request = PackRequest {
        latents: vec![PackLatent { latent, codec: LatentCodec::Raw, float16: false }],
        image: Some(common::png_with_text(8, 8, &[])),
        model_info: ModelInfo {
            model_name: model.into(),
            version: "1.0".into(),
            date: "2025-03-01T12:00:00+00:00".into(),
            prompt: format!("prompt for {model}"),
            tags: vec![],
            generation_settings: json!({"seed": seed, "steps": 20, "sampler": "euler"}).as_object().cloned(),
            hardware_info: json!({"os": "Linux"}).as_object().cloned(),
            extra: Map::new(),
        },
        environment: Environment::new(components),
        ..PackRequest::default()
    };
    pack(&request).unwrap().bytes
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The corpus, relative to its root:
///   a.raiiaf                valid (sd15, seed 11, torch + two gpus)
///   b.RAIIAF                valid (sdxl, seed 22)
///   garbage.raiiaf          random bytes: unreadable
///   notes.txt, picture.png  ignored
///   sub/c.raiiaf            valid (flux, seed 33)
///   sub/truncated.raiiaf    the first 60% of a valid file
///   sub/deeper/flipped.raiiaf  one byte of the latent payload flipped
///   sub/deeper/ok.gen5      a gen5 fixture
fn corpus(root: &Path) {
    let gpus = vec![
        EnvComponent::new("torch", "name=torch;version=2.5.1;cuda=12.1"),
        EnvComponent::new("gpu", "name=gpu;model=RTX 4090;driver=550"),
        EnvComponent::new("gpu", "name=gpu;model=RTX 3060;driver=550"),
    ];
    let a = packed("sd15", 11, gpus);
    write(&root.join("a.raiiaf"), &a);
    write(&root.join("b.RAIIAF"), &packed("sdxl", 22, vec![EnvComponent::new("python", "name=python;version=3.11.7")]));
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    write(&root.join("garbage.raiiaf"), &garbage);
    write(&root.join("notes.txt"), b"not a container");
    write(&root.join("picture.png"), &common::png_with_text(4, 4, &[]));
    let c = packed("flux", 33, vec![EnvComponent::new("numpy", "name=numpy;version=2.1.0")]);
    write(&root.join("sub/c.raiiaf"), &c);
    write(&root.join("sub/truncated.raiiaf"), &c[..c.len() * 6 / 10]);
    let inspection = common::inspect_file(&root.join("a.raiiaf"));
    let (start, end) = inspection.records.iter().find(|r| r.kind == "LATN").unwrap().span().unwrap();
    let mut flipped = a.clone();
    flipped[(start as usize + 12 + end as usize) / 2] ^= 0x10;
    write(&root.join("sub/deeper/flipped.raiiaf"), &flipped);
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::copy(common::fixtures_dir().join("gen5_zstd.gen5"), root.join("sub/deeper/ok.gen5")).unwrap();
}

const TOP_LEVEL: [&str; 3] = ["a.raiiaf", "b.RAIIAF", "garbage.raiiaf"];
const ALL: [&str; 7] = [
    "a.raiiaf",
    "b.RAIIAF",
    "garbage.raiiaf",
    "sub/c.raiiaf",
    "sub/deeper/flipped.raiiaf",
    "sub/deeper/ok.gen5",
    "sub/truncated.raiiaf",
];

/// (verdict, path) of every stdout line, checking each has three tab-separated fields.
fn lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line:?}");
            (fields[0].to_string(), fields[1].to_string())
        })
        .collect()
}

fn joined(root: &Path, names: &[&str]) -> Vec<String> {
    names.iter().map(|name| text(&root.join(name)).to_string()).collect()
}

fn worst_exit(root: &Path, names: &[&str]) -> i32 {
    names.iter().map(|name| i32::from(common::inspect_file(&root.join(name)).verdict().exit_code())).max().unwrap()
}

#[test]
fn without_recursive_only_the_top_folder_is_checked_and_lines_come_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let run = raiiaf(&["verify", text(dir.path())]);
    let got = lines(&run.stdout);
    let paths: Vec<String> = got.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(paths, joined(dir.path(), &TOP_LEVEL));
    for (verdict, path) in &got {
        assert_eq!(verdict, common::inspect_file(Path::new(path)).verdict().name(), "{path}");
    }
    assert_eq!(got[2].0, "unreadable", "garbage must be unreadable");
    assert_eq!(run.code, worst_exit(dir.path(), &TOP_LEVEL));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("3 files: 2 valid, 0 invalid, 1 unreadable"), "{}", run.stderr);
}

#[test]
fn recursive_checks_every_container_in_path_order_whatever_the_job_count() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let one = raiiaf(&["verify", "-r", "--jobs", "1", text(dir.path())]);
    let many = raiiaf(&["verify", "--recursive", "-j", "5", text(dir.path())]);
    assert_eq!(one.stdout, many.stdout);
    assert_eq!((one.code, many.code), (2, 2));
    let got = lines(&many.stdout);
    let paths: Vec<String> = got.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(paths, joined(dir.path(), &ALL));
    let verdict_of = |name: &str| got.iter().find(|(_, p)| p.ends_with(name)).unwrap().0.clone();
    assert_eq!(verdict_of("flipped.raiiaf"), "invalid");
    assert_eq!(verdict_of("ok.gen5"), "valid");
    assert_ne!(verdict_of("truncated.raiiaf"), "valid");
    let flipped_line = many.stdout.lines().find(|l| l.contains("flipped.raiiaf")).unwrap();
    assert!(flipped_line.contains(code::CHUNK_HASH), "{flipped_line}");
}

#[test]
fn exit_codes_follow_the_worst_verdict() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let root = dir.path();
    // Named directly, in reverse order: sorted on output, and all valid.
    let valid = raiiaf(&["verify", text(&root.join("sub/c.raiiaf")), text(&root.join("a.raiiaf"))]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    assert_eq!(
        lines(&valid.stdout).into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
        joined(root, &["a.raiiaf", "sub/c.raiiaf"])
    );
    let invalid = raiiaf(&["verify", "-r", text(&root.join("sub/deeper"))]);
    assert_eq!(invalid.code, 1, "{}", invalid.stdout);
    // A missing path is an unreadable row, not a crash.
    let missing = root.join("missing.raiiaf");
    let run = raiiaf(&["verify", text(&root.join("a.raiiaf")), text(&missing)]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains(&format!("unreadable\t{}\t", text(&missing))), "{}", run.stdout);
    // A file named directly is checked whatever its extension.
    let run = raiiaf(&["verify", text(&root.join("notes.txt"))]);
    assert_eq!((run.code, lines(&run.stdout)[0].0.as_str()), (2, "unreadable"));
}

#[test]
fn a_folder_without_containers_is_an_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("only/deep.raiiaf"), &packed("m", 1, vec![]));
    write(&dir.path().join("readme.txt"), b"x");
    let run = raiiaf(&["verify", text(dir.path())]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("no .raiiaf or .gen5 files") && run.stderr.contains("--recursive"), "{}", run.stderr);
    let run = raiiaf(&["verify", "-r", text(dir.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let empty = tempfile::tempdir().unwrap();
    let report = empty.path().join("r.json");
    let run = raiiaf(&["verify", "-r", text(empty.path()), "--report", text(&report)]);
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("--recursive"), "{}", run.stderr);
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(value["files"], json!([]));
}

/// What the report should say about a file, computed from the library's inspection.
fn expected_row(path: &Path) -> Value {
    let inspection = common::inspect_file(path);
    let body = inspection.manifest_body();
    let field = |dotted: &str| body.and_then(|b| lookup(b, dotted)).cloned().unwrap_or(Value::Null);
    let mut problems: Vec<&str> = Vec::new();
    for check in inspection.report.failures() {
        if !problems.contains(&check.code) {
            problems.push(check.code);
        }
    }
    let mut environment = Map::new();
    for component in inspection.environment.iter().flat_map(|e| &e.components) {
        let mut key = component.component_id.clone();
        let mut n = 1;
        while environment.contains_key(&key) {
            n += 1;
            key = format!("{}#{n}", component.component_id);
        }
        let prefix = format!("name={};", component.component_id);
        environment.insert(key, Value::from(component.canonical.strip_prefix(&prefix).unwrap_or(&component.canonical)));
    }
    json!({
        "path": text(path),
        "valid": inspection.verdict() == Verdict::Valid,
        "verdict": inspection.verdict().name(),
        "problems": problems,
        "error": inspection.fatal.as_ref().map(|e| e.root().to_string()),
        "model_name": field("model_info.model_name"),
        "seed": field("model_info.generation_settings.seed"),
        "environment": environment,
    })
}

#[test]
fn json_report_has_one_row_per_file_with_the_library_s_findings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("corpus");
    corpus(&root);
    let report = dir.path().join("report.json");
    let run = raiiaf(&["verify", "-r", text(&root), "--report", text(&report)]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("report written to"), "{}", run.stderr);
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let files = value["files"].as_array().unwrap();
    let expected: Vec<Value> = ALL.iter().map(|name| expected_row(&root.join(name))).collect();
    assert_eq!(files, &expected);
    // Spot checks that the computed expectations themselves are what the corpus was made with.
    let a = &files[0];
    assert_eq!(
        (a["model_name"].as_str(), a["seed"].as_u64(), a["valid"].as_bool()),
        (Some("sd15"), Some(11), Some(true))
    );
    assert_eq!(
        a["environment"],
        json!({"torch": "version=2.5.1;cuda=12.1", "gpu": "model=RTX 4090;driver=550", "gpu#2": "model=RTX 3060;driver=550"})
    );
    let flipped = &files[4];
    assert_eq!(flipped["verdict"], "invalid");
    assert!(flipped["problems"].as_array().unwrap().contains(&json!(code::CHUNK_HASH)));
    assert_eq!(flipped["seed"], 11);
    let garbage = &files[2];
    assert_eq!((garbage["verdict"].as_str(), garbage["error"].is_string()), (Some("unreadable"), true));
    let summary = &value["summary"];
    let count = |verdict: &str| files.iter().filter(|f| f["verdict"] == verdict).count();
    assert_eq!(summary["found"], ALL.len());
    assert_eq!(summary["checked"], ALL.len());
    assert_eq!(summary["valid"], count("valid"));
    assert_eq!(summary["invalid"], count("invalid"));
    assert_eq!(summary["unreadable"], count("unreadable"));
    assert_eq!(summary["cancelled"], false);
    // Nothing but the report itself is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn csv_report_has_the_same_columns_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a, \"quoted\" folder");
    corpus(&root);
    let csv_path = dir.path().join("report.csv");
    let json_path = dir.path().join("report.json");
    let run = raiiaf(&["verify", "-r", text(&root), "--report", text(&csv_path)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    raiiaf(&["verify", "-r", text(&root), "--report", text(&json_path)]);
    let json_files: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let json_files = json_files["files"].as_array().unwrap();

    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, ["path", "valid", "verdict", "problems", "error", "model_name", "seed", "environment"]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), json_files.len());
    for (record, row) in records.iter().zip(json_files) {
        let field = |name: &str| record.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
        let text_or_empty = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(field("path"), row["path"].as_str().unwrap());
        assert!(field("path").starts_with(text(&root)));
        assert_eq!(field("valid"), row["valid"].to_string());
        assert_eq!(field("verdict"), row["verdict"].as_str().unwrap());
        let problems: Vec<String> = row["problems"].as_array().unwrap().iter().map(text_or_empty).collect();
        assert_eq!(field("problems"), problems.join(";"));
        assert_eq!(field("error"), text_or_empty(&row["error"]));
        assert_eq!(field("model_name"), text_or_empty(&row["model_name"]));
        assert_eq!(field("seed"), text_or_empty(&row["seed"]));
        let environment: Vec<String> =
            row["environment"].as_object().unwrap().iter().map(|(k, v)| format!("{k}={}", text_or_empty(v))).collect();
        assert_eq!(field("environment"), environment.join(" | "));
    }
    assert_eq!(
        records[0].get(7).unwrap(),
        "torch=version=2.5.1;cuda=12.1 | gpu=model=RTX 4090;driver=550 | gpu#2=model=RTX 3060;driver=550"
    );
}

#[test]
fn report_problems_are_found_before_any_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let run = raiiaf(&["verify", text(dir.path()), "--report", text(&dir.path().join("report.txt"))]);
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains(".json or .csv"), "{}", run.stderr);
    let unwritable: PathBuf = dir.path().join("no/such/folder/report.json");
    let run = raiiaf(&["verify", text(dir.path()), "--report", text(&unwritable)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("cannot write the report"), "{}", run.stderr);
    let run = raiiaf(&["verify", text(dir.path()), "--jobs", "0"]);
    assert_eq!(run.code, 64);
}

/// Ctrl-C (or SIGTERM) during a long run stops it early, but the report of the files checked so
/// far is still written: a curator does not lose an hour of checking to a missed report.
#[cfg(unix)]
#[test]
fn an_interrupted_run_still_writes_the_report_of_the_files_checked() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    const COPIES: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    // One file of a 4 MiB latent, linked many times: each copy is read and hashed in full.
    let values = (0..1 << 20).map(|i| (i as f32 * 0.37).sin()).collect();
    let latent =
        raiiaf_workbench::format::Latent::new("noise", vec![1, 4, 512, 512], LatentValues::F32(values)).unwrap();
    let request = PackRequest {
        latents: vec![PackLatent { latent, codec: LatentCodec::Raw, float16: false }],
        model_info: ModelInfo { model_name: "m".into(), ..ModelInfo::default() },
        ..PackRequest::default()
    };
    let original = folder.join("0000.raiiaf");
    write(&original, &pack(&request).unwrap().bytes);
    for copy in 1..COPIES {
        std::fs::hard_link(&original, folder.join(format!("{copy:04}.raiiaf"))).unwrap();
    }

    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let report = dir.path().join(format!("report-{name}.json"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_raiiaf"))
            .args(["verify", text(&folder), "--jobs", "1", "--report", text(&report)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(first.starts_with("valid\t"), "{name}: {first:?}");
        // SAFETY: sending a signal to our own child, which is still running (not yet waited for).
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();

        assert_eq!(status.code(), Some(130), "{name}: {stderr}");
        let printed = 1 + rest.lines().count();
        assert!(printed < COPIES, "{name}: all {COPIES} files were checked; the signal came too late to test");
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let summary = &saved["summary"];
        assert_eq!(summary["cancelled"], true, "{name}: {summary}");
        assert_eq!(summary["found"], COPIES, "{name}");
        assert_eq!(summary["checked"], printed, "{name}");
        assert_eq!(saved["files"].as_array().unwrap().len(), printed, "{name}");
        assert!(stderr.contains(&format!("stopped after {printed} of {COPIES} files")), "{name}: {stderr}");
        assert!(stderr.contains("report written to"), "{name}: {stderr}");
    }
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["folder", "report-SIGINT.json", "report-SIGTERM.json"], "no partial report is left");
}
