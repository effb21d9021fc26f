//! Running a plan: floors first, then each case in order, results written
//! after every case, progress on stderr, the summary on stdout.

use crate::cli::{CompareArgs, EnvArgs, ExportArgs, RunCommand, RunFlags, SuiteArgs};
use crate::executor::{self, Observer};
use crate::output;
use crate::plan::{self, Machine};
use crate::progress::Progress;
use anyhow::{Context, Result};
use mpmt_core::measure::Deadline;
use mpmt_core::schema::{DroppedPoint, Record, RoundPolicy};
use mpmt_core::schema::{Outcome, Results, RunInfo, RunStatus, SCHEMA_VERSION};
use mpmt_core::sys::cpuuse::{Contention, CpuUse};
use mpmt_core::sys::signal;
use mpmt_core::sys::watchdog;
use mpmt_core::workloads::{Case, Context as CaseContext};
use mpmt_core::{Backend, ChannelKind, WorkloadKind};
use mpmt_report::OutDir;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

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

/// The temp folder must be a writable directory: spawned workers meet
/// mpmt at ipc-channel sockets there, and the ipc-channel channel puts its
/// own beside them. Checked before any worker starts, with what to fix.
fn check_tmpdir() -> Result<(), BadInput> {
    let dir = std::env::temp_dir();
    let named = match std::env::var_os("TMPDIR") {
        Some(v) => format!("TMPDIR={}", v.to_string_lossy()),
        None => format!("{} (TMPDIR is unset)", dir.display()),
    };
    let probe = dir.join(format!(".mpmt-probe-{}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => {
            let _ = std::fs::remove_dir(&probe);
            Ok(())
        }
        Err(e) => Err(BadInput(format!(
            "{named} is not a writable directory ({e}): mpmt's spawned workers and the ipc-channel channel put their sockets there; point TMPDIR at a writable directory"
        ))),
    }
}

fn opts<'a>(out: &'a Path, flags: &RunFlags) -> Result<RunOpts<'a>, BadInput> {
    check_tmpdir()?;
    Ok(RunOpts {
        out,
        deadline: Deadline {
            fixed: flags.deadline,
        },
        keep_going: flags.keep_going,
        budget: None,
        rounds: crate::schedule::policy(
            flags.rounds,
            flags.max_rounds,
            flags.ci_target,
            flags.seed,
        )
        .map_err(BadInput)?,
    })
}

pub fn run(a: &RunCommand) -> Result<i32> {
    let machine = Machine::probe();
    let plan = plan::plan(&a.workload, &machine).map_err(BadInput)?;
    let common = a.workload.common();
    let opts = opts(&common.out, &common.run)?;
    let (code, dirs, results) = execute(&plan.cases, &plan.cpus, &opts)?;
    // One question: its records are the answer, then the verdicts they
    // bear on.
    print_records(&results);
    let (index, rendered) = finish_report(&dirs, &results)?;
    crate::term::out(format_args!("{}", rendered.verdicts(dirs.run.path(), true)));
    say_report(code, &index);
    Ok(code)
}

pub fn suite(a: &SuiteArgs) -> Result<i32> {
    let machine = Machine::probe();
    let plan = crate::profiles::plan_profile(a.profile, &machine, &a.out).map_err(BadInput)?;
    let mut flags = a.run.clone();
    if flags.max_rounds.is_none() {
        flags.max_rounds = a
            .profile
            .max_rounds()
            .map(|m| m.max(flags.rounds.unwrap_or(0)));
    }
    let mut opts = opts(&a.out, &flags)?;
    opts.budget = a.budget.map_or(a.profile.budget(), |b| b.0);
    let (code, dirs, results) = execute(&plan.cases, &plan.cpus, &opts)?;
    if flags.verbose {
        print_records(&results);
    }
    let (index, rendered) = finish_report(&dirs, &results)?;
    crate::term::out(format_args!(
        "{}",
        rendered.verdicts(dirs.run.path(), false)
    ));
    say_report(code, &index);
    Ok(code)
}

/// Every record's row, and the data-parallel crossovers.
fn print_records(results: &Results) {
    if results.records.is_empty() {
        return;
    }
    crate::say!("{}", mpmt_report::summary_table(&results.records));
    let cross = mpmt_report::crossover_text(&results.records);
    if !cross.is_empty() {
        crate::say!("{cross}");
    }
}

/// The last line of a run that measured everything: where its page is.
fn say_report(code: i32, index: &Path) {
    if code == 0 {
        crate::say!("report: {}", index.display());
    }
}

/// `mpmt selftest aa`: the profile twice, each `mpmt suite` its own
/// process (as two runs someone compares would be: in one process the
/// second run's parent would carry the first run's heap, and fork would
/// cost more), then the comparison of the two runs, with the share of
/// cases flagged per kind of case and the relative change 19 cases in 20
/// stayed under (what a threshold must exceed). Writes aa.md into the
/// second run's folder.
pub fn selftest_aa(a: &SuiteArgs) -> Result<i32> {
    // Refuse bad flags before anything runs.
    opts(&a.out, &a.run)?;
    let exe = std::env::current_exe().context("locating the mpmt executable")?;
    let mut dirs = Vec::new();
    for which in ["A", "B"] {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["suite", "--profile", a.profile.name(), "--out"])
            .arg(&a.out)
            .stdout(std::process::Stdio::null());
        let f = &a.run;
        let mut add = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                cmd.args([flag.to_string(), v]);
            }
        };
        add("--rounds", f.rounds.map(|x| x.to_string()));
        add(
            "--budget",
            a.budget.map(|b| match b.0 {
                Some(d) => format!("{}s", d.as_secs_f64()),
                None => "none".into(),
            }),
        );
        add("--max-rounds", f.max_rounds.map(|x| x.to_string()));
        add("--ci-target", f.ci_target.map(|x| x.to_string()));
        // Each run its own order: identical runs differ in that too.
        add(
            "--seed",
            f.seed.map(|x| (x + dirs.len() as u64).to_string()),
        );
        add(
            "--deadline",
            f.deadline.map(|d| format!("{}ms", d.as_millis())),
        );
        crate::note!("mpmt: selftest aa: run {which}");
        let st = cmd.status().context("starting mpmt suite")?;
        if !st.success() {
            crate::note!("mpmt: selftest aa: run {which} did not complete ({st})");
            return Ok(st.code().unwrap_or(1));
        }
        let latest = a.out.join("latest");
        let dir = std::fs::canonicalize(&latest)
            .with_context(|| format!("finding run {which} at {}", latest.display()))?;
        dirs.push(dir);
    }
    let load = |d: &Path| -> Result<Results> {
        mpmt_report::load_results(&d.join("results.json")).map_err(|e| anyhow::anyhow!("{e:#}"))
    };
    let (ra, rb) = (load(&dirs[0])?, load(&dirs[1])?);
    let c = mpmt_report::compare::compare(&ra, &rb, None);
    let text = mpmt_report::compare::aa_summary(&c);
    crate::term::out(format_args!("{text}"));
    let path = dirs[1].join("aa.md");
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    crate::note!("mpmt: wrote {}", path.display());
    Ok(0)
}

/// Draws the charts and index.html, then points `<out>/latest` at the run
/// if it holds any record; returns the index path and what was drawn.
fn finish_report(
    dirs: &output::RunDir,
    results: &Results,
) -> Result<(PathBuf, mpmt_report::Rendered)> {
    let drawn = render_report(&dirs.run, results)?;
    if !results.records.is_empty() {
        output::point_latest(&dirs.out, &results.run.id)?;
    }
    Ok(drawn)
}

/// Draws the charts and index.html into `dir` and says where they are.
fn render_report(dir: &OutDir, results: &Results) -> Result<(PathBuf, mpmt_report::Rendered)> {
    let rendered = mpmt_report::render(results, dir).with_context(|| {
        format!(
            "writing the report into {} (results.json there keeps all {} record(s))",
            dir.path().display(),
            results.records.len()
        )
    })?;
    let index = dir.join("index.html");
    crate::note!(
        "mpmt: report with {} chart(s): {}",
        rendered.charts.len(),
        index.display()
    );
    Ok((index, rendered))
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
    let dir =
        OutDir::open(run_dir).with_context(|| format!("{}: cannot open it", run_dir.display()))?;
    let (index, rendered) = render_report(&dir, &results)?;
    crate::term::out(format_args!("{}", rendered.verdicts(run_dir, false)));
    crate::say!("{}", index.display());
    Ok(0)
}

/// Loads a run folder's results; a bad folder is bad input.
fn load_run(dir: &Path, hint: &str) -> Result<Results> {
    let json = results_file(dir, hint)?;
    mpmt_report::load_results(&json).map_err(|e| BadInput(format!("{e:#}")).into())
}

/// Exit code of `compare --fail-above` when a case got worse.
pub const EXIT_REGRESSED: i32 = 3;

pub fn compare(a: &CompareArgs) -> Result<i32> {
    let hint = "give run folders written by `mpmt run` or `mpmt suite`";
    let mut dirs: Vec<PathBuf> = a.runs.clone();
    let same = |x: &Path, y: &Path| match (std::fs::canonicalize(x), std::fs::canonicalize(y)) {
        (Ok(x), Ok(y)) => x == y,
        _ => x == y,
    };
    let baseline = match &a.baseline {
        None => 0,
        Some(b) => match dirs.iter().position(|d| same(d, b)) {
            Some(i) => i,
            None => {
                dirs.insert(0, b.clone());
                0
            }
        },
    };
    let runs = dirs
        .iter()
        .map(|d| load_run(d, hint))
        .collect::<Result<Vec<_>>>()?;
    let m = mpmt_report::compare::compare_many(
        runs.iter().collect(),
        baseline,
        a.threshold.map(|t| t / 100.0),
    );
    let md = m.markdown();
    crate::term::out(format_args!("{md}"));
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| dirs[dirs.len() - 1].clone());
    let dir = std::fs::create_dir_all(&dir)
        .and_then(|()| OutDir::open(&dir))
        .with_context(|| format!("--out {}: cannot create it", dir.display()))?;
    let md_path = dir.join("compare.md");
    dir.write_atomic("compare.md", md.as_bytes())
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    let chart = m.chart();
    let svg_path = mpmt_report::draw::draw(&chart, &dir)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", dir.join(chart.file).display()))?;
    crate::note!(
        "mpmt: wrote {} and {}",
        md_path.display(),
        svg_path.display()
    );
    if let Some(pct) = a.fail_above {
        let worse = m.regressions(pct);
        if !worse.is_empty() {
            crate::note!(
                "mpmt: {} case(s) got worse than the baseline beyond the noise and by more than {pct} %:",
                worse.len()
            );
            for w in &worse {
                crate::note!(
                    "  {} in {}: {}× the baseline",
                    w.key,
                    w.run,
                    mpmt_report::compare::fmt_ratio(w.ratio)
                );
            }
            return Ok(EXIT_REGRESSED);
        }
        crate::note!(
            "mpmt: no case got worse than the baseline by more than {pct} % beyond the noise"
        );
    }
    Ok(0)
}

/// `mpmt export`: a run's records in another format, to stdout or a file.
pub fn export(a: &ExportArgs) -> Result<i32> {
    let res = load_run(
        &a.run_dir,
        "give a run folder written by `mpmt run` or `mpmt suite` (for example reports/latest)",
    )?;
    use crate::cli::ExportFormat as F;
    use mpmt_report::export;
    let text = match a.format {
        F::Markdown => export::markdown(&res),
        F::Csv => mpmt_report::csv_string(&res.records)?,
        F::JsonLines => export::json_lines(&res)?,
        F::Bmf => export::bmf(&res)?,
    };
    match &a.output {
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(text.as_bytes())
                .context("writing to standard output")?;
        }
        Some(p) => {
            mpmt_report::write_atomic(p, text.as_bytes())
                .with_context(|| format!("--output {}: cannot write it", p.display()))?;
            crate::note!("mpmt: wrote {}", p.display());
        }
    }
    Ok(0)
}

/// How a run goes, from flags every run command shares.
pub struct RunOpts<'a> {
    pub out: &'a Path,
    pub deadline: Deadline,
    pub keep_going: bool,
    pub rounds: RoundPolicy,
    /// Measuring time for floors and cases (`mpmt suite --budget`).
    pub budget: Option<Duration>,
}

/// Runs `cases`: floors first, results written after every case, each case
/// under the stall deadline. Returns the exit code (0 complete, 1 a case
/// failed, 128+signal interrupted), the run folder and the results.
fn execute(
    cases: &[Box<dyn Case>],
    cpus: &[u32],
    opts: &RunOpts,
) -> Result<(i32, output::RunDir, Results)> {
    let start = SystemTime::now();
    let start_s = mpmt_core::measure::env::rfc3339(start);
    let id = output::run_id(&start_s);
    let dirs = output::create_run_dir(opts.out, &id)?;
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
            rounds: Some(opts.rounds.clone()),
            budget: None,
        },
        env: mpmt_core::measure::env::collect(),
        floors: Default::default(),
        records: Vec::new(),
    };
    // Proves --out is writable before anything is measured; a folder that
    // cannot hold even that is removed again.
    if let Err(e) = output::write_results(&dirs.run, &results) {
        let _ = dirs.out.remove_dir(&id);
        return Err(e.context(format!(
            "--out {}: cannot write the run's results there",
            opts.out.display()
        )));
    }
    signal::install().context("installing the SIGINT/SIGTERM/SIGHUP handler")?;

    crate::note!("mpmt: measuring floors on CPUs {cpus:?}");
    let floors_start = Instant::now();
    results.floors = match measure_floors(cpus, cases) {
        Ok(f) => f,
        Err(e) if e.is_interrupt() => return finish(dirs, results, RunStatus::Interrupted),
        Err(e) => return Err(e).context("measuring the floors"),
    };
    save(&dirs.run, &results)?;
    let ctx = CaseContext {
        clock_ns: results
            .floors
            .clock_read_ns
            .as_ref()
            .map(|f| f.value)
            .unwrap_or(30.0),
        memcpy_at: std::sync::Arc::new(results.floors.memcpy_at.clone()),
        deadline: opts.deadline,
        min_round_time: crate::schedule::MIN_ROUND_TIME,
        // MPMT_NO_KERNEL_EVENTS: no counted pass at all (each record
        // then says so).
        count_events: std::env::var_os("MPMT_NO_KERNEL_EVENTS").is_none(),
    };

    let t0 = Instant::now();
    let floors_took = t0 - floors_start;
    let policy = &opts.rounds;
    crate::note!(
        "mpmt: {} case(s), {} to {} round(s) each (until the CI is within {} % of the median), order seed {}",
        cases.len(),
        policy.min_rounds,
        policy.max_rounds,
        100.0 * policy.ci_target,
        policy.seed
    );
    let mut live = Live {
        ctx: &ctx,
        cpus,
        t0,
        counted: Default::default(),
    };
    let cases_budget = opts.budget.map(|b| b.saturating_sub(floors_took));
    let mut bar = ProgressBar(Progress::new(0), cases_budget, opts.budget, floors_took);
    let mut file = ResultsFile {
        dir: &dirs.run,
        results: &mut results,
    };
    let done = {
        let mut observers: [&mut dyn Observer; 2] = [&mut bar, &mut file];
        executor::execute(
            cases,
            cpus,
            policy,
            opts.keep_going,
            opts.budget.map(|b| b.saturating_sub(floors_took)),
            &mut live,
            &mut observers,
        )?
    };
    if done.status != RunStatus::Interrupted && done.cases_measured > 0 {
        check_floor_held(cpus, &mut results.floors);
    }
    let measured = floors_took + t0.elapsed();
    results.run.budget = Some(mpmt_core::schema::BudgetReport {
        limit_s: opts.budget.map(|b| b.as_secs_f64()),
        forecast_s: (floors_took + done.forecast).as_secs_f64(),
        measured_s: measured.as_secs_f64(),
        dropped: done.dropped.clone(),
        overrun: done.overrun.clone(),
    });
    results.records = done.records;
    results.run.outcome.cases_measured = done.cases_measured;
    results.run.outcome.failures = done.failures;
    if done.status != RunStatus::Interrupted {
        let fmt = |d: Duration| mpmt_core::schema::units::fmt_secs(d.as_secs_f64());
        let against = match opts.budget {
            Some(b) if measured <= b => format!(", within the budget {}", fmt(b)),
            Some(b) => format!(
                ", {:.2} s ({:.1} %) over the budget {}",
                (measured - b).as_secs_f64(),
                100.0 * (measured - b).as_secs_f64() / b.as_secs_f64(),
                fmt(b)
            ),
            None => String::new(),
        };
        crate::note!(
            "mpmt: {} case(s), {} round(s), measured in {}{against}",
            cases.len() - done.dropped.iter().map(|d| d.cases).sum::<usize>(),
            done.rounds_run,
            fmt(measured),
        );
        for d in &done.dropped {
            crate::note!("mpmt: {}", d.sentence());
        }
    }
    finish(dirs, results, done.status)
}

/// The machine, as the executor's runner: each round measured for real
/// under the stall deadline.
struct Live<'a> {
    ctx: &'a CaseContext,
    cpus: &'a [u32],
    t0: Instant,
    /// The cases whose kernel events a round has counted (by address):
    /// each case's first round counts them, the rest do not pay for it.
    counted: std::collections::HashSet<usize>,
}

impl executor::Runner for Live<'_> {
    fn round(&mut self, case: &dyn Case) -> executor::Round {
        let first = self
            .counted
            .insert(case as *const dyn Case as *const () as usize);
        let ctx = CaseContext {
            count_events: first && self.ctx.count_events,
            ..self.ctx.clone()
        };
        let (result, took, contention) = run_round(case, &ctx, self.cpus);
        executor::Round {
            result,
            took,
            contention,
        }
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn interrupted(&self) -> bool {
        signal::interrupted()
    }
}

/// Progress on stderr, as an observer, the cases' budget it tells, the
/// whole budget and how long the floors took of it.
struct ProgressBar(Progress, Option<Duration>, Option<Duration>, Duration);

impl Observer for ProgressBar {
    fn rounds_due(&mut self, n: usize) {
        self.0.extend(n);
    }

    fn planned(&mut self, forecast: Duration, dropped: &[DroppedPoint], overrun: Option<&str>) {
        let fmt = |d: Duration| mpmt_core::schema::units::fmt_secs(d.as_secs_f64());
        match self.1 {
            Some(b) if b.is_zero() => crate::note!(
                "mpmt: the floors took {}, the whole budget {}: none is left for the cases, whose base rounds forecast {}",
                fmt(self.3),
                fmt(self.2.unwrap_or(b)),
                fmt(forecast)
            ),
            Some(b) => crate::note!(
                "mpmt: budget {} for the cases: their base rounds forecast {}, extra rounds fill the rest",
                fmt(b),
                fmt(forecast)
            ),
            None => crate::note!(
                "mpmt: no budget: the base rounds forecast {}",
                fmt(forecast)
            ),
        }
        for d in dropped {
            crate::note!("mpmt: {}", d.sentence());
        }
        if let Some(o) = overrun {
            crate::note!("mpmt: over budget: {o}");
        }
    }

    fn dropped(&mut self, point: &DroppedPoint, rounds: usize) {
        self.0.shrink(rounds);
        crate::note!("mpmt: {}", point.sentence());
    }

    fn taken_back(&mut self, point: &DroppedPoint, rounds: usize) {
        self.0.extend(rounds);
        crate::note!(
            "mpmt: measuring {} ({} cases) after all: the rounds so far left room in the budget",
            point.point,
            point.cases
        );
    }

    fn forecast(&mut self, left: Duration) {
        self.0.left(left);
    }

    fn round_started(&mut self, case: &dyn Case, round: usize) {
        self.0.start(&format!("{} [round {round}]", case.label()));
    }

    fn round_measured(&mut self, _case: &dyn Case, records: &[Record]) {
        self.0.done(&shown(records));
    }

    fn round_failed(&mut self, case: &dyn Case, error: &str) {
        self.0.done("FAILED");
        crate::note!("mpmt: case `{}` failed: {error}", case.label());
    }

    fn round_interrupted(&mut self, _case: &dyn Case) {
        self.0.done("interrupted");
    }

    fn ended(&mut self) {
        self.0.finish();
    }
}

/// results.json, rewritten (and fsynced) when the executor says: after a
/// case's base rounds, every SAVE_EVERY otherwise, and at the end (writing
/// it after every round of a short case put the file system's own work
/// into the next round).
struct ResultsFile<'a> {
    dir: &'a OutDir,
    results: &'a mut Results,
}

impl Observer for ResultsFile<'_> {
    fn save(&mut self, now: &executor::Snapshot) -> Result<()> {
        self.results.records = now.records.clone();
        self.results.run.outcome.cases_measured = now.cases_measured;
        self.results.run.outcome.failures = now.failures.to_vec();
        save(self.dir, self.results)
    }
}

/// One round of one case: its records, how long it took, and what other
/// tasks took of the CPUs meanwhile.
fn run_round(
    task: &dyn Case,
    ctx: &CaseContext,
    cpus: &[u32],
) -> (mpmt_core::Result<Vec<Record>>, Duration, Contention) {
    let t0 = Instant::now();
    let before = CpuUse::now();
    let measured = mpmt_core::workloads::check_limits(task).and_then(|()| {
        let _armed = watchdog::Armed::new(ctx.deadline.for_setup(task.memory_bytes()))
            .map_err(|e| mpmt_core::Error::io("arming the stall deadline", e))?;
        run_guarded(task, ctx)
    });
    let after = CpuUse::now();
    let contention = match (&before, &after, &measured) {
        (Some(b), Some(a), Ok(recs)) => recs
            .first()
            .map(|r| b.contention(a, &executor::measured_cpus(r, cpus)))
            .unwrap_or_default(),
        _ => Contention::default(),
    };
    (measured, t0.elapsed(), contention)
}

use mpmt_core::measure::floors::LIMIT as FLOORS_LIMIT;

/// Measures the floors under [`FLOORS_LIMIT`], whatever `--deadline` says
/// (that bounds one wait of a case): their blocking waits end with an
/// error, not a hang, if a child they fork is stopped.
/// memcpy is measured once at every chunk size the cases stream, so
/// every record of one size reads against the same figure.
fn measure_floors(
    cpus: &[u32],
    cases: &[Box<dyn Case>],
) -> mpmt_core::Result<mpmt_core::schema::Floors> {
    let _armed = watchdog::Armed::new(FLOORS_LIMIT)
        .map_err(|e| mpmt_core::Error::io("arming the stall deadline", e))?;
    let mut f = mpmt_core::measure::floors::measure(cpus)?;
    let sizes: Vec<u64> = cases.iter().flat_map(|c| c.memcpy_sizes()).collect();
    f.memcpy_at = mpmt_core::measure::floors::memcpy_floors(&sizes, cpus.first().copied())?;
    Ok(f)
}

/// Measures the cache-line round trip again after the cases and, if it
/// moved, says so on stderr and in the floors' notes (the page shows
/// them). An interrupt or a failure here costs the run nothing but this
/// check.
fn check_floor_held(cpus: &[u32], floors: &mut mpmt_core::schema::Floors) {
    let Some(before) = &floors.cacheline_rtt_ns else {
        return;
    };
    let after = watchdog::Armed::new(FLOORS_LIMIT)
        .map_err(|e| mpmt_core::Error::io("arming the stall deadline", e))
        .and_then(|_armed| mpmt_core::measure::floors::cacheline_floor(cpus));
    let Ok(Some(after)) = after else {
        return;
    };
    if let Some(note) = mpmt_core::measure::floors::cacheline_moved(before, &after) {
        crate::note!("mpmt: warning: {note}");
        floors.notes.push(note);
    }
    floors.cacheline_rtt_after_ns = Some(after);
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
    // Two records of one metric (crash's recover, per policy) tell apart
    // by their variants.
    let twice =
        |r: &mpmt_core::schema::Record| recs.iter().filter(|o| o.metric == r.metric).count() > 1;
    recs.iter()
        .map(|r| {
            format!(
                "{} {}{}{}",
                mpmt_report::fmt_value(r.stats.median, r.unit),
                r.metric,
                match (twice(r), r.variant) {
                    (true, Some(v)) => format!(" ({v})"),
                    _ => String::new(),
                },
                if r.warnings.is_empty() {
                    String::new()
                } else {
                    let ws: Vec<String> = r.warnings.iter().map(|w| w.to_string()).collect();
                    format!("  ({})", ws.join("; "))
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Writes the results; a failure says how many records the last good
/// results.json still holds.
fn save(dir: &OutDir, results: &Results) -> Result<()> {
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
    dirs: output::RunDir,
    mut results: Results,
    status: RunStatus,
) -> Result<(i32, output::RunDir, Results)> {
    let dir = &dirs.run;
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
    save(&dirs.run, &results)?;
    let o = &results.run.outcome;
    let json = dir.join("results.json");
    match status {
        RunStatus::Interrupted => crate::note!(
            "mpmt: interrupted by {}; every worker was stopped and reaped; {} finished record(s) kept in {}",
            o.signal.as_deref().unwrap_or("a signal"),
            results.records.len(),
            json.display()
        ),
        RunStatus::Failed => crate::note!(
            "mpmt: {} of {} case(s) failed; the {} record(s) measured are in {} (run marked failed)",
            o.failures.len(),
            o.cases_planned,
            results.records.len(),
            json.display()
        ),
        _ => crate::note!("mpmt: results: {}", json.display()),
    }
    Ok((code, dirs, results))
}

pub fn list_text() -> String {
    use mpmt_core::channel::valid_for;
    let mut s = String::from("workloads (mpmt run <workload>):\n");
    for w in WorkloadKind::ALL {
        s += &format!("  {:<14} {}\n", w.name(), w.describe());
    }
    s += &crate::choices::list_text();
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
        Some(measure_floors(&env.allowed_cpus, &[])?)
    } else {
        None
    };
    if a.json {
        let v = serde_json::json!({ "env": env, "floors": floors });
        crate::say!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    for (k, v) in env.rows() {
        crate::say!("{k:<24} {v}");
    }
    if let Some(f) = floors {
        let show = |name: &str, fl: &Option<mpmt_core::schema::Floor>| {
            if let Some(fl) = fl {
                crate::say!(
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
            crate::say!("{:<24} {n}", "note");
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
