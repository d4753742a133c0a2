//! RAIIAF Workbench: a viewer, packer and verifier for `.raiiaf` AI-image containers.

pub mod audit;
// The command line needs processes, files and a terminal: not in a browser.
#[cfg(all(feature = "gui", not(target_arch = "wasm32")))]
pub mod cli;
pub mod format;
#[cfg(feature = "gui")]
pub mod gui;
pub mod notebook;
pub mod npy;
pub mod pack;
pub mod params;
pub mod platform;
pub mod probe;
pub mod tensor;
