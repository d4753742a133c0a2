//! RAIIAF Workbench: a viewer, packer and verifier for `.raiiaf` AI-image containers.

pub mod audit;
#[cfg(feature = "gui")]
pub mod cli;
pub mod format;
#[cfg(feature = "gui")]
pub mod gui;
pub mod npy;
pub mod params;
pub mod platform;
pub mod probe;
pub mod tensor;
