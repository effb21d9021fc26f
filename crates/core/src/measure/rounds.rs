//! Rounds: a case is measured several times, each time with fresh workers
//! and buffers, its rounds interleaved with other cases' (the driver's
//! schedule). Where workers land, how pages are laid out and what the host
//! does change between rounds, not between the samples of one round, so a
//! record's median and CI come from its rounds' medians; the samples of
//! all rounds still give its distribution (p99, …).
//!
//! Judged over rounds:
//! - `noisy`: round medians vary by more than [`NOISY_CV`] (coefficient of
//!   variation; for a switch, whose value is a hop less an overhead and may
//!   sit near zero, the standard deviation over the hop), when they do not
//!   fall into separate [`modes`] (never for memory's page counts or a
//!   crash's one-event figures, whose spread is the measurement);
//! - `contended`: other tasks took more than [`CONTENDED_SHARE`] of the
//!   measured CPUs' time (and at least [`CONTENDED_MIN_TICKS`] ticks);
//! - modes: the round medians fall into two groups with a clear gap.

use crate::sys::cpuuse::{ticks_per_s, Contention};
use mpmt_schema::units::fmt_value;
use mpmt_schema::{memcpy_reading, summarize, Checks, Metric, Mode, Record, Warning, WarningKind};

/// Round-to-round coefficient of variation above which a record is noisy.
/// The CI already carries the spread between rounds (and `compare` reads
/// it); the warning marks a median that could be a quarter off. On the
/// 2-vCPU VM, blocking hand-offs across CPUs vary 8–15 % between rounds
/// (the hypervisor's vCPU wake-up), on one CPU under 3 %.
pub const NOISY_CV: f64 = 0.25;
/// Share of the measured CPUs' time other tasks may take unflagged.
pub const CONTENDED_SHARE: f64 = 0.10;
/// Other tasks' ticks below which contention is not flagged: a CPU's busy
/// time is sampled at each tick, so over a case it is a few ticks off
/// either way.
pub const CONTENDED_MIN_TICKS: f64 = 10.0;
/// A gap between two groups of round medians, relative to the median,
/// below which they are one group.
pub const MODE_GAP: f64 = 0.10;

/// Width of the median's 95 % CI relative to the median.
pub fn relative_width(r: &Record) -> f64 {
    let m = r.stats.median.abs();
    if m > 0.0 && m.is_finite() {
        (r.stats.ci95_high - r.stats.ci95_low) / m
    } else {
        0.0
    }
}

/// Two groups of `medians`, if they fall into two: each of at least two
/// rounds, separated by a gap larger than [`MODE_GAP`] of the median and
/// more than twice the spread inside either group.
pub fn modes(medians: &[f64]) -> Vec<Mode> {
    let mut s: Vec<f64> = medians.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n < 4 {
        return Vec::new();
    }
    let mid = summarize(&s).median.abs();
    let best = (2..=n - 2)
        .map(|i| (i, s[i] - s[i - 1]))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((i, gap)) = best else {
        return Vec::new();
    };
    let spread = (s[i - 1] - s[0]).max(s[n - 1] - s[i]);
    if mid == 0.0 || gap / mid <= MODE_GAP || gap <= 2.0 * spread {
        return Vec::new();
    }
    let group = |g: &[f64]| Mode {
        median: summarize(g).median,
        rounds: g.len() as u32,
    };
    vec![group(&s[..i]), group(&s[i..])]
}

/// The warning for `c`, if other tasks took too much of the CPUs.
pub fn contended_warning(c: &Contention, cpus: &[u32]) -> Option<Warning> {
    (c.share() > CONTENDED_SHARE && c.other_ticks >= CONTENDED_MIN_TICKS).then(|| {
        Warning::new(
            WarningKind::Contended,
            format!(
                "other tasks took {:.0} % of CPU{} {} ({:.0} ms) while this case ran",
                100.0 * c.share(),
                if cpus.len() > 1 { "s" } else { "" },
                cpus.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                1000.0 * c.other_ticks / ticks_per_s()
            ),
        )
    })
}

/// The record of one case over its rounds (all with the key of the first).
/// Per-round warnings are kept once each, saying in how many rounds they
/// fired.
pub fn merge(rounds: &[Record]) -> Record {
    let first = rounds.first().expect("at least one round");
    if rounds.len() == 1 {
        return first.clone();
    }
    let pooled: Vec<f64> = rounds
        .iter()
        .flat_map(|r| r.values.iter().copied())
        .collect();
    let medians: Vec<f64> = rounds.iter().map(|r| r.stats.median).collect();
    let by_round = summarize(&medians);
    let mut stats = summarize(&pooled);
    stats.median = by_round.median;
    stats.ci95_low = by_round.ci95_low;
    stats.ci95_high = by_round.ci95_high;
    let modes = modes(&medians);
    let n = rounds.len();
    let mut warnings: Vec<Warning> = Vec::new();
    for r in rounds {
        for w in &r.warnings {
            if warnings.iter().any(|x| x.kind == w.kind) {
                continue;
            }
            let k = rounds
                .iter()
                .filter(|o| o.warnings.iter().any(|x| x.kind == w.kind))
                .count();
            warnings.push(Warning::new(
                w.kind,
                format!("{} (in {k} of {n} rounds)", w.text),
            ));
        }
    }
    // A switch is a hop less the overhead: near zero, or below it past L2,
    // its own CV says nothing. Its spread is read against the hop measured.
    let hops: Vec<f64> = rounds.iter().filter_map(|r| r.checks.hop_ns).collect();
    let scale = if hops.len() == n {
        summarize(&hops).mean.abs()
    } else {
        by_round.mean.abs()
    };
    let spread = if scale > 0.0 {
        by_round.stddev / scale
    } else {
        0.0
    };
    // Memory is counted in pages, not timed: its spread is not noise. A
    // crash's figures are one event each (a death, a wake-up on CPUs its
    // survivors keep busy, what they had done by then): their spread is
    // what is measured, and its interval is the record's.
    let events = first.workload == mpmt_schema::Workload::Crash;
    if modes.is_empty() && spread > NOISY_CV && first.metric != Metric::Pss && !events {
        warnings.push(Warning::new(WarningKind::Noisy, format!(
            "round medians vary by {:.0} % of {} (coefficient of variation over {n} rounds, {} to {})",
            100.0 * spread,
            if hops.len() == n { "the hop" } else { "their mean" },
            fmt_value(by_round.min, first.unit),
            fmt_value(by_round.max, first.unit)
        )));
    }
    let sorted_setup = summarize(&rounds.iter().map(|r| r.setup_ns as f64).collect::<Vec<_>>());
    let mut checks = Checks::merge(&rounds.iter().map(|r| r.checks.clone()).collect::<Vec<_>>());
    // A fraction of the median is taken of the median over rounds, and
    // read against the floor's interval as each round's was.
    if let Some(m) = checks.memcpy_bytes_per_s.filter(|m| *m > 0.0) {
        let high = checks.memcpy_ci95.map_or(m, |ci| ci[1]);
        let copies = checks.memcpy_copies.unwrap_or(1);
        let (fraction, at_floor) = memcpy_reading(&stats, m, high, copies);
        checks.fraction_of_memcpy = Some(fraction);
        checks.at_memcpy_floor = at_floor.then_some(true);
    }
    Record {
        samples: rounds.iter().map(|r| r.samples).sum(),
        stats,
        rounds: rounds.iter().map(|r| r.rounds).sum(),
        round_medians: medians,
        modes,
        setup_ns: sorted_setup.median as u64,
        checks,
        warnings,
        values: pooled,
        ..first.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_schema::{Backend, Placement, Unit, Workload};

    fn round(values: Vec<f64>, warnings: Vec<&str>) -> Record {
        Record {
            workload: Workload::Latency,
            backend: Backend::Fork,
            channel: None,
            variant: None,
            placement: Placement::SameCpu,
            cpus: vec![Some(0)],
            workers: 2,
            size_bytes: 8,
            working_set_bytes: 0,
            metric: Metric::Rtt,
            unit: Unit::Ns,
            ops_per_sample: 1,
            samples: values.len(),
            stats: summarize(&values),
            rounds: 1,
            round_medians: vec![summarize(&values).median],
            modes: vec![],
            setup_ns: 10,
            checks: Checks {
                messages_verified: Some(values.len() as u64),
                ..Default::default()
            },
            warnings: warnings
                .into_iter()
                .map(|t| Warning::new(WarningKind::ExtraSwitches, t))
                .collect(),
            values,
        }
    }

    #[test]
    fn median_and_ci_come_from_rounds_distribution_from_all_samples() {
        let rs = vec![
            round(vec![100.0, 101.0, 300.0], vec![]),
            round(vec![102.0, 103.0, 104.0], vec!["9 per hop"]),
            round(vec![98.0, 99.0, 100.0], vec![]),
        ];
        let m = merge(&rs);
        assert_eq!(m.rounds, 3);
        assert_eq!(m.samples, 9);
        assert_eq!(m.round_medians, vec![101.0, 103.0, 99.0]);
        assert_eq!(m.stats.median, 101.0);
        // Fewer than six rounds: the CI is the round medians' own (Student's
        // t on their logs), at least as wide as they spread.
        assert_eq!(
            (m.stats.ci95_low, m.stats.ci95_high),
            mpmt_schema::stats::median_ci95_sorted(&[99.0, 101.0, 103.0])
        );
        assert!(m.stats.ci95_low < 99.0 && m.stats.ci95_high > 103.0);
        assert_eq!(m.stats.max, 300.0);
        assert_eq!(m.checks.messages_verified, Some(9));
        assert_eq!(
            m.warnings,
            vec![Warning::new(
                WarningKind::ExtraSwitches,
                "9 per hop (in 1 of 3 rounds)"
            )]
        );
        assert!(m.modes.is_empty());
    }

    #[test]
    fn spread_rounds_are_noisy_and_steady_rounds_are_not() {
        let steady: Vec<Record> = [100.0, 103.0, 98.0, 101.0]
            .iter()
            .map(|&v| round(vec![v; 3], vec![]))
            .collect();
        assert!(merge(&steady).warnings.is_empty());
        let spread: Vec<Record> = [100.0, 150.0, 70.0, 125.0]
            .iter()
            .map(|&v| round(vec![v; 3], vec![]))
            .collect();
        let m = merge(&spread);
        assert!(
            m.warnings[0].kind == WarningKind::Noisy
                && m.warnings[0]
                    .text
                    .starts_with("round medians vary by 31 % of their mean"),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn two_separate_groups_are_modes_not_noise() {
        let rs: Vec<Record> = [5.9, 11.4, 6.0, 10.7, 11.0, 6.1]
            .iter()
            .map(|&v| round(vec![v; 2], vec![]))
            .collect();
        let m = merge(&rs);
        assert_eq!(
            m.modes,
            vec![
                Mode {
                    median: 6.0,
                    rounds: 3
                },
                Mode {
                    median: 11.0,
                    rounds: 3
                }
            ]
        );
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        // A single outlier is not a mode; nor is a gap within the spread.
        assert!(modes(&[5.0, 5.1, 5.0, 9.0]).is_empty());
        assert!(modes(&[5.0, 5.5, 6.0, 6.5, 7.0, 7.5]).is_empty());
    }

    #[test]
    fn contention_is_flagged_above_its_share_and_tick_floor() {
        let busy = Contention {
            other_ticks: 50.0,
            capacity_ticks: 100.0,
        };
        let w = contended_warning(&busy, &[0]).unwrap();
        assert!(
            w.to_string()
                .starts_with("contended: other tasks took 50 % of CPU 0"),
            "{w}"
        );
        let idle = Contention {
            other_ticks: 1.0,
            capacity_ticks: 100.0,
        };
        assert!(contended_warning(&idle, &[0]).is_none());
        // Short cases: two ticks are chance, even at a large share.
        let short = Contention {
            other_ticks: 2.0,
            capacity_ticks: 4.0,
        };
        assert!(contended_warning(&short, &[0, 1]).is_none());
    }
}
