//! The transport behind "one window per user": a running window serves an endpoint, and a
//! second start sends it one request and reads one reply. What the bytes mean (the open request
//! and its checks) is the caller's; this module only carries them, with a cap on the request,
//! timeouts on both sides and a way to tell "nobody listens" from "it failed".
//!
//! - Unix: a Unix domain socket in the user's private runtime directory. The client shuts down
//!   its writing half to end the request.
//! - Windows: a named pipe `\\.\pipe\raiiaf-workbench-SESSION-USER` in message mode (a pipe has
//!   no half-close: one message is one request), refusing remote clients.
//! - The browser: no second start exists, so there is no endpoint.

use std::fmt;

use super::current::instance as current;

/// Where the running window listens: a socket path on Unix, a pipe name on Windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(pub(super) current::Address);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        current::fmt_address(&self.0, f)
    }
}

/// Why this user has no endpoint, and so no single instance.
#[derive(Debug, thiserror::Error)]
pub enum NoEndpoint {
    /// Unix: no directory only this user can enter for the socket.
    #[error("cannot create {}: {error}", .dir.display())]
    CannotCreateDir { dir: std::path::PathBuf, error: std::io::Error },
    #[error("{} is not a private directory of this user", .dir.display())]
    NotPrivate { dir: std::path::PathBuf },
    #[error("{}: {error}", .dir.display())]
    Unreadable { dir: std::path::PathBuf, error: std::io::Error },
    /// Windows: the pipe's name holds the login session.
    #[error("no login session: {0}")]
    NoSession(std::io::Error),
    #[error("a web page has no single instance")]
    WebPage,
}

/// This user's endpoint (in this login session, on Windows), or why there is none.
pub fn default_endpoint() -> Result<Endpoint, NoEndpoint> {
    current::default_address().map(Endpoint)
}

/// An endpoint of its own for `dir`, an existing private directory: tests and side-by-side
/// sessions use it instead of the user's one.
pub fn endpoint_in(dir: &std::path::Path) -> Endpoint {
    Endpoint(current::address_in(dir))
}

/// Why [`send`] got no reply.
#[derive(Debug)]
pub enum SendError {
    /// Nobody listens (no endpoint, or one left behind by a window that crashed).
    NoListener,
    /// A listener was there but the exchange failed or timed out.
    Failed(String),
}

/// Sends `request` to whoever serves `endpoint` and returns its reply (at most 256 bytes),
/// waiting a few seconds at most.
pub fn send(endpoint: &Endpoint, request: &[u8]) -> Result<Vec<u8>, SendError> {
    current::send(&endpoint.0, request)
}

/// Why [`Server::bind`] did not bind.
#[derive(Debug)]
pub enum BindError {
    /// A live window serves the endpoint already.
    InUse,
    Failed(String),
}

/// Serves an endpoint on a thread of its own while it lives. Dropping it stops the thread and
/// frees the endpoint (on Unix, removes the socket file when it is still this server's).
pub struct Server(#[allow(dead_code)] current::Server);

impl Server {
    /// Serves `endpoint`: each request is answered with what `answer` returns for its bytes (at
    /// most `max_request + 1` are read, so that one byte over says it was too long) or for why
    /// they could not be read (a client that said nothing in time). An endpoint left behind by a
    /// window that crashed is taken over; one a live window serves is not.
    pub fn bind(
        endpoint: &Endpoint,
        max_request: usize,
        answer: impl Fn(Result<&[u8], String>) -> Vec<u8> + Send + 'static,
    ) -> Result<Server, BindError> {
        current::Server::bind(&endpoint.0, max_request, Box::new(answer)).map(Server)
    }
}

/// The absolute form of `path` to hand to a window whose working directory is not ours:
/// canonical when the file exists (on Windows without the `\\?\` prefix canonical paths get
/// there, which a window would show), otherwise made absolute as written.
pub fn absolute_path(path: &std::path::Path) -> std::path::PathBuf {
    let absolute = if cfg!(windows) {
        std::path::absolute(path)
    } else {
        path.canonicalize().or_else(|_| std::path::absolute(path))
    };
    absolute.unwrap_or_else(|_| path.to_path_buf())
}

/// Held while a start decides whether to send or to serve, so that of two starts at the same
/// moment the second finds the first's server instead of taking its endpoint for stale. (A file
/// lock on Unix; on Windows the pipe's first instance already decides.)
pub fn startup_lock(endpoint: &Endpoint) -> StartupLock {
    StartupLock(current::startup_lock(&endpoint.0))
}

/// See [`startup_lock`]; released when dropped.
pub struct StartupLock(#[allow(dead_code)] current::StartupLock);
