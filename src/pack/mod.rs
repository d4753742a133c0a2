//! Building containers from images and latent files, apart from any window: the metadata a pack
//! gets (the user's values, the image's parameters, stand-ins for what nobody recorded) and
//! batches of images paired with their latents by name.

pub mod batch;
pub mod fallback;
pub mod form;
pub mod request;
