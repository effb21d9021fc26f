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
//! Once it has fired, the timer keeps firing every [`REFIRE`] until it is
//! re-armed or disarmed. One signal is not enough: if it lands while the
//! thread runs user code (copying the next chunk, between two records),
//! no call returns EINTR, and the next blocking call would wait for a
//! stopped peer for ever. The repeats end any call entered after the
//! first signal within one period. An interrupt (SIGINT/SIGTERM) kicks the
//! same timer through [`kick`], for the same reason.
//!
//! A deadline bounds waits on other tasks, never the harness's own work:
//! filling an input array, copying it into a mapping or verifying a
//! result can take seconds in a debug build on a loaded machine, and no
//! peer can stall it. Such work runs under [`OwnWork`], which pauses the
//! deadline and restarts it fresh afterwards. Starting a worker (fork,
//! exec, connect) is setup, bounded by its own limit ([`Starting`], the
//! limit measured from this run's own start times), not by the limit of a
//! measured wait; [`bound`] says which of the two fired, for the message.
//!
//! One timer per thread (kept in a thread-local), one `expired` flag per
//! process: a case is measured by one thread at a time.

use super::halt;
pub use super::halt::{expired, kick, REFIRE};
use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

/// Linux's `SIGEV_THREAD_ID` (not exported by the libc crate).
const SIGEV_THREAD_ID: libc::c_int = 4;

static LIMIT_MS: AtomicU64 = AtomicU64::new(0);
/// Which [`Bound`] the running deadline enforces (its discriminant).
static BOUND: AtomicU8 = AtomicU8::new(Bound::Stall as u8);

/// What a running deadline bounds, so its error can say which limit hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// One wait of a case on its workers: the stall deadline (`--deadline`).
    Stall = 0,
    /// Starting one worker (fork, exec, connect): the worker start limit.
    WorkerStart = 1,
}

/// The least the worker start limit allows, whatever the starts seen
/// (`backend::process::start_limit`).
pub const START_FLOOR: Duration = Duration::from_secs(5);
/// How many times this run's median start time one start may take.
pub const START_FACTOR: u32 = 20;

/// The bound of the deadline that was armed last.
pub fn bound() -> Bound {
    match BOUND.load(Ordering::Relaxed) {
        1 => Bound::WorkerStart,
        _ => Bound::Stall,
    }
}
static HANDLER: std::sync::Once = std::sync::Once::new();

/// A POSIX timer owned by one thread, deleted when the thread ends.
struct Timer {
    id: libc::timer_t,
    armed: Cell<bool>,
}

impl Drop for Timer {
    fn drop(&mut self) {
        halt::clear_running(self.id);
        // SAFETY: `id` is a timer this thread created; a kick racing with
        // this delete gets EINVAL from timer_settime and does nothing.
        unsafe {
            libc::timer_delete(self.id);
        }
    }
}

thread_local! {
    static TIMER: std::cell::OnceCell<Timer> = const { std::cell::OnceCell::new() };
}

/// The limit of the deadline that was armed last.
pub fn limit() -> Duration {
    Duration::from_millis(LIMIT_MS.load(Ordering::Relaxed))
}

extern "C" fn on_alarm(_: libc::c_int) {
    // A kick after an interrupt only wakes blocked calls: the run was
    // interrupted, not stalled.
    if !halt::interrupted() {
        halt::set_expired(true);
    }
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

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// Sets timer `id` to fire `first` from now and every [`REFIRE`] after
/// (`first` zero disarms it). Async-signal-safe: one system call.
fn settime(id: libc::timer_t, first: Duration) -> io::Result<()> {
    let spec = libc::itimerspec {
        it_interval: timespec(if first.is_zero() {
            Duration::ZERO
        } else {
            REFIRE
        }),
        it_value: timespec(first),
    };
    // SAFETY: `id` is a live timer of this process; `spec` is valid.
    if unsafe { libc::timer_settime(id, 0, &spec, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Starts (or restarts) the calling thread's deadline: unless re-armed or
/// disarmed within `limit`, [`expired`] turns true and this thread's
/// blocked system call returns EINTR.
pub fn arm(limit: Duration) -> io::Result<()> {
    arm_for(limit, Bound::Stall)
}

fn arm_for(limit: Duration, bound: Bound) -> io::Result<()> {
    let limit = limit.max(Duration::from_millis(1));
    LIMIT_MS.store(limit.as_millis() as u64, Ordering::Relaxed);
    BOUND.store(bound as u8, Ordering::Relaxed);
    halt::set_expired(false);
    with_timer(|t| {
        settime(t.id, limit)?;
        t.armed.set(true);
        halt::set_running(t.id);
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
            halt::clear_running(t.id);
            // A zero value disarms; it cannot fail on our own live timer.
            let _ = settime(t.id, Duration::ZERO);
            t.armed.set(false);
        }
    });
    BOUND.store(Bound::Stall as u8, Ordering::Relaxed);
    halt::set_expired(false);
}

/// Stops the calling thread's timer without forgetting that a deadline
/// runs (an interrupt can still kick it). Returns the limit it had.
fn pause() -> Option<Duration> {
    if !armed() || expired() {
        return None;
    }
    TIMER.with(|c| {
        let t = c.get()?;
        // A zero value stops our own live timer; it cannot fail.
        let _ = settime(t.id, Duration::ZERO);
        Some(limit())
    })
}

/// Restarts a paused deadline with `limit`, fresh (what ran meanwhile was
/// progress); an interrupt that came during the pause fires it at once.
fn resume(limit: Duration, bound: Bound) {
    // Re-arming a live timer of our own cannot fail.
    let _ = arm_for(limit, bound);
    if halt::interrupted() {
        kick();
    }
}

/// The harness's own work under way (no peer is waited on, so nothing can
/// stall): the deadline is paused, and restarts fresh when this is dropped.
/// Nothing to do when no deadline runs or it has already expired (then the
/// next wait reports the stall as before).
#[must_use = "the deadline restarts when this is dropped"]
pub struct OwnWork {
    paused: Option<(Duration, Bound)>,
}

/// Pauses the calling thread's deadline for the harness's own work.
pub fn own_work() -> OwnWork {
    let b = bound();
    OwnWork {
        paused: pause().map(|l| (l, b)),
    }
}

impl Drop for OwnWork {
    fn drop(&mut self) {
        if let Some((limit, bound)) = self.paused {
            resume(limit, bound);
        }
    }
}

/// One worker being started: the deadline enforces `limit` as a
/// [`Bound::WorkerStart`], and the case's own deadline restarts fresh when
/// this is dropped (unless the start limit fired: then the error says so).
#[must_use = "the case's deadline comes back when this is dropped"]
pub struct Starting {
    paused: Option<(Duration, Bound)>,
}

/// Bounds the start of one worker by `limit` instead of the running
/// deadline (nothing changes when no deadline runs).
pub fn starting(limit: Duration) -> Starting {
    let b = bound();
    let paused = pause().map(|l| (l, b));
    if paused.is_some() {
        // Re-arming a live timer of our own cannot fail.
        let _ = arm_for(limit, Bound::WorkerStart);
    }
    Starting { paused }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some((limit, bound)) = self.paused {
            if !expired() {
                resume(limit, bound);
            }
        }
    }
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
