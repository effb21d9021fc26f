//! Thin, allocation-free wrappers over the Linux system calls mpmt needs:
//! futex wait/wake, CPU pinning, per-thread rusage, fd plumbing, child
//! liveness and the single-thread check that guards every `fork`.
//!
//! Everything here that a forked child may call (futex, pin, rusage, raw
//! read/write, `_exit`) allocates nothing and takes no lock.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// Result of a timed futex wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FutexWait {
    /// Woken, or the word no longer held the expected value.
    Woken,
    /// The timeout elapsed.
    TimedOut,
    /// A signal interrupted the wait.
    Interrupted,
}

/// Waits on a non-private futex (works across processes sharing the
/// mapping) while `*word == expected`, for at most `timeout`.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) -> FutexWait {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned u32 that outlives the call; the
    // kernel only reads it. FUTEX_WAIT (without FUTEX_PRIVATE_FLAG) keys the
    // wait on the physical page, so it works across processes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if r == 0 {
        return FutexWait::Woken;
    }
    match errno() {
        libc::ETIMEDOUT => FutexWait::TimedOut,
        libc::EINTR => FutexWait::Interrupted,
        _ => FutexWait::Woken, // EAGAIN: value already changed.
    }
}

/// Wakes up to `n` waiters on `word` (non-private futex).
pub fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: `word` is a valid aligned u32; FUTEX_WAKE does not access memory
    // beyond keying on its address.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Pins the calling thread (or single-threaded process) to `cpu`.
/// Allocation-free: safe in a forked child.
pub fn pin_current(cpu: u32) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu as usize >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `cpu` was bounds-checked against CPU_SETSIZE above.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    set_affinity(&set)
}

/// Sets the calling thread's affinity mask.
pub fn set_affinity(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` points to a valid cpu_set_t of the size passed; pid 0 is
    // the calling thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling thread's affinity mask.
pub fn get_affinity() -> io::Result<libc::cpu_set_t> {
    // SAFETY: zeroed cpu_set_t is valid; the kernel fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer and size for the duration of the call.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r == 0 {
        Ok(set)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CPUs in an affinity mask, ascending.
pub fn cpus_in(set: &libc::cpu_set_t) -> Vec<u32> {
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `c` < CPU_SETSIZE, inside the set.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, set) })
        .map(|c| c as u32)
        .collect()
}

/// Restores the calling thread's affinity when dropped.
pub struct AffinityGuard(libc::cpu_set_t);

impl AffinityGuard {
    /// Saves the current mask and pins to `cpu` if given.
    pub fn pin(cpu: Option<u32>) -> io::Result<Self> {
        let saved = get_affinity()?;
        if let Some(c) = cpu {
            pin_current(c)?;
        }
        Ok(AffinityGuard(saved))
    }
}

impl Drop for AffinityGuard {
    fn drop(&mut self) {
        let _ = set_affinity(&self.0);
    }
}

/// Voluntary and involuntary context switches of the calling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    pub voluntary: u64,
    pub involuntary: u64,
}

impl Switches {
    /// getrusage(RUSAGE_THREAD): the calling thread only (in a
    /// single-threaded process that is the whole process).
    pub fn now() -> Switches {
        // SAFETY: zeroed rusage is valid plain data; the kernel fills it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a rusage for the duration of the call.
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        Switches {
            voluntary: ru.ru_nvcsw as u64,
            involuntary: ru.ru_nivcsw as u64,
        }
    }

    pub fn since(self, start: Switches) -> Switches {
        Switches {
            voluntary: self.voluntary.saturating_sub(start.voluntary),
            involuntary: self.involuntary.saturating_sub(start.involuntary),
        }
    }
}

/// A pipe pair `(read, write)`, close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid 2-element array for the kernel to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by us alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A connected AF_UNIX SOCK_STREAM pair, close-on-exec.
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid 2-element array for the kernel to fill.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded, so both fds are open and owned by us alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Clears FD_CLOEXEC so `fd` survives exec. Async-signal-safe (used in
/// `pre_exec`).
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer fd; an invalid fd yields EBADF.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Writes all of `buf` to `fd` with raw syscalls, retrying on EINTR.
pub fn write_all_raw(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid readable slice for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(io::Error::last_os_error());
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Number of threads in this process, from /proc/self/task.
pub fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Errors unless the process is single-threaded: `fork` in a multi-threaded
/// process may leave locks (malloc's among them) held forever in the child.
/// A thread that was just joined can linger in /proc for a moment, so this
/// waits up to 200 ms for the count to reach one.
pub fn ensure_single_threaded() -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(200);
    loop {
        let n = thread_count()?;
        if n == 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "refusing to fork: this process has {n} threads (fork is only safe from a single-threaded process)"
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What `waitid(WNOWAIT)` says of child `pid` without reaping it: None if
/// it is still running, Some(None) if it is not (or no longer) our child,
/// Some(Some((si_code, si_status))) if it has ended.
fn peek_child(pid: i32) -> Option<Option<(i32, i32)>> {
    // SAFETY: zeroed siginfo_t is valid; the kernel fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer for the duration of the call; WNOWAIT leaves the
    // child reapable.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r != 0 {
        return Some(None);
    }
    // SAFETY: waitid filled `info`; si_pid is 0 when no child changed state,
    // and si_status is valid for the CLD_* codes it reports.
    unsafe { (info.si_pid() != 0).then(|| Some((info.si_code, info.si_status()))) }
}

/// True if child `pid` has exited (without reaping it). A pid that is not
/// our child (already reaped) counts as exited.
pub fn child_exited(pid: i32) -> bool {
    peek_child(pid).is_some()
}

/// True if child `pid` ended abnormally (killed, or a non-zero exit code)
/// or is no longer ours, without reaping it. A worker exits 0 only after
/// the in-band stop, so a clean exit is never a failure.
pub fn child_failed(pid: i32) -> bool {
    match peek_child(pid) {
        None => false,
        Some(None) => true,
        Some(Some((code, status))) => !(code == libc::CLD_EXITED && status == 0),
    }
}

/// How a reaped child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ExitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitKind::Code(c) => write!(f, "exited with code {c}"),
            ExitKind::Signal(s) => write!(f, "was killed by signal {s} ({})", signal_name(*s)),
        }
    }
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

/// Reaps `pid`, waiting at most `timeout`; returns None on timeout.
pub fn reap_timeout(pid: i32, timeout: Duration) -> io::Result<Option<ExitKind>> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut status = 0;
        // SAFETY: valid pointer to an int for the duration of the call.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Ok(Some(if libc::WIFSIGNALED(status) {
                ExitKind::Signal(libc::WTERMSIG(status))
            } else {
                ExitKind::Code(libc::WEXITSTATUS(status))
            }));
        }
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(io::Error::last_os_error());
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Sends SIGKILL to `pid`, ignoring errors (it may be gone already).
pub fn kill9(pid: i32) {
    // SAFETY: kill is async-signal-safe and has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Waits until `fd` is readable or `timeout` passes. Returns true if
/// readable (or hung up).
pub fn poll_readable(fd: &impl AsRawFd, timeout: Duration) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: `p` is a valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(io::Error::last_os_error());
        }
        return Ok(r > 0);
    }
}

/// `MemAvailable` from /proc/meminfo, in bytes.
pub fn mem_available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Ends the calling process at once, running no destructors or atexit
/// handlers. The only way a forked child leaves.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Open fds of this process (for leak checks).
pub fn open_fds() -> io::Result<Vec<RawFd>> {
    let mut v: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    v.sort_unstable();
    Ok(v)
}
