//! Worker processes: the two ways mpmt starts one, and the handle that reaps
//! it. [`fork_worker`] forks from a single-threaded process (checked) and runs
//! a body over preallocated inputs in the child, which then writes a
//! fixed-size [`Report`] with a raw `write` and `_exit`s.
//! [`spawn_worker`] execs `mpmt-worker`, which connects to an ipc-channel
//! one-shot server and receives an [`Envelope`] (the job's registry name,
//! its description and what it inherits); a worker that dies, or does not
//! exec and connect within the worker start limit ([`start_limit`]: a
//! multiple of this run's own median start time), is an error. Either way the child dies
//! with its parent (`PR_SET_PDEATHSIG`), and a [`WorkerProc`] that is dropped
//! unreaped is killed and reaped. Nothing here knows which jobs exist:
//! [`worker_main`] hands the envelope to a dispatcher it is given.

use super::protocol::{Report, Status};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::sys;
use crate::sys::signal;
use ipc_channel::ipc::{self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcSender};
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a worker may take to report after it was told to stop, or to
/// exit after reporting, before it counts as dead.
pub const WORKER_TIMEOUT: Duration = Duration::from_secs(5);

pub use crate::sys::watchdog::{START_FACTOR, START_FLOOR};
/// How many of the latest start times the median is taken over.
const START_HISTORY: usize = 64;

/// The latest worker start times of this process (ns), for [`start_limit`].
static STARTS: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// Notes how long one worker's start took (fork, or fork + exec + connect
/// + job handed over). Called by the parent only, never in a child.
pub fn record_start(took: Duration) {
    let mut v = STARTS.lock().unwrap_or_else(|e| e.into_inner());
    if v.len() == START_HISTORY {
        v.remove(0);
    }
    v.push(took.as_nanos() as u64);
}

/// How long starting one worker may take: [`START_FACTOR`] × the median
/// start seen so far in this run, at least [`START_FLOOR`]. Starting is
/// setup, so it has its own limit: the stall deadline bounds a measured
/// wait, and under load (a debug build, four runs on two CPUs) an exec
/// can take far longer than any wait of a case.
pub fn start_limit() -> Duration {
    let mut v = STARTS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if v.is_empty() {
        return START_FLOOR;
    }
    v.sort_unstable();
    let median = Duration::from_nanos(v[v.len() / 2]);
    (median * START_FACTOR).max(START_FLOOR)
}

/// How often the bootstrap watchdog checks on a worker that has not
/// connected yet (outside any timed region).
const BOOTSTRAP_POLL: Duration = Duration::from_millis(2);
/// How long a worker that failed may take to report why, once its peer
/// saw the failure.
pub const LATE_REPORT: Duration = Duration::from_millis(200);
/// How long a worker whose report pipe closed may take to be reaped, to
/// say how it ended.
pub const EXIT_GRACE: Duration = Duration::from_millis(500);

/// What an exec'd worker receives over the bootstrap channel.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The job's registry name.
    pub job: String,
    pub index: u32,
    pub cpu: Option<u32>,
    /// Inherited fd the worker writes its [`Report`] to.
    pub result_fd: i32,
    /// The job's description (JSON).
    pub body: String,
    pub ipc_tx: Vec<Option<IpcBytesSender>>,
    pub ipc_rx: Vec<Option<IpcBytesReceiver>>,
}

/// How a worker process ended.
enum Ended {
    Exited(sys::child::ExitKind),
    /// Reaped before (while its report was read).
    AlreadyReaped,
    /// It did not exit within [`WORKER_TIMEOUT`] and was killed; what
    /// /proc said it was doing just before.
    KilledAfterTimeout(&'static str),
}

/// A live worker process. Dropping it unreaped kills and reaps it.
pub struct WorkerProc {
    pub index: usize,
    pub pid: i32,
    result: OwnedFd,
    reaped: bool,
}

impl WorkerProc {
    fn new(index: usize, pid: i32, result: OwnedFd) -> WorkerProc {
        signal::register_child(pid);
        WorkerProc {
            index,
            pid,
            result,
            reaped: false,
        }
    }

    /// Waits up to `timeout` for the worker's report.
    pub fn read_report(&self, timeout: Duration) -> std::result::Result<Report, String> {
        match sys::fd::poll_readable(&self.result, timeout) {
            Ok(true) => {}
            Ok(false) => {
                return Err(format!(
                    "pid {} was {} and did not report within {} ms",
                    self.pid,
                    sys::proc::task_state(&self.pid.to_string()).unwrap_or("gone"),
                    timeout.as_millis()
                ))
            }
            Err(_) if signal::halted().is_some() => {
                return Err(format!(
                    "pid {} was {} and had not reported when the run gave up",
                    self.pid,
                    sys::proc::task_state(&self.pid.to_string()).unwrap_or("gone")
                ))
            }
            Err(e) => return Err(format!("pid {}: polling its report failed: {e}", self.pid)),
        }
        let mut buf = [0u8; Report::BYTES];
        let mut got = 0;
        while got < buf.len() {
            // SAFETY: valid writable buffer; `result` is our open pipe read end.
            let n = unsafe {
                libc::read(
                    self.result.as_raw_fd(),
                    buf[got..].as_mut_ptr().cast(),
                    buf.len() - got,
                )
            };
            if n < 0 && sys::errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                let how = match sys::child::reap_timeout(self.pid, EXIT_GRACE) {
                    Ok(Some(k)) => k.to_string(),
                    _ => "stopped".to_string(),
                };
                return Err(format!("pid {} {how} before reporting", self.pid));
            }
            got += n as usize;
        }
        Report::from_bytes(&buf).ok_or_else(|| format!("pid {} sent a malformed report", self.pid))
    }

    /// Waits for the worker to end (up to [`WORKER_TIMEOUT`], then kills
    /// it and waits as long again) and says how it ended; an error only if
    /// even SIGKILL did not let it be reaped.
    fn wait_end(&mut self) -> std::result::Result<Ended, String> {
        if self.reaped {
            return Ok(Ended::AlreadyReaped);
        }
        let ended = match sys::child::reap_unless_halted(self.pid, WORKER_TIMEOUT) {
            Ok(Some(k)) => Ended::Exited(k),
            // ECHILD: reaped already while reading its report.
            Err(_) => Ended::AlreadyReaped,
            Ok(None) => {
                let state = sys::proc::task_state(&self.pid.to_string()).unwrap_or("gone");
                sys::child::kill9(self.pid);
                match sys::child::reap_timeout(self.pid, WORKER_TIMEOUT) {
                    Ok(None) => {
                        return Err(format!(
                            "pid {} did not exit, and was not reaped even after SIGKILL",
                            self.pid
                        ))
                    }
                    Ok(Some(_)) | Err(_) => Ended::KilledAfterTimeout(state),
                }
            }
        };
        self.reaped = true;
        signal::unregister_child(self.pid);
        Ok(ended)
    }

    /// Reaps the worker (waiting up to [`WORKER_TIMEOUT`], then killing it).
    /// Errors name an abnormal end.
    pub fn reap(&mut self) -> std::result::Result<(), String> {
        match self.wait_end()? {
            Ended::AlreadyReaped | Ended::Exited(sys::child::ExitKind::Code(0)) => Ok(()),
            Ended::Exited(k) => Err(format!("pid {} {k}", self.pid)),
            Ended::KilledAfterTimeout(state) => Err(format!(
                "pid {} did not exit (it was {state}); killed",
                self.pid
            )),
        }
    }

    /// Reads the report and reaps; the report's own failure wins over the
    /// non-zero exit code that goes with it.
    pub fn finish(&mut self) -> std::result::Result<Report, String> {
        let r = self.read_report(WORKER_TIMEOUT);
        let reaped = self.reap();
        let report = r?;
        if let Some(why) = report.failure() {
            return Err(why);
        }
        reaped.map(|_| report)
    }

    /// Kills and reaps the worker; errors if it could not be reaped.
    pub fn kill(&mut self) -> std::result::Result<(), String> {
        if self.reaped {
            return Ok(());
        }
        sys::child::kill9(self.pid);
        // However it ended (killed by us, as intended, or before), it is
        // reaped; only a worker that could not be reaped is an error.
        self.wait_end().map(|_| ())
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        // A drop cannot report; join() and abort() report the same
        // failures on every path that is not already unwinding an error.
        self.kill().ok();
    }
}

/// Forks a worker that runs `body(input)` and reports. In the parent,
/// returns the handle and `input` back, so the caller can release what the
/// child now owns (see [`crate::channel::End::release`]).
///
/// `body` runs in the child, which may use only preallocated memory and raw
/// system calls: `input` must hold everything it needs.
pub fn fork_worker<T>(
    index: usize,
    cpu: Option<u32>,
    input: T,
    body: fn(T) -> Report,
) -> Result<(WorkerProc, T)> {
    let parent = std::process::id() as i32;
    let (res_r, res_w) = sys::fd::pipe().map_err(|e| Error::io("creating a report pipe", e))?;
    sys::child::ensure_single_threaded().map_err(|e| Error::io("fork backend", e))?;
    // SAFETY: the process is single-threaded (checked above), so the child
    // inherits no lock held by another thread. The child runs only
    // `forked_child`, which never returns and ends in `_exit`.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(res_r);
            forked_child(parent, cpu, res_w, input, body)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(res_w);
            Ok((WorkerProc::new(index, child.as_raw(), res_r), input))
        }
        Err(e) => Err(Error::io("fork", e.into())),
    }
}

/// Runs in a forked child: only preallocated memory and raw syscalls.
fn forked_child<T>(
    parent: i32,
    cpu: Option<u32>,
    result: OwnedFd,
    input: T,
    body: fn(T) -> Report,
) -> ! {
    // SAFETY: prctl/getppid are plain syscalls. PDEATHSIG makes the kernel
    // kill us if the parent dies, so a crashed parent leaks no worker.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            sys::exit_now(3);
        }
    }
    signal::reset_in_child();
    let report = match pin(cpu) {
        Err(r) => r,
        Ok(()) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(input)))
            .unwrap_or(Report::failed(Status::Panicked)),
    };
    // Nobody to tell if the report pipe is gone: the parent sees the exit.
    let written = sys::fd::write_all_raw(result.as_raw_fd(), &report.to_bytes());
    sys::exit_now(if report.is_ok() && written.is_ok() {
        0
    } else {
        1
    })
}

/// Pins the calling thread to `cpu`, if given; a failure is the member's
/// report. Allocation-free.
pub fn pin(cpu: Option<u32>) -> std::result::Result<(), Report> {
    match cpu {
        Some(c) => sys::pin_current(c).map_err(|e| {
            Report::failed(Status::PinFailed {
                errno: e.raw_os_error().unwrap_or(libc::EINVAL),
            })
        }),
        None => Ok(()),
    }
}

/// Where `mpmt-worker` lives: `$MPMT_WORKER`, else next to this executable.
pub fn worker_path() -> Result<PathBuf> {
    let path = match std::env::var_os("MPMT_WORKER").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        // Unset or empty (`MPMT_WORKER= mpmt …`): next to this executable.
        None => {
            let exe = std::env::current_exe()
                .map_err(|e| Error::io("locating the running executable", e))?;
            exe.parent()
                .map(|d| d.join("mpmt-worker"))
                .ok_or_else(|| Error::Setup("the running executable has no directory".into()))?
        }
    };
    if !path.is_file() {
        return Err(Error::Setup(format!(
            "mpmt-worker not found at {}: build the workspace (`cargo build --release`) or set MPMT_WORKER to its path",
            path.display()
        )));
    }
    Ok(path)
}

/// mpmt-noop (crates/core/noop/noop.c), built by build.rs: a static
/// executable whose entry point calls `exit_group(0)`.
static NOOP_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mpmt-noop"));

/// mpmt-noop in a memfd reopened read-only (exec refuses a file open for
/// writing), exec'd through its
/// `/proc/self/fd` path: nothing to install or find, nothing left behind.
pub struct NoopExe {
    fd: OwnedFd,
}

impl NoopExe {
    pub fn load() -> Result<NoopExe> {
        use std::io::Write;
        let name = c"mpmt-noop";
        // MFD_EXEC (Linux 6.3+) says the memfd is meant to be exec'd; older
        // kernels refuse the flag, and then need none.
        const MFD_EXEC: libc::c_uint = 0x10;
        let mut fd = -1;
        for flags in [libc::MFD_CLOEXEC | MFD_EXEC, libc::MFD_CLOEXEC] {
            // SAFETY: a NUL-terminated name and flags; returns a new fd.
            fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
            if fd >= 0 || sys::errno() != libc::EINVAL {
                break;
            }
        }
        if fd < 0 {
            return Err(Error::io(
                "creating a memfd for mpmt-noop",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: the kernel just returned this fd to us alone.
        let mut rw = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        rw.write_all(NOOP_ELF)
            .map_err(|e| Error::io("writing mpmt-noop into its memfd", e))?;
        // exec refuses a file open for writing (ETXTBSY): keep a read-only
        // descriptor and close the writable one.
        let ro = std::fs::File::open(format!("/proc/self/fd/{fd}"))
            .map_err(|e| Error::io("reopening mpmt-noop's memfd read-only", e))?;
        drop(rw);
        Ok(NoopExe { fd: ro.into() })
    }

    /// The path that execs it (valid while `self` lives).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

/// A command line built before a fork, so the child only calls `execv` on
/// memory it already has.
pub struct ExecArgs {
    path: CString,
    _args: Vec<CString>,
    argv: Vec<*const libc::c_char>,
}

impl ExecArgs {
    /// `mpmt-worker <args>` at [`worker_path`].
    pub fn worker(args: &[&str]) -> Result<ExecArgs> {
        ExecArgs::new(&worker_path()?, "mpmt-worker", args)
    }

    /// `<argv0> <args>` at `path`.
    pub fn new(path: &std::path::Path, argv0: &str, args: &[&str]) -> Result<ExecArgs> {
        let path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Setup(format!("{argv0}'s path contains a NUL byte")))?;
        let mut all =
            vec![CString::new(argv0)
                .map_err(|_| Error::Setup(format!("{argv0:?} has a NUL byte")))?];
        for a in args {
            all.push(
                CString::new(*a)
                    .map_err(|_| Error::Setup(format!("worker argument {a:?} has a NUL byte")))?,
            );
        }
        let mut argv: Vec<*const libc::c_char> = all.iter().map(|c| c.as_ptr()).collect();
        argv.push(std::ptr::null());
        Ok(ExecArgs {
            path,
            _args: all,
            argv,
        })
    }

    /// In a forked child: exec, or `_exit(127)`.
    pub fn exec(&self) -> ! {
        // SAFETY: path and argv point to NUL-terminated strings that live in
        // this struct (allocated before the fork); argv ends with NULL.
        unsafe { libc::execv(self.path.as_ptr(), self.argv.as_ptr()) };
        sys::exit_now(127)
    }
}

type Hello = IpcSender<Envelope>;

/// How child `pid` ended, giving an exit that is under way time to
/// complete; None if it lives.
fn ended_how(pid: i32) -> Option<sys::child::ExitKind> {
    sys::child::ends_within(&[pid], sys::child::EXIT_COMPLETION_GRACE, true)
        .first()
        .map(|&(_, end)| end)
}

/// Waits for the worker to connect to the one-shot server; a watchdog thread
/// unblocks `accept` if the worker dies or `limit` (the start limit) passes.
fn accept_worker(
    server: IpcOneShotServer<Hello>,
    name: String,
    pid: i32,
    limit: Duration,
) -> Result<Hello> {
    let done = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let (d, f) = (done.clone(), failed.clone());
    let watchdog = std::thread::Builder::new()
        .name("mpmt-bootstrap-watchdog".into())
        .spawn(move || {
            let deadline = Instant::now() + limit;
            while !d.load(Ordering::SeqCst) {
                if Instant::now() > deadline
                    || sys::child::child_exited(pid)
                    || signal::halted().is_some()
                {
                    f.store(true, Ordering::SeqCst);
                    // Connect ourselves so `accept` returns.
                    if let Ok(s) = IpcSender::<Hello>::connect(name) {
                        if let Ok((t, _r)) = ipc::channel::<Envelope>() {
                            let _ = s.send(t);
                        }
                    }
                    return;
                }
                std::thread::sleep(BOOTSTRAP_POLL); // untimed: bootstrap watchdog thread, setup before the worker joins its team
            }
        })
        .map_err(|e| Error::io("starting the bootstrap watchdog", e))?;
    let accepted = server.accept();
    done.store(true, Ordering::SeqCst);
    watchdog
        .join()
        .map_err(|_| Error::Setup("the bootstrap watchdog panicked".into()))?;
    if let Some(e) = Error::halted() {
        return Err(match e {
            // Not yet a team member, so say here who the stall is.
            Error::Stalled { .. } => Error::stalled_with(format!(
                ": mpmt-worker (pid {pid}) is {} and had not connected",
                sys::proc::task_state(&pid.to_string()).unwrap_or("gone")
            )),
            e => e,
        });
    }
    if failed.load(Ordering::SeqCst) {
        let why = if let Some(end) = ended_how(pid) {
            format!("{end} before connecting")
        } else if sys::child::child_exited(pid) {
            "exited before connecting".to_string()
        } else {
            format!(
                "did not connect within {:.1} s (the worker start limit)",
                limit.as_secs_f64()
            )
        };
        return Err(Error::Setup(format!("mpmt-worker (pid {pid}) {why}")));
    }
    // A worker that connected and then died (killed mid-bootstrap) leaves
    // accept with a closed connection: say how it ended, not "Disconnected".
    accepted.map(|(_, hello)| hello).map_err(|e| {
        Error::Setup(match ended_how(pid) {
            Some(end) => format!("mpmt-worker (pid {pid}) {end} while connecting"),
            None => format!("bootstrap with mpmt-worker (pid {pid}) failed: {e:?}"),
        })
    })
}

/// Forks a child that inherits `keep` (CLOEXEC cleared in the child only),
/// reads /dev/null, dies with its parent and execs `exec`; returns its pid
/// and its handle (which kills and reaps it if anything below fails).
///
/// Not `std::process::Command`: its parent blocks, with no deadline, on a
/// pipe until the child has exec'd, so a child stopped between fork and exec
/// hung the run. Here the parent waits on its own exec-status pipe for at
/// most `limit` (the start limit): EOF means exec succeeded, four bytes are
/// the errno of a failed exec. Both ends of that pipe are close-on-exec
/// from creation and the parent is single-threaded (checked), so the only
/// write end outside the parent is the child's, gone at its exec.
fn exec_worker(
    index: usize,
    exec: &ExecArgs,
    keep: &[RawFd],
    result: OwnedFd,
    limit: Duration,
) -> Result<(i32, WorkerProc)> {
    let parent = std::process::id() as i32;
    let null = std::fs::File::open("/dev/null").map_err(|e| Error::io("opening /dev/null", e))?;
    let (status_r, status_w) =
        sys::fd::pipe().map_err(|e| Error::io("creating an exec-status pipe", e))?;
    sys::child::ensure_single_threaded().map_err(|e| Error::io("spawn backend", e))?;
    // SAFETY: the process is single-threaded (checked above); the child runs
    // only raw syscalls (fcntl, dup2, prctl, getppid, execv, write, _exit)
    // on memory allocated before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::io("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: raw syscalls on fds and strings that exist in the child.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                sys::exit_now(3);
            }
            let mut ok = libc::dup2(null.as_raw_fd(), 0) == 0;
            for &fd in keep {
                ok &= sys::fd::clear_cloexec(fd).is_ok();
            }
            if ok {
                libc::execv(exec.path.as_ptr(), exec.argv.as_ptr());
            }
            let e = sys::errno().to_ne_bytes();
            let _ = sys::fd::write_all_raw(status_w.as_raw_fd(), &e);
        }
        sys::exit_now(127);
    }
    let proc_ = WorkerProc::new(index, pid, result);
    drop(status_w);
    drop(null);
    let what = || format!("mpmt-worker (pid {pid})");
    match sys::fd::poll_readable(&status_r, limit) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::Setup(format!(
                "{} is {} and did not exec within {:.1} s (the worker start limit)",
                what(),
                sys::proc::task_state(&pid.to_string()).unwrap_or("gone"),
                limit.as_secs_f64()
            )))
        }
        Err(_) => {
            let state = sys::proc::task_state(&pid.to_string()).unwrap_or("gone");
            return Err(match Error::halted() {
                Some(Error::Stalled { .. }) => {
                    Error::stalled_with(format!(": {} is {state} and had not exec'd", what()))
                }
                Some(e) => e,
                None => Error::Setup(format!("{}: waiting for its exec failed", what())),
            });
        }
    }
    let mut errno = [0u8; 4];
    if sys::fd::read_exact_raw(status_r.as_raw_fd(), &mut errno) {
        return Err(Error::io(
            format!("starting {}", exec.path.to_string_lossy()),
            std::io::Error::from_raw_os_error(i32::from_ne_bytes(errno)),
        ));
    }
    Ok((pid, proc_))
}

/// The bootstrap server, its socket folder made private (0700) whatever
/// the umask: ipc-channel creates it with the default mode (0755 under
/// umask 022), which let any user list the sockets of a run.
fn private_server() -> Result<(IpcOneShotServer<Hello>, String)> {
    use std::os::unix::fs::PermissionsExt;
    let (server, name) = IpcOneShotServer::<Hello>::new()
        .map_err(|e| Error::io("creating the bootstrap server", e))?;
    if let Some(dir) = std::path::Path::new(&name).parent() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("making the bootstrap socket folder private", e))?;
    }
    Ok((server, name))
}

/// Execs `mpmt-worker` and hands it job `job` (its registry name) with
/// description `body` and what `carry` holds: the fds (inherited at the
/// same numbers, CLOEXEC cleared in the child only) and ipc-channel
/// handles. The parent's copies of the fds are closed once the worker has
/// its job.
pub fn spawn_worker(
    index: usize,
    cpu: Option<u32>,
    job: &str,
    body: String,
    carry: ExecFds,
) -> Result<WorkerProc> {
    let (res_r, res_w) = sys::fd::pipe().map_err(|e| Error::io("creating a report pipe", e))?;
    let mut keep: Vec<RawFd> = carry.fds.iter().map(|f| f.as_raw_fd()).collect();
    keep.push(res_w.as_raw_fd());
    let (server, name) = private_server()?;
    let exec = ExecArgs::worker(&["--bootstrap", &name])?;
    let limit = start_limit();
    let (pid, proc_) = exec_worker(index, &exec, &keep, res_r, limit)?;
    let result_fd = res_w.as_raw_fd();
    drop(res_w);
    let hello = accept_worker(server, name, pid, limit)?;
    let ExecFds {
        fds,
        ipc_tx,
        ipc_rx,
    } = carry;
    let envelope = Envelope {
        job: job.to_string(),
        index: index as u32,
        cpu,
        result_fd,
        body,
        ipc_tx,
        ipc_rx,
    };
    hello.send(envelope).map_err(|e| {
        Error::Setup(match ended_how(pid) {
            Some(end) => format!("mpmt-worker (pid {pid}) {end} before it received its job"),
            None => format!("sending the job to mpmt-worker (pid {pid}): {e:?}"),
        })
    })?;
    drop(fds);
    Ok(proc_)
}

/// What runs a received job: given the envelope's job name, body
/// and carried handles, the member's report.
pub type Dispatch = fn(job: &str, body: &str, carry: &mut ExecFds) -> Report;

/// The body of `mpmt-worker --bootstrap NAME`: connect, receive the
/// envelope, pin, run it through `dispatch`, write the report to the
/// inherited result fd. Returns the exit code (0 only for a clean report).
pub fn worker_main(bootstrap: &str, dispatch: Dispatch) -> i32 {
    let (job_tx, job_rx) = match ipc::channel::<Envelope>() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mpmt-worker: cannot create the job channel: {e}");
            return 2;
        }
    };
    let hello = match IpcSender::<Hello>::connect(bootstrap.to_string()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mpmt-worker: cannot connect to bootstrap server {bootstrap}: {e}");
            return 2;
        }
    };
    if let Err(e) = hello.send(job_tx) {
        eprintln!("mpmt-worker: bootstrap send failed: {e:?}");
        return 2;
    }
    let env = match job_rx.recv() {
        Ok(j) => j,
        Err(e) => {
            eprintln!("mpmt-worker: no job received: {e:?}");
            return 2;
        }
    };
    let result_fd = env.result_fd;
    let mut carry = ExecFds {
        fds: Vec::new(),
        ipc_tx: env.ipc_tx,
        ipc_rx: env.ipc_rx,
    };
    let report = match pin(env.cpu) {
        Err(r) => r,
        Ok(()) => dispatch(&env.job, &env.body, &mut carry),
    };
    match sys::fd::write_all_raw(result_fd, &report.to_bytes()) {
        Ok(()) if report.is_ok() => 0,
        Ok(()) => 1,
        Err(_) => 2,
    }
}
