//! RAIIAF Workbench: a viewer, packer and verifier for `.raiiaf` AI-image containers.

pub mod format;
pub mod npy;
pub mod probe;
pub mod cli;
pub mod gui;
