//! File-descriptor plumbing with raw syscalls: close-on-exec pipes and
//! socketpairs, clearing CLOEXEC for an exec'd worker, whole reads and
//! writes that retry on EINTR, and a bounded wait for readability.
//! Allocation-free: a forked child may use all of it.

use super::errno;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A pipe pair `(read, write)`, close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid 2-element array for the kernel to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by us alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A connected AF_UNIX SOCK_STREAM pair, close-on-exec.
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    socketpair_of(libc::SOCK_STREAM)
}

/// An AF_UNIX socketpair of type `ty` (`SOCK_STREAM`, `SOCK_SEQPACKET`),
/// close-on-exec.
pub fn socketpair_of(ty: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid 2-element array for the kernel to fill.
    let r =
        unsafe { libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded, so both fds are open and owned by us alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Clears FD_CLOEXEC so `fd` survives exec. Async-signal-safe (used in
/// `pre_exec`).
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer fd; an invalid fd yields EBADF.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Sets FD_CLOEXEC: `fd` is closed on exec (an inherited fd that must not
/// pass on to what this process execs in turn).
pub fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer fd; an invalid fd yields EBADF.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Writes all of `buf` to `fd` with raw syscalls, retrying on EINTR.
pub fn write_all_raw(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid readable slice for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(io::Error::last_os_error());
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes from `fd` with raw syscalls, retrying
/// on EINTR. False on end-of-file or an error.
pub fn read_exact_raw(fd: RawFd, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: valid writable buffer of the remaining length.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        got += n as usize;
    }
    true
}

/// Waits until `fd` is readable or `timeout` passes. Returns true if
/// readable (or hung up); EINTR when an interrupt or the stall deadline
/// cut the wait short.
pub fn poll_readable(fd: &impl AsRawFd, timeout: Duration) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // Once the run has given up, only look: never block.
    let halted = super::signal::halted().is_some();
    let ms = if halted {
        0
    } else {
        timeout.as_millis().min(i32::MAX as u128) as i32
    };
    loop {
        // SAFETY: `p` is a valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            if errno() == libc::EINTR && super::signal::halted().is_none() {
                continue;
            }
            return Err(io::Error::last_os_error());
        }
        if r == 0 && halted {
            return Err(io::Error::from_raw_os_error(libc::EINTR));
        }
        return Ok(r > 0);
    }
}
