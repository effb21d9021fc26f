//! false-sharing: W workers each add 1 to their *own* counter K times,
//! released at once by a start gate. No two workers touch the same
//! counter, so every total is exact; what changes is where the counters
//! sit:
//! - `packed`: side by side, 8 bytes apart, so up to eight share one
//!   64-byte cache line, and every write must take the line from the
//!   other writers' caches first;
//! - `padded`: 128 bytes apart, a line pair each (the adjacent-line
//!   prefetcher fetches lines in pairs), so no two writers share a line.
//!
//! The counters live on the heap (`heap`, threads only: the idiomatic
//! thread way) or in a shared mapping (`shm`, for threads, fork and spawn
//! alike). Every worker writes its counter one of two ways (the
//! record's variant): a `store` (load, add, store) or an `atomic` locked
//! add, in one never-inlined loop of fixed machine code ([`own_loop`], the
//! C baseline's instructions), so the code is the same for every backend
//! and layout. The two differ on purpose: a store waits for the line in
//! the core's store buffer while the loop goes on, and some cores hide
//! the line's trips that way; a locked add needs the line at once. Coherence works on physical lines,
//! whatever address space maps them: the packed/padded ratio is expected
//! to be the same for threads and processes.

use super::counter::in_chunks;
use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::events::Phase;
use crate::measure::record::{self, Measured};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::SharedMem;
use mpmt_schema::{KernelEvents, Checks, Metric, Placement, Record, Unit, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The false-sharing workload.
pub struct FalseSharing;

/// `k` increments of a counter only this worker touches, written the way
/// `write` says. The machine code is fixed here in `asm!`, the same
/// instructions as the C baseline's (`benches/c/false_sharing.c`), since
/// the compiler's own choice moves the figure more than the layout does:
/// LLVM unrolls a volatile `c += 1` into four `inc [c]`, which one Intel
/// host ran at 0.5 ns each against 2.9 ns for gcc's load/add/store. Never
/// inlined, so every backend runs this one copy.
#[inline(never)]
pub fn own_loop(c: &AtomicU64, k: u64, write: Write) {
    if k == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    match write {
        // SAFETY: `c` is this worker's own aligned counter, which no other
        // worker reads or writes while it runs (they write other words,
        // maybe of the same line: the point of the workload); the loop
        // touches only it, `k` (nonzero, counted down) and one scratch
        // register, and leaves the stack alone.
        Write::Store => unsafe {
            std::arch::asm!(
                "2:",
                "mov {t}, qword ptr [{p}]",
                "add {t}, 1",
                "mov qword ptr [{p}], {t}",
                "dec {k}",
                "jnz 2b",
                p = in(reg) c.as_ptr(),
                k = inout(reg) k => _,
                t = out(reg) _,
                options(nostack),
            )
        },
        // SAFETY: as above; `lock add` is an atomic add to that counter.
        Write::Atomic => unsafe {
            std::arch::asm!(
                "2:",
                "lock add qword ptr [{p}], 1",
                "dec {k}",
                "jnz 2b",
                p = in(reg) c.as_ptr(),
                k = inout(reg) k => _,
                options(nostack),
            )
        },
    }
    #[cfg(not(target_arch = "x86_64"))]
    match write {
        Write::Store => {
            let p = c.as_ptr();
            for _ in 0..k {
                // SAFETY: `p` points to this worker's own aligned counter,
                // which no other worker reads or writes while it runs.
                unsafe { p.write_volatile(p.read_volatile() + 1) };
            }
        }
        Write::Atomic => {
            for _ in 0..k {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// How each worker writes its counter (the record's variant, beside the
/// layout).
pub use mpmt_schema::CounterWrite as Write;

/// Bytes between two workers' counters, packed (one line holds eight) and
/// padded (a pair of lines each).
pub use mpmt_schema::kinds::{PACKED_STRIDE, PADDED_STRIDE};

/// Where the counters sit: packed or padded, on the heap or in a mapping
/// (the record's variant).
pub use mpmt_schema::CounterLayout as Layout;

/// One false-sharing case.
#[derive(Debug, Clone, PartialEq)]
pub struct FalseSharingCase {
    pub backend: Backend,
    pub layout: Layout,
    pub write: Write,
    pub workers: usize,
    pub increments: u64,
    pub placement: Placement,
    pub cpus: Vec<Option<u32>>,
    pub samples: usize,
}

/// A line-aligned block of counters on the heap (threads only).
#[repr(C, align(128))]
struct Line([AtomicU64; 16]);

/// The counters threads share on the heap, line-aligned.
pub struct HeapSlots {
    lines: Box<[Line]>,
}

impl HeapSlots {
    fn new(workers: usize, stride: usize) -> HeapSlots {
        let lines = (workers * stride).div_ceil(128).max(1);
        HeapSlots {
            lines: (0..lines)
                .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        }
    }

    fn slot(&self, i: usize, stride: usize) -> &AtomicU64 {
        let word = i * stride / 8;
        &self.lines[word / 16].0[word % 16]
    }
}

/// Where the counters start in the shared mapping: after the gate, on a
/// line-pair boundary (the mapping itself is page-aligned).
fn slots_base(workers: usize) -> usize {
    gate_bytes(workers).next_multiple_of(PADDED_STRIDE)
}

fn mapping_bytes(workers: usize, stride: usize) -> usize {
    slots_base(workers) + (workers * stride).next_multiple_of(PADDED_STRIDE)
}

/// One worker: wait at the gate, add `k` times to its own counter, stamp
/// the timed phase.
pub struct FalseSharingJob {
    gate: Gate,
    index: usize,
    k: u64,
    write: Write,
    stride: usize,
    heap: Option<Arc<HeapSlots>>,
}

/// A worker as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct FalseSharingRemote {
    gate: RemoteGate,
    index: u32,
    increments: u64,
    write: Write,
    stride: u32,
}

impl Job for FalseSharingJob {
    const NAME: &'static str = "false-sharing";
    type Remote = FalseSharingRemote;

    fn run(self) -> Report {
        if self.gate.arrive().is_err() {
            return Report::failed(Status::GateNeverOpened);
        }
        let slot = match &self.heap {
            Some(h) => h.slot(self.index, self.stride),
            None => self
                .gate
                .mem()
                .atomic_u64(slots_base(self.gate.workers()) + self.index * self.stride),
        };
        let t = mono_ns();
        if let Err(s) = in_chunks(self.k, |n| own_loop(slot, n, self.write)) {
            return Report::failed(s);
        }
        self.gate.finish(self.index, t, mono_ns());
        self.gate.hold();
        Report::ok(self.k)
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<FalseSharingRemote> {
        Ok(FalseSharingRemote {
            gate: RemoteGate::of(&self.gate, carry)?,
            index: self.index as u32,
            increments: self.k,
            write: self.write,
            stride: self.stride as u32,
        })
    }

    fn from_remote(r: FalseSharingRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(FalseSharingJob {
            gate: r.gate.attach(true)?,
            index: r.index as usize,
            k: r.increments,
            write: r.write,
            stride: r.stride as usize,
            heap: None,
        })
    }
}

/// The outcome of one run: the timed phase and every worker's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub elapsed_ns: u64,
    pub totals: Vec<u64>,
}

/// One run of `case`; every worker's counter must end at exactly K.
pub fn run_once(case: &FalseSharingCase) -> Result<Outcome> {
    run_counted(case, false).map(|(o, _)| o)
}

/// One run of `case`, and (`count`) the kernel's counts per increment
/// over its timed phase.
pub fn run_counted(case: &FalseSharingCase, count: bool) -> Result<(Outcome, KernelEvents)> {
    let (w, stride) = (case.workers, case.layout.stride());
    let mem = SharedMem::new(mapping_bytes(w, stride), case.backend == Backend::Spawn)
        .map_err(|e| Error::io("mapping the counters", e))?;
    let mem = Arc::new(mem);
    let gate = Gate::new(mem.clone(), w)?;
    let heap = case
        .layout
        .on_heap()
        .then(|| Arc::new(HeapSlots::new(w, stride)));
    // Opened before the first worker starts, so every one inherits it.
    let phase = Phase::open(count);
    let mut team = Team::new(case.backend);
    let measured = (|| -> Result<u64> {
        for i in 0..w {
            let job = FalseSharingJob {
                gate: gate.clone(),
                index: i,
                k: case.increments,
                write: case.write,
                stride,
                heap: heap.clone(),
            };
            team.start(i, case.cpus[i], job)?;
        }
        super::gated(&gate, &phase, &mut || team.check_alive()).map(|(ready, _)| ready)
    })();
    let ready = match measured {
        Ok(r) => r,
        Err(e) => {
            phase.end();
            return Err(team.abort_at(&gate, e));
        }
    };
    let end = gate.last_end();
    for j in team.join_all() {
        if let Err(detail) = j.report {
            return Err(Error::Worker {
                index: j.index,
                backend: case.backend.name(),
                detail,
            });
        }
    }
    let totals: Vec<u64> = (0..w)
        .map(|i| match &heap {
            Some(h) => h.slot(i, stride).load(Ordering::SeqCst),
            None => mem
                .atomic_u64(slots_base(w) + i * stride)
                .load(Ordering::SeqCst),
        })
        .collect();
    if let Some((i, t)) = totals
        .iter()
        .enumerate()
        .find(|(_, &t)| t != case.increments)
    {
        return Err(Error::Verify(format!(
            "false-sharing {}-{} ({}): worker {i}'s own counter ended at {t}, not {}",
            case.layout, case.write, case.backend, case.increments
        )));
    }
    Ok((
        Outcome {
            elapsed_ns: end.saturating_sub(ready),
            totals,
        },
        phase.per_op(case.expected()),
    ))
}

impl FalseSharingCase {
    pub fn expected(&self) -> u64 {
        self.workers as u64 * self.increments
    }
}

impl Case for FalseSharingCase {
    /// 20 ms, its workers, and each increment over all writers at about
    /// what a packed line costs it: a store ~1.5 ns, a locked add ~20 ns
    /// (measured on a 2-vCPU Intel host; the workers run at once).
    fn expected_round(&self) -> std::time::Duration {
        let tenths_ns = match self.write {
            Write::Store => 15,
            Write::Atomic => 200,
        };
        std::time::Duration::from_millis(20)
            + super::member_setup(self.backend) * self.workers as u32
            + std::time::Duration::from_nanos(self.expected() * tenths_ns / 10)
                * self.samples as u32
    }

    fn workload(&self) -> Kind {
        Kind::FalseSharing
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        format!(
            "false-sharing {}-{} {} {} {}x{}",
            self.layout, self.write, self.backend, self.placement, self.workers, self.increments
        )
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn memory_bytes(&self) -> u64 {
        mapping_bytes(self.workers, PADDED_STRIDE) as u64 * 2
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        // Before the first run, a generous guess: 200 ns per increment.
        let guess = std::time::Duration::from_nanos(self.expected().saturating_mul(200));
        let (outs, counted) =
            ctx.runs_counted(self.samples, self.memory_bytes(), guess, |count| {
                run_counted(self, count)
            })?;
        let outs: Vec<Outcome> = outs.into_iter().map(|(o, _)| o).collect();
        let total = self.expected().max(1) as f64;
        Ok(vec![record::build(Measured {
            workload: Kind::FalseSharing,
            backend: self.backend,
            channel: None,
            variant: Some(mpmt_schema::Variant::Layout(self.layout, self.write)),
            placement: self.placement,
            cpus: self.cpus.clone(),
            workers: self.workers as u32,
            size_bytes: self.layout.stride() as u64,
            working_set_bytes: 0,
            metric: Metric::Increment,
            unit: Unit::Ns,
            ops_per_sample: self.expected(),
            values: outs.iter().map(|o| o.elapsed_ns as f64 / total).collect(),
            setup_ns: 0,
            checks: Checks {
                expected_value: Some(self.expected()),
                final_value: outs.last().map(|o| o.totals.iter().sum()),
                increments: Some(self.increments),
                kernel: counted.map(|c| c.1).unwrap_or_default(),
                ..Default::default()
            },
            switches: None,
        })])
    }
}

impl Workload for FalseSharing {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[(
            FalseSharingJob::NAME,
            crate::backend::run_remote::<FalseSharingJob>,
        )]
    }

    fn kind(&self) -> Kind {
        Kind::FalseSharing
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v: Vec<Box<dyn Case>> = Vec::new();
        for &backend in Backend::ALL {
            for layout in Layout::ALL.iter().copied().filter(|v| v.valid_for(backend)) {
                // Both writes on one layout per backend, the store on the rest.
                let writes: &[Write] = if layout.packed() && !layout.on_heap() {
                    Write::ALL
                } else {
                    &[Write::Store]
                };
                v.extend(writes.iter().map(|&write| -> Box<dyn Case> { Box::new(FalseSharingCase {
                    backend,
                    layout,
                    write,
                    workers: 3,
                    increments: 5000,
                    placement: Placement::Os,
                    cpus: vec![None; 3],
                    samples: 1,
                })}));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_put_counters_where_they_say() {
        // Packed: eight counters in one 64-byte line; padded: one per pair.
        let h = HeapSlots::new(8, PACKED_STRIDE);
        let base = h.slot(0, PACKED_STRIDE) as *const _ as usize;
        assert_eq!(base % 128, 0, "line-aligned");
        assert_eq!(h.slot(7, PACKED_STRIDE) as *const _ as usize - base, 56);
        let h = HeapSlots::new(3, PADDED_STRIDE);
        let base = h.slot(0, PADDED_STRIDE) as *const _ as usize;
        assert_eq!(h.slot(2, PADDED_STRIDE) as *const _ as usize - base, 256);
        assert_eq!(slots_base(4) % PADDED_STRIDE, 0);
        assert!(mapping_bytes(4, PADDED_STRIDE) >= slots_base(4) + 4 * 128);
    }

    #[test]
    fn every_thread_layout_ends_exact() {
        for &layout in Layout::ALL {
            for &write in Write::ALL {
                let o = run_once(&FalseSharingCase {
                    backend: Backend::Thread,
                    layout,
                    write,
                    workers: 4,
                    increments: 30_001,
                    placement: Placement::Os,
                    cpus: vec![None; 4],
                    samples: 1,
                })
                .unwrap();
                assert_eq!(o.totals, vec![30_001; 4], "{layout}-{write}");
            }
        }
        // The loop adds exactly k, for every k the chunks can hand it.
        for &write in Write::ALL {
            for k in [0, 1, 2, 7] {
                let c = AtomicU64::new(5);
                own_loop(&c, k, write);
                assert_eq!(c.load(Ordering::SeqCst), 5 + k, "{write} {k}");
            }
        }
        assert!(!Layout::PackedHeap.valid_for(Backend::Fork));
        assert!(Layout::PaddedShm.valid_for(Backend::Spawn));
    }
}
