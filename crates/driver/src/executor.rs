//! The executor: runs a plan's cases in rounds and decides nothing about
//! where anything goes. Every case gets the policy's base rounds, a
//! workload at a time, each pass shuffled by the recorded seed; then
//! extra rounds for the cases whose CI is still wide, the cases whose
//! answer they could change most first ([`budget::priority`]), verdict
//! cases before points of a curve. With a time budget, the [`Planner`]
//! drops sweep points the base rounds have no time for and extra rounds
//! fill what is left; without one, extra rounds take at most
//! [`schedule::EXTRA_TIME_SHARE`] of the base rounds' time. A workload
//! whose figure reads the parent's size (creation) has its extra rounds
//! right after its base rounds. A failed case is marked and the run stops
//! (or, with `--keep-going`, goes on); an interrupt ends it with what has
//! finished.
//!
//! It reports through [`Observer`]s (the progress bar, the results file;
//! criterion's `Report` idea) and measures through a [`Runner`] (the
//! machine, or a test's fake with exact, made-up timings: hyperfine's
//! `MockExecutor` idea), so its policy is tested without measuring.

use crate::budget::{self, Planner};
use crate::schedule::{self, Rng};
use anyhow::Result;
use mpmt_core::measure::rounds;
use mpmt_core::schema::{
    DroppedPoint, Failure, Record, RoundPolicy, RunStatus, Warning, WarningKind,
};
use mpmt_core::sys::cpuuse::Contention;
use mpmt_core::workloads::Case;
use mpmt_core::WorkloadKind;
use std::time::Duration;

/// One round of one case, as the runner measured it.
pub struct Round {
    pub result: mpmt_core::Result<Vec<Record>>,
    /// How long the round took.
    pub took: Duration,
    /// What other tasks took of the case's CPUs meanwhile.
    pub contention: Contention,
}

/// What runs a round and keeps the time.
pub trait Runner {
    fn round(&mut self, case: &dyn Case) -> Round;
    /// Time since the run began.
    fn now(&self) -> Duration;
    /// Whether the run was interrupted (a signal, a closed output).
    fn interrupted(&self) -> bool;
}

/// What the run has so far, for an observer that keeps it.
pub struct Snapshot<'a> {
    /// Every case's records over its rounds so far, in plan order.
    pub records: Vec<Record>,
    pub cases_measured: usize,
    pub failures: &'a [Failure],
}

/// Told what happens, as it happens. Every method but [`Observer::save`]
/// only reports; `save` keeps the results, and its error ends the run.
pub trait Observer {
    /// `n` more rounds are due (the base rounds, then each extra round
    /// as it starts).
    fn rounds_due(&mut self, _n: usize) {}
    fn round_started(&mut self, _case: &dyn Case, _round: usize) {}
    fn round_measured(&mut self, _case: &dyn Case, _records: &[Record]) {}
    fn round_failed(&mut self, _case: &dyn Case, _error: &str) {}
    fn round_interrupted(&mut self, _case: &dyn Case) {}
    /// The results so far: after a case has its base rounds (unless the
    /// last save was too recent: saving may take 1/[`schedule::SAVE_SHARE`]
    /// of the run at most), at least every [`schedule::SAVE_EVERY`] while
    /// rounds run, and after a failure the run goes on from (the last
    /// results, in [`Executed`], are the caller's to write).
    fn save(&mut self, _now: &Snapshot) -> Result<()> {
        Ok(())
    }
    /// The plan to the budget, before the first case: the forecast of
    /// the base rounds, what was dropped, why it must overrun.
    fn planned(&mut self, _forecast: Duration, _dropped: &[DroppedPoint], _overrun: Option<&str>) {}
    /// A sweep point dropped while the run went on (its `rounds` will
    /// not run).
    fn dropped(&mut self, _point: &DroppedPoint, _rounds: usize) {}
    /// A dropped sweep point taken back (its `rounds` will run after
    /// all: the budget had room).
    fn taken_back(&mut self, _point: &DroppedPoint, _rounds: usize) {}
    /// The forecast of the time left, after every round.
    fn forecast(&mut self, _left: Duration) {}
    /// The run is over (however it ended); nothing more is reported.
    fn ended(&mut self) {}
}

/// How a run ended and what it measured.
pub struct Executed {
    pub status: RunStatus,
    pub records: Vec<Record>,
    pub cases_measured: usize,
    pub failures: Vec<Failure>,
    /// Rounds run, over every case.
    pub rounds_run: usize,
    /// The base rounds' forecast before the first case.
    pub forecast: Duration,
    /// Sweep points the budget left out, in order.
    pub dropped: Vec<DroppedPoint>,
    pub overrun: Option<String>,
}

/// What a case has measured so far.
#[derive(Default)]
struct CaseRounds {
    /// Each round's records, in round order.
    rounds: Vec<Vec<Record>>,
    /// Other tasks' time on the measured CPUs, over all rounds.
    contention: Contention,
    /// Time spent on it, and on its base rounds.
    spent: Duration,
    base: Duration,
    failed: bool,
    /// [`CaseRounds::merge`] of the rounds so far.
    merged: Vec<Record>,
}

impl CaseRounds {
    /// Its records over the rounds so far (none if it failed).
    fn merged(&self) -> Vec<Record> {
        if self.failed {
            Vec::new()
        } else {
            self.merged.clone()
        }
    }

    /// Adds a round's records and merges them with the rounds before
    /// (once per round: a save or a priority reads the merge many times).
    fn push(
        &mut self,
        recs: Vec<Record>,
        took: Duration,
        contention: Contention,
        min_rounds: u32,
        run_cpus: &[u32],
    ) {
        self.rounds.push(recs);
        self.spent += took;
        if self.rounds.len() <= min_rounds as usize {
            self.base += took;
        }
        self.contention.add(contention);
        self.merged = self.merge(run_cpus);
    }

    fn merge(&self, run_cpus: &[u32]) -> Vec<Record> {
        let Some(first) = self.rounds.first().filter(|_| !self.failed) else {
            return Vec::new();
        };
        (0..first.len())
            .map(|j| {
                let of_j: Vec<Record> = self
                    .rounds
                    .iter()
                    .filter_map(|r| r.get(j))
                    .filter(|r| r.key() == first[j].key())
                    .cloned()
                    .collect();
                let mut rec = rounds::merge(&of_j);
                let cpus = measured_cpus(&rec, run_cpus);
                rec.checks.other_cpu_share = Some(self.contention.share());
                rec.warnings
                    .extend(rounds::contended_warning(&self.contention, &cpus));
                rec
            })
            .collect()
    }

    /// The widest relative CI among its records.
    fn widest(&self) -> f64 {
        self.merged
            .iter()
            .map(rounds::relative_width)
            .fold(0.0, f64::max)
    }
}

/// The CPUs a record's members ran on: its pinned CPUs, or all of the
/// run's when any member was unpinned.
pub fn measured_cpus(r: &Record, run_cpus: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = match r.cpus.iter().copied().collect::<Option<Vec<u32>>>() {
        Some(v) if !v.is_empty() => v,
        _ => run_cpus.to_vec(),
    };
    v.sort();
    v.dedup();
    v
}

/// Every case's records over its rounds so far, in plan order, with the
/// values derived across records (speedups). A record with fewer rounds
/// than every case gets (the run ended early: interrupted, or a failure
/// without --keep-going) says so.
fn merged(state: &[CaseRounds], min_rounds: u32) -> Vec<Record> {
    let mut v: Vec<Record> = state.iter().flat_map(|s| s.merged()).collect();
    for r in &mut v {
        if r.rounds < min_rounds {
            r.warnings.push(Warning::new(
                WarningKind::Short,
                format!(
                    "{} of the {min_rounds} rounds every case gets (the run ended before this case had them all); its CI is not comparable",
                    r.rounds
                ),
            ));
        }
    }
    mpmt_report::derive::annotate(&mut v);
    v
}

/// The run in progress.
struct Run<'a> {
    cases: &'a [Box<dyn Case>],
    cpus: &'a [u32],
    policy: &'a RoundPolicy,
    keep_going: bool,
    state: Vec<CaseRounds>,
    failures: Vec<Failure>,
    cases_measured: usize,
    observers: &'a mut [&'a mut dyn Observer],
    last_save: Duration,
    /// How long the last save took.
    save_took: Duration,
    planner: Planner,
    /// When the last round ended.
    last_end: Duration,
}

/// Why a run stopped before its plan's end.
enum Stop {
    Interrupted,
    Failed,
}

impl Run<'_> {
    fn tell(&mut self, f: impl Fn(&mut dyn Observer)) {
        for o in self.observers.iter_mut() {
            f(&mut **o);
        }
    }

    fn records(&self) -> Vec<Record> {
        merged(&self.state, self.policy.min_rounds)
    }

    fn save(&mut self, runner: &dyn Runner) -> Result<()> {
        let start = runner.now();
        let snap = Snapshot {
            records: self.records(),
            cases_measured: self.cases_measured,
            failures: &self.failures,
        };
        for o in self.observers.iter_mut() {
            o.save(&snap)?;
        }
        self.last_save = runner.now();
        self.save_took = self.last_save - start;
        Ok(())
    }

    fn end(mut self, status: RunStatus) -> Executed {
        self.tell(|o| o.ended());
        Executed {
            status,
            records: self.records(),
            cases_measured: self.cases_measured,
            rounds_run: self.state.iter().map(|s| s.rounds.len()).sum(),
            failures: self.failures,
            forecast: self.planner.forecast_at_start,
            dropped: self.planner.drops,
            overrun: self.planner.overrun,
        }
    }

    fn skipped(&self, i: usize) -> bool {
        self.state[i].failed || self.planner.dropped[i]
    }

    /// One round of case `i`: measured, kept, saved when due; then the
    /// plan looked at again.
    fn round(&mut self, i: usize, runner: &mut dyn Runner) -> Result<Option<Stop>> {
        let case = self.cases[i].as_ref();
        if runner.interrupted() {
            return Ok(Some(Stop::Interrupted));
        }
        let n = self.state[i].rounds.len() + 1;
        self.tell(|o| o.round_started(case, n));
        let start = runner.now();
        let between = start.saturating_sub(self.last_end);
        let round = runner.round(case);
        match round.result {
            Ok(recs) => {
                self.tell(|o| o.round_measured(case, &recs));
                let min = self.policy.min_rounds;
                let st = &mut self.state[i];
                st.push(recs, round.took, round.contention, min, self.cpus);
                let completed = st.rounds.len() == min as usize;
                if completed {
                    self.cases_measured += 1;
                }
                self.planner.observe(i, round.took, between);
                let now = runner.now();
                self.last_end = now;
                let since = now - self.last_save;
                if since >= schedule::SAVE_EVERY
                    || (completed && since >= self.save_took * schedule::SAVE_SHARE)
                {
                    self.save(runner)?;
                }
                self.refit(now);
                let left = self.planner.eta(now);
                self.tell(|o| o.forecast(left));
                Ok(None)
            }
            Err(e) if e.is_interrupt() || runner.interrupted() => {
                self.tell(|o| o.round_interrupted(case));
                Ok(Some(Stop::Interrupted))
            }
            Err(e) => {
                let error = e.to_string();
                self.tell(|o| o.round_failed(case, &error));
                self.state[i].failed = true;
                self.planner.failed[i] = true;
                self.failures.push(Failure {
                    case: case.label(),
                    error,
                });
                if !self.keep_going {
                    return Ok(Some(Stop::Failed));
                }
                self.last_end = runner.now();
                self.save(runner)?;
                Ok(None)
            }
        }
    }

    /// Drops what the base rounds left no longer have time for.
    fn refit(&mut self, now: Duration) {
        let Some(limit) = self.planner.limit() else {
            return;
        };
        let over = (now + self.planner.base_left()).saturating_sub(limit);
        if over.is_zero() {
            return;
        }
        let before = self.planner.drops.len();
        let dropped = self.planner.fit(
            now,
            &format!(
                "the rounds ran slower than forecast here (the base rounds left would end {} past the budget)",
                mpmt_core::schema::units::fmt_secs(over.as_secs_f64())
            ),
        );
        if dropped.is_empty() {
            return;
        }
        let min = self.policy.min_rounds as usize;
        let points: Vec<DroppedPoint> = self.planner.drops[before..].to_vec();
        for p in &points {
            self.tell(|o| o.dropped(p, p.cases * min));
        }
    }

    /// Extra rounds, passes of the cases in `pool` still too wide, most
    /// telling first, each round only if it fits before `until`.
    fn extras(
        &mut self,
        pool: &[usize],
        until: Duration,
        runner: &mut dyn Runner,
    ) -> Result<Option<Stop>> {
        loop {
            let now = runner.now();
            if now >= until {
                return Ok(None);
            }
            let mut more: Vec<usize> = pool
                .iter()
                .copied()
                .filter(|&i| {
                    let st = &self.state[i];
                    !self.skipped(i)
                        && !st.rounds.is_empty()
                        && schedule::wants_more(
                            self.policy,
                            st.rounds.len() as u32,
                            st.widest(),
                            st.spent,
                            st.base,
                        )
                })
                .collect();
            if more.is_empty() {
                return Ok(None);
            }
            let medians: std::collections::HashMap<String, f64> = self
                .state
                .iter()
                .flat_map(|s| s.merged.iter().map(|r| (r.key(), r.stats.median)))
                .collect();
            let score: Vec<f64> = (0..self.state.len())
                .map(|i| {
                    if more.contains(&i) {
                        budget::priority(&self.state[i].merged, &medians)
                    } else {
                        0.0
                    }
                })
                .collect();
            more.sort_by(|&a, &b| {
                let curve = |i: usize| self.planner.is_curve(i);
                curve(a)
                    .cmp(&curve(b))
                    .then(score[b].total_cmp(&score[a]))
                    .then(a.cmp(&b))
            });
            let mut ran = 0;
            for i in more {
                let now = runner.now();
                if !self.planner.fits(now, until, i) {
                    continue;
                }
                ran += 1;
                // Due once it fits: the count never promises a round the
                // budget has no time for.
                self.tell(|o| o.rounds_due(1));
                if let Some(stop) = self.round(i, runner)? {
                    return Ok(Some(stop));
                }
            }
            if ran == 0 {
                return Ok(None);
            }
        }
    }
}

/// Runs `cases` in rounds under `policy` within `budget` (the time the
/// cases may take, from now; `None`: no budget), as the module doc says.
pub fn execute<'a>(
    cases: &'a [Box<dyn Case>],
    cpus: &'a [u32],
    policy: &'a RoundPolicy,
    keep_going: bool,
    budget: Option<Duration>,
    runner: &mut dyn Runner,
    observers: &'a mut [&'a mut dyn Observer],
) -> Result<Executed> {
    let kinds: Vec<WorkloadKind> = cases.iter().map(|c| c.workload()).collect();
    let groups = schedule::groups(&kinds);
    let mut group_of = vec![0; cases.len()];
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of[i] = g;
        }
    }
    let start = runner.now();
    let limit = budget.map(|b| start + b);
    let mut planner = Planner::new(cases, &group_of, policy.min_rounds, limit);
    planner.start(start);
    let mut run = Run {
        cases,
        cpus,
        policy,
        keep_going,
        state: cases.iter().map(|_| CaseRounds::default()).collect(),
        failures: Vec::new(),
        cases_measured: 0,
        observers,
        last_save: start,
        save_took: Duration::ZERO,
        last_end: start,
        planner,
    };
    let forecast = run.planner.forecast_at_start;
    let drops = run.planner.drops.clone();
    let overrun = run.planner.overrun.clone();
    run.tell(|o| o.planned(forecast, &drops, overrun.as_deref()));
    let live = (0..cases.len()).filter(|&i| !run.skipped(i)).count();
    run.tell(|o| o.rounds_due(live * policy.min_rounds as usize));
    let mut rng = Rng::new(policy.seed);
    let mut later: Vec<usize> = Vec::new();
    let mut later_base = Duration::ZERO;
    for (g, group) in groups.iter().enumerate() {
        let group_start = runner.now();
        let mut passes: Vec<Vec<usize>> = Vec::new();
        for _ in 0..policy.min_rounds {
            let mut order = group.clone();
            // One round has nothing to interleave: plan order, as asked.
            if policy.min_rounds > 1 {
                rng.shuffle(&mut order);
            }
            passes.push(order);
        }
        // The last shuffled first, as runs recorded before budgets did.
        for order in passes.into_iter().rev() {
            for i in order {
                if run.skipped(i) {
                    continue;
                }
                if let Some(stop) = run.round(i, runner)? {
                    return Ok(stop_with(run, stop));
                }
            }
        }
        let now = runner.now();
        let base = now - group_start;
        if group.iter().any(|&i| cases[i].reads_the_parent()) {
            // Its extra rounds now, while the parent is as it was: its
            // share of the slack (or of the base rounds' time), beside the
            // groups still to run and those whose extras wait for the end
            // (a late group that counted only the groups after it took
            // the whole slack: cow got 4 extra rounds a case, the rest
            // none).
            let until = match run.planner.limit() {
                Some(l) => {
                    let rest = run.planner.base_left_after(g);
                    let slack = l.saturating_sub(now + rest).as_secs_f64();
                    let share =
                        base.as_secs_f64() / (base + rest + later_base).as_secs_f64().max(1e-9);
                    now + Duration::from_secs_f64(slack * share)
                }
                None => now + base.mul_f64(schedule::EXTRA_TIME_SHARE),
            };
            if let Some(stop) = run.extras(group, until, runner)? {
                return Ok(stop_with(run, stop));
            }
        } else {
            later.extend(group.iter().copied());
            later_base += base;
        }
    }
    // Points dropped on a forecast the rounds have since bettered: their
    // base rounds now, before any extra round.
    let back = run.planner.take_back(runner.now());
    if !back.is_empty() {
        let min = policy.min_rounds as usize;
        for (p, members) in &back {
            run.tell(|o| o.taken_back(p, members.len() * min));
        }
        let members: Vec<usize> = back.into_iter().flat_map(|(_, m)| m).collect();
        for _ in 0..policy.min_rounds {
            let mut order = members.clone();
            if policy.min_rounds > 1 {
                rng.shuffle(&mut order);
            }
            for i in order {
                if run.skipped(i) {
                    continue;
                }
                if let Some(stop) = run.round(i, runner)? {
                    return Ok(stop_with(run, stop));
                }
            }
        }
        later.extend(members);
    }
    let until = match run.planner.limit() {
        Some(l) => l,
        None => runner.now() + later_base.mul_f64(schedule::EXTRA_TIME_SHARE),
    };
    if let Some(stop) = run.extras(&later, until, runner)? {
        return Ok(stop_with(run, stop));
    }
    let status = if run.failures.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Failed
    };
    Ok(run.end(status))
}

fn stop_with(run: Run, stop: Stop) -> Executed {
    run.end(match stop {
        Stop::Interrupted => RunStatus::Interrupted,
        Stop::Failed => RunStatus::Failed,
    })
}

#[cfg(test)]
mod tests {
    //! The executor against fake cases: each round's result and duration
    //! is made up, the clock advances only by those durations, so every
    //! assertion is exact.

    use super::*;
    use mpmt_core::measure::record::{build, Measured};
    use mpmt_core::schema::{Backend, Checks, Metric, Placement, Unit};
    use mpmt_core::workloads::{Context, Role, SweepPoint};
    use std::cell::Cell;

    /// A case whose round `n` (from 1) takes `took[n-1]` ms and measures
    /// `value[n-1]` ns (the last entry repeats), or fails at `fail_at`.
    #[derive(Debug)]
    struct Fake {
        name: &'static str,
        workload: WorkloadKind,
        took_ms: Vec<u64>,
        value: Vec<f64>,
        fail_at: Option<usize>,
        /// Rounds run so far (the fake keeps count, as a case never does).
        runs: std::sync::atomic::AtomicUsize,
        /// The sweep point it draws (None: a verdict case).
        point: Option<SweepPoint>,
        /// Its first guess at a round, ms.
        seed_ms: u64,
        reads_parent: bool,
    }

    fn fake(name: &'static str, workload: WorkloadKind) -> Fake {
        Fake {
            name,
            workload,
            took_ms: vec![10],
            value: vec![100.0],
            fail_at: None,
            runs: Default::default(),
            point: None,
            seed_ms: 10,
            reads_parent: false,
        }
    }

    /// A fake that only draws sweep point `name` of rank `rank`.
    fn curve(name: &'static str, w: WorkloadKind, point: &str, rank: u64) -> Fake {
        Fake {
            point: Some(SweepPoint {
                name: point.into(),
                rank: (SweepPoint::SIZES, rank, 0),
            }),
            ..fake(name, w)
        }
    }

    fn nth<T: Copy>(v: &[T], n: usize) -> T {
        v[(n - 1).min(v.len() - 1)]
    }

    impl Case for Fake {
        fn workload(&self) -> WorkloadKind {
            self.workload
        }
        fn backend(&self) -> Backend {
            Backend::Thread
        }
        fn label(&self) -> String {
            self.name.into()
        }
        fn memory_bytes(&self) -> u64 {
            0
        }
        fn workers(&self) -> usize {
            1
        }
        fn role(&self) -> Role {
            match &self.point {
                Some(p) => Role::Curve(p.clone()),
                None => Role::Verdict,
            }
        }
        fn expected_round(&self) -> Duration {
            Duration::from_millis(self.seed_ms)
        }
        fn reads_the_parent(&self) -> bool {
            self.reads_parent
        }
        fn run(&self, _ctx: &Context) -> mpmt_core::Result<Vec<Record>> {
            let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if self.fail_at == Some(n) {
                return Err(mpmt_core::Error::Setup(format!("{} broke", self.name)));
            }
            let v = nth(&self.value, n);
            Ok(vec![build(Measured {
                workload: self.workload,
                backend: Backend::Thread,
                channel: None,
                variant: None,
                placement: Placement::SameCpu,
                cpus: vec![Some(0)],
                workers: 1,
                // Tells the fakes' records apart (the case key).
                size_bytes: self.name.len() as u64 * 1000 + self.name.as_bytes()[0] as u64,
                working_set_bytes: 0,
                metric: Metric::Rtt,
                unit: Unit::Ns,
                ops_per_sample: 1,
                values: vec![v; 5],
                setup_ns: 0,
                checks: Checks {
                    payload_verified: Some(true),
                    messages_verified: Some(5),
                    ..Default::default()
                },
                switches: None,
            })])
        }
    }

    /// The fake machine: time is the sum of the rounds' made-up durations.
    struct Clock {
        now: Duration,
        interrupt_after: Option<usize>,
        rounds: usize,
    }

    impl Runner for Clock {
        fn round(&mut self, case: &dyn Case) -> Round {
            self.rounds += 1;
            let result = case.run(&Context::default());
            // The round's duration is the fake's own script.
            let took = Duration::from_millis(TOOK.with(|t| t.get()));
            self.now += took;
            Round {
                result,
                took,
                contention: Contention::default(),
            }
        }
        fn now(&self) -> Duration {
            self.now
        }
        fn interrupted(&self) -> bool {
            self.interrupt_after.is_some_and(|n| self.rounds >= n)
        }
    }

    thread_local! {
        /// The duration the next round reports (set by the observer that
        /// sees it start, from the fake's script).
        static TOOK: Cell<u64> = const { Cell::new(10) };
    }

    /// Records what it is told, and sets each round's duration.
    #[derive(Default)]
    struct Log {
        started: Vec<String>,
        failed: Vec<String>,
        saves: Vec<usize>,
        due: usize,
        ended: usize,
        /// What `planned` said, before any round started.
        planned: Option<(Duration, Vec<String>, Option<String>, usize)>,
        dropped_later: Vec<(String, usize)>,
        taken_back: Vec<(String, usize)>,
        forecasts: Vec<Duration>,
    }

    impl Observer for Log {
        fn rounds_due(&mut self, n: usize) {
            self.due += n;
        }
        fn planned(&mut self, f: Duration, d: &[DroppedPoint], o: Option<&str>) {
            let d = d.iter().map(|d| d.sentence()).collect();
            self.planned = Some((f, d, o.map(String::from), self.started.len()));
        }
        fn dropped(&mut self, p: &DroppedPoint, rounds: usize) {
            self.due -= rounds;
            self.dropped_later.push((p.sentence(), rounds));
        }
        fn forecast(&mut self, left: Duration) {
            self.forecasts.push(left);
        }
        fn taken_back(&mut self, p: &DroppedPoint, rounds: usize) {
            self.due += rounds;
            self.taken_back.push((p.point.clone(), rounds));
        }
        fn round_started(&mut self, case: &dyn Case, round: usize) {
            self.started.push(format!("{}#{round}", case.label()));
        }
        fn round_failed(&mut self, case: &dyn Case, error: &str) {
            self.failed.push(format!("{}: {error}", case.label()));
        }
        fn save(&mut self, now: &Snapshot) -> Result<()> {
            self.saves.push(now.cases_measured);
            Ok(())
        }
        fn ended(&mut self) {
            self.ended += 1;
        }
    }

    /// Sets each round's duration from the fake's script as it starts.
    struct Script<'a>(&'a [Box<dyn Case>], &'a [Vec<u64>]);

    impl Observer for Script<'_> {
        fn round_started(&mut self, case: &dyn Case, round: usize) {
            let i = self
                .0
                .iter()
                .position(|c| c.label() == case.label())
                .unwrap();
            TOOK.with(|t| t.set(nth(&self.1[i], round)));
        }
    }

    fn policy(min: u32, max: u32, seed: u64) -> RoundPolicy {
        RoundPolicy {
            min_rounds: min,
            max_rounds: max,
            ci_target: 0.05,
            seed,
        }
    }

    fn go(
        fakes: Vec<Fake>,
        p: &RoundPolicy,
        keep_going: bool,
        interrupt_after: Option<usize>,
    ) -> (Executed, Log) {
        go_within(fakes, p, keep_going, interrupt_after, None).0
    }

    /// As [`go`], within `budget` ms; also returns the clock at the end.
    fn go_within(
        fakes: Vec<Fake>,
        p: &RoundPolicy,
        keep_going: bool,
        interrupt_after: Option<usize>,
        budget: Option<u64>,
    ) -> ((Executed, Log), Duration) {
        let took: Vec<Vec<u64>> = fakes.iter().map(|f| f.took_ms.clone()).collect();
        let cases: Vec<Box<dyn Case>> = fakes.into_iter().map(|f| Box::new(f) as _).collect();
        let mut clock = Clock {
            now: Duration::ZERO,
            interrupt_after,
            rounds: 0,
        };
        let mut log = Log::default();
        let mut script = Script(&cases, &took);
        let done = {
            let mut obs: [&mut dyn Observer; 2] = [&mut script, &mut log];
            let budget = budget.map(Duration::from_millis);
            execute(&cases, &[0], p, keep_going, budget, &mut clock, &mut obs).unwrap()
        };
        ((done, log), clock.now)
    }

    fn three() -> Vec<Fake> {
        vec![
            fake("a", WorkloadKind::Latency),
            fake("b", WorkloadKind::Latency),
            fake("c", WorkloadKind::Latency),
        ]
    }

    #[test]
    fn each_pass_is_the_seeds_shuffle_of_its_workload() {
        let (done, log) = go(three(), &policy(2, 2, 42), false, None);
        assert_eq!(done.status, RunStatus::Complete);
        // The order seed 42 gives: two passes, each a permutation.
        let order = log.started.join(" ");
        let mut expected = Vec::new();
        let mut rng = Rng::new(42);
        let mut passes = Vec::new();
        for _ in 0..2 {
            let mut o = vec![0usize, 1, 2];
            rng.shuffle(&mut o);
            passes.push(o);
        }
        let mut seen = [0usize; 3];
        for o in passes.iter().rev() {
            for &i in o {
                seen[i] += 1;
                expected.push(format!("{}#{}", ["a", "b", "c"][i], seen[i]));
            }
        }
        assert_eq!(order, expected.join(" "));
        assert_eq!(order, "b#1 c#1 a#1 a#2 c#2 b#2");
        assert_eq!(
            go(three(), &policy(2, 2, 42), false, None).1.started,
            log.started
        );
        let other = go(three(), &policy(2, 2, 7), false, None).1.started;
        assert_ne!(other, log.started, "another seed, another order");
        // One round: plan order.
        let one = go(three(), &policy(1, 1, 42), false, None).1.started;
        assert_eq!(one, ["a#1", "b#1", "c#1"]);
        assert_eq!(done.rounds_run, 6);
        assert_eq!(log.due, 6);
    }

    #[test]
    fn workloads_run_one_after_another() {
        let mut v = three();
        v[1].workload = WorkloadKind::Bandwidth;
        let (_, log) = go(v, &policy(2, 2, 3), false, None);
        // a, then b (another workload), then c: each group's rounds together.
        let at = |s: &str| log.started.iter().position(|x| x.starts_with(s)).unwrap();
        let last = |s: &str| log.started.iter().rposition(|x| x.starts_with(s)).unwrap();
        assert!(
            last("a") < at("b") && last("b") < at("c"),
            "{:?}",
            log.started
        );
    }

    #[test]
    fn a_wide_case_gets_extra_rounds_until_narrow_a_steady_one_none() {
        let mut v = three();
        // `a` alternates far apart: its CI never narrows.
        v[0].value = vec![100.0, 200.0, 100.0, 200.0, 100.0, 200.0, 100.0, 200.0];
        // Long rounds for the others, so the time cap is not what stops `a`.
        v[1].took_ms = vec![1000];
        v[2].took_ms = vec![1000];
        let (done, log) = go(v, &policy(3, 5, 1), false, None);
        let count = |s: &str| log.started.iter().filter(|x| x.starts_with(s)).count();
        assert_eq!((count("a"), count("b"), count("c")), (5, 3, 3));
        let a = &done.records[0];
        assert_eq!(a.rounds, 5);
        assert_eq!(done.records[1].rounds, 3);
        assert_eq!(log.due, 9 + 2, "two extra passes of one round each");
    }

    #[test]
    fn extra_rounds_stop_at_the_time_cap() {
        let mut v = three();
        v[0].value = vec![100.0, 200.0];
        v[1].took_ms = vec![1];
        v[2].took_ms = vec![1];
        // The base rounds take 3 × 10 + 6 × 1 = 36 ms, so extra rounds
        // must end by 36 + 0.3 × 36 = 46.8 ms: a's round 4 (36 to 46 ms)
        // fits, a fifth (to 56 ms) does not. (a's own cap, 2 × its 30 ms
        // of base rounds, would allow two more.)
        let (_, log) = go(v, &policy(3, 50, 1), false, None);
        let a = log.started.iter().filter(|x| x.starts_with("a")).count();
        assert_eq!(a, 4, "{:?}", log.started);
        assert_eq!(log.due, 9 + 1, "the round that did not fit is not due");
    }

    #[test]
    fn a_failed_case_stops_the_run_unless_keep_going() {
        let mut v = three();
        v[1].fail_at = Some(2);
        let (done, log) = go(v, &policy(2, 2, 42), false, None);
        assert_eq!(done.status, RunStatus::Failed);
        assert_eq!(log.failed, ["b: b broke"]);
        assert_eq!(done.failures.len(), 1);
        assert_eq!(done.failures[0].case, "b");
        // Order b#1 c#1 a#1 a#2 c#2 b#2: b fails last; a and c completed.
        assert_eq!(done.cases_measured, 2);
        assert_eq!(log.ended, 1);

        let mut v = three();
        v[1].fail_at = Some(1);
        let (stopped, log) = go(v, &policy(2, 2, 42), false, None);
        assert_eq!(log.started, ["b#1"], "nothing runs after the failure");
        assert!(stopped.records.is_empty());

        let mut v = three();
        v[0].fail_at = Some(1);
        let (went_on, log) = go(v, &policy(2, 2, 42), true, None);
        assert_eq!(went_on.status, RunStatus::Failed);
        assert_eq!(log.started, ["b#1", "c#1", "a#1", "c#2", "b#2"]);
        assert_eq!(went_on.cases_measured, 2);
        // The failed case has no record; the others have all their rounds.
        assert_eq!(went_on.records.len(), 2);
        assert!(went_on.records.iter().all(|r| r.rounds == 2));
        // Saved after the failure, then as each case completed.
        assert_eq!(log.saves, [0, 1, 2]);
    }

    #[test]
    fn results_are_saved_as_each_case_completes() {
        let (_, log) = go(three(), &policy(2, 2, 42), false, None);
        // b#1 c#1 a#1 a#2 c#2 b#2: a, c, b complete in turn (a save takes
        // no time here, so none is too soon).
        assert_eq!(log.saves, [1, 2, 3]);
        // Long rounds: a save every SAVE_EVERY as well.
        let mut v = three();
        for f in &mut v {
            f.took_ms = vec![schedule::SAVE_EVERY.as_millis() as u64];
        }
        let (_, log) = go(v, &policy(2, 2, 42), false, None);
        assert_eq!(log.saves, [0, 0, 0, 1, 2, 3]);
    }

    #[test]
    fn an_interrupt_keeps_what_finished_marked_short() {
        let (done, log) = go(three(), &policy(2, 2, 42), false, Some(4));
        assert_eq!(done.status, RunStatus::Interrupted);
        assert_eq!(log.started.len(), 4);
        // b#1 c#1 a#1 a#2: a had both rounds, b and c one each: short.
        let short: Vec<bool> = done
            .records
            .iter()
            .map(|r| r.warnings.iter().any(|w| w.kind == WarningKind::Short))
            .collect();
        assert_eq!(done.records.len(), 3);
        assert_eq!(short.iter().filter(|s| **s).count(), 2);
        assert_eq!(log.ended, 1);
    }

    /// Three cases of `w`: `a`, `b`, `c`, 10 ms rounds, guessed right.
    fn wide(name: &'static str, w: WorkloadKind) -> Fake {
        Fake {
            value: vec![100.0, 200.0],
            ..fake(name, w)
        }
    }

    #[test]
    fn a_budget_that_fits_drops_nothing_and_extra_rounds_end_inside_it() {
        let v = vec![
            wide("a", WorkloadKind::Latency),
            fake("b", WorkloadKind::Latency),
            fake("c", WorkloadKind::Latency),
        ];
        // Base rounds 9 × 10 = 90 ms; the budget leaves room for one extra
        // round of a, which ends at 100 ms exactly; a second would not fit.
        let ((done, log), end) = go_within(v, &policy(3, 50, 1), false, None, Some(100));
        assert_eq!(done.status, RunStatus::Complete);
        assert!(done.dropped.is_empty() && done.overrun.is_none());
        let (forecast, dropped, overrun, before) = log.planned.clone().unwrap();
        assert_eq!(forecast, Duration::from_millis(90));
        assert!(dropped.is_empty() && overrun.is_none());
        assert_eq!(before, 0, "planned before any round");
        let count = |s: &str| log.started.iter().filter(|x| x.starts_with(s)).count();
        assert_eq!((count("a"), count("b"), count("c")), (4, 3, 3));
        assert_eq!(end, Duration::from_millis(100));
        assert_eq!(log.due, 10);
        // The forecast counts down to the budget.
        assert_eq!(log.forecasts.first(), Some(&Duration::from_millis(90)));
        assert_eq!(log.forecasts.last(), Some(&Duration::ZERO));
    }

    #[test]
    fn a_budget_too_small_for_every_case_drops_the_highest_points_first() {
        let v = vec![
            fake("v", WorkloadKind::Latency),
            curve("p1", WorkloadKind::Latency, "latency 1M", 1 << 20),
            curve("q1", WorkloadKind::Latency, "latency 8B", 8),
            curve("p2", WorkloadKind::Bandwidth, "latency 1M", 1 << 20),
        ];
        // 4 × 3 × 10 = 120 ms of base rounds for 100 ms: the 1M point
        // (both its cases) goes, and the rest, 60 ms, fits.
        let ((done, log), end) = go_within(v, &policy(3, 3, 1), false, None, Some(100));
        assert_eq!(done.status, RunStatus::Complete);
        let (forecast, dropped, overrun, before) = log.planned.clone().unwrap();
        assert_eq!(before, 0);
        assert_eq!(
            dropped,
            ["dropped latency 1M (2 cases): not enough budget on this machine (every case's 3 rounds forecast 0.1 s, the budget 0.1 s)"]
        );
        assert_eq!(done.dropped.len(), 1);
        assert_eq!(done.dropped[0].cases, 2);
        assert_eq!(overrun, None);
        assert_eq!(forecast, Duration::from_millis(60));
        assert!(
            log.started.iter().all(|s| !s.starts_with('p')),
            "{:?}",
            log.started
        );
        assert_eq!(log.started.len(), 6);
        assert_eq!(log.due, 6);
        let labels: Vec<u64> = done.records.iter().map(|r| r.size_bytes).collect();
        assert_eq!(labels.len(), 2, "v and q1 only");
        assert_eq!(end, Duration::from_millis(60));
        // Without a budget nothing is dropped.
        let v = vec![
            fake("v", WorkloadKind::Latency),
            curve("p1", WorkloadKind::Latency, "latency 1M", 1 << 20),
        ];
        let ((done, _), _) = go_within(v, &policy(3, 3, 1), false, None, None);
        assert!(done.dropped.is_empty());
        assert_eq!(done.records.len(), 2);
    }

    #[test]
    fn a_budget_spent_before_the_cases_names_no_case_alone() {
        // The floors took the whole budget (a loaded machine, a 1 s
        // budget): every case is then "longer than what is left", so the
        // sentence gives the sum the verdicts need, and no one case.
        let mut big = fake("big", WorkloadKind::Latency);
        big.took_ms = vec![500];
        big.seed_ms = 500;
        let v = vec![big, fake("v", WorkloadKind::Latency)];
        let ((done, log), _) = go_within(v, &policy(3, 3, 1), false, None, Some(0));
        let (_, dropped, overrun, _) = log.planned.clone().unwrap();
        assert!(dropped.is_empty(), "{dropped:?}");
        let o = overrun.unwrap();
        assert!(
            o.starts_with("the cases the verdicts read take about ") && !o.contains("alone"),
            "{o}"
        );
        assert_eq!(done.status, RunStatus::Complete);
        assert_eq!(done.records.len(), 2);
    }

    #[test]
    fn a_case_longer_than_the_budget_is_said_up_front_and_still_runs() {
        let mut big = fake("big", WorkloadKind::Latency);
        big.took_ms = vec![500];
        big.seed_ms = 500;
        let v = vec![big, curve("s", WorkloadKind::Latency, "latency 8B", 8)];
        // big alone: 3 × 500 ms for a 1 s budget. It is a verdict case, so
        // it runs; the sweep point is dropped, as it cannot help.
        let ((done, log), end) = go_within(v, &policy(3, 3, 1), false, None, Some(1000));
        let (_, dropped, overrun, before) = log.planned.clone().unwrap();
        assert_eq!(before, 0, "said before the first round");
        assert_eq!(dropped.len(), 1);
        assert!(
            dropped[0].starts_with("dropped latency 8B (1 cases)"),
            "{dropped:?}"
        );
        assert_eq!(
            overrun.as_deref(),
            Some("the cases the verdicts read take about 1.5 s (every case's 3 rounds), longer than the budget 1.0 s, and none of them is dropped; case `big` alone takes about 1.5 s: the run will overrun by about 0.5 s")
        );
        assert_eq!(done.overrun, overrun);
        assert_eq!(log.started, ["big#1", "big#2", "big#3"]);
        assert_eq!(end, Duration::from_millis(1500));
        assert_eq!(done.status, RunStatus::Complete);
    }

    #[test]
    fn rounds_slower_than_forecast_drop_points_not_yet_started() {
        let mut x = fake("x", WorkloadKind::Latency);
        x.took_ms = vec![30];
        let v = vec![
            x,
            fake("y", WorkloadKind::Bandwidth),
            curve("p1", WorkloadKind::Bandwidth, "bandwidth 1M", 1 << 20),
            curve("p2", WorkloadKind::Bandwidth, "bandwidth 1M", 1 << 20),
        ];
        // Forecast 4 × 3 × 10 = 120 ms: fits 150. x's first round takes
        // 30 ms, not 10: its next ones are forecast at (30 + 10) / 2 = 20
        // (its guess counts as one more round), and 30 + 2 × 20 + 9 × 10
        // = 160 ms is over: the 1M point goes before it started.
        let ((done, log), _) = go_within(v, &policy(3, 3, 1), false, None, Some(150));
        let (_, dropped, _, _) = log.planned.clone().unwrap();
        assert!(dropped.is_empty());
        assert_eq!(log.dropped_later.len(), 1, "{:?}", log.dropped_later);
        let (said, rounds) = &log.dropped_later[0];
        assert!(
            said.starts_with(
                "dropped bandwidth 1M (2 cases): the rounds ran slower than forecast here"
            ),
            "{said}"
        );
        assert_eq!(*rounds, 6);
        assert!(log.started.iter().all(|s| !s.starts_with('p')));
        assert_eq!(done.dropped.len(), 1);
        assert_eq!(log.due, 6, "x and y: 3 rounds each");
    }

    #[test]
    fn extra_rounds_go_to_verdict_cases_and_wide_ones_first() {
        let mut b = wide("b", WorkloadKind::Latency);
        b.value = vec![100.0, 110.0];
        let v = vec![
            curve("s", WorkloadKind::Latency, "latency 1M", 1 << 20),
            b,
            wide("a", WorkloadKind::Latency),
        ];
        // The curve point is as wide as a; b is narrower (but over 5 %).
        let mut v = v;
        v[0].value = vec![100.0, 200.0];
        // 90 ms of base rounds, 20 ms left: a, then b; s gets none.
        let ((_, log), _) = go_within(v, &policy(3, 50, 1), false, None, Some(110));
        let extra: Vec<&String> = log.started.iter().skip(9).collect();
        assert_eq!(extra, ["a#4", "b#4"]);
    }

    #[test]
    fn a_workload_that_reads_the_parent_has_its_extra_rounds_first() {
        let mut c = wide("c", WorkloadKind::Create);
        c.reads_parent = true;
        let v = vec![c, wide("l", WorkloadKind::Latency)];
        let ((_, log), _) = go_within(v, &policy(3, 4, 1), false, None, Some(1000));
        assert_eq!(
            log.started,
            ["c#1", "c#2", "c#3", "c#4", "l#1", "l#2", "l#3", "l#4"]
        );
    }

    #[test]
    fn a_late_workload_that_reads_the_parent_takes_only_its_share_of_the_slack() {
        // l's extras wait for the end; c, after it, reads the parent. Of
        // 20 ms of slack each gets its share by base time: one round.
        let mut c = wide("c", WorkloadKind::Cow);
        c.reads_parent = true;
        let v = vec![wide("l", WorkloadKind::Latency), c];
        let ((_, log), end) = go_within(v, &policy(3, 50, 1), false, None, Some(80));
        let extra: Vec<&String> = log.started.iter().skip(6).collect();
        assert_eq!(extra, ["c#4", "l#4"]);
        assert_eq!(end, Duration::from_millis(80));
    }

    #[test]
    fn a_point_dropped_on_a_dark_forecast_runs_after_all_when_there_is_room() {
        let mut x = fake("x", WorkloadKind::Latency);
        // One slow first round (a cold start), then as guessed.
        x.took_ms = vec![30, 10];
        let v = vec![
            x,
            fake("y", WorkloadKind::Bandwidth),
            curve("p1", WorkloadKind::Bandwidth, "bandwidth 1M", 1 << 20),
            curve("p2", WorkloadKind::Bandwidth, "bandwidth 1M", 1 << 20),
        ];
        // Dropped after x#1 (as above); at 80 ms every other case has its
        // rounds, and the point's 6 rounds of ~10 ms fit before 150.
        let ((done, log), end) = go_within(v, &policy(3, 3, 1), false, None, Some(150));
        assert_eq!(log.dropped_later.len(), 1);
        assert_eq!(log.taken_back, [("bandwidth 1M".to_string(), 6)]);
        assert!(done.dropped.is_empty(), "{:?}", done.dropped);
        assert_eq!(done.records.len(), 4);
        assert!(done.records.iter().all(|r| r.rounds == 3));
        assert_eq!(end, Duration::from_millis(140));
        assert_eq!(log.due, 12);
        // The taken-back rounds come after every other case's.
        let first_p = log.started.iter().position(|s| s.starts_with('p')).unwrap();
        assert_eq!(first_p, 6, "{:?}", log.started);
    }
}
