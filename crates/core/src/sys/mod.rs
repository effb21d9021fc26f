//! Raw Linux, thin and allocation-free where a forked child may call it:
//! futex wait/wake, CPU affinity, fd plumbing, child liveness and reaping,
//! /proc facts, the SIGINT/SIGTERM flag and the stall watchdog. Nothing here knows about
//! channels, backends or workloads.

pub mod affinity;
pub mod child;
pub mod cpuuse;
pub mod fd;
pub mod futex;
pub mod halt;
pub mod limits;
pub mod perf;
pub mod proc;
pub mod signal;
pub mod watchdog;

pub use affinity::{pin_current, AffinityGuard};
pub use proc::Switches;

/// The calling thread's errno.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Ends the calling process at once, running no destructors or atexit
/// handlers. The only way a forked child leaves.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}
