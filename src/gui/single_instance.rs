//! One window per user: a second `raiiaf FILE...` (what a double-click runs) hands its files to
//! the window already open and exits. The bytes travel over `platform::instance` (a Unix domain
//! socket in the user's runtime directory; a named pipe on Windows).
//!
//! Protocol: the client sends one JSON object `{"open": ["/abs/path", ...]}` and reads one line
//! back: `ok N` (N paths queued for opening) or `error: REASON`. The listener reads at most
//! [`MAX_MESSAGE_BYTES`] and rejects anything that is not such an object of non-empty, absolute
//! UTF-8 paths.
//!
//! UI-free apart from the `egui::Context` it wakes when files arrive. Files arrive in an
//! [`OpenInbox`], whose receiving end the app polls each frame (on macOS, Finder's open-document
//! events arrive there too, see `macos_open`).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};

use crate::platform::instance::{self, BindError, Endpoint, SendError, Server};

/// Set to `1` to turn single instance off (every start opens its own window).
pub const DISABLE_ENV: &str = "RAIIAF_NO_SINGLE_INSTANCE";
/// Set to `1` to have the window say on stderr which file each new tab shows, or to a file's path
/// to have it append those lines there (a window started by a double-click on Windows has no
/// stderr anyone reads).
pub const LOG_OPENED_ENV: &str = "RAIIAF_LOG_OPENED";
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

/// With `RAIIAF_LOG_OPENED` set, says which file a new tab shows and how many tabs there are
/// (the single-instance and double-click tests watch the running window through this).
pub fn log_opened(path: &Path, tab_count: usize) {
    static TARGET: OnceLock<Option<std::ffi::OsString>> = OnceLock::new();
    let line = format!("raiiaf: opened tab {tab_count}: {}", path.display());
    match TARGET.get_or_init(|| std::env::var_os(LOG_OPENED_ENV).filter(|v| !v.is_empty() && v != "0")) {
        Some(value) if value == "1" => eprintln!("{line}"),
        Some(file) => {
            use std::io::Write;
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .and_then(|mut log| writeln!(log, "{line}"));
            if let Err(e) = appended {
                eprintln!("{line} (not written to {}: {e})", Path::new(file).display());
            }
        }
        None => {}
    }
}

/// What the start-up path should do after [`start`].
pub enum Startup {
    /// A running window took this many files: this process has nothing left to do.
    HandedOff(usize),
    /// This process is the first: keep the listener alive while the window is open; what it
    /// receives goes to the inbox given to [`start`].
    Listening(Listener),
    /// Open a window without taking part (turned off, no safe place for the endpoint, or
    /// another window serves it but did not take the files).
    Alone,
}

/// Serves the endpoint while it lives (see [`Startup::Listening`]).
pub struct Listener(#[allow(dead_code)] Server);

/// Absolute form of a path given on the command line, for a window whose working directory
/// is not ours (see [`instance::absolute_path`]).
pub fn absolute_path(path: &Path) -> PathBuf {
    instance::absolute_path(path)
}

/// Why a request to open files was refused (the reply says it after `error: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request over {MAX_MESSAGE_BYTES} bytes")]
    TooLong,
    #[error("request is not UTF-8")]
    NotUtf8,
    #[error("not an open request: {0}")]
    NotAnOpenRequest(String),
    #[error("no paths given")]
    NoPaths,
    #[error("more than {MAX_PATHS} paths")]
    TooManyPaths,
    #[error("{0:?} is not an absolute path")]
    NotAbsolute(String),
}

/// Checks a request's bytes: one JSON object `{"open": [...]}` of 1 to [`MAX_PATHS`] non-empty,
/// absolute paths without NUL bytes.
pub fn parse_request(bytes: &[u8]) -> Result<Vec<PathBuf>, RequestError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct OpenRequest {
        open: Vec<String>,
    }
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(RequestError::TooLong);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| RequestError::NotUtf8)?;
    let request: OpenRequest = serde_json::from_str(text).map_err(|e| RequestError::NotAnOpenRequest(e.to_string()))?;
    if request.open.is_empty() {
        return Err(RequestError::NoPaths);
    }
    if request.open.len() > MAX_PATHS {
        return Err(RequestError::TooManyPaths);
    }
    request
        .open
        .into_iter()
        .map(|text| {
            let path = PathBuf::from(&text);
            if text.is_empty() || text.contains('\0') || !path.is_absolute() {
                Err(RequestError::NotAbsolute(text))
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

/// Sends absolute paths to the window serving `endpoint`; the number it queued.
pub fn send_paths(endpoint: &Endpoint, paths: &[PathBuf]) -> Result<usize, SendError> {
    let request = encode_request(paths).ok_or_else(|| SendError::Failed("a path is not UTF-8".into()))?;
    if request.len() > MAX_MESSAGE_BYTES {
        return Err(SendError::Failed("too many paths for one request".into()));
    }
    let reply = instance::send(endpoint, &request)?;
    let reply = String::from_utf8_lossy(&reply);
    let reply = reply.trim();
    match reply.strip_prefix("ok ").and_then(|n| n.parse().ok()) {
        Some(count) => Ok(count),
        None => Err(SendError::Failed(reply.strip_prefix("error: ").unwrap_or(reply).to_string())),
    }
}

/// The reply to one request's bytes (or to why they could not be read): the paths go to the
/// inbox, anything else is refused with its reason.
fn answer(request: Result<&[u8], String>, inbox: &OpenInbox) -> Vec<u8> {
    let parsed = request
        .map_err(|e| format!("reading the request: {e}"))
        .and_then(|bytes| parse_request(bytes).map_err(|e| e.to_string()));
    let reply = match parsed {
        Ok(paths) => {
            let count = paths.len();
            if inbox.deliver(paths) { format!("ok {count}\n") } else { "error: the window is closing\n".into() }
        }
        Err(reason) => format!("error: {reason}\n"),
    };
    reply.into_bytes()
}

/// Serves `endpoint`, delivering what arrives to `inbox`.
pub fn listen(endpoint: &Endpoint, inbox: &OpenInbox) -> Result<Listener, BindError> {
    let inbox = inbox.clone();
    Server::bind(endpoint, MAX_MESSAGE_BYTES, move |request| answer(request, &inbox)).map(Listener)
}

/// What `raiiaf FILE...` does before opening a window, unless turned off with
/// `RAIIAF_NO_SINGLE_INSTANCE=1`: hand the files to a running window, or become the one that
/// listens (delivering to `inbox`).
pub fn start(files: &[PathBuf], inbox: &OpenInbox) -> Startup {
    if std::env::var_os(DISABLE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        return Startup::Alone;
    }
    match instance::default_endpoint() {
        Ok(endpoint) => start_at(&endpoint, files, inbox),
        Err(reason) => {
            eprintln!("raiiaf: note: single instance is off: {reason}");
            Startup::Alone
        }
    }
}

/// [`start`] with the endpoint given.
pub fn start_at(endpoint: &Endpoint, files: &[PathBuf], inbox: &OpenInbox) -> Startup {
    let _lock = instance::startup_lock(endpoint);
    let paths: Vec<PathBuf> = files.iter().map(|p| absolute_path(p)).collect();
    let hand_over = || match send_paths(endpoint, &paths) {
        Ok(count) => Some(Startup::HandedOff(count)),
        Err(SendError::NoListener) => None,
        Err(SendError::Failed(reason)) => {
            eprintln!("raiiaf: note: the running window did not take the files ({reason}); opening another");
            None
        }
    };
    if !paths.is_empty()
        && let Some(handed_off) = hand_over()
    {
        return handed_off;
    }
    match listen(endpoint, inbox) {
        Ok(listener) => Startup::Listening(listener),
        // Another start began serving since we looked (where no lock orders starts): it can
        // take the files now.
        Err(BindError::InUse) => {
            if paths.is_empty() {
                Startup::Alone
            } else {
                hand_over().unwrap_or(Startup::Alone)
            }
        }
        Err(BindError::Failed(reason)) => {
            eprintln!("raiiaf: note: single instance is off: {reason}");
            Startup::Alone
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);
    /// The start of an absolute path on the platform the tests run on.
    const ROOT: &str = if cfg!(windows) { "C:/" } else { "/" };

    fn absolute(tail: &str) -> PathBuf {
        PathBuf::from(format!("{ROOT}{tail}"))
    }

    /// A listener on an endpoint of its own and the receiving end of its inbox.
    fn listen_in(dir: &tempfile::TempDir) -> (Endpoint, Listener, Receiver<Vec<PathBuf>>) {
        let endpoint = instance::endpoint_in(dir.path());
        let (inbox, received) = OpenInbox::new();
        let listener = listen(&endpoint, &inbox).unwrap();
        (endpoint, listener, received)
    }

    #[test]
    fn paths_sent_by_a_client_arrive_at_the_listener() {
        let dir = tempfile::tempdir().unwrap();
        let (endpoint, _listener, received) = listen_in(&dir);
        let paths = vec![absolute("data/a b.raiiaf"), absolute("data/ünï\ncode.gen5")];
        assert_eq!(send_paths(&endpoint, &paths).unwrap(), 2);
        assert_eq!(received.recv_timeout(WAIT).unwrap(), paths);
        // The listener keeps serving.
        assert_eq!(send_paths(&endpoint, &paths[..1]).unwrap(), 1);
        assert_eq!(received.recv_timeout(WAIT).unwrap(), paths[..1]);
    }

    #[test]
    fn start_forwards_to_a_running_listener_with_absolute_paths() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = instance::endpoint_in(dir.path());
        let (inbox, received) = OpenInbox::new();
        let Startup::Listening(_listener) = start_at(&endpoint, &[], &inbox) else { panic!("first start must listen") };
        let relative = PathBuf::from("no-such-dir/file.raiiaf");
        let (other_inbox, other_received) = OpenInbox::new();
        match start_at(&endpoint, std::slice::from_ref(&relative), &other_inbox) {
            Startup::HandedOff(1) => {}
            _ => panic!("second start must hand its file over"),
        }
        let got = received.recv_timeout(WAIT).unwrap();
        assert_eq!(got, vec![std::env::current_dir().unwrap().join(&relative)]);
        assert!(other_received.try_recv().is_err(), "the second start's own inbox gets nothing");
        // A second listener on the same endpoint is refused while the first lives.
        assert!(matches!(listen(&endpoint, &OpenInbox::new().0), Err(BindError::InUse)));
        // Nobody listens once the listener is gone.
        drop(_listener);
        assert!(matches!(send_paths(&endpoint, &[absolute("x")]), Err(SendError::NoListener)));
    }

    #[test]
    fn bad_requests_are_refused_and_the_listener_keeps_serving() {
        let dir = tempfile::tempdir().unwrap();
        let (endpoint, _listener, received) = listen_in(&dir);
        let oversized = vec![b'a'; MAX_MESSAGE_BYTES + 1];
        let cases: [(&[u8], &str); 7] = [
            (&oversized, "over"),
            (b"\xff\xfe{}", "not UTF-8"),
            (b"not json", "not an open request"),
            (br#"{"open": []}"#, "no paths"),
            (br#"{"open": ["relative.raiiaf"]}"#, "not an absolute path"),
            (br#"{"open": [""]}"#, "not an absolute path"),
            (br#"{"open": ["/a", "C:/a"], "run": "rm"}"#, "not an open request"),
        ];
        for (bytes, expected) in cases {
            let reply = String::from_utf8(instance::send(&endpoint, bytes).unwrap()).unwrap();
            assert!(
                reply.starts_with("error: ") && reply.contains(expected),
                "{reply:?} for {:?}",
                &bytes[..20.min(bytes.len())]
            );
        }
        assert!(received.try_recv().is_err(), "nothing bad reached the app");
        let ok = absolute("ok");
        let request = encode_request(std::slice::from_ref(&ok)).unwrap();
        assert_eq!(instance::send(&endpoint, &request).unwrap(), b"ok 1\n");
        assert_eq!(received.recv_timeout(WAIT).unwrap(), vec![ok]);
    }

    #[test]
    fn a_request_at_the_size_cap_is_read_whole() {
        let padding = "x".repeat(MAX_MESSAGE_BYTES - format!(r#"{{"open": ["{ROOT}"]}}"#).len());
        let exact = format!(r#"{{"open": ["{ROOT}{padding}"]}}"#);
        assert_eq!(exact.len(), MAX_MESSAGE_BYTES);
        assert_eq!(parse_request(exact.as_bytes()).unwrap().len(), 1);
        assert_eq!(parse_request(format!("{exact} ").as_bytes()), Err(RequestError::TooLong));
    }

    #[test]
    fn requests_round_trip() {
        let paths = vec![absolute("a/\"quoted\".raiiaf"), absolute("b c/d.gen5")];
        assert_eq!(parse_request(&encode_request(&paths).unwrap()).unwrap(), paths);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_are_not_sent() {
        use std::os::unix::ffi::OsStrExt;
        let non_utf8 = PathBuf::from(std::ffi::OsStr::from_bytes(b"/x/\xff.raiiaf"));
        assert!(encode_request(&[non_utf8]).is_none());
    }
}
