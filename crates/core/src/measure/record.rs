//! The one place a [`Record`] is built. A workload hands over what it
//! measured ([`Measured`]: the case's identity, one value per sample, the
//! checks it verified and, for blocking hand-offs, the switch counts); this
//! module computes the statistics and attaches the warnings, so every
//! workload's records are judged by the same rules:
//!
//! - switch counts on one CPU: a blocking hand-off makes at least one
//!   switch (the sender blocks, the receiver runs) and at most two (the
//!   woken receiver preempts the sender, which later runs only to block),
//!   so the sum of voluntary and involuntary switches per hop must lie
//!   between the expected count and twice it, within
//!   [`SWITCH_TOLERANCE`]; outside, the members did not alternate or
//!   something else ran.
//!
//! Spread and contention are judged over rounds, in [`super::rounds`].

use mpmt_schema::{
    summarize, Backend, Channel, Checks, Metric, Placement, Record, Unit, Warning, WarningKind,
    Workload,
};
use Placement::SameCpu;

/// Relative distance outside [expected, 2 × expected] that is flagged.
pub const SWITCH_TOLERANCE: f64 = 0.25;

/// Context switches per operation, all members together.
#[derive(Debug, Clone, Copy)]
pub struct SwitchCounts {
    pub voluntary: f64,
    pub involuntary: f64,
    /// Switches one operation needs at least when every member blocks in
    /// turn on one CPU; it makes at most twice as many (None: no fixed
    /// expectation).
    pub expected: Option<f64>,
    /// What one operation is called in the warning ("hop", "operation").
    pub per: &'static str,
    /// Whether waits block (a spinning channel never switches).
    pub blocking: bool,
}

/// Everything a workload measured for one record.
#[derive(Debug, Clone)]
pub struct Measured {
    pub workload: Workload,
    pub backend: Backend,
    pub channel: Option<Channel>,
    pub variant: Option<mpmt_schema::Variant>,
    pub placement: Placement,
    pub cpus: Vec<Option<u32>>,
    pub workers: u32,
    pub size_bytes: u64,
    pub working_set_bytes: u64,
    pub metric: Metric,
    pub unit: Unit,
    pub ops_per_sample: u64,
    /// One value per sample, in `unit`.
    pub values: Vec<f64>,
    pub setup_ns: u64,
    pub checks: Checks,
    pub switches: Option<SwitchCounts>,
}

/// Builds the record: statistics, switch checks, warnings.
pub fn build(m: Measured) -> Record {
    let stats = summarize(&m.values);
    let mut checks = m.checks;
    let mut warnings = Vec::new();
    if let Some(sw) = m.switches {
        checks.voluntary_switches_per_op = Some(sw.voluntary);
        checks.involuntary_switches_per_op = Some(sw.involuntary);
        warnings.extend(switch_warning(m.placement, &sw));
    }
    Record {
        workload: m.workload,
        backend: m.backend,
        channel: m.channel,
        variant: m.variant,
        placement: m.placement,
        cpus: m.cpus,
        workers: m.workers,
        size_bytes: m.size_bytes,
        working_set_bytes: m.working_set_bytes,
        metric: m.metric,
        unit: m.unit,
        ops_per_sample: m.ops_per_sample,
        samples: m.values.len(),
        stats,
        rounds: 1,
        round_medians: vec![stats.median],
        modes: Vec::new(),
        setup_ns: m.setup_ns,
        checks,
        warnings,
        values: m.values,
    }
}

fn switch_warning(placement: Placement, sw: &SwitchCounts) -> Option<Warning> {
    let (SameCpu, true, Some(exp)) = (placement, sw.blocking, sw.expected) else {
        return None;
    };
    let per = sw.per;
    let total = sw.voluntary + sw.involuntary;
    if total > 2.0 * exp * (1.0 + SWITCH_TOLERANCE) {
        Some(Warning::new(WarningKind::ExtraSwitches, format!(
            "{total:.2} per {per}, more than the {} a hand-off makes even when the woken member preempts its waker: something else ran on the CPU",
            2.0 * exp
        )))
    } else if total < exp * (1.0 - SWITCH_TOLERANCE) {
        Some(Warning::new(WarningKind::MissingSwitches, format!(
            "only {total:.2} switches per {per} where the hand-off needs at least {exp}: the members did not alternate"
        )))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(values: Vec<f64>, switches: Option<SwitchCounts>) -> Measured {
        Measured {
            workload: Workload::Latency,
            backend: Backend::Fork,
            channel: Some(Channel::Pipe),
            variant: None,
            placement: Placement::SameCpu,
            cpus: vec![Some(0), Some(0)],
            workers: 2,
            size_bytes: 8,
            working_set_bytes: 0,
            metric: Metric::Rtt,
            unit: Unit::Ns,
            ops_per_sample: 1,
            values,
            setup_ns: 5,
            checks: Checks::default(),
            switches,
        }
    }

    fn sw(v: f64, i: f64) -> SwitchCounts {
        SwitchCounts {
            voluntary: v,
            involuntary: i,
            expected: Some(2.0),
            per: "operation",
            blocking: true,
        }
    }

    #[test]
    fn quiet_case_has_no_warning() {
        let r = build(measured(vec![100.0, 101.0, 99.0], Some(sw(1.1, 0.9))));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.samples, 3);
        assert_eq!(r.stats.median, 100.0);
        assert_eq!(r.checks.voluntary_switches_per_op, Some(1.1));
    }

    #[test]
    fn switch_counts_between_one_and_two_per_hand_off_are_quiet() {
        // 2 per round trip (each side blocks) up to 4 (each wake preempts).
        for (v, i) in [(2.0, 0.0), (1.0, 1.0), (2.0, 2.0), (1.6, 3.0)] {
            let r = build(measured(vec![100.0; 3], Some(sw(v, i))));
            assert!(r.warnings.is_empty(), "{v}+{i}: {:?}", r.warnings);
        }
    }

    #[test]
    fn each_switch_warning_fires() {
        let r = build(measured(vec![100.0; 3], Some(sw(3.0, 2.5))));
        assert!(
            r.warnings[0].kind == WarningKind::ExtraSwitches
                && r.warnings[0].text.starts_with("5.50"),
            "{:?}",
            r.warnings
        );
        let r = build(measured(vec![100.0; 3], Some(sw(0.5, 0.5))));
        assert!(
            r.warnings[0].kind == WarningKind::MissingSwitches
                && r.warnings[0].text.starts_with("only 1.00"),
            "{:?}",
            r.warnings
        );
        // Across CPUs there is no fixed count: never flagged.
        let mut m = measured(vec![100.0; 3], Some(sw(9.0, 9.0)));
        m.placement = Placement::CrossCpu;
        assert!(build(m).warnings.is_empty());
    }
}
