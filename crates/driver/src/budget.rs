//! Planning a run to a time budget (`mpmt suite --budget`).
//!
//! The planner forecasts each case's round time: its own rounds' mean
//! once it has one, before that its [`Case::expected_round`] guess scaled
//! by how this machine has compared with such guesses so far (its
//! workload's rounds, or every round), plus the harness's own time between
//! rounds (saving, merging). Before the first case, if the base rounds
//! (every case's `min_rounds`) will not fit, it drops sweep points — never
//! a case a verdict or a headline reads — highest [`SweepPoint::rank`]
//! first, each point whole; after every round it looks again, and drops
//! more (of the points not started) if the rounds run slower than
//! forecast. When every other case has its base rounds, a dropped point
//! that fits after all is taken back and measured; what is left of the
//! budget then goes to extra rounds ([`priority`]). A case that alone takes longer than the budget, or
//! verdict cases that together do, are said before the run starts.

use mpmt_core::measure::rounds;
use mpmt_core::schema::units::fmt_secs;
use mpmt_core::schema::{DroppedPoint, Record};
use mpmt_core::workloads::{Case, Role, SweepPoint};
use std::time::Duration;

/// `--budget`'s value: a budget, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetArg(pub Option<Duration>);

/// `--budget`, for clap.
pub fn arg(s: &str) -> Result<BudgetArg, String> {
    parse(s).map(BudgetArg)
}

/// `--budget`: a duration (`4m30s`, `270s`, `90`: seconds), or `none`.
pub fn parse(s: &str) -> Result<Option<Duration>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || format!("`{s}` is not a duration; write e.g. 4m30s, 270s, 90 (seconds) or none");
    let mut secs = 0.0;
    let mut num = String::new();
    let mut any = false;
    for ch in t.chars() {
        match ch {
            '0'..='9' | '.' => num.push(ch),
            'h' | 'm' | 's' => {
                let v: f64 = num.parse().map_err(|_| bad())?;
                secs += v * match ch {
                    'h' => 3600.0,
                    'm' => 60.0,
                    _ => 1.0,
                };
                num.clear();
                any = true;
            }
            _ => return Err(bad()),
        }
    }
    if !num.is_empty() {
        secs += num.parse::<f64>().map_err(|_| bad())?;
        any = true;
    }
    if !any || !secs.is_finite() {
        return Err(bad());
    }
    let (lo, hi) = (1.0, 7.0 * 24.0 * 3600.0);
    if !(lo..=hi).contains(&secs) {
        return Err(format!(
            "`{s}` is out of range; allowed: 1 s to 168 h, or none"
        ));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

/// A forecast factor is kept within these bounds: one odd round must not
/// make the machine look 100× slower.
const FACTOR_RANGE: (f64, f64) = (0.2, 10.0);

/// Guessed time the run's rounds must add up to before their ratio to
/// the guesses outweighs 1, and a workload's before its own outweighs the
/// run's.
const PRIOR_RUN: Duration = Duration::from_secs(20);
const PRIOR_WORKLOAD: Duration = Duration::from_secs(1);

/// The planner's state over a run.
pub struct Planner {
    /// Time left for the cases (the budget less the floors), if any.
    limit: Option<Duration>,
    min_rounds: u32,
    seed: Vec<Duration>,
    point: Vec<Option<SweepPoint>>,
    group: Vec<usize>,
    labels: Vec<String>,
    /// Per case: rounds and their time.
    rounds: Vec<u32>,
    took: Vec<Duration>,
    pub dropped: Vec<bool>,
    pub failed: Vec<bool>,
    /// Per group, and over all: measured time and the guesses of the same
    /// rounds.
    group_took: Vec<(Duration, Duration)>,
    all_took: (Duration, Duration),
    /// Time outside rounds (saves, merging) and rounds run.
    between: Duration,
    rounds_run: u32,
    pub drops: Vec<DroppedPoint>,
    /// The cases of each of `drops`.
    dropped_cases: Vec<Vec<usize>>,
    /// Cases that may not run after the others (their figure reads the
    /// parent's size), so are never taken back.
    in_place: Vec<bool>,
    pub overrun: Option<String>,
    /// The base rounds' forecast before the first case, from its start
    /// (set by [`Planner::start`]).
    pub forecast_at_start: Duration,
}

impl Planner {
    /// `groups[i]`: the group (workload) of case `i`, numbered from 0.
    pub fn new(
        cases: &[Box<dyn Case>],
        groups: &[usize],
        min_rounds: u32,
        limit: Option<Duration>,
    ) -> Planner {
        let n = cases.len();
        let ngroups = groups.iter().copied().max().map_or(0, |g| g + 1);
        Planner {
            limit,
            min_rounds,
            seed: cases.iter().map(|c| c.expected_round()).collect(),
            point: cases
                .iter()
                .map(|c| match c.role() {
                    Role::Curve(pt) => Some(pt),
                    Role::Verdict => None,
                })
                .collect(),
            group: groups.to_vec(),
            labels: cases.iter().map(|c| c.label()).collect(),
            rounds: vec![0; n],
            took: vec![Duration::ZERO; n],
            dropped: vec![false; n],
            failed: vec![false; n],
            group_took: vec![(Duration::ZERO, Duration::ZERO); ngroups],
            all_took: (Duration::ZERO, Duration::ZERO),
            between: Duration::ZERO,
            rounds_run: 0,
            drops: Vec::new(),
            dropped_cases: Vec::new(),
            in_place: cases.iter().map(|c| c.reads_the_parent()).collect(),
            overrun: None,
            forecast_at_start: Duration::ZERO,
        }
    }

    pub fn limit(&self) -> Option<Duration> {
        self.limit
    }

    /// One round of case `i` took `took`; `between` is the harness's time
    /// since the round before ended.
    pub fn observe(&mut self, i: usize, took: Duration, between: Duration) {
        self.rounds[i] += 1;
        self.took[i] += took;
        let g = &mut self.group_took[self.group[i]];
        g.0 += took;
        g.1 += self.seed[i];
        self.all_took.0 += took;
        self.all_took.1 += self.seed[i];
        self.between += between;
        self.rounds_run += 1;
    }

    /// How much slower than guessed the rounds `(took, guessed)` were,
    /// leaning towards `prior` as if `weight` more of guessed time had
    /// taken exactly `prior` × its guess: a first slow round (a heap being
    /// touched, a cold cache) must not make the whole machine look slow.
    fn factor((took, guessed): (Duration, Duration), prior: f64, weight: Duration) -> f64 {
        let w = weight.as_secs_f64();
        ((took.as_secs_f64() + prior * w) / (guessed.as_secs_f64() + w).max(1e-9))
            .clamp(FACTOR_RANGE.0, FACTOR_RANGE.1)
    }

    /// The forecast of one more round of case `i`, the harness's time
    /// around it included: its guess scaled by how its workload's rounds
    /// compared with their guesses (which leans on every round's ratio
    /// until the workload has timed a second of rounds, and that on 1
    /// until the run has timed 20 s), then its own rounds' mean with the
    /// scaled guess counted as one more round.
    pub fn round_of(&self, i: usize) -> Duration {
        let all = Self::factor(self.all_took, 1.0, PRIOR_RUN);
        let group = Self::factor(self.group_took[self.group[i]], all, PRIOR_WORKLOAD);
        let guess = self.seed[i].mul_f64(group);
        let own = (self.took[i] + guess) / (self.rounds[i] + 1);
        own + self.between_each()
    }

    fn between_each(&self) -> Duration {
        if self.rounds_run == 0 {
            Duration::ZERO
        } else {
            self.between / self.rounds_run
        }
    }

    fn live(&self, i: usize) -> bool {
        !self.dropped[i] && !self.failed[i]
    }

    /// The forecast of every base round still to run.
    pub fn base_left(&self) -> Duration {
        (0..self.seed.len())
            .filter(|&i| self.live(i))
            .map(|i| self.round_of(i) * self.min_rounds.saturating_sub(self.rounds[i]))
            .sum()
    }

    /// The forecast of the base rounds of the groups after group `g`.
    pub fn base_left_after(&self, g: usize) -> Duration {
        (0..self.seed.len())
            .filter(|&i| self.live(i) && self.group[i] > g)
            .map(|i| self.round_of(i) * self.min_rounds.saturating_sub(self.rounds[i]))
            .sum()
    }

    /// Time left until the end of the budget, forecast: the base rounds
    /// left, or the budget's remainder if that is longer (extra rounds
    /// fill it).
    pub fn eta(&self, now: Duration) -> Duration {
        let base = self.base_left();
        match self.limit {
            Some(l) => base.max(l.saturating_sub(now)),
            None => base,
        }
    }

    /// Drops whole sweep points, none of whose cases has started, highest
    /// rank first, until the base rounds fit the budget from `now`.
    /// Returns the cases dropped (none without a budget).
    pub fn fit(&mut self, now: Duration, why: &str) -> Vec<usize> {
        let Some(limit) = self.limit else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while now + self.base_left() > limit {
            // Points with a live case, none started.
            let mut candidates: Vec<&SweepPoint> = Vec::new();
            for i in 0..self.seed.len() {
                if let Some(pt) = &self.point[i] {
                    if self.live(i) && !candidates.contains(&pt) {
                        candidates.push(pt);
                    }
                }
            }
            candidates.retain(|pt| {
                (0..self.seed.len())
                    .all(|i| self.point[i].as_ref() != Some(*pt) || self.rounds[i] == 0)
            });
            let Some(worst) = candidates.into_iter().max_by_key(|pt| pt.rank).cloned() else {
                break;
            };
            let members: Vec<usize> = (0..self.seed.len())
                .filter(|&i| self.live(i) && self.point[i].as_ref() == Some(&worst))
                .collect();
            for &i in &members {
                self.dropped[i] = true;
            }
            self.drops.push(DroppedPoint {
                point: worst.name.clone(),
                cases: members.len(),
                why: why.to_string(),
            });
            out.extend(members.iter().copied());
            self.dropped_cases.push(members);
        }
        out
    }

    /// The plan before the first case: drops what must go, and says if
    /// the run must overrun even so. Returns the cases dropped.
    pub fn start(&mut self, now: Duration) -> Vec<usize> {
        self.forecast_at_start = self.base_left();
        let Some(limit) = self.limit else {
            return Vec::new();
        };
        let whole = self.base_left();
        let out = self.fit(
            now,
            &format!(
                "not enough budget on this machine (every case's {} rounds forecast {}, the budget {})",
                self.min_rounds,
                fmt_secs((now + whole).as_secs_f64()),
                fmt_secs(limit.as_secs_f64())
            ),
        );
        let left = self.base_left();
        let longest = (0..self.seed.len())
            .filter(|&i| self.live(i))
            .map(|i| (self.round_of(i) * self.min_rounds, i))
            .max();
        // One sentence, always led by the sum the verdicts need: a budget
        // the floors already spent makes every case "alone longer", so
        // the longest case is named only as a clause, when it alone
        // overruns what was left.
        self.overrun = (now + left > limit).then(|| {
            let alone = match longest {
                Some((one, i)) if now + one > limit && limit > now => format!(
                    "; case `{}` alone takes about {}",
                    self.labels[i],
                    fmt_secs(one.as_secs_f64())
                ),
                _ => String::new(),
            };
            format!(
                "the cases the verdicts read take about {} (every case's {} rounds), longer than the budget {}, and none of them is dropped{alone}: the run will overrun by about {}",
                fmt_secs((now + left).as_secs_f64()),
                self.min_rounds,
                fmt_secs(limit.as_secs_f64()),
                fmt_secs((now + left - limit).as_secs_f64())
            )
        });
        self.forecast_at_start = left;
        out
    }

    /// Takes back the dropped points whose base rounds now fit before
    /// the budget's end (the forecast had been too dark), the last
    /// dropped (the lowest) first; a point whose figure reads the parent's
    /// size stays dropped (it would run after everything else). Returns
    /// each point taken back and its cases.
    pub fn take_back(&mut self, now: Duration) -> Vec<(DroppedPoint, Vec<usize>)> {
        let Some(limit) = self.limit else {
            return Vec::new();
        };
        let mut end = now;
        let mut out = Vec::new();
        for k in (0..self.drops.len()).rev() {
            let members = &self.dropped_cases[k];
            if members.iter().any(|&i| self.in_place[i]) {
                continue;
            }
            let cost: Duration = members
                .iter()
                .map(|&i| self.round_of(i) * self.min_rounds)
                .sum();
            if end + cost > limit {
                continue;
            }
            end += cost;
            for &i in members {
                self.dropped[i] = false;
            }
            out.push((self.drops.remove(k), self.dropped_cases.remove(k)));
        }
        out
    }

    /// Whether one more round of case `i` fits before `until`.
    pub fn fits(&self, now: Duration, until: Duration, i: usize) -> bool {
        now + self.round_of(i) <= until
    }

    /// Whether case `i` is a point of a curve (not read by a verdict).
    pub fn is_curve(&self, i: usize) -> bool {
        self.point[i].is_some()
    }
}

/// How much another round of a case could change an answer: its widest
/// record's CI relative to the difference its answer turns on — the gap
/// to the same case with threads (or with processes, for a thread's), or
/// the compare threshold of its kind where that gap is smaller. A case
/// whose CI is wide next to a small gap comes first; one far from its
/// partner, whose CIs cannot meet, last.
pub fn priority(records: &[Record], all: &std::collections::HashMap<String, f64>) -> f64 {
    records
        .iter()
        .map(|r| {
            let width = rounds::relative_width(r);
            let threshold = mpmt_report::compare::default_threshold(r.workload, r.placement);
            let m = r.stats.median;
            let gap = partner_key(r)
                .and_then(|k| all.get(&k))
                .filter(|_| m > 0.0)
                .map(|&p| (p - m).abs() / m)
                .unwrap_or(0.0);
            width / gap.max(threshold).max(1e-6)
        })
        .fold(0.0, f64::max)
}

/// The key of the same case on the other side: a thread's against a
/// fork's, a process's against a thread's.
pub fn partner_key(r: &Record) -> Option<String> {
    use mpmt_core::Backend;
    let k = r.key();
    let b = format!("/{}/", r.backend);
    let other = match r.backend {
        Backend::Thread => "/fork/".to_string(),
        _ => "/thread/".to_string(),
    };
    k.contains(&b).then(|| k.replacen(&b, &other, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_as_people_write_them() {
        let s = |x: u64| Some(Duration::from_secs(x));
        assert_eq!(parse("4m30s").unwrap(), s(270));
        assert_eq!(parse("270s").unwrap(), s(270));
        assert_eq!(parse("270").unwrap(), s(270));
        assert_eq!(parse("1h").unwrap(), s(3600));
        assert_eq!(parse("50s").unwrap(), s(50));
        assert_eq!(parse("none").unwrap(), None);
        assert_eq!(parse("None").unwrap(), None);
        let e = parse("soon").unwrap_err();
        assert!(e.contains("`soon` is not a duration"), "{e}");
        assert!(parse("4x").is_err());
        assert!(parse("").is_err());
        let e = parse("0s").unwrap_err();
        assert!(e.contains("out of range; allowed: 1 s to 168 h"), "{e}");
    }
}
