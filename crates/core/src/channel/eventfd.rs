//! `eventfd`: the shared-memory link of [`super::shm`] (message written and
//! read in place, a stamp per slot, the receiver's `taken` count in its own
//! line), but a waiter blocks in `poll` + `read` on an eventfd instead of a
//! futex: one eventfd says "a message was stamped" (the sender writes it,
//! the receiver waits on it), the other "a message was taken". Every
//! publish writes the eventfd, waiter or not — the cost of being woken
//! through a file descriptor.
//!
//! A wait re-checks the state word after every wake-up, so a stale count
//! left in an eventfd only costs a spurious loop. Waits time out every
//! [`RECHECK`] to look at the `closed` word, interrupts and the watched
//! peers. Threads share the eventfds, `fork` inherits them, an exec'd worker
//! receives them with the memfd.

use super::shm::{slots_for, Cursor, Region};
use super::{ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx, Watch};
use crate::sys::errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const RECHECK: Duration = Duration::from_millis(50);

fn eventfd() -> Result<OwnedFd, ChanError> {
    // SAFETY: eventfd creates a new descriptor; no memory is passed.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(ChanError::Os(errno()));
    }
    // SAFETY: eventfd succeeded, so `fd` is open and ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to the eventfd's counter (wakes a waiter).
fn signal(fd: &OwnedFd) {
    let one = 1u64.to_ne_bytes();
    // The only failure is a full counter (2^64 − 2 pending wakes), which
    // still leaves it readable: nothing to handle.
    let _ = crate::sys::fd::write_all_raw(fd.as_raw_fd(), &one);
}

/// Waits up to [`RECHECK`] for the eventfd to be readable, then resets it.
/// False if the wait timed out.
fn wait(fd: &OwnedFd) -> Result<bool, ChanError> {
    match crate::sys::fd::poll_readable(fd, RECHECK) {
        Ok(true) => {}
        Ok(false) => return Ok(false),
        Err(e) => return Err(ChanError::halted().unwrap_or_else(|| e.into())),
    }
    {
        let mut buf = [0u8; 8];
        // SAFETY: an 8-byte buffer, as eventfd reads require.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        if n < 0 && errno() != libc::EINTR && errno() != libc::EAGAIN {
            return Err(ChanError::Os(errno()));
        }
    }
    Ok(true)
}

/// One end of an eventfd link.
struct EvEnd {
    region: Arc<Region>,
    /// Written when a slot becomes FULL.
    full: Arc<OwnedFd>,
    /// Written when a slot becomes EMPTY.
    empty: Arc<OwnedFd>,
    next: Cursor,
    /// Sender: the receiver's `taken` count last read.
    seen: u64,
    watch: Watch,
    signal_on_drop: bool,
}

impl EvEnd {
    /// Waits until `ready()`, sleeping on `efd`.
    fn wait(&self, efd: &OwnedFd, mut ready: impl FnMut() -> bool) -> Result<(), ChanError> {
        loop {
            if ready() {
                return Ok(());
            }
            if self.region.closed().load(Ordering::Acquire) != 0 {
                // The peer may have published its last message and closed
                // the link between our look and this one: it counts.
                return match ready() {
                    true => Ok(()),
                    false => Err(ChanError::Closed),
                };
            }
            if let Some(e) = ChanError::halted() {
                return Err(e);
            }
            if !wait(efd)? && !self.watch.alive() {
                // A message that raced the peer's exit still counts.
                if ready() {
                    return Ok(());
                }
                return Err(ChanError::PeerDied);
            }
        }
    }

    fn remote(mut self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        let mut r = self.region.remote(carry)?;
        r.fds.push(carry.keep(self.full.try_clone()?));
        r.fds.push(carry.keep(self.empty.try_clone()?));
        self.signal_on_drop = false;
        Ok(r)
    }

    fn from_remote(remote: RemoteEnd) -> Result<EvEnd, ChanError> {
        let (full, empty) = match remote.fds.as_slice() {
            [_, full, empty] => (ExecFds::inherited(*full)?, ExecFds::inherited(*empty)?),
            _ => return Err(ChanError::Os(libc::EINVAL)),
        };
        let region = Region::from_remote(&remote)?;
        Ok(EvEnd {
            next: region.first(),
            region: Arc::new(region),
            full: Arc::new(full),
            empty: Arc::new(empty),
            seen: 0,
            watch: Watch::Nothing,
            signal_on_drop: true,
        })
    }
}

impl Drop for EvEnd {
    fn drop(&mut self) {
        if self.signal_on_drop {
            self.region.close();
            signal(&self.full);
            signal(&self.empty);
        }
    }
}

/// Sending end of an eventfd link.
pub struct EvTx(EvEnd);
/// Receiving end of an eventfd link.
pub struct EvRx(EvEnd);

macro_rules! end_impl {
    ($T:ident) => {
        impl End for $T {
            fn release(mut self) {
                self.0.signal_on_drop = false;
            }
            fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
                self.0.remote(carry)
            }
            fn from_remote(remote: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
                Ok($T(EvEnd::from_remote(remote)?))
            }
            fn watch(&mut self, watch: Watch) {
                self.0.watch = watch;
            }
        }
    };
}
end_impl!(EvTx);
end_impl!(EvRx);

impl Tx for EvTx {
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError> {
        let e = &mut self.0;
        if len > e.region.capacity() {
            return Err(ChanError::TooLarge);
        }
        let c = e.next;
        let mut seen = e.seen;
        {
            let region: &Region = &e.region;
            e.wait(&e.empty, || region.has_room(c.n, &mut seen))?;
        }
        e.seen = seen;
        // SAFETY: the receiver has taken every earlier message of this
        // slot, so it no longer reads it, and only this (single) sender
        // writes it until it stamps it; the slot holds `capacity >= len`
        // bytes inside the mapping.
        let buf = unsafe { std::slice::from_raw_parts_mut(e.region.data(c), len) };
        fill(buf);
        e.region.publish(c, true);
        signal(&e.full);
        e.region.advance(&mut e.next);
        Ok(())
    }
}

impl Rx for EvRx {
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        let e = &mut self.0;
        if len > e.region.capacity() {
            return Err(ChanError::TooLarge);
        }
        let c = e.next;
        {
            let region: &Region = &e.region;
            e.wait(&e.full, region.arrival(c))?;
        }
        // SAFETY: message n is stamped, so the sender will not touch the
        // slot until this end advances `taken`; `len <= capacity` bytes
        // lie inside.
        let buf = unsafe { std::slice::from_raw_parts(e.region.data(c), len) };
        let out = read(buf);
        e.region.take(c.n, true);
        signal(&e.empty);
        e.region.advance(&mut e.next);
        Ok(out)
    }
}

/// Shared memory, woken through eventfds.
pub struct Eventfd;

impl Channel for Eventfd {
    const KIND: ChannelKind = ChannelKind::Eventfd;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    /// Its messages sit in a shared mapping laid out as shm's.
    fn link_bytes(max_message: usize, slots: usize) -> u64 {
        super::shm::mapping_bytes(max_message, slots) as u64
    }
    fn declared_capacity(max_message: usize, slots: usize) -> Option<u64> {
        Some(max_message as u64 * slots_for(max_message, slots) as u64)
    }
    type Tx = EvTx;
    type Rx = EvRx;
    fn link(opts: LinkOpts) -> Result<(EvTx, EvRx), ChanError> {
        let region = Arc::new(Region::new(
            opts.max_message_bytes,
            opts.slots.max(1),
            opts.for_exec,
        )?);
        let (full, empty) = (Arc::new(eventfd()?), Arc::new(eventfd()?));
        let end = || EvEnd {
            region: region.clone(),
            full: full.clone(),
            empty: empty.clone(),
            next: region.first(),
            seen: 0,
            watch: Watch::Nothing,
            signal_on_drop: true,
        };
        Ok((EvTx(end()), EvRx(end())))
    }
}
