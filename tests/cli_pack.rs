//! `raiiaf pack` with imported parameters and every latent file kind, read back by this program
//! and by the reference package.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly by design

mod common;

use std::path::Path;

use common::{A1111_PARAMETERS, Run, png_with_text, raiiaf, reference_python, run_reference};
use npyz::WriterBuilder;
use raiiaf_workbench::format::{Latent, LatentValues, Verdict};
use serde_json::{Value, json};

fn values(count: usize, scale: f32) -> Vec<f32> {
    (0..count).map(|i| ((i as f32) * 0.731).sin() * scale).collect()
}

fn write_inputs(dir: &Path) {
    let noise = Latent::new("noise", vec![1, 4, 6, 8], LatentValues::F32(values(192, 1.0))).unwrap();
    std::fs::write(dir.join("noise.npy"), raiiaf_workbench::npy::write_npy(&noise).unwrap()).unwrap();
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut npz = npyz::npz::NpzWriter::new(&mut cursor);
        for (name, scale) in [("step_10", 0.5f32), ("step_20", 0.25)] {
            let mut writer = npz
                .array::<f32>(name, Default::default())
                .unwrap()
                .default_dtype()
                .shape(&[1, 4, 6, 8])
                .begin_nd()
                .unwrap();
            writer.extend(values(192, scale)).unwrap();
            writer.finish().unwrap();
        }
    }
    std::fs::write(dir.join("steps.npz"), cursor.into_inner()).unwrap();
    let bytes: Vec<u8> = values(192, 2.0).iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1, 4, 6, 8], &bytes).unwrap();
    let marker = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![0], &[]).unwrap();
    let latent_file =
        safetensors::serialize(vec![("latent_tensor", view), ("latent_format_version_0", marker)], None).unwrap();
    std::fs::write(dir.join("ComfyUI_00001_.latent"), latent_file).unwrap();
}

fn manifest_model_info(path: &Path) -> (Value, Vec<String>) {
    let inspection = common::inspect_file(path);
    assert_eq!(inspection.verdict(), Verdict::Valid, "{}", path.display());
    let info = inspection.manifest_body().unwrap()["model_info"].clone();
    let keys = inspection.latents.iter().map(|l| l.latent.key().to_string()).collect();
    (info, keys)
}

#[test]
fn pack_imports_a1111_parameters_and_reads_npz_and_comfyui_latents() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let image = dir.path().join("a1111.png");
    std::fs::write(&image, png_with_text(64, 48, &[("parameters", A1111_PARAMETERS)])).unwrap();
    let out = dir.path().join("out.raiiaf");
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let Run { code, stdout, stderr } = raiiaf(&[
        "pack",
        "-o",
        out.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
        "--latent",
        &p("noise.npy"),
        "--latent",
        &p("steps.npz"),
        "--latent",
        &format!("final={}", p("ComfyUI_00001_.latent")),
        "--import-params",
        "--model-version",
        "1.0-explicit",
        "--tag",
        "audit",
    ]);
    assert_eq!(code, 0, "pack failed: {stderr}");
    assert!(stdout.contains("wrote"), "{stdout}");
    assert!(stderr.contains("import: found AUTOMATIC1111"), "{stderr}");
    let (info, keys) = manifest_model_info(&out);
    assert_eq!(keys, ["noise", "step_10", "step_20", "final"]);
    assert_eq!(info["model_name"], json!("sd_xl_base_1.0"));
    assert_eq!(info["version"], json!("1.0-explicit"), "an explicit flag wins over the imported model hash");
    assert_eq!(info["prompt"], json!("a lighthouse on a cliff, stormy sea, (dramatic lighting:1.2)"));
    assert_eq!(info["tags"], json!(["audit"]));
    let settings = &info["generation_settings"];
    assert_eq!(settings["seed"], json!(3551078465u64));
    assert_eq!(settings["steps"], json!(28));
    assert_eq!(settings["sampler"], json!("DPM++ 2M"));
    assert_eq!(settings["scheduler"], json!("Karras"));
    assert_eq!(settings["cfg_scale"], json!(6.5));
    assert_eq!(settings["negative_prompt"], json!("blurry, lowres"));
    assert_eq!(settings["denoising_strength"], json!("0.35"));

    // The reference reads the file back, values and manifest alike.
    if let Some(python) = reference_python() {
        let output = run_reference(&python, &["decode", out.to_str().unwrap()]);
        let theirs: Value = serde_json::from_str(output.lines().next().unwrap()).unwrap();
        assert!(theirs.get("error").is_none(), "the reference failed: {}", theirs["error"]);
        assert_eq!(theirs["schema_error"], Value::Null);
        let problems = common::differences_from_reference(&out, &theirs);
        assert!(problems.is_empty(), "{problems:?}");
    }
}

#[test]
fn pack_imports_a_comfyui_graph_and_explicit_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let graph = json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 8, "sampler_name": "euler",
              "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
              "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "glass bottle, galaxy", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}}
    });
    let workflow = json!({"last_node_id": 7, "nodes": [], "links": [], "version": 0.4});
    let image = dir.path().join("comfy.png");
    std::fs::write(
        &image,
        png_with_text(64, 48, &[("prompt", &graph.to_string()), ("workflow", &workflow.to_string())]),
    )
    .unwrap();
    let out = dir.path().join("comfy.raiiaf");
    let Run { code, stderr, .. } = raiiaf(&[
        "pack",
        "-o",
        out.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
        "--latent",
        dir.path().join("noise.npy").to_str().unwrap(),
        "--import-params",
        "--model-version",
        "1.5",
        "--prompt",
        "my own prompt",
        "--settings",
        r#"{"seed": 7, "steps": 5, "sampler": "ddim"}"#,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (info, _) = manifest_model_info(&out);
    assert_eq!(info["model_name"], json!("v1-5-pruned-emaonly"));
    assert_eq!(info["prompt"], json!("my own prompt"));
    let settings = &info["generation_settings"];
    assert_eq!(settings["seed"], json!(7));
    assert_eq!(settings["sampler"], json!("ddim"));
    assert_eq!(settings["cfg_scale"], json!(8), "keys not given explicitly come from the graph");
    assert_eq!(settings["negative_prompt"], json!("text, watermark"));
    assert_eq!(settings["checkpoint"], json!("v1-5-pruned-emaonly.safetensors"));
    assert_eq!(settings["comfyui_prompt"], graph);
    assert_eq!(settings["comfyui_workflow"], workflow);
}

#[test]
fn pack_says_what_is_missing_and_refuses_bad_latent_specs_and_imports_stand_ins() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let image = dir.path().join("plain.png");
    std::fs::write(&image, png_with_text(8, 8, &[])).unwrap();
    let out = dir.path().join("x.raiiaf");
    let base = ["pack", "-o", out.to_str().unwrap(), "--image", image.to_str().unwrap()];
    let with = |extra: &[&str]| raiiaf(&[&base[..], extra].concat());
    let noise = dir.path().join("noise.npy");
    // Without --import-params, every required value must be given.
    let Run { code, stderr, .. } = with(&["--latent", noise.to_str().unwrap(), "--model", "m"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("give --model-version, --prompt"), "{stderr}");
    let npz = format!("k={}", dir.path().join("steps.npz").display());
    let Run { code, stderr, .. } = with(&["--latent", &npz, "--model", "m", "--model-version", "1", "--prompt", "p"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("holds 2 arrays"), "{stderr}");
    let Run { code, stderr, .. } =
        with(&["--latent", image.to_str().unwrap(), "--model", "m", "--model-version", "1", "--prompt", "p"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("not a .npy, .npz or .latent file"), "{stderr}");
    assert!(!out.exists(), "nothing is written on an error");

    // With it, what the image does not record gets a stand-in and a note, and the pack is made.
    let Run { code, stderr, .. } = with(&[
        "--latent",
        noise.to_str().unwrap(),
        "--import-params",
        "--model",
        "m",
        "--hardware",
        r#"{"os": "test"}"#,
        "--python",
        "no-such-python",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("carries no generation parameters"), "{stderr}");
    assert!(stderr.contains("the version is the model's name, \"m\""), "{stderr}");
    assert!(stderr.contains("packed with an empty prompt"), "{stderr}");
    let (model_info, _) = manifest_model_info(&out);
    assert_eq!((model_info["model_name"].as_str(), model_info["version"].as_str()), (Some("m"), Some("m")));
    assert_eq!(model_info["prompt"], "");
}

/// A folder of images from several generators (and one with no parameters), paired with latents
/// by name: `pack-batch` packs every pair, lists what is in none, keeps what exists, and reports.
#[test]
fn pack_batch_packs_a_mixed_folder_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (images, latents, out) = (dir.path().join("images"), dir.path().join("latents"), dir.path().join("out"));
    for folder in [&images, &latents, &out] {
        std::fs::create_dir(folder).unwrap();
    }
    write_inputs(&latents);
    let graph = r#"{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernaut.safetensors"}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler",
        "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse"}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}}}"#;
    let novelai = r#"{"prompt": "a fox", "uc": "lowres", "steps": 28, "scale": 5.0, "seed": 77, "sampler": "k_euler", "width": 8, "height": 8}"#;
    let inputs: [(&str, Vec<(&str, &str)>); 5] = [
        ("a1111", vec![("parameters", A1111_PARAMETERS)]),
        ("comfy", vec![("prompt", graph)]),
        ("nai", vec![("Software", "NovelAI"), ("Source", "NovelAI Diffusion V4 C1E1DE52"), ("Comment", novelai)]),
        ("plain", vec![]),
        ("lonely", vec![("parameters", A1111_PARAMETERS)]),
    ];
    for (name, texts) in &inputs {
        std::fs::write(images.join(format!("{name}.png")), png_with_text(8, 8, texts)).unwrap();
    }
    let noise = std::fs::read(latents.join("noise.npy")).unwrap();
    for name in ["a1111.npy", "comfy_initial_noise.npy", "plain.npy", "stray.npy"] {
        std::fs::write(latents.join(name), &noise).unwrap();
    }
    std::fs::rename(latents.join("steps.npz"), latents.join("comfy.npz")).unwrap();
    std::fs::rename(latents.join("ComfyUI_00001_.latent"), latents.join("nai.latent")).unwrap();
    std::fs::remove_file(latents.join("noise.npy")).unwrap();
    // A container that exists already is kept.
    std::fs::write(out.join("plain.raiiaf"), b"mine").unwrap();

    let report = dir.path().join("report.json");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> =
            ["pack-batch", images.to_str().unwrap(), latents.to_str().unwrap(), "-o", out.to_str().unwrap()]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(
            ["--import-params", "--hardware", r#"{"os": "test"}"#, "--python", "no-such-python"].map(String::from),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let run = |extra: &[&str]| {
        let owned = args(extra);
        raiiaf(&owned.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // A dry run lists the plan and writes nothing.
    let Run { code, stderr, .. } = run(&["--dry-run"]);
    assert_eq!(code, 1, "files in no pair: {stderr}");
    assert!(stderr.contains("4 pair(s), 2 file(s) in no pair"), "{stderr}");
    assert!(stderr.contains("lonely.png: no latent file has its name"), "{stderr}");
    assert!(stderr.contains("stray.npy: no image has its name"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);

    let Run { code, stdout, stderr } = run(&["--report", report.to_str().unwrap()]);
    assert_eq!(code, 1, "one kept and two unmatched: {stderr}");
    let statuses: Vec<(&str, &str)> = stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[0], Path::new(fields[1]).file_name().unwrap().to_str().unwrap())
        })
        .collect();
    assert_eq!(
        statuses,
        vec![("packed", "a1111.png"), ("packed", "comfy.png"), ("packed", "nai.png"), ("exists", "plain.png")]
    );
    assert_eq!(std::fs::read(out.join("plain.raiiaf")).unwrap(), b"mine", "an existing container is kept");

    let (a1111, keys) = manifest_model_info(&out.join("a1111.raiiaf"));
    assert_eq!(keys, ["latent"]);
    assert_eq!(a1111["generation_settings"]["seed"], 3551078465u64);
    let (comfy, keys) = manifest_model_info(&out.join("comfy.raiiaf"));
    assert_eq!(keys, ["step_10", "step_20", "initial_noise"], "an .npz keeps its arrays' names");
    assert_eq!((comfy["model_name"].as_str(), comfy["version"].as_str()), (Some("juggernaut"), Some("juggernaut")));
    let (nai, keys) = manifest_model_info(&out.join("nai.raiiaf"));
    assert_eq!(keys, ["latent"]);
    assert_eq!((nai["prompt"].as_str(), nai["generation_settings"]["seed"].as_i64()), (Some("a fox"), Some(77)));

    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        report["summary"],
        json!({"pairs": 4, "packed": 3, "exists": 1, "failed": 0, "unmatched": 2, "cancelled": false})
    );
    assert!(
        report["pairs"][1]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("version is the model's name"))
    );

    // Again with --force: everything is replaced, so every pair is packed.
    let Run { code, stdout, stderr } = run(&["--force"]);
    assert_eq!(code, 1, "still two files in no pair: {stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("packed\t")).count(), 4, "{stdout}");
    let (plain, _) = manifest_model_info(&out.join("plain.raiiaf"));
    assert_eq!((plain["model_name"].as_str(), plain["prompt"].as_str()), (Some("unknown"), Some("")));
}

#[test]
fn params_names_the_generator_of_each_image() {
    let dir = tempfile::tempdir().unwrap();
    let a1111 = dir.path().join("a.png");
    std::fs::write(&a1111, png_with_text(8, 8, &[("parameters", A1111_PARAMETERS)])).unwrap();
    let plain = dir.path().join("plain.png");
    std::fs::write(&plain, png_with_text(8, 8, &[])).unwrap();
    let Run { code, stdout, .. } = raiiaf(&["params", "--json", a1111.to_str().unwrap(), plain.to_str().unwrap()]);
    assert_eq!(code, 1, "one image carries nothing");
    let objects: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["generator"], "AUTOMATIC1111/Forge parameters");
    assert_eq!(objects[0]["settings"]["seed"], 3551078465u64);
    assert_eq!(objects[1]["generator"], Value::Null);
    let Run { code, stdout, .. } = raiiaf(&["params", "--raw", a1111.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("found AUTOMATIC1111/Forge parameters") && stdout.contains("raw parameters: "), "{stdout}");
    let Run { code, .. } = raiiaf(&["params", dir.path().join("missing.png").to_str().unwrap()]);
    assert_eq!(code, 2);
}

/// `raiiaf diff` shows a changed prompt word by word, as the compare view highlights it (both
/// from `audit::compare`).
#[test]
fn diff_shows_a_changed_prompt_word_by_word() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let image = dir.path().join("plain.png");
    std::fs::write(&image, png_with_text(8, 8, &[])).unwrap();
    let noise = dir.path().join("noise.npy");
    for (name, prompt) in [("a.raiiaf", "a red cat on a mat"), ("b.raiiaf", "a blue cat on a mat")] {
        let out = dir.path().join(name);
        let Run { code, stderr, .. } = raiiaf(&[
            "pack",
            "-o",
            out.to_str().unwrap(),
            "--image",
            image.to_str().unwrap(),
            "--latent",
            noise.to_str().unwrap(),
            "--model",
            "m",
            "--model-version",
            "1",
            "--prompt",
            prompt,
            "--hardware",
            r#"{"os": "test"}"#,
            "--python",
            "no-such-python",
        ]);
        assert_eq!(code, 0, "{stderr}");
    }
    let (a, b) = (dir.path().join("a.raiiaf"), dir.path().join("b.raiiaf"));
    let Run { code, stdout, .. } = raiiaf(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("    word by word: a [-red-]{+blue+} cat on a mat"), "{stdout}");
    let Run { stdout, .. } = raiiaf(&["diff", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["prompt_words"][0]["path"], "model_info.prompt");
    assert_eq!(json["prompt_words"][0]["segments"][1], json!({"kind": "removed", "text": "red"}));
}
