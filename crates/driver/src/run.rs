//! Running a plan: floors first, then each case in order, results written
//! after every case, progress on stderr, the summary on stdout.

use crate::cli::{EnvArgs, RunCommand, SuiteArgs};
use crate::output;
use crate::plan::{self, Machine};
use crate::progress::Progress;
use anyhow::{Context, Result};
use mpmt_core::schema::{Results, RunInfo, SCHEMA_VERSION};
use mpmt_core::sys::signal;
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

pub fn run(a: &RunCommand) -> Result<i32> {
    let machine = Machine::probe();
    let plan = plan::plan(&a.workload, &machine).map_err(anyhow::Error::msg)?;
    let (code, dir, results) = execute(&plan.cases, &plan.cpus, &a.workload.common().out)?;
    if code == 0 {
        println!("{}", mpmt_report::summary_table(&results.records));
        let cross = mpmt_report::crossover_text(&results.records);
        if !cross.is_empty() {
            println!("{cross}");
        }
    }
    finish_report(&dir, &results)?;
    Ok(code)
}

pub fn suite(a: &SuiteArgs) -> Result<i32> {
    let machine = Machine::probe();
    let plan =
        crate::profiles::plan_profile(a.profile, &machine, &a.out).map_err(anyhow::Error::msg)?;
    let (code, dir, results) = execute(&plan.cases, &plan.cpus, &a.out)?;
    let index = finish_report(&dir, &results)?;
    let latest = a.out.join("latest");
    if std::fs::symlink_metadata(&latest).is_ok() {
        std::fs::remove_file(&latest).with_context(|| format!("replacing {}", latest.display()))?;
    }
    std::os::unix::fs::symlink(&results.run.id, &latest)
        .with_context(|| format!("pointing {} at {}", latest.display(), results.run.id))?;
    if code == 0 {
        println!("report: {}", index.display());
    }
    Ok(code)
}

/// Draws the charts and index.html; returns the index path.
fn finish_report(dir: &Path, results: &Results) -> Result<PathBuf> {
    let files = mpmt_report::render(results, dir).context("writing the report")?;
    let index = dir.join("index.html");
    eprintln!(
        "mpmt: report with {} chart(s): {}",
        files.len().saturating_sub(1),
        index.display()
    );
    Ok(index)
}

pub fn report(run_dir: &Path) -> Result<i32> {
    let json = run_dir.join("results.json");
    if !json.is_file() {
        anyhow::bail!(
            "{} has no results.json: give a run folder written by `mpmt run` or `mpmt suite` (for example reports/latest)",
            run_dir.display()
        );
    }
    let results = mpmt_report::load_results(&json)?;
    let index = finish_report(run_dir, &results)?;
    println!("{}", index.display());
    Ok(0)
}

pub fn compare(a: &Path, b: &Path, out: Option<&Path>) -> Result<i32> {
    let load = |d: &Path| -> Result<Results> {
        let json = d.join("results.json");
        if !json.is_file() {
            anyhow::bail!(
                "{} has no results.json: give two run folders written by `mpmt run` or `mpmt suite`",
                d.display()
            );
        }
        mpmt_report::load_results(&json)
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

/// Runs `cases`: floors first, results written after every case. Returns
/// the exit code, the run folder and the results.
fn execute(cases: &[Box<dyn Case>], cpus: &[u32], out: &Path) -> Result<(i32, PathBuf, Results)> {
    let start = SystemTime::now();
    let start_s = mpmt_core::measure::env::rfc3339(start);
    let id = output::run_id(&start_s);
    let dir = output::create_run_dir(out, &id)?;
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            id: id.clone(),
            start_time: start_s,
            command_line: std::env::args().collect(),
            mpmt_version: env!("CARGO_PKG_VERSION").into(),
            git_revision: mpmt_core::measure::env::git_revision(),
            interrupted: None,
        },
        env: mpmt_core::measure::env::collect(),
        floors: Default::default(),
        records: Vec::new(),
    };
    // Proves --out is writable before anything is measured.
    output::write_results(&dir, &results)
        .with_context(|| format!("--out {}: the run directory is not writable", out.display()))?;
    signal::install().context("installing the SIGINT/SIGTERM handler")?;

    eprintln!("mpmt: measuring floors on CPUs {cpus:?}");
    results.floors = match mpmt_core::measure::floors::measure(cpus) {
        Ok(f) => f,
        Err(e) if e.is_interrupt() => return finish_interrupted(dir, results),
        Err(e) => return Err(e).context("measuring the floors"),
    };
    output::write_results(&dir, &results)?;
    let ctx = CaseContext {
        clock_ns: results
            .floors
            .clock_read_ns
            .as_ref()
            .map(|f| f.value)
            .unwrap_or(30.0),
        memcpy_bytes_per_s: results.floors.memcpy_bytes_per_s.as_ref().map(|f| f.value),
    };

    let t0 = Instant::now();
    let mut progress = Progress::new(cases.len());
    for task in cases {
        if signal::interrupted() {
            progress.finish();
            return finish_interrupted(dir, results);
        }
        progress.start(&task.label());
        match task.run(&ctx) {
            Ok(recs) => {
                let shown: Vec<String> = recs
                    .iter()
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
                    .collect();
                progress.done(&shown.join(" | "));
                results.records.extend(recs);
                mpmt_report::derive::annotate(&mut results.records);
                output::write_results(&dir, &results)?;
            }
            Err(e) if e.is_interrupt() || signal::interrupted() => {
                progress.done("interrupted");
                progress.finish();
                return finish_interrupted(dir, results);
            }
            Err(e) => {
                progress.done("FAILED");
                progress.finish();
                output::write_results(&dir, &results)?;
                return Err(anyhow::Error::new(e)).with_context(|| {
                    format!(
                        "case `{}` failed; the {} record(s) measured so far are in {}",
                        task.label(),
                        results.records.len(),
                        dir.join("results.json").display()
                    )
                });
            }
        }
    }
    progress.finish();
    eprintln!(
        "mpmt: {} case(s) in {:.1} s; results: {}",
        cases.len(),
        t0.elapsed().as_secs_f64(),
        dir.join("results.json").display()
    );
    Ok((0, dir, results))
}

fn finish_interrupted(dir: PathBuf, mut results: Results) -> Result<(i32, PathBuf, Results)> {
    let sig = signal::interrupting_signal()
        .map(mpmt_core::sys::child::signal_name)
        .unwrap_or("signal");
    results.run.interrupted = Some(format!(
        "stopped by {sig} after {} record(s)",
        results.records.len()
    ));
    output::write_results(&dir, &results)?;
    eprintln!(
        "mpmt: interrupted by {sig}; every worker was stopped and reaped; {} finished record(s) kept in {}",
        results.records.len(),
        dir.join("results.json").display()
    );
    Ok((interrupt_code(), dir, results))
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
        Some(mpmt_core::measure::floors::measure(&env.allowed_cpus)?)
    } else {
        None
    };
    if a.json {
        let v = serde_json::json!({ "env": env, "floors": floors });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let e = &env;
    println!("cpu model        {}", e.cpu_model);
    println!("online cpus      {}", e.online_cpus);
    println!("allowed cpus     {:?}", e.allowed_cpus);
    println!("smt              {}", e.smt);
    println!("kernel           {}", e.kernel);
    println!("hypervisor       {}", e.hypervisor);
    println!("governor         {}", e.governor);
    println!("cgroup cpu.max   {}", e.cgroup_cpu_quota);
    println!("load average     {:?}", e.load_average);
    println!("clocksource      {}", e.clocksource);
    println!(
        "memory           {}",
        mpmt_core::schema::units::fmt_bytes(e.mem_total_bytes)
    );
    println!("page size        {}", e.page_size_bytes);
    println!("rustc            {}", e.rustc);
    if let Some(f) = floors {
        let show = |name: &str, fl: &Option<mpmt_core::schema::Floor>| {
            if let Some(fl) = fl {
                println!(
                    "{name:<16} {}  ({})",
                    mpmt_report::fmt_value(fl.value, fl.unit),
                    fl.method
                );
            }
        };
        show("clock read", &f.clock_read_ns);
        show("null syscall", &f.null_syscall_ns);
        show("cache-line rtt", &f.cacheline_rtt_ns);
        show("memcpy", &f.memcpy_bytes_per_s);
        for n in &f.notes {
            println!("note             {n}");
        }
    }
    Ok(0)
}
