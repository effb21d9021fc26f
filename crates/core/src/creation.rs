//! spawn: what it costs to create a worker, run an empty body and join or
//! reap it, and what a live worker costs in memory.
//!
//! Methods: `thread` (std spawn + join), `fork` (child `_exit`s at once,
//! parent `waitpid`s), `fork-exec` (the child execs `mpmt-worker --noop`),
//! `posix-spawn` (std's `Command`, which uses posix_spawn and so never copies
//! the parent's page tables). The parent first allocates and touches a heap
//! of the requested size, so fork's cost of copying page tables shows.
//!
//! Memory: W workers are kept alive at once and each one's RSS and PSS read
//! from /proc/<pid>/smaps_rollup (threads: the process's growth divided by W).
//! PSS splits shared pages among their sharers, so a forked child that
//! shares the parent's heap copy-on-write is charged only its share.

use crate::error::{Error, Result};
use crate::placement::Placement;
use crate::schema::{Checks, Record};
use crate::stats::summarize;
use crate::sys;
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Thread,
    Fork,
    ForkExec,
    PosixSpawn,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Thread,
        Method::Fork,
        Method::ForkExec,
        Method::PosixSpawn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Thread => "thread",
            Method::Fork => "fork",
            Method::ForkExec => "fork-exec",
            Method::PosixSpawn => "posix-spawn",
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
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One creation-cost case.
#[derive(Debug, Clone, PartialEq)]
pub struct SpawnCase {
    pub method: Method,
    pub parent_heap_bytes: usize,
    pub samples: usize,
    /// Workers kept alive at once for the memory measurement.
    pub alive: usize,
    pub placement: Placement,
    /// CPU the parent (and so its children) is pinned to.
    pub cpu: Option<u32>,
}

impl SpawnCase {
    pub fn label(&self) -> String {
        format!(
            "spawn {} {} heap={}",
            self.method,
            self.placement,
            crate::units::fmt_bytes(self.parent_heap_bytes as u64)
        )
    }
}

/// Rss and Pss of a process, in bytes, from smaps_rollup.
pub fn rss_pss(pid: &str) -> Result<(u64, u64)> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text =
        std::fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {path}"), e))?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    match (field("Rss:"), field("Pss:")) {
        (Some(r), Some(p)) => Ok((r, p)),
        _ => Err(Error::Setup(format!("{path} has no Rss/Pss lines"))),
    }
}

/// Argument vector for exec'ing `mpmt-worker <mode>`, built before forking.
struct ExecArgs {
    path: CString,
    _arg0: CString,
    _arg1: CString,
    argv: [*const libc::c_char; 3],
}

impl ExecArgs {
    fn new(mode: &str) -> Result<ExecArgs> {
        let p = crate::process::worker_path()?;
        let path = CString::new(p.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Setup("worker path contains a NUL byte".into()))?;
        let arg0 = CString::new("mpmt-worker").expect("no NUL");
        let arg1 = CString::new(mode).map_err(|_| Error::Setup("bad mode".into()))?;
        let argv = [arg0.as_ptr(), arg1.as_ptr(), std::ptr::null()];
        Ok(ExecArgs {
            path,
            _arg0: arg0,
            _arg1: arg1,
            argv,
        })
    }

    /// In a forked child: exec, or `_exit(127)`.
    fn exec(&self) -> ! {
        // SAFETY: path and argv point to NUL-terminated strings that live in
        // this struct (allocated before the fork); argv ends with NULL.
        unsafe { libc::execv(self.path.as_ptr(), self.argv.as_ptr()) };
        sys::exit_now(127)
    }
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
    match sys::reap_timeout(pid, Duration::from_secs(10)).map_err(|e| Error::io("waitpid", e))? {
        Some(sys::ExitKind::Code(0)) => Ok(()),
        Some(k) => Err(Error::Setup(format!("{what}: child {k}"))),
        None => {
            sys::kill9(pid);
            let _ = sys::reap_timeout(pid, Duration::from_secs(5));
            Err(Error::Setup(format!(
                "{what}: child did not exit within 10 s"
            )))
        }
    }
}

/// One create + empty body + join, timed. Returns ns.
fn create_once(m: Method, exec: Option<&ExecArgs>) -> Result<f64> {
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
        Method::ForkExec => {
            let args = exec.expect("exec args");
            let pid = fork_raw()?;
            if pid == 0 {
                args.exec();
            }
            wait_ok(pid, "fork-exec (exit 127 means exec failed)")?;
        }
        Method::PosixSpawn => {
            let path = crate::process::worker_path()?;
            let st = std::process::Command::new(path)
                .arg("--noop")
                .stdin(std::process::Stdio::null())
                .status()
                .map_err(|e| Error::io("posix-spawn of mpmt-worker", e))?;
            if !st.success() {
                return Err(Error::Setup(format!(
                    "posix-spawn: mpmt-worker --noop {st}"
                )));
            }
        }
    }
    Ok(t0.elapsed().as_nanos() as f64)
}

/// Total time of `n` creations (for criterion's `iter_custom`).
pub fn create_many(m: Method, n: u64) -> Result<Duration> {
    let exec = match m {
        Method::ForkExec => Some(ExecArgs::new("--noop")?),
        _ => None,
    };
    if matches!(m, Method::Fork | Method::ForkExec) {
        sys::ensure_single_threaded().map_err(|e| Error::io("spawn workload", e))?;
    }
    let mut ns = 0.0;
    for _ in 0..n {
        ns += create_once(m, exec.as_ref())?;
    }
    Ok(Duration::from_nanos(ns as u64))
}

/// RSS and PSS of each of `n` live workers.
fn memory(m: Method, n: usize, exec: Option<&ExecArgs>) -> Result<Vec<(u64, u64)>> {
    match m {
        Method::Thread => {
            let (before_rss, before_pss) = rss_pss("self")?;
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
            let ready = std::sync::Arc::new(std::sync::Barrier::new(n + 1));
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let (rx, ready) = (rx.clone(), ready.clone());
                    std::thread::spawn(move || {
                        ready.wait();
                        let _ = rx.lock().map(|r| r.recv());
                    })
                })
                .collect();
            ready.wait();
            let (after_rss, after_pss) = rss_pss("self")?;
            drop(tx);
            for h in hs {
                let _ = h.join();
            }
            let per = |a: u64, b: u64| a.saturating_sub(b) / n as u64;
            Ok(vec![
                (per(after_rss, before_rss), per(after_pss, before_pss));
                n
            ])
        }
        Method::Fork | Method::ForkExec => {
            let (park_r, park_w) = sys::pipe().map_err(|e| Error::io("pipe", e))?;
            let (ready_r, ready_w) = sys::pipe().map_err(|e| Error::io("pipe", e))?;
            let mut pids = Vec::with_capacity(n);
            let reap_all = |pids: &[i32]| {
                for &p in pids {
                    sys::kill9(p);
                    let _ = sys::reap_timeout(p, Duration::from_secs(5));
                }
            };
            for _ in 0..n {
                let pid = match fork_raw() {
                    Ok(p) => p,
                    Err(e) => {
                        reap_all(&pids);
                        return Err(e);
                    }
                };
                if pid == 0 {
                    // SAFETY: raw syscalls on inherited fds; then exec or _exit.
                    unsafe {
                        libc::dup2(park_r.as_raw_fd(), 0);
                        libc::dup2(ready_w.as_raw_fd(), 1);
                        libc::close(park_w.as_raw_fd());
                    }
                    match exec {
                        Some(a) => a.exec(),
                        None => {
                            let _ = sys::write_all_raw(1, &[1]);
                            let mut b = [0u8; 1];
                            // SAFETY: read into a valid 1-byte buffer.
                            unsafe { libc::read(0, b.as_mut_ptr().cast(), 1) };
                            sys::exit_now(0)
                        }
                    }
                }
                crate::signal::register_child(pid);
                pids.push(pid);
            }
            drop(ready_w);
            let mut ready = std::fs::File::from(ready_r);
            let mut got = vec![0u8; n];
            if let Err(e) = ready.read_exact(&mut got) {
                reap_all(&pids);
                return Err(Error::io("waiting for parked workers", e));
            }
            let mut out = Vec::with_capacity(n);
            for &p in &pids {
                match rss_pss(&p.to_string()) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        reap_all(&pids);
                        return Err(e);
                    }
                }
            }
            drop(park_w);
            for &p in &pids {
                wait_ok(p, "parked worker")?;
                crate::signal::unregister_child(p);
            }
            Ok(out)
        }
        Method::PosixSpawn => {
            let path = crate::process::worker_path()?;
            let mut kids = Vec::with_capacity(n);
            for _ in 0..n {
                let c = std::process::Command::new(&path)
                    .arg("--park")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| Error::io("posix-spawn of mpmt-worker --park", e))?;
                crate::signal::register_child(c.id() as i32);
                kids.push(c);
            }
            let mut out = Vec::with_capacity(n);
            let mut result = Ok(());
            for c in kids.iter_mut() {
                let mut b = [0u8; 1];
                if let Some(o) = c.stdout.as_mut() {
                    if let Err(e) = o.read_exact(&mut b) {
                        result = Err(Error::io("waiting for a parked worker", e));
                        break;
                    }
                }
                match rss_pss(&c.id().to_string()) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            for mut c in kids {
                if result.is_err() {
                    let _ = c.kill();
                }
                if let Some(mut i) = c.stdin.take() {
                    let _ = i.flush();
                }
                let _ = c.wait();
                crate::signal::unregister_child(c.id() as i32);
            }
            result.map(|_| out)
        }
    }
}

/// Measures one case: the creation record and the memory record.
pub fn run_case(case: &SpawnCase) -> Result<Vec<Record>> {
    let _pin = sys::AffinityGuard::pin(case.cpu).map_err(|e| Error::io("pinning the parent", e))?;
    // A resident heap: fork must copy its page tables.
    let mut heap = vec![0u8; case.parent_heap_bytes];
    for i in (0..heap.len()).step_by(4096) {
        heap[i] = 1;
    }
    std::hint::black_box(&mut heap);
    let exec = match case.method {
        Method::ForkExec => Some(ExecArgs::new("--noop")?),
        _ => None,
    };
    let park = match case.method {
        Method::ForkExec => Some(ExecArgs::new("--park")?),
        _ => None,
    };
    if matches!(case.method, Method::Fork | Method::ForkExec) {
        sys::ensure_single_threaded().map_err(|e| Error::io("spawn workload", e))?;
    }
    let parent_rss = rss_pss("self").map(|(rss, _)| rss).ok();
    for _ in 0..3 {
        create_once(case.method, exec.as_ref())?;
    }
    let mut ns = Vec::with_capacity(case.samples);
    for _ in 0..case.samples {
        if crate::signal::interrupted() {
            return Err(Error::interrupted());
        }
        ns.push(create_once(case.method, exec.as_ref())?);
    }
    let mem = memory(case.method, case.alive, park.as_ref())?;
    drop(heap);

    let base = |metric: &str, unit: &str, stats, samples, workers: usize, checks| Record {
        workload: "spawn".into(),
        backend: case.method.name().into(),
        channel: "none".into(),
        variant: None,
        placement: case.placement.name().into(),
        cpus: vec![case.cpu],
        workers: workers as u32,
        size_bytes: case.parent_heap_bytes as u64,
        working_set_bytes: 0,
        metric: metric.into(),
        unit: unit.into(),
        ops_per_sample: 1,
        samples,
        stats,
        setup_ns: 0,
        checks,
        warnings: Vec::new(),
    };
    let create_stats = summarize(&ns);
    let mut create = base(
        "create",
        "ns",
        create_stats,
        ns.len(),
        1,
        Checks {
            parent_rss_bytes: parent_rss,
            ..Default::default()
        },
    );
    if create_stats.cv > crate::workload::NOISY_CV {
        create.warnings.push(format!(
            "noisy: coefficient of variation {:.2} > {}",
            create_stats.cv,
            crate::workload::NOISY_CV
        ));
    }
    let pss: Vec<f64> = mem.iter().map(|m| m.1 as f64).collect();
    let rss: Vec<f64> = mem.iter().map(|m| m.0 as f64).collect();
    let memory = base(
        "pss",
        "bytes",
        summarize(&pss),
        pss.len(),
        case.alive,
        Checks {
            rss_bytes: Some(summarize(&rss).median),
            ..Default::default()
        },
    );
    Ok(vec![create, memory])
}
