//! A robust, process-shared pthread mutex in a shared mapping: a holder
//! that dies (a killed process, a thread that ends while holding it)
//! hands the next locker `EOWNERDEAD` instead of a lock nobody will ever
//! release. The kernel marks the futex word when it walks the dead task's
//! robust list; the locker then holds the lock, repairs what it guards and
//! marks it consistent.
//!
//! Locking and unlocking are plain futex operations inside glibc, with no
//! allocation, so a forked member may use them.

use std::io;

/// A robust mutex at a fixed place in a shared mapping.
#[derive(Debug, Clone, Copy)]
pub struct RobustMutex {
    at: *mut libc::pthread_mutex_t,
}

// SAFETY: the mutex is a process-shared pthread mutex: every operation on
// it is made for concurrent use from many threads and processes.
unsafe impl Send for RobustMutex {}
// SAFETY: as above.
unsafe impl Sync for RobustMutex {}

/// How a lock was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// From a holder that unlocked it.
    Clean,
    /// From a holder that died holding it: the caller holds the lock now
    /// and must repair what it guards, then [`RobustMutex::consistent`].
    OwnerDied,
}

impl RobustMutex {
    /// Bytes it takes in the mapping.
    pub const BYTES: usize = std::mem::size_of::<libc::pthread_mutex_t>();

    /// The mutex at `at`.
    ///
    /// # Safety
    ///
    /// `at` must point to [`RobustMutex::BYTES`] bytes of 8-byte-aligned
    /// memory (shared with every user) that outlive every use of the value.
    pub unsafe fn at(at: *mut u8) -> RobustMutex {
        RobustMutex { at: at.cast() }
    }

    /// Initialises it (once, before any user starts; again only when
    /// nobody holds or waits on it).
    pub fn init(&self) -> io::Result<()> {
        // SAFETY: the attribute object is initialised before use and
        // destroyed after; the mutex memory is valid (see `at`) and unused.
        let r = unsafe {
            std::ptr::write_bytes(self.at, 0, 1);
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            libc::pthread_mutexattr_init(&mut attr);
            libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST);
            let r = libc::pthread_mutex_init(self.at, &attr);
            libc::pthread_mutexattr_destroy(&mut attr);
            r
        };
        match r {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Destroys it once every user is gone.
    pub fn destroy(&self) {
        // SAFETY: the caller guarantees nobody holds or waits on it.
        unsafe { libc::pthread_mutex_destroy(self.at) };
    }

    /// Locks it; an errno if it cannot be taken at all.
    pub fn lock(&self) -> Result<Taken, i32> {
        // SAFETY: initialised before any user started (see `init`).
        match unsafe { libc::pthread_mutex_lock(self.at) } {
            0 => Ok(Taken::Clean),
            libc::EOWNERDEAD => Ok(Taken::OwnerDied),
            e => Err(e),
        }
    }

    /// After [`Taken::OwnerDied`] and the repair: the lock works again.
    pub fn consistent(&self) {
        // SAFETY: the caller holds the lock it got with EOWNERDEAD.
        unsafe { libc::pthread_mutex_consistent(self.at) };
    }

    /// Unlocks it (by the thread that holds it).
    pub fn unlock(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { libc::pthread_mutex_unlock(self.at) };
    }
}
