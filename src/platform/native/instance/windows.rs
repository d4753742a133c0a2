//! The single-instance endpoint on Windows: a named pipe in message mode, one message per request
//! and one per reply, with overlapped I/O so that every wait has a timeout and the server's
//! thread can be stopped.
//!
//! The pipe's default security lets only its creator (and administrators) write to it, and
//! `PIPE_REJECT_REMOTE_CLIENTS` keeps other machines out. Its name holds the login session and
//! the user name, so other sessions and users have pipes of their own. A name is not owned,
//! though: another user could make ours first. So a client sends nothing to a server that does
//! not run as its own user, and lets it identify the client but not act as it.

use std::fmt;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_PIPE_BUSY,
    ERROR_PIPE_CONNECTED, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0,
};
use windows_sys::Win32::Security::{GetLengthSid, GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, OPEN_EXISTING, PIPE_ACCESS_DUPLEX, ReadFile,
    SECURITY_IDENTIFICATION, SECURITY_SQOS_PRESENT, WriteFile,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, DisconnectNamedPipe, GetNamedPipeServerProcessId, PIPE_READMODE_MESSAGE,
    PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_MESSAGE, PIPE_WAIT, SetNamedPipeHandleState, WaitNamedPipeW,
};
use windows_sys::Win32::System::RemoteDesktop::ProcessIdToSessionId;
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcess, GetCurrentProcessId, OpenProcess, OpenProcessToken,
    PROCESS_QUERY_LIMITED_INFORMATION, SetEvent, WaitForMultipleObjects,
};

use super::{Answer, CLIENT_TIMEOUT, MAX_REPLY_BYTES, SERVER_TIMEOUT};
use crate::platform::instance::{BindError, NoEndpoint, SendError};

/// The pipe's name, `\\.\pipe\...`.
pub type Address = String;

const PIPE_PREFIX: &str = r"\\.\pipe\raiiaf-workbench-";
/// The pipe's buffers; larger messages pass in several reads.
const BUFFER_BYTES: u32 = 64 * 1024;

pub fn fmt_address(address: &Address, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(address)
}

pub fn default_address() -> Result<Address, NoEndpoint> {
    let mut session = 0u32;
    // SAFETY: both calls only write the session id to the u32 given.
    if unsafe { ProcessIdToSessionId(GetCurrentProcessId(), &mut session) } == 0 {
        return Err(NoEndpoint::NoSession(io::Error::last_os_error()));
    }
    let user: String = std::env::var("USERNAME")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect();
    Ok(format!("{PIPE_PREFIX}{session}-{user}"))
}

pub fn address_in(dir: &Path) -> Address {
    let hash = xxhash_rust::xxh64::xxh64(dir.as_os_str().as_encoded_bytes(), 0);
    format!("{PIPE_PREFIX}{hash:016x}")
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

fn owned(handle: HANDLE) -> io::Result<OwnedHandle> {
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a valid handle just returned to us, owned by nothing else.
        Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
    }
}

/// The user a process runs as, as the bytes of its SID.
fn process_user(process: HANDLE) -> io::Result<Vec<u8>> {
    let mut token = std::ptr::null_mut();
    // SAFETY: `process` is a live process handle (or the current process's pseudo handle); the
    // token handle is written to `token` only.
    if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let token = owned(token)?;
    let mut needed = 0u32;
    // SAFETY: a size query: no buffer, the size needed is written to `needed`.
    unsafe { GetTokenInformation(token.as_raw_handle(), TokenUser, std::ptr::null_mut(), 0, &mut needed) };
    let words = (needed as usize).div_ceil(std::mem::size_of::<u64>()).max(1);
    // u64 words, so that the TOKEN_USER at the buffer's start is aligned.
    let mut buffer = vec![0u64; words];
    let capacity = u32::try_from(words * std::mem::size_of::<u64>()).unwrap_or(u32::MAX);
    // SAFETY: `buffer` has `capacity` writable bytes.
    if unsafe {
        GetTokenInformation(token.as_raw_handle(), TokenUser, buffer.as_mut_ptr().cast(), capacity, &mut needed)
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded, so the buffer starts with a TOKEN_USER whose SID points into it.
    let sid = unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // SAFETY: `sid` is a valid SID while `buffer` lives; its length is what GetLengthSid says.
    let bytes = unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), GetLengthSid(sid) as usize) };
    Ok(bytes.to_vec())
}

/// Whether the process serving `pipe` runs as this process's user.
fn served_by_this_user(pipe: &OwnedHandle) -> io::Result<bool> {
    let mut server = 0u32;
    // SAFETY: `pipe` is a live client end of a pipe; the id is written to `server` only.
    if unsafe { GetNamedPipeServerProcessId(pipe.as_raw_handle(), &mut server) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: opening a process by id for queries only; the handle is owned below.
    let process = owned(unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, server) })?;
    // SAFETY: the pseudo handle of this process needs no closing.
    let ours = process_user(unsafe { GetCurrentProcess() })?;
    Ok(process_user(process.as_raw_handle())? == ours)
}

/// A manual-reset event, unset.
fn event() -> io::Result<OwnedHandle> {
    // SAFETY: no security attributes, no name: a fresh unnamed event.
    owned(unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) })
}

/// How an overlapped operation ended, when it did not complete.
#[derive(Debug)]
enum IoEnd {
    Failed(io::Error),
    TimedOut,
    /// The server's stop event was set.
    Stopped,
}

impl fmt::Display for IoEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoEnd::Failed(e) => write!(f, "{e}"),
            IoEnd::TimedOut => f.write_str("timed out"),
            IoEnd::Stopped => f.write_str("stopped"),
        }
    }
}

/// Runs one overlapped operation that `start` begins on `pipe`, waiting until `deadline` (none:
/// no limit) or until `stop` is set. Ok: the bytes moved, and whether a message had more bytes
/// than were read.
fn overlapped(
    pipe: &OwnedHandle,
    deadline: Option<Instant>,
    stop: Option<&OwnedHandle>,
    start: impl FnOnce(*mut OVERLAPPED) -> i32,
) -> Result<(u32, bool), IoEnd> {
    let done = event().map_err(IoEnd::Failed)?;
    // SAFETY: OVERLAPPED is plain data for which all zeroes is the documented initial state.
    let mut operation: OVERLAPPED = unsafe { std::mem::zeroed() };
    operation.hEvent = done.as_raw_handle();
    if start(&mut operation) == 0 {
        // SAFETY: reads the calling thread's last error.
        match unsafe { GetLastError() } {
            ERROR_IO_PENDING | ERROR_MORE_DATA => {}
            // A client connected between the pipe's creation and ConnectNamedPipe.
            ERROR_PIPE_CONNECTED => return Ok((0, false)),
            code => return Err(IoEnd::Failed(io::Error::from_raw_os_error(code as i32))),
        }
    }
    let handles: Vec<HANDLE> =
        std::iter::once(done.as_raw_handle()).chain(stop.map(AsRawHandle::as_raw_handle)).collect();
    let millis = deadline.map_or(u32::MAX, |deadline| {
        u32::try_from(deadline.saturating_duration_since(Instant::now()).as_millis()).unwrap_or(u32::MAX - 1)
    });
    // SAFETY: `handles` holds one or two live event handles.
    let waited = unsafe { WaitForMultipleObjects(handles.len() as u32, handles.as_ptr(), 0, millis) };
    let mut moved = 0u32;
    if waited != WAIT_OBJECT_0 {
        // The operation still refers to `operation` on this stack: cancel it and wait for it to
        // end before returning.
        // SAFETY: `pipe` and `operation` are the ones the operation was started with.
        unsafe {
            CancelIoEx(pipe.as_raw_handle(), &operation);
            GetOverlappedResult(pipe.as_raw_handle(), &operation, &mut moved, 1);
        }
        return Err(if waited == WAIT_OBJECT_0 + 1 { IoEnd::Stopped } else { IoEnd::TimedOut });
    }
    // SAFETY: the operation has completed (its event is set).
    if unsafe { GetOverlappedResult(pipe.as_raw_handle(), &operation, &mut moved, 0) } == 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(code) if code == ERROR_MORE_DATA as i32 => Ok((moved, true)),
            _ => Err(IoEnd::Failed(error)),
        };
    }
    Ok((moved, false))
}

/// Reads one message, keeping at most `max_bytes + 1` bytes of it (one over the cap says it was
/// too long).
fn read_message(
    pipe: &OwnedHandle,
    max_bytes: usize,
    deadline: Instant,
    stop: Option<&OwnedHandle>,
) -> Result<Vec<u8>, IoEnd> {
    let limit = max_bytes.saturating_add(1);
    let mut message = Vec::new();
    let mut chunk = vec![0u8; (BUFFER_BYTES as usize).min(limit)];
    loop {
        let room = chunk.len().min(limit - message.len()) as u32;
        // SAFETY: `chunk` has at least `room` writable bytes and outlives the operation, which
        // `overlapped` waits for (or cancels and waits for) before returning.
        let (read, more) = overlapped(pipe, Some(deadline), stop, |operation| unsafe {
            ReadFile(pipe.as_raw_handle(), chunk.as_mut_ptr(), room, std::ptr::null_mut(), operation)
        })?;
        message.extend_from_slice(chunk.get(..read as usize).unwrap_or_default());
        if !more || message.len() >= limit {
            return Ok(message);
        }
    }
}

fn write_message(
    pipe: &OwnedHandle,
    message: &[u8],
    deadline: Instant,
    stop: Option<&OwnedHandle>,
) -> Result<(), IoEnd> {
    let length = u32::try_from(message.len()).map_err(|_| IoEnd::Failed(io::Error::other("message over 4 GiB")))?;
    // SAFETY: `message` outlives the operation, which `overlapped` waits for before returning.
    let (written, _) = overlapped(pipe, Some(deadline), stop, |operation| unsafe {
        WriteFile(pipe.as_raw_handle(), message.as_ptr(), length, std::ptr::null_mut(), operation)
    })?;
    if written == length { Ok(()) } else { Err(IoEnd::Failed(io::Error::from(io::ErrorKind::WriteZero))) }
}

pub fn send(name: &Address, request: &[u8]) -> Result<Vec<u8>, SendError> {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let wide_name = wide(name);
    let pipe = loop {
        // SAFETY: `wide_name` is NUL-terminated; no security attributes or template. The server
        // may learn who we are but not act as us.
        let handle = unsafe {
            CreateFileW(
                wide_name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                std::ptr::null_mut(),
            )
        };
        match owned(handle) {
            Ok(pipe) => break pipe,
            Err(e) if e.raw_os_error() == Some(ERROR_FILE_NOT_FOUND as i32) => return Err(SendError::NoListener),
            // The server is between two clients: wait for it, within the deadline.
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(SendError::Failed("the running window stays busy".into()));
                }
                // SAFETY: `wide_name` is NUL-terminated.
                unsafe { WaitNamedPipeW(wide_name.as_ptr(), left.as_millis().clamp(1, 60_000) as u32) };
            }
            Err(e) => return Err(SendError::Failed(e.to_string())),
        }
    };
    match served_by_this_user(&pipe) {
        Ok(true) => {}
        Ok(false) => return Err(SendError::Failed(format!("{name} is served by another user's process"))),
        Err(e) => return Err(SendError::Failed(format!("cannot tell who serves {name}: {e}"))),
    }
    let mode = PIPE_READMODE_MESSAGE;
    // SAFETY: `pipe` is a live pipe handle; only the read mode is set.
    if unsafe { SetNamedPipeHandleState(pipe.as_raw_handle(), &mode, std::ptr::null(), std::ptr::null()) } == 0 {
        return Err(SendError::Failed(io::Error::last_os_error().to_string()));
    }
    let failed = |e: IoEnd| SendError::Failed(e.to_string());
    write_message(&pipe, request, deadline, None).map_err(failed)?;
    let mut reply = read_message(&pipe, MAX_REPLY_BYTES as usize, deadline, None).map_err(failed)?;
    reply.truncate(MAX_REPLY_BYTES as usize);
    Ok(reply)
}

/// Nothing to hold: of two servers, only the one that makes the pipe's first instance serves.
pub struct StartupLock;

pub fn startup_lock(_name: &Address) -> StartupLock {
    StartupLock
}

pub struct Server {
    stop: Arc<OwnedHandle>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn bind(name: &Address, max_request: usize, answer: Answer) -> Result<Server, BindError> {
        let failed = |e: io::Error| BindError::Failed(format!("{name}: {e}"));
        let wide_name = wide(name);
        // Asked first because Wine makes the pipe whatever FILE_FLAG_FIRST_PIPE_INSTANCE says:
        // only "no such pipe" means nobody serves it. (Waiting does not connect.)
        // SAFETY: `wide_name` is NUL-terminated.
        if unsafe { WaitNamedPipeW(wide_name.as_ptr(), 1) } != 0
            || io::Error::last_os_error().raw_os_error() != Some(ERROR_FILE_NOT_FOUND as i32)
        {
            return Err(BindError::InUse);
        }
        // SAFETY: `wide_name` is NUL-terminated; default security.
        let handle = unsafe {
            CreateNamedPipeW(
                wide_name.as_ptr(),
                PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                // One instance: one window serves, one client at a time.
                1,
                BUFFER_BYTES,
                BUFFER_BYTES,
                0,
                std::ptr::null(),
            )
        };
        let pipe = match owned(handle) {
            Ok(pipe) => pipe,
            // FILE_FLAG_FIRST_PIPE_INSTANCE: a live server made the pipe first. (A pipe ends with
            // its server's process, so there is never a stale one to take over.)
            Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => return Err(BindError::InUse),
            Err(e) => return Err(failed(e)),
        };
        let stop = Arc::new(event().map_err(failed)?);
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("single-instance".into())
                .spawn(move || serve(&pipe, max_request, &answer, &stop))
                .map_err(failed)?
        };
        Ok(Server { stop, thread: Some(thread) })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: `stop` is a live event handle.
        unsafe { SetEvent(self.stop.as_raw_handle()) };
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves clients one after the other on the pipe's one instance (a client that finds it busy
/// waits for it) until `stop` is set.
fn serve(pipe: &OwnedHandle, max_request: usize, answer: &Answer, stop: &OwnedHandle) {
    loop {
        // SAFETY: `pipe` is the server end made in `bind`.
        match overlapped(pipe, None, Some(stop), |operation| unsafe {
            ConnectNamedPipe(pipe.as_raw_handle(), operation)
        }) {
            Ok(_) => {}
            Err(IoEnd::Stopped) => return,
            // A client that came and went before it was served, and the like: start over (not
            // in a tight loop).
            Err(_) => {
                // SAFETY: as above.
                unsafe { DisconnectNamedPipe(pipe.as_raw_handle()) };
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        }
        let deadline = Instant::now() + SERVER_TIMEOUT;
        let reply = match read_message(pipe, max_request, deadline, Some(stop)) {
            Ok(request) => Some(answer(Ok(&request))),
            Err(IoEnd::Stopped) => return,
            // A client that said nothing in time is let go at once: the next one waits on it.
            Err(IoEnd::TimedOut) => None,
            Err(e) => Some(answer(Err(e.to_string()))),
        };
        if let Some(reply) = reply {
            if let Err(IoEnd::Stopped) = write_message(pipe, &reply, deadline, Some(stop)) {
                return;
            }
            // Disconnecting discards a reply the client has not read yet: first wait, within the
            // same deadline, for the client to hang up (reading past what is left of an
            // oversized request until the pipe breaks).
            let mut scratch = [0u8; 4096];
            loop {
                // SAFETY: `scratch` outlives the operation, which `overlapped` waits for.
                let read = overlapped(pipe, Some(deadline), Some(stop), |operation| unsafe {
                    ReadFile(
                        pipe.as_raw_handle(),
                        scratch.as_mut_ptr(),
                        scratch.len() as u32,
                        std::ptr::null_mut(),
                        operation,
                    )
                });
                match read {
                    Ok(_) => {}
                    Err(IoEnd::Stopped) => return,
                    Err(_) => break,
                }
            }
        }
        // SAFETY: as above.
        unsafe { DisconnectNamedPipe(pipe.as_raw_handle()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replies with the request, or with why it could not be read.
    fn echo() -> Answer {
        Box::new(|request| request.map_or_else(String::into_bytes, <[u8]>::to_vec))
    }

    fn server_in(dir: &tempfile::TempDir, max_request: usize, answer: Answer) -> (Address, Server) {
        let name = address_in(dir.path());
        let server = Server::bind(&name, max_request, answer).unwrap();
        (name, server)
    }

    /// A client end of the pipe that sends nothing by itself.
    fn connect(name: &Address) -> OwnedHandle {
        let wide_name = wide(name);
        // SAFETY: as in `send`.
        owned(unsafe {
            CreateFileW(
                wide_name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            )
        })
        .unwrap()
    }

    #[test]
    fn a_silent_client_does_not_block_the_server_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _server) = server_in(&dir, 16, echo());
        let silent = connect(&name);
        let started = Instant::now();
        assert_eq!(send(&name, b"after").unwrap(), b"after");
        // The silent one is let go after SERVER_TIMEOUT, not held for a reply and a hang-up too.
        assert!(started.elapsed() < SERVER_TIMEOUT + Duration::from_secs(1), "{:?}", started.elapsed());
        drop(silent);
    }

    #[test]
    fn requests_are_read_to_one_byte_past_the_cap_and_replies_to_their_cap() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _server) = server_in(
            &dir,
            100_000,
            Box::new(|request| match request {
                Ok(bytes) if bytes == b"long reply" => vec![b'r'; 1000],
                Ok(bytes) => bytes.len().to_string().into_bytes(),
                Err(reason) => reason.into_bytes(),
            }),
        );
        // Messages larger than the pipe's buffers arrive whole.
        // Past the cap, even far past it, the reply (to the first cap + 1 bytes) still arrives:
        // the server reads what is left, within its deadline, before it hangs up.
        for (length, seen) in
            [(0, "0"), (100_000, "100000"), (100_001, "100001"), (100_010, "100001"), (300_000, "100001")]
        {
            assert_eq!(send(&name, &vec![b'a'; length]).unwrap(), seen.as_bytes(), "{length} bytes");
        }
        assert_eq!(send(&name, b"abc").unwrap(), b"3");
        assert_eq!(send(&name, b"long reply").unwrap().len(), MAX_REPLY_BYTES as usize);
    }

    #[test]
    fn a_live_server_keeps_its_name_and_a_stopped_one_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let (name, server) = server_in(&dir, 16, echo());
        assert!(matches!(Server::bind(&name, 16, echo()), Err(BindError::InUse)));
        assert_eq!(send(&name, b"still me").unwrap(), b"still me");
        drop(server);
        assert!(matches!(send(&name, b"x"), Err(SendError::NoListener)));
        let _next = Server::bind(&name, 16, echo()).unwrap();
        assert_eq!(send(&name, b"next").unwrap(), b"next");
    }

    #[test]
    fn a_client_learns_that_its_own_user_serves_the_pipe() {
        // SAFETY: the pseudo handle of this process needs no closing.
        let ours = process_user(unsafe { GetCurrentProcess() }).unwrap();
        // A SID: revision 1, its sub-authority count, six bytes of authority, four per sub-authority.
        assert_eq!(ours.first(), Some(&1), "{ours:?}");
        assert_eq!(ours.len(), 8 + 4 * usize::from(ours[1]), "{ours:?}");
        let dir = tempfile::tempdir().unwrap();
        let (name, _server) = server_in(&dir, 16, echo());
        let pipe = connect(&name);
        assert!(served_by_this_user(&pipe).unwrap());
    }

    #[test]
    fn names_are_per_session_and_user_and_per_directory() {
        let name = default_address().unwrap();
        assert!(name.starts_with(PIPE_PREFIX), "{name}");
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        assert_ne!(address_in(a.path()), address_in(b.path()));
        assert_eq!(address_in(a.path()), address_in(a.path()));
    }
}
