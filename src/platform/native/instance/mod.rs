//! The single-instance endpoint of a desktop: see `crate::platform::instance`.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

use std::time::Duration;

/// How a server answers one request (its bytes, or why they could not be read).
pub type Answer = Box<dyn Fn(Result<&[u8], String>) -> Vec<u8> + Send>;

/// How long a client waits for the running window before giving up on it.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server waits for a request's bytes; a client that connects and says nothing holds
/// up the next one for at most this long.
const SERVER_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest reply a client reads.
const MAX_REPLY_BYTES: u64 = 256;
