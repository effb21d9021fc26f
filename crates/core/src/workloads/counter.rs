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

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::events::Phase;
use crate::measure::record::{self, Measured};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::{RobustMutex, SharedMem, Taken};
use crate::sys;
use mpmt_schema::{KernelEvents, summarize, Checks, Metric, Placement, Record, Unit, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The counter workload.
pub struct Counter;

/// How often the lock-holder kill hook (tests only) looks for a holder.
const HOLDER_POLL: Duration = Duration::from_micros(100);
/// How many times it looks before giving up.
const HOLDER_TRIES: usize = 10_000;

/// How each worker adds 1 (the record's variant).
pub use mpmt_schema::CounterMode as Mode;

/// One counter case.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterCase {
    pub backend: Backend,
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
#[derive(Clone)]
struct Shared {
    mem: Arc<SharedMem>,
    base: usize,
}

const _: () = assert!(RobustMutex::BYTES <= STATE_BYTES - MUTEX);

impl Shared {
    fn new(mem: Arc<SharedMem>, workers: usize) -> Shared {
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

    fn mutex(&self) -> RobustMutex {
        // SAFETY: in bounds (checked size) and 64-byte aligned, in the
        // mapping every member holds until it is reaped.
        unsafe { RobustMutex::at(self.mem.as_ptr().add(self.base + MUTEX)) }
    }

    /// Initialises the robust, process-shared mutex (parent, once).
    fn init_mutex(&self) -> Result<()> {
        self.mutex()
            .init()
            .map_err(|e| Error::io("initialising the process-shared mutex", e))
    }

    fn destroy_mutex(&self) {
        self.mutex().destroy();
    }

    /// Locks, recovering a lock whose owner died. Returns an errno on failure.
    fn lock(&self) -> std::result::Result<(), i32> {
        let m = self.mutex();
        if m.lock()? == Taken::OwnerDied {
            // Nothing to repair: the counter is one atomic word.
            m.consistent();
            self.recoveries().fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn unlock(&self) {
        self.mutex().unlock();
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

/// Increments between two looks at the stop flags: ~0.1–5 ms of work, so an
/// interrupt or a stall ends a thread member well within 100 ms.
const CHUNK: u64 = 1 << 16;

/// Runs `k` increments as `f(n)` calls of at most [`CHUNK`], looking at the
/// stop flags (SIGINT/SIGTERM, the stall deadline) between chunks. The
/// measured loops themselves are untouched: one call and two relaxed loads
/// per 65,536 increments, under 0.01 % of the loop's time. Every backend
/// runs this same code; only a thread member can see the flags set (a
/// process member is killed instead), and it ends early with the halt as
/// its status.
#[inline(always)]
pub(crate) fn in_chunks(k: u64, mut f: impl FnMut(u64)) -> std::result::Result<(), Status> {
    let mut left = k;
    while left > 0 {
        let n = left.min(CHUNK);
        f(n);
        left -= n;
        if left > 0 {
            if let Some(e) = crate::channel::ChanError::halted() {
                return Err(Status::Channel(e));
            }
        }
    }
    Ok(())
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

/// The counter threads share on the heap (threads only): the idiomatic
/// thread way, a std `Mutex` beside the value.
#[derive(Default)]
pub struct HeapCounter {
    value: AtomicU64,
    lock: Mutex<()>,
}

/// One counter worker: wait at the gate, add `k` times in `mode`, stamp
/// the timed phase. Threads count on the heap ([`HeapCounter`]); processes
/// on the mapping behind the gate, locking its process-shared mutex.
pub struct CounterJob {
    gate: Gate,
    index: usize,
    mode: Mode,
    k: u64,
    heap: Option<Arc<HeapCounter>>,
}

/// A counter worker as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct CounterRemote {
    gate: RemoteGate,
    index: u32,
    mode: Mode,
    increments: u64,
}

impl CounterJob {
    /// The loop over the process-shared state (allocation-free).
    fn on_mapping(&self, sh: &Shared) -> std::result::Result<(), Status> {
        let c = sh.counter();
        let k = self.k;
        match self.mode {
            Mode::Racy => in_chunks(k, |n| racy_loop(c, n)),
            Mode::Atomic => in_chunks(k, |n| atomic_loop(c, n)),
            Mode::Mutex => {
                let mut failed = None;
                in_chunks(k, |n| {
                    if failed.is_some() {
                        return;
                    }
                    for _ in 0..n {
                        if let Err(errno) = sh.lock() {
                            failed.get_or_insert(errno);
                            return;
                        }
                        bump(c);
                        sh.unlock();
                    }
                })?;
                match failed {
                    Some(errno) => Err(Status::SetupFailed { errno }),
                    None => Ok(()),
                }
            }
            Mode::MutexBatch => {
                sh.lock().map_err(|errno| Status::SetupFailed { errno })?;
                // SAFETY: getpid has no memory effects.
                sh.holder()
                    .store(unsafe { libc::getpid() } as u32, Ordering::Relaxed);
                let r = in_chunks(k, |n| racy_loop(c, n));
                sh.holder().store(0, Ordering::Relaxed);
                sh.unlock();
                r
            }
        }
    }

    fn on_heap(&self, h: &HeapCounter) -> std::result::Result<(), Status> {
        let (value, k) = (&h.value, self.k);
        match self.mode {
            Mode::Racy => in_chunks(k, |n| racy_loop(value, n)),
            Mode::Atomic => in_chunks(k, |n| atomic_loop(value, n)),
            Mode::Mutex => in_chunks(k, |n| {
                for _ in 0..n {
                    let _g = h.lock.lock().unwrap_or_else(|p| p.into_inner());
                    bump(value);
                }
            }),
            Mode::MutexBatch => {
                let _g = h.lock.lock().unwrap_or_else(|p| p.into_inner());
                in_chunks(k, |n| racy_loop(value, n))
            }
        }
    }
}

impl Job for CounterJob {
    const NAME: &'static str = "counter";
    type Remote = CounterRemote;

    fn run(self) -> Report {
        if self.gate.arrive().is_err() {
            return Report::failed(Status::GateNeverOpened);
        }
        let t = mono_ns();
        let done = match &self.heap {
            Some(h) => self.on_heap(h),
            None => {
                let sh = Shared::new(self.gate.mem().clone(), self.gate.workers());
                self.on_mapping(&sh)
            }
        };
        if let Err(s) = done {
            return Report::failed(s);
        }
        self.gate.finish(self.index, t, mono_ns());
        self.gate.hold();
        Report::ok(self.k)
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<CounterRemote> {
        Ok(CounterRemote {
            gate: RemoteGate::of(&self.gate, carry)?,
            index: self.index as u32,
            mode: self.mode,
            increments: self.k,
        })
    }

    fn from_remote(r: CounterRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(CounterJob {
            gate: r.gate.attach(true)?,
            index: r.index as usize,
            mode: r.mode,
            k: r.increments,
            heap: None,
        })
    }
}

/// Kills whichever process holds the batch lock `after` the gate opened;
/// returns its pid. A fault-injection hook: it sleeps inside the timed
/// phase, so only the robust-mutex tests set `kill_lock_holder_after`
/// (every plan leaves it None) and their runs are never recorded.
fn kill_lock_holder(sh: &Shared, after: Duration) -> Option<i32> {
    std::thread::sleep(after); // untimed: robust-mutex fault hook, test-only, never recorded
                               // Catch a moment when someone holds the lock (not between holders).
    for _ in 0..HOLDER_TRIES {
        let pid = sh.holder().load(Ordering::Relaxed) as i32;
        if pid > 0 {
            sys::child::kill9(pid);
            return Some(pid);
        }
        std::thread::sleep(HOLDER_POLL); // untimed: robust-mutex fault hook, test-only, never recorded
    }
    None
}

fn run_team(case: &CounterCase, count: bool) -> Result<(Outcome, KernelEvents)> {
    let w = case.workers;
    let mem = SharedMem::new(mapping_bytes(w), case.backend == Backend::Spawn)
        .map_err(|e| Error::io("mapping the counter", e))?;
    let mem = Arc::new(mem);
    let gate = Gate::new(mem.clone(), w)?;
    let sh = Shared::new(mem, w);
    let heap = (case.backend == Backend::Thread).then(|| Arc::new(HeapCounter::default()));
    if heap.is_none() {
        sh.init_mutex()?;
    }
    // Opened before the first worker starts, so every one inherits it.
    let phase = Phase::open(count);
    let mut team = Team::new(case.backend);
    let injecting = case.kill_lock_holder_after.is_some();
    let measured = (|| -> Result<(u64, usize, Option<i32>)> {
        for i in 0..w {
            let job = CounterJob {
                gate: gate.clone(),
                index: i,
                mode: case.mode,
                k: case.increments,
                heap: heap.clone(),
            };
            team.start(i, case.cpus[i], job)?;
        }
        let mut dead = || -> Result<usize> {
            if injecting {
                Ok(team.dead_members())
            } else {
                team.check_alive()
            }
        };
        gate.wait_ready(&mut dead)?;
        phase.begin();
        let ready = gate.open();
        let victim = case
            .kill_lock_holder_after
            .and_then(|after| kill_lock_holder(&sh, after));
        let died = gate.wait_done_then(&mut dead, || phase.end())?;
        Ok((ready, died, victim))
    })();
    let (ready, died, victim) = match measured {
        Ok(m) => m,
        Err(e) => {
            phase.end();
            return Err(team.abort_at(&gate, e));
        }
    };
    let end = gate.last_end();
    for j in team.join_all() {
        if let Err(detail) = j.report {
            if j.pid.is_none() || j.pid != victim {
                return Err(Error::Worker {
                    index: j.index,
                    backend: case.backend.name(),
                    detail,
                });
            }
        }
    }
    let final_value = match &heap {
        Some(h) => h.value.load(Ordering::SeqCst),
        None => {
            sh.destroy_mutex();
            sh.counter().load(Ordering::SeqCst)
        }
    };
    let o = Outcome {
        final_value,
        expected: case.expected(),
        elapsed_ns: end.saturating_sub(ready),
        owner_dead_recoveries: sh.recoveries().load(Ordering::SeqCst),
        workers_died: died,
    };
    Ok((o, phase.per_op(case.expected())))
}

/// One run of `case`.
pub fn run_once(case: &CounterCase) -> Result<Outcome> {
    run_counted(case, false).map(|(o, _)| o)
}

/// One run of `case`, and (`count`) the kernel's counts per increment
/// over its timed phase.
pub fn run_counted(case: &CounterCase, count: bool) -> Result<(Outcome, KernelEvents)> {
    let (o, k) = run_team(case, count)?;
    if case.mode != Mode::Racy && o.workers_died == 0 && o.final_value != o.expected {
        return Err(Error::Verify(format!(
            "counter {} ({}): final value {} but {} workers × {} increments = {}",
            case.mode, case.backend, o.final_value, case.workers, case.increments, o.expected
        )));
    }
    Ok((o, k))
}

impl Case for CounterCase {
    /// Its workers, and every increment at ~15 ns (atomic), ~50 ns
    /// (mutex) or a few ns (racy, batched), per sample.
    fn expected_round(&self) -> std::time::Duration {
        let per = match self.mode {
            Mode::Mutex => 50,
            Mode::Atomic => 15,
            _ => 2,
        };
        super::member_setup(self.backend) * self.workers as u32
            + std::time::Duration::from_nanos(per * self.expected()) * self.samples as u32
    }

    fn workload(&self) -> Kind {
        Kind::Counter
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        format!(
            "counter {} {} {} {}x{}",
            self.mode, self.backend, self.placement, self.workers, self.increments
        )
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn memory_bytes(&self) -> u64 {
        mapping_bytes(self.workers) as u64
    }

    /// Measures one case over `samples` runs.
    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        // Before the first run, a generous guess: 100 ns per increment
        // (a contended cross-CPU mutex measures ~70 ns here).
        let guess = std::time::Duration::from_nanos(self.expected().saturating_mul(100));
        let (outs, counted) =
            ctx.runs_counted(self.samples, self.memory_bytes(), guess, |count| {
                run_counted(self, count)
            })?;
        let outs: Vec<Outcome> = outs.into_iter().map(|(o, _)| o).collect();
        let total = self.expected().max(1) as f64;
        let per_inc: Vec<f64> = outs.iter().map(|o| o.elapsed_ns as f64 / total).collect();
        let lost: Vec<f64> = outs.iter().map(|o| o.lost() as f64).collect();
        Ok(vec![record::build(Measured {
            workload: Kind::Counter,
            backend: self.backend,
            channel: None,
            variant: Some(mpmt_schema::Variant::Mode(self.mode)),
            placement: self.placement,
            cpus: self.cpus.clone(),
            workers: self.workers as u32,
            size_bytes: 8,
            working_set_bytes: 0,
            metric: Metric::Increment,
            unit: Unit::Ns,
            ops_per_sample: self.expected(),
            values: per_inc,
            setup_ns: 0,
            checks: Checks {
                expected_value: Some(self.expected()),
                final_value: outs.last().map(|o| o.final_value),
                lost_updates: Some(summarize(&lost).median),
                lost_updates_max: lost.iter().copied().reduce(f64::max),
                increments: Some(self.increments),
                kernel: counted.map(|c| c.1).unwrap_or_default(),
                ..Default::default()
            },
            switches: None,
        })])
    }
}

impl Workload for Counter {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[(CounterJob::NAME, crate::backend::run_remote::<CounterJob>)]
    }

    fn kind(&self) -> Kind {
        Kind::Counter
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v: Vec<Box<dyn Case>> = Vec::new();
        for &backend in Backend::ALL {
            for mode in [Mode::Atomic, Mode::Mutex] {
                v.push(Box::new(CounterCase {
                    backend,
                    mode,
                    workers: 3,
                    increments: 2000,
                    placement: Placement::Os,
                    cpus: vec![None; 3],
                    samples: 1,
                    kill_lock_holder_after: None,
                }));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(mode: Mode) -> CounterCase {
        CounterCase {
            backend: Backend::Thread,
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
