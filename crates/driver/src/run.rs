//! Running a plan: floors first, then each case in order, results written
//! after every case, progress on stderr, the summary on stdout.

use crate::cli::{EnvArgs, RunArgs};
use crate::output;
use crate::plan::{self, Machine};
use anyhow::{Context, Result};
use mpmt_core::schema::{Results, RunInfo, SCHEMA_VERSION};
use mpmt_core::workload::Context as CaseContext;
use mpmt_core::{signal, BackendKind, ChannelKind, Placement, Workload};
use std::time::{Instant, SystemTime};

/// Exit code after an interrupt: 128 + the signal, as shells report it.
fn interrupt_code() -> i32 {
    128 + signal::interrupting_signal().unwrap_or(libc_sigint())
}

fn libc_sigint() -> i32 {
    2
}

pub fn run(a: &RunArgs) -> Result<i32> {
    let machine = Machine::probe();
    let plan = plan::plan(a, &machine).map_err(anyhow::Error::msg)?;
    let start = SystemTime::now();
    let start_s = mpmt_core::schema::rfc3339(start);
    let id = output::run_id(&start_s);
    let dir = output::create_run_dir(&a.out, &id)?;
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            id: id.clone(),
            start_time: start_s,
            command_line: std::env::args().collect(),
            mpmt_version: env!("CARGO_PKG_VERSION").into(),
            git_revision: mpmt_core::env::git_revision(),
            interrupted: None,
        },
        env: mpmt_core::env::collect(),
        floors: Default::default(),
        records: Vec::new(),
    };
    // Proves --out is writable before anything is measured.
    output::write_results(&dir, &results).with_context(|| {
        format!(
            "--out {}: the run directory is not writable",
            a.out.display()
        )
    })?;
    signal::install().context("installing the SIGINT/SIGTERM handler")?;

    eprintln!("mpmt: measuring floors on CPUs {:?}", plan.cpus);
    results.floors = match mpmt_core::floors::measure(&plan.cpus) {
        Ok(f) => f,
        Err(e) if e.is_interrupt() => return finish_interrupted(&dir, &mut results),
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

    let total = plan.tasks.len();
    let t0 = Instant::now();
    for (i, task) in plan.tasks.iter().enumerate() {
        if signal::interrupted() {
            return finish_interrupted(&dir, &mut results);
        }
        eprint!("[{:>3}/{total}] {:<52}", i + 1, task.label());
        match task.run(&ctx) {
            Ok(recs) => {
                let shown: Vec<String> = recs
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}{}",
                            mpmt_report::fmt_value(r.stats.median, &r.unit),
                            r.metric,
                            if r.warnings.is_empty() {
                                String::new()
                            } else {
                                format!("  ({})", r.warnings.join("; "))
                            }
                        )
                    })
                    .collect();
                eprintln!(" {}", shown.join(" | "));
                results.records.extend(recs);
                mpmt_core::dataparallel::annotate_speedups(&mut results.records);
                output::write_results(&dir, &results)?;
            }
            Err(e) if e.is_interrupt() || signal::interrupted() => {
                eprintln!(" interrupted");
                return finish_interrupted(&dir, &mut results);
            }
            Err(e) => {
                eprintln!(" FAILED");
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
    println!("{}", mpmt_report::summary_table(&results.records));
    let cross = mpmt_report::crossover_text(&results.records);
    if !cross.is_empty() {
        println!("{cross}");
    }
    eprintln!(
        "mpmt: {total} case(s) in {:.1} s; results: {}",
        t0.elapsed().as_secs_f64(),
        dir.join("results.json").display()
    );
    Ok(0)
}

fn finish_interrupted(dir: &std::path::Path, results: &mut Results) -> Result<i32> {
    let sig = signal::interrupting_signal()
        .map(mpmt_core::sys::signal_name)
        .unwrap_or("signal");
    results.run.interrupted = Some(format!(
        "stopped by {sig} after {} case(s)",
        results.records.len()
    ));
    output::write_results(dir, results)?;
    eprintln!(
        "mpmt: interrupted by {sig}; every worker was stopped and reaped; {} finished case(s) kept in {}",
        results.records.len(),
        dir.join("results.json").display()
    );
    Ok(interrupt_code())
}

pub fn list_text() -> String {
    let mut s = String::from("workloads:\n");
    for w in Workload::ALL {
        s += &format!("  {:<14} {}\n", w.name(), w.describe());
    }
    s += "\ndata-parallel variants (--variant):\n";
    for v in mpmt_core::dataparallel::Variant::ALL {
        s += &format!("  {:<18} {}\n", v.name(), v.describe());
    }
    s += "\ncounter modes (--mode):\n";
    for m in mpmt_core::counter::Mode::ALL {
        s += &format!("  {:<18} {}\n", m.name(), m.describe());
    }
    s += "\nspawn workload methods (--backend):\n";
    for m in mpmt_core::creation::Method::ALL {
        s += &format!("  {:<18} {}\n", m.name(), m.describe());
    }
    s += "\nbackends:\n";
    for b in BackendKind::ALL {
        s += &format!("  {:<12} {}\n", b.name(), b.describe());
    }
    s += "\nchannels:\n";
    for c in ChannelKind::ALL {
        s += &format!("  {:<12} {}\n", c.name(), c.describe());
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
    for b in BackendKind::ALL {
        s += &format!("  {:<8}", b.name());
        for (bb, _, ok) in plan::combinations()
            .into_iter()
            .filter(|(bb, _, _)| *bb == b)
        {
            let _ = bb;
            s += &format!(" {:<12}", if ok { "yes" } else { "no" });
        }
        s += "\n";
    }
    s += "\nalso refused: shm-spin with same-cpu (a spinner and its peer on one CPU measure the\n\
          scheduler's time slice), and shm-spin for ctx-switch (a spinner never switches).\n";
    s
}

pub fn env(a: &EnvArgs) -> Result<i32> {
    let env = mpmt_core::env::collect();
    let floors = if a.floors {
        signal::install()?;
        Some(mpmt_core::floors::measure(&env.allowed_cpus)?)
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
        mpmt_core::units::fmt_bytes(e.mem_total_bytes)
    );
    println!("page size        {}", e.page_size_bytes);
    println!("rustc            {}", e.rustc);
    if let Some(f) = floors {
        let show = |name: &str, fl: &Option<mpmt_core::schema::Floor>| {
            if let Some(fl) = fl {
                println!(
                    "{name:<16} {}  ({})",
                    mpmt_report::fmt_value(fl.value, &fl.unit),
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
