//! The classic workloads under every backend: exact counter totals for
//! every mode but `racy`, a robust process-shared mutex that survives its
//! holder being killed, every data-parallel variant verified at sizes that
//! do not divide evenly (and with more workers than elements), and the
//! creation-cost workload reaping every child. Runs on the single-threaded
//! harness in `common` because most of it forks.

mod common;
use common::{Test, TestResult};
use mpmt_core::backend::Backend;
use mpmt_core::schema::{CowWrite, CowWriter, CrashFault, Metric, Recovery};
use mpmt_core::workloads::counter::{self, CounterCase, Mode};
use mpmt_core::workloads::cow::{self, CowCase};
use mpmt_core::workloads::crash::{self, CrashCase, BLOCK};
use mpmt_core::workloads::create::{CreateCase, Method};
use mpmt_core::workloads::data_parallel::{DpCase, Split};
use mpmt_core::workloads::memory::{self, MemoryCase};
use mpmt_core::workloads::{Case, Context};
use mpmt_core::Placement;
use std::time::Duration;

fn counter_case(backend: Backend, mode: Mode, workers: usize, k: u64) -> CounterCase {
    CounterCase {
        backend,
        mode,
        workers,
        increments: k,
        placement: Placement::Os,
        cpus: vec![None; workers],
        samples: 1,
        kill_lock_holder_after: None,
    }
}

fn counter_exact(backend: Backend, mode: Mode) -> TestResult {
    let o = counter::run_once(&counter_case(backend, mode, 8, 5_000)).map_err(|e| e.to_string())?;
    if o.final_value != 40_000 || o.lost() != 0 {
        return Err(format!("final {} (expected exactly 40000)", o.final_value));
    }
    Ok(())
}

fn counter_racy_accounts(backend: Backend) -> TestResult {
    let o = counter::run_once(&counter_case(backend, Mode::Racy, 8, 20_000))
        .map_err(|e| e.to_string())?;
    if o.final_value == 0 || o.final_value > 160_000 || o.lost() != 160_000 - o.final_value {
        return Err(format!("final {} lost {}", o.final_value, o.lost()));
    }
    // The record reports what was lost and the expected total.
    let r = counter_case(backend, Mode::Racy, 4, 1_000)
        .run(&Context::default())
        .map_err(|e| e.to_string())?
        .remove(0);
    if r.checks.expected_value != Some(4_000) || r.checks.lost_updates.is_none() {
        return Err(format!("record checks incomplete: {:?}", r.checks));
    }
    Ok(())
}

fn robust_mutex_survives_dead_holder(backend: Backend) -> TestResult {
    let k = 30_000_000;
    let mut case = counter_case(backend, Mode::MutexBatch, 4, k);
    case.kill_lock_holder_after = Some(Duration::from_millis(30));
    let o = counter::run_once(&case).map_err(|e| e.to_string())?;
    if o.workers_died != 1 {
        return Err(format!(
            "{} workers died, expected the killed holder only",
            o.workers_died
        ));
    }
    if o.owner_dead_recoveries != 1 {
        return Err(format!(
            "{} EOWNERDEAD recoveries, expected 1",
            o.owner_dead_recoveries
        ));
    }
    if o.final_value < 3 * k || o.final_value >= 4 * k {
        return Err(format!(
            "final {}: the three survivors should add {} and the victim part of {k}",
            o.final_value,
            3 * k
        ));
    }
    Ok(())
}

fn data_parallel(split: Split) -> TestResult {
    for (elements, workers) in [(1, 3), (7, 8), (1000, 1), (4099, 3), (65_539, 4)] {
        let case = DpCase {
            split,
            workers,
            elements,
            placement: Placement::Os,
            cpus: vec![None; workers],
            samples: 2,
        };
        let r = case
            .run(&Context::default())
            .map_err(|e| format!("e={elements} w={workers}: {e}"))?
            .remove(0);
        if r.checks.elements_verified != Some(2 * elements as u64) {
            return Err(format!(
                "e={elements} w={workers}: verified {:?}",
                r.checks.elements_verified
            ));
        }
        let phases = r.setup_ns as f64
            + r.checks.compute_ns.unwrap_or(-1.0)
            + r.checks.teardown_ns.unwrap_or(-1.0);
        if phases <= 0.0 {
            return Err(format!("e={elements} w={workers}: phases missing"));
        }
    }
    Ok(())
}

fn create_cleans_up(method: Method) -> TestResult {
    let case = CreateCase {
        method,
        parent_heap_bytes: 1 << 20,
        samples: 3,
        alive: 3,
        placement: Placement::Os,
        cpu: None,
    };
    let recs = case.run(&Context::default()).map_err(|e| e.to_string())?;
    if recs[0].checks.workers_reaped != Some(3 + 3 + 1) {
        return Err(format!(
            "created and reaped {:?}, not 3 warm-up + 3 samples + 1 counted",
            recs[0].checks.workers_reaped
        ));
    }
    // mpmt-noop exits the moment it starts: there is no live worker to weigh.
    if matches!(method, Method::ForkExecStatic | Method::PosixSpawnStatic) {
        return match recs.iter().map(|r| r.metric).collect::<Vec<_>>()[..] {
            [Metric::Create] => Ok(()),
            ref m => Err(format!("unexpected records: {m:?}")),
        };
    }
    if recs.len() != 2 || recs[0].metric != Metric::Create || recs[1].metric != Metric::Pss {
        return Err(format!(
            "unexpected records: {:?}",
            recs.iter().map(|r| &r.metric).collect::<Vec<_>>()
        ));
    }
    if recs[1].samples != 3 {
        return Err(format!(
            "memory measured for {} workers, not 3",
            recs[1].samples
        ));
    }
    if method != Method::Thread
        && recs[1].stats.median.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return Err("a live worker process has no PSS".into());
    }
    Ok(())
}

fn memory_case(backend: Backend, workers: usize, private: usize, shared: usize) -> MemoryCase {
    MemoryCase {
        backend,
        workers,
        private,
        shared,
        placement: Placement::Os,
        cpus: vec![None; workers],
        samples: 1,
        hold: std::time::Duration::ZERO,
    }
}

/// A thread team grows by its working sets and the shared region once.
fn memory_threads_share_the_region() -> TestResult {
    let r = memory::run_once(&memory_case(Backend::Thread, 4, 8 << 20, 16 << 20))
        .map_err(|e| e.to_string())?;
    if r.verified != 4 * (24 << 20) || r.each.len() != 1 {
        return Err(format!(
            "verified {} over {} entries",
            r.verified,
            r.each.len()
        ));
    }
    // Every private page, and the region once (stacks and the allocator
    // add a little; the region counted per thread would add 48 MiB).
    let rss = r.each[0].rss * 4;
    let want = 4 * (8 << 20) + (16 << 20);
    if rss < want || rss > want + (8 << 20) {
        return Err(format!(
            "the team grew by {rss} bytes of RSS, expected about {want}"
        ));
    }
    // Page tables for 48 MiB mapped once: at least 96 KiB in all.
    if r.each[0].page_tables * 4 < 96 << 10 {
        return Err(format!("page tables {} per thread", r.each[0].page_tables));
    }
    Ok(())
}

/// Forked and exec'd workers each map all of the region and share its
/// PSS: each holds half of it and all of its own working set.
fn memory_processes_split_the_region(backend: Backend) -> TestResult {
    let r =
        memory::run_once(&memory_case(backend, 2, 4 << 20, 16 << 20)).map_err(|e| e.to_string())?;
    if r.each.len() != 2 || r.verified != 2 * (20 << 20) {
        return Err(format!(
            "{} workers weighed, {} bytes verified",
            r.each.len(),
            r.verified
        ));
    }
    for w in &r.each {
        let ok = w.rss >= 20 << 20
            && (12 << 20..20 << 20).contains(&w.pss)
            && (4 << 20..12 << 20).contains(&w.uss)
            && w.page_tables >= 40 << 10;
        if !ok {
            return Err(format!("a worker weighs {w:?}"));
        }
    }
    Ok(())
}

fn cow_case(writer: CowWriter, ppm: u32) -> CowCase {
    CowCase {
        write: CowWrite {
            writer,
            ppm,
            huge: false,
        },
        heap: 8 << 20,
        placement: Placement::Os,
        cpu: None,
        samples: 1,
    }
}

/// Each page written after fork is one minor fault and one page copied,
/// on the writer's side; a thread's writes copy nothing.
fn cow_faults_once_per_page(writer: CowWriter) -> TestResult {
    let case = cow_case(writer, 250_000);
    let r = cow::run_once(&case).map_err(|e| e.to_string())?;
    let n = case.written() as u64;
    let (want_faults, checked) = match writer {
        CowWriter::Thread => (0, 2048),
        _ => (n, 2 * 2048),
    };
    // The kernel may add a fault of its own now and then (a page it
    // migrated under the writer for compaction shows as one): within
    // 2 %, or one fault, of one per page written.
    let slack = (n / 50).max(1);
    if r.faults.abs_diff(want_faults) > slack || r.verified != checked {
        return Err(format!(
            "{} faults for {n} pages written (expected {want_faults} ± {slack}), {} pages checked",
            r.faults, r.verified
        ));
    }
    if let (Some(b), Some(a)) = (r.child_before, r.child_after) {
        // The child's own pages grow by the copies: its own after a
        // child's writes, the originals it is left alone with after the
        // parent's.
        let grown = a.uss.saturating_sub(b.uss);
        if grown < n * 4096 || grown > (n + 64) * 4096 {
            return Err(format!(
                "the child's USS grew by {grown}, expected {}",
                n * 4096
            ));
        }
    }
    Ok(())
}

/// Core files in the working directory (where `core_pattern` "core"
/// would put one).
fn core_files() -> Vec<String> {
    std::fs::read_dir(".")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n == "core" || n.starts_with("core."))
                .collect()
        })
        .unwrap_or_default()
}

/// One crash under both policies: the exact work lost where the team
/// lived, every block verified after the recovery, how the dead one
/// ended, and no core file left.
fn crash_blast_radius(b: Backend, f: CrashFault) -> TestResult {
    let (w, units) = (3, 16);
    let case = CrashCase {
        backend: b,
        workers: w,
        units,
        fault: f,
        policies: Recovery::ALL.to_vec(),
        placement: Placement::Os,
        cpus: vec![None; w],
        samples: 1,
    };
    let cores = core_files();
    let own = units - case.fault_unit();
    let takes_host = b == Backend::Thread && f != CrashFault::Panic;
    let ends = match (f, b) {
        (CrashFault::Segv, _) => "(SIGSEGV)",
        (CrashFault::Abort | CrashFault::Oom, _) => "(SIGABRT)",
        (CrashFault::Panic, Backend::Thread) => "thread panicked and unwound; its process lived",
        (CrashFault::Panic, Backend::Fork) => "exited with code 1",
        (CrashFault::Panic, Backend::Spawn) => "exited with code 101",
    };
    for (i, &p) in Recovery::ALL.iter().enumerate() {
        let r = crash::run_once(&case, p, 11 + i as u64).map_err(|e| format!("{p}: {e}"))?;
        let say = |what: &str| Err(format!("{p}: {what}: {r:?}"));
        if r.bytes_verified != (w * units * BLOCK) as u64 {
            return say("not every block was verified once");
        }
        if !r.end.contains(ends) {
            return say(&format!("the dead one's end does not say `{ends}`"));
        }
        if r.words_seen == Some(false) {
            return say("the fault's words were not on its stderr");
        }
        match p {
            Recovery::Respawn => {
                let (alive, lost_ok) = match takes_host {
                    // Every sibling dies with the host, exactly halfway.
                    true => (r.survivors == 0, r.units_lost == w * own),
                    false => (r.survivors == w - 1, r.units_lost == own),
                };
                if !alive || !lost_ok {
                    return say("the blast radius is not the backend's");
                }
                let started = if takes_host { w } else { 1 };
                if r.restarted != started || r.owner_dead_recoveries == 0 {
                    return say("the respawn did not carry on from the ledger");
                }
            }
            Recovery::Restart => {
                if r.restarted != w || r.units_discarded + r.units_lost != w * units {
                    return say("the restart did not start the whole team over");
                }
            }
        }
        if r.detect_ns == 0 || r.recover_ns == 0 {
            return say("a time was not taken");
        }
    }
    let after = core_files();
    if after.len() > cores.len() {
        return Err(format!("core files left: {after:?}"));
    }
    Ok(())
}

fn main() {
    let mut tests: Vec<Test> = Vec::new();
    for &b in Backend::ALL {
        for m in [Mode::Atomic, Mode::Mutex, Mode::MutexBatch] {
            tests.push((
                format!("counter_exact_{}_{}", m.name().replace('-', "_"), b),
                Box::new(move || counter_exact(b, m)),
            ));
        }
        tests.push((
            format!("counter_racy_accounts_{b}"),
            Box::new(move || counter_racy_accounts(b)),
        ));
    }
    for b in [Backend::Fork, Backend::Spawn] {
        tests.push((
            format!("robust_mutex_survives_dead_holder_{b}"),
            Box::new(move || robust_mutex_survives_dead_holder(b)),
        ));
    }
    for v in mpmt_core::workloads::data_parallel::splits() {
        tests.push((
            format!("data_parallel_{}", v.name().replace('-', "_")),
            Box::new(move || data_parallel(v)),
        ));
    }
    for &m in Method::ALL {
        tests.push((
            format!("create_cleans_up_{}", m.name().replace('-', "_")),
            Box::new(move || create_cleans_up(m)),
        ));
    }
    tests.push((
        "memory_threads_share_the_region".into(),
        Box::new(memory_threads_share_the_region),
    ));
    for b in [Backend::Fork, Backend::Spawn] {
        tests.push((
            format!("memory_processes_split_the_region_{b}"),
            Box::new(move || memory_processes_split_the_region(b)),
        ));
    }
    for &w in CowWriter::ALL {
        tests.push((
            format!("cow_faults_once_per_page_{w}"),
            Box::new(move || cow_faults_once_per_page(w)),
        ));
    }
    for &b in Backend::ALL {
        for &f in CrashFault::ALL {
            tests.push((
                format!("crash_blast_radius_{b}_{f}"),
                Box::new(move || crash_blast_radius(b, f)),
            ));
        }
    }
    common::run_suite(tests)
}
