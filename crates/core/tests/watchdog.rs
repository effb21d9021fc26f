//! The stall watchdog in a process of its own (its `expired` flag is
//! process-wide, so it must not share a test binary with other waits).

use mpmt_core::sys::watchdog::{arm, bound, disarm, expired, own_work, starting, Armed, Bound};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// `expired` is process-wide: the tests of this binary take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spins for `d` (the harness's own work, or a slow start, as seen by the
/// watchdog: a thread that runs and does not block).
fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn deadline_interrupts_a_blocked_read_and_rearming_keeps_it_quiet() {
    let _turn = turn();
    // Re-armed before it can fire: never expires. Exact on a loaded
    // machine too: the flag is only asserted when less than the limit
    // passed since the last arm (a descheduled sleep proves nothing).
    let limit = Duration::from_millis(200);
    for _ in 0..5 {
        arm(limit).unwrap();
        let t = Instant::now();
        std::thread::sleep(Duration::from_millis(10));
        if t.elapsed() < limit {
            assert!(!expired());
        }
    }
    disarm();
    std::thread::sleep(Duration::from_millis(80));
    assert!(!expired(), "a disarmed deadline fired");

    // Left alone: a read nobody will satisfy returns EINTR.
    let (r, _w) = mpmt_core::sys::fd::pipe().unwrap();
    let armed = Armed::new(Duration::from_millis(30)).unwrap();
    let mut b = [0u8; 1];
    // SAFETY: valid 1-byte buffer; `r` is open. Nothing writes `_w`, so
    // only the watchdog can end this read.
    let n = unsafe { libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
    assert_eq!(n, -1);
    assert_eq!(mpmt_core::sys::errno(), libc::EINTR);
    assert!(expired());
    drop(armed);
    assert!(!expired(), "dropping the guard clears the flag");

    // The signal lands while the thread runs user code (a spin past the
    // deadline, as when it copies the next chunk): the blocking read it
    // enters afterwards must still end with EINTR (the timer fires again
    // every REFIRE), not wait for a peer that never comes. A byte written
    // after 10 s turns a hang into a failed assertion.
    let (r, w) = mpmt_core::sys::fd::pipe().unwrap();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let rescue = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = mpmt_core::sys::fd::write_all_raw(w.as_raw_fd(), b"x");
        }
    });
    let armed = Armed::new(Duration::from_millis(5)).unwrap();
    let t = std::time::Instant::now();
    while !expired() {
        std::hint::spin_loop();
        assert!(t.elapsed() < Duration::from_secs(10), "never expired");
    }
    // SAFETY: as above; only the rescue thread writes, after 10 s.
    let n = unsafe { libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
    assert_eq!(
        (n, mpmt_core::sys::errno()),
        (-1, libc::EINTR),
        "a read entered after the deadline fired was not interrupted"
    );
    drop(armed);
    done.send(()).unwrap();
    rescue.join().unwrap();
}

/// The cause of the fault suite's "had not exec'd" stalls: the parent's own
/// work (verifying 16M elements, building the next run's input) ran under
/// the stall deadline of a measured wait and used it up, so the next wait
/// (a worker's exec) was blamed. Own work pauses the deadline; it restarts
/// fresh afterwards and still ends a wait on nobody.
#[test]
fn own_work_pauses_the_deadline_and_it_restarts_fresh() {
    let _turn = turn();
    let limit = Duration::from_millis(20);
    let armed = Armed::new(limit).unwrap();
    {
        let _own = own_work();
        spin(Duration::from_millis(150));
    }
    let resumed = Instant::now();
    let fired_early = expired();
    if resumed.elapsed() < limit {
        assert!(
            !fired_early,
            "the deadline fired during the harness's own work"
        );
    }
    // Still a deadline: a read nobody satisfies ends with EINTR.
    let (r, _w) = mpmt_core::sys::fd::pipe().unwrap();
    let mut b = [0u8; 1];
    // SAFETY: valid 1-byte buffer; `r` is open; nothing writes `_w`.
    let n = unsafe { libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
    assert_eq!((n, mpmt_core::sys::errno()), (-1, libc::EINTR));
    assert!(expired());
    assert_eq!(bound(), Bound::Stall);
    drop(armed);
}

/// A worker's start has its own limit: a start longer than the stall
/// deadline is not a stall, the case's deadline comes back fresh after it,
/// and a start that outlasts its own limit says it was the start limit.
#[test]
fn a_worker_start_is_bounded_by_the_start_limit_not_the_stall_deadline() {
    let _turn = turn();
    let limit = Duration::from_millis(20);
    let armed = Armed::new(limit).unwrap();
    {
        let _s = starting(Duration::from_secs(30));
        assert_eq!(bound(), Bound::WorkerStart);
        spin(Duration::from_millis(150));
        assert!(!expired(), "the stall deadline fired during a start");
    }
    let back = Instant::now();
    let fired = expired();
    if back.elapsed() < limit {
        assert!(!fired, "the case's deadline did not restart fresh");
    }
    assert_eq!(bound(), Bound::Stall);
    drop(armed);

    let armed = Armed::new(Duration::from_secs(30)).unwrap();
    {
        let _s = starting(Duration::from_millis(5));
        let t = Instant::now();
        while !expired() {
            std::hint::spin_loop();
            assert!(t.elapsed() < Duration::from_secs(30), "never expired");
        }
    }
    assert!(expired(), "an expired start limit was forgotten");
    assert_eq!(bound(), Bound::WorkerStart);
    let msg = mpmt_core::Error::stalled().to_string();
    assert!(
        msg.contains("did not start within") && msg.contains("worker start limit"),
        "{msg}"
    );
    drop(armed);
    assert_eq!(bound(), Bound::Stall);
    assert!(!expired());
}
