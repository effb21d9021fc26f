//! The executor: runs a plan's cases in rounds and decides nothing about
//! where anything goes. Every case gets the policy's base rounds, a
//! workload at a time, each pass shuffled by the recorded seed; then,
//! while time is left, extra rounds for the cases whose CI is still wide.
//! A failed case is marked and the run stops (or, with `--keep-going`,
//! goes on); an interrupt ends it with what has finished.
//!
//! It reports through [`Observer`]s (the progress bar, the results file;
//! criterion's `Report` idea) and measures through a [`Runner`] (the
//! machine, or a test's fake with exact, made-up timings: hyperfine's
//! `MockExecutor` idea), so its policy is tested without measuring.

use crate::schedule::{self, Rng};
use anyhow::Result;
use mpmt_core::measure::rounds;
use mpmt_core::schema::{Failure, Record, RoundPolicy, RunStatus, Warning, WarningKind};
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
    /// `n` more rounds are due (the base rounds, then each extra pass).
    fn rounds_due(&mut self, _n: usize) {}
    fn round_started(&mut self, _case: &dyn Case, _round: usize) {}
    fn round_measured(&mut self, _case: &dyn Case, _records: &[Record]) {}
    fn round_failed(&mut self, _case: &dyn Case, _error: &str) {}
    fn round_interrupted(&mut self, _case: &dyn Case) {}
    /// The results so far: after a case has its base rounds, at least
    /// every [`schedule::SAVE_EVERY`] while rounds run, and after a
    /// failure the run goes on from.
    fn save(&mut self, _now: &Snapshot) -> Result<()> {
        Ok(())
    }
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
}

impl CaseRounds {
    /// Its records over the rounds so far (none if it failed).
    fn merged(&self, run_cpus: &[u32]) -> Vec<Record> {
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
    fn widest(&self, run_cpus: &[u32]) -> f64 {
        self.merged(run_cpus)
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
fn merged(state: &[CaseRounds], cpus: &[u32], min_rounds: u32) -> Vec<Record> {
    let mut v: Vec<Record> = state.iter().flat_map(|s| s.merged(cpus)).collect();
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
    cpus: &'a [u32],
    policy: &'a RoundPolicy,
    state: Vec<CaseRounds>,
    failures: Vec<Failure>,
    cases_measured: usize,
    observers: &'a mut [&'a mut dyn Observer],
    last_save: Duration,
}

impl Run<'_> {
    fn tell(&mut self, f: impl Fn(&mut dyn Observer)) {
        for o in self.observers.iter_mut() {
            f(&mut **o);
        }
    }

    fn records(&self) -> Vec<Record> {
        merged(&self.state, self.cpus, self.policy.min_rounds)
    }

    fn save(&mut self, now: Duration) -> Result<()> {
        let snap = Snapshot {
            records: self.records(),
            cases_measured: self.cases_measured,
            failures: &self.failures,
        };
        for o in self.observers.iter_mut() {
            o.save(&snap)?;
        }
        self.last_save = now;
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
        }
    }
}

/// Runs `cases` in rounds under `policy` (see the module doc).
pub fn execute<'a>(
    cases: &'a [Box<dyn Case>],
    cpus: &'a [u32],
    policy: &'a RoundPolicy,
    keep_going: bool,
    runner: &mut dyn Runner,
    observers: &'a mut [&'a mut dyn Observer],
) -> Result<Executed> {
    let mut run = Run {
        cpus,
        policy,
        state: cases.iter().map(|_| CaseRounds::default()).collect(),
        failures: Vec::new(),
        cases_measured: 0,
        observers,
        last_save: runner.now(),
    };
    let mut rng = Rng::new(policy.seed);
    run.tell(|o| o.rounds_due(cases.len() * policy.min_rounds as usize));
    let kinds: Vec<WorkloadKind> = cases.iter().map(|c| c.workload()).collect();
    for group in schedule::groups(&kinds) {
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
        let mut extra_until = None;
        loop {
            let Some(order) = passes.pop() else {
                // Base rounds done: the workload's extra rounds, a pass at
                // a time, while any case is too wide and time is left.
                let base = runner.now() - group_start;
                let until = *extra_until
                    .get_or_insert(group_start + base + base.mul_f64(schedule::EXTRA_TIME_SHARE));
                if runner.now() >= until {
                    break;
                }
                let mut more: Vec<usize> = group
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let st = &run.state[i];
                        !st.failed
                            && schedule::wants_more(
                                policy,
                                st.rounds.len() as u32,
                                st.widest(cpus),
                                st.spent,
                                st.base,
                            )
                    })
                    .collect();
                if more.is_empty() {
                    break;
                }
                rng.shuffle(&mut more);
                run.tell(|o| o.rounds_due(more.len()));
                passes.push(more);
                continue;
            };
            for i in order {
                if run.state[i].failed {
                    continue;
                }
                let case = cases[i].as_ref();
                if runner.interrupted() {
                    return Ok(run.end(RunStatus::Interrupted));
                }
                let n = run.state[i].rounds.len() + 1;
                run.tell(|o| o.round_started(case, n));
                let round = runner.round(case);
                match round.result {
                    Ok(recs) => {
                        run.tell(|o| o.round_measured(case, &recs));
                        let st = &mut run.state[i];
                        st.rounds.push(recs);
                        st.spent += round.took;
                        if st.rounds.len() <= policy.min_rounds as usize {
                            st.base += round.took;
                        }
                        st.contention.add(round.contention);
                        let completed = st.rounds.len() == policy.min_rounds as usize;
                        if completed {
                            run.cases_measured += 1;
                        }
                        let now = runner.now();
                        if completed || now - run.last_save >= schedule::SAVE_EVERY {
                            run.save(now)?;
                        }
                    }
                    Err(e) if e.is_interrupt() || runner.interrupted() => {
                        run.tell(|o| o.round_interrupted(case));
                        return Ok(run.end(RunStatus::Interrupted));
                    }
                    Err(e) => {
                        let error = e.to_string();
                        run.tell(|o| o.round_failed(case, &error));
                        run.state[i].failed = true;
                        run.failures.push(Failure {
                            case: case.label(),
                            error,
                        });
                        if !keep_going {
                            return Ok(run.end(RunStatus::Failed));
                        }
                        run.save(runner.now())?;
                    }
                }
            }
        }
    }
    let status = if run.failures.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Failed
    };
    Ok(run.end(status))
}

#[cfg(test)]
mod tests {
    //! The executor against fake cases: each round's result and duration
    //! is made up, the clock advances only by those durations, so every
    //! assertion is exact.

    use super::*;
    use mpmt_core::measure::record::{build, Measured};
    use mpmt_core::schema::{Backend, Checks, Metric, Placement, Unit};
    use mpmt_core::workloads::Context;
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
    }

    fn fake(name: &'static str, workload: WorkloadKind) -> Fake {
        Fake {
            name,
            workload,
            took_ms: vec![10],
            value: vec![100.0],
            fail_at: None,
            runs: Default::default(),
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
    }

    impl Observer for Log {
        fn rounds_due(&mut self, n: usize) {
            self.due += n;
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
            execute(&cases, &[0], p, keep_going, &mut clock, &mut obs).unwrap()
        };
        (done, log)
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
        // The workload's base rounds take 3 × 10 + 6 × 1 = 36 ms, so its
        // extra rounds may start until 36 + 0.3 × 36 = 46.8 ms: a's rounds
        // 4 and 5 start at 36 and 46 ms, and at 56 ms none does. (a's own
        // cap, 2 × its 30 ms of base rounds, would allow a sixth.)
        let (_, log) = go(v, &policy(3, 50, 1), false, None);
        let a = log.started.iter().filter(|x| x.starts_with("a")).count();
        assert_eq!(a, 5, "{:?}", log.started);
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
        // b#1 c#1 a#1 a#2 c#2 b#2: a, c, b complete in turn.
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
}
