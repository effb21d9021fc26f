//! Shared mappings and the start gate built on them.
//!
//! [`SharedMem`] is a `MAP_SHARED | MAP_POPULATE` mapping: anonymous (shared
//! with threads and inherited by `fork`) or a memfd sealed against shrinking
//! (mapped again by an exec'd worker from the inherited fd). A private
//! mapping would silently stop being shared at `fork`.
//!
//! [`Gate`] lines workers up so a timed phase starts for all at once: each
//! worker marks itself ready and sleeps on a futex; the parent waits for all,
//! notes the time, opens the gate; workers record their own start and end
//! with CLOCK_MONOTONIC (one clock for every process) and count themselves
//! done. Used identically by threads, forked and spawned workers.

pub mod gate;
pub mod robust;

pub use gate::Gate;
pub use robust::{RobustMutex, Taken};

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64};

impl std::fmt::Debug for SharedMem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMem")
            .field("len", &self.len)
            .field("memfd", &self.memfd.is_some())
            .finish()
    }
}

/// A shared mapping.
pub struct SharedMem {
    ptr: *mut u8,
    len: usize,
    memfd: Option<OwnedFd>,
}

// SAFETY: the mapping is shared memory accessed through atomics or under a
// protocol the users document; the pointer is valid for the value's life.
unsafe impl Send for SharedMem {}
// SAFETY: as above.
unsafe impl Sync for SharedMem {}

fn map(len: usize, fd: Option<&OwnedFd>, populate: bool) -> std::io::Result<*mut u8> {
    let pop = if populate { libc::MAP_POPULATE } else { 0 };
    let (flags, raw) = match fd {
        Some(f) => (libc::MAP_SHARED | pop, f.as_raw_fd()),
        None => (libc::MAP_SHARED | libc::MAP_ANONYMOUS | pop, -1),
    };
    // SAFETY: a fresh mapping at an address of the kernel's choosing; no
    // existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len.max(1),
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            raw,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    Ok(p.cast())
}

/// A zeroed memfd of `len` bytes, sealed against shrinking (so a mapping
/// of it can never lose its pages under a worker).
fn memfd(len: usize) -> std::io::Result<OwnedFd> {
    use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
    let fd = memfd_create(
        c"mpmt-shm",
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )?;
    nix::unistd::ftruncate(&fd, len.max(1) as i64)?;
    // SAFETY: fcntl on our own open memfd.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

impl SharedMem {
    /// A zeroed, prefaulted shared mapping; a memfd when it must reach an
    /// exec'd worker.
    pub fn new(len: usize, for_exec: bool) -> std::io::Result<SharedMem> {
        let memfd = match for_exec {
            true => Some(memfd(len)?),
            false => None,
        };
        let ptr = map(len, memfd.as_ref(), true)?;
        Ok(SharedMem { ptr, len, memfd })
    }

    /// A zeroed memfd mapping that is *not* prefaulted: nothing of it is
    /// in this process's page tables until touched (the memory
    /// workload's shared region, written through the memfd, so only the
    /// workers that read it map it).
    pub fn new_lazy(len: usize) -> std::io::Result<SharedMem> {
        let fd = memfd(len)?;
        let ptr = map(len, Some(&fd), false)?;
        Ok(SharedMem {
            ptr,
            len,
            memfd: Some(fd),
        })
    }

    /// Maps a memfd received from the parent; `populate` prefaults all of
    /// it (else use [`SharedMem::populate_range`] for the part this process
    /// will touch).
    pub fn attach(fd: OwnedFd, len: usize, populate: bool) -> std::io::Result<SharedMem> {
        // SAFETY: fstat on our own fd into a zeroed stat buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and pointer for the call.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if (st.st_size as u64) < len as u64 {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        let ptr = map(len, Some(&fd), populate)?;
        Ok(SharedMem {
            ptr,
            len,
            memfd: Some(fd),
        })
    }

    /// Prefaults `[offset, offset + len)` writable in this process's page
    /// tables. A forked child needs it even for a mapping the parent
    /// populated: `fork` does not copy page-table entries of shared
    /// mappings, so the child would otherwise fault on first touch.
    /// Allocation-free.
    pub fn populate_range(&self, offset: usize, len: usize) {
        if len == 0 || offset >= self.len {
            return;
        }
        let page = page_size();
        let start = offset / page * page;
        let end = (offset + len).min(self.len);
        // SAFETY: the range lies inside our mapping; MADV_POPULATE_WRITE
        // only faults pages in, it does not change their contents.
        let r = unsafe {
            libc::madvise(
                self.ptr.add(start).cast(),
                end - start,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if r != 0 {
            // Older kernels: touch each page, writing back what is there
            // (nobody else writes this range before the gate opens).
            for p in (offset..end).step_by(page) {
                // SAFETY: in bounds; volatile so the touch is not elided.
                unsafe {
                    let q = self.ptr.add(p);
                    q.write_volatile(q.read_volatile());
                }
            }
        }
    }

    #[inline]
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The memfd behind the mapping, if it has one.
    pub fn memfd(&self) -> Option<&OwnedFd> {
        self.memfd.as_ref()
    }

    /// The mapping as bytes, for reading. Other processes may write it;
    /// readers here only sum it.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self`
        // lives; u8 has no invalid values.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// An atomic at byte `offset` (must be aligned and in bounds).
    #[inline]
    pub fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.len);
        // SAFETY: aligned, in bounds, and only accessed atomically.
        unsafe { &*(self.ptr.add(offset) as *const AtomicU32) }
    }

    #[inline]
    pub fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.len);
        // SAFETY: aligned, in bounds, and only accessed atomically.
        unsafe { &*(self.ptr.add(offset) as *const AtomicU64) }
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: we own this mapping; borrowers hold `&self` or an Arc.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len.max(1));
        }
    }
}

/// The machine's page size (a raw sysconf: safe in a forked child).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(1) as usize
}
