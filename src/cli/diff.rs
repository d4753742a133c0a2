//! `raiiaf diff A B`: the comparison of two files, for scripts.

use std::path::Path;

use super::exit;
use crate::audit::compare::{self, Comparison};
use crate::audit::words;
use crate::format::Limits;
use crate::platform::FileInput;

/// Exit 0 when the files are equivalent, 1 when they differ, 2 when either cannot be read.
pub fn diff(a: &Path, b: &Path, as_json: bool, all: bool, limits: &Limits) -> u8 {
    let (a_inspection, b_inspection) =
        compare::inspect_pair(&FileInput::Path(a.to_path_buf()), &FileInput::Path(b.to_path_buf()), limits);
    let comparison = Comparison::of(&a_inspection, &b_inspection, limits);
    if as_json {
        let object = comparison.to_json(all, &a.display().to_string(), &b.display().to_string());
        super::commands::print_line(&serde_json::to_string_pretty(&object).unwrap_or_default());
    } else {
        print_text(&comparison, a, b, all);
    }
    if comparison.a_error.is_some() || comparison.b_error.is_some() {
        exit::UNREADABLE
    } else if comparison.equivalent() {
        exit::OK
    } else {
        exit::INVALID
    }
}

fn print_text(comparison: &Comparison, a: &Path, b: &Path, all: bool) {
    let line = super::commands::print_line;
    line(&format!("A: {} ({})", a.display(), comparison.a_verdict.name()));
    line(&format!("B: {} ({})", b.display(), comparison.b_verdict.name()));
    line(&comparison.verdict_line());
    if !comparison.latents.is_empty() {
        line("latents:");
        for latent in &comparison.latents {
            let detail = match latent.values {
                Some(v) if v.identical => "bit-identical".to_string(),
                Some(v) => format!(
                    "{} of {} values differ; max |a-b| {:e}, mean {:e}, rmse {:e}{}",
                    v.differing_values,
                    v.value_count,
                    v.max_abs_diff,
                    v.mean_abs_diff,
                    v.rmse,
                    if latent.dtypes_agree() { String::new() } else { " (dtypes differ)".into() }
                ),
                None => format!("shape {:?} vs {:?}", latent.a_shape, latent.b_shape),
            };
            line(&format!("  {}: {detail}", latent.key));
        }
    }
    let differences: Vec<_> = comparison.manifest_differences(all).collect();
    if !differences.is_empty() {
        line("manifest:");
        for row in differences {
            let show = |v: &Option<serde_json::Value>| v.as_ref().map_or("(absent)".into(), |v| v.to_string());
            line(&format!("  {}: {} -> {}", row.path, show(&row.a), show(&row.b)));
            if let Some((_, segments)) = comparison.prompt_words.iter().find(|(path, _)| *path == row.path) {
                line(&format!("    word by word: {}", words::marked(segments)));
            }
        }
    }
    let environment: Vec<_> = comparison.environment_differences().collect();
    if !environment.is_empty() {
        line("environment:");
        for c in environment {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
            line(&format!("  {}: {} -> {}", c.component_id, show(&c.file), show(&c.other)));
        }
    }
    if let Some(image) = &comparison.image {
        let detail = match (&image.pixels, &image.problem) {
            (_, Some(problem)) => problem.clone(),
            (Some(p), None) => format!(
                "max |a-b| {}, mean {:.4}, PSNR {}, {:.2}% of pixels differ",
                p.max_abs_diff,
                p.mean_abs_diff,
                p.psnr.map_or("inf".into(), |v| format!("{v:.2} dB")),
                p.differing_pixel_share * 100.0
            ),
            (None, None) => String::new(),
        };
        let state = if image.identical { "identical" } else { "differs" };
        line(&format!("image: {state}{}{detail}", if detail.is_empty() { "" } else { "; " }));
    }
}
