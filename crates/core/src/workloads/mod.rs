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
