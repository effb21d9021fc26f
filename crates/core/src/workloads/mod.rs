//! Workloads: what one measured operation is. Each module implements
//! [`Workload`] (its kind and the tiny cases the conformance suite runs for
//! every valid backend) and one or more [`Case`] types: lmbench's contract
//! of initialise / timed operation / clean up, in [`Case::run`], which
//! starts its members through a [`crate::backend::Team`] running the
//! workload's [`crate::backend::Job`], measures, verifies and returns the
//! records.
//!
//! [`REGISTRY`] lists every workload (one line in `workloads!` per
//! workload), and [`dispatch`] finds every job an exec'd worker can
//! receive through them ([`Workload::jobs`]). CONTRIBUTING.md lists what
//! else a new workload adds: its kind in `mpmt-schema`, its plan in the
//! driver, its reading in the report.

pub mod ring;

use crate::backend::{Backend, Report, Status};
use crate::channel::ExecFds;
use crate::error::{Error, Result};
use crate::shm::{Gate, SharedMem};
use mpmt_schema::Record;
pub use mpmt_schema::Workload as WorkloadKind;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Run-wide inputs of every case.
#[derive(Debug, Clone)]
pub struct Context {
    /// Cost of one clock read (ns), measured in this run.
    pub clock_ns: f64,
    /// memcpy at each chunk size the run's cases stream, measured once
    /// before them (a case whose size is missing measures its own).
    pub memcpy_at: std::sync::Arc<Vec<mpmt_schema::SizedFloor>>,
    /// How long one step of a case may wait before it counts as stalled.
    pub deadline: crate::measure::Deadline,
    /// Least time one round spends measuring: a case keeps taking samples
    /// (or runs) past its planned count until it has measured this long,
    /// so one tick or one stray task cannot make a whole round (zero:
    /// exactly the planned count).
    pub min_round_time: std::time::Duration,
    /// Whether this round also counts the kernel's events (a pass of its
    /// own after the timed runs): a suite counts each case's first round
    /// only, as the counts are the case's and the pass costs a run.
    pub count_events: bool,
}

pub use crate::measure::sampler::MAX_EXTRA_SAMPLES;

impl Context {
    /// Whether a round that has taken `done` of its `planned` samples (or
    /// runs) in `spent` should take another.
    pub fn another(&self, done: usize, planned: usize, spent: std::time::Duration) -> bool {
        crate::measure::sampler::wants_another(done, planned, spent, self.min_round_time)
    }

    /// `n` whole runs of a case that touches `bytes` of memory, each timed
    /// by `run` itself: between runs (outside every timed region) it
    /// looks for an interrupt and restarts the stall deadline for the
    /// slowest run so far (before the first, `first_guess`).
    pub fn runs<T>(
        &self,
        n: usize,
        bytes: u64,
        first_guess: std::time::Duration,
        mut run: impl FnMut() -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(n);
        let mut slowest = first_guess;
        for i in 0..n {
            if crate::sys::signal::interrupted() {
                return Err(Error::interrupted());
            }
            self.pace_run(bytes, slowest);
            let t = std::time::Instant::now();
            out.push(run()?);
            slowest = if i == 0 {
                t.elapsed()
            } else {
                slowest.max(t.elapsed())
            };
        }
        Ok(out)
    }

    /// [`Context::runs`], and (if [`Context::count_events`]) one more
    /// run after them with the kernel's counters on (`run(true)`): the
    /// counters' own cost (every counted event, every switch of a counted
    /// task) stays out of the timed runs, which get `run(false)`. Returns
    /// the timed runs and the counted one.
    pub fn runs_counted<T>(
        &self,
        n: usize,
        bytes: u64,
        first_guess: std::time::Duration,
        mut run: impl FnMut(bool) -> Result<T>,
    ) -> Result<(Vec<T>, Option<T>)> {
        let timed = self.runs(n, bytes, first_guess, || run(false))?;
        if !self.count_events {
            return Ok((timed, None));
        }
        let mut counted = self.runs(1, bytes, first_guess, || run(true))?;
        Ok((timed, Some(counted.remove(0))))
    }

    /// Restarts the stall deadline before one whole run of a case that
    /// touches `bytes` of memory and is expected to take `expected` (its
    /// slowest run so far, or an upper estimate before the first). Called
    /// between runs, outside every timed region.
    pub fn pace_run(&self, bytes: u64, expected: std::time::Duration) {
        crate::sys::watchdog::extend(
            self.deadline
                .for_setup(bytes)
                .max(self.deadline.for_step(expected)),
        );
    }
}

impl Default for Context {
    fn default() -> Context {
        Context {
            clock_ns: 30.0,
            memcpy_at: Default::default(),
            deadline: Default::default(),
            min_round_time: std::time::Duration::ZERO,
            count_events: true,
        }
    }
}

/// A gate's mapping (and whatever lies behind the gate in it) as it
/// crosses exec: the memfd's number in the [`ExecFds`], its length and the
/// gate's worker count.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RemoteGate {
    memfd: i32,
    len: u64,
    workers: u32,
}

impl RemoteGate {
    /// Parent side: keeps a duplicate of the gate's memfd in `carry`.
    pub fn of(gate: &Gate, carry: &mut ExecFds) -> Result<RemoteGate> {
        let mem = gate.mem();
        let fd = mem
            .memfd()
            .ok_or_else(|| Error::Setup("the gate's mapping has no memfd to hand over".into()))?
            .try_clone()
            .map_err(|e| Error::io("duplicating the gate's memfd", e))?;
        Ok(RemoteGate {
            memfd: carry.keep(fd),
            len: mem.len() as u64,
            workers: gate.workers() as u32,
        })
    }

    /// Worker side: maps the inherited memfd (`populate`: prefault all of
    /// it) and finds the gate at its start.
    pub fn attach(self, populate: bool) -> std::result::Result<Gate, Status> {
        let fd = ExecFds::inherited(self.memfd).map_err(Status::Channel)?;
        let mem =
            SharedMem::attach(fd, self.len as usize, populate).map_err(|e| Status::setup(&e))?;
        Gate::new(Arc::new(mem), self.workers as usize).map_err(|_| Status::SetupFailed {
            errno: libc::EINVAL,
        })
    }
}

/// One fully resolved case of a workload.
pub trait Case: std::fmt::Debug + Send + Sync {
    fn workload(&self) -> WorkloadKind;
    fn backend(&self) -> Backend;
    /// Short label for progress lines and errors.
    fn label(&self) -> String;
    /// Bytes the case maps or allocates at most (checked against what the
    /// machine has before anything starts).
    fn memory_bytes(&self) -> u64;
    /// Workers the case starts at most at once.
    fn workers(&self) -> usize;
    /// Measures the case: set up, timed operations, verification, clean
    /// up. Returns its records.
    fn run(&self, ctx: &Context) -> Result<Vec<Record>>;
    /// Chunk sizes whose memcpy floor this case reads its figures against
    /// (measured once per run and size, before the cases).
    fn memcpy_sizes(&self) -> Vec<u64> {
        Vec::new()
    }
    /// Whether a claim or a headline figure reads this case (a verdict
    /// case, never dropped to fit a time budget) or it only draws a point
    /// of a curve (see [`Swept`]).
    fn role(&self) -> Role {
        Role::Verdict
    }
    /// A first guess at one round's wall time on a 2-vCPU machine, setup
    /// and clean-up included: what a time budget is planned with until the
    /// run has timed rounds of its own (see the driver's `budget`).
    fn expected_round(&self) -> std::time::Duration {
        std::time::Duration::from_millis(100)
    }
    /// Whether its figure depends on how much this process holds (fork
    /// copies the parent's page tables): its extra rounds then run right
    /// after its base rounds, while the parent is as small as it was.
    fn reads_the_parent(&self) -> bool {
        false
    }
}

/// What a case is for, as its workload's plan declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A claim's verdict or a headline figure reads it.
    Verdict,
    /// Only a point of a curve: a budget too small for the whole plan
    /// drops it, whole points first in [`SweepPoint::rank`] order.
    Curve(SweepPoint),
}

/// One point of a sweep, shared by the cases that draw it (every backend
/// and channel at one size and placement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPoint {
    /// What the point is, as the terminal and the page name it when it is
    /// dropped: "bandwidth 1M cross-cpu".
    pub name: String,
    /// Dropped highest first: (kind, magnitude, placement) with kind
    /// [`SweepPoint::SIZES`] before [`SweepPoint::RING_LENGTHS`] before
    /// [`SweepPoint::HEAPS`], the larger magnitude first, and cross-cpu
    /// (2) before os (1) before same-cpu (0).
    pub rank: (u8, u64, u8),
}

impl SweepPoint {
    /// A message or array size.
    pub const SIZES: u8 = 2;
    /// A ring of more than two members.
    pub const RING_LENGTHS: u8 = 1;
    /// A parent's resident heap.
    pub const HEAPS: u8 = 0;

    pub fn new(name: String, kind: u8, magnitude: u64, placement: crate::Placement) -> SweepPoint {
        let p = match placement {
            crate::Placement::CrossCpu => 2,
            crate::Placement::Os => 1,
            _ => 0,
        };
        SweepPoint {
            name,
            rank: (kind, magnitude, p),
        }
    }
}

/// A case that only draws a point of a curve: the case itself, measured
/// as it is, with the point it belongs to.
#[derive(Debug)]
pub struct Swept {
    pub case: Box<dyn Case>,
    pub point: SweepPoint,
}

impl Swept {
    pub fn boxed(case: Box<dyn Case>, point: SweepPoint) -> Box<dyn Case> {
        Box::new(Swept { case, point })
    }
}

impl Case for Swept {
    fn workload(&self) -> WorkloadKind {
        self.case.workload()
    }
    fn backend(&self) -> Backend {
        self.case.backend()
    }
    fn label(&self) -> String {
        self.case.label()
    }
    fn memory_bytes(&self) -> u64 {
        self.case.memory_bytes()
    }
    fn workers(&self) -> usize {
        self.case.workers()
    }
    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        self.case.run(ctx)
    }
    fn memcpy_sizes(&self) -> Vec<u64> {
        self.case.memcpy_sizes()
    }
    fn role(&self) -> Role {
        Role::Curve(self.point.clone())
    }
    fn expected_round(&self) -> std::time::Duration {
        self.case.expected_round()
    }
    fn reads_the_parent(&self) -> bool {
        self.case.reads_the_parent()
    }
}

/// What starting and stopping one member costs, roughly, for
/// [`Case::expected_round`]: a thread, a fork, an exec'd worker.
pub fn member_setup(b: Backend) -> std::time::Duration {
    std::time::Duration::from_micros(match b {
        Backend::Thread => 300,
        Backend::Fork => 3_500,
        _ => 10_000,
    })
}

/// File descriptors a case may hold open at once: a margin for the run
/// itself (results, /proc reads, the bootstrap server) plus, per worker,
/// its report pipe, the ends of its links (two per link, two links per
/// worker at most) and an ipc-channel fragment channel.
pub fn fds_needed(case: &dyn Case) -> u64 {
    16 + 6 * case.workers() as u64
}

/// Address space a case adds to this process at most: what it maps or
/// allocates, a 2 MiB stack per thread member, and 64 MiB for the rest
/// (the worker's own buffers, libc arenas).
pub fn address_space_needed(case: &dyn Case) -> u64 {
    let stacks = match case.backend() {
        Backend::Thread => case.workers() as u64 * (2 << 20),
        _ => 0,
    };
    case.memory_bytes()
        .saturating_add(stacks)
        .saturating_add(64 << 20)
}

/// Refuses `case` if it cannot fit in this process's limits as they are
/// now: open files (RLIMIT_NOFILE), address space (RLIMIT_AS) and cgroup
/// memory. Called right before the case, so what earlier cases left behind
/// counts. The message says what it needs and what is allowed (the caller
/// names the case).
pub fn check_limits(case: &dyn Case) -> Result<()> {
    use crate::sys::limits;
    use mpmt_schema::units::fmt_bytes;
    let refuse = |need: String, room: &limits::Headroom, allowed: String| {
        Err(Error::Setup(format!(
            "it needs {need}, but {} allows {allowed}; raise the limit or choose a smaller case",
            room.name
        )))
    };
    if let Some(room) = limits::fds() {
        let need = fds_needed(case);
        if need > room.free() {
            return refuse(
                format!("about {need} file descriptors"),
                &room,
                format!("{} with {} already open", room.limit, room.used),
            );
        }
    }
    if let Some(room) = limits::address_space() {
        let need = address_space_needed(case);
        if need > room.free() {
            return refuse(
                format!("about {} more address space", fmt_bytes(need)),
                &room,
                format!(
                    "{} with {} in use",
                    fmt_bytes(room.limit),
                    fmt_bytes(room.used)
                ),
            );
        }
    }
    if let Some(room) = limits::cgroup_memory() {
        let need = case.memory_bytes();
        if need > room.free() {
            return refuse(
                format!("{} of memory", fmt_bytes(need)),
                &room,
                format!(
                    "{} with {} in use",
                    fmt_bytes(room.limit),
                    fmt_bytes(room.used)
                ),
            );
        }
    }
    Ok(())
}

/// A workload: its kind and the tiny verified cases that cover every
/// backend (and channel) it runs on.
pub trait Workload: Sync {
    fn kind(&self) -> WorkloadKind;
    /// Small, fast cases over every valid backend (and channel), each
    /// verifying its result: the conformance suite runs them all.
    fn conformance_cases(&self) -> Vec<Box<dyn Case>>;
    /// The backends it runs on (all, unless its question needs one kind
    /// of birth: cow's needs a fork).
    fn backends(&self) -> &'static [Backend] {
        Backend::ALL
    }
    /// The ring workload this is, if it runs on the ring engine.
    fn ring(&self) -> Option<&'static dyn ring::RingWorkload> {
        None
    }
    /// The jobs an exec'd worker of this workload can receive, by name
    /// (a ring workload's members run the engine's `ring` job).
    fn jobs(&self) -> &'static [RemoteJob] {
        match self.ring() {
            Some(_) => &[("ring", ring::run_remote)],
            None => &[],
        }
    }
}

/// A job's registry name, and how an exec'd worker runs its description.
pub type RemoteJob = (&'static str, fn(&str, &mut ExecFds) -> Report);

/// The workloads, in listing order, one line each: the module (its file)
/// and the value that implements [`Workload`].
macro_rules! workloads {
    ($( $module:ident::$value:ident ),+ $(,)?) => {
        $( pub mod $module; )+

        /// Every workload, in listing order.
        pub static REGISTRY: &[&dyn Workload] = &[$( &$module::$value ),+];
    };
}

workloads! {
    ctx_switch::CtxSwitch,
    latency::Latency,
    bandwidth::Bandwidth,
    data_parallel::DataParallel,
    counter::Counter,
    messaging::Messaging,
    false_sharing::FalseSharing,
    create::Create,
    vm_ops::VmOps,
    memory::Memory,
    cow::Cow,
    crash::Crash,
}

/// The timed phase of a gated case: waits until every member is ready,
/// starts `phase` (the kernel's counters, if this run counts), opens the
/// gate, and waits until every member is done, ending `phase` before any
/// is let go. Returns the opening time and how many members died (only
/// tolerated when `dead` says so). On an error `phase` is ended too.
pub(crate) fn gated(
    gate: &Gate,
    phase: &crate::measure::events::Phase,
    dead: &mut dyn FnMut() -> Result<usize>,
) -> Result<(u64, usize)> {
    let timed = (|| {
        gate.wait_ready(dead)?;
        phase.begin();
        let ready = gate.open();
        let died = gate.wait_done_then(dead, || phase.end())?;
        Ok((ready, died))
    })();
    if timed.is_err() {
        phase.end();
    }
    timed
}

/// Runs a job received by an exec'd worker, found by its name among the
/// registered workloads' [`Workload::jobs`].
pub fn dispatch(job: &str, body: &str, carry: &mut ExecFds) -> Report {
    match REGISTRY
        .iter()
        .flat_map(|w| w.jobs())
        .find(|(name, _)| *name == job)
    {
        Some((_, run)) => run(body, carry),
        None => Report::failed(Status::BadJob),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_name_is_dispatched_to_one_runner() {
        let mut names: Vec<&str> = REGISTRY
            .iter()
            .flat_map(|w| w.jobs())
            .map(|(n, _)| *n)
            .collect();
        // The ring workloads share the engine's one job.
        names.dedup();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            names.len(),
            "a job name in two workloads: {names:?}"
        );
        for n in ["ring", "data-parallel-copy"] {
            assert!(names.contains(&n), "{n}");
        }
        let mut carry = ExecFds::default();
        assert!(matches!(
            dispatch("no-such-job", "{}", &mut carry).status,
            Status::BadJob
        ));
    }

    #[test]
    fn every_kind_is_registered_once() {
        for &k in WorkloadKind::ALL {
            assert_eq!(REGISTRY.iter().filter(|w| w.kind() == k).count(), 1, "{k}");
        }
    }
}
