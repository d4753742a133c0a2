//! `raiiaf verify`: files and whole folders, checked on every core, with an optional report.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use clap::Args;

use super::exit;
use crate::audit::folder::{self, ReportFormat, ReportWriter, Summary, VerifyOptions};
use crate::format::Limits;

pub const AFTER_HELP: &str = "\
Each file gets one line on stdout, in path order: VERDICT<TAB>PATH<TAB>DETAIL, where VERDICT is \
valid, invalid or unreadable. A summary line goes to stderr.

A folder contributes its .raiiaf and .gen5 files (any case), and those of its subfolders with \
--recursive; symlinked folders inside it are not followed. A file named directly is checked \
whatever its name.

--report writes every row (path, valid, verdict, problems, error, model_name, seed, environment) \
as JSON ({\"files\": [...], \"summary\": {...}}) or CSV, by the name's extension; it replaces the \
file only once the run ends. Ctrl-C (or SIGTERM) stops checking new files and still writes the \
report of those checked, with \"cancelled\": true in the JSON summary; a second Ctrl-C ends at once.

Exit status (the worst wins): 0 every file valid, 1 a file is invalid, 2 a file or folder is \
unreadable, or no file was found at all, 3 the report could not be written, 64 usage error, \
130 stopped by Ctrl-C or SIGTERM, 141 standard output closed before the end (`| head`: the run \
stops as on Ctrl-C and the report keeps the files checked).";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files and folders to check.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Look in subfolders too.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Also write every result to FILE.json or FILE.csv (replaced if it exists).
    #[arg(long, value_name = "FILE.json|FILE.csv", value_parser = parse_report_path)]
    pub report: Option<PathBuf>,
    /// Files checked at once (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub jobs: Option<usize>,
}

/// Refuses a report name of unknown format on the command line, before anything is checked.
fn parse_report_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    ReportFormat::from_path(&path).map(|_| path).map_err(|error| error.to_string())
}

pub fn verify(args: &VerifyArgs, limits: &Limits) -> u8 {
    let started = Instant::now();
    // Created first, so an unwritable report folder fails before any file is read.
    let mut report = match args.report.as_deref().map(ReportWriter::create).transpose() {
        Ok(report) => report,
        Err(error) => {
            eprintln!("raiiaf: {error}");
            return exit::FAILED;
        }
    };
    let targets = folder::discover(&args.paths, args.recursive);
    let options = VerifyOptions { jobs: args.jobs.unwrap_or(0), limits: *limits };
    // Ctrl-C or SIGTERM is the run's cancel flag, so the files checked so far still reach the
    // report (a folder of 100,000 files is not redone for a missed report).
    crate::platform::stop_on_interrupt();
    let cancel = crate::platform::interrupted();
    let mut stdout = std::io::stdout().lock();
    let mut stdout_failed = None;
    let mut report_error = None;
    let summary = folder::verify_targets(&targets, &options, cancel, |_, _, row| {
        if stdout_failed.is_none()
            && let Err(error) = writeln!(stdout, "{}\t{}\t{}", row.verdict.name(), row.path.display(), row.detail())
        {
            // stdout was closed (`| head`): the run stops as Ctrl-C stops it, the report keeps
            // what was checked, and the exit status says so (never the success of a part).
            stdout_failed = Some(super::commands::stdout_failure(&error));
            cancel.store(true, Ordering::Relaxed);
        }
        if let Some(writer) = report.as_mut()
            && report_error.is_none()
            && let Err(error) = writer.write_row(&row)
        {
            report_error = Some(error);
        }
    });
    let _ = stdout.flush();
    drop(stdout);

    if targets.is_empty() {
        let hint = if args.recursive { "" } else { " (subfolders are searched only with --recursive)" };
        eprintln!("raiiaf: no .raiiaf or .gen5 files found{hint}");
    } else {
        eprintln!("raiiaf: {}", summary_line(&summary, started.elapsed().as_secs_f64()));
    }
    let report_result = match (report, report_error) {
        (_, Some(error)) => Err(error),
        (Some(writer), None) => {
            let destination = writer.destination().to_path_buf();
            writer.finish(&summary).map(|()| Some(destination))
        }
        (None, None) => Ok(None),
    };
    match report_result {
        Err(error) => {
            eprintln!("raiiaf: {error}");
            exit::FAILED
        }
        Ok(destination) => {
            if let Some(destination) = destination {
                eprintln!("raiiaf: report written to {}", destination.display());
            }
            if let Some(status) = stdout_failed {
                status
            } else if targets.is_empty() {
                exit::UNREADABLE
            } else if summary.cancelled {
                exit::INTERRUPTED
            } else {
                summary.worst().exit_code()
            }
        }
    }
}

fn summary_line(summary: &Summary, seconds: f64) -> String {
    let stopped = if summary.cancelled {
        format!("stopped after {} of {} files", summary.checked, summary.found)
    } else {
        format!("{} file{}", summary.checked, if summary.checked == 1 { "" } else { "s" })
    };
    let rate = if seconds > 0.0 { summary.checked as f64 / seconds } else { 0.0 };
    format!(
        "{stopped}: {} valid, {} invalid, {} unreadable in {seconds:.2} s ({rate:.0} files/s)",
        summary.valid, summary.invalid, summary.unreadable
    )
}
