//! Verifying whole folders: progress with rate and time left, Cancel, and a results table
//! sorted and filtered by verdict, problem, model, seed and environment, exportable as JSON or
//! CSV; double-clicking a file's name opens it.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use web_time::Instant;

use crate::audit::folder::{self, FileRow, Summary, VerifyOptions};
use crate::audit::table::{self, Facets, RowFilter, SortColumn};
use crate::format::Verdict;
use crate::platform::FileInput;

use super::style;
use super::worker::Load;

/// What the worker reports while it runs, in order: the file count, then each row. Its result,
/// the summary, ends the [`Load`].
enum FolderUpdate {
    Found(usize),
    Row(FileRow),
}

/// What is verified: folders (walked with their subfolders) or files given one by one (dropped
/// together, or picked; the browser's only kind).
#[derive(Debug, Clone)]
pub enum FolderSource {
    Folders(Vec<PathBuf>),
    Files(Vec<FileInput>),
}

/// What the view asks the app to do.
pub enum FolderCommand {
    Open(FileInput),
    /// Save the rows as a report (the app asks where).
    Export,
    Close,
}

pub struct FolderView {
    pub source: FolderSource,
    pub rows: Vec<FileRow>,
    pub total: Option<usize>,
    pub filter: RowFilter,
    pub sort: SortColumn,
    pub ascending: bool,
    /// The environment component shown in its own column and offered as a filter.
    pub environment_component: String,
    /// The verification; dropping the view cancels it.
    task: Load<Summary>,
    updates: Receiver<FolderUpdate>,
    started: Instant,
    elapsed: Duration,
    /// Rows shown, cached until the rows, filter or order change.
    shown: Option<(usize, RowFilter, SortColumn, bool, Vec<usize>)>,
    facets: Option<(usize, Facets)>,
}

impl FolderView {
    /// Starts verifying every container under the folders (recursively) or every file given, on
    /// all cores.
    pub fn start(ctx: &egui::Context, source: FolderSource, limits: crate::format::Limits) -> FolderView {
        let (sender, updates) = channel();
        let worker_source = source.clone();
        let worker_ctx = ctx.clone();
        // Rows stream to the view as they come; the summary is the load's result.
        let task = Load::start(ctx, move |progress| {
            let targets = match &worker_source {
                FolderSource::Folders(roots) => folder::discover(roots, true),
                FolderSource::Files(files) => folder::Target::of_inputs(files),
            };
            let _ = sender.send(FolderUpdate::Found(targets.len()));
            worker_ctx.request_repaint();
            let mut last_repaint = Instant::now();
            folder::verify_targets(&targets, &VerifyOptions { jobs: 0, limits }, progress.cancel_flag(), |_, _, row| {
                let _ = sender.send(FolderUpdate::Row(row));
                // Repainting for every one of thousands of rows would keep the UI thread busy.
                if last_repaint.elapsed() > Duration::from_millis(50) {
                    worker_ctx.request_repaint();
                    last_repaint = Instant::now();
                }
            })
        });
        FolderView {
            source,
            rows: Vec::new(),
            total: None,
            filter: RowFilter::default(),
            sort: SortColumn::Path,
            ascending: true,
            environment_component: "torch".into(),
            task,
            updates,
            started: Instant::now(),
            elapsed: Duration::ZERO,
            shown: None,
            facets: None,
        }
    }

    /// Takes what the worker has sent since the last frame.
    pub fn poll(&mut self) {
        if !self.task.is_loading() {
            return;
        }
        self.elapsed = self.started.elapsed();
        // The load first: once it has ended, every row it sent is already queued.
        self.task.poll();
        for update in self.updates.try_iter() {
            match update {
                FolderUpdate::Found(total) => self.total = Some(total),
                FolderUpdate::Row(row) => self.rows.push(row),
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.task.is_loading()
    }

    /// Stops after the files being verified; the rows so far and their summary stay.
    pub fn cancel(&mut self) {
        self.task.cancel();
    }

    /// The final summary, once the verification has ended.
    pub fn summary(&self) -> Option<Summary> {
        self.task.ready().copied()
    }

    /// Why the verification stopped early, when its worker failed.
    pub fn failure(&self) -> Option<&str> {
        self.task.failure()
    }

    pub fn title(&self) -> String {
        match &self.source {
            FolderSource::Folders(roots) => match roots.as_slice() {
                [one] => {
                    one.file_name().map_or_else(|| one.display().to_string(), |n| n.to_string_lossy().into_owned())
                }
                many => format!("{} folders", many.len()),
            },
            FolderSource::Files(files) => format!("{} files", files.len()),
        }
    }

    /// The folder the rows' paths are shown relative to, when one folder is verified.
    fn single_root(&self) -> Option<&std::path::Path> {
        match &self.source {
            FolderSource::Folders(roots) => match roots.as_slice() {
                [root] => Some(root),
                _ => None,
            },
            FolderSource::Files(_) => None,
        }
    }

    /// The file behind a row, to open it: from disk, or the bytes given.
    fn file_of(&self, row: &FileRow) -> FileInput {
        match &self.source {
            FolderSource::Files(files) => files
                .iter()
                .find(|file| {
                    file.path()
                        .map_or_else(|| std::path::Path::new(&file.display_name()) == row.path, |p| p == row.path)
                })
                .cloned()
                .unwrap_or_else(|| FileInput::Path(row.path.clone())),
            FolderSource::Folders(_) => FileInput::Path(row.path.clone()),
        }
    }

    /// The summary so far (the final one once done).
    pub fn counts(&self) -> Summary {
        self.summary().unwrap_or_else(|| {
            let mut summary = Summary { found: self.total.unwrap_or(0), ..Summary::default() };
            for row in &self.rows {
                summary.count(row);
            }
            summary
        })
    }

    /// Row positions shown under the current filter and order.
    pub fn visible(&mut self) -> &[usize] {
        let key = (self.rows.len(), self.filter.clone(), self.sort.clone(), self.ascending);
        let stale = self.shown.as_ref().is_none_or(|(n, f, s, a, _)| (*n, f, s, *a) != (key.0, &key.1, &key.2, key.3));
        if stale {
            let shown = table::visible_rows(&self.rows, &self.filter, &self.sort, self.ascending);
            self.shown = Some((key.0, key.1, key.2, key.3, shown));
        }
        self.shown.as_ref().map_or(&[], |(.., shown)| shown.as_slice())
    }

    /// What the rows hold, for the filter menus; recounted when rows have arrived.
    fn facets(&mut self) -> &Facets {
        if self.facets.as_ref().is_some_and(|(n, _)| *n != self.rows.len()) {
            self.facets = None;
        }
        &self.facets.get_or_insert_with(|| (self.rows.len(), Facets::of(&self.rows))).1
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<FolderCommand>) {
        self.progress_ui(ui, commands);
        ui.separator();
        self.filters_ui(ui);
        ui.separator();
        self.table_ui(ui, commands);
    }

    fn progress_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<FolderCommand>) {
        ui.horizontal_wrapped(|ui| {
            ui.strong("Verifying");
            match &self.source {
                FolderSource::Folders(roots) => {
                    let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
                    ui.label(roots.join(", "));
                    ui.weak("(with subfolders)");
                }
                FolderSource::Files(files) => {
                    ui.label(format!("{} files", files.len()));
                }
            }
        });
        if let Some(why) = self.failure() {
            ui.colored_label(style::BAD, format!("The verification stopped: {why}"));
        }
        let counts = self.counts();
        let done = self.rows.len();
        match (self.is_running(), self.total) {
            (true, None) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Looking for .raiiaf and .gen5 files…");
                });
            }
            (running, Some(total)) => {
                let fraction = if total == 0 { 1.0 } else { done as f32 / total as f32 };
                ui.horizontal(|ui| {
                    ui.add(egui::ProgressBar::new(fraction).desired_width(360.0).text(table::progress_text(
                        done,
                        total,
                        self.elapsed,
                    )));
                    if running {
                        if ui.button("Cancel").clicked() {
                            self.cancel();
                        }
                    } else if counts.cancelled {
                        ui.colored_label(style::CHANGED, "cancelled");
                    } else {
                        ui.label(format!("done in {:.1} s", self.elapsed.as_secs_f64()));
                    }
                });
            }
            (false, None) => {
                ui.label("Nothing was checked.");
            }
        }
        ui.horizontal(|ui| {
            for (verdict, count, color) in [
                (Verdict::Valid, counts.valid, style::verdict_color(Verdict::Valid)),
                (Verdict::Invalid, counts.invalid, style::verdict_color(Verdict::Invalid)),
                (Verdict::Unreadable, counts.unreadable, style::verdict_color(Verdict::Unreadable)),
            ] {
                let selected = self.filter.verdict == Some(verdict);
                let text = egui::RichText::new(format!("{count} {}", verdict.name())).color(color);
                if ui.selectable_label(selected, text).on_hover_text("Show only these (click again: all)").clicked() {
                    self.filter.verdict = if selected { None } else { Some(verdict) };
                }
            }
            ui.separator();
            if ui.add_enabled(!self.rows.is_empty(), egui::Button::new("Export report…")).clicked() {
                commands.push(FolderCommand::Export);
            }
            if ui.button("Close").clicked() {
                commands.push(FolderCommand::Close);
            }
        });
    }

    fn filters_ui(&mut self, ui: &mut egui::Ui) {
        let facets = self.facets().clone();
        let filter = &mut self.filter;
        ui.horizontal_wrapped(|ui| {
            ui.label("Filter:");
            let verdict_text = filter.verdict.map_or("any verdict", Verdict::name);
            egui::ComboBox::from_id_salt("filter-verdict").selected_text(verdict_text).show_ui(ui, |ui| {
                ui.selectable_value(&mut filter.verdict, None, "any verdict");
                for verdict in [Verdict::Valid, Verdict::Invalid, Verdict::Unreadable] {
                    ui.selectable_value(&mut filter.verdict, Some(verdict), verdict.name());
                }
            });
            let problem_text = filter.problem.clone().unwrap_or_else(|| "any problem".into());
            egui::ComboBox::from_id_salt("filter-problem").selected_text(problem_text).show_ui(ui, |ui| {
                ui.selectable_value(&mut filter.problem, None, "any problem");
                for (problem, count) in &facets.problems {
                    ui.selectable_value(&mut filter.problem, Some(problem.clone()), format!("{problem} ({count})"));
                }
            });
            let model_text = filter.model.clone().unwrap_or_else(|| "any model".into());
            egui::ComboBox::from_id_salt("filter-model").selected_text(model_text).show_ui(ui, |ui| {
                ui.selectable_value(&mut filter.model, None, "any model");
                for (model, count) in &facets.models {
                    ui.selectable_value(&mut filter.model, Some(model.clone()), format!("{model} ({count})"));
                }
            });
            ui.add(egui::TextEdit::singleline(&mut filter.seed).hint_text("seed").desired_width(90.0));
            ui.add(egui::TextEdit::singleline(&mut filter.path).hint_text("path contains").desired_width(140.0));
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("Environment:");
            let component = &mut self.environment_component;
            egui::ComboBox::from_id_salt("environment-component").selected_text(component.as_str()).show_ui(ui, |ui| {
                for id in facets.environment.keys() {
                    ui.selectable_value(component, id.clone(), id);
                }
            });
            let values = facets.environment.get(component.as_str());
            let current = match &filter.environment {
                Some((id, value)) if id == component => Some(value.clone()),
                _ => None,
            };
            let shown = match &current {
                None => "any value".to_string(),
                Some(value) => value.clone().unwrap_or_else(|| "(missing)".into()),
            };
            egui::ComboBox::from_id_salt("environment-value").selected_text(shown).width(260.0).show_ui(ui, |ui| {
                if ui.selectable_label(current.is_none(), "any value").clicked() {
                    filter.environment = None;
                }
                for (value, count) in values.into_iter().flatten() {
                    let text = format!("{} ({count})", value.as_deref().unwrap_or("(missing)"));
                    if ui.selectable_label(current.as_ref() == Some(value), text).clicked() {
                        filter.environment = Some((component.clone(), value.clone()));
                    }
                }
            });
            if let Some(values) = values {
                ui.weak(format!("{} distinct", values.len()));
            }
            if !filter.is_empty() && ui.button("Clear filters").clicked() {
                *filter = RowFilter::default();
            }
        });
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<FolderCommand>) {
        use egui_extras::{Column, TableBuilder};
        let component = self.environment_component.clone();
        let columns: [(&str, SortColumn); 6] = [
            ("verdict", SortColumn::Verdict),
            ("file", SortColumn::Path),
            ("problems", SortColumn::Problems),
            ("model", SortColumn::Model),
            ("seed", SortColumn::Seed),
            (component.as_str(), SortColumn::Environment(component.clone())),
        ];
        let visible: Vec<usize> = self.visible().to_vec();
        ui.weak(format!(
            "{} of {} files shown · click a heading to sort · double-click a file to open it",
            visible.len(),
            self.rows.len()
        ));
        let mut sort_by = None;
        TableBuilder::new(ui)
            .striped(true)
            .sense(egui::Sense::click())
            .column(Column::auto().at_least(80.0))
            .column(Column::initial(360.0).at_least(120.0).clip(true))
            .column(Column::initial(220.0).clip(true))
            .column(Column::initial(120.0).clip(true))
            .column(Column::initial(100.0))
            .column(Column::remainder().clip(true))
            .header(22.0, |mut header| {
                for (title, column) in &columns {
                    header.col(|ui| {
                        let arrow = match (self.sort == *column, self.ascending) {
                            (true, true) => " (asc)",
                            (true, false) => " (desc)",
                            _ => "",
                        };
                        if ui.button(egui::RichText::new(format!("{title}{arrow}")).strong()).clicked() {
                            sort_by = Some(column.clone());
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, visible.len(), |mut table_row| {
                    let Some(row) = visible.get(table_row.index()).and_then(|&i| self.rows.get(i)) else { return };
                    table_row.col(|ui| {
                        let color = style::verdict_color(row.verdict);
                        ui.add(
                            egui::Label::new(egui::RichText::new(row.verdict.name()).color(color)).selectable(false),
                        );
                    });
                    table_row.col(|ui| {
                        // Relative to the one folder verified, where there is one.
                        let shown = match self.single_root() {
                            Some(root) => row.path.strip_prefix(root).unwrap_or(&row.path),
                            None => &row.path,
                        };
                        let name =
                            egui::Label::new(shown.display().to_string()).selectable(false).sense(egui::Sense::click());
                        let name = ui.add(name).on_hover_text(format!(
                            "{}\n{}\nDouble-click to open it.",
                            row.path.display(),
                            row.detail()
                        ));
                        if name.double_clicked() {
                            commands.push(FolderCommand::Open(self.file_of(row)));
                        }
                    });
                    table_row.col(|ui| {
                        ui.add(egui::Label::new(row.problems.join(", ")).selectable(false)).on_hover_text(row.detail());
                    });
                    table_row.col(|ui| {
                        ui.add(egui::Label::new(row.model_name.as_deref().unwrap_or("-")).selectable(false));
                    });
                    table_row.col(|ui| {
                        ui.add(egui::Label::new(row.seed.map_or("-".into(), |s| s.to_string())).selectable(false));
                    });
                    table_row.col(|ui| {
                        ui.add(
                            egui::Label::new(table::environment_value(row, &component).unwrap_or("-"))
                                .selectable(false),
                        );
                    });
                });
            });
        if let Some(column) = sort_by {
            if self.sort == column {
                self.ascending = !self.ascending;
            } else {
                self.sort = column;
                self.ascending = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_until(view: &mut FolderView, done: impl Fn(&FolderView) -> bool) {
        let start = Instant::now();
        while !done(view) {
            assert!(start.elapsed() < Duration::from_secs(60), "the verification never got there");
            std::thread::sleep(Duration::from_millis(1));
            view.poll();
        }
    }

    #[test]
    fn cancel_keeps_the_rows_so_far_and_a_summary_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/f32_zfp.raiiaf");
        for i in 0..2000 {
            std::fs::hard_link(&fixture, dir.path().join(format!("{i}.raiiaf"))).unwrap();
        }
        let ctx = egui::Context::default();
        let source = FolderSource::Folders(vec![dir.path().to_path_buf()]);
        let mut view = FolderView::start(&ctx, source, crate::format::Limits::default());
        wait_until(&mut view, |view| !view.rows.is_empty());
        view.cancel();
        wait_until(&mut view, |view| !view.is_running());
        let summary = view.summary().expect("a cancelled verification still ends with its summary");
        assert!(summary.cancelled);
        assert_eq!(view.total, Some(2000));
        assert_eq!(summary.checked, view.rows.len(), "every row sent before the end was taken");
        assert!(view.rows.len() < 2000, "stopped early");
        assert!(view.rows.iter().all(|row| row.verdict == Verdict::Valid));
        assert_eq!(view.failure(), None);
    }
}
