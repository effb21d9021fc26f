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
//! `fork` happens only from a single-threaded process (checked), and the
//! child runs only [`serve`] over preallocated buffers, raw syscalls for its
//! report, then `_exit`. `spawn` bootstraps through an ipc-channel one-shot
//! server; a worker that dies or does not connect within 5 s is an error.

use crate::channel::{Channel, End, LinkOpts, RemoteEnd, Rx, Tx, Watch};
use crate::error::{Error, Result};
use crate::serve::{serve, Role, WorkerReport};
use crate::signal;
use crate::sys;
use ipc_channel::ipc::{self, IpcOneShotServer, IpcSender};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a worker may take to connect, or to report after it was told
/// to stop, before it counts as dead.
pub const WORKER_TIMEOUT: Duration = Duration::from_secs(5);

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

/// The job an exec'd worker receives over the bootstrap channel.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub index: u32,
    pub channel: crate::channel::ChannelKind,
    pub role: Role,
    pub cpu: Option<u32>,
    pub working_set: u64,
    pub rx: RemoteEnd,
    pub tx: RemoteEnd,
    pub result_fd: i32,
}

struct ChildProc {
    index: usize,
    pid: i32,
    result: OwnedFd,
    reaped: bool,
}

/// The running workers of one case.
pub struct Crew {
    backend: BackendKind,
    threads: Vec<(usize, JoinHandle<WorkerReport>)>,
    children: Vec<ChildProc>,
}

impl Crew {
    fn new(backend: BackendKind) -> Crew {
        Crew {
            backend,
            threads: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Pids of live worker processes.
    pub fn pids(&self) -> Vec<i32> {
        self.children.iter().map(|c| c.pid).collect()
    }

    fn worker_error(&self, index: usize, detail: String) -> Error {
        Error::Worker {
            index,
            backend: self.backend.name(),
            detail,
        }
    }

    /// Collects every worker's report after a clean stop; errors if any
    /// worker failed, died or did not report within [`WORKER_TIMEOUT`].
    pub fn join(mut self) -> Result<Vec<WorkerReport>> {
        let mut reports = Vec::new();
        let mut first_err: Option<Error> = None;
        for (index, h) in std::mem::take(&mut self.threads) {
            match h.join() {
                Ok(r) => reports.push((index, r)),
                Err(_) => {
                    first_err.get_or_insert(self.worker_error(index, "panicked".into()));
                }
            }
        }
        let children = std::mem::take(&mut self.children);
        for mut c in children {
            match read_report(&c, WORKER_TIMEOUT) {
                Ok(r) => {
                    let reaped = reap(&mut c);
                    // A worker that reported a failure also exits non-zero:
                    // its report is the better account.
                    if let (None, Err(e)) = (r.failure(), reaped) {
                        first_err.get_or_insert(self.worker_error(c.index, e));
                    }
                    reports.push((c.index, r));
                }
                Err(e) => {
                    let _ = reap(&mut c);
                    first_err.get_or_insert(self.worker_error(c.index, e));
                }
            }
        }
        for (index, r) in &reports {
            if let Some(why) = r.failure() {
                first_err.get_or_insert(self.worker_error(*index, why));
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(reports.into_iter().map(|(_, r)| r).collect()),
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
                if let Some(why) = r.failure() {
                    if r.status != WorkerReport::CHANNEL {
                        better.get_or_insert(self.worker_error(index, why));
                    }
                }
            }
        }
        let children = std::mem::take(&mut self.children);
        for mut c in children {
            // A worker that found the fault itself reports at once.
            if let Ok(r) = read_report(&c, Duration::from_millis(200)) {
                if r.status != WorkerReport::CHANNEL {
                    if let Some(why) = r.failure() {
                        better.get_or_insert(self.worker_error(c.index, why));
                    }
                }
            }
            sys::kill9(c.pid);
            match reap(&mut c) {
                Err(e) if !e.contains("SIGKILL") => {
                    better.get_or_insert(self.worker_error(c.index, e));
                }
                _ => {}
            }
        }
        if cause.is_interrupt() || signal::interrupted() {
            return Error::interrupted();
        }
        better.unwrap_or(cause)
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        for c in &mut self.children {
            if !c.reaped {
                sys::kill9(c.pid);
                let _ = reap(c);
            }
        }
        for (_, h) in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

fn read_report(c: &ChildProc, timeout: Duration) -> std::result::Result<WorkerReport, String> {
    match sys::poll_readable(&c.result, timeout) {
        Ok(true) => {}
        Ok(false) => {
            return Err(format!(
                "pid {} did not report within {} ms",
                c.pid,
                timeout.as_millis()
            ))
        }
        Err(e) => return Err(format!("pid {}: polling its report failed: {e}", c.pid)),
    }
    let mut buf = [0u8; WorkerReport::BYTES];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: valid writable buffer; `result` is our open pipe read end.
        let n = unsafe {
            libc::read(
                c.result.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        if n < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            let how = match sys::reap_timeout(c.pid, Duration::from_millis(500)) {
                Ok(Some(k)) => k.to_string(),
                _ => "stopped".to_string(),
            };
            // The child is reaped (or will be, by `reap`).
            return Err(format!("pid {} {how} before reporting", c.pid));
        }
        got += n as usize;
    }
    WorkerReport::from_bytes(&buf).ok_or_else(|| format!("pid {} sent a malformed report", c.pid))
}

fn reap(c: &mut ChildProc) -> std::result::Result<(), String> {
    if c.reaped {
        return Ok(());
    }
    let r = match sys::reap_timeout(c.pid, WORKER_TIMEOUT) {
        Ok(Some(sys::ExitKind::Code(0))) => Ok(()),
        Ok(Some(k)) => Err(format!("pid {} {k}", c.pid)),
        Ok(None) => {
            sys::kill9(c.pid);
            let _ = sys::reap_timeout(c.pid, WORKER_TIMEOUT);
            Err(format!(
                "pid {} did not exit after reporting; killed",
                c.pid
            ))
        }
        // ECHILD: reaped already while reading its report.
        Err(_) => Ok(()),
    };
    c.reaped = true;
    signal::unregister_child(c.pid);
    r
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
        BackendKind::Fork => launch_forks::<C>(l),
        BackendKind::Spawn => launch_spawned::<C>(l),
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

/// Runs in a forked child: only preallocated memory and raw syscalls.
fn forked_child<T: Tx, R: Rx>(
    role: Role,
    mut rx: R,
    mut tx: T,
    cpu: Option<u32>,
    mut ws: Vec<u8>,
    result: OwnedFd,
    parent: i32,
) -> ! {
    // SAFETY: prctl/getppid are plain syscalls. PDEATHSIG makes the kernel
    // kill us if the parent dies, so a crashed parent leaks no worker.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            sys::exit_now(3);
        }
    }
    signal::reset_in_child();
    let report = match cpu.map(sys::pin_current) {
        Some(Err(e)) => WorkerReport::failed(
            WorkerReport::PIN_FAILED,
            e.raw_os_error().unwrap_or(0) as u64,
        ),
        _ => {
            // Write every page so the working set is our own, not pages
            // shared copy-on-write with the parent.
            ws.fill(1);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                serve(role, &mut rx, &mut tx, &ws)
            }))
            .unwrap_or(WorkerReport::failed(WorkerReport::PANICKED, 0))
        }
    };
    let _ = sys::write_all_raw(result.as_raw_fd(), &report.to_bytes());
    sys::exit_now(if report.status == WorkerReport::OK {
        0
    } else {
        1
    })
}

fn launch_forks<C: Channel>(l: &Launch) -> Result<(C::Tx, C::Rx, Crew)> {
    let parent = std::process::id() as i32;
    let (mut my_tx, mut prev_rx) = C::link(l.opts)?;
    let mut crew = Crew::new(BackendKind::Fork);
    for j in 1..l.members {
        let (tx_j, rx_j) = C::link(l.opts)?;
        let (res_r, res_w) = sys::pipe().map_err(|e| Error::io("creating a report pipe", e))?;
        let ws = vec![0u8; l.working_set];
        sys::ensure_single_threaded().map_err(|e| Error::io("fork backend", e))?;
        // SAFETY: the process is single-threaded (checked above), so the
        // child inherits no lock held by another thread. The child runs only
        // `forked_child`, which never returns and ends in `_exit`.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                drop(res_r);
                forked_child(l.role, prev_rx, tx_j, l.cpus[j], ws, res_w, parent)
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                let pid = child.as_raw();
                signal::register_child(pid);
                crew.children.push(ChildProc {
                    index: j,
                    pid,
                    result: res_r,
                    reaped: false,
                });
                drop(res_w);
                prev_rx.release();
                tx_j.release();
                prev_rx = rx_j;
            }
            Err(e) => return Err(Error::io("fork", e.into())),
        }
    }
    let watch = Watch::Children(crew.pids().into());
    my_tx.watch(watch.clone());
    prev_rx.watch(watch);
    Ok((my_tx, prev_rx, crew))
}

/// Where `mpmt-worker` lives: `$MPMT_WORKER`, else next to this executable.
pub fn worker_path() -> Result<PathBuf> {
    let path = match std::env::var_os("MPMT_WORKER") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe()
                .map_err(|e| Error::io("locating the running executable", e))?;
            exe.parent()
                .map(|d| d.join("mpmt-worker"))
                .ok_or_else(|| Error::Setup("the running executable has no directory".into()))?
        }
    };
    if !path.is_file() {
        return Err(Error::Setup(format!(
            "mpmt-worker not found at {}: build the workspace (`cargo build --release`) or set MPMT_WORKER to its path",
            path.display()
        )));
    }
    Ok(path)
}

type Hello = IpcSender<Job>;

/// Waits for the worker to connect to the one-shot server; a watchdog thread
/// unblocks `accept` if the worker dies or [`WORKER_TIMEOUT`] passes.
fn accept_worker(server: IpcOneShotServer<Hello>, name: String, pid: i32) -> Result<Hello> {
    let done = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let (d, f) = (done.clone(), failed.clone());
    let watchdog = std::thread::Builder::new()
        .name("mpmt-bootstrap-watchdog".into())
        .spawn(move || {
            let deadline = Instant::now() + WORKER_TIMEOUT;
            while !d.load(Ordering::SeqCst) {
                if Instant::now() > deadline || sys::child_exited(pid) || signal::interrupted() {
                    f.store(true, Ordering::SeqCst);
                    // Connect ourselves so `accept` returns.
                    if let Ok(s) = IpcSender::<Hello>::connect(name) {
                        if let Ok((t, _r)) = ipc::channel::<Job>() {
                            let _ = s.send(t);
                        }
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
        .map_err(|e| Error::io("starting the bootstrap watchdog", e))?;
    let accepted = server.accept();
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    if signal::interrupted() {
        return Err(Error::interrupted());
    }
    if failed.load(Ordering::SeqCst) {
        let why = if sys::child_exited(pid) {
            "exited before connecting"
        } else {
            "did not connect within 5 s"
        };
        return Err(Error::Setup(format!("mpmt-worker (pid {pid}) {why}")));
    }
    accepted.map(|(_, hello)| hello).map_err(|e| {
        Error::Setup(format!(
            "bootstrap with mpmt-worker (pid {pid}) failed: {e:?}"
        ))
    })
}

fn launch_spawned<C: Channel>(l: &Launch) -> Result<(C::Tx, C::Rx, Crew)> {
    let path = worker_path()?;
    let opts = LinkOpts {
        for_exec: true,
        ..l.opts
    };
    let (mut my_tx, mut prev_rx) = C::link(opts)?;
    let mut crew = Crew::new(BackendKind::Spawn);
    for j in 1..l.members {
        let (tx_j, rx_j) = C::link(opts)?;
        let (res_r, res_w) = sys::pipe().map_err(|e| Error::io("creating a report pipe", e))?;
        let (rx_remote, rx_fd) = prev_rx.into_remote()?;
        let (tx_remote, tx_fd) = tx_j.into_remote()?;
        let inherit: Vec<i32> = [rx_fd.as_ref(), tx_fd.as_ref(), Some(&res_w)]
            .into_iter()
            .flatten()
            .map(|f| f.as_raw_fd())
            .collect();
        let (server, name) = IpcOneShotServer::<Hello>::new()
            .map_err(|e| Error::io("creating the bootstrap server", e))?;
        let mut cmd = std::process::Command::new(&path);
        cmd.arg("--bootstrap")
            .arg(&name)
            .stdin(std::process::Stdio::null());
        let keep = inherit.clone();
        // SAFETY: the closure runs between fork and exec in the child and
        // calls only async-signal-safe functions (fcntl, prctl) on data
        // allocated before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &keep {
                    sys::clear_cloexec(fd)?;
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        sys::ensure_single_threaded().map_err(|e| Error::io("spawn backend", e))?;
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("starting {}", path.display()), e))?;
        let pid = child.id() as i32;
        signal::register_child(pid);
        crew.children.push(ChildProc {
            index: j,
            pid,
            result: res_r,
            reaped: false,
        });
        drop((res_w, rx_fd, tx_fd));
        let hello = accept_worker(server, name, pid)?;
        let job = Job {
            index: j as u32,
            channel: C::KIND,
            role: l.role,
            cpu: l.cpus[j],
            working_set: l.working_set as u64,
            rx: rx_remote,
            tx: tx_remote,
            result_fd: inherit[inherit.len() - 1],
        };
        hello.send(job).map_err(|e| {
            Error::Setup(format!("sending the job to mpmt-worker (pid {pid}): {e:?}"))
        })?;
        prev_rx = rx_j;
    }
    let watch = Watch::Children(crew.pids().into());
    my_tx.watch(watch.clone());
    prev_rx.watch(watch);
    Ok((my_tx, prev_rx, crew))
}

/// The body of `mpmt-worker --bootstrap NAME`: connect, receive the job,
/// serve it, write the report to the inherited result fd. Returns the exit
/// code.
pub fn worker_main(bootstrap: &str) -> i32 {
    let (job_tx, job_rx) = match ipc::channel::<Job>() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mpmt-worker: cannot create the job channel: {e}");
            return 2;
        }
    };
    let hello = match IpcSender::<Hello>::connect(bootstrap.to_string()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mpmt-worker: cannot connect to bootstrap server {bootstrap}: {e}");
            return 2;
        }
    };
    if let Err(e) = hello.send(job_tx) {
        eprintln!("mpmt-worker: bootstrap send failed: {e:?}");
        return 2;
    }
    let job = match job_rx.recv() {
        Ok(j) => j,
        Err(e) => {
            eprintln!("mpmt-worker: no job received: {e:?}");
            return 2;
        }
    };
    let result_fd = job.result_fd;
    let report = crate::with_channel!(job.channel, C => run_job::<C>(job));
    match sys::write_all_raw(result_fd, &report.to_bytes()) {
        Ok(()) if report.status == WorkerReport::OK => 0,
        Ok(()) => 1,
        Err(_) => 2,
    }
}

fn run_job<C: Channel>(job: Job) -> WorkerReport {
    let ends = C::Rx::from_remote(job.rx).and_then(|rx| Ok((rx, C::Tx::from_remote(job.tx)?)));
    let (mut rx, mut tx) = match ends {
        Ok(e) => e,
        Err(e) => return WorkerReport::failed(WorkerReport::CHANNEL, e.code()),
    };
    if let Some(c) = job.cpu {
        if let Err(e) = sys::pin_current(c) {
            return WorkerReport::failed(
                WorkerReport::PIN_FAILED,
                e.raw_os_error().unwrap_or(0) as u64,
            );
        }
    }
    let ws = vec![1u8; job.working_set as usize];
    serve(job.role, &mut rx, &mut tx, &ws)
}
