//! The stall watchdog: a deadline on every blocking wait of the measuring
//! thread, at no cost to the waits themselves.
//!
//! [`arm`] sets a one-shot POSIX timer (`timer_create` with
//! `SIGEV_THREAD_ID`, so the signal goes to the thread that armed it and
//! no other) to fire `limit` from now. The measuring code re-arms it
//! before each sample, outside the timed region, so it never fires while
//! the case makes progress. If it does fire, its SIGALRM handler (installed
//! without SA_RESTART) sets [`expired`] and the blocked system call
//! (read, write, sendmsg, poll, futex) returns EINTR; every wait that sees
//! EINTR, and every wait that wakes on its own to re-check (futex and spin
//! waits on shared memory, gate waits), looks at [`expired`] and fails.
//! The fast path of a wait is unchanged: no timeout argument, no extra
//! system call, one relaxed load on the slow paths only.
//!
//! One timer per thread (kept in a thread-local), one `expired` flag per
//! process: a case is measured by one thread at a time.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Linux's `SIGEV_THREAD_ID` (not exported by the libc crate).
const SIGEV_THREAD_ID: libc::c_int = 4;

static EXPIRED: AtomicBool = AtomicBool::new(false);
static LIMIT_MS: AtomicU64 = AtomicU64::new(0);
static HANDLER: std::sync::Once = std::sync::Once::new();

/// A POSIX timer owned by one thread, deleted when the thread ends.
struct Timer {
    id: libc::timer_t,
    armed: Cell<bool>,
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: `id` is a timer this thread created and nothing else holds.
        unsafe {
            libc::timer_delete(self.id);
        }
    }
}

thread_local! {
    static TIMER: std::cell::OnceCell<Timer> = const { std::cell::OnceCell::new() };
}

/// True once an armed deadline passed without being re-armed.
#[inline]
pub fn expired() -> bool {
    EXPIRED.load(Ordering::Relaxed)
}

/// The limit of the deadline that was armed last.
pub fn limit() -> Duration {
    Duration::from_millis(LIMIT_MS.load(Ordering::Relaxed))
}

extern "C" fn on_alarm(_: libc::c_int) {
    EXPIRED.store(true, Ordering::SeqCst);
}

fn install_handler() -> io::Result<()> {
    let mut result = Ok(());
    HANDLER.call_once(|| {
        // SAFETY: zeroed sigaction is valid; a plain handler that only
        // stores to an atomic (async-signal-safe), an empty mask and no
        // SA_RESTART, so the interrupted system call returns EINTR.
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = 0;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            result = Err(io::Error::last_os_error());
        }
    });
    result
}

/// Runs `f` on the calling thread's timer, created on first use.
fn with_timer<R>(f: impl FnOnce(&Timer) -> io::Result<R>) -> io::Result<R> {
    TIMER.with(|cell| {
        if cell.get().is_none() {
            install_handler()?;
            // SAFETY: zeroed sigevent is valid; we ask for SIGALRM delivered
            // to this thread (its kernel tid) when the timer fires.
            let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
            ev.sigev_notify = SIGEV_THREAD_ID;
            ev.sigev_signo = libc::SIGALRM;
            // SAFETY: gettid has no preconditions.
            ev.sigev_notify_thread_id = unsafe { libc::gettid() };
            let mut id: libc::timer_t = std::ptr::null_mut();
            // SAFETY: `ev` and `id` are valid for the call; the kernel fills `id`.
            if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut ev, &mut id) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let _ = cell.set(Timer {
                id,
                armed: Cell::new(false),
            });
        }
        f(cell.get().expect("set above"))
    })
}

fn settime(t: &Timer, d: Duration) -> io::Result<()> {
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: `t.id` is a timer this thread created; `spec` is valid.
    if unsafe { libc::timer_settime(t.id, 0, &spec, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Starts (or restarts) the calling thread's deadline: unless re-armed or
/// disarmed within `limit`, [`expired`] turns true and this thread's
/// blocked system call returns EINTR.
pub fn arm(limit: Duration) -> io::Result<()> {
    let limit = limit.max(Duration::from_millis(1));
    LIMIT_MS.store(limit.as_millis() as u64, Ordering::Relaxed);
    EXPIRED.store(false, Ordering::SeqCst);
    with_timer(|t| {
        settime(t, limit)?;
        t.armed.set(true);
        Ok(())
    })
}

/// Whether the calling thread's deadline is running: a blocking wait on
/// this thread then ends with EINTR at the deadline, so it needs no
/// timeout of its own.
pub fn armed() -> bool {
    TIMER.with(|c| c.get().is_some_and(|t| t.armed.get()))
}

/// Restarts the calling thread's deadline with `limit` if one is running
/// (a case measured outside the driver, in a unit test, runs without).
/// Called between samples, never inside a timed region.
pub fn extend(limit: Duration) {
    if armed() && !expired() {
        // Re-arming a live timer of our own cannot fail.
        let _ = arm(limit);
    }
}

/// Stops the calling thread's deadline and clears [`expired`].
pub fn disarm() {
    TIMER.with(|c| {
        if let Some(t) = c.get() {
            // A zero value disarms; it cannot fail on our own live timer.
            let _ = settime(t, Duration::ZERO);
            t.armed.set(false);
        }
    });
    EXPIRED.store(false, Ordering::SeqCst);
}

/// Disarms the deadline when dropped: one case's limit never outlives it.
pub struct Armed(());

impl Armed {
    pub fn new(limit: Duration) -> io::Result<Armed> {
        arm(limit)?;
        Ok(Armed(()))
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        disarm();
    }
}
