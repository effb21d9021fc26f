//! Interruption: SIGINT, SIGTERM and SIGHUP set a flag that every measuring loop checks,
//! and SIGKILL every live worker process this run started, so a blocked
//! parent wakes (EOF, closed peer, EINTR) and tears the case down.
//!
//! The handler is installed without SA_RESTART so blocking calls in the
//! thread that takes the signal return EINTR. The signal may land on any
//! thread, and at a moment when the measuring thread is in user code, so
//! the handler also kicks the measuring thread's deadline timer
//! ([`super::halt::kick`]): it fires at once and every few
//! milliseconds until the case is torn down, and no blocking call of that
//! thread outlives the interrupt. It only touches atomics and calls `kill`
//! and `timer_settime`, all async-signal-safe.

use super::halt;
pub use super::halt::{halted, interrupted, interrupting_signal, Halt};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// The signals that end a run as an interrupt: Ctrl-C, `kill`, and a
/// closed terminal (SIGHUP).
pub const STOPPING: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

const MAX_CHILDREN: usize = 1024;
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicI32 = AtomicI32::new(0);
static CHILDREN: [AtomicI32; MAX_CHILDREN] = [EMPTY; MAX_CHILDREN];
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    halt::note_interrupt(sig);
    for slot in CHILDREN.iter() {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    halt::kick();
}

/// Ends the run as if `sig` had arrived (the driver's stdout or stderr
/// closed: as SIGPIPE): the same flag, the same kill of every live
/// worker, the same kick of the measuring thread's deadline.
pub fn interrupt_as(sig: libc::c_int) {
    on_signal(sig)
}

/// Installs the handler of the [`STOPPING`] signals (idempotent).
pub fn install() -> std::io::Result<()> {
    if INSTALLED.swap(1, Ordering::SeqCst) == 1 {
        return Ok(());
    }
    for sig in STOPPING {
        // `nohup mpmt …` (or a parent that ignores hang-ups) asked for the
        // run to outlive its terminal: a SIGHUP ignored at start stays
        // ignored, as every well-behaved program does.
        if sig == libc::SIGHUP && ignored(sig) {
            continue;
        }
        // SAFETY: zeroed sigaction is valid; we set a plain handler with an
        // empty mask and no SA_RESTART, so blocking syscalls see EINTR.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = 0;
        // SAFETY: `sa` is fully initialised; a null old-action pointer is allowed.
        let r = unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether `sig` is ignored (SIG_IGN) now.
fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Restores the [`STOPPING`] signals' default dispositions. Called in a forked child
/// (raw syscalls only) so that Ctrl-C kills it as it would any process.
pub fn reset_in_child() {
    for sig in STOPPING {
        // SAFETY: `signal` with SIG_DFL is async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// Records a live worker pid so an interrupt kills it.
pub fn register_child(pid: i32) {
    for slot in CHILDREN.iter() {
        if slot
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

/// Forgets a reaped worker pid.
pub fn unregister_child(pid: i32) {
    for slot in CHILDREN.iter() {
        if slot
            .compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}
