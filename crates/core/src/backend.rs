//! Backends: how a worker is born. [`launch`] builds a ring of `members`
//! links of one channel kind and starts members 1..N as threads, forked
//! children or exec'd `mpmt-worker` processes, each running [`serve`] with
//! its role; member 0 is the caller (the initiator, which times itself), who
//! gets the ends of link 0 (to member 1) and link N−1 (from member N−1).
//! [`Crew::join`] collects every worker's report and reaps it;
//! [`Crew::abort`] (or dropping the crew) kills and reaps whatever is left.
//!
//! Process members are started one at a time, each link created just before
//! the member that uses it and the parent's copies released right after, so
//! no process holds a stray copy of another member's end: a member that dies
//! is seen by its neighbour as EOF/closed, never as silence.
//!
//! Process members are started with [`crate::process`]: `fork` only from a
//! single-threaded process, the child running only [`serve`] over
//! preallocated buffers; `spawn` through mpmt-worker's ipc-channel bootstrap.

use crate::channel::{Channel, ChannelKind, End, LinkOpts, RemoteEnd, Watch};
use crate::error::{Error, Result};
use crate::process::{fork_worker, spawn_worker, JobKind, WorkerProc};
use crate::serve::{serve, Role, WorkerReport};
use crate::signal;
use crate::sys;
use serde::{Deserialize, Serialize};
use std::os::fd::AsRawFd;
use std::thread::JoinHandle;
use std::time::Duration;

/// How a worker is born.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    Thread,
    Fork,
    Spawn,
}

impl BackendKind {
    pub const ALL: [BackendKind; 3] = [BackendKind::Thread, BackendKind::Fork, BackendKind::Spawn];

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Thread => "thread",
            BackendKind::Fork => "fork",
            BackendKind::Spawn => "spawn",
        }
    }

    pub fn parse(s: &str) -> Option<BackendKind> {
        BackendKind::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            BackendKind::Thread => "std::thread sharing this process's heap",
            BackendKind::Fork => "fork()ed child process (copy-on-write image of the parent)",
            BackendKind::Spawn => "exec'd mpmt-worker process, bootstrapped over ipc-channel",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to launch.
#[derive(Debug, Clone)]
pub struct Launch {
    pub backend: BackendKind,
    /// Ring size including the initiator (≥ 2).
    pub members: usize,
    pub role: Role,
    /// CPU of each member (index 0 is the initiator); None = unpinned.
    pub cpus: Vec<Option<u32>>,
    pub opts: LinkOpts,
    /// Bytes of private working set each worker sums per message.
    pub working_set: usize,
}

/// A ring member's job for an exec'd worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct RingJob {
    pub channel: ChannelKind,
    pub role: Role,
    pub working_set: u64,
    pub rx: RemoteEnd,
    pub tx: RemoteEnd,
}

/// The running workers of one case.
pub struct Crew {
    backend: BackendKind,
    threads: Vec<(usize, JoinHandle<WorkerReport>)>,
    procs: Vec<WorkerProc>,
}

impl Crew {
    fn new(backend: BackendKind) -> Crew {
        Crew {
            backend,
            threads: Vec::new(),
            procs: Vec::new(),
        }
    }

    /// Pids of worker processes.
    pub fn pids(&self) -> Vec<i32> {
        self.procs.iter().map(|c| c.pid).collect()
    }

    fn worker_error(&self, index: usize, detail: String) -> Error {
        Error::Worker {
            index,
            backend: self.backend.name(),
            detail,
        }
    }

    /// Collects every worker's report after a clean stop; errors if any
    /// worker failed, died or did not report in time.
    pub fn join(mut self) -> Result<Vec<WorkerReport>> {
        let mut reports = Vec::new();
        let mut first_err: Option<Error> = None;
        for (index, h) in std::mem::take(&mut self.threads) {
            match h.join() {
                Ok(r) => match r.failure() {
                    Some(why) => {
                        first_err.get_or_insert(self.worker_error(index, why));
                    }
                    None => reports.push(r),
                },
                Err(_) => {
                    first_err.get_or_insert(self.worker_error(index, "panicked".into()));
                }
            }
        }
        for mut p in std::mem::take(&mut self.procs) {
            match p.finish() {
                Ok(r) => reports.push(r),
                Err(e) => {
                    first_err.get_or_insert(self.worker_error(p.index, e));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(reports),
        }
    }

    /// Stops everything after the initiator failed with `cause` (its ends
    /// must already be dropped, so thread workers see the link close).
    /// Returns the most telling error: an interrupt, else a worker's own
    /// account of what went wrong, else `cause`.
    pub fn abort(mut self, cause: Error) -> Error {
        let mut better: Option<Error> = None;
        for (index, h) in std::mem::take(&mut self.threads) {
            if let Ok(r) = h.join() {
                if let (Some(why), false) = (r.failure(), r.status == WorkerReport::CHANNEL) {
                    better.get_or_insert(self.worker_error(index, why));
                }
            }
        }
        for mut p in std::mem::take(&mut self.procs) {
            // A worker that found the fault itself reports at once.
            if let Ok(r) = p.read_report(Duration::from_millis(200)) {
                if let (Some(why), false) = (r.failure(), r.status == WorkerReport::CHANNEL) {
                    better.get_or_insert(self.worker_error(p.index, why));
                }
            }
            p.kill();
        }
        if cause.is_interrupt() || signal::interrupted() {
            return Error::interrupted();
        }
        better.unwrap_or(cause)
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        // WorkerProc's own Drop kills and reaps; threads end once their
        // links close.
        self.procs.clear();
        for (_, h) in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// Starts the ring's workers. Returns the initiator's ends: the sender to
/// member 1 and the receiver from member N−1.
pub fn launch<C: Channel>(l: &Launch) -> Result<(C::Tx, C::Rx, Crew)> {
    if l.members < 2 || l.cpus.len() != l.members {
        return Err(Error::Setup(format!(
            "a ring needs at least 2 members and one CPU entry each (got {} members, {} CPU entries)",
            l.members,
            l.cpus.len()
        )));
    }
    match l.backend {
        BackendKind::Thread => launch_threads::<C>(l),
        BackendKind::Fork | BackendKind::Spawn => launch_processes::<C>(l),
    }
}

fn launch_threads<C: Channel>(l: &Launch) -> Result<(C::Tx, C::Rx, Crew)> {
    let n = l.members;
    let mut txs: Vec<Option<C::Tx>> = Vec::with_capacity(n);
    let mut rxs: Vec<Option<C::Rx>> = Vec::with_capacity(n);
    for _ in 0..n {
        let (t, r) = C::link(l.opts)?;
        txs.push(Some(t));
        rxs.push(Some(r));
    }
    let my_tx = txs[0].take().expect("link 0 sender");
    let my_rx = rxs[n - 1].take().expect("last link receiver");
    let mut crew = Crew::new(BackendKind::Thread);
    for j in 1..n {
        let mut rx = rxs[j - 1].take().expect("receiver for member");
        let mut tx = txs[j].take().expect("sender for member");
        let (role, cpu, ws) = (l.role, l.cpus[j], l.working_set);
        let h = std::thread::Builder::new()
            .name(format!("mpmt-member-{j}"))
            .spawn(move || {
                if let Some(c) = cpu {
                    if let Err(e) = sys::pin_current(c) {
                        return WorkerReport::failed(
                            WorkerReport::PIN_FAILED,
                            e.raw_os_error().unwrap_or(0) as u64,
                        );
                    }
                }
                let ws = vec![1u8; ws];
                serve(role, &mut rx, &mut tx, &ws)
            })
            .map_err(|e| Error::io("starting a worker thread", e))?;
        crew.threads.push((j, h));
    }
    Ok((my_tx, my_rx, crew))
}

/// Everything a forked ring member needs, allocated before the fork.
struct Member<C: Channel> {
    role: Role,
    rx: C::Rx,
    tx: C::Tx,
    ws: Vec<u8>,
}

fn member_body<C: Channel>(mut m: Member<C>) -> WorkerReport {
    // Write every page so the working set is the child's own, not pages
    // shared copy-on-write with the parent.
    m.ws.fill(1);
    serve(m.role, &mut m.rx, &mut m.tx, &m.ws)
}

/// Starts members one at a time, creating each member's outgoing link just
/// before it and releasing the parent's copies right after.
fn launch_processes<C: Channel>(l: &Launch) -> Result<(C::Tx, C::Rx, Crew)> {
    let spawn = l.backend == BackendKind::Spawn;
    let opts = LinkOpts {
        for_exec: spawn,
        ..l.opts
    };
    let (mut my_tx, mut prev_rx) = C::link(opts)?;
    let mut crew = Crew::new(l.backend);
    for j in 1..l.members {
        let (tx_j, rx_j) = C::link(opts)?;
        if spawn {
            let (rx_remote, rx_fd) = prev_rx.into_remote()?;
            let (tx_remote, tx_fd) = tx_j.into_remote()?;
            let inherit: Vec<i32> = [rx_fd.as_ref(), tx_fd.as_ref()]
                .into_iter()
                .flatten()
                .map(|f| f.as_raw_fd())
                .collect();
            let job = JobKind::Ring(RingJob {
                channel: C::KIND,
                role: l.role,
                working_set: l.working_set as u64,
                rx: rx_remote,
                tx: tx_remote,
            });
            crew.procs.push(spawn_worker(j, l.cpus[j], job, &inherit)?);
            drop((rx_fd, tx_fd));
        } else {
            let member = Member::<C> {
                role: l.role,
                rx: prev_rx,
                tx: tx_j,
                ws: vec![0u8; l.working_set],
            };
            let (p, back) = fork_worker(j, l.cpus[j], member, member_body::<C>)?;
            crew.procs.push(p);
            back.rx.release();
            back.tx.release();
        }
        prev_rx = rx_j;
    }
    let watch = Watch::Children(crew.pids().into());
    my_tx.watch(watch.clone());
    prev_rx.watch(watch);
    Ok((my_tx, prev_rx, crew))
}

/// Runs a ring member in an exec'd worker.
pub fn run_ring_job(job: RingJob) -> WorkerReport {
    crate::with_channel!(job.channel, C => run_ring_member::<C>(job))
}

fn run_ring_member<C: Channel>(job: RingJob) -> WorkerReport {
    let ends = C::Rx::from_remote(job.rx).and_then(|rx| Ok((rx, C::Tx::from_remote(job.tx)?)));
    let (mut rx, mut tx) = match ends {
        Ok(e) => e,
        Err(e) => return WorkerReport::failed(WorkerReport::CHANNEL, e.code()),
    };
    let ws = vec![1u8; job.working_set as usize];
    serve(job.role, &mut rx, &mut tx, &ws)
}
