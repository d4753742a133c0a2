//! The single-instance endpoint on Unix: a socket in the user's private runtime directory.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::{Answer, CLIENT_TIMEOUT, MAX_REPLY_BYTES, SERVER_TIMEOUT};
use crate::platform::instance::{BindError, NoEndpoint, SendError};

/// The socket's file name inside the runtime directory.
pub const SOCKET_NAME: &str = "raiiaf-workbench.sock";

pub type Address = PathBuf;

pub fn fmt_address(address: &Address, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}", address.display())
}

pub fn default_address() -> Result<Address, NoEndpoint> {
    runtime_dir().map(|dir| dir.join(SOCKET_NAME))
}

pub fn address_in(dir: &Path) -> Address {
    dir.join(SOCKET_NAME)
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// True for a directory only its owner, this user, can enter.
fn is_private_dir(metadata: &fs::Metadata, uid: u32) -> bool {
    metadata.is_dir() && metadata.uid() == uid && metadata.permissions().mode() & 0o077 == 0
}

/// The directory for the socket: `$XDG_RUNTIME_DIR` when it is an absolute path to a directory
/// of this user's that nobody else can enter (as the XDG spec requires), otherwise
/// `raiiaf-workbench-UID` in the temp directory, created with 0700 and refused when it exists but
/// is not a private directory of this user (a link or someone else's).
fn runtime_dir() -> Result<PathBuf, NoEndpoint> {
    runtime_dir_from(std::env::var_os("XDG_RUNTIME_DIR").as_deref(), &std::env::temp_dir(), current_uid())
}

fn runtime_dir_from(xdg: Option<&OsStr>, temp: &Path, uid: u32) -> Result<PathBuf, NoEndpoint> {
    if let Some(dir) = xdg.map(Path::new).filter(|d| d.is_absolute())
        && fs::metadata(dir).is_ok_and(|m| is_private_dir(&m, uid))
    {
        return Ok(dir.to_path_buf());
    }
    let dir = temp.join(format!("raiiaf-workbench-{uid}"));
    match DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(NoEndpoint::CannotCreateDir { dir, error }),
    }
    // symlink_metadata: a link planted by someone else must not be followed.
    match fs::symlink_metadata(&dir) {
        Ok(m) if is_private_dir(&m, uid) => Ok(dir),
        Ok(_) => Err(NoEndpoint::NotPrivate { dir }),
        Err(error) => Err(NoEndpoint::Unreadable { dir, error }),
    }
}

pub fn send(socket: &Path, request: &[u8]) -> Result<Vec<u8>, SendError> {
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => SendError::NoListener,
        _ => SendError::Failed(e.to_string()),
    })?;
    let failed = |e: io::Error| SendError::Failed(e.to_string());
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).map_err(failed)?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT)).map_err(failed)?;
    stream.write_all(request).map_err(failed)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(failed)?;
    let mut reply = Vec::new();
    stream.take(MAX_REPLY_BYTES).read_to_end(&mut reply).map_err(failed)?;
    Ok(reply)
}

/// The lock file beside the socket, locked (when it could be made: without it, two starts at
/// the same moment may both open a window, which is all the lock prevents).
pub type StartupLock = Option<File>;

pub fn startup_lock(socket: &Path) -> StartupLock {
    let file = File::create(socket.with_extension("lock")).ok()?;
    file.lock().ok()?;
    Some(file)
}

pub struct Server {
    path: PathBuf,
    /// Device and inode of the socket file this server made.
    identity: (u64, u64),
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Server {
    pub fn bind(path: &Path, max_request: usize, answer: Answer) -> Result<Server, BindError> {
        let failed = |e: io::Error| BindError::Failed(format!("{}: {e}", path.display()));
        let socket = match UnixListener::bind(path) {
            Ok(socket) => socket,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                if UnixStream::connect(path).is_ok() {
                    return Err(BindError::InUse);
                }
                // Left by a window that crashed or was killed: nobody answers on it.
                fs::remove_file(path).map_err(failed)?;
                UnixListener::bind(path).map_err(failed)?
            }
            Err(e) => return Err(failed(e)),
        };
        let identity = identity(path).ok_or_else(|| failed(io::Error::other("socket file vanished")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("single-instance".into())
                .spawn(move || accept_loop(&socket, max_request, &answer, &stop))
                .map_err(failed)?
        };
        Ok(Server { path: path.to_path_buf(), identity, stop, thread: Some(thread) })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if identity(&self.path) != Some(self.identity) {
            // Someone else's socket now: leave it, and the thread blocked in accept().
            return;
        }
        // Wakes accept() so the thread sees the flag and ends.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = fs::remove_file(&self.path);
    }
}

fn accept_loop(socket: &UnixListener, max_request: usize, answer: &Answer, stop: &AtomicBool) {
    for stream in socket.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            Ok(mut stream) => {
                let reply = match read_request(&mut stream, max_request) {
                    Ok(request) => answer(Ok(&request)),
                    Err(e) => answer(Err(e.to_string())),
                };
                let _ = stream.write_all(&reply);
            }
            // Out of file descriptors and the like: do not spin.
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

/// At most `max_request + 1` bytes: one byte over the cap tells an oversized request from one
/// exactly at it.
fn read_request(stream: &mut UnixStream, max_request: usize) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(SERVER_TIMEOUT))?;
    stream.set_write_timeout(Some(SERVER_TIMEOUT))?;
    let mut bytes = Vec::new();
    (&mut *stream).take(max_request as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let socket = address_in(dir.path());
        // A socket file whose listener is gone, as a killed window leaves it.
        drop(UnixListener::bind(&socket).unwrap());
        assert!(socket.exists());
        assert!(matches!(send(&socket, b"x"), Err(SendError::NoListener)));
        let server =
            Server::bind(&socket, 16, Box::new(|request| request.map_or_else(String::into_bytes, <[u8]>::to_vec)))
                .unwrap();
        assert!(matches!(Server::bind(&socket, 16, Box::new(|_| Vec::new())), Err(BindError::InUse)));
        assert_eq!(send(&socket, b"echo").unwrap(), b"echo");
        // Dropping the server removes its socket file.
        drop(server);
        assert!(!socket.exists());
    }

    #[test]
    fn a_silent_client_does_not_block_the_server_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let socket = address_in(dir.path());
        let _server =
            Server::bind(&socket, 16, Box::new(|request| request.map_or_else(String::into_bytes, <[u8]>::to_vec)))
                .unwrap();
        let _silent = UnixStream::connect(&socket).unwrap();
        assert_eq!(send(&socket, b"after").unwrap(), b"after");
    }

    #[test]
    fn the_runtime_dir_is_xdg_when_private_and_a_private_temp_dir_otherwise() {
        let uid = current_uid();
        let temp = tempfile::tempdir().unwrap();
        let xdg = tempfile::tempdir().unwrap();
        fs::set_permissions(xdg.path(), fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(runtime_dir_from(Some(xdg.path().as_os_str()), temp.path(), uid).unwrap(), xdg.path());

        let fallback = temp.path().join(format!("raiiaf-workbench-{uid}"));
        fs::set_permissions(xdg.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for xdg in [Some(xdg.path().as_os_str()), Some("relative/dir".as_ref()), Some("".as_ref()), None] {
            assert_eq!(runtime_dir_from(xdg, temp.path(), uid).unwrap(), fallback, "{xdg:?}");
        }
        let mode = fs::metadata(&fallback).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Someone else's directory (here: another uid) or an open one is refused.
        let others = temp.path().join(format!("raiiaf-workbench-{}", uid + 1));
        assert!(
            matches!(runtime_dir_from(None, temp.path(), uid + 1), Err(NoEndpoint::NotPrivate { dir }) if dir == others)
        );
        fs::set_permissions(&fallback, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(runtime_dir_from(None, temp.path(), uid), Err(NoEndpoint::NotPrivate { .. })));
        // A link in its place is not followed.
        let other = tempfile::tempdir().unwrap();
        DirBuilder::new().mode(0o700).create(other.path().join("target")).unwrap();
        fs::remove_dir(&fallback).unwrap();
        std::os::unix::fs::symlink(other.path().join("target"), &fallback).unwrap();
        let refused = runtime_dir_from(None, temp.path(), uid).unwrap_err();
        assert!(matches!(refused, NoEndpoint::NotPrivate { .. }), "{refused}");
        assert!(refused.to_string().ends_with("is not a private directory of this user"), "{refused}");
    }
}
