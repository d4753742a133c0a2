//! The `.raiiaf` / `.gen5` container: reading, checking and writing. No GUI code lives here.
// zfp-rs replaced the C library, so the format code needs no unsafe code (tests may use it, to
// drive that library as an oracle).
#![deny(unsafe_code)]

pub mod codec;
pub mod environment;
pub mod error;
pub mod header;
pub mod info;
pub mod latent;
pub mod manifest;
pub mod picture;
pub mod reader;
pub mod source;
pub mod verify;
pub mod writer;
pub mod zfp;

pub use environment::{EnvComponent, Environment};
pub use error::{FormatError, Location};
pub use header::{Format, Header};
pub use latent::{Dtype, Latent, LatentValues, Stats, StoredCodec};
pub use reader::{Inspection, Limits, inspect, inspect_path};
pub use verify::{Check, Report, Verdict};
pub use writer::{LatentCodec, ModelInfo, PackLatent, PackRequest, Packed, pack, write_atomic};
