//! The start gate: lines workers up so a timed phase starts for all at
//! once. Each worker counts itself ready and sleeps on a futex; the parent
//! waits for all, notes the time, opens the gate; each worker stamps its own
//! start and end with CLOCK_MONOTONIC (one clock for every process) and
//! counts itself done. A worker that must not end while others are still
//! in the timed phase (a process's exit would charge them its teardown,
//! which grows with the parent it was forked from: the harness, not the
//! workload) then holds ([`Gate::hold`]) until the parent has seen every
//! worker done. It lives at the start of a shared mapping, so
//! threads, forked children and exec'd workers use it identically, and the
//! worker side allocates nothing.

use super::SharedMem;
use crate::error::{Error, Result};
use crate::sys::futex::{futex_wait, futex_wake};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const READY: usize = 0;
const GO: usize = 64;
const DONE: usize = 128;
/// Set by the parent once every worker is done (or the run gave up).
const RELEASE: usize = 160;
const SLOTS: usize = 192;
const SLOT_BYTES: usize = 16;
/// Values of the GO word: closed, open, abandoned by the parent.
const GO_CLOSED: u32 = 0;
const GO_OPEN: u32 = 1;
const GO_ABANDONED: u32 = 2;
/// How often a blocked wait re-checks interrupts and dead workers.
const RECHECK: Duration = Duration::from_millis(50);
/// How long a worker waits for the gate to open before it gives up (the
/// parent opens it or dies, and a parent-death signal ends the worker).
pub const WORKER_GATE_TIMEOUT: Duration = Duration::from_secs(600);

/// Bytes a gate for `workers` occupies (a multiple of 64).
pub fn gate_bytes(workers: usize) -> usize {
    (SLOTS + workers * SLOT_BYTES).div_ceil(64) * 64
}

/// The gate didn't open in time (worker side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeverOpened;

/// A start gate at the beginning of a shared mapping.
#[derive(Clone)]
pub struct Gate {
    mem: Arc<SharedMem>,
    workers: usize,
}

impl Gate {
    /// A gate for `workers` at the start of `mem` (which must be at least
    /// [`gate_bytes`] long).
    pub fn new(mem: Arc<SharedMem>, workers: usize) -> Result<Gate> {
        if mem.len() < gate_bytes(workers) {
            return Err(Error::Setup(format!(
                "a gate for {workers} workers needs {} bytes, the mapping has {}",
                gate_bytes(workers),
                mem.len()
            )));
        }
        Ok(Gate { mem, workers })
    }

    /// A fresh mapping holding only a gate (`for_exec`: a memfd an exec'd
    /// worker can map).
    pub fn create(workers: usize, for_exec: bool) -> Result<Gate> {
        let mem = SharedMem::new(gate_bytes(workers), for_exec)
            .map_err(|e| Error::io("mapping the start gate", e))?;
        Gate::new(Arc::new(mem), workers)
    }

    pub fn mem(&self) -> &Arc<SharedMem> {
        &self.mem
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Worker side: count in as ready, sleep until the gate opens.
    /// Allocation-free.
    pub fn arrive(&self) -> std::result::Result<(), NeverOpened> {
        let ready = self.mem.atomic_u32(READY);
        if ready.fetch_add(1, Ordering::AcqRel) as usize + 1 == self.workers {
            futex_wake(ready, 1);
        }
        let go = self.mem.atomic_u32(GO);
        let deadline = Instant::now() + WORKER_GATE_TIMEOUT;
        while Instant::now() < deadline {
            match go.load(Ordering::Acquire) {
                // Woken or timed out, the loop looks at the word again.
                GO_CLOSED => {
                    futex_wait(go, GO_CLOSED, RECHECK);
                }
                GO_OPEN => return Ok(()),
                _ => return Err(NeverOpened),
            }
        }
        Err(NeverOpened)
    }

    /// Worker side: record this worker's timed phase and count it done.
    pub fn finish(&self, index: usize, start_ns: u64, end_ns: u64) {
        self.mem
            .atomic_u64(SLOTS + index * SLOT_BYTES)
            .store(start_ns, Ordering::Relaxed);
        self.mem
            .atomic_u64(SLOTS + index * SLOT_BYTES + 8)
            .store(end_ns, Ordering::Relaxed);
        // Only the last worker wakes the parent: a wake per worker would
        // run the parent's liveness checks (a waitid per member process)
        // once per finishing worker, on the measured CPUs, while the
        // others are still in their timed phase. A death is still seen
        // within the parent's recheck interval.
        let done = self.mem.atomic_u32(DONE);
        if done.fetch_add(1, Ordering::AcqRel) as usize + 1 == self.workers {
            futex_wake(done, 1);
        }
    }

    /// Parent side: wait until every worker counted on the word at
    /// `offset`, checking interrupts and `dead()` (how many workers died;
    /// it errors when a death is not tolerated) while waiting.
    fn wait_count(&self, offset: usize, dead: &mut dyn FnMut() -> Result<usize>) -> Result<usize> {
        let word = self.mem.atomic_u32(offset);
        loop {
            let n = word.load(Ordering::Acquire) as usize;
            if n >= self.workers {
                return Ok(0);
            }
            if let Some(e) = Error::halted() {
                return Err(e);
            }
            let d = dead()?;
            if n + d >= self.workers {
                return Ok(d);
            }
            futex_wait(word, n as u32, RECHECK);
        }
    }

    /// Parent side: wait until every worker is ready (without opening).
    pub fn wait_ready(&self, dead: &mut dyn FnMut() -> Result<usize>) -> Result<()> {
        self.wait_count(READY, dead).map(|_| ())
    }

    /// Parent side: open the gate; returns the opening time.
    pub fn open(&self) -> u64 {
        let t = crate::measure::mono_ns();
        let go = self.mem.atomic_u32(GO);
        go.store(GO_OPEN, Ordering::Release);
        futex_wake(go, i32::MAX);
        t
    }

    /// Parent side, on an error before opening: tells every waiting worker
    /// the gate will never open, so it ends at once (threads can then be
    /// joined).
    pub fn abandon(&self) {
        self.release();
        let go = self.mem.atomic_u32(GO);
        if go
            .compare_exchange(GO_CLOSED, GO_ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            futex_wake(go, i32::MAX);
        }
    }

    /// Parent side: wait for every worker to be ready, open the gate and
    /// return the opening time.
    pub fn open_when_ready(&self, dead: &mut dyn FnMut() -> Result<usize>) -> Result<u64> {
        self.wait_ready(dead)?;
        Ok(self.open())
    }

    /// Parent side: wait until every live worker is done, then let the
    /// holding workers end. Returns how many died (only tolerated when
    /// `dead` says so).
    pub fn wait_done(&self, dead: &mut dyn FnMut() -> Result<usize>) -> Result<usize> {
        self.wait_done_then(dead, || {})
    }

    /// [`Gate::wait_done`], running `then` once every worker is done and
    /// before any is let go (to end a counted phase before they exit).
    pub fn wait_done_then(
        &self,
        dead: &mut dyn FnMut() -> Result<usize>,
        then: impl FnOnce(),
    ) -> Result<usize> {
        let died = self.wait_count(DONE, dead);
        then();
        self.release();
        died
    }

    /// Parent side: lets every holding worker end.
    fn release(&self) {
        let r = self.mem.atomic_u32(RELEASE);
        r.store(1, Ordering::Release);
        futex_wake(r, i32::MAX);
    }

    /// Worker side, after [`Gate::finish`]: wait until every worker is done
    /// (the parent says so) before ending. Bounded: a parent that gave up
    /// releases, one that died takes its workers with it, and the wait
    /// ends after [`WORKER_GATE_TIMEOUT`] regardless. Allocation-free.
    pub fn hold(&self) {
        let r = self.mem.atomic_u32(RELEASE);
        let until = Instant::now() + WORKER_GATE_TIMEOUT;
        while r.load(Ordering::Acquire) == 0 && Instant::now() < until {
            futex_wait(r, 0, RECHECK);
        }
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
