//! Channels: how workers talk. A *link* is one unidirectional, ordered,
//! message-at-a-time connection with a sending end ([`Tx`]) and a receiving
//! end ([`Rx`]). Every message of a link has the length both sides agreed
//! on; the sender writes it in place through `fill` and the receiver reads it
//! in place through `read`, so zero-copy channels (shared memory, heap) are
//! not charged a copy that the design does not need, and copying channels
//! (pipes, sockets, ipc-channel) pay exactly the copies they make.
//!
//! Contract, tested for every implementation by the conformance suite:
//! - `send` returns once the message is handed to the channel; `recv`
//!   returns only a whole message, in order.
//! - A peer that dropped its end (or died) makes a blocked `send`/`recv`
//!   return [`ChanError::Closed`] or [`ChanError::PeerDied`], never hang.
//! - An interrupt (SIGINT/SIGTERM) makes a blocked call return
//!   [`ChanError::Interrupted`].
//! - Ends can be moved to a thread, inherited across `fork` (then the parent
//!   calls [`End::release`] on the copies it handed over), or turned into a
//!   [`RemoteEnd`] for an exec'd worker (what crosses exec besides the
//!   description, fds and ipc-channel handles, goes in a [`ExecFds`]).
//!
//! Each channel declares its capabilities as constants on [`Channel`]
//! (`BLOCKS`, `THREADS_ONLY`, `CROSSES_EXEC`); every rule about which backend, workload or
//! placement a channel fits is derived from them ([`caps`], [`valid_for`]).
//! [`with_channel!`] is the registry: one line per channel, the only place
//! that maps a [`ChannelKind`] to its type.

pub mod capacity;
pub mod eventfd;
pub mod fd;
pub mod heap;
pub mod ipc;
pub mod mq;
pub mod pattern;
pub mod shm;

pub use crate::error::ChanError;
use mpmt_schema::Backend;
pub use mpmt_schema::Channel as ChannelKind;
use serde::{Deserialize, Serialize};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

/// Who a blocking wait should check on while it waits, so a peer that dies
/// without closing its end (SIGKILL on a shared-memory link) is noticed.
#[derive(Clone, Default)]
pub enum Watch {
    /// Nothing to watch (the peer signals closure itself, or a parent-death
    /// signal takes care of us).
    #[default]
    Nothing,
    /// Child processes of this process; an abnormal exit is a failure (a
    /// clean exit only follows the stop message).
    Children(Arc<[i32]>),
}

impl Watch {
    /// True while every watched peer is alive.
    pub fn alive(&self) -> bool {
        match self {
            Watch::Nothing => true,
            Watch::Children(pids) => !pids.iter().any(|&p| crate::sys::child::child_failed(p)),
        }
    }
}

/// An end described for an exec'd worker: the numbers of the fds it
/// inherits, the slot of an ipc-channel handle in the [`ExecFds`], and the
/// channel's own parameters (sizes). Each channel reads back what it wrote.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RemoteEnd {
    pub fds: Vec<i32>,
    pub ipc: Option<usize>,
    pub params: Vec<u64>,
}

/// What crosses exec beside a job's description: fds the worker inherits
/// (parent side: kept open until the worker is spawned, then closed) and
/// ipc-channel handles, which travel inside the bootstrap message.
#[derive(Default)]
pub struct ExecFds {
    pub fds: Vec<OwnedFd>,
    pub ipc_tx: Vec<Option<ipc_channel::ipc::IpcBytesSender>>,
    pub ipc_rx: Vec<Option<ipc_channel::ipc::IpcBytesReceiver>>,
}

impl ExecFds {
    /// Parent side: keeps `fd` open for the worker to inherit; returns the
    /// number the worker will find it at.
    pub fn keep(&mut self, fd: OwnedFd) -> i32 {
        use std::os::fd::AsRawFd;
        let n = fd.as_raw_fd();
        self.fds.push(fd);
        n
    }

    /// Worker side: takes ownership of inherited fd `n`, checking it is open.
    pub fn inherited(n: i32) -> Result<OwnedFd, ChanError> {
        // SAFETY: fcntl(F_GETFD) only queries the descriptor's flags.
        if n < 0 || unsafe { libc::fcntl(n, libc::F_GETFD) } < 0 {
            return Err(ChanError::Os(libc::EBADF));
        }
        // This process's alone: not passed on to what it execs in turn
        // (the create workload's creator execs and spawns).
        crate::sys::fd::set_cloexec(n)
            .map_err(|e| ChanError::Os(e.raw_os_error().unwrap_or(libc::EBADF)))?;
        // SAFETY: the parent cleared CLOEXEC on exactly this fd and handed
        // it to this worker alone; nothing else in this process owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(n) })
    }
}

/// What every end can do besides moving messages.
pub trait End: Send + Sized + 'static {
    /// Drops this copy of an end that now lives in another process, without
    /// telling the peer anything (the other process still holds it).
    fn release(self) {
        drop(self)
    }
    /// Describes this end for an exec'd worker, putting what must cross
    /// exec in `carry`.
    fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteEnd, ChanError>;
    /// Rebuilds an end in an exec'd worker.
    fn from_remote(remote: RemoteEnd, carry: &mut ExecFds) -> Result<Self, ChanError>;
    /// Sets what blocking waits check on.
    fn watch(&mut self, _watch: Watch) {}
}

/// The sending end of a link.
pub trait Tx: End {
    /// Sends one message of `len` bytes, written in place by `fill`.
    fn send<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> Result<(), ChanError>;
}

/// The receiving end of a link.
pub trait Rx: End {
    /// Receives one message of `len` bytes and hands it to `read` in place.
    fn recv<R, F: FnOnce(&[u8]) -> R>(&mut self, len: usize, read: F) -> Result<R, ChanError>;
}

/// Link options: the largest message and how many may be in flight.
#[derive(Debug, Clone, Copy)]
pub struct LinkOpts {
    pub max_message_bytes: usize,
    /// Messages the sender may publish before the receiver takes one
    /// (shared memory and heap only; kernel channels buffer as they do).
    pub slots: usize,
    /// The link will be handed to an exec'd worker (shared memory must then
    /// be a memfd rather than an anonymous mapping).
    pub for_exec: bool,
}

/// A kind of channel: a factory of links, with its capabilities.
pub trait Channel: 'static {
    const KIND: ChannelKind;
    /// A receiver waiting for a message blocks in the kernel (and so gives
    /// up its CPU) rather than spinning.
    const BLOCKS: bool;
    /// Only threads of one process can share it (it cannot cross fork or
    /// exec).
    const THREADS_ONLY: bool;
    /// An exec'd worker can rebuild an end from its [`RemoteEnd`].
    const CROSSES_EXEC: bool;
    /// See [`Caps::copies`].
    const COPIES: bool = false;
    /// The largest message a link can carry, if the kernel bounds it
    /// here (read at run time: a message queue's `msgsize_max`).
    fn max_message_bytes() -> Option<usize> {
        None
    }
    /// Bytes one link holds at most for messages of `max_message` bytes,
    /// `slots` in flight: by default a sender's and a receiver's buffer per
    /// slot (and the kernel's or the heap's in-flight copies); a shared
    /// mapping says its own size.
    fn link_bytes(max_message: usize, slots: usize) -> u64 {
        2 * max_message as u64 * slots as u64
    }
    /// Bytes a link holds in flight before its sender blocks, for
    /// messages of `max_message` bytes and `slots` in flight, when the
    /// channel knows it by construction; None: the kernel decides, and
    /// [`capacity::capacity`] measures it.
    fn declared_capacity(_max_message: usize, _slots: usize) -> Option<u64> {
        None
    }
    type Tx: Tx;
    type Rx: Rx;
    fn link(opts: LinkOpts) -> Result<(Self::Tx, Self::Rx), ChanError>;
}

/// A channel's capabilities, read off its [`Channel`] constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub blocks: bool,
    /// The kernel copies each message: a send moves its bytes whether or
    /// not the sender wrote them (pipe, socket), so a stream of untouched
    /// buffers measures the transfer alone.
    pub copies: bool,
    pub threads_only: bool,
    pub crosses_exec: bool,
    /// The largest message a link carries, if bounded.
    pub max_message: Option<usize>,
}

fn caps_of<C: Channel>() -> Caps {
    Caps {
        blocks: C::BLOCKS,
        copies: C::COPIES,
        threads_only: C::THREADS_ONLY,
        crosses_exec: C::CROSSES_EXEC,
        max_message: C::max_message_bytes(),
    }
}

/// Bytes one link of `kind` holds at most (see [`Channel::link_bytes`]).
pub fn link_bytes(kind: ChannelKind, max_message: usize, slots: usize) -> u64 {
    crate::with_channel!(kind, C => C::link_bytes(max_message, slots))
}

/// The capabilities of `kind`.
pub fn caps(kind: ChannelKind) -> Caps {
    crate::with_channel!(kind, C => caps_of::<C>())
}

/// Whether workers born by `backend` can talk over `kind`.
pub fn valid_for(backend: Backend, kind: ChannelKind) -> bool {
    let c = caps(kind);
    match backend {
        Backend::Thread => true,
        Backend::Fork => !c.threads_only,
        Backend::Spawn => !c.threads_only && c.crosses_exec,
    }
}

/// Every channel workers born by `backend` can use, in listing order.
pub fn channels_for(backend: Backend) -> Vec<ChannelKind> {
    ChannelKind::ALL
        .iter()
        .copied()
        .filter(|&c| valid_for(backend, c))
        .collect()
}

/// The registry: calls `$body` with the type `C: Channel` matching `kind`.
/// Adding a channel adds one line here.
#[macro_export]
macro_rules! with_channel {
    ($kind:expr, $C:ident => $body:expr) => {
        match $kind {
            $crate::channel::ChannelKind::Pipe => {
                type $C = $crate::channel::fd::Pipe;
                $body
            }
            $crate::channel::ChannelKind::UnixSocket => {
                type $C = $crate::channel::fd::UnixSocket;
                $body
            }
            $crate::channel::ChannelKind::Seqpacket => {
                type $C = $crate::channel::fd::Seqpacket;
                $body
            }
            $crate::channel::ChannelKind::ShmFutex => {
                type $C = $crate::channel::shm::ShmFutex;
                $body
            }
            $crate::channel::ChannelKind::ShmSpin => {
                type $C = $crate::channel::shm::ShmSpin;
                $body
            }
            $crate::channel::ChannelKind::IpcChannel => {
                type $C = $crate::channel::ipc::IpcChannel;
                $body
            }
            $crate::channel::ChannelKind::Heap => {
                type $C = $crate::channel::heap::Heap;
                $body
            }
            $crate::channel::ChannelKind::Eventfd => {
                type $C = $crate::channel::eventfd::Eventfd;
                $body
            }
            $crate::channel::ChannelKind::Mq => {
                type $C = $crate::channel::mq::Mq;
                $body
            }
        }
    };
}

/// A message buffer: page-aligned, backed by real pages from the start, and
/// its own mapping, followed by an inaccessible guard page.
///
/// Real pages: `vec![0; n]` is calloc, whose large blocks are fresh
/// mappings, so a sender that never writes past a chunk's header has the
/// kernel copy from the shared zero page, which no real sender does (the
/// C loop writes its buffer once, as lmbench's `bw_pipe` does). At 1 MiB
/// over a unix socket on one CPU that read 4.1-4.8 GB/s against 4.8-5.2
/// with real pages, paired (2026-12-02). Written with a byte other than
/// zero so nothing reads it as the zero page.
///
/// Page-aligned: the kernel's copy runs at a speed that depends on where
/// in a page the buffer starts (the C loop's pipe stream at 64 KiB read
/// 3.5 and 4.2 GB/s at offset 16 against 4.1 and 4.5 at 0), and malloc
/// puts a small buffer anywhere and a large one 16 bytes into a page:
/// both tools start their buffers on a page, so neither's figure is
/// the luck of its allocator.
///
/// A guard page after it, not a neighbour's: the kernel's copy into a
/// buffer that ends on a page runs slower when the next page is mapped
/// but not writable, as a neighbour inherited copy-on-write across
/// `fork` is in the child until the child writes it. A forked member's
/// mq receive of 4 KiB messages on one CPU read 3.2-3.6 GB/s with the
/// heap page after its buffer shared with the parent, 4.1-4.3 with that
/// page written once by the member (so its own) or with the buffer first
/// in a mapping of its own, against the C loop's 3.7-4.4; the C loop
/// itself read 4.36-4.44 with an untouched page after its buffer and
/// 4.10-4.13 with that page written before its fork (2026-12-03,
/// validation.md). With a guard page of its own, no buffer's speed
/// depends on what its allocator put after it, in any backend.
pub struct PageBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: a PageBuf owns its mapping alone, as a Vec<u8> owns its block.
unsafe impl Send for PageBuf {}
// SAFETY: shared access only reads through `&[u8]`.
unsafe impl Sync for PageBuf {}

impl PageBuf {
    const PAGE: usize = 4096;

    /// Bytes of the readable and writable part for `n` bytes: whole pages,
    /// at least one (an empty buffer still owns a page).
    fn body(n: usize) -> usize {
        n.max(1).next_multiple_of(Self::PAGE)
    }

    /// `n` bytes, every page written, then the guard page.
    pub fn new(n: usize) -> PageBuf {
        let body = Self::body(n);
        let total = body + Self::PAGE;
        // SAFETY: a fresh private anonymous mapping; no address is imposed.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        let layout = std::alloc::Layout::from_size_align(total, Self::PAGE)
            .expect("a message buffer's size fits a layout");
        if raw == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(layout);
        }
        let ptr = raw.cast::<u8>();
        // SAFETY: the last page of the mapping just made, ours alone.
        if unsafe { libc::mprotect(ptr.add(body).cast(), Self::PAGE, libc::PROT_NONE) } != 0 {
            // SAFETY: the mapping just made, not yet handed out.
            unsafe { libc::munmap(raw, total) };
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `ptr` points at `body` writable bytes of that mapping.
        unsafe { std::ptr::write_bytes(ptr, 0x5a, body) };
        PageBuf {
            // SAFETY: mmap returned a valid address, not MAP_FAILED (checked).
            ptr: unsafe { std::ptr::NonNull::new_unchecked(ptr) },
            len: n,
        }
    }

    /// Grows to at least `n` bytes (new bytes real pages too).
    pub fn grow(&mut self, n: usize) {
        if n > self.len {
            *self = PageBuf::new(n);
        }
    }
}

impl std::ops::Deref for PageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` initialised bytes (and one more if 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for PageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for PageBuf {
    fn drop(&mut self) {
        // SAFETY: the mapping `new` made for `len` bytes, guard included;
        // nothing borrows it any more.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), Self::body(self.len) + Self::PAGE) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of `v` the kernel has mapped (mincore).
    fn resident_pages(v: &[u8]) -> (usize, usize) {
        let page = 4096usize;
        let start = (v.as_ptr() as usize).div_ceil(page) * page;
        let end = (v.as_ptr() as usize + v.len()) / page * page;
        let n = (end - start) / page;
        let mut vec = vec![0u8; n];
        // SAFETY: [start, end) lies inside `v`'s allocation, page-aligned;
        // `vec` has one byte per page of it.
        let r = unsafe { libc::mincore(start as *mut libc::c_void, end - start, vec.as_mut_ptr()) };
        assert_eq!(r, 0, "mincore");
        (vec.iter().filter(|&&b| b & 1 == 1).count(), n)
    }

    /// The permissions of the mapping holding `addr`, from /proc/self/maps.
    fn perms_at(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|l| {
                let (range, rest) = l.split_once(' ')?;
                let (a, b) = range.split_once('-')?;
                let (a, b) = (
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                );
                (a <= addr && addr < b).then(|| rest.split(' ').next().unwrap_or("").to_string())
            })
            .unwrap_or_else(|| format!("{addr:#x} is not mapped"))
    }

    #[test]
    fn message_buffers_are_backed_by_real_pages_from_the_start() {
        let v = PageBuf::new(4 << 20);
        // Before anything reads it (a read would map the zero page).
        let (resident, pages) = resident_pages(&v);
        assert_eq!(resident, pages, "every page written at allocation");
        assert_eq!(v.len(), 4 << 20);
        assert_eq!(v.as_ptr() as usize % 4096, 0, "page-aligned");
        assert!(v.iter().all(|&b| b == 0x5a));
        let mut small = PageBuf::new(0);
        assert!(small.is_empty());
        small.grow(100);
        assert_eq!((small.len(), small.as_ptr() as usize % 4096), (100, 0));
        // The page after a buffer is its own guard, never a neighbour.
        for n in [1, 4096, 5000] {
            let b = PageBuf::new(n);
            let end = b.as_ptr() as usize + n.next_multiple_of(4096);
            assert_eq!(perms_at(b.as_ptr() as usize), "rw-p", "{n} bytes");
            assert_eq!(perms_at(end), "---p", "the page after {n} bytes");
        }
        // What calloc gives: nothing mapped until touched.
        let z = vec![0u8; 4 << 20];
        let (resident, _) = resident_pages(&z);
        assert!(
            resident < pages,
            "{resident} of {pages}: calloc mapped every page"
        );
    }

    #[test]
    fn rules_follow_capabilities() {
        assert!(!valid_for(Backend::Fork, ChannelKind::Heap));
        assert!(valid_for(Backend::Thread, ChannelKind::Heap));
        assert!(!caps(ChannelKind::ShmSpin).blocks);
        assert_eq!(
            channels_for(Backend::Spawn),
            ChannelKind::ALL
                .iter()
                .copied()
                .filter(|&c| c != ChannelKind::Heap)
                .collect::<Vec<_>>()
        );
    }
}
