//! create: what it costs to create a worker, run an empty body and join or
//! reap it, and what a live worker costs in memory. (Called `spawn` before;
//! the old name is still accepted.)
//!
//! Methods: `thread` (std spawn + join), `fork` (child `_exit`s at once,
//! parent waits), `fork-exec` (the child execs `mpmt-worker --noop`),
//! `posix-spawn` (std's `Command`, which uses posix_spawn and so never copies
//! the parent's page tables), and `fork-exec-static` / `posix-spawn-static`,
//! which exec `mpmt-noop` instead: a static program with no loader and no
//! runtime, so exec alone is told apart from loading a dynamically linked
//! Rust program and starting its runtime. The parent first allocates and
//! touches a heap of the requested size, so fork's cost of copying page
//! tables shows. Every wait blocks (a pidfd), so a child's exit is seen the
//! moment it happens; the run's floors give the same fork + exit + wait and
//! thread create + join with nothing of mpmt around them.
//!
//! The timed creation deliberately does not go through [`Team`]: a team
//! member gets a report pipe and (spawned) an ipc-channel bootstrap, which
//! would be measured too. Each method is the bare system call sequence.
//!
//! Memory: W members of the method's backend (`fork-exec` and
//! `posix-spawn` both give exec'd `mpmt-worker`s) are started with a
//! [`Team`] running [`ParkJob`], which waits at the start gate; while all
//! wait, each one's RSS and PSS is read from /proc/<pid>/smaps_rollup
//! (threads: the process's growth divided by W). PSS splits shared pages
//! among their sharers, so a forked child that shares the parent's heap
//! copy-on-write is charged only its share.

use super::{Case, Context, RemoteGate, Workload};
use crate::backend::process::{ExecArgs, NoopExe};
use crate::backend::{Backend, Job, Report, Status, Team};
use crate::channel::Carry;
use crate::error::{Error, Result};
use crate::measure::record::{self, Measured};
use crate::shm::gate::Gate;
use crate::sys;
use mpmt_schema::{Checks, Metric, Placement, Record, Unit, Workload as Kind};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The create workload.
pub struct Create;

/// How long a created child may take to exit before it counts as hung.
const CHILD_EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Creations before the samples, to warm caches and the allocator.
const WARMUP_CREATIONS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Thread,
    Fork,
    ForkExec,
    PosixSpawn,
    ForkExecStatic,
    PosixSpawnStatic,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Thread,
        Method::Fork,
        Method::ForkExec,
        Method::PosixSpawn,
        Method::ForkExecStatic,
        Method::PosixSpawnStatic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Thread => "thread",
            Method::Fork => "fork",
            Method::ForkExec => "fork-exec",
            Method::PosixSpawn => "posix-spawn",
            Method::ForkExecStatic => "fork-exec-static",
            Method::PosixSpawnStatic => "posix-spawn-static",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Method::Thread => "std::thread::spawn + join",
            Method::Fork => "fork, child _exit(0), waitpid",
            Method::ForkExec => "fork, child execs mpmt-worker --noop, waitpid",
            Method::PosixSpawn => "std::process::Command (posix_spawn) of mpmt-worker --noop, wait",
            Method::ForkExecStatic => {
                "fork, child execs mpmt-noop (static, no loader, no runtime), waitpid"
            }
            Method::PosixSpawnStatic => "std::process::Command (posix_spawn) of mpmt-noop, wait",
        }
    }

    /// The backend whose workers this method creates.
    pub fn backend(self) -> Backend {
        match self {
            Method::Thread => Backend::Thread,
            Method::Fork => Backend::Fork,
            Method::ForkExec
            | Method::PosixSpawn
            | Method::ForkExecStatic
            | Method::PosixSpawnStatic => Backend::Spawn,
        }
    }

    /// Whether the child forks from this process (and so must find it
    /// single-threaded).
    fn forks(self) -> bool {
        matches!(
            self,
            Method::Fork | Method::ForkExec | Method::ForkExecStatic
        )
    }

    /// Whether a live worker of this method can be weighed: mpmt-noop
    /// exits the moment it starts.
    fn weighable(self) -> bool {
        !matches!(self, Method::ForkExecStatic | Method::PosixSpawnStatic)
    }
}

/// What a method execs, prepared before anything is timed.
struct Target {
    /// The command line a forked child execs.
    exec: Option<ExecArgs>,
    /// What posix-spawn runs: path and arguments.
    spawn: Option<(std::path::PathBuf, &'static [&'static str])>,
    /// Holds mpmt-noop's memfd open while its path is in use.
    _noop: Option<NoopExe>,
}

impl Target {
    fn of(m: Method) -> Result<Target> {
        let noop = match m {
            Method::ForkExecStatic | Method::PosixSpawnStatic => Some(NoopExe::load()?),
            _ => None,
        };
        let exec = match m {
            Method::ForkExec => Some(ExecArgs::worker(&["--noop"])?),
            Method::ForkExecStatic => Some(ExecArgs::new(
                &noop.as_ref().expect("loaded above").path(),
                "mpmt-noop",
                &[],
            )?),
            _ => None,
        };
        let spawn = match m {
            Method::PosixSpawn => Some((
                crate::backend::process::worker_path()?,
                &["--noop"] as &'static [&'static str],
            )),
            Method::PosixSpawnStatic => {
                Some((noop.as_ref().expect("loaded above").path(), &[] as &[&str]))
            }
            _ => None,
        };
        if m.forks() {
            sys::child::ensure_single_threaded().map_err(|e| Error::io("create workload", e))?;
        }
        Ok(Target {
            exec,
            spawn,
            _noop: noop,
        })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One creation-cost case.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateCase {
    pub method: Method,
    pub parent_heap_bytes: usize,
    pub samples: usize,
    /// Workers kept alive at once for the memory measurement.
    pub alive: usize,
    pub placement: Placement,
    /// CPU the parent (and so its children) is pinned to.
    pub cpu: Option<u32>,
}

fn fork_raw() -> Result<i32> {
    // SAFETY: callers run only raw syscalls in the child before `_exit` or
    // `execv`; the process is single-threaded (checked by the caller).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::io("fork", std::io::Error::last_os_error()));
    }
    Ok(pid)
}

fn wait_ok(pid: i32, what: &str) -> Result<()> {
    let reaped =
        sys::child::reap_blocking(pid, CHILD_EXIT_TIMEOUT).map_err(|e| Error::io("waitpid", e))?;
    match reaped {
        Some(sys::child::ExitKind::Code(0)) => Ok(()),
        Some(k) => Err(Error::Setup(format!("{what}: child {k}"))),
        None => {
            sys::child::kill9(pid);
            let after = match sys::child::reap_timeout(pid, CHILD_EXIT_TIMEOUT) {
                Ok(Some(_)) => "killed",
                _ => "not reaped even after SIGKILL",
            };
            Err(match Error::halted() {
                Some(Error::Stalled { limit, .. }) => Error::Stalled {
                    limit,
                    detail: format!(": {what}: child pid {pid} had not exited ({after})"),
                },
                Some(e) => e,
                None => Error::Setup(format!(
                    "{what}: child did not exit within {} s ({after})",
                    CHILD_EXIT_TIMEOUT.as_secs()
                )),
            })
        }
    }
}

/// One create + empty body + join, timed. Returns ns.
fn create_once(m: Method, target: &Target) -> Result<f64> {
    let t0 = Instant::now();
    match m {
        Method::Thread => std::thread::spawn(|| {})
            .join()
            .map_err(|_| Error::Setup("empty thread panicked".into()))?,
        Method::Fork => {
            let pid = fork_raw()?;
            if pid == 0 {
                sys::exit_now(0);
            }
            wait_ok(pid, "fork")?;
        }
        Method::ForkExec | Method::ForkExecStatic => {
            let args = target.exec.as_ref().expect("prepared by Target::of");
            let pid = fork_raw()?;
            if pid == 0 {
                args.exec();
            }
            wait_ok(pid, &format!("{m} (exit 127 means exec failed)"))?;
        }
        Method::PosixSpawn | Method::PosixSpawnStatic => {
            let (path, args) = target.spawn.as_ref().expect("prepared by Target::of");
            let st = std::process::Command::new(path)
                .args(*args)
                .stdin(std::process::Stdio::null())
                .status()
                .map_err(|e| Error::io(format!("{m} of {}", path.display()), e))?;
            if !st.success() {
                return Err(Error::Setup(format!("{m}: {} {st}", path.display())));
            }
        }
    }
    Ok(t0.elapsed().as_nanos() as f64)
}

/// Total time of `n` creations (for criterion's `iter_custom`).
pub fn create_many(m: Method, n: u64) -> Result<Duration> {
    let target = Target::of(m)?;
    let mut ns = 0.0;
    for _ in 0..n {
        ns += create_once(m, &target)?;
    }
    Ok(Duration::from_nanos(ns as u64))
}

/// A member that only waits at the start gate, so it can be weighed alive.
pub struct ParkJob {
    gate: Gate,
}

impl Job for ParkJob {
    const NAME: &'static str = "park";
    type Remote = RemoteGate;

    fn run(self) -> Report {
        match self.gate.arrive() {
            Ok(()) => Report::ok(0),
            Err(_) => Report::failed(Status::GateNeverOpened),
        }
    }

    fn into_remote(self, carry: &mut Carry) -> Result<RemoteGate> {
        RemoteGate::of(&self.gate, carry)
    }

    fn from_remote(r: RemoteGate, _: &mut Carry) -> std::result::Result<Self, Status> {
        Ok(ParkJob {
            gate: r.attach(true)?,
        })
    }
}

/// RSS and PSS of each of `n` live members of `backend`.
fn memory(backend: Backend, n: usize) -> Result<Vec<(u64, u64)>> {
    let gate = Gate::create(n, backend == Backend::Spawn)?;
    let rss = |pid: &str| {
        sys::proc::rss_pss(pid)
            .map_err(|e| Error::io(format!("reading /proc/{pid}/smaps_rollup"), e))
    };
    let before = rss("self")?;
    let mut team = Team::new(backend);
    let weighed = (|| -> Result<Vec<(u64, u64)>> {
        for i in 0..n {
            team.start(i, None, ParkJob { gate: gate.clone() })?;
        }
        team.wait_gate_ready(&gate)?;
        if backend == Backend::Thread {
            let after = rss("self")?;
            let per = |a: u64, b: u64| a.saturating_sub(b) / n as u64;
            return Ok(vec![(per(after.0, before.0), per(after.1, before.1)); n]);
        }
        team.pids().iter().map(|p| rss(&p.to_string())).collect()
    })();
    match weighed {
        Ok(m) => {
            gate.open();
            team.join()?;
            Ok(m)
        }
        Err(e) => Err(team.abort_at(&gate, e)),
    }
}

impl Case for CreateCase {
    fn workload(&self) -> Kind {
        Kind::Create
    }

    fn backend(&self) -> Backend {
        self.method.backend()
    }

    fn label(&self) -> String {
        format!(
            "create {} {} heap={}",
            self.method,
            self.placement,
            mpmt_schema::units::fmt_bytes(self.parent_heap_bytes as u64)
        )
    }

    fn workers(&self) -> usize {
        self.alive
    }

    fn memory_bytes(&self) -> u64 {
        self.parent_heap_bytes as u64
    }

    fn run(&self, ctx: &Context) -> Result<Vec<Record>> {
        run_case(self, ctx)
    }
}

/// Measures one case: the creation record and the memory record.
fn run_case(case: &CreateCase, ctx: &Context) -> Result<Vec<Record>> {
    let _pin = sys::AffinityGuard::pin(case.cpu).map_err(|e| Error::io("pinning the parent", e))?;
    // A resident heap: fork must copy its page tables.
    let mut heap = vec![0u8; case.parent_heap_bytes];
    for i in (0..heap.len()).step_by(crate::shm::page_size()) {
        heap[i] = 1;
    }
    std::hint::black_box(&mut heap);
    let target = Target::of(case.method)?;
    let parent_rss = sys::proc::rss_pss("self").map(|(rss, _)| rss).ok();
    for _ in 0..WARMUP_CREATIONS {
        create_once(case.method, &target)?;
    }
    let mut ns = Vec::with_capacity(case.samples);
    let mut slowest = 0u64;
    let mut spent = Duration::ZERO;
    while ctx.another(ns.len(), case.samples, spent) {
        if sys::signal::interrupted() {
            return Err(Error::interrupted());
        }
        ctx.pace_run(
            case.memory_bytes(),
            std::time::Duration::from_nanos(slowest),
        );
        let t = create_once(case.method, &target)?;
        slowest = slowest.max(t as u64);
        spent += Duration::from_nanos(t as u64);
        ns.push(t);
    }
    drop(target);
    let mem = if case.method.weighable() {
        memory(case.method.backend(), case.alive)?
    } else {
        Vec::new()
    };
    drop(heap);

    let base = |metric, unit, values, workers: usize, checks| Measured {
        workload: Kind::Create,
        backend: case.method.backend(),
        channel: None,
        variant: Some(case.method.name().into()),
        placement: case.placement,
        cpus: vec![case.cpu],
        workers: workers as u32,
        size_bytes: case.parent_heap_bytes as u64,
        working_set_bytes: 0,
        metric,
        unit,
        ops_per_sample: 1,
        values,
        setup_ns: 0,
        checks,
        switches: None,
    };
    let created = (WARMUP_CREATIONS + ns.len()) as u64;
    let create = record::build(base(
        Metric::Create,
        Unit::Ns,
        ns,
        1,
        Checks {
            parent_rss_bytes: parent_rss,
            workers_reaped: Some(created),
            ..Default::default()
        },
    ));
    if mem.is_empty() {
        return Ok(vec![create]);
    }
    let pss: Vec<f64> = mem.iter().map(|m| m.1 as f64).collect();
    let rss: Vec<f64> = mem.iter().map(|m| m.0 as f64).collect();
    let memory = record::build(base(
        Metric::Pss,
        Unit::Bytes,
        pss,
        case.alive,
        Checks {
            rss_bytes: Some(mpmt_schema::summarize(&rss).median),
            workers_reaped: Some(case.alive as u64),
            ..Default::default()
        },
    ));
    Ok(vec![create, memory])
}

impl Workload for Create {
    fn kind(&self) -> Kind {
        Kind::Create
    }

    fn conformance_cases(&self) -> Vec<Box<dyn Case>> {
        Method::ALL
            .iter()
            .map(|&method| {
                Box::new(CreateCase {
                    method,
                    parent_heap_bytes: 1 << 20,
                    samples: 3,
                    alive: 2,
                    placement: Placement::Os,
                    cpu: None,
                }) as Box<dyn Case>
            })
            .collect()
    }
}
