//! Child processes: the single-thread check that guards every `fork`,
//! liveness without reaping (`waitid(WNOWAIT)`), reaping with a deadline,
//! and SIGKILL.
//!
//! Reaping blocks: it waits on a pidfd with `poll` (the deadline is poll's
//! timeout), so an exit is seen the moment it happens. A reap inside a timed
//! region (the create workload's fork) costs three system calls, never a
//! sleep. Kernels before 5.3 have no pidfd; there it falls back to polling
//! `waitpid(WNOHANG)` every [`REAP_POLL`].

use super::errno;
use super::proc::thread_count;
use std::io;
use std::time::{Duration, Instant};

/// How long [`ensure_single_threaded`] waits for a just-joined thread to
/// leave /proc before refusing to fork.
pub const THREAD_EXIT_GRACE: Duration = Duration::from_millis(200);
/// Interval between looks at /proc while waiting for that (setup only).
const THREAD_EXIT_POLL: Duration = Duration::from_millis(1);
/// Interval between `waitpid(WNOHANG)` polls in [`reap_timeout`] on a
/// kernel without pidfd.
pub const REAP_POLL: Duration = Duration::from_micros(200);

/// The kernel's fork, without glibc's: `clone(SIGCHLD)` as a raw system
/// call, returning the child's pid in the parent and 0 in the child.
///
/// glibc's `fork` in a process that has ever had a second thread (mpmt
/// always has: its floors and thread members) locks and resets malloc's
/// arenas, the stdio list and the cached thread stacks around the clone;
/// the writes copy-on-write fault pages in parent and child, and the
/// count grows with how many arenas and cached stacks earlier cases left.
/// Measured on the reference VM: a C loop's fork + exit + wait took 99 µs,
/// 129 µs once the program had created and joined one thread, and 104 µs
/// then with this call; in mpmt the create workload's fork read 150 µs or
/// 185 µs depending on whether the thread case had run before it. The
/// timed forks (the floor and the create workload) use this, so the
/// figure is the kernel's and does not depend on case order.
///
/// # Safety
///
/// The child must run only raw system calls (`_exit`, `execve`): glibc's
/// own state in it (locks, the thread's cached tid) is not reset.
pub unsafe fn fork_bare() -> io::Result<i32> {
    // SAFETY: clone with only SIGCHLD and a null stack is fork: the child
    // runs on a copy of this stack; the caller keeps the child to raw
    // system calls.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid as i32)
}

/// Errors unless the process is single-threaded: `fork` in a multi-threaded
/// process may leave locks (malloc's among them) held forever in the child.
/// A thread that was just joined can linger in /proc for a moment, so this
/// waits up to [`THREAD_EXIT_GRACE`] for the count to reach one.
pub fn ensure_single_threaded() -> io::Result<()> {
    let deadline = Instant::now() + THREAD_EXIT_GRACE;
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
        std::thread::sleep(THREAD_EXIT_POLL); // untimed: before a fork, in setup
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

/// How child `pid` ended, if it has, without reaping it.
pub fn peek_end(pid: i32) -> Option<ExitKind> {
    match peek_child(pid)? {
        Some((code, status)) if code == libc::CLD_EXITED => Some(ExitKind::Code(status)),
        Some((_, sig)) => Some(ExitKind::Signal(sig)),
        None => None,
    }
}

/// How long a child whose fds were seen to close may take to finish
/// exiting: a process closes its fds before it becomes a zombie.
pub const EXIT_COMPLETION_GRACE: Duration = Duration::from_millis(100);

/// How each of `pids` that has ended ended, without reaping: `(index in
/// pids, end)` for every abnormal end (killed, or a non-zero code; every
/// end when `clean_too`). When none has ended yet, looks again every
/// millisecond for up to `grace` (outside any timed region: error paths
/// only).
pub fn ends_within(pids: &[i32], grace: Duration, clean_too: bool) -> Vec<(usize, ExitKind)> {
    let give_up = Instant::now() + grace;
    loop {
        let ends: Vec<(usize, ExitKind)> = pids
            .iter()
            .enumerate()
            .filter_map(|(i, &p)| peek_end(p).map(|k| (i, k)))
            .filter(|(_, k)| clean_too || *k != ExitKind::Code(0))
            .collect();
        if !ends.is_empty() || pids.is_empty() || Instant::now() > give_up {
            return ends;
        }
        std::thread::sleep(Duration::from_millis(1)); // untimed: error paths only
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
        libc::SIGHUP => "SIGHUP",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

/// Reaps `pid`, waiting at most `timeout`; returns None on timeout.
pub fn reap_timeout(pid: i32, timeout: Duration) -> io::Result<Option<ExitKind>> {
    reap_until(pid, timeout, false)
}

/// [`reap_timeout`] for a child that should end by itself: gives up early
/// (None) once the run has given up (an interrupt or the stall deadline),
/// so the caller kills it instead of waiting for a stopped process.
pub fn reap_unless_halted(pid: i32, timeout: Duration) -> io::Result<Option<ExitKind>> {
    reap_until(pid, timeout, true)
}

/// How a child ended, from its `waitpid` status.
fn exit_kind(status: i32) -> ExitKind {
    if libc::WIFSIGNALED(status) {
        ExitKind::Signal(libc::WTERMSIG(status))
    } else {
        ExitKind::Code(libc::WEXITSTATUS(status))
    }
}

/// Reaps `pid` if it has ended; None while it runs.
fn try_reap(pid: i32) -> io::Result<Option<ExitKind>> {
    loop {
        let mut status = 0;
        // SAFETY: valid pointer to an int for the duration of the call.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Ok(Some(exit_kind(status)));
        }
        if r == 0 {
            return Ok(None);
        }
        if errno() != libc::EINTR {
            return Err(io::Error::last_os_error());
        }
    }
}

/// A pidfd for child `pid` (None on a kernel without pidfd_open).
pub fn pidfd(pid: i32) -> io::Result<Option<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd >= 0 {
        // SAFETY: the kernel just returned this fd to us alone.
        return Ok(Some(unsafe {
            std::os::fd::OwnedFd::from_raw_fd(fd as i32)
        }));
    }
    match errno() {
        libc::ENOSYS => Ok(None),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Reaps `pid` with one blocking `waitpid`, when this thread's stall
/// deadline is running (it bounds the wait: its signal ends `waitpid` with
/// EINTR); None if the deadline or an interrupt ended the wait first, so
/// the caller kills the child. Without a running deadline, the same as
/// [`reap_unless_halted`] with `timeout`. The fewest system calls a reap
/// can take: the create workload's timed fork uses it.
pub fn reap_blocking(pid: i32, timeout: Duration) -> io::Result<Option<ExitKind>> {
    if !super::watchdog::armed() {
        return reap_unless_halted(pid, timeout);
    }
    loop {
        let mut status = 0;
        // SAFETY: valid pointer to an int for the duration of the call.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(Some(exit_kind(status)));
        }
        if errno() != libc::EINTR {
            return Err(io::Error::last_os_error());
        }
        if super::signal::halted().is_some() {
            return try_reap(pid);
        }
    }
}

fn reap_until(pid: i32, timeout: Duration, halt: bool) -> io::Result<Option<ExitKind>> {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + timeout;
    let given_up = || halt && super::signal::halted().is_some();
    let Some(pidfd) = pidfd(pid)? else {
        return reap_polling(pid, deadline, given_up);
    };
    loop {
        // A pidfd is readable once the process has ended.
        let mut p = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = if given_up() {
            0
        } else {
            left.as_millis().min(i32::MAX as u128) as i32
        };
        // SAFETY: `p` is a valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 && errno() != libc::EINTR {
            return Err(io::Error::last_os_error());
        }
        if r > 0 {
            if let Some(k) = try_reap(pid)? {
                return Ok(Some(k));
            }
        }
        if given_up() || Instant::now() >= deadline {
            return try_reap(pid);
        }
    }
}

/// [`reap_until`] without a pidfd: `waitpid(WNOHANG)` every [`REAP_POLL`].
fn reap_polling(
    pid: i32,
    deadline: Instant,
    given_up: impl Fn() -> bool,
) -> io::Result<Option<ExitKind>> {
    loop {
        if let Some(k) = try_reap(pid)? {
            return Ok(Some(k));
        }
        if Instant::now() > deadline || given_up() {
            return Ok(None);
        }
        std::thread::sleep(REAP_POLL); // untimed: reaping, after the case is measured
    }
}

/// What [`first_failure`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstEnd {
    /// `pids[i]` ended other than cleanly, this way.
    Failed(usize, ExitKind),
    /// Every one exited with code 0.
    AllClean,
    /// `timeout` passed, or the run gave up (an interrupt, the stall
    /// deadline), first.
    GaveUp,
}

/// Waits until one of `pids` ends other than cleanly, polling all their
/// pidfds together (one `poll` wakes the moment any ends), without
/// reaping: the caller's handles reap. A death is seen as it happens, so
/// a supervisor's detection can be timed around it. Needs pidfd (Linux
/// 5.3); looks at the stop flags every 20 ms.
pub fn first_failure(pids: &[i32], timeout: Duration) -> io::Result<FirstEnd> {
    use std::os::fd::AsRawFd;
    const RECHECK_MS: i32 = 20;
    let fds = pids
        .iter()
        .map(|&p| {
            pidfd(p)?.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "this kernel has no pidfd_open (Linux 5.3 or later is needed)",
                )
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut ended = vec![false; pids.len()];
    let deadline = Instant::now() + timeout;
    loop {
        let which: Vec<usize> = (0..pids.len()).filter(|&i| !ended[i]).collect();
        if which.is_empty() {
            return Ok(FirstEnd::AllClean);
        }
        let mut polls: Vec<libc::pollfd> = which
            .iter()
            .map(|&i| libc::pollfd {
                fd: fds[i].as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfds for the call.
        let r = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, RECHECK_MS) };
        if r < 0 && errno() != libc::EINTR {
            return Err(io::Error::last_os_error());
        }
        for (p, &i) in polls.iter().zip(&which) {
            if p.revents == 0 {
                continue;
            }
            match peek_end(pids[i]) {
                Some(ExitKind::Code(0)) => ended[i] = true,
                Some(k) => return Ok(FirstEnd::Failed(i, k)),
                None => {}
            }
        }
        if super::signal::halted().is_some() || Instant::now() > deadline {
            return Ok(FirstEnd::GaveUp);
        }
    }
}

/// Sends SIGKILL to `pid`, ignoring errors (it may be gone already).
pub fn kill9(pid: i32) {
    // SAFETY: kill is async-signal-safe and has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forks a child that runs `body` (raw syscalls only) and `_exit`s.
    fn child(body: fn() -> i32) -> i32 {
        // SAFETY: the child runs only raw syscalls, then `_exit`s; the test
        // harness's other threads are not touched in the child.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            super::super::exit_now(body());
        }
        pid
    }

    #[test]
    fn first_failure_names_the_child_that_failed_and_says_when_all_were_clean() {
        let clean = child(|| 0);
        let failed = child(|| 3);
        let got = first_failure(&[clean, failed], Duration::from_secs(10)).unwrap();
        assert_eq!(got, FirstEnd::Failed(1, ExitKind::Code(3)));
        for p in [clean, failed] {
            reap_timeout(p, Duration::from_secs(10)).unwrap();
        }
        let (a, b) = (child(|| 0), child(|| 0));
        assert_eq!(
            first_failure(&[a, b], Duration::from_secs(10)).unwrap(),
            FirstEnd::AllClean
        );
        for p in [a, b] {
            reap_timeout(p, Duration::from_secs(10)).unwrap();
        }
    }

    #[test]
    fn reap_returns_the_exit_code_and_times_out_on_a_live_child() {
        let pid = child(|| 7);
        assert_eq!(
            reap_timeout(pid, Duration::from_secs(10)).unwrap(),
            Some(ExitKind::Code(7))
        );
        // SAFETY: pause blocks until a signal; SIGKILL ends it.
        let pid = child(|| unsafe { libc::pause() });
        assert_eq!(reap_timeout(pid, Duration::from_millis(30)).unwrap(), None);
        kill9(pid);
        assert_eq!(
            reap_timeout(pid, Duration::from_secs(10)).unwrap(),
            Some(ExitKind::Signal(libc::SIGKILL))
        );
        // Reaped: no longer our child.
        assert!(reap_timeout(pid, Duration::from_millis(1)).is_err());
    }
}
