//! A channel's capacity: the bytes a link holds in flight before its
//! sender blocks. A shared-memory or heap link knows it by construction
//! (its slots); a kernel channel's depends on the kernel's accounting (a
//! pipe's size, a socket's send buffer and per-message overhead, a
//! queue's length), so it is measured: a thread sends messages into a
//! fresh link nobody reads until the kernel puts it to sleep, and the
//! bytes it got in are the capacity. A stream is then sized so that this
//! buffer is a small share of it, whatever the kernel's settings.
//!
//! Measured once per process and (channel, message size, slots), outside
//! every timed region.

use super::pattern::{self, SALT_REQUEST};
use super::{ChanError, Channel, ChannelKind, LinkOpts, Rx, Tx};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a sender must stay asleep, its count unchanged, to count as
/// blocked.
const SETTLE: Duration = Duration::from_millis(3);
/// How long a measurement may take before the channel counts as never
/// blocking.
const LIMIT: Duration = Duration::from_secs(5);
/// Smallest message tried when not even one message of the asked size
/// fits (a 1 MiB write into a 64 KiB pipe blocks partway).
const SMALLEST: usize = 4096;

type Key = (ChannelKind, usize, usize);
static CACHE: Mutex<Option<HashMap<Key, u64>>> = Mutex::new(None);

/// Bytes a link of `kind` holds in flight for messages of `message`
/// bytes, `slots` in flight (see the module).
pub fn capacity(kind: ChannelKind, message: usize, slots: usize) -> Result<u64, ChanError> {
    let key = (kind, message, slots);
    if let Some(&c) = CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&key)
    {
        return Ok(c);
    }
    let c = crate::with_channel!(kind, C => capacity_of::<C>(message, slots))?;
    CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, c);
    Ok(c)
}

fn capacity_of<C: Channel>(message: usize, slots: usize) -> Result<u64, ChanError> {
    if let Some(c) = C::declared_capacity(message, slots) {
        return Ok(c);
    }
    let opts = LinkOpts {
        max_message_bytes: message,
        slots,
        for_exec: false,
    };
    let mut size = message;
    loop {
        let n = fill_until_blocked::<C>(opts, size)?;
        if n > 0 || size <= SMALLEST {
            return Ok(n * size as u64);
        }
        size = (size / 16).max(SMALLEST);
    }
}

/// The scheduler state of thread `tid` of this process ('S': asleep).
fn thread_state(tid: i32) -> Option<u8> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The state follows the command name's closing parenthesis.
    s.rsplit_once(')')?.1.trim_start().bytes().next()
}

/// Messages of `size` bytes a sender gets into a fresh, unread link
/// before it sleeps.
fn fill_until_blocked<C: Channel>(opts: LinkOpts, size: usize) -> Result<u64, ChanError> {
    let (mut tx, mut rx) = C::link(opts)?;
    let sent = Arc::new(AtomicU64::new(0));
    let tid = Arc::new(AtomicI32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (s, t, halt) = (sent.clone(), tid.clone(), stop.clone());
    let sender = std::thread::Builder::new()
        .name("mpmt-capacity".into())
        .spawn(move || {
            // SAFETY: gettid has no arguments and cannot fail.
            t.store(
                unsafe { libc::syscall(libc::SYS_gettid) } as i32,
                Ordering::Release,
            );
            let mut i = 0u64;
            while !halt.load(Ordering::Acquire) {
                if tx
                    .send(size, |b| pattern::fill_header(b, i, SALT_REQUEST))
                    .is_err()
                {
                    return;
                }
                i += 1;
                s.store(i, Ordering::Release);
            }
        })?;
    let start = Instant::now();
    let mut last = (u64::MAX, Instant::now());
    let outcome = loop {
        std::thread::sleep(Duration::from_micros(500)); // untimed: before the case, polling whether the sender sleeps
        let n = sent.load(Ordering::Acquire);
        let t = tid.load(Ordering::Acquire);
        let asleep = t != 0 && thread_state(t) == Some(b'S');
        if !asleep || n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() >= SETTLE {
            break Ok(n);
        }
        if let Some(e) = ChanError::halted() {
            break Err(e);
        }
        if start.elapsed() > LIMIT || sender.is_finished() {
            break Err(ChanError::Os(libc::ETIMEDOUT));
        }
    };
    // The sender stops after the send it is blocked in, which the reader
    // lets through; a queue has no closed end (mq), so dropping the
    // reader alone would leave it blocked. Once the sender is gone (its
    // end dropped), a read returns Closed rather than wait.
    stop.store(true, Ordering::Release);
    while !sender.is_finished() {
        if rx.recv(size, |_| ()).is_err() {
            break;
        }
    }
    drop(rx);
    let _ = sender.join();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_holds_its_size_and_shared_memory_its_slots() {
        // A fresh pipe holds 16 pages (pipe(7)); a 4 KiB message fills one.
        let pipe_size = {
            let mut fds = [0i32; 2];
            // SAFETY: a valid two-int array for pipe's out-parameter.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: fds[1] is the pipe just made; F_GETPIPE_SZ only reads.
            let n = unsafe { libc::fcntl(fds[1], libc::F_GETPIPE_SZ) };
            // SAFETY: both fds are ours and closed once.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            n as u64
        };
        assert_eq!(capacity(ChannelKind::Pipe, 4096, 2).unwrap(), pipe_size);
        // A 1 MiB message never fits whole: measured with smaller ones.
        assert_eq!(capacity(ChannelKind::Pipe, 1 << 20, 2).unwrap(), pipe_size);
        assert_eq!(
            capacity(ChannelKind::ShmFutex, 65536, 2).unwrap(),
            2 * 65536
        );
        assert!(capacity(ChannelKind::UnixSocket, 65536, 2).unwrap() >= 65536);
        // A queue has no closed end: the measurement must still finish.
        let mq = capacity(ChannelKind::Mq, 4096, 2).unwrap();
        assert!(mq >= 4096 && mq.is_multiple_of(4096), "{mq}");
    }
}
