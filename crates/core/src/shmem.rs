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

use crate::error::{Error, Result};
use crate::signal::interrupted;
use crate::sys::{futex_wait, futex_wake};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

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

impl SharedMem {
    /// A zeroed, prefaulted shared mapping; a memfd when it must reach an
    /// exec'd worker.
    pub fn new(len: usize, for_exec: bool) -> std::io::Result<SharedMem> {
        let memfd = if for_exec {
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
            Some(fd)
        } else {
            None
        };
        let ptr = map(len, memfd.as_ref(), true)?;
        Ok(SharedMem { ptr, len, memfd })
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
        let page = 4096;
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

    /// An atomic at byte `offset` (must be aligned and in bounds).
    pub fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.len);
        // SAFETY: aligned, in bounds, and only accessed atomically.
        unsafe { &*(self.ptr.add(offset) as *const AtomicU32) }
    }

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

/// Nanoseconds of CLOCK_MONOTONIC: one clock for every process here.
/// Allocation-free (vDSO).
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

const READY: usize = 0;
const GO: usize = 64;
const DONE: usize = 128;
const SLOTS: usize = 192;
const SLOT_BYTES: usize = 16;
const POLL: Duration = Duration::from_millis(50);

/// Bytes a gate for `workers` occupies.
pub fn gate_bytes(workers: usize) -> usize {
    (SLOTS + workers * SLOT_BYTES).div_ceil(64) * 64
}

/// A start gate at the beginning of a shared mapping.
pub struct Gate<'a> {
    mem: &'a SharedMem,
    workers: usize,
}

impl<'a> Gate<'a> {
    pub fn new(mem: &'a SharedMem, workers: usize) -> Gate<'a> {
        assert!(mem.len() >= gate_bytes(workers));
        Gate { mem, workers }
    }

    /// Worker side: count in as ready, sleep until the gate opens.
    /// Allocation-free. Returns false if the parent never opened it.
    pub fn arrive(&self) -> bool {
        let ready = self.mem.atomic_u32(READY);
        ready.fetch_add(1, Ordering::AcqRel);
        futex_wake(ready, 1);
        let go = self.mem.atomic_u32(GO);
        // The parent opens the gate or dies (and PDEATHSIG ends us).
        for _ in 0..(600_000 / 50) {
            if go.load(Ordering::Acquire) != 0 {
                return true;
            }
            futex_wait(go, 0, POLL);
        }
        false
    }

    /// Worker side: record this worker's timed phase and count it done.
    pub fn finish(&self, index: usize, start_ns: u64, end_ns: u64) {
        self.mem
            .atomic_u64(SLOTS + index * SLOT_BYTES)
            .store(start_ns, Ordering::Relaxed);
        self.mem
            .atomic_u64(SLOTS + index * SLOT_BYTES + 8)
            .store(end_ns, Ordering::Relaxed);
        let done = self.mem.atomic_u32(DONE);
        done.fetch_add(1, Ordering::AcqRel);
        futex_wake(done, 1);
    }

    /// Parent side: wait until `target` workers counted on `word`, checking
    /// `dead()` (how many workers died) and interrupts while waiting.
    fn wait_count(&self, offset: usize, dead: &mut dyn FnMut() -> Result<usize>) -> Result<usize> {
        let word = self.mem.atomic_u32(offset);
        loop {
            let n = word.load(Ordering::Acquire) as usize;
            if n >= self.workers {
                return Ok(0);
            }
            if interrupted() {
                return Err(Error::interrupted());
            }
            let d = dead()?;
            if n + d >= self.workers {
                return Ok(d);
            }
            futex_wait(word, n as u32, POLL);
        }
    }

    /// Parent side: wait for every worker to be ready, open the gate and
    /// return the opening time.
    pub fn open_when_ready(&self, dead: &mut dyn FnMut() -> Result<usize>) -> Result<u64> {
        self.wait_count(READY, dead)?;
        let t = mono_ns();
        let go = self.mem.atomic_u32(GO);
        go.store(1, Ordering::Release);
        futex_wake(go, i32::MAX);
        Ok(t)
    }

    /// Parent side: wait until every live worker is done. Returns how many
    /// died (only tolerated when `dead` says so).
    pub fn wait_done(&self, dead: &mut dyn FnMut() -> Result<usize>) -> Result<usize> {
        self.wait_count(DONE, dead)
    }

    /// Worker `i`'s recorded (start, end).
    pub fn times(&self, i: usize) -> (u64, u64) {
        (
            self.mem
                .atomic_u64(SLOTS + i * SLOT_BYTES)
                .load(Ordering::Relaxed),
            self.mem
                .atomic_u64(SLOTS + i * SLOT_BYTES + 8)
                .load(Ordering::Relaxed),
        )
    }

    /// The latest end among workers that finished.
    pub fn last_end(&self) -> u64 {
        (0..self.workers)
            .map(|i| self.times(i).1)
            .max()
            .unwrap_or(0)
    }
}

/// A `dead` callback for process workers: errors on any abnormal exit.
pub fn deaths_are_errors<'a>(
    pids: &'a [i32],
    what: &'static str,
) -> impl FnMut() -> Result<usize> + 'a {
    move || match pids.iter().find(|&&p| crate::sys::child_failed(p)) {
        Some(p) => Err(Error::Setup(format!("{what}: worker pid {p} died"))),
        None => Ok(0),
    }
}
