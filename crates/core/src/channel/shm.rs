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

use super::{ChanError, Channel, ChannelKind, End, LinkOpts, RemoteEnd, Rx, Tx, Watch};
use crate::shmem::SharedMem;
use crate::signal::interrupted;
use crate::sys::{futex_wait, futex_wake, FutexWait};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const EMPTY: u32 = 0;
const FULL: u32 = 1;
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
    fn new(capacity: usize, slots: usize, for_exec: bool) -> Result<Region, ChanError> {
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

    fn closed(&self) -> &AtomicU32 {
        self.mem.atomic_u32(0)
    }

    #[inline]
    fn state(&self, slot: usize) -> &AtomicU32 {
        debug_assert!(slot < self.slots);
        // SAFETY: the slot header lies inside the mapping (slot < slots) and
        // is 64-byte aligned; it is only accessed atomically.
        unsafe {
            &*(self.mem.as_ptr().add(HEADER + slot * stride(self.capacity)) as *const AtomicU32)
        }
    }

    fn data(&self, slot: usize) -> *mut u8 {
        // SAFETY: in bounds as for `state`; the data follows the slot header.
        unsafe {
            self.mem
                .as_ptr()
                .add(HEADER + slot * stride(self.capacity) + SLOT_HEADER)
        }
    }

    fn close(&self) {
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
        if interrupted() {
            return Err(ChanError::Interrupted);
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

    fn remote(self) -> Result<(RemoteEnd, Option<OwnedFd>), ChanError> {
        let r = &self.region;
        let fd = r.mem.memfd().ok_or(ChanError::Os(libc::EINVAL))?;
        let dup = fd.try_clone()?;
        let remote = RemoteEnd::Shm {
            fd: dup.as_raw_fd(),
            len: r.mem.len() as u64,
            capacity: r.capacity as u64,
            slots: r.slots as u32,
        };
        let mut me = self;
        me.signal_on_drop = false;
        Ok((remote, Some(dup)))
    }

    fn from_remote(remote: RemoteEnd) -> Result<Self, ChanError> {
        match remote {
            RemoteEnd::Shm {
                fd,
                len,
                capacity,
                slots,
            } => {
                // SAFETY: the parent cleared CLOEXEC on exactly this fd for us
                // alone; nothing else in this process owns it.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                let region = Region::attach(fd, len as usize, capacity as usize, slots as usize)?;
                Ok(ShmEnd {
                    region: Arc::new(region),
                    next: 0,
                    watch: Watch::Nothing,
                    signal_on_drop: true,
                })
            }
            _ => Err(ChanError::Os(libc::EINVAL)),
        }
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
            fn into_remote(self) -> Result<(RemoteEnd, Option<OwnedFd>), ChanError> {
                self.0.remote()
            }
            fn from_remote(remote: RemoteEnd) -> Result<Self, ChanError> {
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
    type Tx = ShmTx<false>;
    type Rx = ShmRx<false>;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError> {
        link::<false>(opts)
    }
}

impl Channel for ShmSpin {
    const KIND: ChannelKind = ChannelKind::ShmSpin;
    type Tx = ShmTx<true>;
    type Rx = ShmRx<true>;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError> {
        link::<true>(opts)
    }
}
