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
//! The timed creations run in a *creator*: a fresh `mpmt-worker`, exec'd
//! for the case, that allocates the parent heap and creates on command
//! ([`CreatorJob`]). A process's creation cost depends on its mappings
//! and on what glibc keeps for threads it once had (malloc arenas, cached
//! thread stacks), and mpmt's own process collects those from every case
//! before: timed in mpmt itself, fork read 150 µs alone and 185 µs after
//! the thread case on the reference VM. In the creator, the parent is the
//! runtime plus the requested heap, whatever ran before. Each creation is
//! timed inside the creator and is the bare system call sequence: no team,
//! no report pipe, no bootstrap; fork is the kernel's (`clone(SIGCHLD)`,
//! [`sys::child::fork_bare`]) and the reap one blocking `waitpid` (the
//! creator arms a deadline of its own around each creation).
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
use crate::channel::fd::{FdRx, FdTx, Pipe};
use crate::channel::{ExecFds, Channel, End, LinkOpts, RemoteEnd, Rx, Tx};
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

/// How a worker is created (the record's variant).
pub use mpmt_schema::CreateMethod as Method;

/// What create needs to know of a method beyond its name.
trait MethodRules {
    fn forks(self) -> bool;
    fn weighable(self) -> bool;
}

impl MethodRules for Method {
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
    unsafe { sys::child::fork_bare() }.map_err(|e| Error::io("fork", e))
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
                Some(Error::Stalled { .. }) => Error::stalled_with(format!(
                    ": {what}: child pid {pid} had not exited ({after})"
                )),
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

    fn into_remote(self, carry: &mut ExecFds) -> Result<RemoteGate> {
        RemoteGate::of(&self.gate, carry)
    }

    fn from_remote(r: RemoteGate, _: &mut ExecFds) -> std::result::Result<Self, Status> {
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
    /// The parent's heap touched and freed (~1 GB/s), then each
    /// creation: ~50 µs for a thread, ~200 µs for a fork plus its page
    /// tables, ~1 ms with an exec; at least 30 ms.
    fn expected_round(&self) -> std::time::Duration {
        use std::time::Duration;
        let heap = self.parent_heap_bytes as u64;
        let one = match self.method {
            Method::Thread => Duration::from_micros(50),
            Method::Fork => Duration::from_micros(200) + Duration::from_nanos(heap / 4096 * 30),
            _ => Duration::from_millis(1) + Duration::from_nanos(heap / 4096 * 30),
        };
        Duration::from_nanos(heap) + (one * self.samples as u32).max(Duration::from_millis(30))
    }

    /// fork copies this process's page tables.
    fn reads_the_parent(&self) -> bool {
        true
    }

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

/// A heap of `bytes`, every page touched: resident, so fork must copy its
/// page tables.
fn touched_heap(bytes: usize) -> Vec<u8> {
    let mut heap = vec![0u8; bytes];
    for i in (0..heap.len()).step_by(crate::shm::page_size()) {
        heap[i] = 1;
    }
    std::hint::black_box(&mut heap);
    heap
}

/// What the parent sends the creator: create once more, or stop.
const GO: u8 = 1;
const STOP: u8 = 0;
/// An answer: the creator's RSS once ready, then one creation's ns each;
/// [`FAILED`] is followed by [`ERROR_TEXT`] bytes saying why.
const ANSWER: usize = 8;
const FAILED: u64 = u64::MAX;
const ERROR_TEXT: usize = 512;

/// The creator (see the module doc): a fresh process that holds the parent
/// heap and times one creation per [`GO`].
pub struct CreatorJob {
    method: Method,
    heap_bytes: u64,
    rx: FdRx,
    tx: FdTx,
}

/// A creator as it crosses exec.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatorRemote {
    method: Method,
    heap_bytes: u64,
    rx: RemoteEnd,
    tx: RemoteEnd,
}

impl Job for CreatorJob {
    const NAME: &'static str = "create-creator";
    type Remote = CreatorRemote;

    fn run(mut self) -> Report {
        match self.serve() {
            Ok(n) => Report::ok(n),
            Err(CreatorStop::Channel(e)) => Report::failed(Status::Channel(e)),
            Err(CreatorStop::Failed(e)) => {
                // Said to the parent in full; the report only marks it.
                let text = e.to_string();
                let told = self
                    .tx
                    .send(ANSWER, |b| b.copy_from_slice(&FAILED.to_le_bytes()))
                    .and_then(|()| {
                        self.tx.send(ERROR_TEXT, |b| {
                            b.fill(0);
                            let n = text.len().min(ERROR_TEXT);
                            b[..n].copy_from_slice(&text.as_bytes()[..n]);
                        })
                    });
                Report::failed(match told {
                    Ok(()) => Status::SetupFailed { errno: libc::EIO },
                    Err(e) => Status::Channel(e),
                })
            }
        }
    }

    fn into_remote(self, carry: &mut ExecFds) -> Result<CreatorRemote> {
        Ok(CreatorRemote {
            method: self.method,
            heap_bytes: self.heap_bytes,
            rx: self.rx.into_remote(carry)?,
            tx: self.tx.into_remote(carry)?,
        })
    }

    fn from_remote(r: CreatorRemote, carry: &mut ExecFds) -> std::result::Result<Self, Status> {
        Ok(CreatorJob {
            method: r.method,
            heap_bytes: r.heap_bytes,
            rx: FdRx::from_remote(r.rx, carry).map_err(Status::Channel)?,
            tx: FdTx::from_remote(r.tx, carry).map_err(Status::Channel)?,
        })
    }

    fn release(self) {
        self.rx.release();
        self.tx.release();
    }
}

/// Why a creator stopped early.
enum CreatorStop {
    Channel(crate::channel::ChanError),
    Failed(Error),
}

impl CreatorJob {
    fn answer(&mut self, v: u64) -> std::result::Result<(), CreatorStop> {
        self.tx
            .send(ANSWER, |b| b.copy_from_slice(&v.to_le_bytes()))
            .map_err(CreatorStop::Channel)
    }

    /// Sets up (heap, exec target, warm-up), says its RSS, then creates
    /// once per [`GO`] until [`STOP`]; the creations made.
    fn serve(&mut self) -> std::result::Result<u64, CreatorStop> {
        let heap = touched_heap(self.heap_bytes as usize);
        let target = Target::of(self.method).map_err(CreatorStop::Failed)?;
        let once = |m| -> Result<f64> {
            // A deadline of its own around each creation: it bounds the
            // reap, which is then one blocking waitpid.
            let _armed = sys::watchdog::Armed::new(CHILD_EXIT_TIMEOUT)
                .map_err(|e| Error::io("arming the creator's deadline", e))?;
            create_once(m, &target)
        };
        for _ in 0..WARMUP_CREATIONS {
            once(self.method).map_err(CreatorStop::Failed)?;
        }
        let rss = sys::proc::rss_pss("self")
            .map(|(rss, _)| rss)
            .map_err(|e| CreatorStop::Failed(Error::io("reading the creator's RSS", e)))?;
        self.answer(rss)?;
        let mut made = 0;
        while self.rx.recv(1, |m| m[0]).map_err(CreatorStop::Channel)? == GO {
            let ns = once(self.method).map_err(CreatorStop::Failed)?;
            self.answer(ns as u64)?;
            made += 1;
        }
        drop(heap);
        Ok(made)
    }
}

/// One answer from the creator; its failure, in its words, as an error.
fn answer(rx: &mut FdRx) -> Result<u64> {
    let v = rx.recv(ANSWER, |m| {
        u64::from_le_bytes(m.try_into().expect("an answer is 8 bytes"))
    })?;
    if v != FAILED {
        return Ok(v);
    }
    let text = rx.recv(ERROR_TEXT, |m| {
        let end = m.iter().position(|&b| b == 0).unwrap_or(m.len());
        String::from_utf8_lossy(&m[..end]).into_owned()
    })?;
    Err(Error::Setup(text))
}

/// Times the case's creations in a creator pinned like the case: the
/// samples (ns) and the creator's RSS with its heap.
fn time_in_creator(
    case: &CreateCase,
    ctx: &Context,
) -> Result<(Vec<f64>, u64, mpmt_schema::KernelEvents)> {
    let opts = LinkOpts {
        max_message_bytes: ERROR_TEXT,
        slots: 1,
        for_exec: true,
    };
    let (mut go, go_rx) = Pipe::link(opts)?;
    let (answer_tx, mut answers) = Pipe::link(opts)?;
    // Opened before the creator starts, so it and every worker it
    // creates inherit it; on for one more creation after the timed ones.
    let phase = crate::measure::events::Phase::open(ctx.count_events);
    let mut team = Team::new(Backend::Spawn);
    let timed = (|| -> Result<(Vec<f64>, u64)> {
        team.start(
            0,
            case.cpu,
            CreatorJob {
                method: case.method,
                heap_bytes: case.parent_heap_bytes as u64,
                rx: go_rx,
                tx: answer_tx,
            },
        )?;
        let watch = team.watch();
        go.watch(watch.clone());
        answers.watch(watch);
        let rss = answer(&mut answers)?;
        let mut ns = Vec::with_capacity(case.samples);
        let mut slowest = 0u64;
        let mut spent = Duration::ZERO;
        while ctx.another(ns.len(), case.samples, spent) {
            if sys::signal::interrupted() {
                return Err(Error::interrupted());
            }
            ctx.pace_run(case.memory_bytes(), Duration::from_nanos(slowest));
            go.send(1, |b| b[0] = GO)?;
            let t = answer(&mut answers)?;
            slowest = slowest.max(t);
            spent += Duration::from_nanos(t);
            ns.push(t as f64);
        }
        if ctx.count_events {
            ctx.pace_run(case.memory_bytes(), Duration::from_nanos(slowest));
            phase.begin();
            go.send(1, |b| b[0] = GO)?;
            let counted = answer(&mut answers);
            phase.end();
            counted?;
        }
        go.send(1, |b| b[0] = STOP)?;
        Ok((ns, rss))
    })();
    drop(go);
    drop(answers);
    match timed {
        Ok((ns, rss)) => {
            team.join()?;
            Ok((ns, rss, phase.per_op(1)))
        }
        Err(e) => Err(team.abort(e)),
    }
}

/// Measures one case: the creation record and the memory record.
fn run_case(case: &CreateCase, ctx: &Context) -> Result<Vec<Record>> {
    let _pin = sys::AffinityGuard::pin(case.cpu).map_err(|e| Error::io("pinning the parent", e))?;
    let (ns, parent_rss, kernel) = time_in_creator(case, ctx)?;
    let mem = if case.method.weighable() {
        // The same heap in mpmt, for the members weighed here to share
        // (after the creator has gone: one heap at a time).
        let heap = touched_heap(case.parent_heap_bytes);
        let mem = memory(case.method.backend(), case.alive)?;
        drop(heap);
        mem
    } else {
        Vec::new()
    };

    let base = |metric, unit, values, workers: usize, checks| Measured {
        workload: Kind::Create,
        backend: case.method.backend(),
        channel: None,
        variant: Some(mpmt_schema::Variant::Method(case.method)),
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
    // The timed creations, the warm-up and the counted one.
    let created = (WARMUP_CREATIONS + ns.len() + ctx.count_events as usize) as u64;
    let create = record::build(base(
        Metric::Create,
        Unit::Ns,
        ns,
        1,
        Checks {
            parent_rss_bytes: Some(parent_rss),
            workers_reaped: Some(created),
            kernel,
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
            kernel: mpmt_schema::KernelEvents {
                kernel_events_missing: Some(
                    "a memory reading, not an operation: the creation record beside it carries the counts".into(),
                ),
                ..Default::default()
            },
            ..Default::default()
        },
    ));
    Ok(vec![create, memory])
}

impl Workload for Create {
    fn jobs(&self) -> &'static [super::RemoteJob] {
        &[
            (ParkJob::NAME, crate::backend::run_remote::<ParkJob>),
            (CreatorJob::NAME, crate::backend::run_remote::<CreatorJob>),
        ]
    }

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
