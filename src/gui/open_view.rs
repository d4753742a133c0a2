//! The views beside the documents (the packer, a comparison, a folder verification, a batch):
//! one enum, at most one open of each kind, so showing, closing, titling and drawing them are one
//! `match` each.

use super::batch_view::{BatchCommand, BatchView};
use super::compare_view::{CompareCommand, CompareView};
use super::environment_view::MachineEnvironment;
use super::folder_view::{FolderCommand, FolderView};
use super::latent_view::ExportRequest;
use super::packer::{Wizard, WizardOutcome};
use crate::platform::FileInput;

/// What fills the window below the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The selected document (or the start screen when none is open).
    #[default]
    Documents,
    Packer,
    Compare,
    Folder,
    /// Packing many images with their latents.
    Batch,
}

pub enum OpenView {
    Packer(Box<Wizard>),
    Compare(Box<CompareView>),
    Folder(Box<FolderView>),
    Batch(Box<BatchView>),
}

/// What a view asks of the app, in the app's terms (see `UiCommand`).
pub enum ViewCommand {
    Open(FileInput),
    Compare(FileInput, FileInput),
    Export(ExportRequest),
    ExportFolderReport,
    SaveBatchReport(Vec<u8>),
    Close(View),
}

impl OpenView {
    pub fn kind(&self) -> View {
        match self {
            OpenView::Packer(_) => View::Packer,
            OpenView::Compare(_) => View::Compare,
            OpenView::Folder(_) => View::Folder,
            OpenView::Batch(_) => View::Batch,
        }
    }

    /// The label of its tab in the top bar.
    pub fn tab_title(&self) -> String {
        match self {
            OpenView::Packer(_) => "Packer".to_string(),
            OpenView::Compare(compare) => format!("Compare: {}", compare.title()),
            OpenView::Folder(folder) => format!("Verify: {}", folder.title()),
            OpenView::Batch(batch) => format!("Pack: {}", batch.title()),
        }
    }

    /// The window's title while it is shown.
    pub fn window_title(&self) -> String {
        match self {
            OpenView::Packer(_) => "Packer".to_string(),
            OpenView::Compare(compare) => compare.title(),
            OpenView::Folder(folder) => format!("Verify {}", folder.title()),
            OpenView::Batch(_) => "Batch packing".to_string(),
        }
    }

    /// Takes what its workers have finished (every frame, shown or not).
    pub fn poll(&mut self) {
        match self {
            // The packer takes its workers' results as it draws.
            OpenView::Packer(_) => {}
            OpenView::Compare(compare) => {
                compare.state.poll();
            }
            OpenView::Folder(folder) => folder.poll(),
            OpenView::Batch(batch) => batch.poll(),
        }
    }

    /// Whether work is still running (screenshots wait for it).
    pub fn is_busy(&self) -> bool {
        match self {
            OpenView::Packer(packer) => packer.is_busy(),
            OpenView::Compare(compare) => compare.is_loading(),
            OpenView::Folder(folder) => folder.is_running(),
            OpenView::Batch(batch) => batch.is_busy(),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, machine: &MachineEnvironment, commands: &mut Vec<ViewCommand>) {
        match self {
            OpenView::Packer(packer) => match packer.ui(ui, machine.result()) {
                Some(WizardOutcome::Saved(file)) => {
                    commands.push(ViewCommand::Close(View::Packer));
                    commands.push(ViewCommand::Open(file));
                }
                Some(WizardOutcome::Close) => commands.push(ViewCommand::Close(View::Packer)),
                None => {}
            },
            OpenView::Compare(compare) => {
                let mut compare_commands = Vec::new();
                let mut exports = Vec::new();
                compare.ui(ui, machine, &mut compare_commands, &mut exports);
                commands.extend(exports.into_iter().map(ViewCommand::Export));
                commands.extend(compare_commands.into_iter().map(|command| match command {
                    CompareCommand::Open(file) => ViewCommand::Open(file),
                    CompareCommand::Swap => ViewCommand::Compare(compare.b.clone(), compare.a.clone()),
                    CompareCommand::Close => ViewCommand::Close(View::Compare),
                }));
            }
            OpenView::Folder(folder) => {
                let mut folder_commands = Vec::new();
                folder.ui(ui, &mut folder_commands);
                commands.extend(folder_commands.into_iter().map(|command| match command {
                    FolderCommand::Open(file) => ViewCommand::Open(file),
                    FolderCommand::Export => ViewCommand::ExportFolderReport,
                    FolderCommand::Close => ViewCommand::Close(View::Folder),
                }));
            }
            OpenView::Batch(batch) => {
                let mut batch_commands = Vec::new();
                batch.ui(ui, machine.result(), &mut batch_commands);
                commands.extend(batch_commands.into_iter().map(|command| match command {
                    BatchCommand::Open(file) => ViewCommand::Open(file),
                    BatchCommand::SaveReport(bytes) => ViewCommand::SaveBatchReport(bytes),
                    BatchCommand::Close => ViewCommand::Close(View::Batch),
                }));
            }
        }
    }
}
