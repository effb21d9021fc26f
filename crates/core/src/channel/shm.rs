//! Shared-memory links. One mapping per link: a header line with a `closed`
//! word, then `slots` slots, each a 32-bit state word followed at once by the
//! message bytes (so an 8-byte message and its state share one cache line).
//! The sender writes the message in place and flips the slot to FULL with
//! release ordering; the receiver reads in place and flips it back to EMPTY.
//!
//! `shm-futex` sleeps on the state word with a non-private futex (a waiter
//! sets a WAITING bit so the other side only makes the wake syscall when
//! someone sleeps); `shm-spin` busy-polls it. Waits re-check, every 50 ms
//! (futex) or every 2^14 polls (spin), the `closed` word, the interrupt flag
//! and the watched peers, so a dead peer is an error, not a hang.
//!
//! Mappings are `MAP_SHARED | MAP_POPULATE`: anonymous for threads and
//! `fork` (shared by inheritance), a memfd sealed against shrinking for an
//! exec'd worker (which maps the same fd). A private mapping would silently
//! stop being shared at `fork`.

use super::{ChanError, Channel, ChannelKind, End, ExecFds, LinkOpts, RemoteEnd, Rx, Tx, Watch};
use crate::shm::SharedMem;
use crate::sys::futex::{futex_wait, futex_wake, FutexWait};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const EMPTY: u32 = 0;
pub(crate) const FULL: u32 = 1;
const WAITING: u32 = 2;
const HEADER: usize = 64;
const SLOT_HEADER: usize = 8;
const FUTEX_TIMEOUT: Duration = Duration::from_millis(50);
const SPIN_CHECK_MASK: u32 = (1 << 14) - 1;

/// A shared mapping holding one link.
pub struct Region {
    mem: SharedMem,
    capacity: usize,
    slots: usize,
}

fn stride(capacity: usize) -> usize {
    (SLOT_HEADER + capacity).div_ceil(64) * 64
}

/// Bytes a link with these options maps.
pub fn mapping_bytes(capacity: usize, slots: usize) -> usize {
    HEADER + slots * stride(capacity)
}

impl Region {
    pub(crate) fn new(capacity: usize, slots: usize, for_exec: bool) -> Result<Region, ChanError> {
        let mem = SharedMem::new(mapping_bytes(capacity, slots), for_exec)?;
        Ok(Region {
            mem,
            capacity,
            slots,
        })
    }

    fn attach(fd: OwnedFd, len: usize, capacity: usize, slots: usize) -> Result<Region, ChanError> {
        if len != mapping_bytes(capacity, slots) {
            return Err(ChanError::Os(libc::EINVAL));
        }
        Ok(Region {
            mem: SharedMem::attach(fd, len, true)?,
            capacity,
            slots,
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn slots(&self) -> usize {
        self.slots
    }

    /// Describes the mapping for an exec'd worker: its memfd (kept open
    /// in `carry`) and sizes.
    pub(crate) fn remote(&self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        let fd = self.mem.memfd().ok_or(ChanError::Os(libc::EINVAL))?;
        Ok(RemoteEnd {
            fds: vec![carry.keep(fd.try_clone()?)],
            ipc: None,
            params: vec![
                self.mem.len() as u64,
                self.capacity as u64,
                self.slots as u64,
            ],
        })
    }

    /// Maps the region described by [`Region::remote`] in an exec'd worker.
    pub(crate) fn from_remote(remote: &RemoteEnd) -> Result<Region, ChanError> {
        match (remote.fds.first(), remote.params.as_slice()) {
            (Some(&fd), &[len, capacity, slots]) => Region::attach(
                ExecFds::inherited(fd)?,
                len as usize,
                capacity as usize,
                slots as usize,
            ),
            _ => Err(ChanError::Os(libc::EINVAL)),
        }
    }

    pub(crate) fn closed(&self) -> &AtomicU32 {
        self.mem.atomic_u32(0)
    }

    #[inline]
    pub(crate) fn state(&self, slot: usize) -> &AtomicU32 {
        debug_assert!(slot < self.slots);
        // SAFETY: the slot header lies inside the mapping (slot < slots) and
        // is 64-byte aligned; it is only accessed atomically.
        unsafe {
            &*(self.mem.as_ptr().add(HEADER + slot * stride(self.capacity)) as *const AtomicU32)
        }
    }

    pub(crate) fn data(&self, slot: usize) -> *mut u8 {
        // SAFETY: in bounds as for `state`; the data follows the slot header.
        unsafe {
            self.mem
                .as_ptr()
                .add(HEADER + slot * stride(self.capacity) + SLOT_HEADER)
        }
    }

    pub(crate) fn close(&self) {
        self.closed().store(1, Ordering::SeqCst);
        for s in 0..self.slots {
            futex_wake(self.state(s), i32::MAX);
        }
    }
}

/// One end of a shared-memory link.
struct ShmEnd<const SPIN: bool> {
    region: Arc<Region>,
    next: u64,
    watch: Watch,
    signal_on_drop: bool,
}

impl<const SPIN: bool> ShmEnd<SPIN> {
    /// Waits until `slot`'s full bit equals `want`.
    #[inline]
    fn wait_for(&self, slot: usize, want: u32) -> Result<(), ChanError> {
        let word = self.region.state(slot);
        let mut spins: u32 = 0;
        loop {
            let s = word.load(Ordering::Acquire);
            if s & FULL == want {
                return Ok(());
            }
            if SPIN {
                spins = spins.wrapping_add(1);
                if spins & SPIN_CHECK_MASK == 0 {
                    if let Err(e) = self.check() {
                        // A message that raced the peer's exit still counts.
                        if word.load(Ordering::Acquire) & FULL == want {
                            return Ok(());
                        }
                        return Err(e);
                    }
                }
                std::hint::spin_loop();
                continue;
            }
            self.check()?;
            if s & WAITING == 0
                && word
                    .compare_exchange(s, s | WAITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            if futex_wait(word, s | WAITING, FUTEX_TIMEOUT) == FutexWait::TimedOut
                && !self.watch.alive()
            {
                // Give a final message that raced the exit its chance.
                if word.load(Ordering::Acquire) & FULL == want {
                    return Ok(());
                }
                return Err(ChanError::PeerDied);
            }
        }
    }

    #[inline]
    fn check(&self) -> Result<(), ChanError> {
        if self.region.closed().load(Ordering::Acquire) != 0 {
            return Err(ChanError::Closed);
        }
        if let Some(e) = ChanError::halted() {
            return Err(e);
        }
        if SPIN && !self.watch.alive() {
            return Err(ChanError::PeerDied);
        }
        Ok(())
    }

    #[inline]
    fn publish(&self, slot: usize, value: u32) {
        let old = self.region.state(slot).swap(value, Ordering::Release);
        if old & WAITING != 0 {
            futex_wake(self.region.state(slot), 1);
        }
    }

    fn remote(mut self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        let r = self.region.remote(carry)?;
        self.signal_on_drop = false;
        Ok(r)
    }

    fn from_remote(remote: RemoteEnd) -> Result<Self, ChanError> {
        Ok(ShmEnd {
            region: Arc::new(Region::from_remote(&remote)?),
            next: 0,
            watch: Watch::Nothing,
            signal_on_drop: true,
        })
    }
}

impl<const SPIN: bool> Drop for ShmEnd<SPIN> {
    fn drop(&mut self) {
        if self.signal_on_drop {
            self.region.close();
        }
    }
}

/// Sending end of a shared-memory link.
pub struct ShmTx<const SPIN: bool>(ShmEnd<SPIN>);
/// Receiving end of a shared-memory link.
pub struct ShmRx<const SPIN: bool>(ShmEnd<SPIN>);

macro_rules! end_impl {
    ($T:ident) => {
        impl<const SPIN: bool> End for $T<SPIN> {
            fn release(mut self) {
                self.0.signal_on_drop = false;
            }
            fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
                self.0.remote(carry)
            }
            fn from_remote(remote: RemoteEnd, _: &mut ExecFds) -> Result<Self, ChanError> {
                Ok($T(ShmEnd::from_remote(remote)?))
            }
            fn watch(&mut self, watch: Watch) {
                self.0.watch = watch;
            }
        }
    };
}
end_impl!(ShmTx);
end_impl!(ShmRx);

impl<const SPIN: bool> Tx for ShmTx<SPIN> {
    #[inline]
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError> {
        let e = &mut self.0;
        if len > e.region.capacity {
            return Err(ChanError::TooLarge);
        }
        let slot = (e.next % e.region.slots as u64) as usize;
        e.wait_for(slot, EMPTY)?;
        // SAFETY: the slot is EMPTY, so the receiver no longer reads it and
        // only we (the single sender) write it until we publish FULL; the
        // data area holds `capacity >= len` bytes inside the mapping.
        let buf = unsafe { std::slice::from_raw_parts_mut(e.region.data(slot), len) };
        fill(buf);
        e.publish(slot, FULL);
        e.next += 1;
        Ok(())
    }
}

impl<const SPIN: bool> Rx for ShmRx<SPIN> {
    #[inline]
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError> {
        let e = &mut self.0;
        if len > e.region.capacity {
            return Err(ChanError::TooLarge);
        }
        let slot = (e.next % e.region.slots as u64) as usize;
        e.wait_for(slot, FULL)?;
        // SAFETY: the slot is FULL, so the sender will not touch it until we
        // publish EMPTY; `len <= capacity` bytes lie inside the mapping.
        let buf = unsafe { std::slice::from_raw_parts(e.region.data(slot), len) };
        let out = read(buf);
        e.publish(slot, EMPTY);
        e.next += 1;
        Ok(out)
    }
}

fn link<const SPIN: bool>(opts: LinkOpts) -> Result<(ShmTx<SPIN>, ShmRx<SPIN>), ChanError> {
    let region = Arc::new(Region::new(
        opts.max_message_bytes,
        opts.slots.max(1),
        opts.for_exec,
    )?);
    let end = |r: Arc<Region>| ShmEnd {
        region: r,
        next: 0,
        watch: Watch::Nothing,
        signal_on_drop: true,
    };
    Ok((ShmTx(end(region.clone())), ShmRx(end(region))))
}

/// Shared memory, blocking futex waits.
pub struct ShmFutex;
/// Shared memory, busy polling.
pub struct ShmSpin;

impl Channel for ShmFutex {
    const KIND: ChannelKind = ChannelKind::ShmFutex;
    const BLOCKS: bool = true;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    fn link_bytes(max_message: usize, slots: usize) -> u64 {
        mapping_bytes(max_message, slots) as u64
    }
    fn declared_capacity(max_message: usize, slots: usize) -> Option<u64> {
        Some(max_message as u64 * slots.max(1) as u64)
    }
    type Tx = ShmTx<false>;
    type Rx = ShmRx<false>;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError> {
        link::<false>(opts)
    }
}

impl Channel for ShmSpin {
    const KIND: ChannelKind = ChannelKind::ShmSpin;
    const BLOCKS: bool = false;
    const THREADS_ONLY: bool = false;
    const CROSSES_EXEC: bool = true;
    fn link_bytes(max_message: usize, slots: usize) -> u64 {
        mapping_bytes(max_message, slots) as u64
    }
    fn declared_capacity(max_message: usize, slots: usize) -> Option<u64> {
        Some(max_message as u64 * slots.max(1) as u64)
    }
    type Tx = ShmTx<true>;
    type Rx = ShmRx<true>;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError> {
        link::<true>(opts)
    }
}
