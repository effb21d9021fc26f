//! crash: what one worker's crash costs the rest of its team.
//!
//! W workers each do U units of verified work in their own part of one
//! shared mapping: a unit fills a 64 KiB block with words derived from
//! (run, worker, unit), reads every word back, then, under one robust
//! process-shared mutex, adds the unit to a shared ledger (a count and a
//! sum of the units' tags) and to the worker's own done counter. Work is a
//! fixed count rather than a set time, so what is lost is an exact count
//! of units, the same on every backend whatever its speed.
//!
//! Halfway through its units the last worker faults *while holding the
//! mutex*, in the middle of a ledger update (the count is bumped, the sum
//! is not), once every other worker has reached its own halfway point
//! (they count themselves in and wait, bounded, until it holds the lock),
//! so the fault always finds every sibling with half its work ahead of it
//! and none can finish a unit while the dead one holds the lock: `segv` writes through a null pointer, `abort` calls `abort()`,
//! `panic` panics with the default hook, `oom` lowers its process's
//! `RLIMIT_AS` to 64 MiB above what it maps, maps until the kernel
//! refuses, then fails as Rust's allocator does. Just before the fault it
//! stamps the time in the mapping (CLOCK_MONOTONIC, one clock for every
//! process).
//!
//! The supervisor watches: for processes, the mpmt parent polls every
//! member's pidfd; a thread team runs inside one sacrificial exec'd
//! `mpmt-worker` (the *host*), so a fault that ends the process ends the
//! host, not mpmt, and the parent sees the host's pidfd. A thread that
//! panics unwinds and ends alone; the host's own main thread sees it end
//! (a futex word each member bumps as it ends) and supervises. Detection
//! is the time from the fault's stamp until the supervisor knows which
//! worker died and how.
//!
//! Then it recovers by one of two policies:
//! - `respawn`: start a worker in the dead one's place that carries on
//!   from its done counter (where the host died, every worker of the new
//!   host carries on from its own);
//! - `restart`: stop (kill) every other worker, reinitialise the shared
//!   state (ledger, counters, mutex) and start the whole team from zero.
//!
//! Recovery is the time from detection until every started worker has
//! done one verified unit. Whoever locks the mutex next after the death
//! gets `EOWNERDEAD`, rebuilds the ledger from the done counters and marks
//! the lock consistent; the time from the fault to a surviving worker's
//! `EOWNERDEAD` is the `owner-dead` record.
//!
//! Every run ends checked: every one of the W × U blocks done (by its
//! worker or the replacement) holds its words, the ledger's count and sum
//! agree with them, the dead worker (or host) ended the way its fault
//! ends a process, and the words a panic or a failed allocation prints
//! are on its stderr (a memfd, so nothing reaches the terminal). Core
//! dumps are off in every member (`RLIMIT_CORE` 0 and not dumpable), and
//! every process is reaped by its [`Team`].
//!
//! The panic fault runs Rust's panic machinery in a forked member, which
//! otherwise runs only its loop and raw system calls: the panic *is* the
//! measured fault, and mpmt forks only when single-threaded, so no lock
//! the hook takes can be held by a thread the child lacks.

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::measure::clock::mono_ns;
use crate::measure::record::{self, Measured};
use crate::shm::gate::{gate_bytes, Gate};
use crate::shm::{RobustMutex, SharedMem, Taken};
use crate::sys;
use crate::sys::child::ExitKind;
use crate::sys::futex::{futex_wait, futex_wake};
use mpmt_schema::{
    Checks, CrashFault, CrashRun, KernelEvents, Metric, Placement, Record, Recovery, Unit,
    Variant, Workload as Kind,
};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The crash workload.
pub struct Crash;

/// One unit of work: a block written and read back.
pub const BLOCK: usize = 64 << 10;
const WORDS: usize = BLOCK / 8;
/// How much address space the `oom` fault leaves its process before it
/// maps until refused.
pub const OOM_HEADROOM: usize = 64 << 20;
/// The longest any one wait of a run may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a waiting supervisor looks at the stop flags.
const RECHECK: Duration = Duration::from_millis(20);

// The control area, after the gate: each field on its own cache line.
const MUTEX: usize = 0;
const TOTAL: usize = 64;
const SUM: usize = 72;
const RUN: usize = 80;
const FAULT_NS: usize = 128;
const VICTIM: usize = 136;
const DETECT_NS: usize = 192;
const OWNER_DEAD_NS: usize = 256;
const OWNER_DEAD_BY: usize = 264;
const OWNER_DEAD_N: usize = 268;
const STOP: usize = 320;
const ENDS: usize = 384;
const DISCARDED: usize = 448;
const RESTARTED: usize = 456;
const HALF: usize = 464;
const HELD: usize = 468;
const SLOTS: usize = 512;
const SLOT_BYTES: usize = 64;
// In a slot: the next unit to do (absolute), where it started, when its
// first unit was done, and how its thread ended.
const DONE: usize = 0;
const FROM: usize = 8;
const FIRST_NS: usize = 16;
const STATE: usize = 24;
const RUNNING: u32 = 0;
const FINISHED: u32 = 1;
const PANICKED: u32 = 2;

const _: () = assert!(RobustMutex::BYTES <= TOTAL - MUTEX);

/// One crash case: a backend, a team, a fault, the recoveries to time.
#[derive(Debug, Clone, PartialEq)]
pub struct CrashCase {
    pub backend: Backend,
    pub workers: usize,
    /// Units (64 KiB blocks) each worker does.
    pub units: usize,
    pub fault: CrashFault,
    pub policies: Vec<Recovery>,
    pub placement: Placement,
    pub cpus: Vec<Option<u32>>,
    /// Runs per policy.
    pub samples: usize,
}

impl CrashCase {
    /// The worker that faults: the last.
    pub fn victim(&self) -> usize {
        self.workers - 1
    }

    /// The unit the victim faults in (it has done the ones before).
    pub fn fault_unit(&self) -> usize {
        self.units / 2
    }

    fn cpu(&self, w: usize) -> Option<u32> {
        self.cpus.get(w).copied().flatten()
    }

    fn mapping_bytes(&self) -> usize {
        blocks_at(self.workers) + self.workers * self.units * BLOCK
    }
}

fn control_at(workers: usize) -> usize {
    gate_bytes(workers).next_multiple_of(64)
}

fn blocks_at(workers: usize) -> usize {
    (control_at(workers) + SLOTS + 2 * workers * SLOT_BYTES).next_multiple_of(4096)
}

/// A unit's tag: what its words are derived from and what the ledger sums.
fn tag(run: u64, worker: usize, unit: usize) -> u64 {
    let mut x = run << 40 ^ (worker as u64) << 20 ^ unit as u64;
    // splitmix64's finaliser: every bit of the input moves every bit.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn word(tag: u64, i: usize) -> u64 {
    tag.wrapping_add((i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D))
}

/// The team's shared state: gate, control area and blocks in one mapping
/// (a memfd, so an exec'd member maps it too).
#[derive(Clone)]
struct Shared {
    mem: Arc<SharedMem>,
    workers: usize,
    units: usize,
}

impl Shared {
    fn ctl(&self, off: usize) -> usize {
        control_at(self.workers) + off
    }

    fn u64(&self, off: usize) -> &AtomicU64 {
        self.mem.atomic_u64(self.ctl(off))
    }

    fn u32(&self, off: usize) -> &AtomicU32 {
        self.mem.atomic_u32(self.ctl(off))
    }

    fn slot_u64(&self, slot: usize, off: usize) -> &AtomicU64 {
        self.u64(SLOTS + slot * SLOT_BYTES + off)
    }

    fn state(&self, slot: usize) -> &AtomicU32 {
        self.u32(SLOTS + slot * SLOT_BYTES + STATE)
    }

    fn done(&self, slot: usize) -> usize {
        self.slot_u64(slot, DONE).load(Ordering::Acquire) as usize
    }

    fn mutex(&self) -> RobustMutex {
        // SAFETY: the control area is inside the mapping (see
        // `blocks_at`), 64-byte aligned, and mapped by every member for as
        // long as it runs.
        unsafe { RobustMutex::at(self.mem.as_ptr().add(self.ctl(MUTEX))) }
    }

    /// The first word of a unit's block. Only that unit's one worker
    /// writes it while it runs; the parent reads it after.
    fn block(&self, worker: usize, unit: usize) -> *mut u64 {
        let off = blocks_at(self.workers) + (worker * self.units + unit) * BLOCK;
        assert!(off + BLOCK <= self.mem.len());
        // SAFETY: in bounds (checked above) of the mapping this holds.
        unsafe { self.mem.as_ptr().add(off).cast() }
    }

    fn run(&self) -> u64 {
        self.u64(RUN).load(Ordering::Relaxed)
    }

    /// The worker a slot works for: slots W.. are replacements.
    fn worker_of(&self, slot: usize) -> usize {
        slot % self.workers
    }

    /// Sets a slot up before its member starts.
    /// A replacement's slot is prepared by its supervisor without the
    /// ledger's lock, while a survivor may be rebuilding the ledger under
    /// it ([`Shared::expected_ledger`]): `FROM` is stored before `DONE`
    /// (release), and the rebuild loads `DONE` (acquire) before `FROM`, so
    /// it sees the slot either empty (old `DONE`, 0) or whole (`from..from`),
    /// never the new `DONE` over the old `FROM` (which had counted the dead
    /// worker's finished units twice).
    fn prepare_slot(&self, slot: usize, from: usize) {
        self.slot_u64(slot, FROM).store(from as u64, Ordering::Relaxed);
        self.slot_u64(slot, DONE).store(from as u64, Ordering::Release);
        self.slot_u64(slot, FIRST_NS).store(0, Ordering::Relaxed);
        self.state(slot).store(RUNNING, Ordering::Release);
    }

    /// The ledger as the done counters say it should be: (units, sum of
    /// their tags). Read under the lock (or once every member is gone).
    fn expected_ledger(&self) -> (u64, u64) {
        let run = self.run();
        let (mut n, mut sum) = (0u64, 0u64);
        for slot in 0..2 * self.workers {
            // DONE first: see prepare_slot.
            let done = self.done(slot);
            let from = self.slot_u64(slot, FROM).load(Ordering::Relaxed) as usize;
            for u in from..done {
                n += 1;
                sum = sum.wrapping_add(tag(run, self.worker_of(slot), u));
            }
        }
        (n, sum)
    }

    /// The repair after `EOWNERDEAD`: the ledger rebuilt from the counters.
    fn repair(&self, slot: usize) {
        let (n, sum) = self.expected_ledger();
        self.u64(TOTAL).store(n, Ordering::Relaxed);
        self.u64(SUM).store(sum, Ordering::Relaxed);
        let now = mono_ns();
        if self
            .u64(OWNER_DEAD_NS)
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.u32(OWNER_DEAD_BY)
                .store(slot as u32 + 1, Ordering::Release);
        }
        self.u32(OWNER_DEAD_N).fetch_add(1, Ordering::AcqRel);
    }

    /// Reinitialises the shared state for a restarted team (nobody is
    /// running): ledger, counters, mutex. What the first team measured
    /// (the fault, the detection, an owner-dead) stays.
    fn reset(&self) -> std::io::Result<()> {
        self.u64(TOTAL).store(0, Ordering::Relaxed);
        self.u64(SUM).store(0, Ordering::Relaxed);
        self.u32(STOP).store(0, Ordering::Relaxed);
        self.u32(HALF).store(0, Ordering::Relaxed);
        self.u32(HELD).store(0, Ordering::Relaxed);
        for slot in 0..2 * self.workers {
            self.prepare_slot(slot, 0);
        }
        self.mutex().init()
    }

    /// Verified units of the first team's workers: their done counters
    /// summed.
    fn originals_done(&self) -> u64 {
        (0..self.workers).map(|s| self.done(s) as u64).sum()
    }
}

/// What one member does: its slot, the worker it works for, where it
/// starts and whether it faults.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Plan {
    worker: usize,
    slot: usize,
    from: usize,
    /// Waits at the gate first (the first team), or starts at once (a
    /// replacement, timed from detection).
    gated: bool,
    fault: Option<CrashFault>,
    cpu: Option<u32>,
}

/// No core file for a fault that is the measurement: the soft core limit
/// to zero and the process not dumpable (which also stops a piped
/// `core_pattern`). Raw system calls only.
fn no_core_dumps() {
    // SAFETY: getrlimit/setrlimit/prctl take plain values and a valid
    // pointer for the call.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut r) == 0 {
            r.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &r);
        }
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Pages of address space this process maps now (statm's first field),
/// read with raw calls into a stack buffer.
fn mapped_bytes() -> Option<usize> {
    let path = c"/proc/self/statm";
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 64];
    // SAFETY: valid buffer of that length; our own fd.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: our own fd, closed once.
    unsafe { libc::close(fd) };
    if n <= 0 {
        return None;
    }
    let mut pages = 0usize;
    for &b in &buf[..n as usize] {
        if !b.is_ascii_digit() {
            break;
        }
        pages = pages * 10 + (b - b'0') as usize;
    }
    Some(pages * 4096)
}

/// `oom`'s allocation: this process's address space capped at 64 MiB
/// above what it maps, then 1 MiB mappings until the kernel refuses one
/// (the mappings are never touched: the cap counts address space). The
/// layout that failed, for the allocator's error.
fn exhaust_address_space() -> std::alloc::Layout {
    const CHUNK: usize = 1 << 20;
    if let Some(now) = mapped_bytes() {
        let cap = (now + OOM_HEADROOM) as libc::rlim_t;
        // SAFETY: a plain value for the call; lowering a limit is always
        // allowed.
        unsafe {
            let mut r: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_AS, &mut r);
            r.rlim_cur = cap.min(r.rlim_cur);
            libc::setrlimit(libc::RLIMIT_AS, &r);
        }
    }
    loop {
        // SAFETY: a fresh private anonymous mapping; it is leaked on
        // purpose (the process dies next).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CHUNK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::alloc::Layout::from_size_align(CHUNK, 4096).expect("a valid layout");
        }
    }
}

/// The fault itself. Never returns.
fn strike(fault: CrashFault, worker: usize, layout: Option<std::alloc::Layout>) -> ! {
    match fault {
        CrashFault::Segv => {
            let null = std::hint::black_box(0usize);
            // SAFETY: not safe at all, on purpose: a store to address 0,
            // which is never mapped, so the kernel sends SIGSEGV. Written
            // in assembly so the compiler neither drops it nor turns it
            // into a check of its own.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                std::arch::asm!("mov byte ptr [{0}], 1", in(reg) null)
            };
            // SAFETY: as above, on arm64.
            #[cfg(target_arch = "aarch64")]
            unsafe {
                std::arch::asm!("strb wzr, [{0}]", in(reg) null)
            };
            #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
            let _ = null;
            // Elsewhere (or if address 0 were somehow mapped): the signal
            // the store would have raised.
            // SAFETY: raise has no memory effects.
            unsafe { libc::raise(libc::SIGSEGV) };
            sys::exit_now(139)
        }
        // SAFETY: abort has no preconditions.
        CrashFault::Abort => unsafe { libc::abort() },
        CrashFault::Panic => panic!("crash: worker {worker} panics on purpose (--fault panic)"),
        CrashFault::Oom => std::alloc::handle_alloc_error(
            layout.unwrap_or(std::alloc::Layout::new::<[u8; 1 << 20]>()),
        ),
    }
}

/// Marks a slot's end as its thread ends, unwinding or not, and wakes the
/// host's supervisor.
struct EndMark<'a> {
    sh: &'a Shared,
    slot: usize,
}

impl Drop for EndMark<'_> {
    fn drop(&mut self) {
        let how = if std::thread::panicking() {
            PANICKED
        } else {
            FINISHED
        };
        self.sh.state(self.slot).store(how, Ordering::Release);
        let ends = self.sh.u32(ENDS);
        ends.fetch_add(1, Ordering::AcqRel);
        futex_wake(ends, i32::MAX);
    }
}

/// The first team's meeting halfway, so that what a crash takes down is
/// the backend's doing and not the scheduler's order: each other worker
/// counts itself in as it reaches its middle unit and waits until the one
/// that faults holds the ledger's lock; that one waits until all are in,
/// takes the lock, says so, and faults holding it. Every sibling then has
/// half its units ahead of it and cannot finish another without the lock
/// the dead one took. Both waits are bounded. Returns for the one that
/// faults once it holds the lock.
fn halfway(
    sh: &Shared,
    m: &RobustMutex,
    slot: usize,
    faults: bool,
) -> std::result::Result<(), Status> {
    let (half, held) = (sh.u32(HALF), sh.u32(HELD));
    let others = (sh.workers - 1) as u32;
    let deadline = Instant::now() + STEP_TIMEOUT;
    let stopped = || Instant::now() > deadline || sh.u32(STOP).load(Ordering::Acquire) != 0;
    if !faults {
        if half.fetch_add(1, Ordering::AcqRel) + 1 == others {
            futex_wake(half, 1);
        }
        while held.load(Ordering::Acquire) == 0 && !stopped() {
            futex_wait(held, 0, RECHECK);
        }
        return Ok(());
    }
    loop {
        let n = half.load(Ordering::Acquire);
        if n >= others || stopped() {
            break;
        }
        futex_wait(half, n, RECHECK);
    }
    take(sh, m, slot)?;
    held.store(1, Ordering::Release);
    futex_wake(held, i32::MAX);
    Ok(())
}

/// Locks the ledger; a dead holder's lock is repaired first.
fn take(sh: &Shared, m: &RobustMutex, slot: usize) -> std::result::Result<(), Status> {
    if m.lock().map_err(|errno| Status::SetupFailed { errno })? == Taken::OwnerDied {
        sh.repair(slot);
        m.consistent();
    }
    Ok(())
}

/// The member loop, the same under every backend. Allocation-free except
/// for the `panic` fault's own machinery.
fn work(sh: &Shared, gate: Option<&Gate>, p: Plan) -> std::result::Result<(), Status> {
    let _end = EndMark { sh, slot: p.slot };
    if let Some(g) = gate {
        g.arrive().map_err(|_| Status::GateNeverOpened)?;
    }
    let run = sh.run();
    let m = sh.mutex();
    for u in p.from..sh.units {
        if sh.u32(STOP).load(Ordering::Acquire) != 0 {
            return Ok(());
        }
        if p.gated && u == sh.units / 2 {
            halfway(sh, &m, p.slot, p.fault.is_some())?;
            if let Some(f) = p.fault {
                // The fault, holding the lock, in the middle of this
                // unit's ledger update: the count bumped, the sum and the
                // done counter not.
                sh.u64(TOTAL).fetch_add(1, Ordering::Relaxed);
                let layout = (f == CrashFault::Oom).then(exhaust_address_space);
                sh.u32(VICTIM)
                    .store(p.worker as u32 + 1, Ordering::Relaxed);
                sh.u64(FAULT_NS).store(mono_ns(), Ordering::Release);
                strike(f, p.worker, layout);
            }
        }
        let t = tag(run, p.worker, u);
        let b = sh.block(p.worker, u);
        for i in 0..WORDS {
            // SAFETY: in bounds of the block (8-byte aligned: a
            // page-aligned area of whole blocks), written by this worker
            // alone.
            unsafe { b.add(i).write(word(t, i)) };
        }
        // Read back through volatile loads, so the check is a real read.
        for i in 0..WORDS {
            // SAFETY: as above.
            if unsafe { b.add(i).read_volatile() } != word(t, i) {
                return Err(Status::Corrupt { op: u as u64 });
            }
        }
        take(sh, &m, p.slot)?;
        sh.u64(TOTAL).fetch_add(1, Ordering::Relaxed);
        let sum = sh.u64(SUM);
        sum.store(sum.load(Ordering::Relaxed).wrapping_add(t), Ordering::Relaxed);
        sh.slot_u64(p.slot, DONE)
            .store(u as u64 + 1, Ordering::Release);
        m.unlock();
        if u == p.from {
            sh.slot_u64(p.slot, FIRST_NS)
                .store(mono_ns(), Ordering::Release);
        }
    }
    Ok(())
}

/// The mapping as it crosses exec.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RemoteShared {
    gate: RemoteGate,
    stderr: i32,
    workers: usize,
    units: usize,
}

fn remote_shared(
    gate: &Gate,
    sh: &Shared,
    stderr: &OwnedFd,
    carry: &mut ExecFds,
) -> Result<RemoteShared> {
    let err = stderr
        .try_clone()
        .map_err(|e| Error::io("duplicating the crash's stderr memfd", e))?;
    Ok(RemoteShared {
        gate: RemoteGate::of(gate, carry)?,
        stderr: carry.keep(err),
        workers: sh.workers,
        units: sh.units,
    })
}

fn attach_shared(r: RemoteShared) -> std::result::Result<(Gate, Shared, OwnedFd), Status> {
    let gate = r.gate.attach(false)?;
    let stderr = ExecFds::inherited(r.stderr).map_err(Status::Channel)?;
    let sh = Shared {
        mem: gate.mem().clone(),
        workers: r.workers,
        units: r.units,
    };
    Ok((gate, sh, stderr))
}

/// A panic as a deployed program's is: the default hook with backtraces
/// off, whatever the shell mpmt was started from says (with
/// `RUST_BACKTRACE=1` the hook symbolises the stack first: ~130 ms here,
/// before the panicking thread even starts to unwind). Called once in the
/// process, before its team starts.
fn plain_panics(fault: Option<CrashFault>) {
    if fault == Some(CrashFault::Panic) {
        std::env::set_var("RUST_BACKTRACE", "0");
    }
}

/// Sends this process's stderr to `fd` (the crash's memfd).
fn stderr_to(fd: &OwnedFd) {
    // SAFETY: dup2 onto fd 2 of two descriptors we hold.
    unsafe { libc::dup2(fd.as_raw_fd(), 2) };
}

/// One member process (fork or spawn).
struct MemberJob {
    gate: Gate,
    sh: Shared,
    stderr: Arc<OwnedFd>,
    plan: Plan,
}

#[derive(Serialize, Deserialize)]
struct MemberRemote {
    shared: RemoteShared,
    plan: Plan,
}

impl Job for MemberJob {
    const NAME: &'static str = "crash-member";
    type Remote = MemberRemote;

    fn run(self) -> Report {
        no_core_dumps();
        if self.plan.fault.is_some() {
            stderr_to(&self.stderr);
        }
        plain_panics(self.plan.fault);
        // Mapped until the process exits, even if a panic unwinds out of
        // here: the kernel marks a dead holder's robust mutex owner-dead
        // by walking its robust list *at exit*, and cannot mark a futex
        // word the process has unmapped. Unwinding that dropped the last
        // handle first would leave the lock held for ever (an exec'd
        // member's panic did exactly that before this line).
        let _mapped = std::mem::ManuallyDrop::new(self.sh.mem.clone());
        let gate = self.plan.gated.then_some(&self.gate);
        match work(&self.sh, gate, self.plan) {
            Ok(()) => Report::ok(self.sh.done(self.plan.slot) as u64),
            Err(s) => Report::failed(s),
        }
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<MemberRemote> {
        Ok(MemberRemote {
            shared: remote_shared(&self.gate, &self.sh, &self.stderr, carry)?,
            plan: self.plan,
        })
    }

    fn from_remote(r: MemberRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        let (gate, sh, stderr) = attach_shared(r.shared)?;
        Ok(MemberJob {
            gate,
            sh,
            stderr: Arc::new(stderr),
            plan: r.plan,
        })
    }
}

/// What a host starts its threads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum HostMode {
    /// The first team: W workers from zero, gated, one of them faults;
    /// the host itself recovers a thread that panicked by `policy`.
    First { policy: Recovery },
    /// After the first host died: every worker carries on from its own
    /// done counter in its replacement slot.
    Resume,
    /// After the first host died and the state was reset: W workers from
    /// zero.
    Fresh,
}

/// A thread team's host: one exec'd `mpmt-worker` holding W threads.
struct HostJob {
    gate: Gate,
    sh: Shared,
    stderr: Arc<OwnedFd>,
    mode: HostMode,
    fault: CrashFault,
    cpus: Vec<Option<u32>>,
}

#[derive(Serialize, Deserialize)]
struct HostRemote {
    shared: RemoteShared,
    mode: HostMode,
    fault: CrashFault,
    cpus: Vec<Option<u32>>,
}

/// A thread member of a host.
struct Thread {
    slot: usize,
    handle: std::thread::JoinHandle<std::result::Result<(), Status>>,
}

impl HostJob {
    fn start(&self, plan: Plan) -> std::result::Result<Thread, Status> {
        let sh = self.sh.clone();
        let gate = self.gate.clone();
        let handle = std::thread::Builder::new()
            .name(format!("crash-worker-{}", plan.worker))
            .spawn(move || {
                if let Err(r) = crate::backend::process::pin(plan.cpu) {
                    return Err(r.status);
                }
                work(&sh, plan.gated.then_some(&gate), plan)
            })
            .map_err(|e| Status::setup(&e))?;
        Ok(Thread {
            slot: plan.slot,
            handle,
        })
    }

    fn plan(&self, slot: usize, from: usize, gated: bool, fault: bool) -> Plan {
        let worker = self.sh.worker_of(slot);
        self.sh.prepare_slot(slot, from);
        Plan {
            worker,
            slot,
            from,
            gated,
            fault: (fault && worker == self.sh.workers - 1).then_some(self.fault),
            cpu: self.cpus.get(worker).copied().flatten(),
        }
    }

    /// Waits until the threads in `slots` have all ended, or one of them
    /// ended panicking (returns its slot).
    fn wait_ends(&self, slots: &[usize]) -> std::result::Result<Option<usize>, Status> {
        let ends = self.sh.u32(ENDS);
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let seen = ends.load(Ordering::Acquire);
            if let Some(&s) = slots
                .iter()
                .find(|&&s| self.sh.state(s).load(Ordering::Acquire) == PANICKED)
            {
                return Ok(Some(s));
            }
            if slots
                .iter()
                .all(|&s| self.sh.state(s).load(Ordering::Acquire) != RUNNING)
            {
                return Ok(None);
            }
            if Instant::now() > deadline {
                return Err(Status::SetupFailed {
                    errno: libc::ETIMEDOUT,
                });
            }
            futex_wait(ends, seen, RECHECK);
        }
    }

    fn join(threads: Vec<Thread>, panicked: Option<usize>) -> std::result::Result<(), Status> {
        for t in threads {
            match t.handle.join() {
                Ok(r) => r?,
                Err(_) if Some(t.slot) == panicked => {}
                Err(_) => return Err(Status::Panicked),
            }
        }
        Ok(())
    }

    fn supervise(self) -> std::result::Result<(), Status> {
        let w = self.sh.workers;
        match self.mode {
            HostMode::Resume => {
                let threads = (0..w)
                    .map(|v| self.start(self.plan(w + v, self.sh.done(v), false, false)))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Self::join(threads, None)
            }
            HostMode::Fresh => {
                let threads = (0..w)
                    .map(|v| self.start(self.plan(v, 0, false, false)))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Self::join(threads, None)
            }
            HostMode::First { policy } => {
                let mut threads = (0..w)
                    .map(|v| self.start(self.plan(v, 0, true, true)))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                // The host opens its own team's gate; a member that ended
                // before it opened is a failure of the host.
                self.gate
                    .wait_ready(&mut || {
                        match (0..w).any(|s| self.sh.state(s).load(Ordering::Acquire) != RUNNING) {
                            true => Err(Error::Setup("a member ended at the gate".into())),
                            false => Ok(0),
                        }
                    })
                    .map_err(|_| Status::GateNeverOpened)?;
                self.gate.open();
                let slots: Vec<usize> = (0..w).collect();
                let Some(dead) = self.wait_ends(&slots)? else {
                    return Self::join(threads, None);
                };
                // A thread panicked and ended alone; its process lives.
                self.sh.u64(DETECT_NS).store(mono_ns(), Ordering::Release);
                let v = self.sh.worker_of(dead);
                match policy {
                    Recovery::Respawn => {
                        threads.push(self.start(self.plan(w + v, self.sh.done(v), false, false))?);
                        self.sh.u32(RESTARTED).store(1, Ordering::Relaxed);
                    }
                    Recovery::Restart => {
                        self.sh.u32(STOP).store(1, Ordering::Release);
                        Self::join(std::mem::take(&mut threads), Some(dead))?;
                        self.sh
                            .u64(DISCARDED)
                            .store(self.sh.originals_done(), Ordering::Relaxed);
                        self.sh.reset().map_err(|e| Status::setup(&e))?;
                        for s in 0..w {
                            threads.push(self.start(self.plan(s, 0, false, false))?);
                        }
                        self.sh.u32(RESTARTED).store(w as u32, Ordering::Relaxed);
                    }
                }
                Self::join(threads, Some(dead))
            }
        }
    }
}

impl Job for HostJob {
    const NAME: &'static str = "crash-host";
    type Remote = HostRemote;

    fn run(self) -> Report {
        no_core_dumps();
        // One process's stderr: the fault's words (and any of the host's
        // own) go to the memfd the parent reads.
        stderr_to(&self.stderr);
        plain_panics(Some(self.fault));
        match self.supervise() {
            Ok(()) => Report::ok(0),
            Err(s) => Report::failed(s),
        }
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<HostRemote> {
        Ok(HostRemote {
            shared: remote_shared(&self.gate, &self.sh, &self.stderr, carry)?,
            mode: self.mode,
            fault: self.fault,
            cpus: self.cpus,
        })
    }

    fn from_remote(r: HostRemote, _: &mut ExecFds) -> std::result::Result<Self, Status> {
        let (gate, sh, stderr) = attach_shared(r.shared)?;
        Ok(HostJob {
            gate,
            sh,
            stderr: Arc::new(stderr),
            mode: r.mode,
            fault: r.fault,
            cpus: r.cpus,
        })
    }
}

/// One run's outcome.
#[derive(Debug, Clone)]
pub struct Run {
    pub policy: Recovery,
    /// Others that finished all their units.
    pub survivors: usize,
    /// Units of the first team not done when it ended.
    pub units_lost: usize,
    pub detect_ns: u64,
    pub recover_ns: u64,
    /// Fault to a surviving member's EOWNERDEAD.
    pub owner_dead_ns: Option<u64>,
    pub owner_dead_recoveries: u64,
    /// Units the restart threw away.
    pub units_discarded: usize,
    pub restarted: usize,
    /// How the dead worker (or host) ended.
    pub end: String,
    /// The fault's words were on its stderr (None: it prints none).
    pub words_seen: Option<bool>,
    pub bytes_verified: u64,
    pub reaped: u64,
}

/// The memfd a faulting member's stderr goes to.
fn stderr_memfd() -> Result<OwnedFd> {
    use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
    memfd_create(c"mpmt-crash-stderr", MemFdCreateFlag::MFD_CLOEXEC)
        .map_err(|e| Error::io("creating the crash's stderr memfd", e.into()))
}

/// The first 16 KiB the members wrote to the stderr memfd.
fn read_memfd(fd: &OwnedFd) -> String {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 16 << 10];
    let n = fd
        .try_clone()
        .map(std::fs::File::from)
        .and_then(|f| f.read_at(&mut buf, 0))
        .unwrap_or(0);
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

/// What the fault prints on its way out, if anything.
fn fault_words(f: CrashFault) -> Option<&'static str> {
    match f {
        CrashFault::Panic => Some("panics on purpose"),
        CrashFault::Oom => Some("memory allocation of"),
        _ => None,
    }
}

/// How a process ends of `fault` (a forked member's panic is caught at
/// its job's boundary and reported: exit code 1; an exec'd one unwinds
/// out of main: 101).
fn ends_as(fault: CrashFault, end: ExitKind, backend: Backend) -> bool {
    match (fault, end) {
        (CrashFault::Segv, ExitKind::Signal(s)) => s == libc::SIGSEGV,
        (CrashFault::Abort | CrashFault::Oom, ExitKind::Signal(s)) => s == libc::SIGABRT,
        (CrashFault::Panic, ExitKind::Code(c)) => match backend {
            Backend::Fork => c == 1,
            _ => c == 101,
        },
        _ => false,
    }
}

/// Waits until one of `pids` ends other than cleanly (its index and how),
/// or all end cleanly (None): [`sys::child::first_failure`], bounded by
/// [`STEP_TIMEOUT`] and the run's stop flags.
fn first_failure(pids: &[i32]) -> Result<Option<(usize, ExitKind)>> {
    match sys::child::first_failure(pids, STEP_TIMEOUT)
        .map_err(|e| Error::io("watching the workers' pidfds", e))?
    {
        sys::child::FirstEnd::Failed(i, k) => Ok(Some((i, k))),
        sys::child::FirstEnd::AllClean => Ok(None),
        sys::child::FirstEnd::GaveUp if sys::signal::interrupted() => Err(Error::interrupted()),
        sys::child::FirstEnd::GaveUp => Err(Error::stalled_with(format!(
            ": no worker of pids {pids:?} ended within {} s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

/// A run's mapping and the things every path needs.
struct Setup {
    gate: Gate,
    sh: Shared,
    stderr: Arc<OwnedFd>,
}

fn setup(case: &CrashCase, run: u64) -> Result<Setup> {
    let mem = SharedMem::new_lazy(case.mapping_bytes())
        .map_err(|e| Error::io("mapping the crash team's blocks", e))?;
    let mem = Arc::new(mem);
    let gate = Gate::new(mem.clone(), case.workers)?;
    let sh = Shared {
        mem,
        workers: case.workers,
        units: case.units,
    };
    sh.u64(RUN).store(run, Ordering::Relaxed);
    sh.reset()
        .map_err(|e| Error::io("initialising the robust mutex", e))?;
    Ok(Setup {
        gate,
        sh,
        stderr: Arc::new(stderr_memfd()?),
    })
}

fn member(s: &Setup, case: &CrashCase, slot: usize, from: usize, first: bool) -> MemberJob {
    let worker = s.sh.worker_of(slot);
    s.sh.prepare_slot(slot, from);
    MemberJob {
        gate: s.gate.clone(),
        sh: s.sh.clone(),
        stderr: s.stderr.clone(),
        plan: Plan {
            worker,
            slot,
            from,
            gated: first,
            fault: (first && worker == case.victim()).then_some(case.fault),
            cpu: case.cpu(worker),
        },
    }
}

/// Joins a team whose member `dead` is expected to have died (`end`);
/// every other member must have reported cleanly. Returns members reaped.
fn join_expecting(team: Team, backend: Backend, dead: Option<usize>) -> Result<u64> {
    let mut reaped = 0;
    for j in team.join_all() {
        reaped += 1;
        if let Err(detail) = j.report {
            if Some(j.index) != dead {
                return Err(Error::Worker {
                    index: j.index,
                    backend: backend.name(),
                    detail,
                });
            }
        }
    }
    Ok(reaped)
}

/// The processes' run: the parent supervises every member itself.
fn run_processes(case: &CrashCase, s: &Setup, policy: Recovery) -> Result<Partial> {
    let w = case.workers;
    let mut team = Team::new(case.backend);
    let seen = (|| {
        for v in 0..w {
            team.start(v, case.cpu(v), member(s, case, v, 0, true))?;
        }
        team.open_gate(&s.gate)?;
        first_failure(&team.pids())
    })();
    let (dead, end) = match seen {
        Ok(Some(d)) => d,
        Ok(None) => {
            return Err(Error::Setup(format!(
                "worker {} did not die of its {} fault",
                case.victim(),
                case.fault
            )))
        }
        Err(e) => return Err(team.abort_at(&s.gate, e)),
    };
    let detect_at = mono_ns();
    s.sh.u64(DETECT_NS).store(detect_at, Ordering::Release);
    if dead != case.victim() || !ends_as(case.fault, end, case.backend) {
        let e = Error::Worker {
            index: dead,
            backend: case.backend.name(),
            detail: format!("{end}, not as its {} fault ends a process", case.fault),
        };
        return Err(team.abort_at(&s.gate, e));
    }
    let mut reaped;
    let (restarted, discarded, survivors, lost);
    let mut again = Team::new(case.backend);
    match policy {
        Recovery::Respawn => {
            let from = s.sh.done(dead);
            if let Err(e) = again.start(dead, case.cpu(dead), member(s, case, w + dead, from, false))
            {
                drop(team);
                return Err(again.abort(e));
            }
            reaped = join_expecting(team, case.backend, Some(dead))?;
            restarted = 1;
            discarded = 0;
            survivors = (0..w)
                .filter(|&v| v != dead && s.sh.done(v) == case.units)
                .count();
            lost = w * case.units - s.sh.originals_done() as usize;
        }
        Recovery::Restart => {
            // Every other member stopped at once: killed and reaped.
            reaped = team.pids().len() as u64;
            drop(team);
            discarded = s.sh.originals_done() as usize;
            survivors = 0;
            lost = w * case.units - discarded;
            s.sh.reset()
                .map_err(|e| Error::io("reinitialising the robust mutex", e))?;
            for v in 0..w {
                if let Err(e) = again.start(v, case.cpu(v), member(s, case, v, 0, false)) {
                    return Err(again.abort(e));
                }
            }
            restarted = w;
        }
    }
    reaped += join_expecting(again, case.backend, None)?;
    Ok(Partial {
        end: end.to_string(),
        survivors,
        lost,
        discarded,
        restarted,
        reaped,
    })
}

/// What a run knows before the shared state is read.
struct Partial {
    end: String,
    survivors: usize,
    lost: usize,
    discarded: usize,
    restarted: usize,
    reaped: u64,
}

fn host(s: &Setup, case: &CrashCase, mode: HostMode) -> HostJob {
    HostJob {
        gate: s.gate.clone(),
        sh: s.sh.clone(),
        stderr: s.stderr.clone(),
        mode,
        fault: case.fault,
        cpus: case.cpus.clone(),
    }
}

/// The threads' run: one host holds the team; the parent watches the
/// host, and starts another if it died.
fn run_threads(case: &CrashCase, s: &Setup, policy: Recovery) -> Result<Partial> {
    let w = case.workers;
    let mut team = Team::new(Backend::Spawn);
    let seen = (|| {
        team.start(0, None, host(s, case, HostMode::First { policy }))?;
        first_failure(&team.pids())
    })();
    let seen = match seen {
        Ok(seen) => seen,
        Err(e) => return Err(team.abort(e)),
    };
    let host_says = || read_memfd(&s.stderr);
    let Some((_, end)) = seen else {
        // The host lived: a thread panicked, and the host recovered.
        join_expecting(team, Backend::Thread, None).map_err(|e| {
            Error::Setup(format!("{e}; the host's stderr: {}", host_says().trim()))
        })?;
        let v = case.victim();
        if s.sh.u64(DETECT_NS).load(Ordering::Acquire) == 0 {
            return Err(Error::Setup(format!(
                "worker {v} (thread) faulted ({}) but its host never saw it end",
                case.fault
            )));
        }
        let restarted = s.sh.u32(RESTARTED).load(Ordering::Relaxed) as usize;
        let discarded = s.sh.u64(DISCARDED).load(Ordering::Relaxed) as usize;
        let (survivors, lost) = match policy {
            Recovery::Respawn => (
                (0..w)
                    .filter(|&o| o != v && s.sh.done(o) == case.units)
                    .count(),
                w * case.units - s.sh.originals_done() as usize,
            ),
            Recovery::Restart => (0, w * case.units - discarded),
        };
        return Ok(Partial {
            end: "thread panicked and unwound; its process lived".into(),
            survivors,
            lost,
            discarded,
            restarted,
            reaped: 1,
        });
    };
    s.sh.u64(DETECT_NS).store(mono_ns(), Ordering::Release);
    if !ends_as(case.fault, end, Backend::Spawn) {
        let e = Error::Worker {
            index: 0,
            backend: "thread",
            detail: format!(
                "the team's host {end}, not as a {} fault ends a process; its stderr: {}",
                case.fault,
                host_says().trim()
            ),
        };
        return Err(team.abort(e));
    }
    // Every thread died with the host.
    let mut reaped = join_expecting(team, Backend::Thread, Some(0))?;
    let done = s.sh.originals_done() as usize;
    let survivors = (0..w)
        .filter(|&o| o != case.victim() && s.sh.done(o) == case.units)
        .count();
    let mode = match policy {
        Recovery::Respawn => HostMode::Resume,
        Recovery::Restart => {
            s.sh.reset()
                .map_err(|e| Error::io("reinitialising the robust mutex", e))?;
            HostMode::Fresh
        }
    };
    let mut again = Team::new(Backend::Spawn);
    if let Err(e) = again.start(0, None, host(s, case, mode)) {
        return Err(again.abort(e));
    }
    reaped += join_expecting(again, Backend::Thread, None)?;
    Ok(Partial {
        end: format!("its host process {end}"),
        survivors,
        lost: w * case.units - done,
        discarded: if policy == Recovery::Restart { done } else { 0 },
        restarted: w,
        reaped,
    })
}

/// Every block of every worker holds its words, exactly once covered by
/// its worker and its replacement, and the ledger agrees.
fn verify(case: &CrashCase, s: &Setup) -> Result<u64> {
    let (w, units) = (case.workers, case.units);
    let sh = &s.sh;
    let run = sh.run();
    for v in 0..w {
        let (own, rep_from, rep_done) = (
            sh.done(v),
            sh.slot_u64(w + v, FROM).load(Ordering::Relaxed) as usize,
            sh.done(w + v),
        );
        let covered = if rep_done > rep_from {
            own == rep_from && rep_done == units
        } else {
            own == units
        };
        if !covered {
            return Err(Error::Setup(format!(
                "crash: worker {v}'s units are not all done once: it did 0..{own}, its replacement {rep_from}..{rep_done}, of {units}"
            )));
        }
        for u in 0..units {
            let t = tag(run, v, u);
            // SAFETY: in bounds; every member that wrote it is reaped.
            let b = unsafe { std::slice::from_raw_parts(sh.block(v, u).cast_const(), WORDS) };
            if let Some(i) = (0..WORDS).find(|&i| b[i] != word(t, i)) {
                return Err(Error::Setup(format!(
                    "crash: worker {v}'s unit {u} holds a wrong word at {i} after the run"
                )));
            }
        }
    }
    let (n, sum) = sh.expected_ledger();
    let (total, got) = (
        sh.u64(TOTAL).load(Ordering::Acquire),
        sh.u64(SUM).load(Ordering::Acquire),
    );
    if n != (w * units) as u64 || total != n || got != sum {
        return Err(Error::Setup(format!(
            "crash: the shared ledger says {total} units (sum {got:#x}); the blocks say {n} (sum {sum:#x}), of {}",
            w * units
        )));
    }
    Ok((w * units * BLOCK) as u64)
}

/// One run of `case` recovering by `policy`; `run` tags its blocks.
pub fn run_once(case: &CrashCase, policy: Recovery, run: u64) -> Result<Run> {
    let s = setup(case, run)?;
    let p = match case.backend {
        Backend::Thread => run_threads(case, &s, policy)?,
        _ => run_processes(case, &s, policy)?,
    };
    let sh = &s.sh;
    let fault_ns = sh.u64(FAULT_NS).load(Ordering::Acquire);
    let detect = sh.u64(DETECT_NS).load(Ordering::Acquire);
    if fault_ns == 0 || sh.u32(VICTIM).load(Ordering::Relaxed) as usize != case.victim() + 1 {
        return Err(Error::Setup(format!(
            "crash: worker {} never stamped its fault",
            case.victim()
        )));
    }
    let first = |slot: usize| sh.slot_u64(slot, FIRST_NS).load(Ordering::Acquire);
    let w = case.workers;
    let recovering: Vec<usize> = if p.restarted == w && policy == Recovery::Restart {
        (0..w).collect()
    } else {
        (w..2 * w).filter(|&r| sh.done(r) > sh.slot_u64(r, FROM).load(Ordering::Relaxed) as usize).collect()
    };
    let recovered = recovering.iter().map(|&r| first(r)).max().unwrap_or(0);
    if recovering.is_empty() || recovering.iter().any(|&r| first(r) == 0) || recovered < detect {
        return Err(Error::Setup(format!(
            "crash: the recovery ({policy}) never did a verified unit"
        )));
    }
    let by = sh.u32(OWNER_DEAD_BY).load(Ordering::Acquire) as usize;
    let owner_dead = sh.u64(OWNER_DEAD_NS).load(Ordering::Acquire);
    let bytes_verified = verify(case, &s)?;
    let words = read_memfd(&s.stderr);
    let words_seen = fault_words(case.fault).map(|want| words.contains(want));
    sh.mutex().destroy();
    Ok(Run {
        policy,
        survivors: p.survivors,
        units_lost: p.lost,
        detect_ns: detect.saturating_sub(fault_ns),
        recover_ns: recovered - detect,
        // A surviving member of the first team (not a replacement).
        owner_dead_ns: (by >= 1 && by <= w && owner_dead >= fault_ns)
            .then(|| owner_dead - fault_ns),
        owner_dead_recoveries: sh.u32(OWNER_DEAD_N).load(Ordering::Relaxed) as u64,
        units_discarded: p.discarded,
        restarted: p.restarted,
        end: p.end,
        words_seen,
        bytes_verified,
        reaped: p.reaped,
    })
}

impl Case for CrashCase {
    /// Per run: the team's births (a thread team's one host, twice), the
    /// work (~20 µs a unit on one of 2 vCPUs), the recovery's births and
    /// the check of every block (~10 µs a unit).
    fn expected_round(&self) -> Duration {
        let births = match self.backend {
            Backend::Thread => 2 * super::member_setup(Backend::Spawn),
            b => super::member_setup(b) * (2 * self.workers as u32),
        };
        let work = Duration::from_micros(30 * (self.workers * self.units) as u64);
        (births + work + Duration::from_millis(2))
            * (self.samples * self.policies.len()) as u32
    }

    fn workload(&self) -> Kind {
        Kind::Crash
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn label(&self) -> String {
        format!(
            "crash {} {} workers={} units={} {}",
            self.fault, self.backend, self.workers, self.units, self.placement
        )
    }

    fn workers(&self) -> usize {
        self.workers + 1
    }

    fn memory_bytes(&self) -> u64 {
        self.mapping_bytes() as u64
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        let guess = self.expected_round() * 10;
        let mut runs: Vec<Run> = Vec::new();
        let mut seq = 1u64;
        for &policy in &self.policies {
            let got = ctx.runs(self.samples, self.memory_bytes(), guess, || {
                seq += 1;
                run_once(self, policy, seq)
            })?;
            runs.extend(got);
        }
        Ok(self.records(&runs))
    }
}

impl CrashCase {
    fn records(&self, runs: &[Run]) -> Vec<Record> {
        let med = |v: Vec<f64>| (!v.is_empty()).then(|| mpmt_schema::summarize(&v).median);
        let respawns: Vec<&Run> = runs.iter().filter(|r| r.policy == Recovery::Respawn).collect();
        let restarts: Vec<&Run> = runs.iter().filter(|r| r.policy == Recovery::Restart).collect();
        let checks = Checks {
            units_per_worker: Some(self.units as u64),
            crash_end: runs.first().map(|r| r.end.clone()),
            fault_words_seen: fault_words(self.fault)
                .map(|_| runs.iter().filter(|r| r.words_seen == Some(true)).count() as u64),
            owner_dead_recoveries: Some(runs.iter().map(|r| r.owner_dead_recoveries).sum()),
            bytes_verified: Some(runs.iter().map(|r| r.bytes_verified).sum()),
            workers_reaped: Some(runs.iter().map(|r| r.reaped).sum()),
            kernel: KernelEvents {
                kernel_events_missing: Some(
                    "one fault per run: its times are the record, not counts per operation".into(),
                ),
                ..Default::default()
            },
            ..Default::default()
        };
        let base = |metric, unit, fault: CrashRun, values: Vec<f64>, checks: Checks| {
            record::build(Measured {
                workload: Kind::Crash,
                backend: self.backend,
                channel: None,
                variant: Some(Variant::Crash(fault)),
                placement: self.placement,
                cpus: self.cpus.clone(),
                workers: self.workers as u32,
                size_bytes: (self.units * BLOCK) as u64,
                working_set_bytes: (self.workers * self.units * BLOCK) as u64,
                metric,
                unit,
                ops_per_sample: 1,
                values,
                setup_ns: 0,
                checks,
                switches: None,
            })
        };
        let fault = CrashRun {
            fault: self.fault,
            policy: None,
        };
        let mut out = Vec::new();
        if !respawns.is_empty() {
            out.push(base(
                Metric::Survivors,
                Unit::Count,
                fault,
                respawns.iter().map(|r| r.survivors as f64).collect(),
                checks.clone(),
            ));
            out.push(base(
                Metric::WorkLost,
                Unit::Bytes,
                fault,
                respawns
                    .iter()
                    .map(|r| (r.units_lost * BLOCK) as f64)
                    .collect(),
                checks.clone(),
            ));
        }
        out.push(base(
            Metric::Detect,
            Unit::Ns,
            fault,
            runs.iter().map(|r| r.detect_ns as f64).collect(),
            checks.clone(),
        ));
        let owner: Vec<f64> = runs.iter().filter_map(|r| r.owner_dead_ns.map(|n| n as f64)).collect();
        if !owner.is_empty() {
            out.push(base(Metric::OwnerDead, Unit::Ns, fault, owner, checks.clone()));
        }
        for (policy, of) in [(Recovery::Respawn, &respawns), (Recovery::Restart, &restarts)] {
            if of.is_empty() {
                continue;
            }
            out.push(base(
                Metric::Recover,
                Unit::Ns,
                CrashRun {
                    fault: self.fault,
                    policy: Some(policy),
                },
                of.iter().map(|r| r.recover_ns as f64).collect(),
                Checks {
                    work_discarded_bytes: med(of
                        .iter()
                        .map(|r| (r.units_discarded * BLOCK) as f64)
                        .collect()),
                    workers_restarted: med(of.iter().map(|r| r.restarted as f64).collect()),
                    ..checks.clone()
                },
            ));
        }
        out
    }
}

impl Workload for Crash {
    fn kind(&self) -> Kind {
        Kind::Crash
    }

    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[
            (MemberJob::NAME, crate::backend::run_remote::<MemberJob>),
            (HostJob::NAME, crate::backend::run_remote::<HostJob>),
        ]
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        let mut v: Vec<Box<dyn Case>> = Vec::new();
        for &backend in Backend::ALL {
            for &fault in CrashFault::ALL {
                v.push(Box::new(CrashCase {
                    backend,
                    workers: 3,
                    units: 8,
                    fault,
                    policies: Recovery::ALL.to_vec(),
                    placement: Placement::Os,
                    cpus: vec![None; 3],
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

    #[test]
    fn tags_differ_by_run_worker_and_unit() {
        let mut seen = std::collections::HashSet::new();
        for run in 0..3 {
            for w in 0..4 {
                for u in 0..64 {
                    assert!(seen.insert(tag(run, w, u)));
                }
            }
        }
        assert!(blocks_at(4).is_multiple_of(4096) && blocks_at(4) >= control_at(4) + SLOTS + 8 * 64);
    }

    #[test]
    fn the_address_space_read_is_the_kernels() {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().next().unwrap().parse().unwrap();
        let got = mapped_bytes().unwrap();
        // The process may map a little between the two reads.
        assert!(got.abs_diff(pages * 4096) < 64 << 20, "{got} vs {pages} pages");
    }
}
