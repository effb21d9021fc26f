//! vm-ops: W workers, released at once by a start gate, each repeat one
//! memory operation K times on their *own* memory (will-it-scale's
//! shapes). No data is shared; for threads the address space is: one
//! `mmap_lock`, one set of page tables, and an unmap or a protection
//! change must interrupt every other CPU the process runs on (a TLB
//! shootdown IPI). Processes pay none of that; whatever they pay shows
//! in the same record, beside the kernel's counts per op.
//!
//! The ops (one op is what will-it-scale counts as one iteration):
//! - `page-fault`: map 128 MiB, write one byte of every page, unmap it
//!   (`page_fault1`; one op per page);
//! - `mmap`: map and unmap an untouched 128 MiB region (`mmap1`);
//! - `madvise`: write one page of a 1 MiB mapping, `MADV_DONTNEED` it,
//!   read it back zero (`tlb_flush2`; one op per page);
//! - `mprotect`: flip one page read-only, then read-write (one op per
//!   flip);
//! - `malloc-small`, `malloc-large`: `malloc` and `free` 1 KiB or 128 MiB
//!   (`malloc2`, `malloc1`).
//!
//! Every worker runs the same never-inlined loop ([`ops`]) on raw
//! syscalls (and, for the malloc ops, the process's allocator: a forked
//! member is forked from a single-threaded parent, checked, so no lock
//! of it is held). After the timed phase each worker proves its op ran:
//! the region is mapped at the size asked, the protection refuses a
//! write exactly when set, a dropped page reads back zero.

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::events::Phase;
use crate::measure::record::{self, Measured};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::SharedMem;
use mpmt_schema::{Checks, Metric, Placement, Record, Unit, VmOp, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The vm-ops workload.
pub struct VmOps;

pub const PAGE: usize = 4096;
/// `page-fault`, `mmap`, `malloc-large`: will-it-scale's 128 MiB.
pub const LARGE: usize = 128 << 20;
/// `madvise`: will-it-scale's 1 MiB mapping.
pub const MADVISE_REGION: usize = 1 << 20;
/// `malloc-small`: 1 KiB.
pub const SMALL: usize = 1024;
/// Ops between two looks at the stop flags.
const CHUNK: u64 = 64;

/// One vm-ops case.
#[derive(Debug, Clone, PartialEq)]
pub struct VmOpsCase {
    pub backend: Backend,
    pub op: VmOp,
    pub workers: usize,
    /// Ops per worker per run.
    pub ops: u64,
    /// `page-fault` and `mmap`: the region mapped (128 MiB by default;
    /// smaller in tests).
    pub region: usize,
    pub placement: Placement,
    pub cpus: Vec<Option<u32>>,
    pub samples: usize,
}

/// Bytes one op works on: what the record's `size_bytes` says.
pub fn op_bytes(op: VmOp, region: usize) -> usize {
    match op {
        VmOp::PageFault | VmOp::Madvise | VmOp::Mprotect => PAGE,
        VmOp::Mmap => region,
        VmOp::MallocSmall => SMALL,
        VmOp::MallocLarge => LARGE,
    }
}

fn errno() -> i32 {
    crate::sys::errno()
}

fn map(len: usize) -> std::result::Result<*mut u8, Status> {
    // SAFETY: a fresh private anonymous mapping; no address hint.
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
    match p == libc::MAP_FAILED {
        true => Err(Status::SetupFailed { errno: errno() }),
        false => Ok(p as *mut u8),
    }
}

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: `p` is a mapping of `len` bytes this worker made and no
    // longer uses.
    unsafe { libc::munmap(p as *mut libc::c_void, len) };
}

/// Whether a stop flag is up (SIGINT/SIGTERM, the stall deadline): a
/// thread member looks between units of work and ends early.
fn halted() -> std::result::Result<(), Status> {
    match crate::channel::ChanError::halted() {
        Some(e) => Err(Status::Channel(e)),
        None => Ok(()),
    }
}

/// `n` ops of `op`, looking at the stop flags between units (a region, or
/// [`CHUNK`] ops); `scratch` is this worker's page for `mprotect`. Never
/// inlined: every backend runs the same code.
#[inline(never)]
pub fn ops(op: VmOp, n: u64, region: usize, scratch: *mut u8) -> std::result::Result<(), Status> {
    // A fresh mapping per `len` bytes, `each(page)` on its first `here`
    // pages, then unmapped: page-fault's and madvise's shape.
    let regions = |len: usize, each: &dyn Fn(*mut u8, u64) -> std::result::Result<(), Status>| {
        let pages = (len / PAGE) as u64;
        let mut done = 0;
        while done < n {
            let here = (n - done).min(pages);
            let p = map(len)?;
            for i in 0..here {
                // SAFETY: page i of the fresh mapping of `len` bytes.
                if let Err(s) = each(unsafe { p.add(i as usize * PAGE) }, done + i) {
                    unmap(p, len);
                    return Err(s);
                }
            }
            unmap(p, len);
            done += here;
            halted()?;
        }
        Ok(())
    };
    let chunks = |one: &dyn Fn(u64) -> std::result::Result<(), Status>| {
        for i in 0..n {
            one(i)?;
            if i % CHUNK == CHUNK - 1 {
                halted()?;
            }
        }
        Ok(())
    };
    match op {
        VmOp::PageFault => regions(region, &|page, _| {
            // SAFETY: a page of the fresh mapping.
            unsafe { page.write_volatile(1) };
            Ok(())
        }),
        VmOp::Mmap => chunks(&|_| {
            let p = map(region)?;
            unmap(p, region);
            Ok(())
        }),
        VmOp::Madvise => regions(MADVISE_REGION, &|page, i| {
            // SAFETY: a page of the fresh mapping; the madvise covers it
            // alone; reading it back faults in the zero page.
            unsafe {
                page.write_volatile(1);
                if libc::madvise(page as *mut libc::c_void, PAGE, libc::MADV_DONTNEED) != 0 {
                    return Err(Status::SetupFailed { errno: errno() });
                }
                if page.read_volatile() != 0 {
                    return Err(Status::Corrupt { op: i });
                }
            }
            Ok(())
        }),
        VmOp::Mprotect => chunks(&|_| {
            for prot in [libc::PROT_READ, libc::PROT_READ | libc::PROT_WRITE] {
                // SAFETY: this worker's own page.
                if unsafe { libc::mprotect(scratch as *mut libc::c_void, PAGE, prot) } != 0 {
                    return Err(Status::SetupFailed { errno: errno() });
                }
            }
            Ok(())
        }),
        VmOp::MallocSmall | VmOp::MallocLarge => {
            let size = op_bytes(op, region);
            chunks(&|i| {
                // SAFETY: malloc of a non-zero size, freed at once. The
                // pointer escapes through black_box, so the pair stays.
                unsafe {
                    let p = std::hint::black_box(libc::malloc(size));
                    if p.is_null() {
                        return Err(Status::Corrupt { op: i });
                    }
                    libc::free(p);
                }
                Ok(())
            })
        }
    }
}

/// After the timed phase: one more op of `op`, checked (untimed). Returns
/// whether it did what it says.
fn verify(op: VmOp, region: usize, scratch: *mut u8) -> bool {
    // A write the kernel makes into `p` (getrandom of one byte): refused
    // with EFAULT exactly when the page is read-only.
    let kernel_write = |p: *mut u8| {
        // SAFETY: a one-byte write into a page this worker mapped.
        unsafe { libc::getrandom(p as *mut libc::c_void, 1, 0) == 1 }
    };
    match op {
        VmOp::PageFault | VmOp::Mmap => {
            let Ok(p) = map(region) else { return false };
            // SAFETY: the mapping is `region` bytes: MADV_NORMAL over it
            // fails with ENOMEM if any of it is not mapped.
            let whole = unsafe { libc::madvise(p as *mut libc::c_void, region, libc::MADV_NORMAL) } == 0;
            // SAFETY: the last page of the mapping.
            let last = unsafe {
                let q = p.add(region - PAGE);
                q.write_volatile(7);
                q.read_volatile() == 7
            };
            unmap(p, region);
            whole && last
        }
        VmOp::Madvise => {
            // SAFETY: this worker's own mapping's first page.
            unsafe {
                scratch.write_volatile(9);
                let dropped =
                    libc::madvise(scratch as *mut libc::c_void, PAGE, libc::MADV_DONTNEED) == 0;
                dropped && scratch.read_volatile() == 0
            }
        }
        VmOp::Mprotect => {
            let set = |prot| {
                // SAFETY: this worker's own page.
                unsafe { libc::mprotect(scratch as *mut libc::c_void, PAGE, prot) == 0 }
            };
            let ro = set(libc::PROT_READ) && !kernel_write(scratch);
            let rw = set(libc::PROT_READ | libc::PROT_WRITE) && kernel_write(scratch);
            ro && rw
        }
        VmOp::MallocSmall | VmOp::MallocLarge => {
            let size = op_bytes(op, region);
            // SAFETY: malloc, a look at its usable size, free.
            unsafe {
                let p = libc::malloc(size);
                let ok = !p.is_null() && libc::malloc_usable_size(p) >= size;
                libc::free(p);
                ok
            }
        }
    }
}

/// Where worker i's verified count sits: after the gate, a line each.
fn slot_offset(workers: usize, i: usize) -> usize {
    gate_bytes(workers).next_multiple_of(128) + i * 128
}

fn mapping_bytes(workers: usize) -> usize {
    slot_offset(workers, workers)
}

/// One worker: its scratch memory, the gate, K ops, the check.
pub struct VmOpsJob {
    gate: Gate,
    index: usize,
    op: VmOp,
    ops: u64,
    region: usize,
}

/// A worker as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct VmOpsRemote {
    gate: RemoteGate,
    index: u32,
    op: String,
    ops: u64,
    region: u64,
}

impl Job for VmOpsJob {
    const NAME: &'static str = "vm-ops";
    type Remote = VmOpsRemote;

    fn run(self) -> Report {
        // The scratch page (mprotect's, and the checks') is mapped and
        // faulted in before the gate: only the op is timed.
        let scratch_len = PAGE;
        let scratch = match map(scratch_len) {
            Ok(p) => p,
            Err(s) => return Report::failed(s),
        };
        // SAFETY: the first byte of the fresh scratch mapping.
        unsafe { scratch.write_volatile(1) };
        if self.gate.arrive().is_err() {
            unmap(scratch, scratch_len);
            return Report::failed(Status::GateNeverOpened);
        }
        let t = mono_ns();
        let ran = ops(self.op, self.ops, self.region, scratch);
        let end = mono_ns();
        self.gate.finish(self.index, t, end);
        let verified = ran.is_ok() && verify(self.op, self.region, scratch);
        self.gate
            .mem()
            .atomic_u64(slot_offset(self.gate.workers(), self.index))
            .store(verified as u64, Ordering::Release);
        unmap(scratch, scratch_len);
        self.gate.hold();
        match ran {
            Ok(()) => Report::ok(self.ops),
            Err(s) => Report::failed(s),
        }
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<VmOpsRemote> {
        Ok(VmOpsRemote {
            gate: RemoteGate::of(&self.gate, carry)?,
            index: self.index as u32,
            op: self.op.name().to_string(),
            ops: self.ops,
            region: self.region as u64,
        })
    }

    fn from_remote(r: VmOpsRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(VmOpsJob {
            gate: r.gate.attach(true)?,
            index: r.index as usize,
            op: VmOp::parse(&r.op).ok_or(Status::BadJob)?,
            ops: r.ops,
            region: r.region as usize,
        })
    }
}

/// One run: the timed phase, the kernel's counts over it, and how many
/// workers proved their op ran.
pub struct Outcome {
    pub elapsed_ns: u64,
    pub kernel: mpmt_schema::KernelEvents,
    pub verified: u64,
}

/// One run of `case` (`count`: with the kernel's counters on): every
/// worker must prove its op ran.
pub fn run_once(case: &VmOpsCase, count: bool) -> Result<Outcome> {
    let w = case.workers;
    let mem = SharedMem::new(mapping_bytes(w), case.backend == Backend::Spawn)
        .map_err(|e| Error::io("mapping the gate", e))?;
    let mem = Arc::new(mem);
    let gate = Gate::new(mem.clone(), w)?;
    // Opened before the first worker starts, so every one inherits it.
    let phase = Phase::open(count);
    let mut team = Team::new(case.backend);
    let measured = (|| -> Result<u64> {
        for i in 0..w {
            let job = VmOpsJob {
                gate: gate.clone(),
                index: i,
                op: case.op,
                ops: case.ops,
                region: case.region,
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
    team.join()?;
    let verified: u64 = (0..w)
        .map(|i| mem.atomic_u64(slot_offset(w, i)).load(Ordering::Acquire))
        .sum();
    if verified != w as u64 {
        return Err(Error::Verify(format!(
            "vm-ops {} ({}): {} of {w} workers' checks failed after the timed phase ({})",
            case.op,
            case.backend,
            w as u64 - verified,
            case.op.describe()
        )));
    }
    Ok(Outcome {
        elapsed_ns: end.saturating_sub(ready),
        kernel: phase.per_op(case.total_ops()),
        verified: verified * case.verified_per_worker(),
    })
}

impl VmOpsCase {
    pub fn total_ops(&self) -> u64 {
        self.workers as u64 * self.ops
    }

    /// Ops each worker checked per run: every madvise op reads its page
    /// back zero inside the loop (as `tlb_flush2` does); the others
    /// check one more op after it.
    fn verified_per_worker(&self) -> u64 {
        match self.op {
            VmOp::Madvise => self.ops + 1,
            _ => 1,
        }
    }

    /// A first guess at one op, for the budget and the run's first
    /// deadline: measured on 2 vCPUs, rounded up.
    fn guess_op(&self) -> Duration {
        Duration::from_nanos(match self.op {
            VmOp::PageFault => 400,
            VmOp::Mmap => 3_000,
            VmOp::Madvise => 2_500,
            VmOp::Mprotect => 2_000,
            VmOp::MallocSmall => 50,
            VmOp::MallocLarge => 4_000,
        })
    }
}

impl Case for VmOpsCase {
    fn expected_round(&self) -> Duration {
        Duration::from_millis(20)
            + super::member_setup(self.backend) * self.workers as u32
            + self.guess_op() * (self.ops * self.samples as u64) as u32
    }

    fn workload(&self) -> Kind {
        Kind::VmOps
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        format!(
            "vm-ops {} {} {} {}x{}",
            self.op, self.backend, self.placement, self.workers, self.ops
        )
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn memory_bytes(&self) -> u64 {
        let each = match self.op {
            VmOp::PageFault => self.region,
            VmOp::Madvise => MADVISE_REGION,
            VmOp::Mmap | VmOp::Mprotect | VmOp::MallocSmall => 2 * PAGE,
            VmOp::MallocLarge => LARGE,
        };
        (each * self.workers + mapping_bytes(self.workers)) as u64
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        // Before the first run, a generous guess: 50× the first guess.
        let guess = self.guess_op() * 50 * self.ops.min(u32::MAX as u64) as u32;
        let (outs, counted) =
            ctx.runs_counted(self.samples, self.memory_bytes(), guess, |count| {
                run_once(self, count)
            })?;
        let per = self.ops.max(1) as f64;
        Ok(vec![record::build(Measured {
            workload: Kind::VmOps,
            backend: self.backend,
            channel: None,
            variant: Some(mpmt_schema::Variant::Op(self.op)),
            placement: self.placement,
            cpus: self.cpus.clone(),
            workers: self.workers as u32,
            size_bytes: op_bytes(self.op, self.region) as u64,
            working_set_bytes: 0,
            metric: Metric::VmOp,
            unit: Unit::Ns,
            ops_per_sample: self.total_ops(),
            // ns per op per worker: the workers run at once.
            values: outs.iter().map(|o| o.elapsed_ns as f64 / per).collect(),
            setup_ns: 0,
            checks: Checks {
                ops_verified: Some(
                    outs.iter().map(|o| o.verified).sum::<u64>()
                        + counted.as_ref().map_or(0, |c| c.verified),
                ),
                kernel: counted.map(|c| c.kernel).unwrap_or_default(),
                ..Default::default()
            },
            switches: None,
        })])
    }
}

impl Workload for VmOps {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[(VmOpsJob::NAME, crate::backend::run_remote::<VmOpsJob>)]
    }

    fn kind(&self) -> Kind {
        Kind::VmOps
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v: Vec<Box<dyn Case>> = Vec::new();
        for &backend in Backend::ALL {
            for &op in VmOp::ALL {
                v.push(Box::new(VmOpsCase {
                    backend,
                    op,
                    workers: 2,
                    ops: 40,
                    region: 16 * PAGE,
                    placement: Placement::Os,
                    cpus: vec![None; 2],
                    samples: 1,
                }));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(op: VmOp, workers: usize) -> VmOpsCase {
        VmOpsCase {
            backend: Backend::Thread,
            op,
            workers,
            ops: 100,
            region: 16 * PAGE,
            placement: Placement::Os,
            cpus: vec![None; workers],
            samples: 1,
        }
    }

    #[test]
    fn every_op_runs_and_proves_it_for_threads() {
        for &op in VmOp::ALL {
            let o = run_once(&case(op, 2), false).unwrap();
            let want = match op {
                VmOp::Madvise => 2 * 101,
                _ => 2,
            };
            assert_eq!(o.verified, want, "{op}");
        }
    }

    #[test]
    fn each_fault_is_counted_where_the_kernel_lets_us() {
        let o = run_once(&case(VmOp::PageFault, 2), true).unwrap();
        match o.kernel.minor_faults_per_op {
            // One fault per page touched; the gate and exit add a few.
            Some(f) => assert!((1.0..1.5).contains(&f), "{f} faults per page"),
            None => assert!(o.kernel.kernel_events_missing.is_some()),
        }
    }

    #[test]
    fn a_page_left_writable_fails_the_mprotect_check() {
        let p = map(PAGE).unwrap();
        // SAFETY: the first byte of the fresh page.
        unsafe { p.write_volatile(1) };
        assert!(verify(VmOp::Mprotect, PAGE, p));
        // A check that trusts the op: the page read-only, then asked to
        // take a kernel write, must refuse.
        // SAFETY: our own page.
        unsafe { libc::mprotect(p as *mut libc::c_void, PAGE, libc::PROT_READ) };
        // SAFETY: a one-byte write the kernel attempts into our page.
        let wrote = unsafe { libc::getrandom(p as *mut libc::c_void, 1, 0) };
        assert_eq!(wrote, -1);
        assert_eq!(errno(), libc::EFAULT);
        unmap(p, PAGE);
    }
}
