//! An interrupt wakes the measuring thread wherever it is blocked, even
//! when the signal is delivered to another thread (as a process-directed
//! SIGINT may be): the handler kicks that thread's deadline timer. In a
//! process of its own: the interrupt flag is process-wide and sticky.

use mpmt_core::sys::signal;
use mpmt_core::sys::watchdog::{expired, Armed};
use std::os::fd::AsRawFd;
use std::time::Duration;

#[test]
fn sigint_delivered_elsewhere_ends_a_blocked_read_of_the_measuring_thread() {
    signal::install().unwrap();
    // SAFETY: sigset operations on a local set; blocking SIGINT in this
    // thread only, so the kernel delivers it to the helper thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            0
        );
    }
    let (r, w) = mpmt_core::sys::fd::pipe().unwrap();
    // A deadline far away: only the kick can end the read in time.
    let armed = Armed::new(Duration::from_secs(30)).unwrap();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: signalling our own process; the handler is installed.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
        // A hang becomes a failed assertion after 10 s.
        if finished.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = mpmt_core::sys::fd::write_all_raw(w.as_raw_fd(), b"x");
        }
    });
    let mut b = [0u8; 1];
    // SAFETY: valid 1-byte buffer; `r` is open.
    let n = unsafe { libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
    assert_eq!(
        (n, mpmt_core::sys::errno()),
        (-1, libc::EINTR),
        "the interrupt did not end the measuring thread's read"
    );
    assert!(signal::interrupted());
    assert_eq!(signal::halted(), Some(signal::Halt::Interrupted));
    assert!(!expired(), "an interrupt is not a stall");
    drop(armed);
    done.send(()).unwrap();
    sender.join().unwrap();
}
