//! Why a wait gives up, and how a blocked wait is woken to see it: the
//! interrupt flag (set by the SIGINT/SIGTERM/SIGHUP handler, [`super::signal`]),
//! the expired flag (set by the stall deadline's SIGALRM, [`super::watchdog`]),
//! and the timer whose signal wakes the measuring thread ([`kick`]).
//!
//! Both producers sit above this file and neither names the other: the
//! signal handler kicks the running timer through here, the watchdog
//! reads the interrupt flag through here. Everything is atomics and
//! `timer_settime`, async-signal-safe.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicIsize, Ordering};
use std::time::Duration;

/// How often an expired (or kicked) deadline fires again, until re-armed
/// or disarmed: the longest a blocking call entered after the first
/// signal waits before it sees EINTR.
pub const REFIRE: Duration = Duration::from_millis(10);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static EXPIRED: AtomicBool = AtomicBool::new(false);
/// The timer of the thread whose deadline runs now ([`NONE`] when none),
/// for [`kick`] from a signal handler. Not a null pointer for "none": the
/// kernel numbers timers from 0, and glibc's `timer_t` is that number.
static RUNNING: AtomicIsize = AtomicIsize::new(NONE);
const NONE: isize = -1;

/// Why a wait must give up now, if it must: an interrupt, or the stall
/// watchdog's deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    Interrupted,
    Stalled,
}

/// True once SIGINT, SIGTERM or SIGHUP arrived.
#[inline]
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// True once an armed deadline passed without being re-armed.
#[inline]
pub fn expired() -> bool {
    EXPIRED.load(Ordering::Relaxed)
}

/// Whether a wait must give up (checked on every EINTR and every periodic
/// wake-up of a wait; two relaxed loads).
#[inline]
pub fn halted() -> Option<Halt> {
    if interrupted() {
        Some(Halt::Interrupted)
    } else if expired() {
        Some(Halt::Stalled)
    } else {
        None
    }
}

/// The signal that interrupted the run, if any.
pub fn interrupting_signal() -> Option<i32> {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// Records that `sig` ends the run (from a signal handler).
pub(super) fn note_interrupt(sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Sets or clears the expired flag (the watchdog's).
pub(super) fn set_expired(v: bool) {
    EXPIRED.store(v, Ordering::SeqCst);
}

/// The timer [`kick`] wakes from now on.
pub(super) fn set_running(id: libc::timer_t) {
    RUNNING.store(id as isize, Ordering::SeqCst);
}

/// Forgets `id` as the running timer, if it still is.
pub(super) fn clear_running(id: libc::timer_t) {
    let _ = RUNNING.compare_exchange(id as isize, NONE, Ordering::SeqCst, Ordering::SeqCst);
}

/// Makes the running deadline (if any) fire at once and every [`REFIRE`]
/// after, so the measuring thread's blocking call returns EINTR and sees
/// why, wherever the signal itself was delivered and whenever.
/// Async-signal-safe: one atomic load and `timer_settime`.
pub fn kick() {
    let id = RUNNING.load(Ordering::SeqCst);
    if id == NONE {
        return;
    }
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: REFIRE.as_nanos() as libc::c_long,
        },
        it_value: libc::timespec {
            tv_sec: 0,
            tv_nsec: 1,
        },
    };
    // SAFETY: `id` is a timer of this process, or was deleted in between
    // (then timer_settime fails with EINVAL and nothing is woken); `spec`
    // is valid.
    unsafe {
        libc::timer_settime(id as libc::timer_t, 0, &spec, std::ptr::null_mut());
    }
}
