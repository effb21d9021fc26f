//! Futex wait and wake on a 32-bit word, non-private so that it works
//! between processes sharing a mapping as well as between threads.
//! Allocation-free: a forked child may call both.

use super::errno;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

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
