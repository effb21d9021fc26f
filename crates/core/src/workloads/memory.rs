//! memory: what W live workers cost the machine in memory, weighed while
//! they hold still.
//!
//! Each worker maps and writes a private working set of P bytes (one
//! word per page, every page touched) and reads one word of every page of
//! a shared region of S bytes (a database's shared buffers), then waits
//! at the start gate while the parent weighs it from
//! `/proc/<pid>/smaps_rollup` (RSS, PSS, USS = private clean + private
//! dirty, swap) and `/proc/<pid>/status` (`VmPTE`: every level of its page
//! tables). Threads share one process: their figures are the process's
//! growth over what it weighed before they were made, divided by W (their
//! stacks are in it). Once weighed, the gate opens and every worker
//! checks its working set and its sums of the shared region, so the
//! pages weighed are the pages written.
//!
//! The shared region is a memfd the parent fills with `pwrite`, never
//! mapping it: no process has a page of it in its page tables until a
//! worker reads it, so a forked worker's page tables for S are its own
//! (about 2 MiB per GiB), and a thread team's are the process's, once.
//! The parent's own figures before and while the workers live are in each
//! record, and what the workers added in all (their sum plus the
//! parent's change: a forked child takes a share of the parent's pages,
//! which the parent's PSS gives up) is `extra_per_worker_bytes`.

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::measure::record::{self, Measured};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::SharedMem;
use crate::sys::proc::Weight;
use mpmt_schema::{Checks, KernelEvents, Metric, Placement, Record, Unit, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The memory workload.
pub struct Memory;

const PAGE: usize = 4096;

/// One memory case.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryCase {
    pub backend: Backend,
    pub workers: usize,
    /// Private working set per worker, bytes (a multiple of a page).
    pub private: usize,
    /// The shared region every worker reads, bytes (a multiple of a page).
    pub shared: usize,
    pub placement: Placement,
    pub cpus: Vec<Option<u32>>,
    /// Weighings per round.
    pub samples: usize,
    /// How long the weighed workers stay alive before they are checked
    /// and let go (their pids on stderr), so another tool can weigh the
    /// same workers (`smem`, docs/validation.md). Zero: not at all.
    pub hold: Duration,
}

/// The metrics of a memory case, one record each, in this order.
pub const METRICS: [Metric; 4] = [Metric::Pss, Metric::Uss, Metric::Rss, Metric::PageTables];

/// `metric` of a weight.
pub fn figure(w: &Weight, metric: Metric) -> u64 {
    match metric {
        Metric::Pss => w.pss,
        Metric::Uss => w.uss,
        Metric::Rss => w.rss,
        Metric::PageTables => w.page_tables,
        _ => unreachable!("not a memory metric: {metric}"),
    }
}

/// Where worker i's verified byte count sits: after the gate, a line each.
fn slot_offset(workers: usize, i: usize) -> usize {
    gate_bytes(workers).next_multiple_of(128) + i * 128
}

/// Where the shared region starts in the mapping (page-aligned).
fn shared_offset(workers: usize) -> usize {
    slot_offset(workers, workers).next_multiple_of(PAGE)
}

/// The word page `i` of the shared region holds.
fn shared_word(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5eed
}

/// The word page `i` of worker `w`'s working set holds.
fn private_word(w: usize, i: usize) -> u64 {
    ((w as u64) << 40) ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// The sum of the shared region's words over `pages` pages.
fn shared_sum(pages: usize) -> u64 {
    (0..pages).fold(0u64, |a, i| a.wrapping_add(shared_word(i)))
}

/// One worker: touch, read, hold still to be weighed, check.
pub struct MemoryJob {
    gate: Gate,
    index: usize,
    private: usize,
    shared: usize,
}

/// A worker as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct MemoryRemote {
    gate: RemoteGate,
    index: u32,
    private: u64,
    shared: u64,
}

impl MemoryJob {
    /// The shared region's words summed, one per page.
    fn read_shared(&self) -> u64 {
        let base = shared_offset(self.gate.workers());
        let mem = self.gate.mem();
        (0..self.shared / PAGE).fold(0u64, |a, i| {
            a.wrapping_add(mem.atomic_u64(base + i * PAGE).load(Ordering::Relaxed))
        })
    }
}

impl Job for MemoryJob {
    const NAME: &'static str = "memory";
    type Remote = MemoryRemote;

    fn run(self) -> Report {
        let pages = self.private / PAGE;
        let p = match self.private {
            0 => std::ptr::null_mut(),
            len => {
                // SAFETY: a fresh private anonymous mapping; no hint.
                let p = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if p == libc::MAP_FAILED {
                    return Report::failed(Status::SetupFailed {
                        errno: crate::sys::errno(),
                    });
                }
                p as *mut u64
            }
        };
        for i in 0..pages {
            // SAFETY: page i of the fresh mapping of `pages` pages.
            unsafe { p.add(i * PAGE / 8).write_volatile(private_word(self.index, i)) };
        }
        let read = self.read_shared();
        let weighed = self.gate.arrive();
        // Weighed: now prove the pages weighed are the pages written.
        let mut ok = weighed.is_ok() && read == shared_sum(self.shared / PAGE);
        for i in 0..pages {
            // SAFETY: as above; nobody else maps this private memory.
            ok &= unsafe { p.add(i * PAGE / 8).read_volatile() } == private_word(self.index, i);
        }
        ok &= self.read_shared() == read;
        let verified = match ok {
            true => (self.private + self.shared) as u64,
            false => 0,
        };
        self.gate
            .mem()
            .atomic_u64(slot_offset(self.gate.workers(), self.index))
            .store(verified, Ordering::Release);
        if !p.is_null() {
            // SAFETY: this worker's own mapping, no longer used.
            unsafe { libc::munmap(p as *mut libc::c_void, self.private) };
        }
        self.gate.finish(self.index, 0, 0);
        self.gate.hold();
        match weighed {
            Ok(()) => Report::ok(1),
            Err(_) => Report::failed(Status::GateNeverOpened),
        }
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<MemoryRemote> {
        Ok(MemoryRemote {
            gate: RemoteGate::of(&self.gate, carry)?,
            index: self.index as u32,
            private: self.private as u64,
            shared: self.shared as u64,
        })
    }

    fn from_remote(r: MemoryRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(MemoryJob {
            // Not prefaulted: the worker maps what it reads, as a
            // forked one does.
            gate: r.gate.attach(false)?,
            index: r.index as usize,
            private: r.private as usize,
            shared: r.shared as usize,
        })
    }
}

/// One weighing of W live workers.
#[derive(Debug, Clone)]
pub struct Weighing {
    /// Each worker's figures (threads: one entry, the process's growth
    /// over W).
    pub each: Vec<Weight>,
    /// The parent before the workers were made, and while they lived
    /// (threads: the process, workers included).
    pub parent_before: Weight,
    pub parent_after: Weight,
    /// Bytes of working sets and shared region the workers checked.
    pub verified: u64,
    /// A thread team: `each` is the process's growth over W, which is
    /// the parent's change itself.
    pub threads: bool,
}

impl Weighing {
    /// What the workers added to the machine, per worker, in `metric`:
    /// their figures plus the parent's change, over W.
    pub fn extra_per_worker(&self, metric: Metric, workers: usize) -> f64 {
        let f = |w: &Weight| figure(w, metric) as f64;
        let parent = f(&self.parent_after) - f(&self.parent_before);
        match self.threads {
            // The growth is the parent's change (adding `each` too would
            // count it twice).
            true => parent / workers as f64,
            false => (self.each.iter().map(f).sum::<f64>() + parent) / workers as f64,
        }
    }
}

/// Writes the shared region's words into the memfd with `pwrite`, one
/// page at a time in 1 MiB batches: the parent never maps it.
fn fill_shared(mem: &SharedMem, offset: usize, len: usize) -> Result<()> {
    let fd = mem
        .memfd()
        .ok_or_else(|| Error::Setup("the shared region has no memfd".into()))?;
    const BATCH: usize = 1 << 20;
    let mut buf = vec![0u8; BATCH];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(BATCH);
        for (j, page) in buf[..n].chunks_mut(PAGE).enumerate() {
            page[..8].copy_from_slice(&shared_word((done / PAGE) + j).to_ne_bytes());
        }
        // SAFETY: pwrite from our buffer into our own memfd.
        let w = unsafe {
            libc::pwrite(
                fd.as_raw_fd(),
                buf.as_ptr() as *const libc::c_void,
                n,
                (offset + done) as libc::off_t,
            )
        };
        if w != n as isize {
            return Err(Error::io(
                "writing the shared region",
                std::io::Error::last_os_error(),
            ));
        }
        done += n;
    }
    Ok(())
}

fn weigh(pid: &str) -> Result<Weight> {
    Weight::of(pid).map_err(|e| Error::io(format!("weighing /proc/{pid}"), e))
}

/// Keeps the weighed workers parked for `case.hold`, saying where they
/// are and what mpmt weighed (untimed: a weighing, not a measurement).
fn hold(case: &MemoryCase, pids: &[i32], each: &[Weight]) -> Result<()> {
    let who = match case.backend {
        Backend::Thread => format!("the threads of pid {}", std::process::id()),
        _ => format!(
            "pids {}",
            pids.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
        ),
    };
    let pss: Vec<String> = each.iter().map(|w| format!("{} kB", w.pss / 1024)).collect();
    eprintln!(
        "mpmt: holding {} live workers for {:?}: {who}; PSS per worker as weighed: {}",
        case.workers,
        case.hold,
        pss.join(", ")
    );
    crate::sys::watchdog::extend(case.hold + Duration::from_secs(10));
    let until = std::time::Instant::now() + case.hold;
    while std::time::Instant::now() < until {
        if let Some(e) = Error::halted() {
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(10)); // untimed: holding for another tool
    }
    Ok(())
}

/// One weighing of `case`'s workers, made, weighed, checked and joined.
pub fn run_once(case: &MemoryCase) -> Result<Weighing> {
    let w = case.workers;
    let mem = SharedMem::new_lazy(shared_offset(w) + case.shared)
        .map_err(|e| Error::io("making the shared region", e))?;
    fill_shared(&mem, shared_offset(w), case.shared)?;
    let mem = Arc::new(mem);
    let gate = Gate::new(mem.clone(), w)?;
    let parent_before = weigh("self")?;
    let mut team = Team::new(case.backend);
    let weighed = (|| -> Result<(Vec<Weight>, Weight)> {
        for i in 0..w {
            let job = MemoryJob {
                gate: gate.clone(),
                index: i,
                private: case.private,
                shared: case.shared,
            };
            team.start(i, case.cpus[i], job)?;
        }
        team.wait_gate_ready(&gate)?;
        let weights = match case.backend {
            Backend::Thread => Ok(Vec::new()),
            _ => team.pids().iter().map(|p| weigh(&p.to_string())).collect(),
        };
        let parent_after = weigh("self");
        // A worker that died while weighed is named as such, not as a
        // file that vanished.
        team.check_alive()?;
        let mut each = weights?;
        let parent_after = parent_after?;
        if case.backend == Backend::Thread {
            each.push(parent_after.growth_over(parent_before).per(w as u64));
        }
        if !case.hold.is_zero() {
            hold(case, &team.pids(), &each)?;
        }
        gate.open();
        team.wait_gate_done(&gate)?;
        Ok((each, parent_after))
    })();
    let (each, parent_after) = match weighed {
        Ok(v) => v,
        Err(e) => return Err(team.abort_at(&gate, e)),
    };
    team.join()?;
    let verified: Vec<u64> = (0..w)
        .map(|i| mem.atomic_u64(slot_offset(w, i)).load(Ordering::Acquire))
        .collect();
    let want = (case.private + case.shared) as u64;
    if let Some(i) = verified.iter().position(|&v| v != want) {
        return Err(Error::Verify(format!(
            "memory ({}): worker {i}'s working set or its reading of the shared region changed while it was weighed",
            case.backend
        )));
    }
    Ok(Weighing {
        each,
        parent_before,
        parent_after,
        verified: verified.iter().sum(),
        threads: case.backend == Backend::Thread,
    })
}

impl Case for MemoryCase {
    /// Each worker's start, its pages touched and checked (~0.5 µs a
    /// page on 2 vCPUs), the weighing (~2 ms a worker: smaps_rollup walks
    /// its page tables).
    fn expected_round(&self) -> Duration {
        let pages = (self.private + self.shared) / PAGE;
        let held = self.hold * self.samples as u32;
        let one = super::member_setup(self.backend)
            + Duration::from_nanos(pages as u64 * 500)
            + Duration::from_millis(2);
        Duration::from_millis(10) + one * (self.workers * self.samples) as u32 + held
    }

    fn workload(&self) -> Kind {
        Kind::Memory
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        use mpmt_schema::units::fmt_bytes;
        format!(
            "memory {} {}x private={} shared={}",
            self.backend,
            self.workers,
            fmt_bytes(self.private as u64),
            fmt_bytes(self.shared as u64)
        )
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn memory_bytes(&self) -> u64 {
        (self.private * self.workers + self.shared + shared_offset(self.workers)) as u64
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        let guess = self.expected_round() * 20;
        let runs = ctx.runs(self.samples, self.memory_bytes(), guess, || run_once(self))?;
        let med = |v: Vec<f64>| mpmt_schema::summarize(&v).median;
        let records = METRICS
            .iter()
            .map(|&metric| {
                let of = |w: &Weight| figure(w, metric) as f64;
                let values: Vec<f64> = runs.iter().flat_map(|r| r.each.iter().map(of)).collect();
                record::build(Measured {
                    workload: Kind::Memory,
                    backend: self.backend,
                    channel: None,
                    variant: None,
                    placement: self.placement,
                    cpus: self.cpus.clone(),
                    workers: self.workers as u32,
                    size_bytes: self.shared as u64,
                    working_set_bytes: self.private as u64,
                    metric,
                    unit: Unit::Bytes,
                    ops_per_sample: 1,
                    values,
                    setup_ns: 0,
                    checks: Checks {
                        parent_before_bytes: Some(med(runs
                            .iter()
                            .map(|r| of(&r.parent_before))
                            .collect())),
                        parent_after_bytes: Some(med(runs
                            .iter()
                            .map(|r| of(&r.parent_after))
                            .collect())),
                        extra_per_worker_bytes: Some(med(runs
                            .iter()
                            .map(|r| r.extra_per_worker(metric, self.workers))
                            .collect())),
                        swap_bytes: Some(med(runs
                            .iter()
                            .flat_map(|r| r.each.iter().map(|w| w.swap as f64))
                            .collect())),
                        bytes_verified: Some(runs.iter().map(|r| r.verified).sum()),
                        workers_reaped: Some((runs.len() * self.workers) as u64),
                        kernel: KernelEvents {
                            kernel_events_missing: Some(
                                "a memory reading, not an operation".into(),
                            ),
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                    switches: None,
                })
            })
            .collect();
        Ok(records)
    }
}

impl Workload for Memory {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[(MemoryJob::NAME, crate::backend::run_remote::<MemoryJob>)]
    }

    fn kind(&self) -> Kind {
        Kind::Memory
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        Backend::ALL
            .iter()
            .map(|&backend| {
                Box::new(MemoryCase {
                    backend,
                    workers: 2,
                    private: 16 * PAGE,
                    shared: 8 * PAGE,
                    placement: Placement::Os,
                    cpus: vec![None; 2],
                    samples: 1,
                    hold: Duration::ZERO,
                }) as Box<dyn Case>
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pss: u64) -> Weight {
        Weight {
            pss,
            ..Default::default()
        }
    }

    #[test]
    fn what_a_worker_adds_counts_nothing_twice() {
        // One thread that grew the process by 320: it adds 320, whether
        // the team is one thread or two.
        for workers in [1, 2] {
            let per = 320 / workers as u64;
            let r = Weighing {
                each: vec![w(per)],
                parent_before: w(8),
                parent_after: w(8 + 320),
                verified: 0,
                threads: true,
            };
            assert_eq!(r.extra_per_worker(Metric::Pss, workers), per as f64);
        }
        // Two forked workers of 100 each, who took 10 of the parent's
        // pages off its PSS: 95 each.
        let r = Weighing {
            each: vec![w(100), w(100)],
            parent_before: w(50),
            parent_after: w(40),
            verified: 0,
            threads: false,
        };
        assert_eq!(r.extra_per_worker(Metric::Pss, 2), 95.0);
    }
}
