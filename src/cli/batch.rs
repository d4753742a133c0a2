//! `raiiaf pack-batch`: every image of a folder packed with the latent files named after it.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::Args;

use super::exit;
use crate::format::Limits;
use crate::pack::batch::{self, BatchOptions, Counts, Plan, Status};

pub const AFTER_HELP: &str = "\
Images (.png, .jpg, .jpeg, .webp) pair with latent files (.npy, .npz, .latent, .safetensors) by name: 0001.png \
with 0001.npy (its latent keyed \"latent\"), 0001_initial_noise.npy (keyed \"initial_noise\"), \
0001.npz (one latent per array) or several of these. Each pair becomes OUT_DIR/0001.raiiaf. Files \
in no pair are listed with the reason before anything is packed; --dry-run stops there.

Each pair gets one line on stdout: STATUS<TAB>IMAGE<TAB>OUTPUT<TAB>DETAIL, where STATUS is packed, \
exists (kept: give --force to replace it) or failed. Writes are atomic. --report writes every \
pair and unmatched file as JSON. Ctrl-C stops before the next pair and still writes the report.

Exit status: 0 every pair packed, 1 a pair failed or was kept, or a file is in no pair, \
2 nothing to pack, 3 the report could not be written, 64 usage error, 130 stopped by Ctrl-C.";

#[derive(Debug, Args)]
pub struct PackBatchArgs {
    /// Folder of images (or image files).
    #[arg(value_name = "IMAGES")]
    pub images: PathBuf,
    /// Folder of latent files (or the same folder as the images).
    #[arg(value_name = "LATENTS")]
    pub latents: PathBuf,
    /// Folder the containers are written to (created if missing).
    #[arg(short = 'o', long = "output", value_name = "OUT_DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub how: super::PackOptions,
    /// Replace containers that exist already.
    #[arg(long)]
    pub force: bool,
    /// Show the pairs and the unmatched files, and pack nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Also write every pair's outcome to FILE.json (replaced if it exists).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

fn print_plan(plan: &Plan) {
    for pair in &plan.pairs {
        let latents: Vec<String> = pair
            .latents
            .iter()
            .map(|l| format!("{} ({})", l.path.display(), l.key.as_deref().unwrap_or(batch::DEFAULT_LATENT_KEY)))
            .collect();
        eprintln!("raiiaf: pair: {} + {} -> {}", pair.image.display(), latents.join(", "), pair.output.display());
    }
    for (path, why) in &plan.unmatched {
        eprintln!("raiiaf: unmatched: {}: {why}", path.display());
    }
    eprintln!("raiiaf: {} pair(s), {} file(s) in no pair", plan.pairs.len(), plan.unmatched.len());
}

pub fn pack_batch(args: &PackBatchArgs, limits: &Limits) -> u8 {
    let files = match batch::files_in(&[args.images.clone(), args.latents.clone()]) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("raiiaf: {error}");
            return exit::UNREADABLE;
        }
    };
    let plan = batch::plan(&files, &args.output);
    print_plan(&plan);
    if plan.pairs.is_empty() {
        eprintln!("raiiaf: nothing to pack");
        return exit::UNREADABLE;
    }
    if args.dry_run {
        return if plan.unmatched.is_empty() { exit::OK } else { exit::INVALID };
    }
    let metadata = match args.how.metadata_choices() {
        Ok(metadata) => metadata,
        Err(error) => return super::commands::fail(error),
    };
    let options =
        BatchOptions { metadata, codec: args.how.codec, float16: args.how.f16, overwrite: args.force, limits: *limits };
    if let Err(error) = std::fs::create_dir_all(&args.output) {
        return super::commands::fail(format!("cannot create {}: {error}", args.output.display()));
    }
    // The machine is the same for every pair: probed once.
    let probe = crate::platform::probe_machine(&super::commands::probe_options(args.how.python.clone()));
    for note in &probe.notes {
        eprintln!("raiiaf: note: {note}");
    }
    let hardware_info = match args.how.hardware_info(&probe) {
        Ok(hardware) => hardware,
        Err(error) => return super::commands::fail(error),
    };
    let environment = probe.environment();
    crate::platform::stop_on_interrupt();
    let cancel = crate::platform::interrupted();
    // A closed stdout stops the batch as Ctrl-C does; the report is still written.
    let mut stdout_failed = None;
    let mut outcomes = Vec::new();
    for (index, pair) in plan.pairs.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let outcome = batch::pack_pair(pair, &options, &environment, &hardware_info);
        let detail = match &outcome.status {
            Status::Exists => "kept (give --force to replace it)".to_string(),
            other => other.detail(),
        };
        for line in &outcome.lines {
            eprintln!("raiiaf: {}: {line}", pair.image.display());
        }
        let line = format!("{}\t{}\t{}\t{detail}", outcome.status.label(), pair.image.display(), pair.output.display());
        if stdout_failed.is_none()
            && let Err(error) = super::commands::try_print_line(&line)
        {
            stdout_failed = Some(super::commands::stdout_failure(&error));
            cancel.store(true, Ordering::Relaxed);
        }
        eprintln!("raiiaf: [{}/{}]", index + 1, plan.pairs.len());
        outcomes.push(outcome);
    }
    let cancelled = outcomes.len() < plan.pairs.len();
    let counts = Counts::of(&outcomes);
    eprintln!(
        "raiiaf: {} packed, {} kept, {} failed, {} unmatched{}",
        counts.packed,
        counts.exists,
        counts.failed,
        plan.unmatched.len(),
        if cancelled {
            format!("; stopped after {} of {} pairs", outcomes.len(), plan.pairs.len())
        } else {
            String::new()
        }
    );
    if let Some(path) = &args.report {
        let bytes = serde_json::to_vec_pretty(&batch::report(&plan, &outcomes, cancelled)).unwrap_or_default();
        if let Err(error) = crate::format::write_atomic(path, &bytes, true) {
            eprintln!("raiiaf: {error}");
            return exit::FAILED;
        }
        eprintln!("raiiaf: report written to {}", path.display());
    }
    if let Some(status) = stdout_failed {
        status
    } else if cancelled {
        exit::INTERRUPTED
    } else if counts.packed == plan.pairs.len() && plan.unmatched.is_empty() {
        exit::OK
    } else {
        exit::INVALID
    }
}
