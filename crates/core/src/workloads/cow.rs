//! cow: what copy-on-write costs once someone writes after `fork`.
//!
//! The parent maps and touches a heap of H bytes (2 MiB-aligned; with
//! `huge`, advised `MADV_HUGEPAGE` before it is touched), forks one child
//! (the kernel's `clone(SIGCHLD)`, timed in the parent: the `fork`
//! record), and then one side writes one byte in a fraction F of the
//! heap's pages, spread evenly over it:
//!
//! - `child`: the child writes its copy; every first write faults and
//!   copies the page the parent still maps;
//! - `parent`: the parent writes while the child still holds the old
//!   pages, and copies them itself;
//! - `thread`: a thread writes the same pages with no fork at all, so
//!   nothing is copied: the baseline.
//!
//! The write pass is timed by the writer itself (CLOCK_MONOTONIC around
//! the loop) and its minor faults are the writer's own `getrusage`
//! (RUSAGE_SELF in the child, RUSAGE_THREAD in the parent or thread): one
//! per page with 4 KiB pages. The parent weighs the child from /proc
//! before and after the writes. Then both sides check the heap: the
//! writer sees its byte on exactly the pages it wrote, the other side on
//! none, and every page keeps the word it was touched with.
//!
//! The child runs only this file's loops and raw system calls, then
//! `_exit`s; every wait on it is bounded and looks at how it ended.

use super::{Case, Context, Workload};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::events::Phase;
use crate::measure::record::{self, Measured};
use crate::shm::SharedMem;
use crate::sys;
use crate::sys::futex::{futex_wait, futex_wake};
use crate::sys::proc::Weight;
use mpmt_schema::{
    Checks, CowWrite, CowWriter, KernelEvents, Metric, Placement, Record, Unit, Variant,
    Workload as Kind,
};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The cow workload.
pub struct Cow;

pub const PAGE: usize = 4096;
const HUGE: usize = 2 << 20;
/// Where in each page the writer's byte goes (the page's first word
/// holds the value it was touched with).
const MARK_AT: usize = 64;
const MARK: u8 = 0xA5;
/// How long either side waits for the other before giving up.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const RECHECK: Duration = Duration::from_millis(10);

/// One cow case.
#[derive(Debug, Clone, PartialEq)]
pub struct CowCase {
    pub write: CowWrite,
    /// The parent's heap, bytes (a multiple of 2 MiB).
    pub heap: usize,
    pub placement: Placement,
    pub cpu: Option<u32>,
    pub samples: usize,
}

impl CowCase {
    pub fn pages(&self) -> usize {
        self.heap / PAGE
    }

    /// Pages written per run: F of the heap's, rounded, at least one
    /// when F > 0.
    pub fn written(&self) -> usize {
        written(self.pages(), self.write.ppm)
    }
}

/// Pages of `pages` that a fraction of `ppm` parts per million writes.
pub fn written(pages: usize, ppm: u32) -> usize {
    match ppm {
        0 => 0,
        p => ((pages as u64 * p as u64 + 500_000) / 1_000_000).clamp(1, pages as u64) as usize,
    }
}

/// The page the j-th of `n` writes lands on, spread evenly over `pages`.
fn target(j: usize, n: usize, pages: usize) -> usize {
    (j as u64 * pages as u64 / n as u64) as usize
}

/// Whether page i is one of the `n` written.
fn is_target(i: usize, n: usize, pages: usize) -> bool {
    if n == 0 {
        return false;
    }
    let j = (i as u64 * n as u64).div_ceil(pages as u64) as usize;
    j < n && target(j, n, pages) == i
}

/// The word page i is touched with.
fn word(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}

/// A 2 MiB-aligned private anonymous heap, every page touched with its
/// word (huge: advised MADV_HUGEPAGE first).
struct Heap {
    base: *mut u8,
    len: usize,
    /// The whole mapping, alignment slack included.
    map: *mut u8,
    map_len: usize,
}

impl Heap {
    fn new(len: usize, huge: bool) -> Result<Heap> {
        let map_len = len + HUGE;
        // SAFETY: a fresh private anonymous mapping; no hint.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(Error::io("mapping the heap", std::io::Error::last_os_error()));
        }
        let map = map as *mut u8;
        let base = (map as usize).next_multiple_of(HUGE) as *mut u8;
        let heap = Heap {
            base,
            len,
            map,
            map_len,
        };
        if huge {
            // SAFETY: advice over our own mapping.
            if unsafe { libc::madvise(base as *mut libc::c_void, len, libc::MADV_HUGEPAGE) } != 0 {
                return Err(Error::io(
                    "madvise(MADV_HUGEPAGE) on the heap",
                    std::io::Error::last_os_error(),
                ));
            }
        }
        for i in 0..len / PAGE {
            // SAFETY: page i of the heap.
            unsafe { (base.add(i * PAGE) as *mut u64).write_volatile(word(i)) };
        }
        Ok(heap)
    }

    fn pages(&self) -> usize {
        self.len / PAGE
    }

    /// Clears every mark (after a writer in this process: untimed).
    fn clear(&self, n: usize) {
        for j in 0..n {
            let i = target(j, n, self.pages());
            // SAFETY: page i of the heap.
            unsafe { self.base.add(i * PAGE + MARK_AT).write_volatile(0) };
        }
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer used.
        unsafe { libc::munmap(self.map as *mut libc::c_void, self.map_len) };
    }
}

/// The timed write pass: one byte in each of `n` pages spread over the
/// heap. Never inlined: every writer runs the same loop.
#[inline(never)]
fn write_marks(base: *mut u8, pages: usize, n: usize) {
    for j in 0..n {
        let i = target(j, n, pages);
        // SAFETY: page i < pages of the heap at `base`.
        unsafe { base.add(i * PAGE + MARK_AT).write_volatile(MARK) };
    }
}

/// Pages of the heap that read as a writer of `n` pages left them
/// (`marked`: this side wrote them; else none is marked), every word
/// intact. Allocation-free.
fn check(base: *mut u8, pages: usize, n: usize, marked: bool) -> u64 {
    let mut good = 0;
    for i in 0..pages {
        // SAFETY: page i of the heap.
        let (w, m) = unsafe {
            (
                (base.add(i * PAGE) as *const u64).read_volatile(),
                base.add(i * PAGE + MARK_AT).read_volatile(),
            )
        };
        let want = if marked && is_target(i, n, pages) {
            MARK
        } else {
            0
        };
        good += (w == word(i) && m == want) as u64;
    }
    good
}

fn minor_faults(who: i32) -> u64 {
    // SAFETY: a zeroed rusage is valid; the kernel fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer for the call.
    unsafe { libc::getrusage(who, &mut u) };
    u.ru_minflt as u64
}

/// The writer's pass: (ns, minor faults).
fn timed_write(base: *mut u8, pages: usize, n: usize, who: i32) -> (u64, u64) {
    let f = minor_faults(who);
    let t = mono_ns();
    write_marks(base, pages, n);
    let end = mono_ns();
    (end - t, minor_faults(who) - f)
}

/// The words parent and child talk through (a shared page).
const CMD: usize = 0;
const ACK: usize = 4;
const WRITE_NS: usize = 8;
const FAULTS: usize = 16;
const CHECKED: usize = 24;

/// Parent's commands; the child's answers count up in ACK.
const CMD_NONE: u32 = 0;
const CMD_WRITE: u32 = 1;
const CMD_CHECK: u32 = 2;
const CMD_EXIT: u32 = 3;

struct Link {
    mem: SharedMem,
}

impl Link {
    fn word(&self, at: usize) -> &AtomicU32 {
        self.mem.atomic_u32(at)
    }

    fn u64(&self, at: usize) -> &AtomicU64 {
        self.mem.atomic_u64(at)
    }

    fn say(&self, at: usize, v: u32) {
        self.word(at).store(v, Ordering::Release);
        futex_wake(self.word(at), 1);
    }

    /// Child side: wait until CMD is not `seen`, at most STEP_TIMEOUT.
    /// Allocation-free.
    fn next_cmd(&self, seen: u32) -> u32 {
        let until = Instant::now() + STEP_TIMEOUT;
        loop {
            let c = self.word(CMD).load(Ordering::Acquire);
            if c != seen || Instant::now() > until {
                return c;
            }
            futex_wait(self.word(CMD), seen, RECHECK);
        }
    }
}

/// The forked child: raw loops and system calls only, then `_exit`.
fn child_main(link: &Link, parent: i32, heap: &Heap, n: usize) -> ! {
    // SAFETY: prctl and getppid are raw system calls: the child dies
    // with its parent, and leaves at once if that already happened.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(2);
        }
    }
    // The pass once over no page: the stack it runs on is this
    // process's own now (a fork makes every page copy-on-write, the
    // stack's too), so the timed pass faults on the heap alone.
    timed_write(heap.base, heap.pages(), 0, libc::RUSAGE_SELF);
    link.say(ACK, 1);
    let mut seen = CMD_NONE;
    loop {
        seen = link.next_cmd(seen);
        match seen {
            CMD_WRITE => {
                let (ns, faults) = timed_write(heap.base, heap.pages(), n, libc::RUSAGE_SELF);
                link.u64(WRITE_NS).store(ns, Ordering::Relaxed);
                link.u64(FAULTS).store(faults, Ordering::Relaxed);
                let good = check(heap.base, heap.pages(), n, true);
                link.u64(CHECKED).store(good, Ordering::Relaxed);
                link.say(ACK, 2);
            }
            CMD_CHECK => {
                // The parent wrote: this copy must not show it.
                let good = check(heap.base, heap.pages(), n, false);
                link.u64(CHECKED).store(good, Ordering::Relaxed);
                link.say(ACK, 2);
            }
            CMD_EXIT => sys::exit_now(0),
            _ => sys::exit_now(3),
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// None for the thread writer (no fork).
    pub fork_ns: Option<u64>,
    pub write_ns: u64,
    pub faults: u64,
    pub child_before: Option<Weight>,
    pub child_after: Option<Weight>,
    pub huge_bytes: u64,
    pub verified: u64,
    pub kernel: KernelEvents,
}

/// The child, watched: each wait looks at how it ended, the interrupt
/// and the stall deadline; dropped, it is killed and reaped.
struct Child {
    pid: i32,
    reaped: bool,
}

impl Child {
    fn failed(&self, detail: String) -> Error {
        Error::Worker {
            index: 0,
            backend: "fork",
            detail,
        }
    }

    /// Waits until ACK reaches `want`.
    fn wait_ack(&self, link: &Link, want: u32) -> Result<()> {
        let until = Instant::now() + STEP_TIMEOUT;
        loop {
            let a = link.word(ACK).load(Ordering::Acquire);
            if a >= want {
                return Ok(());
            }
            if let Some(k) = sys::child::peek_end(self.pid) {
                return Err(self.failed(format!("pid {} {k} before answering", self.pid)));
            }
            let state = || sys::proc::task_state(&self.pid.to_string()).unwrap_or("gone");
            if let Some(e) = Error::halted() {
                return Err(match e.is_interrupt() {
                    true => e,
                    false => self.failed(format!(
                        "pid {} was {} and had not answered when the run gave up",
                        self.pid,
                        state()
                    )),
                });
            }
            if Instant::now() > until {
                return Err(self.failed(format!(
                    "pid {} was {} and did not answer within {} s",
                    self.pid,
                    state(),
                    STEP_TIMEOUT.as_secs()
                )));
            }
            futex_wait(link.word(ACK), a, RECHECK);
        }
    }

    fn weigh(&self) -> Result<Weight> {
        let w = Weight::of(&self.pid.to_string());
        if let Some(k) = sys::child::peek_end(self.pid) {
            return Err(self.failed(format!("pid {} {k} while it was weighed", self.pid)));
        }
        w.map_err(|e| Error::io(format!("weighing the child, pid {}", self.pid), e))
    }

    fn reap(mut self) -> Result<()> {
        self.reaped = true;
        match sys::child::reap_unless_halted(self.pid, STEP_TIMEOUT) {
            Ok(Some(sys::child::ExitKind::Code(0))) => Ok(()),
            Ok(Some(k)) => Err(self.failed(format!("pid {} {k}", self.pid))),
            Ok(None) => {
                sys::child::kill9(self.pid);
                let _ = sys::child::reap_timeout(self.pid, STEP_TIMEOUT);
                Err(Error::halted().unwrap_or_else(|| {
                    self.failed(format!("pid {} did not exit; killed", self.pid))
                }))
            }
            Err(e) => Err(Error::io(format!("reaping pid {}", self.pid), e)),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            sys::child::kill9(self.pid);
            let _ = sys::child::reap_timeout(self.pid, STEP_TIMEOUT);
        }
    }
}

/// This process's anonymous memory on huge pages (the heap's, read
/// before each run, untimed).
fn huge_bytes() -> Result<u64> {
    Weight::of("self")
        .map(|w| w.anon_huge)
        .map_err(|e| Error::io("weighing mpmt", e))
}

/// One fork and one write pass of `case` on `heap`.
fn run_forked(case: &CowCase, heap: &Heap, count: bool) -> Result<Run> {
    let n = case.written();
    let link = Link {
        mem: SharedMem::new(PAGE, false).map_err(|e| Error::io("mapping the link", e))?,
    };
    let huge_bytes = huge_bytes()?;
    // Opened before the fork so the child inherits it.
    let phase = Phase::open(count);
    // SAFETY: getpid is a raw system call.
    let parent = unsafe { libc::getpid() };
    let t = mono_ns();
    // SAFETY: the child runs child_main: this file's loops over memory it
    // inherited and raw system calls, then _exit.
    let pid = unsafe { sys::child::fork_bare() }.map_err(|e| Error::io("fork", e))?;
    if pid == 0 {
        child_main(&link, parent, heap, n);
    }
    let fork_ns = mono_ns() - t;
    let child = Child { pid, reaped: false };
    let run = (|| -> Result<Run> {
        child.wait_ack(&link, 1)?;
        let before = child.weigh()?;
        let (write_ns, faults, mine) = match case.write.writer {
            CowWriter::Child => {
                phase.begin();
                link.say(CMD, CMD_WRITE);
                let answered = child.wait_ack(&link, 2);
                phase.end();
                answered?;
                let mine = check(heap.base, heap.pages(), n, false);
                let (ns, f) = (
                    link.u64(WRITE_NS).load(Ordering::Relaxed),
                    link.u64(FAULTS).load(Ordering::Relaxed),
                );
                (ns, f, mine)
            }
            _ => {
                // As in the child: the stack faults before the timing.
                timed_write(heap.base, heap.pages(), 0, libc::RUSAGE_THREAD);
                phase.begin();
                let (ns, f) = timed_write(heap.base, heap.pages(), n, libc::RUSAGE_THREAD);
                phase.end();
                let mine = check(heap.base, heap.pages(), n, true);
                link.say(CMD, CMD_CHECK);
                child.wait_ack(&link, 2)?;
                (ns, f, mine)
            }
        };
        let after = child.weigh()?;
        let theirs = link.u64(CHECKED).load(Ordering::Relaxed);
        let pages = heap.pages() as u64;
        if mine != pages || theirs != pages {
            return Err(Error::Verify(format!(
                "cow {}: after the writes {} of {pages} pages read wrong in the parent and {} in the child",
                case.write,
                pages - mine,
                pages - theirs
            )));
        }
        link.say(CMD, CMD_EXIT);
        Ok(Run {
            fork_ns: Some(fork_ns),
            write_ns,
            faults,
            child_before: Some(before),
            child_after: Some(after),
            huge_bytes,
            verified: 2 * pages,
            kernel: phase.per_op(n.max(1) as u64),
        })
    })();
    match run {
        Ok(r) => child.reap().map(|()| r),
        Err(e) => {
            drop(child);
            Err(e)
        }
    }
}

/// The baseline: a thread writes the same pages, no fork.
fn run_thread(case: &CowCase, heap: &Heap, count: bool) -> Result<Run> {
    let n = case.written();
    let huge_bytes = huge_bytes()?;
    let phase = Phase::open(count);
    let base = heap.base as usize;
    let pages = heap.pages();
    let (ns, faults) = std::thread::scope(|s| {
        s.spawn(|| {
            phase.begin();
            let r = timed_write(base as *mut u8, pages, n, libc::RUSAGE_THREAD);
            phase.end();
            r
        })
        .join()
    })
    .map_err(|_| Error::Setup("the writing thread panicked".into()))?;
    let good = check(heap.base, pages, n, true);
    if good != pages as u64 {
        return Err(Error::Verify(format!(
            "cow {}: {} of {pages} pages read wrong after the thread's writes",
            case.write,
            pages as u64 - good
        )));
    }
    Ok(Run {
        fork_ns: None,
        write_ns: ns,
        faults,
        child_before: None,
        child_after: None,
        huge_bytes,
        verified: pages as u64,
        kernel: phase.per_op(n.max(1) as u64),
    })
}

/// One run of `case` on a heap of its own (tests and the C loop's
/// comparison): the figures, and the heap's pages checked once more.
pub fn run_once(case: &CowCase) -> Result<Run> {
    let heap = Heap::new(case.heap, case.write.huge)?;
    match case.write.writer {
        CowWriter::Thread => run_thread(case, &heap, false),
        _ => run_forked(case, &heap, false),
    }
}

/// The heap a run starts from: the same one while it is as touched (a
/// child's writes leave it so; a writer here has its marks cleared), a
/// fresh one after the parent's writes split its huge pages.
fn fresh_heap_each_run(case: &CowCase) -> bool {
    case.write.huge && case.write.writer != CowWriter::Child
}

/// `samples` timed runs (and the counted one) of `case`.
pub fn runs(case: &CowCase, ctx: &Context) -> Result<(Vec<Run>, Option<Run>)> {
    let _pin = sys::AffinityGuard::pin(case.cpu).map_err(|e| Error::io("pinning mpmt", e))?;
    let mut heap = Some(Heap::new(case.heap, case.write.huge)?);
    let guess = case.expected_round() * 20;
    ctx.runs_counted(case.samples, case.memory_bytes(), guess, |count| {
        if heap.is_none() {
            heap = Some(Heap::new(case.heap, case.write.huge)?);
        }
        let h = heap.as_ref().expect("made above");
        let r = match case.write.writer {
            CowWriter::Thread => run_thread(case, h, count),
            _ => run_forked(case, h, count),
        }?;
        match fresh_heap_each_run(case) {
            true => heap = None,
            false if case.write.writer != CowWriter::Child => h.clear(case.written()),
            false => {}
        }
        Ok(r)
    })
}

impl Case for CowCase {
    /// The heap touched once (~0.4 ms per MiB), then per run a fork
    /// (~35 µs per MiB: its page tables copied), the writes (~4 µs per
    /// page copied, measured on 2 vCPUs, and ~2 µs more to free each
    /// copy when the child exits), two checks of every page and two
    /// weighings of the child (~20 µs per MiB: smaps_rollup walks its
    /// page tables).
    fn expected_round(&self) -> Duration {
        let mib = (self.heap >> 20) as u64;
        let per_run = Duration::from_micros(35 * mib + 20 * mib)
            + Duration::from_nanos(self.pages() as u64 * 20)
            + Duration::from_nanos(self.written() as u64 * 6000)
            + Duration::from_millis(2);
        let heaps = match fresh_heap_each_run(self) {
            true => self.samples as u32 + 1,
            false => 1,
        };
        Duration::from_micros(400 * mib) * heaps + per_run * self.samples as u32
    }

    fn workload(&self) -> Kind {
        Kind::Cow
    }

    fn backend(&self) -> Backend {
        match self.write.writer {
            CowWriter::Thread => Backend::Thread,
            _ => Backend::Fork,
        }
    }

    fn label(&self) -> String {
        format!(
            "cow {} heap={} {}",
            self.write,
            mpmt_schema::units::fmt_bytes(self.heap as u64),
            self.placement
        )
    }

    fn workers(&self) -> usize {
        1
    }

    /// The heap, and all of it again if every page is copied.
    fn memory_bytes(&self) -> u64 {
        (self.heap + HUGE + self.written() * PAGE) as u64
    }

    /// fork copies this process's page tables.
    fn reads_the_parent(&self) -> bool {
        true
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        let (timed, counted) = runs(self, ctx)?;
        let n = self.written();
        let med = |v: Vec<f64>| (!v.is_empty()).then(|| mpmt_schema::summarize(&v).median);
        let of = |get: fn(&Run) -> Option<f64>| med(timed.iter().filter_map(get).collect());
        let forks: Vec<f64> = timed.iter().filter_map(|r| r.fork_ns.map(|f| f as f64)).collect();
        let checks = Checks {
            child_pss_before_bytes: of(|r| r.child_before.map(|w| w.pss as f64)),
            child_pss_after_bytes: of(|r| r.child_after.map(|w| w.pss as f64)),
            child_uss_before_bytes: of(|r| r.child_before.map(|w| w.uss as f64)),
            child_uss_after_bytes: of(|r| r.child_after.map(|w| w.uss as f64)),
            huge_page_bytes: of(|r| Some(r.huge_bytes as f64)),
            pages_verified: Some(
                timed.iter().chain(counted.as_ref()).map(|r| r.verified).sum(),
            ),
            pages_written: Some(n as u64),
            ..Default::default()
        };
        let base = |metric, values, checks| Measured {
            workload: Kind::Cow,
            backend: self.backend(),
            channel: None,
            variant: Some(Variant::Cow(self.write)),
            placement: self.placement,
            cpus: vec![self.cpu],
            workers: 1,
            size_bytes: self.heap as u64,
            working_set_bytes: (n * PAGE) as u64,
            metric,
            unit: Unit::Ns,
            ops_per_sample: 1,
            values,
            setup_ns: 0,
            checks,
            switches: None,
        };
        let mut out = Vec::new();
        if !forks.is_empty() {
            let reaped = (timed.len() + counted.is_some() as usize) as u64;
            out.push(record::build(base(
                Metric::Fork,
                forks.clone(),
                Checks {
                    workers_reaped: Some(reaped),
                    kernel: KernelEvents {
                        kernel_events_missing: Some(
                            "one call per run: the kernel's counts are over the writes, in the cow-fault record".into(),
                        ),
                        ..Default::default()
                    },
                    ..checks.clone()
                },
            )));
        }
        if n > 0 {
            let per = n as f64;
            out.push(record::build(base(
                Metric::CowFault,
                timed.iter().map(|r| r.write_ns as f64 / per).collect(),
                Checks {
                    minor_faults_per_page: med(timed
                        .iter()
                        .map(|r| r.faults as f64 / per)
                        .collect()),
                    fork_ns: med(forks),
                    kernel: counted.map(|c| c.kernel).unwrap_or_default(),
                    ..checks
                },
            )));
        }
        Ok(out)
    }
}

impl Workload for Cow {
    fn kind(&self) -> Kind {
        Kind::Cow
    }

    /// An exec'd worker starts from a fresh image: nothing of the
    /// parent's is shared copy-on-write, so there is nothing to measure.
    fn backends(&self) -> &'static [Backend] {
        &[Backend::Thread, Backend::Fork]
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v: Vec<Box<dyn Case>> = Vec::new();
        for &writer in CowWriter::ALL {
            for ppm in [0, 100_000, 1_000_000] {
                if writer == CowWriter::Thread && ppm == 0 {
                    continue;
                }
                v.push(Box::new(CowCase {
                    write: CowWrite {
                        writer,
                        ppm,
                        huge: false,
                    },
                    heap: 4 << 20,
                    placement: Placement::Os,
                    cpu: None,
                    samples: 2,
                }));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_pages_are_spread_and_found_again() {
        for (pages, ppm) in [(2048, 10_000), (2048, 1_000_000), (7, 500_000), (100, 1)] {
            let n = written(pages, ppm);
            let hit: Vec<usize> = (0..pages).filter(|&i| is_target(i, n, pages)).collect();
            assert_eq!(hit.len(), n, "{pages} pages at {ppm} ppm");
            let mut t: Vec<usize> = (0..n).map(|j| target(j, n, pages)).collect();
            t.dedup();
            assert_eq!(t, hit);
        }
        assert_eq!(written(2048, 0), 0);
        assert_eq!(written(2048, 10_000), 20);
    }
}
