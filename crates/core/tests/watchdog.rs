//! The stall watchdog in a process of its own (its `expired` flag is
//! process-wide, so it must not share a test binary with other waits).

use mpmt_core::sys::watchdog::{arm, disarm, expired, Armed};
use std::os::fd::AsRawFd;
use std::time::Duration;

#[test]
fn deadline_interrupts_a_blocked_read_and_rearming_keeps_it_quiet() {
    // Re-armed before it can fire: never expires.
    for _ in 0..5 {
        arm(Duration::from_millis(60)).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!expired());
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
