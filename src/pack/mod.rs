//! Building containers from images and latent files, apart from any window: the metadata a pack
//! gets (the user's values, the image's parameters, stand-ins for what nobody recorded) and
//! batches of images paired with their latents by name.

use std::path::PathBuf;

use crate::format::latent::LatentError;
use crate::npy::LatentFileError;
use crate::params::ParamsError;

pub mod batch;
pub mod fallback;
pub mod form;
pub mod request;

/// Why a pack's metadata or latents, or a batch's files, could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// Required values that were neither given nor to be imported.
    #[error("give {} (or --import-params to read them from the image)", .flags.join(", "))]
    ValuesMissing { flags: Vec<&'static str> },
    #[error("--import-params: {image}: {error}")]
    Import { image: String, error: ParamsError },
    /// What the packer's form would refuse too, as (field, message).
    #[error("the metadata cannot be packed: {}", listed(.problems))]
    Unpackable { problems: Vec<(String, String)> },
    #[error(transparent)]
    LatentFile(#[from] LatentFileError),
    /// A tensor whose values do not fill its shape (`file` names where it came from).
    #[error("{file}: {error}")]
    Latent { file: String, error: LatentError },
    #[error("{}: {error}", .folder.display())]
    Folder { folder: PathBuf, error: std::io::Error },
    /// What the writer refuses (no latent, a repeated key, an image that is not one, values
    /// zfp cannot store losslessly, ...).
    #[error(transparent)]
    Write(#[from] crate::format::FormatError),
}

fn listed(problems: &[(String, String)]) -> String {
    problems.iter().map(|(field, message)| format!("{field}: {message}")).collect::<Vec<_>>().join("; ")
}
