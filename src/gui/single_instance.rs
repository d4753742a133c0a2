//! One window per user: a second `raiiaf FILE...` (what a double-click runs) hands its files to
//! the window already open, over a Unix domain socket in the user's runtime directory, and exits.
//!
//! Protocol: the client connects, writes one JSON object `{"open": ["/abs/path", ...]}`, shuts
//! down its writing half and reads one line back: `ok N` (N paths queued for opening) or
//! `error: REASON`. The listener reads at most [`MAX_MESSAGE_BYTES`] and rejects anything that
//! is not such an object of non-empty, absolute UTF-8 paths.
//!
//! UI-free apart from the `egui::Context` it wakes when files arrive. Files arrive in an
//! [`OpenInbox`], whose receiving end the app polls each frame (on macOS, Finder's open-document
//! events arrive there too, see `macos_open`).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};

/// Set to `1` to turn single instance off (every start opens its own window).
pub const DISABLE_ENV: &str = "RAIIAF_NO_SINGLE_INSTANCE";
/// Set to `1` to have the window say on stderr which file each new tab shows.
pub const LOG_OPENED_ENV: &str = "RAIIAF_LOG_OPENED";
/// The socket's file name inside the runtime directory.
pub const SOCKET_NAME: &str = "raiiaf-workbench.sock";
/// The largest request the listener reads; a file manager's selection of thousands of files
/// fits, a runaway writer does not.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// The most paths one request may carry.
pub const MAX_PATHS: usize = 10_000;

/// Where requests to open files go: the channel the app polls, and the context that wakes it.
#[derive(Clone)]
pub struct OpenInbox {
    sender: Sender<Vec<PathBuf>>,
    repaint: Arc<OnceLock<egui::Context>>,
}

impl OpenInbox {
    pub fn new() -> (OpenInbox, Receiver<Vec<PathBuf>>) {
        let (sender, receiver) = channel();
        (OpenInbox { sender, repaint: Arc::new(OnceLock::new()) }, receiver)
    }

    /// Called once the window exists; requests that came before it wait in the channel and
    /// are read on the first frame.
    pub fn set_context(&self, ctx: &egui::Context) {
        let _ = self.repaint.set(ctx.clone());
        ctx.request_repaint();
    }

    /// Queues the paths for the app and wakes it (and asks for the window to come to the front,
    /// since the user has just asked to see these files). False when the app has gone.
    pub fn deliver(&self, paths: Vec<PathBuf>) -> bool {
        if self.sender.send(paths).is_err() {
            return false;
        }
        if let Some(ctx) = self.repaint.get() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            ctx.request_repaint();
        }
        true
    }
}

/// With `RAIIAF_LOG_OPENED=1`, says on stderr which file a new tab shows and how many tabs
/// there are (the single-instance integration test watches the running window through this).
pub fn log_opened(path: &Path, tab_count: usize) {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    if *ENABLED.get_or_init(|| std::env::var_os(LOG_OPENED_ENV).is_some_and(|v| v == "1")) {
        eprintln!("raiiaf: opened tab {tab_count}: {}", path.display());
    }
}

/// What the start-up path should do after [`start`].
pub enum Startup {
    /// A running window took this many files: this process has nothing left to do.
    HandedOff(usize),
    /// This process is the first: keep the listener alive while the window is open; what it
    /// receives goes to the inbox given to [`start`].
    Listening(Listener),
    /// Open a window without taking part (turned off, no safe place for the socket, or another
    /// window holds the socket but did not take the files).
    Alone,
}

/// Absolute form of a path given on the command line, for a window whose working directory
/// is not ours: canonical when the file exists, otherwise made absolute as written.
pub fn absolute_path(path: &Path) -> PathBuf {
    path.canonicalize().or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// Checks a request's bytes: one JSON object `{"open": [...]}` of 1 to [`MAX_PATHS`] non-empty,
/// absolute paths without NUL bytes.
pub fn parse_request(bytes: &[u8]) -> Result<Vec<PathBuf>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct OpenRequest {
        open: Vec<String>,
    }
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(format!("request over {MAX_MESSAGE_BYTES} bytes"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "request is not UTF-8".to_string())?;
    let request: OpenRequest = serde_json::from_str(text).map_err(|e| format!("not an open request: {e}"))?;
    if request.open.is_empty() {
        return Err("no paths given".into());
    }
    if request.open.len() > MAX_PATHS {
        return Err(format!("more than {MAX_PATHS} paths"));
    }
    request
        .open
        .into_iter()
        .map(|text| {
            let path = PathBuf::from(&text);
            if text.is_empty() || text.contains('\0') || !path.is_absolute() {
                Err(format!("{text:?} is not an absolute path"))
            } else {
                Ok(path)
            }
        })
        .collect()
}

/// The request a client sends for these (already absolute) paths; `None` when one is not UTF-8.
pub fn encode_request(paths: &[PathBuf]) -> Option<Vec<u8>> {
    let texts: Option<Vec<&str>> = paths.iter().map(|p| p.to_str()).collect();
    serde_json::to_vec(&serde_json::json!({ "open": texts? })).ok()
}

#[cfg(unix)]
pub use unix::{Listener, SendError, runtime_dir, send_paths, start, start_at};

/// Outside Unix there is no single instance: every start opens its own window.
#[cfg(not(unix))]
pub struct Listener(std::convert::Infallible);

#[cfg(not(unix))]
pub fn start(_files: &[PathBuf], _inbox: &OpenInbox) -> Startup {
    Startup::Alone
}

#[cfg(unix)]
mod unix {
    use std::ffi::OsStr;
    use std::fs::{self, DirBuilder, File};
    use std::io::{self, Read, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use super::{OpenInbox, SOCKET_NAME, Startup, absolute_path, encode_request, parse_request};

    /// How long a client waits for the running window's answer before opening its own.
    const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
    /// How long the listener waits for a request's bytes; a client that connects and says
    /// nothing holds up the next one for at most this long.
    const SERVER_TIMEOUT: Duration = Duration::from_secs(2);

    pub(super) fn current_uid() -> u32 {
        // SAFETY: getuid has no preconditions and cannot fail.
        unsafe { libc::getuid() }
    }

    /// True for a directory only its owner, this user, can enter.
    fn is_private_dir(metadata: &fs::Metadata, uid: u32) -> bool {
        metadata.is_dir() && metadata.uid() == uid && metadata.permissions().mode() & 0o077 == 0
    }

    /// The directory for the socket: `$XDG_RUNTIME_DIR` when it is an absolute path to a
    /// directory of this user's that nobody else can enter (as the XDG spec requires),
    /// otherwise `raiiaf-workbench-UID` in the temp directory, created with 0700 and refused
    /// when it exists but is not a private directory of this user (a link or someone else's).
    pub fn runtime_dir() -> Result<PathBuf, String> {
        runtime_dir_from(std::env::var_os("XDG_RUNTIME_DIR").as_deref(), &std::env::temp_dir(), current_uid())
    }

    pub(super) fn runtime_dir_from(xdg: Option<&OsStr>, temp: &Path, uid: u32) -> Result<PathBuf, String> {
        if let Some(dir) = xdg.map(Path::new).filter(|d| d.is_absolute())
            && fs::metadata(dir).is_ok_and(|m| is_private_dir(&m, uid))
        {
            return Ok(dir.to_path_buf());
        }
        let dir = temp.join(format!("raiiaf-workbench-{uid}"));
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
        // symlink_metadata: a link planted by someone else must not be followed.
        match fs::symlink_metadata(&dir) {
            Ok(m) if is_private_dir(&m, uid) => Ok(dir),
            Ok(_) => Err(format!("{} is not a private directory of this user", dir.display())),
            Err(e) => Err(format!("{}: {e}", dir.display())),
        }
    }

    /// Why [`send_paths`] did not hand the files over.
    #[derive(Debug)]
    pub enum SendError {
        /// Nobody listens on the socket (no file, or a stale one from a crashed window).
        NoListener,
        /// A listener answered but did not take them, or did not answer in time.
        Failed(String),
    }

    /// Sends absolute paths to the window listening on `socket`; the number it queued.
    pub fn send_paths(socket: &Path, paths: &[PathBuf]) -> Result<usize, SendError> {
        let request = encode_request(paths).ok_or_else(|| SendError::Failed("a path is not UTF-8".into()))?;
        if request.len() > super::MAX_MESSAGE_BYTES {
            return Err(SendError::Failed("too many paths for one request".into()));
        }
        let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => SendError::NoListener,
            _ => SendError::Failed(e.to_string()),
        })?;
        let failed = |e: io::Error| SendError::Failed(e.to_string());
        stream.set_read_timeout(Some(CLIENT_TIMEOUT)).map_err(failed)?;
        stream.set_write_timeout(Some(CLIENT_TIMEOUT)).map_err(failed)?;
        stream.write_all(&request).map_err(failed)?;
        stream.shutdown(std::net::Shutdown::Write).map_err(failed)?;
        let mut reply = String::new();
        stream.take(256).read_to_string(&mut reply).map_err(failed)?;
        let reply = reply.trim();
        match reply.strip_prefix("ok ").and_then(|n| n.parse().ok()) {
            Some(count) => Ok(count),
            None => Err(SendError::Failed(reply.strip_prefix("error: ").unwrap_or(reply).to_string())),
        }
    }

    /// Why [`Listener::bind`] did not bind.
    #[derive(Debug)]
    pub enum BindError {
        /// A live window answers on the socket already.
        InUse,
        Failed(io::Error),
    }

    /// Serves the socket on its own thread while it lives; dropping it stops the thread and
    /// removes the socket file (when it is still the one this listener made).
    pub struct Listener {
        path: PathBuf,
        /// Device and inode of the socket file this listener made.
        identity: (u64, u64),
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    fn identity(path: &Path) -> Option<(u64, u64)> {
        fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }

    impl Listener {
        /// Binds `path` and delivers what arrives there to `inbox`. A socket file nobody answers
        /// on (left by a window that crashed or was killed) is removed and replaced; one a live
        /// window answers on is left alone.
        pub fn bind(path: &Path, inbox: &OpenInbox) -> Result<Listener, BindError> {
            let socket = match UnixListener::bind(path) {
                Ok(socket) => socket,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    if UnixStream::connect(path).is_ok() {
                        return Err(BindError::InUse);
                    }
                    fs::remove_file(path).map_err(BindError::Failed)?;
                    UnixListener::bind(path).map_err(BindError::Failed)?
                }
                Err(e) => return Err(BindError::Failed(e)),
            };
            let identity = identity(path).ok_or_else(|| BindError::Failed(io::Error::other("socket file vanished")))?;
            let stop = Arc::new(AtomicBool::new(false));
            let thread = {
                let inbox = inbox.clone();
                let stop = stop.clone();
                std::thread::Builder::new()
                    .name("single-instance".into())
                    .spawn(move || accept_loop(&socket, &inbox, &stop))
                    .map_err(BindError::Failed)?
            };
            Ok(Listener { path: path.to_path_buf(), identity, stop, thread: Some(thread) })
        }
    }

    impl Drop for Listener {
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

    fn accept_loop(socket: &UnixListener, inbox: &OpenInbox, stop: &AtomicBool) {
        for stream in socket.incoming() {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match stream {
                Ok(stream) => serve(stream, inbox),
                // Out of file descriptors and the like: do not spin.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn serve(mut stream: UnixStream, inbox: &OpenInbox) {
        let reply = match read_request(&mut stream) {
            Ok(paths) => {
                let count = paths.len();
                if inbox.deliver(paths) { format!("ok {count}\n") } else { "error: the window is closing\n".into() }
            }
            Err(reason) => format!("error: {reason}\n"),
        };
        let _ = stream.write_all(reply.as_bytes());
    }

    fn read_request(stream: &mut UnixStream) -> Result<Vec<PathBuf>, String> {
        stream.set_read_timeout(Some(SERVER_TIMEOUT)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(SERVER_TIMEOUT)).map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        // One byte over the cap tells an oversized request from one exactly at it.
        (&mut *stream)
            .take(super::MAX_MESSAGE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading the request: {e}"))?;
        parse_request(&bytes)
    }

    /// What `raiiaf FILE...` does before opening a window, unless turned off with
    /// `RAIIAF_NO_SINGLE_INSTANCE=1`: hand the files to a running window, or become the one
    /// that listens (delivering to `inbox`).
    pub fn start(files: &[PathBuf], inbox: &OpenInbox) -> Startup {
        if std::env::var_os(super::DISABLE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            return Startup::Alone;
        }
        match runtime_dir() {
            Ok(dir) => start_at(&dir.join(SOCKET_NAME), files, inbox),
            Err(reason) => {
                eprintln!("raiiaf: note: single instance is off: {reason}");
                Startup::Alone
            }
        }
    }

    /// [`start`] with the socket at `socket`.
    pub fn start_at(socket: &Path, files: &[PathBuf], inbox: &OpenInbox) -> Startup {
        // Held until the listener is bound, so that of two starts at the same moment the
        // second finds the first's listener instead of removing its socket as stale.
        let lock_file = File::create(socket.with_extension("lock")).ok();
        if let Some(file) = &lock_file {
            let _ = file.lock();
        }
        if !files.is_empty() {
            let paths: Vec<PathBuf> = files.iter().map(|p| absolute_path(p)).collect();
            match send_paths(socket, &paths) {
                Ok(count) => return Startup::HandedOff(count),
                Err(SendError::NoListener) => {}
                Err(SendError::Failed(reason)) => {
                    eprintln!("raiiaf: note: the running window did not take the files ({reason}); opening another");
                }
            }
        }
        match Listener::bind(socket, inbox) {
            Ok(listener) => Startup::Listening(listener),
            Err(BindError::InUse) => Startup::Alone,
            Err(BindError::Failed(e)) => {
                eprintln!("raiiaf: note: single instance is off: {}: {e}", socket.display());
                Startup::Alone
            }
        }
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::Duration;

    use super::unix::{BindError, current_uid, runtime_dir_from};
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join(SOCKET_NAME)
    }

    /// A listener on `socket` and the receiving end of its inbox.
    fn listen(socket: &Path) -> (Listener, Receiver<Vec<PathBuf>>) {
        let (inbox, received) = OpenInbox::new();
        (Listener::bind(socket, &inbox).unwrap(), received)
    }

    /// Sends raw bytes as a client would and returns the listener's reply line.
    fn raw_request(socket: &Path, bytes: &[u8]) -> String {
        let mut stream = UnixStream::connect(socket).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.write_all(bytes).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[test]
    fn paths_sent_by_a_client_arrive_at_the_listener() {
        let dir = tempfile::tempdir().unwrap();
        let socket = socket_in(&dir);
        let (_listener, received) = listen(&socket);
        let paths = vec![PathBuf::from("/data/a b.raiiaf"), PathBuf::from("/data/ünï\ncode.gen5")];
        assert_eq!(send_paths(&socket, &paths).unwrap(), 2);
        assert_eq!(received.recv_timeout(WAIT).unwrap(), paths);
        // The listener keeps serving.
        assert_eq!(send_paths(&socket, &paths[..1]).unwrap(), 1);
        assert_eq!(received.recv_timeout(WAIT).unwrap(), paths[..1]);
    }

    #[test]
    fn start_forwards_to_a_running_listener_with_absolute_paths() {
        let dir = tempfile::tempdir().unwrap();
        let socket = socket_in(&dir);
        let (inbox, received) = OpenInbox::new();
        let Startup::Listening(_listener) = start_at(&socket, &[], &inbox) else { panic!("first start must listen") };
        let relative = PathBuf::from("no-such-dir/file.raiiaf");
        let (other_inbox, other_received) = OpenInbox::new();
        match start_at(&socket, std::slice::from_ref(&relative), &other_inbox) {
            Startup::HandedOff(1) => {}
            _ => panic!("second start must hand its file over"),
        }
        let got = received.recv_timeout(WAIT).unwrap();
        assert_eq!(got, vec![std::env::current_dir().unwrap().join(&relative)]);
        assert!(other_received.try_recv().is_err(), "the second start's own inbox gets nothing");
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let socket = socket_in(&dir);
        // A socket file whose listener is gone, as a killed window leaves it.
        drop(UnixListener::bind(&socket).unwrap());
        assert!(socket.exists());
        assert!(matches!(send_paths(&socket, &[PathBuf::from("/x")]), Err(SendError::NoListener)));
        let (listener, received) = listen(&socket);
        assert!(matches!(Listener::bind(&socket, &OpenInbox::new().0), Err(BindError::InUse)));
        assert_eq!(send_paths(&socket, &[PathBuf::from("/x")]).unwrap(), 1);
        assert_eq!(received.recv_timeout(WAIT).unwrap(), vec![PathBuf::from("/x")]);
        // Dropping the listener removes its socket file.
        drop(listener);
        assert!(!socket.exists());
    }

    #[test]
    fn bad_requests_are_refused_and_the_listener_keeps_serving() {
        let dir = tempfile::tempdir().unwrap();
        let socket = socket_in(&dir);
        let (_listener, received) = listen(&socket);
        let oversized = vec![b'a'; MAX_MESSAGE_BYTES + 1];
        let cases: [(&[u8], &str); 7] = [
            (&oversized, "over"),
            (b"\xff\xfe{}", "not UTF-8"),
            (b"not json", "not an open request"),
            (br#"{"open": []}"#, "no paths"),
            (br#"{"open": ["relative.raiiaf"]}"#, "not an absolute path"),
            (br#"{"open": [""]}"#, "not an absolute path"),
            (br#"{"open": ["/a"], "run": "rm"}"#, "not an open request"),
        ];
        for (bytes, expected) in cases {
            let reply = raw_request(&socket, bytes);
            assert!(
                reply.starts_with("error: ") && reply.contains(expected),
                "{reply:?} for {:?}",
                &bytes[..20.min(bytes.len())]
            );
        }
        assert!(received.try_recv().is_err(), "nothing bad reached the app");
        assert_eq!(raw_request(&socket, br#"{"open": ["/ok"]}"#), "ok 1\n");
        assert_eq!(received.recv_timeout(WAIT).unwrap(), vec![PathBuf::from("/ok")]);
    }

    #[test]
    fn a_silent_client_does_not_block_the_listener_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let socket = socket_in(&dir);
        let (_listener, received) = listen(&socket);
        let _silent = UnixStream::connect(&socket).unwrap();
        assert_eq!(send_paths(&socket, &[PathBuf::from("/after")]).unwrap(), 1);
        assert_eq!(received.recv_timeout(WAIT).unwrap(), vec![PathBuf::from("/after")]);
    }

    #[test]
    fn a_request_at_the_size_cap_is_read_whole() {
        let padding = "x".repeat(MAX_MESSAGE_BYTES - r#"{"open": ["/"]}"#.len());
        let exact = format!(r#"{{"open": ["/{padding}"]}}"#);
        assert_eq!(exact.len(), MAX_MESSAGE_BYTES);
        assert_eq!(parse_request(exact.as_bytes()).unwrap().len(), 1);
        assert!(parse_request(format!("{exact} ").as_bytes()).is_err());
    }

    #[test]
    fn the_runtime_dir_is_xdg_when_private_and_a_private_temp_dir_otherwise() {
        let uid = current_uid();
        let temp = tempfile::tempdir().unwrap();
        let xdg = tempfile::tempdir().unwrap();
        std::fs::set_permissions(xdg.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(runtime_dir_from(Some(xdg.path().as_os_str()), temp.path(), uid).unwrap(), xdg.path());

        let fallback = temp.path().join(format!("raiiaf-workbench-{uid}"));
        std::fs::set_permissions(xdg.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for xdg in [Some(xdg.path().as_os_str()), Some("relative/dir".as_ref()), Some("".as_ref()), None] {
            assert_eq!(runtime_dir_from(xdg, temp.path(), uid).unwrap(), fallback, "{xdg:?}");
        }
        let mode = std::fs::metadata(&fallback).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Someone else's directory (here: another uid) or an open one is refused.
        assert!(runtime_dir_from(None, temp.path(), uid + 1).is_err());
        std::fs::set_permissions(&fallback, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(runtime_dir_from(None, temp.path(), uid).is_err());
        // A link in its place is not followed.
        let other = tempfile::tempdir().unwrap();
        std::fs::DirBuilder::new().mode(0o700).create(other.path().join("target")).unwrap();
        std::fs::remove_dir(&fallback).unwrap();
        std::os::unix::fs::symlink(other.path().join("target"), &fallback).unwrap();
        assert!(runtime_dir_from(None, temp.path(), uid).is_err());
    }

    #[test]
    fn requests_round_trip_and_non_utf8_paths_are_not_sent() {
        let paths = vec![PathBuf::from("/a/\"quoted\".raiiaf"), PathBuf::from("/b c/d.gen5")];
        assert_eq!(parse_request(&encode_request(&paths).unwrap()).unwrap(), paths);
        use std::os::unix::ffi::OsStrExt;
        let non_utf8 = PathBuf::from(std::ffi::OsStr::from_bytes(b"/x/\xff.raiiaf"));
        assert!(encode_request(&[non_utf8]).is_none());
    }
}
