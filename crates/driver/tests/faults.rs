//! The fault suite: faults injected by the test into real `mpmt` runs, each
//! bounded in time. For every backend with a separate process, a worker is
//! SIGKILLed or SIGSTOPped mid-case in the ring (latency, on every channel,
//! small and 16 MiB messages), data-parallel, counter and create workloads
//! (create's creator process, whatever the method): the run
//! must end with exit 1 and a message naming the worker's pid, leave no
//! process, socket dir, shared-memory file or temp file behind, keep the
//! records measured before, and mark the run failed. SIGINT, SIGTERM and
//! SIGHUP during every workload × backend must end the run within its
//! stop limits with 128 + the signal and the run marked interrupted. Limits (RLIMIT_NOFILE,
//! RLIMIT_AS) and a full output disk must give exit 1 and a message.
//!
//! Runs go one per CPU at a time, and every bound here is derived from the
//! limits mpmt itself enforces (the stall deadline given, the worker start
//! limit, the report and reap timeouts, the floors' guard), with a margin
//! of twice that for a loaded machine: none is a timing target.

mod common;

use common::{children_of, threads_of, worker_path};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The stall deadline of the ring and counter fault runs (`--deadline`):
/// a healthy wait takes milliseconds even with a run on every CPU.
const DEADLINE: Duration = Duration::from_secs(1);
/// The data-parallel runs' deadline: one 16M run copies 128 MiB each way.
const DP_DEADLINE: Duration = Duration::from_secs(3);
/// The margin every bound below gets over what mpmt's own limits allow.
const MARGIN: u32 = 2;

/// `--deadline` as mpmt reads it.
fn deadline_arg(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The longest mpmt may take, by its own limits, to end a run once a
/// worker was stopped or killed: the wait's deadline (or, if the worker
/// was starting, the start limit), then the abort's late report and the
/// reap of every member (a report wait, a kill, a reap), with the margin.
/// A run still alive after this is hung: killed, and the test fails.
fn hang_bound() -> Duration {
    use mpmt_core::backend::process::{EXIT_GRACE, LATE_REPORT, START_FLOOR, WORKER_TIMEOUT};
    let detect = DEADLINE.max(DP_DEADLINE).max(START_FLOOR);
    (detect + LATE_REPORT + EXIT_GRACE + 2 * WORKER_TIMEOUT) * MARGIN
}

/// How long a run may take to reach the state a fault needs: past the
/// floors (bounded by their own guard) and through a first case (bounded
/// like the fault itself).
fn reach_bound() -> Duration {
    mpmt_core::measure::floors::LIMIT * MARGIN + hang_bound()
}

/// The longest a run may take to stop after SIGINT or SIGTERM by its own
/// limits: a thread member gets its stop grace, a process member is
/// killed and reaped (its reap bounded by the worker timeout), with the
/// margin.
fn stop_bound() -> Duration {
    use mpmt_core::backend::process::WORKER_TIMEOUT;
    (mpmt_core::backend::THREAD_STOP_GRACE + WORKER_TIMEOUT) * MARGIN
}

/// One fault run per CPU: more would test the scheduler, not mpmt.
fn parallel() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A named fault run, to be run by [`run_all`].
type Job = (String, Box<dyn FnOnce() -> Result<(), String> + Send>);
/// Something the child runs between fork and exec (a setrlimit).
type PreExec = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// One mpmt run with its own output folder and TMPDIR (where ipc-channel
/// puts its socket dirs), stderr to a file.
struct Running {
    child: Child,
    out: tempfile::TempDir,
    tmp: tempfile::TempDir,
    stderr: PathBuf,
}

impl Running {
    fn start(args: &[String], env: &[(&str, &str)], pre: Option<PreExec>) -> Running {
        let out = tempfile::tempdir().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let stderr = tmp.path().join("stderr.txt");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpmt"));
        cmd.env("MPMT_WORKER", worker_path())
            .env("TMPDIR", tmp.path())
            .args(args);
        // One round per case: a fault is about one run, not its repeats.
        if matches!(args.first().map(String::as_str), Some("run" | "suite")) {
            cmd.args(["--rounds", "1", "--max-rounds", "1"]);
        }
        cmd.arg("--out")
            .arg(out.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        use std::os::unix::process::CommandExt;
        // Its own process group, whose parent (this test) is in another:
        // never an orphaned group, to which the kernel sends SIGHUP as soon
        // as a member is stopped (the suite stops workers) and another
        // exits, which is what a test runner started under nohup, in an
        // orphaned group of its own, made of every SIGSTOP fault.
        cmd.process_group(0);
        // SAFETY: `signal` and `setrlimit` are async-signal-safe. SIGHUP is
        // a run's stop signal only where it is not ignored (nohup); the
        // signal tests want the terminal's default, whatever ran this test.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                match &pre {
                    Some(f) => f(),
                    None => Ok(()),
                }
            });
        }
        Running {
            child: cmd.spawn().unwrap(),
            out,
            tmp,
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The run's results.json, once it exists and parses.
    fn results(&self) -> Option<Value> {
        let dir = std::fs::read_dir(self.out.path())
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| !p.ends_with("latest"))?;
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).ok()?).ok()
    }

    fn records(&self) -> usize {
        self.results()
            .and_then(|v| v["records"].as_array().map(|a| a.len()))
            .unwrap_or(0)
    }

    /// Waits for the run to end (at most [`hang_bound`], then kills it and
    /// errs); returns its exit code and stderr.
    fn wait(self) -> Result<(i32, String, Running), String> {
        self.wait_with(|| {})
    }

    /// [`Running::wait`], calling `tick` every couple of milliseconds
    /// while the run lives (to inject faults into newcomers).
    fn wait_with(mut self, mut tick: impl FnMut()) -> Result<(i32, String, Running), String> {
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                return Ok((st.code().unwrap_or(-1), err, self));
            }
            if t.elapsed() > hang_bound() {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                return Err(format!(
                    "still running {:?} after the fault (mpmt's own limits allow less): {err}",
                    hang_bound()
                ));
            }
            tick();
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Nothing the run made is left: no worker process, no ipc-channel
    /// socket dir in its TMPDIR, no temp file in its run folder.
    fn check_clean(&self, workers: &[u32]) -> Result<(), String> {
        for w in workers {
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{w}/stat")) {
                if stat.contains("mpmt") {
                    return Err(format!("worker {w} outlived the run: {stat}"));
                }
            }
        }
        let left: Vec<_> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "stderr.txt")
            .collect();
        if !left.is_empty() {
            return Err(format!("left in TMPDIR: {left:?}"));
        }
        for dir in std::fs::read_dir(self.out.path()).unwrap().flatten() {
            if let Ok(files) = std::fs::read_dir(dir.path()) {
                for f in files.flatten() {
                    let n = f.file_name().to_string_lossy().into_owned();
                    if n.ends_with(".tmp") {
                        return Err(format!("temp file left: {n}"));
                    }
                }
            }
        }
        Ok(())
    }
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Runs `jobs` one per CPU at a time; panics listing every failure.
fn run_all(what: &str, jobs: Vec<Job>) {
    let total = jobs.len();
    let queue = Mutex::new(jobs);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..parallel() {
            s.spawn(|| loop {
                let Some((name, job)) = queue.lock().unwrap().pop() else {
                    return;
                };
                if let Err(e) = job() {
                    failures.lock().unwrap().push(format!("{name}: {e}"));
                }
            });
        }
    });
    let f = failures.into_inner().unwrap();
    eprintln!("{what}: {} of {total} passed", total - f.len());
    assert!(
        f.is_empty(),
        "{what}: {} failed:\n{}",
        f.len(),
        f.join("\n")
    );
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Kill,
    Stop,
}

/// Starts `args`, waits until `records_first` records are saved and a
/// worker process runs, then hits every worker process it sees with
/// `fault` until the run ends (a worker between runs may already be gone,
/// so it keeps hitting newcomers). Checks exit 1, a message naming a hit
/// pid (and "stopped" for SIGSTOP), the run marked failed with the earlier
/// records kept, and nothing left behind.
fn fault_run(args: Vec<String>, records_first: usize, fault: Fault) -> Result<(), String> {
    let run = Running::start(&args, &[], None);
    let pid = run.pid();
    let t = Instant::now();
    // Past the floors (which fork children of their own) and at the case.
    let started = || {
        std::fs::read_to_string(&run.stderr)
            .unwrap_or_default()
            .contains("round(s) each")
    };
    while run.records() < records_first || !started() || children_of(pid).is_empty() {
        if t.elapsed() > reach_bound() {
            let err = run.wait().map(|(_, e, _)| e).unwrap_or_else(|e| e);
            return Err(format!(
                "never reached the faulted case in {:?}: {err}",
                reach_bound()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let sig = match fault {
        Fault::Kill => libc::SIGKILL,
        Fault::Stop => libc::SIGSTOP,
    };
    let mut hit: Vec<u32> = Vec::new();
    let waited = run.wait_with(|| {
        for c in children_of(pid) {
            if !hit.contains(&c) {
                // SAFETY: kill on a child of the run we started.
                unsafe { libc::kill(c as i32, sig) };
                hit.push(c);
            }
        }
    });
    for &h in &hit {
        // A stopped worker the run failed to kill must not outlive the test.
        // SAFETY: as above.
        unsafe { libc::kill(h as i32, libc::SIGCONT) };
    }
    let (code, err, run) = waited?;
    if code != 1 {
        return Err(format!("exit {code}, expected 1: {err}"));
    }
    let line = err
        .lines()
        .find(|l| l.contains("failed:"))
        .ok_or_else(|| format!("no `failed:` line: {err}"))?;
    if !hit.iter().any(|h| line.contains(&format!("pid {h}"))) {
        return Err(format!(
            "the error names none of the pids hit {hit:?}: {line}"
        ));
    }
    if matches!(fault, Fault::Stop) && !line.contains("stopped") {
        return Err(format!("a stopped worker is not called stopped: {line}"));
    }
    if matches!(fault, Fault::Kill) && !line.contains("SIGKILL") {
        return Err(format!("a killed worker is not called killed: {line}"));
    }
    let v = run.results().ok_or("no results.json")?;
    if v["run"]["outcome"]["status"] != "failed" {
        return Err(format!("run not marked failed: {}", v["run"]["outcome"]));
    }
    let kept = v["records"].as_array().map(|a| a.len()).unwrap_or(0);
    if kept != records_first {
        return Err(format!("{kept} records kept, expected {records_first}"));
    }
    run.check_clean(&hit)
}

/// Every channel `backend` can use, from the channel registry: a new
/// channel is faulted without an edit here.
fn ring_jobs(backend: mpmt_core::Backend) -> Vec<Job> {
    use mpmt_core::channel::{caps, channels_for};
    let mut jobs: Vec<Job> = Vec::new();
    for kind in channels_for(backend) {
        let channel = kind.name();
        let c = caps(kind);
        // Spinning needs its own CPU for each side.
        let placement = if c.blocks { "os" } else { "cross-cpu" };
        // The large message: 16 MiB, or the largest the channel carries
        // (a POSIX queue's msgsize_max).
        let large = c.max_message.map_or(16 << 20, |m| m.min(16 << 20));
        let large_label = mpmt_core::schema::units::fmt_bytes(large as u64);
        // Small messages: the faulted case is the run's only case. Large
        // messages: after a first 64 B case whose record must stay.
        let large_sizes = format!("64,{large}");
        for (label, sizes, samples, kept) in
            // 2000 samples: a first 64 B case a spinning pair finishes
            // beside a busy loop on every CPU, and 16M round trips that
            // outlast the fault by seconds; a smaller large message gets
            // proportionally more, up to 50000 (an 8 KiB queue message:
            // rounds of ~0.5 s, the 64 B case first ~0.3 s).
            [
                (
                    "64B".to_string(),
                    "64".to_string(),
                    "5000000".to_string(),
                    0,
                ),
                (
                    large_label,
                    large_sizes,
                    (2000 * ((16 << 20) / large).max(1)).min(50_000).to_string(),
                    1,
                ),
            ]
        {
            for fault in [Fault::Kill, Fault::Stop] {
                let args = strings(&[
                    "run",
                    "latency",
                    "--backend",
                    backend.name(),
                    "--channel",
                    channel,
                    "--placement",
                    placement,
                    "--sizes",
                    &sizes,
                    "--samples",
                    &samples,
                    "--deadline",
                    &deadline_arg(DEADLINE),
                ]);
                jobs.push((
                    format!("latency {backend} {channel} {label} {fault:?}"),
                    Box::new(move || fault_run(args, kept, fault)),
                ));
            }
        }
    }
    jobs
}

#[test]
fn ring_worker_killed_or_stopped_fork() {
    run_all("ring faults (fork)", ring_jobs(mpmt_core::Backend::Fork));
}

#[test]
fn ring_worker_killed_or_stopped_spawn() {
    run_all("ring faults (spawn)", ring_jobs(mpmt_core::Backend::Spawn));
}

#[test]
fn data_parallel_and_counter_worker_killed_or_stopped() {
    let mut jobs: Vec<Job> = Vec::new();
    for backend in ["fork", "spawn"] {
        for medium in [
            "shm",
            "pipe",
            "unix-socket",
            "seqpacket",
            "shm-futex",
            "shm-spin",
            "ipc-channel",
            "eventfd",
        ] {
            for fault in [Fault::Kill, Fault::Stop] {
                let variant = format!("{backend}-{medium}");
                let args = strings(&[
                    "run",
                    "data-parallel",
                    "--variant",
                    &variant,
                    "--workers",
                    "2",
                    "--elements",
                    "4099,16M",
                    "--samples",
                    "200",
                    "--deadline",
                    &deadline_arg(DP_DEADLINE),
                ]);
                jobs.push((
                    format!("data-parallel {variant} {fault:?}"),
                    Box::new(move || fault_run(args, 1, fault)),
                ));
            }
        }
        for mode in ["atomic", "mutex"] {
            for fault in [Fault::Kill, Fault::Stop] {
                let args = strings(&[
                    "run",
                    "counter",
                    "--backend",
                    backend,
                    "--mode",
                    mode,
                    "--placement",
                    "os",
                    "--workers",
                    "1,2",
                    "--increments",
                    "512K",
                    "--samples",
                    "100",
                    "--deadline",
                    &deadline_arg(DEADLINE),
                ]);
                // The one-worker case (1000 runs) must finish first.
                jobs.push((
                    format!("counter {backend} {mode} {fault:?}"),
                    Box::new(move || fault_run(args, 1, fault)),
                ));
            }
        }
    }
    // The create workload's creator (a spawned process whatever the
    // method) and its weighed members: after a first case whose two
    // records must stay.
    // Samples for a first case of about a second (a debug worker's
    // posix-spawn takes milliseconds).
    for (method, samples) in [("fork", "20000"), ("posix-spawn", "1000")] {
        for fault in [Fault::Kill, Fault::Stop] {
            let args = strings(&[
                "run",
                "create",
                "--method",
                method,
                "--placement",
                "os",
                "--parent-heap",
                "0,1M",
                "--samples",
                samples,
                "--deadline",
                &deadline_arg(DEADLINE),
            ]);
            jobs.push((
                format!("create {method} {fault:?}"),
                Box::new(move || fault_run(args, 2, fault)),
            ));
        }
    }
    // memory: a worker killed or stopped while it is weighed (or
    // touching its pages for the next weighing), after a first case (no
    // private working set: quick) whose four records must stay.
    for backend in ["fork", "spawn"] {
        for fault in [Fault::Kill, Fault::Stop] {
            let args = strings(&[
                "run",
                "memory",
                "--backend",
                backend,
                "--workers",
                "2",
                "--private",
                "0,128M",
                "--shared",
                "4M",
                "--samples",
                "50",
                "--deadline",
                &deadline_arg(DEADLINE),
            ]);
            jobs.push((
                format!("memory {backend} {fault:?}"),
                Box::new(move || fault_run(args, 4, fault)),
            ));
        }
    }
    run_all("data-parallel, counter, create and memory faults", jobs);
}

/// A long run of `workload` under `backend`, signalled once a worker (a
/// child process, or a thread for the thread backend) is seen: it must
/// exit 128 + signal within what its stop limits allow ([`stop_bound`]),
/// with the run marked interrupted and no worker left.
fn signal_run(args: Vec<String>, backend: &str, sig: i32) -> Result<(), String> {
    let run = Running::start(&args, &[], None);
    let pid = run.pid();
    let t = Instant::now();
    // Thread members live in mpmt itself, except the create workload's:
    // its creations run in a creator process, mpmt's child.
    let in_mpmt = backend == "thread" && args[1] != "create";
    let workers = loop {
        let w = if in_mpmt {
            threads_of(pid)
        } else {
            children_of(pid)
        };
        // Past the floors (results.json holds them) and into a case.
        let started = run
            .results()
            .is_some_and(|v| v["floors"]["clock_read_ns"].is_object());
        if started && !w.is_empty() {
            break w;
        }
        if t.elapsed() > reach_bound() {
            let err = run.wait().map(|(_, e, _)| e).unwrap_or_else(|e| e);
            return Err(format!("no worker seen in {:?}: {err}", reach_bound()));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    std::thread::sleep(Duration::from_millis(150));
    // SAFETY: kill on the child we started.
    unsafe { libc::kill(pid as i32, sig) };
    let t = Instant::now();
    let (code, err, run) = run.wait()?;
    let took = t.elapsed();
    if code != 128 + sig {
        return Err(format!("exit {code}, expected {}: {err}", 128 + sig));
    }
    // Liveness: a stop slower than mpmt's own stop limits means a wait
    // that ignored the interrupt.
    if took > stop_bound() {
        return Err(format!(
            "took {took:?} to stop; its stop limits allow {:?}",
            stop_bound()
        ));
    }
    let v = run.results().ok_or("no results.json")?;
    let want = match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "SIGHUP",
    };
    if v["run"]["outcome"]["status"] != "interrupted" || v["run"]["outcome"]["signal"] != want {
        return Err(format!("outcome {}", v["run"]["outcome"]));
    }
    // A record cut short of the base rounds says so.
    let min = v["run"]["rounds"]["min_rounds"].as_u64().unwrap_or(1);
    for r in v["records"].as_array().into_iter().flatten() {
        let short = r["rounds"].as_u64().unwrap_or(0) < min;
        let marked = r["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|x| x["kind"] == "short"));
        if short != marked {
            return Err(format!(
                "a record of {} of {min} rounds is {}marked short: {r}",
                r["rounds"],
                if marked { "" } else { "not " }
            ));
        }
    }
    let workers = if in_mpmt { Vec::new() } else { workers };
    run.check_clean(&workers)
}

#[test]
fn sigint_and_sigterm_stop_every_workload_and_backend() {
    let mut jobs: Vec<Job> = Vec::new();
    for backend in ["thread", "fork", "spawn"] {
        let method = match backend {
            "thread" => "thread",
            "fork" => "fork",
            _ => "fork-exec",
        };
        let variant = format!("{backend}-shm");
        let runs: Vec<Vec<String>> = vec![
            strings(&[
                "run",
                "ctx-switch",
                "--backend",
                backend,
                "--channel",
                "pipe",
                "--placement",
                "os",
                "--samples",
                "40000",
            ]),
            strings(&[
                "run",
                "latency",
                "--backend",
                backend,
                "--channel",
                "shm-futex",
                "--placement",
                "os",
                "--sizes",
                "64",
                "--samples",
                "5000000",
            ]),
            strings(&[
                "run",
                "bandwidth",
                "--backend",
                backend,
                "--channel",
                "unix-socket",
                "--placement",
                "os",
                "--sizes",
                "1M",
                "--samples",
                "5000000",
            ]),
            strings(&[
                "run",
                "data-parallel",
                "--variant",
                &variant,
                "--workers",
                "2",
                "--elements",
                "16M",
                "--samples",
                "1000",
            ]),
            strings(&[
                "run",
                "counter",
                "--backend",
                backend,
                "--mode",
                "atomic",
                "--placement",
                "os",
                "--workers",
                "2",
                "--increments",
                "4G",
                "--samples",
                "1",
            ]),
            strings(&[
                "run",
                "create",
                "--method",
                method,
                "--parent-heap",
                "0",
                "--workers",
                "2",
                "--samples",
                "10000000",
            ]),
            strings(&[
                "run",
                "messaging",
                "--backend",
                backend,
                "--groups",
                "1",
                "--senders",
                "2",
                "--receivers",
                "2",
                "--loops",
                "1M",
                "--placement",
                "os",
                "--samples",
                "1",
            ]),
            strings(&[
                "run",
                "false-sharing",
                "--backend",
                backend,
                "--increments",
                "4G",
                "--placement",
                "os",
                "--samples",
                "1",
            ]),
            strings(&[
                "run",
                "memory",
                "--backend",
                backend,
                "--workers",
                "2",
                "--private",
                "64M",
                "--shared",
                "64M",
                "--samples",
                "100000",
            ]),
            strings(&[
                "run",
                "cow",
                "--writer",
                if backend == "thread" {
                    "thread"
                } else {
                    "child"
                },
                "--parent-heap",
                "64M",
                "--write",
                "100%",
                "--thp",
                "off",
                "--samples",
                "100000",
            ]),
            strings(&[
                "run",
                "crash",
                "--backend",
                backend,
                "--fault",
                "segv",
                "--workers",
                "2",
                "--units",
                "64",
                "--samples",
                "100000",
            ]),
            strings(&[
                "run",
                "vm-ops",
                "--backend",
                backend,
                "--op",
                "madvise",
                "--ops",
                "50M",
                "--workers",
                "2",
                "--placement",
                "os",
                "--samples",
                "1",
            ]),
        ];
        // Every workload of the registry is stopped by every signal.
        for w in mpmt_core::WorkloadKind::ALL {
            assert!(
                runs.iter().any(|r| r[1] == w.name()),
                "the signal suite has no run of {w}"
            );
        }
        for args in runs {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                let a = args.clone();
                let b = backend.to_string();
                jobs.push((
                    format!("{} {backend} signal {sig}", args[1]),
                    Box::new(move || signal_run(a, &b, sig)),
                ));
            }
        }
    }
    run_all("signals", jobs);
}

#[test]
fn resource_limits_are_errors_not_crashes() {
    fn limit(res: libc::__rlimit_resource_t, v: u64) -> PreExec {
        Box::new(move || {
            let r = libc::rlimit {
                rlim_cur: v,
                rlim_max: v,
            };
            // SAFETY: plain syscall on a valid struct.
            if unsafe { libc::setrlimit(res, &r) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
    let cases: Vec<(Vec<String>, PreExec, &str)> = vec![
        (
            strings(&[
                "run",
                "latency",
                "--channel",
                "ipc-channel",
                "--sizes",
                "8",
                "--samples",
                "10",
            ]),
            limit(libc::RLIMIT_NOFILE, 8),
            "RLIMIT_NOFILE",
        ),
        (
            strings(&[
                "run",
                "create",
                "--method",
                "fork",
                "--parent-heap",
                "1G",
                "--samples",
                "3",
            ]),
            limit(libc::RLIMIT_AS, 300_000_000),
            "RLIMIT_AS",
        ),
    ];
    for (args, pre, name) in cases {
        let run = Running::start(&args, &[], Some(pre));
        let (code, err, run) = run.wait().unwrap();
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains(name), "{name} not named: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("internal error"),
            "{err}"
        );
        let v = run.results().expect("results.json");
        assert_eq!(v["run"]["outcome"]["status"], "failed");
        assert!(
            !run.out.path().join("latest").exists(),
            "latest points at a run with no results"
        );
        run.check_clean(&[]).unwrap();
    }
    // --keep-going: the refused 1G case fails, the 0-byte one still runs.
    let run = Running::start(
        &strings(&[
            "run",
            "create",
            "--method",
            "fork",
            "--parent-heap",
            "1G,0",
            "--samples",
            "3",
            "--keep-going",
        ]),
        &[],
        Some(limit(libc::RLIMIT_AS, 300_000_000)),
    );
    let (code, err, run) = run.wait().unwrap();
    assert_eq!(code, 1, "{err}");
    let v = run.results().expect("results.json");
    let o = &v["run"]["outcome"];
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(
        (o["cases_planned"].as_u64(), o["cases_measured"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(
        o["failures"][0]["case"].as_str().unwrap().contains("1G"),
        "{o}"
    );
    assert!(
        o["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("RLIMIT_AS"),
        "{o}"
    );
    assert_eq!(
        v["records"].as_array().unwrap().len(),
        2,
        "creation and memory records of the 0 case"
    );
    let latest =
        std::fs::read_link(run.out.path().join("latest")).expect("latest after a run with records");
    assert_eq!(latest.to_str().unwrap(), v["run"]["id"].as_str().unwrap());
}

/// A tiny tmpfs in a private mount namespace (needs the privilege to
/// make one; the test says so and skips otherwise): a run whose output
/// fills it must fail with a message naming the file and the records kept,
/// and leave no temp file or half-written file.
#[test]
fn full_output_disk_is_an_error_without_debris() {
    let mnt = tempfile::tempdir().unwrap();
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=64k tmpfs {} && true",
            mnt.path().display()
        ))
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!("SKIPPED full_output_disk: cannot mount a tmpfs in a private mount namespace here ({other:?})");
            return;
        }
    }
    // Fill most of the 64 KiB first, so results.json fits once and then no
    // longer (its size grows with every record).
    let script = format!(
        "set -e; mount -t tmpfs -o size=64k tmpfs {m}; head -c 45000 /dev/zero > {m}/filler; \
         MPMT_WORKER={w} {exe} run latency --backend thread,fork,spawn --channel pipe,unix-socket,shm-futex \
         --placement os --sizes 8,64,512 --samples 10 --out {m}/out; code=$?; \
         echo EXIT=$code; ls -laR {m}/out; exit 0",
        m = mnt.path().display(),
        w = worker_path().display(),
        exe = env!("CARGO_BIN_EXE_mpmt"),
    );
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(script.replace("set -e; ", ""))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stdout.contains("EXIT=1"),
        "expected exit 1: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("No space left on device"),
        "the cause is not said: {stderr}"
    );
    assert!(
        stderr.contains("record(s)") && stderr.contains("results.json"),
        "the message does not say what was kept: {stderr}"
    );
    assert!(
        !stdout.lines().any(|l| l.trim_end().ends_with(".tmp")),
        "a temp file was left: {stdout}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // No zero-byte file: every file written is whole.
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 9 && cols[0].starts_with('-') {
            assert_ne!(cols[4], "0", "an empty file was left: {line}");
        }
    }
}

/// `nohup mpmt …`: a SIGHUP ignored when mpmt starts stays ignored, and the
/// run goes on to complete (SIGHUP stops only a run that may be stopped by
/// its terminal).
#[test]
fn an_ignored_sighup_stays_ignored() {
    let ignore: PreExec = Box::new(|| {
        // SAFETY: `signal` is async-signal-safe.
        unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
        Ok(())
    });
    let args = strings(&[
        "run",
        "latency",
        "--backend",
        "fork",
        "--channel",
        "pipe",
        "--placement",
        "os",
        "--sizes",
        "64",
        "--samples",
        "200000",
    ]);
    let run = Running::start(&args, &[], Some(ignore));
    let pid = run.pid();
    let t = Instant::now();
    while children_of(pid).is_empty() {
        assert!(t.elapsed() < reach_bound(), "no worker seen");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill on the child we started.
    unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    let (code, err, run) = run.wait().unwrap();
    assert_eq!(code, 0, "{err}");
    let v = run.results().expect("results.json");
    assert_eq!(v["run"]["outcome"]["status"], "complete", "{err}");
    run.check_clean(&[]).unwrap();
}
