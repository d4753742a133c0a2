//! The `.raiiaf` / `.gen5` container: reading, checking and writing. No GUI code lives here.

pub mod atomic;
pub mod codec;
pub mod environment;
pub mod error;
pub mod header;
pub mod latent;
pub mod manifest;
pub mod picture;
pub mod reader;
pub mod source;
pub mod verify;
pub mod writer;

pub use environment::{EnvComponent, Environment};
pub use error::{FormatError, Location};
pub use header::{Format, Header};
pub use latent::{Dtype, Latent, LatentValues, Stats, StoredCodec};
pub use reader::{Inspection, Limits, inspect, inspect_path};
pub use verify::{Check, Report, Verdict};
pub use writer::{LatentCodec, ModelInfo, PackLatent, PackRequest, Packed, pack, write_atomic};
