//! Shared-memory links. One mapping per link: a header line with a `closed`
//! word, a line holding the receiver's `taken` count, then the slots. Each
//! slot starts with a 32-bit *stamp* (message n's is n + 1) followed at
//! once by the message bytes, so an 8-byte message and its stamp share one
//! cache line; a slot of two lines (a 64-byte message) repeats the stamp
//! after the message, and the receiver polls both lines, so their
//! transfers overlap. A slot of one line is padded to two: the hardware
//! prefetcher fetches lines in 128-byte pairs, so a receiver polling slot
//! n would otherwise pull slot n + 1 away from the sender about to write
//! it.
//!
//! Every line has one writer. The sender writes the message in place,
//! then the stamps (release); the receiver sees the stamp, reads in
//! place, and advances `taken` in its own line — it never writes the
//! sender's line, so a message costs one line transfer each way, as the
//! cache-line floor does. The sender reads `taken` only when its cached
//! copy says every slot is in use, and a link of small messages has at
//! least [`MIN_SMALL_SLOTS`] slots, so a ping-pong rereads it once every
//! fifteen messages. Each end walks the slots with a cursor (message
//! number and slot offset together), so no message divides by the slot
//! count: three 64-bit divisions a message, after the spin's exit, had
//! cost shm-spin about 5 % of an 8-byte round trip against the C ring.
//!
//! `shm-futex` sleeps on the stamp (receiver) or on `taken` (sender) with
//! a non-private futex, setting the word's WAITING bit first so the other
//! side makes the wake system call only when someone sleeps; `shm-spin`
//! busy-polls them. Waits re-check, every 50 ms (futex) or every 2^14
//! polls (spin), the `closed` word, the interrupt flag and the watched
//! peers, so a dead peer is an error, not a hang.
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

/// The bit of a stamp or `taken` word that says someone sleeps on it.
const WAITING: u32 = 1 << 31;
/// Counts live in the other 31 bits (and wrap).
const COUNT: u32 = WAITING - 1;
const LINE: usize = 64;
/// The `closed` line, then the `taken` line.
const HEADER: usize = 2 * LINE;
const TAKEN: usize = LINE;
const STAMP: usize = 8;
const FUTEX_TIMEOUT: Duration = Duration::from_millis(50);
const SPIN_CHECK_MASK: u32 = (1 << 14) - 1;
/// Messages up to this size get at least [`MIN_SMALL_SLOTS`] slots.
pub const SMALL_MESSAGE: usize = 4096;
pub const MIN_SMALL_SLOTS: usize = 16;

/// The stamp of message `n`.
#[inline]
fn stamp(n: u64) -> u32 {
    (n.wrapping_add(1) as u32) & COUNT
}

/// Slots a link of `capacity`-byte messages has when asked for `slots`.
pub fn slots_for(capacity: usize, slots: usize) -> usize {
    match capacity <= SMALL_MESSAGE {
        true => slots.max(MIN_SMALL_SLOTS),
        false => slots.max(1),
    }
}

/// Lines a slot's stamp, message and tail stamp fill.
#[inline]
fn lines(capacity: usize) -> usize {
    (STAMP + capacity.next_multiple_of(8) + STAMP).div_ceil(LINE)
}

/// Bytes from one slot to the next: its lines, and a one-line slot
/// padded to two.
#[inline]
fn stride(capacity: usize) -> usize {
    lines(capacity).max(2) * LINE
}

/// Bytes a link with these options maps.
pub fn mapping_bytes(capacity: usize, slots: usize) -> usize {
    HEADER + slots_for(capacity, slots) * stride(capacity)
}

/// A shared mapping holding one link.
pub struct Region {
    mem: SharedMem,
    capacity: usize,
    slots: usize,
    /// Bytes from one slot to the next.
    stride: usize,
    /// Offset just past the last slot.
    end: usize,
    /// Offset of the tail stamp in a slot of two lines.
    tail: Option<usize>,
}

/// Where message `n` lives: its number and its slot's offset in the
/// mapping, advanced together, so that no message pays a division for
/// `n % slots` (a 64-bit divide is tens of cycles, several a message, and
/// the ones after a spin's exit sit on the round trip's critical path).
#[derive(Clone, Copy)]
pub(crate) struct Cursor {
    pub(crate) n: u64,
    at: usize,
}

impl Region {
    pub(crate) fn new(capacity: usize, slots: usize, for_exec: bool) -> Result<Region, ChanError> {
        let mem = SharedMem::new(mapping_bytes(capacity, slots), for_exec)?;
        Ok(Region::laid_out(mem, capacity, slots_for(capacity, slots)))
    }

    fn laid_out(mem: SharedMem, capacity: usize, slots: usize) -> Region {
        Region {
            mem,
            capacity,
            slots,
            stride: stride(capacity),
            end: mapping_bytes(capacity, slots),
            tail: (lines(capacity) == 2).then(|| STAMP + capacity.next_multiple_of(8)),
        }
    }

    fn attach(fd: OwnedFd, len: usize, capacity: usize, slots: usize) -> Result<Region, ChanError> {
        if len != mapping_bytes(capacity, slots) || slots != slots_for(capacity, slots) {
            return Err(ChanError::Os(libc::EINVAL));
        }
        Ok(Region::laid_out(
            SharedMem::attach(fd, len, true)?,
            capacity,
            slots,
        ))
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
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

    #[inline]
    pub(crate) fn closed(&self) -> &AtomicU32 {
        self.mem.atomic_u32(0)
    }

    /// The receiver's count of messages taken (its line alone).
    #[inline]
    pub(crate) fn taken(&self) -> &AtomicU32 {
        self.mem.atomic_u32(TAKEN)
    }

    /// Message 0's place.
    #[inline]
    pub(crate) fn first(&self) -> Cursor {
        Cursor { n: 0, at: HEADER }
    }

    /// The place of the message after `c`'s.
    #[inline]
    pub(crate) fn advance(&self, c: &mut Cursor) {
        c.n += 1;
        c.at += self.stride;
        if c.at == self.end {
            c.at = HEADER;
        }
    }

    /// The stamp word of `c`'s slot.
    #[inline]
    pub(crate) fn head(&self, c: Cursor) -> &AtomicU32 {
        self.mem.atomic_u32(c.at)
    }

    /// The slot's second stamp, after the message, when the slot is two
    /// lines (polled beside the first so both lines travel at once).
    #[inline]
    fn tail(&self, c: Cursor) -> Option<&AtomicU32> {
        self.tail.map(|t| self.mem.atomic_u32(c.at + t))
    }

    #[inline]
    pub(crate) fn data(&self, c: Cursor) -> *mut u8 {
        debug_assert!(c.at + STAMP + self.capacity <= self.mem.len());
        // SAFETY: a cursor's offset is a slot's, inside the mapping
        // (`advance` wraps it), and its message bytes follow the stamp.
        unsafe { self.mem.as_ptr().add(c.at + STAMP) }
    }

    /// Receiver: a poll of whether message `c` is in its slot, with the
    /// slot's words found once, not on every poll.
    #[inline]
    pub(crate) fn arrival(&self, c: Cursor) -> impl Fn() -> bool + '_ {
        let want = stamp(c.n);
        let (head, tail) = (self.head(c), self.tail(c));
        move || {
            let h = head.load(Ordering::Acquire) & COUNT;
            match tail {
                // Both loads every poll: both lines are fetched together.
                Some(t) => (t.load(Ordering::Acquire) & COUNT == want) & (h == want),
                None => h == want,
            }
        }
    }

    /// Sender: whether message `n` has a free slot, given the receiver's
    /// `taken` count last seen (reread, and updated, only when it says
    /// every slot is in use).
    #[inline]
    pub(crate) fn has_room(&self, n: u64, seen: &mut u64) -> bool {
        if n - *seen < self.slots as u64 {
            return true;
        }
        let now = self.taken().load(Ordering::Acquire) & COUNT;
        *seen += (now.wrapping_sub(*seen as u32) & COUNT) as u64;
        n - *seen < self.slots as u64
    }

    /// Sender: publishes message `c` (its bytes are written). Returns
    /// whether the receiver had said it sleeps on the stamp.
    #[inline]
    pub(crate) fn publish(&self, c: Cursor, spin: bool) -> bool {
        let v = stamp(c.n);
        if let Some(t) = self.tail(c) {
            t.store(v, Ordering::Release);
        }
        match spin {
            true => {
                self.head(c).store(v, Ordering::Release);
                false
            }
            false => self.head(c).swap(v, Ordering::Release) & WAITING != 0,
        }
    }

    /// Receiver: message `n` is read. Returns whether the sender had said
    /// it sleeps on `taken`.
    #[inline]
    pub(crate) fn take(&self, n: u64, spin: bool) -> bool {
        let v = stamp(n);
        match spin {
            true => {
                self.taken().store(v, Ordering::Release);
                false
            }
            false => self.taken().swap(v, Ordering::Release) & WAITING != 0,
        }
    }

    pub(crate) fn close(&self) {
        self.closed().store(1, Ordering::SeqCst);
        futex_wake(self.taken(), i32::MAX);
        let mut c = self.first();
        for _ in 0..self.slots {
            futex_wake(self.head(c), i32::MAX);
            self.advance(&mut c);
        }
    }
}

/// One end of a shared-memory link.
struct ShmEnd<const SPIN: bool> {
    region: Arc<Region>,
    next: Cursor,
    /// Sender: the receiver's `taken` count last read.
    seen: u64,
    watch: Watch,
    signal_on_drop: bool,
}

impl<const SPIN: bool> ShmEnd<SPIN> {
    /// Waits until `ready()`, sleeping (futex) on `word` with its WAITING
    /// bit set, or polling it (spin).
    #[inline]
    fn wait(&self, word: &AtomicU32, mut ready: impl FnMut() -> bool) -> Result<(), ChanError> {
        let mut spins: u32 = 0;
        loop {
            if ready() {
                return Ok(());
            }
            if SPIN {
                spins = spins.wrapping_add(1);
                if spins & SPIN_CHECK_MASK == 0 {
                    if let Err(e) = self.check() {
                        // A message that raced the peer's exit still counts.
                        if ready() {
                            return Ok(());
                        }
                        return Err(e);
                    }
                }
                std::hint::spin_loop();
                continue;
            }
            if let Err(e) = self.check() {
                // The peer may have published its last message and closed
                // the link between our look and the check: it counts.
                if ready() {
                    return Ok(());
                }
                return Err(e);
            }
            let s = word.load(Ordering::Acquire);
            if s & WAITING == 0
                && word
                    .compare_exchange(s, s | WAITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            // The other side may have moved on between the look and the
            // bit: look again before sleeping (its swap then sees the bit).
            if ready() {
                return Ok(());
            }
            if futex_wait(word, s | WAITING, FUTEX_TIMEOUT) == FutexWait::TimedOut
                && !self.watch.alive()
            {
                // Give a final message that raced the exit its chance.
                if ready() {
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

    fn remote(mut self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError> {
        let r = self.region.remote(carry)?;
        self.signal_on_drop = false;
        Ok(r)
    }

    fn from_remote(remote: RemoteEnd) -> Result<Self, ChanError> {
        let region = Region::from_remote(&remote)?;
        Ok(ShmEnd {
            next: region.first(),
            region: Arc::new(region),
            seen: 0,
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
        let c = e.next;
        let mut seen = e.seen;
        {
            let region: &Region = &e.region;
            e.wait(region.taken(), || region.has_room(c.n, &mut seen))?;
        }
        e.seen = seen;
        // SAFETY: the receiver has taken every earlier message of this
        // slot, so it no longer reads it, and only we (the single sender)
        // write it until we stamp it; the slot holds `capacity >= len`
        // bytes inside the mapping.
        let buf = unsafe { std::slice::from_raw_parts_mut(e.region.data(c), len) };
        fill(buf);
        if e.region.publish(c, SPIN) {
            futex_wake(e.region.head(c), 1);
        }
        e.region.advance(&mut e.next);
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
        let c = e.next;
        {
            let region: &Region = &e.region;
            e.wait(region.head(c), region.arrival(c))?;
        }
        // SAFETY: message n is stamped, so the sender will not touch the
        // slot until we advance `taken`; `len <= capacity` bytes lie
        // inside the mapping.
        let buf = unsafe { std::slice::from_raw_parts(e.region.data(c), len) };
        let out = read(buf);
        if e.region.take(c.n, SPIN) {
            futex_wake(e.region.taken(), 1);
        }
        e.region.advance(&mut e.next);
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
        next: r.first(),
        region: r,
        seen: 0,
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
        Some(max_message as u64 * slots_for(max_message, slots) as u64)
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
        Some(max_message as u64 * slots_for(max_message, slots) as u64)
    }
    type Tx = ShmTx<true>;
    type Rx = ShmRx<true>;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError> {
        link::<true>(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor walks the slots in order and wraps after the last: at
    /// message n it is at slot n % slots, for one- and two-line slots, the
    /// fewest slots a link has and a count that is not a power of two.
    #[test]
    fn cursor_is_slot_n_mod_slots() {
        for (capacity, slots) in [(8, 16), (64, 16), (4096, 16), (65536, 3), (65536, 1)] {
            let r = Region::new(capacity, slots, false).expect("region");
            let slots = r.slots;
            let mut c = r.first();
            for n in 0..3 * slots as u64 + 1 {
                assert_eq!(c.n, n);
                let want = HEADER + (n % slots as u64) as usize * stride(capacity);
                assert_eq!(
                    c.at, want,
                    "capacity {capacity}, slots {slots}, message {n}"
                );
                assert!(c.at + stride(capacity) <= r.mem.len());
                r.advance(&mut c);
            }
        }
    }
}
