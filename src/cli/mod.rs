//! The `raiiaf` command line. Every subcommand is a thin layer over `crate::format`.

mod batch;
mod commands;
mod diff;
mod params;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::format::{LatentCodec, Limits};

/// Exit statuses, documented in the README and `--help`.
pub mod exit {
    /// Success; for `verify`, every file valid.
    pub const OK: u8 = 0;
    /// `verify`/`info`: at least one file readable but invalid.
    pub const INVALID: u8 = 1;
    /// `verify`/`info`: at least one file unreadable.
    pub const UNREADABLE: u8 = 2;
    /// The operation failed (bad input for `pack`, I/O error, refused overwrite).
    pub const FAILED: u8 = 3;
    /// The command line itself is wrong.
    pub const USAGE: u8 = 64;
    /// `verify` stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it); the report
    /// holds the files checked until then.
    pub const INTERRUPTED: u8 = 130;
    /// Standard output was closed before the command finished (its reader went away: `| head`):
    /// 128 + SIGPIPE, as shells report a program SIGPIPE ended. The command stops as Ctrl-C stops
    /// it (`verify` and `pack-batch` still write their report), so a closed pipe never reads as
    /// success.
    pub const BROKEN_PIPE: u8 = 141;
}

const AFTER_HELP: &str = "Exit status: 0 success (all files valid), 1 a file is invalid, 2 a file is unreadable, \
3 the operation failed, 64 usage error, 130 verify interrupted (Ctrl-C), 141 standard output closed \
before the end (a reader such as `head` went away).";

#[derive(Debug, Parser)]
#[command(
    name = "raiiaf",
    version,
    about = "View, verify, extract and pack .raiiaf files (AI images with their latents, manifest and environment).",
    after_help = AFTER_HELP,
    // A subcommand's name wins over a file of that name; a file not named like one opens the
    // viewer. (No `args_conflicts_with_subcommands`: the limit flags may come before a subcommand.)
    subcommand_precedence_over_arg = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Files to open in the viewer (what the desktop runs on double-click).
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// How much one file may make this program allocate. The defaults open every real file and refuse
/// decompression bombs; raise them for an unusual file, lower them for untrusted folders. Amounts
/// take a K, M or G suffix (powers of 1024).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Limits (every command)")]
pub struct LimitArgs {
    /// Most values in one latent tensor, in a file or an imported .npy/.npz/.latent [default: 256M].
    #[arg(long, global = true, value_name = "N", value_parser = crate::format::reader::parse_amount)]
    pub max_latent_elements: Option<u64>,
    /// Most bytes the manifest, and the environment snapshot, may decompress to [default: 64M].
    #[arg(long, global = true, value_name = "BYTES", value_parser = crate::format::reader::parse_amount)]
    pub max_manifest_bytes: Option<u64>,
    /// Most bytes of the stored image [default: 1G].
    #[arg(long, global = true, value_name = "BYTES", value_parser = crate::format::reader::parse_amount)]
    pub max_image_bytes: Option<u64>,
    /// Most pixels (width x height) of the stored image when it is decoded [default: 128M].
    #[arg(long, global = true, value_name = "N", value_parser = crate::format::reader::parse_amount)]
    pub max_image_pixels: Option<u64>,
}

impl LimitArgs {
    /// The limits given, each over its default.
    pub fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            max_latent_elements: self.max_latent_elements.unwrap_or(defaults.max_latent_elements),
            max_metadata_bytes: self.max_manifest_bytes.unwrap_or(defaults.max_metadata_bytes),
            max_image_bytes: self.max_image_bytes.unwrap_or(defaults.max_image_bytes),
            max_image_pixels: self.max_image_pixels.unwrap_or(defaults.max_image_pixels),
            ..defaults
        }
    }

    /// Whether any limit was given on the command line.
    pub fn any(&self) -> bool {
        self.max_latent_elements.is_some()
            || self.max_manifest_bytes.is_some()
            || self.max_image_bytes.is_some()
            || self.max_image_pixels.is_some()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open files in the viewer window.
    View(ViewArgs),
    /// Summarise one file: manifest, latents, image, environment and every check.
    #[command(after_help = AFTER_HELP)]
    Info {
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check files, or every .raiiaf/.gen5 file in folders, byte by byte on all cores; one line per file.
    #[command(after_help = verify::AFTER_HELP)]
    Verify(verify::VerifyArgs),
    /// Write the image, one .npy per latent, manifest.json and environment.json into a folder.
    Extract {
        file: PathBuf,
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: PathBuf,
        /// Overwrite files already in the folder.
        #[arg(long)]
        force: bool,
    },
    /// Build a .raiiaf from an image and .npy latents.
    Pack(Box<PackArgs>),
    /// Pack a folder of images, each with the latent files named after it.
    #[command(after_help = batch::AFTER_HELP)]
    PackBatch(Box<batch::PackBatchArgs>),
    /// Print the generation parameters images carry, and which generator wrote them.
    #[command(after_help = params::AFTER_HELP)]
    Params {
        /// PNG, JPEG or WebP images.
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<PathBuf>,
        /// One JSON object per line and image instead of text.
        #[arg(long)]
        json: bool,
        /// Also print every metadata entry as found (PNG text, EXIF, XMP, stealth data).
        #[arg(long)]
        raw: bool,
    },
    /// Compare two files: latents value by value, every manifest field, environment and image.
    #[command(after_help = "Exit status: 0 the files are equivalent (identical but for the date and the chunk \
table's offsets and sizes), 1 they differ, 2 either cannot be read, 64 usage error.")]
    Diff {
        a: PathBuf,
        b: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Also list the date and the chunk table's offsets and sizes when they differ.
        #[arg(long)]
        all: bool,
    },
    /// Show this machine's environment components and hardware info.
    Env {
        #[arg(long)]
        json: bool,
        /// Python interpreter to ask for torch, numpy and python versions (default: python3 on PATH).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// .raiiaf/.gen5 files open as tabs; images and .npy/.npz/.latent files open the packer.
    pub files: Vec<PathBuf>,
    /// Packer step to show first (with files that open the packer).
    #[arg(long, value_enum)]
    pub step: Option<crate::gui::WizardStep>,
    /// Tab to show first (with --compare: the section of the comparison).
    #[arg(long, value_enum)]
    pub tab: Option<crate::gui::Tab>,
    /// Compare the two files given instead of opening them as tabs.
    #[arg(long)]
    pub compare: bool,
    /// Render the window once the files are loaded and drawn, save a PNG screenshot here and exit.
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// Window size in points, e.g. 1280x860.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<[f32; 2]>,
}

fn parse_size(text: &str) -> Result<[f32; 2], String> {
    let (width, height) = text.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT, e.g. 1280x860")?;
    let number = |s: &str| {
        s.trim()
            .parse::<f32>()
            .ok()
            .filter(|v| v.is_finite() && (100.0..=16384.0).contains(v))
            .ok_or(format!("{s:?} is not a size between 100 and 16384"))
    };
    Ok([number(width)?, number(height)?])
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// Output file.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Image file (PNG as the reference expects; JPEG and WebP are accepted).
    #[arg(long, value_name = "IMG")]
    pub image: PathBuf,
    /// A latent file: .npy, .npz (one latent per array, named after it) or ComfyUI .latent, as
    /// KEY=FILE or FILE (the key is then the file stem); repeat for several.
    #[arg(long = "latent", value_name = "[KEY=]FILE", required = true)]
    pub latents: Vec<String>,
    #[command(flatten)]
    pub how: PackOptions,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

/// What `pack` and `pack-batch` share: the metadata, where it comes from, and how latents are
/// stored.
#[derive(Debug, Args)]
pub struct PackOptions {
    /// Fill model, prompt and generation settings from the parameters the image carries (see
    /// `raiiaf params`); explicit flags win, and what no generator recorded gets a stand-in with
    /// a note (the checkpoint's name for a missing version, "unknown", an empty prompt).
    #[arg(long = "import-params")]
    pub import_params: bool,
    #[arg(long = "model", value_name = "NAME")]
    pub model: Option<String>,
    #[arg(long = "model-version", value_name = "V")]
    pub model_version: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// generation_settings as JSON, or @file holding it (seed, steps and sampler when given;
    /// imported values fill its gaps).
    #[arg(long, value_name = "JSON|@file")]
    pub settings: Option<String>,
    /// hardware_info as JSON or @file; default: this machine's.
    #[arg(long, value_name = "JSON|@file")]
    pub hardware: Option<String>,
    /// auto (smaller of raw and lossless zfp, per latent), raw, zfp, or zfp-lossy:TOL.
    #[arg(long, default_value = "auto", value_parser = parse_codec)]
    pub codec: LatentCodec,
    /// Store latents as float16.
    #[arg(long)]
    pub f16: bool,
    /// Python interpreter to ask for torch, numpy and python versions (default: python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

impl PackOptions {
    /// The metadata choices these flags make (`--settings` parsed).
    pub fn metadata_choices(&self) -> Result<crate::pack::request::MetadataChoices, String> {
        Ok(crate::pack::request::MetadataChoices {
            model_name: self.model.clone(),
            version: self.model_version.clone(),
            prompt: self.prompt.clone(),
            tags: self.tags.clone(),
            settings: self.settings.as_deref().map(|s| commands::json_object_arg("--settings", s)).transpose()?,
            import_params: self.import_params,
        })
    }

    /// `--hardware`, parsed, or `machine`'s own hardware info.
    pub fn hardware_info(
        &self,
        machine: &crate::probe::MachineProbe,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        match self.hardware.as_deref() {
            Some(text) => commands::json_object_arg("--hardware", text),
            None => Ok(machine.hardware_info.clone()),
        }
    }
}

fn parse_codec(text: &str) -> Result<LatentCodec, String> {
    text.parse()
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    ExitCode::from(run_args(std::env::args_os()))
}

/// Parses `args` (the program's name first) and runs them, returning the exit status: what
/// `main` does, and what the Python package's `raiiaf` command calls.
pub fn run_args(args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>) -> u8 {
    match Cli::try_parse_from(args) {
        Ok(cli) => run(cli),
        Err(error) => {
            let _ = error.print();
            if error.use_stderr() { exit::USAGE } else { exit::OK }
        }
    }
}

pub fn run(cli: Cli) -> u8 {
    let limits = cli.limits.limits();
    // The window keeps its own limits (Settings); flags given on this start replace them for it.
    let window_limits = cli.limits.any().then_some(limits);
    match cli.command {
        None => commands::view(
            ViewArgs { files: cli.files, tab: None, step: None, screenshot: None, size: None, compare: false },
            window_limits,
        ),
        Some(Command::View(args)) => commands::view(args, window_limits),
        Some(Command::Info { file, json }) => commands::info(&file, json, &limits),
        Some(Command::Verify(args)) => verify::verify(&args, &limits),
        Some(Command::Extract { file, output, force }) => commands::extract(&file, &output, force, &limits),
        Some(Command::Pack(args)) => commands::pack(&args, &limits),
        Some(Command::PackBatch(args)) => batch::pack_batch(&args, &limits),
        Some(Command::Params { images, json, raw }) => params::params(&images, json, raw, &limits),
        Some(Command::Diff { a, b, json, all }) => diff::diff(&a, &b, json, all, &limits),
        Some(Command::Env { json, python }) => commands::env(json, python),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::reader::{format_amount, parse_amount};

    #[test]
    fn amounts_take_binary_suffixes_and_refuse_nonsense() {
        for (text, expected) in [
            ("1000", 1000),
            ("64K", 64 << 10),
            ("256M", 256 << 20),
            ("2G", 2 << 30),
            ("8MiB", 8 << 20),
            ("3gb", 3 << 30),
        ] {
            assert_eq!(parse_amount(text), Ok(expected), "{text}");
            assert_eq!(parse_amount(&format_amount(expected)), Ok(expected), "{text}");
        }
        for text in ["", "M", "-5", "1.5G", "0", "99999999999G", "12T"] {
            assert!(parse_amount(text).is_err(), "{text}");
        }
    }

    #[test]
    fn limit_flags_are_accepted_on_every_command_and_replace_only_their_default() {
        let cli = Cli::try_parse_from(["raiiaf", "verify", "--max-latent-elements", "1M", "x.raiiaf"]).unwrap();
        let limits = cli.limits.limits();
        assert_eq!(limits.max_latent_elements, 1 << 20);
        assert_eq!(limits, Limits { max_latent_elements: 1 << 20, ..Limits::default() });
        let cli = Cli::try_parse_from(["raiiaf", "--max-image-pixels", "4096", "info", "x.raiiaf"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Info { .. })), "{:?}", cli.command);
        assert_eq!(cli.limits.limits().max_image_pixels, 4096);
        let cli =
            Cli::try_parse_from(["raiiaf", "--max-latent-elements", "100", "view", "a.raiiaf", "--tab", "chunks"])
                .unwrap();
        assert!(matches!(cli.command, Some(Command::View(_))), "{:?}", cli.command);
        assert_eq!(cli.limits.limits().max_latent_elements, 100);
        assert!(cli.limits.any());
        let plain = Cli::try_parse_from(["raiiaf", "a.raiiaf", "b.raiiaf"]).unwrap();
        assert!(plain.command.is_none() && plain.files.len() == 2 && !plain.limits.any());
        let viewer = Cli::try_parse_from(["raiiaf", "--max-image-pixels", "1K", "a.raiiaf"]).unwrap();
        assert!(viewer.command.is_none() && viewer.files.len() == 1 && viewer.limits.any());
    }
}
