//! Running a plan: floors first, then each case in order, results written
//! after every case, progress on stderr, the summary on stdout.

use crate::cli::{EnvArgs, RunCommand, RunFlags, SuiteArgs};
use crate::output;
use crate::plan::{self, Machine};
use crate::progress::Progress;
use anyhow::{Context, Result};
use mpmt_core::measure::Deadline;
use mpmt_core::schema::{Failure, Outcome, Results, RunInfo, RunStatus, SCHEMA_VERSION};
use mpmt_core::sys::signal;
use mpmt_core::sys::watchdog;
use mpmt_core::workloads::{Case, Context as CaseContext};
use mpmt_core::{Backend, ChannelKind, Placement, WorkloadKind};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

/// Exit code after an interrupt: 128 + the signal, as shells report it.
fn interrupt_code() -> i32 {
    128 + signal::interrupting_signal().unwrap_or(libc_sigint())
}

fn libc_sigint() -> i32 {
    2
}

/// An error and its causes, each said once: a cause whose text is already
/// part of the message before it (`Broken pipe: Broken pipe`) is skipped.
pub fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if out.contains(&c) {
            continue;
        }
        if !out.is_empty() {
            out += ": ";
        }
        out += &c;
    }
    out
}

/// Bad input: a flag, value or path the user gave that cannot be run.
/// `main` exits 2 for it (1 is for a measurement that failed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn opts<'a>(out: &'a Path, flags: &RunFlags) -> RunOpts<'a> {
    RunOpts {
        out,
        deadline: Deadline {
            fixed: flags.deadline,
        },
        keep_going: flags.keep_going,
    }
}

pub fn run(a: &RunCommand) -> Result<i32> {
    let machine = Machine::probe();
    let plan = plan::plan(&a.workload, &machine).map_err(BadInput)?;
    let common = a.workload.common();
    let (code, dir, results) = execute(&plan.cases, &plan.cpus, &opts(&common.out, &common.run))?;
    if !results.records.is_empty() {
        println!("{}", mpmt_report::summary_table(&results.records));
        let cross = mpmt_report::crossover_text(&results.records);
        if !cross.is_empty() {
            println!("{cross}");
        }
    }
    finish_report(&common.out, &dir, &results)?;
    Ok(code)
}

pub fn suite(a: &SuiteArgs) -> Result<i32> {
    let machine = Machine::probe();
    let plan = crate::profiles::plan_profile(a.profile, &machine, &a.out).map_err(BadInput)?;
    let (code, dir, results) = execute(&plan.cases, &plan.cpus, &opts(&a.out, &a.run))?;
    let index = finish_report(&a.out, &dir, &results)?;
    if code == 0 {
        println!("report: {}", index.display());
    }
    Ok(code)
}

/// Draws the charts and index.html, then points `<out>/latest` at the run
/// if it holds any record; returns the index path.
fn finish_report(out: &Path, dir: &Path, results: &Results) -> Result<PathBuf> {
    let index = render_report(dir, results)?;
    if !results.records.is_empty() {
        output::point_latest(out, &results.run.id)?;
    }
    Ok(index)
}

/// Draws the charts and index.html into `dir` and says where they are.
fn render_report(dir: &Path, results: &Results) -> Result<PathBuf> {
    let files = mpmt_report::render(results, dir).with_context(|| {
        format!(
            "writing the report into {} (results.json there keeps all {} record(s))",
            dir.display(),
            results.records.len()
        )
    })?;
    let index = dir.join("index.html");
    eprintln!(
        "mpmt: report with {} chart(s): {}",
        files.len().saturating_sub(1),
        index.display()
    );
    Ok(index)
}

/// The results.json of run folder `dir`, or why there is none, told apart:
/// a missing folder, a file given instead of a folder, a folder without
/// results, a results.json that is not a file, a symlink loop.
fn results_file(dir: &Path, hint: &str) -> Result<PathBuf, BadInput> {
    let json = dir.join("results.json");
    match std::fs::metadata(&json) {
        Ok(m) if m.is_file() => Ok(json),
        Ok(_) => Err(BadInput(format!(
            "{} is not a file (a folder or a device?); {hint}",
            json.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(BadInput(match std::fs::metadata(dir) {
                Err(e) => format!("{}: {e}; {hint}", dir.display()),
                Ok(m) if !m.is_dir() => format!("{} is not a folder; {hint}", dir.display()),
                Ok(_) => format!("{} has no results.json; {hint}", dir.display()),
            }))
        }
        Err(e) => Err(BadInput(format!(
            "cannot read {}: {e}; {hint}",
            json.display()
        ))),
    }
}

pub fn report(run_dir: &Path) -> Result<i32> {
    let json = results_file(
        run_dir,
        "give a run folder written by `mpmt run` or `mpmt suite` (for example reports/latest)",
    )?;
    let results = mpmt_report::load_results(&json).map_err(|e| BadInput(format!("{e:#}")))?;
    let index = render_report(run_dir, &results)?;
    println!("{}", index.display());
    Ok(0)
}

pub fn compare(a: &Path, b: &Path, out: Option<&Path>) -> Result<i32> {
    let load = |d: &Path| -> Result<Results> {
        let json = results_file(
            d,
            "give two run folders written by `mpmt run` or `mpmt suite`",
        )?;
        mpmt_report::load_results(&json).map_err(|e| BadInput(format!("{e:#}")).into())
    };
    let (ra, rb) = (load(a)?, load(b)?);
    let c = mpmt_report::compare::compare(&ra, &rb);
    let md = mpmt_report::compare::markdown(&c, &ra, &rb);
    print!("{md}");
    let dir = out.unwrap_or(b);
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create it", dir.display()))?;
    let (md_path, svg_path) = (dir.join("compare.md"), dir.join("compare.svg"));
    std::fs::write(&md_path, &md).with_context(|| format!("cannot write {}", md_path.display()))?;
    mpmt_report::compare::svg(&c, &svg_path)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", svg_path.display()))?;
    eprintln!(
        "mpmt: wrote {} and {}",
        md_path.display(),
        svg_path.display()
    );
    Ok(0)
}

/// How a run goes, from flags every run command shares.
pub struct RunOpts<'a> {
    pub out: &'a Path,
    pub deadline: Deadline,
    pub keep_going: bool,
}

/// Runs `cases`: floors first, results written after every case, each case
/// under the stall deadline. Returns the exit code (0 complete, 1 a case
/// failed, 128+signal interrupted), the run folder and the results.
fn execute(
    cases: &[Box<dyn Case>],
    cpus: &[u32],
    opts: &RunOpts,
) -> Result<(i32, PathBuf, Results)> {
    let start = SystemTime::now();
    let start_s = mpmt_core::measure::env::rfc3339(start);
    let id = output::run_id(&start_s);
    let dir = output::create_run_dir(opts.out, &id)?;
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            id: id.clone(),
            start_time: start_s,
            command_line: std::env::args().collect(),
            mpmt_version: env!("CARGO_PKG_VERSION").into(),
            git_revision: mpmt_core::measure::env::git_revision(),
            outcome: Outcome {
                cases_planned: cases.len(),
                ..Default::default()
            },
        },
        env: mpmt_core::measure::env::collect(),
        floors: Default::default(),
        records: Vec::new(),
    };
    // Proves --out is writable before anything is measured; a folder that
    // cannot hold even that is removed again.
    if let Err(e) = output::write_results(&dir, &results) {
        let _ = std::fs::remove_dir(&dir);
        return Err(e.context(format!(
            "--out {}: cannot write the run's results there",
            opts.out.display()
        )));
    }
    signal::install().context("installing the SIGINT/SIGTERM handler")?;

    eprintln!("mpmt: measuring floors on CPUs {cpus:?}");
    results.floors = match measure_floors(cpus, opts.deadline) {
        Ok(f) => f,
        Err(e) if e.is_interrupt() => return finish(dir, results, RunStatus::Interrupted),
        Err(e) => return Err(e).context("measuring the floors"),
    };
    save(&dir, &results)?;
    let ctx = CaseContext {
        clock_ns: results
            .floors
            .clock_read_ns
            .as_ref()
            .map(|f| f.value)
            .unwrap_or(30.0),
        memcpy_bytes_per_s: results.floors.memcpy_bytes_per_s.as_ref().map(|f| f.value),
        deadline: opts.deadline,
    };

    let t0 = Instant::now();
    let mut progress = Progress::new(cases.len());
    for task in cases {
        if signal::interrupted() {
            progress.finish();
            return finish(dir, results, RunStatus::Interrupted);
        }
        progress.start(&task.label());
        let measured = mpmt_core::workloads::check_limits(task.as_ref()).and_then(|()| {
            let _armed = watchdog::Armed::new(ctx.deadline.for_setup(task.memory_bytes()))
                .map_err(|e| mpmt_core::Error::io("arming the stall deadline", e))?;
            run_guarded(task.as_ref(), &ctx)
        });
        match measured {
            Ok(recs) => {
                progress.done(&shown(&recs));
                results.records.extend(recs);
                results.run.outcome.cases_measured += 1;
                mpmt_report::derive::annotate(&mut results.records);
                save(&dir, &results)?;
            }
            Err(e) if e.is_interrupt() || signal::interrupted() => {
                progress.done("interrupted");
                progress.finish();
                return finish(dir, results, RunStatus::Interrupted);
            }
            Err(e) => {
                progress.done("FAILED");
                let error = e.to_string();
                eprintln!("mpmt: case `{}` failed: {error}", task.label());
                results.run.outcome.failures.push(Failure {
                    case: task.label(),
                    error,
                });
                if !opts.keep_going {
                    progress.finish();
                    return finish(dir, results, RunStatus::Failed);
                }
                save(&dir, &results)?;
            }
        }
    }
    progress.finish();
    eprintln!(
        "mpmt: {} case(s) in {:.1} s",
        cases.len(),
        t0.elapsed().as_secs_f64(),
    );
    let status = if results.run.outcome.failures.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Failed
    };
    finish(dir, results, status)
}

/// Measures the floors under the stall deadline (their blocking waits end
/// with an error, not a hang, if a child they fork is stopped).
fn measure_floors(
    cpus: &[u32],
    deadline: Deadline,
) -> mpmt_core::Result<mpmt_core::schema::Floors> {
    let bytes = 2 * mpmt_core::measure::floors::MEMCPY_BYTES as u64;
    let _armed = watchdog::Armed::new(deadline.for_setup(bytes))
        .map_err(|e| mpmt_core::Error::io("arming the stall deadline", e))?;
    mpmt_core::measure::floors::measure(cpus)
}

/// Runs one case; a panic in it (a bug, or a dependency that panics on a
/// limit mpmt failed to foresee) becomes this case's error. Its workers
/// were killed and reaped while unwinding (Team and WorkerProc drops).
fn run_guarded(
    task: &dyn Case,
    ctx: &CaseContext,
) -> mpmt_core::Result<Vec<mpmt_core::schema::Record>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run(ctx))).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        Err(mpmt_core::Error::Setup(format!("internal error: {what}")))
    })
}

/// A finished case's medians, for the progress line.
fn shown(recs: &[mpmt_core::schema::Record]) -> String {
    recs.iter()
        .map(|r| {
            format!(
                "{} {}{}",
                mpmt_report::fmt_value(r.stats.median, r.unit),
                r.metric,
                if r.warnings.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", r.warnings.join("; "))
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Writes the results; a failure says how many records the last good
/// results.json still holds.
fn save(dir: &Path, results: &Results) -> Result<()> {
    output::write_results(dir, results).with_context(|| {
        format!(
            "saving the results after {} record(s); {} keeps what was saved before",
            results.records.len(),
            dir.join("results.json").display()
        )
    })
}

/// Records how the run ended, says so, and returns its exit code.
fn finish(
    dir: PathBuf,
    mut results: Results,
    status: RunStatus,
) -> Result<(i32, PathBuf, Results)> {
    let o = &mut results.run.outcome;
    o.status = status;
    let code = match status {
        RunStatus::Interrupted => {
            o.signal = signal::interrupting_signal()
                .map(|s| mpmt_core::sys::child::signal_name(s).to_string());
            interrupt_code()
        }
        RunStatus::Failed => 1,
        _ => 0,
    };
    save(&dir, &results)?;
    let o = &results.run.outcome;
    let json = dir.join("results.json");
    match status {
        RunStatus::Interrupted => eprintln!(
            "mpmt: interrupted by {}; every worker was stopped and reaped; {} finished record(s) kept in {}",
            o.signal.as_deref().unwrap_or("a signal"),
            results.records.len(),
            json.display()
        ),
        RunStatus::Failed => eprintln!(
            "mpmt: {} of {} case(s) failed; the {} record(s) measured are in {} (run marked failed)",
            o.failures.len(),
            o.cases_planned,
            results.records.len(),
            json.display()
        ),
        _ => eprintln!("mpmt: results: {}", json.display()),
    }
    Ok((code, dir, results))
}

pub fn list_text() -> String {
    use mpmt_core::channel::{caps, valid_for};
    use mpmt_core::workloads::counter::Mode;
    use mpmt_core::workloads::create::Method;
    use mpmt_core::workloads::data_parallel::Variant;
    let mut s = String::from("workloads (mpmt run <workload>):\n");
    for w in WorkloadKind::ALL {
        s += &format!("  {:<14} {}\n", w.name(), w.describe());
    }
    s += "\ndata-parallel variants (--variant; <backend>-<heap|shm|channel>):\n";
    for v in Variant::all() {
        s += &format!("  {:<22} {}\n", v.name(), v.describe());
    }
    s += "\ncounter modes (--mode):\n";
    for m in Mode::ALL {
        s += &format!("  {:<18} {}\n", m.name(), m.describe());
    }
    s += "\ncreate methods (--method):\n";
    for m in Method::ALL {
        s += &format!("  {:<18} {}\n", m.name(), m.describe());
    }
    s += "\nbackends:\n";
    for b in Backend::ALL {
        s += &format!("  {:<12} {}\n", b.name(), b.describe());
    }
    s += "\nchannels:\n";
    for &c in ChannelKind::ALL {
        let k = caps(c);
        let how = match (k.blocks, k.threads_only) {
            (true, true) => "blocks; threads only",
            (true, false) => "blocks",
            (false, _) => "spins",
        };
        s += &format!("  {:<12} {} [{how}]\n", c.name(), c.describe());
    }
    s += "\nplacements:\n";
    for p in Placement::ALL {
        s += &format!("  {:<12} {}\n", p.name(), p.describe());
    }
    s += "\nvalid backend × channel combinations:\n";
    s += &format!("  {:<8}", "");
    for c in ChannelKind::ALL {
        s += &format!(" {:<12}", c.name());
    }
    s += "\n";
    for &b in Backend::ALL {
        s += &format!("  {:<8}", b.name());
        for &c in ChannelKind::ALL {
            s += &format!(" {:<12}", if valid_for(b, c) { "yes" } else { "no" });
        }
        s += "\n";
    }
    s += "\nalso refused: a spinning channel with same-cpu (a spinner and its peer on one CPU\n\
          measure the scheduler's time slice), and for ctx-switch (a spinner never switches).\n";
    s
}

pub fn env(a: &EnvArgs) -> Result<i32> {
    let env = mpmt_core::measure::env::collect();
    let floors = if a.floors {
        signal::install()?;
        Some(measure_floors(&env.allowed_cpus, Deadline::default())?)
    } else {
        None
    };
    if a.json {
        let v = serde_json::json!({ "env": env, "floors": floors });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    for (k, v) in env.rows() {
        println!("{k:<24} {v}");
    }
    if let Some(f) = floors {
        let show = |name: &str, fl: &Option<mpmt_core::schema::Floor>| {
            if let Some(fl) = fl {
                println!(
                    "{name:<24} {}  ({})",
                    mpmt_report::fmt_value(fl.value, fl.unit),
                    fl.method
                );
            }
        };
        show("clock read", &f.clock_read_ns);
        show("null syscall", &f.null_syscall_ns);
        show("cache-line rtt", &f.cacheline_rtt_ns);
        show("memcpy", &f.memcpy_bytes_per_s);
        show("fork+exit+wait", &f.fork_exit_wait_ns);
        show("thread create+join", &f.thread_create_join_ns);
        for n in &f.notes {
            println!("{:<24} {n}", "note");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::chain;

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from_raw_os_error(libc_epipe());
        let e = anyhow::Error::new(mpmt_core::Error::io("writing", io)).context("case `x` failed");
        let text = chain(&e);
        assert_eq!(text.matches("Broken pipe").count(), 1, "{text}");
        assert!(
            text.starts_with("case `x` failed: writing: Broken pipe"),
            "{text}"
        );
    }

    fn libc_epipe() -> i32 {
        32
    }
}
