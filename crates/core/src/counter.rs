//! counter: the classic race. W workers each add 1 to one shared counter K
//! times (50 × 100,000 by default), all released at once by a start gate.
//!
//! Modes, the same code for every backend:
//! - `racy`: a relaxed load followed by a relaxed store. Two workers that
//!   interleave between the two lose an update: real lost updates, no
//!   undefined behaviour. On one CPU only preemption between the load and the
//!   store can lose one; across CPUs the two really run at once.
//! - `atomic`: `fetch_add`.
//! - `mutex`: a lock around each increment; `mutex-batch`: the lock held for
//!   the whole loop.
//!
//! Threads keep the counter on the heap and lock a `std::sync::Mutex`.
//! Processes keep it in a shared mapping and lock a `pthread_mutex_t` made
//! `PTHREAD_PROCESS_SHARED` and `PTHREAD_MUTEX_ROBUST` (std's mutex uses
//! private futexes and cannot be shared between processes): a worker that
//! dies holding it hands the next locker `EOWNERDEAD`, which marks the lock
//! consistent and goes on, counted in `owner_dead_recoveries`.

use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::placement::Placement;
use crate::process::{fork_worker, spawn_worker, JobKind, WorkerProc};
use crate::schema::{Checks, Record};
use crate::serve::WorkerReport;
use crate::shmem::{gate_bytes, mono_ns, Gate, SharedMem};
use crate::stats::summarize;
use crate::sys;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Racy,
    Atomic,
    Mutex,
    MutexBatch,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Racy, Mode::Atomic, Mode::Mutex, Mode::MutexBatch];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Racy => "racy",
            Mode::Atomic => "atomic",
            Mode::Mutex => "mutex",
            Mode::MutexBatch => "mutex-batch",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Mode::Racy => "relaxed load, then relaxed store: loses updates",
            Mode::Atomic => "fetch_add",
            Mode::Mutex => "lock, increment, unlock, each time",
            Mode::MutexBatch => "lock held for the whole loop",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One counter case.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterCase {
    pub backend: BackendKind,
    pub mode: Mode,
    pub workers: usize,
    pub increments: u64,
    pub placement: Placement,
    /// CPU of each worker.
    pub cpus: Vec<Option<u32>>,
    pub samples: usize,
    /// Test hook: SIGKILL whichever process worker holds the lock this long
    /// after the gate opens (mutex-batch, process backends).
    #[doc(hidden)]
    pub kill_lock_holder_after: Option<Duration>,
}

impl CounterCase {
    pub fn label(&self) -> String {
        format!(
            "counter {} {} {} {}x{}",
            self.mode, self.backend, self.placement, self.workers, self.increments
        )
    }

    pub fn expected(&self) -> u64 {
        self.workers as u64 * self.increments
    }
}

/// The outcome of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub final_value: u64,
    pub expected: u64,
    pub elapsed_ns: u64,
    pub owner_dead_recoveries: u32,
    pub workers_died: usize,
}

impl Outcome {
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.final_value)
    }
}

// Layout of the shared mapping after the gate (each on its own line).
const COUNTER: usize = 0;
const HOLDER: usize = 64;
const RECOVERIES: usize = 128;
const MUTEX: usize = 192;
const STATE_BYTES: usize = 256;

fn state_base(workers: usize) -> usize {
    gate_bytes(workers)
}

fn mapping_bytes(workers: usize) -> usize {
    state_base(workers) + STATE_BYTES
}

/// The process-shared state in a mapping.
struct Shared<'a> {
    mem: &'a SharedMem,
    base: usize,
}

impl<'a> Shared<'a> {
    fn new(mem: &'a SharedMem, workers: usize) -> Shared<'a> {
        assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= STATE_BYTES - MUTEX);
        Shared {
            mem,
            base: state_base(workers),
        }
    }

    fn counter(&self) -> &AtomicU64 {
        self.mem.atomic_u64(self.base + COUNTER)
    }

    fn holder(&self) -> &AtomicU32 {
        self.mem.atomic_u32(self.base + HOLDER)
    }

    fn recoveries(&self) -> &AtomicU32 {
        self.mem.atomic_u32(self.base + RECOVERIES)
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        // SAFETY: in bounds (checked size) and 64-byte aligned.
        unsafe { self.mem.as_ptr().add(self.base + MUTEX).cast() }
    }

    /// Initialises the robust, process-shared mutex (parent, once).
    fn init_mutex(&self) -> Result<()> {
        // SAFETY: the attribute object is initialised before use and
        // destroyed after; the mutex memory is ours, zeroed and aligned.
        let r = unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            libc::pthread_mutexattr_init(&mut attr);
            libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST);
            let r = libc::pthread_mutex_init(self.mutex(), &attr);
            libc::pthread_mutexattr_destroy(&mut attr);
            r
        };
        if r != 0 {
            return Err(Error::io(
                "initialising the process-shared mutex",
                std::io::Error::from_raw_os_error(r),
            ));
        }
        Ok(())
    }

    fn destroy_mutex(&self) {
        // SAFETY: every worker is gone; nobody holds or waits on the mutex.
        unsafe { libc::pthread_mutex_destroy(self.mutex()) };
    }

    /// Locks, recovering a lock whose owner died. Returns an errno on failure.
    fn lock(&self) -> std::result::Result<(), i32> {
        // SAFETY: the mutex was initialised by the parent before any worker
        // started and lives until every worker is reaped.
        let r = unsafe { libc::pthread_mutex_lock(self.mutex()) };
        match r {
            0 => Ok(()),
            libc::EOWNERDEAD => {
                // SAFETY: we hold the lock after EOWNERDEAD; marking it
                // consistent is the documented recovery.
                unsafe { libc::pthread_mutex_consistent(self.mutex()) };
                self.recoveries().fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            e => Err(e),
        }
    }

    fn unlock(&self) {
        // SAFETY: called only by the thread that holds the lock.
        unsafe { libc::pthread_mutex_unlock(self.mutex()) };
    }
}

/// The racy increment: a load and a store that another worker can come
/// between. `black_box` keeps them two instructions with the value in a
/// register between them, as in the textbook `counter += 1` (without it
/// the compiler fuses them into one unlocked `inc [mem]`, which preemption
/// can never split, so one CPU could never lose an update).
#[inline(always)]
fn bump(c: &AtomicU64) {
    let v = std::hint::black_box(c.load(Ordering::Relaxed));
    c.store(v + 1, Ordering::Relaxed);
}

/// `k` racy increments. Never inlined: threads and processes run the same
/// machine code (alone for `racy`, under a held lock for `mutex-batch`).
#[inline(never)]
pub fn racy_loop(c: &AtomicU64, k: u64) {
    for _ in 0..k {
        bump(c);
    }
}

/// `k` atomic increments, the same machine code for every backend.
#[inline(never)]
pub fn atomic_loop(c: &AtomicU64, k: u64) {
    for _ in 0..k {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// A process worker's loop (allocation-free).
fn process_worker(
    mem: &SharedMem,
    workers: usize,
    index: usize,
    mode: Mode,
    k: u64,
) -> WorkerReport {
    let gate = Gate::new(mem, workers);
    let sh = Shared::new(mem, workers);
    let c = sh.counter();
    if !gate.arrive() {
        return WorkerReport::failed(WorkerReport::SETUP_FAILED, libc::ETIMEDOUT as u64);
    }
    let t = mono_ns();
    match mode {
        Mode::Racy => racy_loop(c, k),
        Mode::Atomic => atomic_loop(c, k),
        Mode::Mutex => {
            for _ in 0..k {
                if let Err(e) = sh.lock() {
                    return WorkerReport::failed(WorkerReport::SETUP_FAILED, e as u64);
                }
                bump(c);
                sh.unlock();
            }
        }
        Mode::MutexBatch => {
            if let Err(e) = sh.lock() {
                return WorkerReport::failed(WorkerReport::SETUP_FAILED, e as u64);
            }
            // SAFETY: getpid has no memory effects.
            sh.holder()
                .store(unsafe { libc::getpid() } as u32, Ordering::Relaxed);
            racy_loop(c, k);
            sh.holder().store(0, Ordering::Relaxed);
            sh.unlock();
        }
    }
    gate.finish(index, t, mono_ns());
    WorkerReport {
        ops: k,
        ..Default::default()
    }
}

/// Job of an exec'd counter worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct CounterJob {
    pub memfd: i32,
    pub len: u64,
    pub workers: u32,
    pub mode: Mode,
    pub increments: u64,
}

/// Runs a counter job in an exec'd worker.
pub fn run_job(job: CounterJob, index: usize) -> WorkerReport {
    // SAFETY: the parent cleared CLOEXEC on this fd for us; we own it.
    let fd = unsafe { OwnedFd::from_raw_fd(job.memfd) };
    match SharedMem::attach(fd, job.len as usize, true) {
        Ok(mem) => process_worker(&mem, job.workers as usize, index, job.mode, job.increments),
        Err(e) => WorkerReport::failed(
            WorkerReport::SETUP_FAILED,
            e.raw_os_error().unwrap_or(0) as u64,
        ),
    }
}

struct ForkInput<'a> {
    mem: &'a SharedMem,
    workers: usize,
    index: usize,
    mode: Mode,
    k: u64,
}

fn fork_body(i: ForkInput<'_>) -> WorkerReport {
    process_worker(i.mem, i.workers, i.index, i.mode, i.k)
}

fn run_threads(case: &CounterCase) -> Result<Outcome> {
    let w = case.workers;
    let gate_mem =
        SharedMem::new(gate_bytes(w), false).map_err(|e| Error::io("mapping the gate", e))?;
    let gate = Gate::new(&gate_mem, w);
    let value = AtomicU64::new(0);
    let lock = std::sync::Mutex::new(());
    let k = case.increments;
    let (ready, end) = std::thread::scope(|s| -> Result<(u64, u64)> {
        let mut hs = Vec::with_capacity(w);
        for i in 0..w {
            let (gate, value, lock, cpu, mode) = (&gate, &value, &lock, case.cpus[i], case.mode);
            let h = std::thread::Builder::new()
                .name(format!("mpmt-counter-{i}"))
                .spawn_scoped(s, move || {
                    if let Some(c) = cpu {
                        let _ = sys::pin_current(c);
                    }
                    gate.arrive();
                    let t = mono_ns();
                    match mode {
                        Mode::Racy => racy_loop(value, k),
                        Mode::Atomic => atomic_loop(value, k),
                        Mode::Mutex => (0..k).for_each(|_| {
                            let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
                            bump(value);
                        }),
                        Mode::MutexBatch => {
                            let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
                            racy_loop(value, k);
                        }
                    }
                    gate.finish(i, t, mono_ns());
                })
                .map_err(|e| Error::io("starting a worker thread", e))?;
            hs.push(h);
        }
        let ready = gate.open_when_ready(&mut || Ok(0))?;
        gate.wait_done(&mut || Ok(0))?;
        for h in hs {
            h.join()
                .map_err(|_| Error::Setup("a counter thread panicked".into()))?;
        }
        Ok((ready, gate.last_end()))
    })?;
    Ok(Outcome {
        final_value: value.load(Ordering::SeqCst),
        expected: case.expected(),
        elapsed_ns: end.saturating_sub(ready),
        owner_dead_recoveries: 0,
        workers_died: 0,
    })
}

fn run_processes(case: &CounterCase) -> Result<Outcome> {
    let w = case.workers;
    let spawn = case.backend == BackendKind::Spawn;
    let mem =
        SharedMem::new(mapping_bytes(w), spawn).map_err(|e| Error::io("mapping the counter", e))?;
    let sh = Shared::new(&mem, w);
    sh.init_mutex()?;
    let mut procs: Vec<WorkerProc> = Vec::with_capacity(w);
    for i in 0..w {
        let p = if spawn {
            let fd = mem.memfd().expect("memfd for spawn").as_raw_fd();
            let job = CounterJob {
                memfd: fd,
                len: mem.len() as u64,
                workers: w as u32,
                mode: case.mode,
                increments: case.increments,
            };
            spawn_worker(i, case.cpus[i], JobKind::Counter(job), &[fd])?
        } else {
            let input = ForkInput {
                mem: &mem,
                workers: w,
                index: i,
                mode: case.mode,
                k: case.increments,
            };
            fork_worker(i, case.cpus[i], input, fork_body)?.0
        };
        procs.push(p);
    }
    let gate = Gate::new(&mem, w);
    let pids: Vec<i32> = procs.iter().map(|p| p.pid).collect();
    let injecting = case.kill_lock_holder_after.is_some();
    let mut dead = || -> Result<usize> {
        let n = pids.iter().filter(|&&p| sys::child_failed(p)).count();
        if n > 0 && !injecting {
            return Err(Error::Setup(format!("counter: {n} worker(s) died")));
        }
        Ok(n)
    };
    let ready = gate.open_when_ready(&mut dead)?;
    let mut victim = None;
    if let Some(after) = case.kill_lock_holder_after {
        std::thread::sleep(after);
        // Catch a moment when someone holds the lock (not between holders).
        for _ in 0..10_000 {
            let pid = sh.holder().load(Ordering::Relaxed) as i32;
            if pid > 0 {
                sys::kill9(pid);
                victim = Some(pid);
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let died = gate.wait_done(&mut dead)?;
    let end = gate.last_end();
    for p in procs.iter_mut() {
        let r = p.finish();
        if let Err(detail) = r {
            if Some(p.pid) != victim {
                return Err(Error::Worker {
                    index: p.index,
                    backend: case.backend.name(),
                    detail,
                });
            }
        }
    }
    sh.destroy_mutex();
    Ok(Outcome {
        final_value: sh.counter().load(Ordering::SeqCst),
        expected: case.expected(),
        elapsed_ns: end.saturating_sub(ready),
        owner_dead_recoveries: sh.recoveries().load(Ordering::SeqCst),
        workers_died: died,
    })
}

/// One run of `case`.
pub fn run_once(case: &CounterCase) -> Result<Outcome> {
    let o = match case.backend {
        BackendKind::Thread => run_threads(case)?,
        BackendKind::Fork | BackendKind::Spawn => run_processes(case)?,
    };
    if case.mode != Mode::Racy && o.workers_died == 0 && o.final_value != o.expected {
        return Err(Error::Verify(format!(
            "counter {} ({}): final value {} but {} workers × {} increments = {}",
            case.mode, case.backend, o.final_value, case.workers, case.increments, o.expected
        )));
    }
    Ok(o)
}

/// Measures one case over `samples` runs.
pub fn run_case(case: &CounterCase) -> Result<Record> {
    let mut outs = Vec::with_capacity(case.samples);
    for _ in 0..case.samples {
        if crate::signal::interrupted() {
            return Err(Error::interrupted());
        }
        outs.push(run_once(case)?);
    }
    let total = case.expected().max(1) as f64;
    let per_inc: Vec<f64> = outs.iter().map(|o| o.elapsed_ns as f64 / total).collect();
    let lost: Vec<f64> = outs.iter().map(|o| o.lost() as f64).collect();
    let stats = summarize(&per_inc);
    let lost_median = summarize(&lost).median;
    let mut warnings = Vec::new();
    if case.mode == Mode::Racy && lost_median > 0.0 {
        warnings.push(format!(
            "lost updates: median {lost_median:.0} of {} increments ({:.2}%)",
            case.expected(),
            100.0 * lost_median / total
        ));
    }
    if stats.cv > crate::workload::NOISY_CV {
        warnings.push(format!(
            "noisy: coefficient of variation {:.2} > {}",
            stats.cv,
            crate::workload::NOISY_CV
        ));
    }
    let last = outs.last().copied();
    Ok(Record {
        workload: "counter".into(),
        backend: case.backend.name().into(),
        channel: match case.backend {
            BackendKind::Thread => "heap".into(),
            _ => "shm".into(),
        },
        variant: Some(case.mode.name().into()),
        placement: case.placement.name().into(),
        cpus: case.cpus.clone(),
        workers: case.workers as u32,
        size_bytes: 8,
        working_set_bytes: 0,
        metric: "increment".into(),
        unit: "ns".into(),
        ops_per_sample: case.expected(),
        samples: per_inc.len(),
        stats,
        setup_ns: 0,
        checks: Checks {
            expected_value: Some(case.expected()),
            final_value: last.map(|o| o.final_value),
            lost_updates: Some(lost_median),
            lost_updates_max: lost
                .iter()
                .copied()
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
            increments: Some(case.increments),
            ..Default::default()
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(mode: Mode) -> CounterCase {
        CounterCase {
            backend: BackendKind::Thread,
            mode,
            workers: 8,
            increments: 20_000,
            placement: Placement::Os,
            cpus: vec![None; 8],
            samples: 1,
            kill_lock_holder_after: None,
        }
    }

    #[test]
    fn thread_modes_end_exactly_except_racy() {
        for m in [Mode::Atomic, Mode::Mutex, Mode::MutexBatch] {
            let o = run_once(&case(m)).unwrap();
            assert_eq!(o.final_value, 160_000, "{m}");
            assert_eq!(o.lost(), 0);
        }
        let o = run_once(&case(Mode::Racy)).unwrap();
        assert!(o.final_value <= 160_000 && o.final_value > 0);
        assert_eq!(o.lost(), 160_000 - o.final_value);
    }
}
