//! Backends: how a member is born. A [`Job`] is what one member runs; a
//! [`Team`] starts jobs as threads, forked children or exec'd
//! `mpmt-worker` processes ([`Backend`]), watches them, and joins them
//! (collecting each one's [`Report`]) or aborts them (killing and reaping
//! whatever is left). Workloads build jobs; this layer never names one.
//!
//! The same job value runs under all three backends:
//! - thread: moved into a new thread, pinned there, run;
//! - fork: forked from a single-threaded parent; the child pins and runs it
//!   over what was allocated before the fork, writes its report with one raw
//!   `write` and `_exit`s; the parent then calls [`Job::release`] on its own
//!   copy (closing channel ends without telling the peer);
//! - spawn: [`Job::into_remote`] describes it (fds and ipc-channel handles
//!   go in a [`ExecFds`]), `mpmt-worker` receives the description, finds the
//!   job type by [`Job::NAME`] in the workload registry and rebuilds it with
//!   [`Job::from_remote`].

pub mod process;
pub mod protocol;

pub use mpmt_schema::Backend;
pub use protocol::{Report, Status};

use crate::channel::{ChanError, ExecFds, Watch};
use crate::error::{Error, Result};
use crate::shm::Gate;
use crate::sys;
use process::{fork_worker, spawn_worker, WorkerProc, LATE_REPORT};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a thread member may take to end once the run gave up (an
/// interrupt or the stall deadline): its waits and loops look at the stop
/// flags at least every 50 ms.
pub const THREAD_STOP_GRACE: Duration = Duration::from_secs(1);

/// What one member of a team runs, identically under every backend.
pub trait Job: Send + Sized + 'static {
    /// The job's name in the registry that `mpmt-worker` dispatches on.
    const NAME: &'static str;
    /// The job as it crosses exec: plain data (fds and ipc-channel handles
    /// travel in the [`ExecFds`], referred to by number).
    type Remote: Serialize + DeserializeOwned;
    /// Runs the job. Under `fork` this runs in the child, which may use only
    /// what the job holds (allocated before the fork) and raw syscalls.
    fn run(self) -> Report;
    /// Describes the job for an exec'd worker.
    fn into_remote(self, carry: &mut ExecFds) -> Result<Self::Remote>;
    /// Rebuilds the job in an exec'd worker.
    fn from_remote(remote: Self::Remote, carry: &mut ExecFds) -> std::result::Result<Self, Status>;
    /// Parent side, after a fork: drops the parent's copy of what the child
    /// now owns, without signalling any peer.
    fn release(self) {
        drop(self)
    }
}

/// Runs a job received by an exec'd worker: the registry's entry for `J`.
pub fn run_remote<J: Job>(body: &str, carry: &mut ExecFds) -> Report {
    let remote: J::Remote = match serde_json::from_str(body) {
        Ok(r) => r,
        Err(_) => return Report::failed(Status::BadJob),
    };
    match J::from_remote(remote, carry) {
        Ok(job) => job.run(),
        Err(status) => Report::failed(status),
    }
}

/// One joined member.
#[derive(Debug)]
pub struct Joined {
    pub index: usize,
    /// The member's pid, for process backends.
    pub pid: Option<i32>,
    pub report: std::result::Result<Report, String>,
}

/// A thread member: its index, its handle and its kernel tid (for saying
/// what it was doing when a case stalled).
struct Member {
    index: usize,
    handle: JoinHandle<Report>,
    tid: Arc<AtomicI32>,
    done: Arc<Finished>,
}

/// Set as a thread member's last act (even if it panics), so its join can
/// block until then instead of polling: the data-parallel teardown, which
/// is timed, ends with these joins.
#[derive(Default)]
struct Finished {
    flag: std::sync::Mutex<bool>,
    cond: std::sync::Condvar,
}

impl Finished {
    fn set(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    /// Waits until set or `limit` passes; true if set.
    fn wait(&self, limit: Duration) -> bool {
        let g = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = self
            .cond
            .wait_timeout_while(g, limit, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        *g
    }
}

/// Sets [`Finished`] when dropped: at the end of the member's closure,
/// whichever way it ends.
struct SetOnDrop(Arc<Finished>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// How often a join that is waiting for a thread looks at the stop flags
/// (a signal does not end a condition-variable wait). A thread that ends
/// wakes its join at once.
const JOIN_RECHECK: Duration = Duration::from_millis(20);

impl Member {
    fn state(&self) -> &'static str {
        match self.tid.load(Ordering::Relaxed) {
            0 => "not started",
            tid => sys::proc::task_state(&format!("self/task/{tid}")).unwrap_or("ended"),
        }
    }

    /// Joins the thread. A wait for a thread is bounded like every other:
    /// once the run has given up, the thread gets [`THREAD_STOP_GRACE`] to
    /// end, then it is left behind (detached) and named in the error.
    fn join(self) -> std::result::Result<Report, String> {
        let mut gave_up: Option<Instant> = None;
        while !self.done.wait(JOIN_RECHECK) {
            if sys::signal::halted().is_some() {
                let since = *gave_up.get_or_insert_with(Instant::now);
                if since.elapsed() > THREAD_STOP_GRACE {
                    return Err(format!(
                        "thread (tid {}) was {} and did not end within {} ms of the run giving up",
                        self.tid.load(Ordering::Relaxed),
                        self.state(),
                        THREAD_STOP_GRACE.as_millis()
                    ));
                }
            }
        }
        match self.handle.join() {
            Ok(r) => Ok(r),
            Err(_) => Err("panicked".to_string()),
        }
    }
}

/// The running members of one case.
pub struct Team {
    backend: Backend,
    threads: Vec<Member>,
    procs: Vec<WorkerProc>,
}

impl Team {
    pub fn new(backend: Backend) -> Team {
        Team {
            backend,
            threads: Vec::new(),
            procs: Vec::new(),
        }
    }

    /// Starts member `index` running `job`, pinned to `cpu` if given.
    pub fn start<J: Job>(&mut self, index: usize, cpu: Option<u32>, job: J) -> Result<()> {
        match self.backend {
            Backend::Thread => {
                let tid = Arc::new(AtomicI32::new(0));
                let done = Arc::new(Finished::default());
                let (t, d) = (tid.clone(), done.clone());
                let h = std::thread::Builder::new()
                    .name(format!("mpmt-member-{index}"))
                    .spawn(move || {
                        let _finished = SetOnDrop(d);
                        match process::pin(cpu) {
                            Err(r) => r,
                            Ok(()) => {
                                // SAFETY: gettid has no preconditions.
                                t.store(unsafe { libc::gettid() }, Ordering::Relaxed);
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()))
                                    .unwrap_or(Report::failed(Status::Panicked))
                            }
                        }
                    })
                    .map_err(|e| Error::io("starting a worker thread", e))?;
                self.threads.push(Member {
                    index,
                    handle: h,
                    tid,
                    done,
                });
            }
            Backend::Fork => {
                let t = Instant::now();
                let _starting = sys::watchdog::starting(process::start_limit());
                let (p, back) = fork_worker(index, cpu, job, J::run)?;
                self.procs.push(p);
                back.release();
                process::record_start(t.elapsed());
            }
            Backend::Spawn => {
                let mut carry = ExecFds::default();
                let remote = job.into_remote(&mut carry)?;
                let body = serde_json::to_string(&remote)
                    .map_err(|e| Error::Setup(format!("describing the {} job: {e}", J::NAME)))?;
                let t = Instant::now();
                let _starting = sys::watchdog::starting(process::start_limit());
                self.procs
                    .push(spawn_worker(index, cpu, J::NAME, body, carry)?);
                process::record_start(t.elapsed());
            }
        }
        Ok(())
    }

    /// Pids of member processes.
    pub fn pids(&self) -> Vec<i32> {
        self.procs.iter().map(|c| c.pid).collect()
    }

    /// What a blocking wait on a link to these members should watch.
    pub fn watch(&self) -> Watch {
        if self.procs.is_empty() {
            Watch::Nothing
        } else {
            Watch::Children(self.pids().into())
        }
    }

    /// For gate waits: an error as soon as any member process ended
    /// abnormally (threads report through `join`).
    pub fn check_alive(&self) -> Result<usize> {
        match self.procs.iter().find(|p| sys::child::child_failed(p.pid)) {
            Some(p) => Err(self.worker_error(p.index, format!("pid {} died", p.pid))),
            None => Ok(0),
        }
    }

    fn worker_error(&self, index: usize, detail: String) -> Error {
        Error::Worker {
            index,
            backend: self.backend.name(),
            detail,
        }
    }

    /// How many member processes have ended abnormally so far.
    pub fn dead_members(&self) -> usize {
        self.procs
            .iter()
            .filter(|p| sys::child::child_failed(p.pid))
            .count()
    }

    /// Joins every member: for each, its index, its pid (processes) and its
    /// report or why it has none.
    pub fn join_all(mut self) -> Vec<Joined> {
        let mut out = Vec::new();
        for m in std::mem::take(&mut self.threads) {
            let index = m.index;
            let r = m.join().and_then(|r| match r.failure() {
                Some(why) => Err(why),
                None => Ok(r),
            });
            out.push(Joined {
                index,
                pid: None,
                report: r,
            });
        }
        for mut p in std::mem::take(&mut self.procs) {
            out.push(Joined {
                index: p.index,
                pid: Some(p.pid),
                report: p.finish(),
            });
        }
        out
    }

    /// Collects every member's report after a clean end; errors if any
    /// member failed, died or did not report in time.
    pub fn join(self) -> Result<Vec<Report>> {
        let backend = self.backend;
        let stall = (sys::watchdog::expired()).then(|| self.states());
        let mut reports = Vec::new();
        for j in self.join_all() {
            match j.report {
                Ok(r) => reports.push(r),
                Err(detail) => {
                    if let Some(detail) = stall {
                        return Err(Error::stalled_with(detail));
                    }
                    return Err(Error::Worker {
                        index: j.index,
                        backend: backend.name(),
                        detail,
                    });
                }
            }
        }
        Ok(reports)
    }

    /// The member process that ended abnormally, read before anything is
    /// killed: a closed channel or a dead peer seen by the parent is then
    /// told as "worker 1 (fork): pid 4242 was killed by signal 9 (SIGKILL)".
    /// A member killed by a signal is the likelier first cause than one
    /// that exited non-zero after seeing its own link close.
    /// A parent that saw a link close (`expect_death`) gives the exit
    /// [`sys::child::EXIT_COMPLETION_GRACE`] to complete.
    fn died(&self, expect_death: bool) -> Option<Error> {
        let pids: Vec<i32> = self.procs.iter().map(|p| p.pid).collect();
        let grace = if expect_death {
            sys::child::EXIT_COMPLETION_GRACE
        } else {
            Duration::ZERO
        };
        let ends = sys::child::ends_within(&pids, grace, false);
        let &(i, end) = ends
            .iter()
            .find(|(_, k)| matches!(k, sys::child::ExitKind::Signal(_)))
            .or(ends.first())?;
        let p = &self.procs[i];
        Some(self.worker_error(p.index, format!("pid {} {end}", p.pid)))
    }

    /// What every member is doing now, for a stall error: ": worker 0
    /// (fork, pid 4242) is stopped (SIGSTOP); worker 1 (…) is sleeping".
    fn states(&self) -> String {
        let b = self.backend.name();
        let mut parts: Vec<String> = self
            .threads
            .iter()
            .map(|m| {
                format!(
                    "worker {} ({b}, tid {}) is {}",
                    m.index,
                    m.tid.load(Ordering::Relaxed),
                    m.state()
                )
            })
            .collect();
        parts.extend(
            self.procs
                .iter()
                .map(|p| match sys::child::peek_end(p.pid) {
                    Some(end) => format!("worker {} ({b}, pid {}) {end}", p.index, p.pid),
                    None => format!(
                        "worker {} ({b}, pid {}) is {}",
                        p.index,
                        p.pid,
                        sys::proc::task_state(&p.pid.to_string()).unwrap_or("gone (reaped)")
                    ),
                }),
        );
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join("; "))
        }
    }

    /// Stops everything after the parent's side failed with `cause` (its
    /// ends must already be dropped, so thread members see their links
    /// close). Returns the most telling error: an interrupt, else a
    /// member's own account of what went wrong, else `cause`.
    pub fn abort(mut self, cause: Error) -> Error {
        // What each member was doing, read before anything is killed.
        let stall = (cause.is_stall() || sys::watchdog::expired()).then(|| self.states());
        let died = self.died(matches!(
            cause,
            Error::Chan(ChanError::Closed | ChanError::Truncated | ChanError::PeerDied)
        ));
        let mut better: Option<Error> = None;
        for m in std::mem::take(&mut self.threads) {
            let index = m.index;
            match m.join() {
                Ok(r) if !r.is_consequence() => {
                    if let Some(why) = r.failure() {
                        better.get_or_insert(self.worker_error(index, why));
                    }
                }
                Ok(_) => {}
                Err(why) => {
                    better.get_or_insert(self.worker_error(index, why));
                }
            }
        }
        for mut p in std::mem::take(&mut self.procs) {
            // A member that found the fault itself reports at once.
            if let Ok(r) = p.read_report(LATE_REPORT) {
                if let (Some(why), false) = (r.failure(), r.is_consequence()) {
                    better.get_or_insert(self.worker_error(p.index, why));
                }
            }
            if let Err(e) = p.kill() {
                better.get_or_insert(self.worker_error(p.index, e));
            }
        }
        if cause.is_interrupt() || sys::signal::interrupted() {
            return Error::interrupted();
        }
        if let Some(mut detail) = stall {
            // A worker that stalled before it joined the team (in its
            // bootstrap) is named by the cause itself.
            if let Error::Stalled { detail: first, .. } = &cause {
                if !first.is_empty() {
                    detail = match detail.strip_prefix(':') {
                        Some(rest) => format!("{first};{rest}"),
                        None => first.clone(),
                    };
                }
            }
            return Error::stalled_with(detail);
        }
        better.or(died).unwrap_or(cause)
    }
}

impl Team {
    /// Waits until every member is ready at `gate` (an error as soon as a
    /// member process dies), opens it, and returns the opening time.
    pub fn open_gate(&self, gate: &Gate) -> Result<u64> {
        gate.open_when_ready(&mut || self.check_alive())
    }

    /// Waits until every member has stamped its end at `gate` (an error as
    /// soon as a member process dies).
    pub fn wait_gate_done(&self, gate: &Gate) -> Result<()> {
        gate.wait_done(&mut || self.check_alive()).map(|_| ())
    }

    /// Waits until every member is ready at `gate`, without opening it.
    pub fn wait_gate_ready(&self, gate: &Gate) -> Result<()> {
        gate.wait_ready(&mut || self.check_alive())
    }

    /// [`Team::abort`] for members that may be waiting at `gate`: tells
    /// them it will never open first, so thread members end and can be
    /// joined.
    pub fn abort_at(self, gate: &Gate, cause: Error) -> Error {
        gate.abandon();
        self.abort(cause)
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        // WorkerProc's own Drop kills and reaps; threads end once their
        // links close or their gate opens.
        self.procs.clear();
        for m in self.threads.drain(..) {
            // Unwinding from an earlier error: join() or abort() would have
            // reported a thread's failure; a drop has nobody to tell.
            m.join().ok();
        }
    }
}
