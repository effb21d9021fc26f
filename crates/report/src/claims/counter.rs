//! "Unsynchronized increments lose updates, and a lock fixes it": the
//! racy mode's lost updates beside every locked mode's exact total.

use super::{Claim, ClaimDef, Verdict};
use mpmt_schema::units::fmt_count;
use mpmt_schema::{CounterMode, Placement, Record, Results, Variant, Workload};

/// This claim: its statement, its chart, and how this run's numbers judge it.
pub const CLAIM: ClaimDef = ClaimDef {
    key: "lost-updates",
    statement: "Unsynchronized increments lose updates, and a lock fixes it.",
    chart: "counter.svg",
    says: super::Says::Alike,
    judge: claim,
};

/// The verdict and its evidence.
pub fn claim(res: &Results) -> Claim {
    let c: Vec<&Record> = res
        .records
        .iter()
        .filter(|r| r.workload == Workload::Counter)
        .collect();
    if c.is_empty() {
        return Claim::not_measured(CLAIM.statement, "No counter records.");
    }
    let racy: Vec<&&Record> = c
        .iter()
        .filter(|r| r.variant == Some(Variant::Mode(CounterMode::Racy)))
        .collect();
    let locked: Vec<&&Record> = c
        .iter()
        .filter(|r| {
            r.variant
                .and_then(Variant::mode)
                .is_some_and(|m| m != CounterMode::Racy)
        })
        .collect();
    let lost = |p: Placement| {
        racy.iter()
            .filter(|r| r.placement == p)
            .map(|r| {
                format!(
                    "{} {}",
                    r.backend,
                    fmt_count(r.checks.lost_updates.unwrap_or(0.0) as u64)
                )
            })
            .collect::<Vec<_>>()
    };
    let any_lost = racy
        .iter()
        .any(|r| r.checks.lost_updates.unwrap_or(0.0) > 0.0);
    let locks_exact = !locked.is_empty()
        && locked
            .iter()
            .all(|r| r.checks.final_value == r.checks.expected_value);
    let verdict = match (any_lost, locks_exact) {
        (true, true) => Verdict::Supported,
        (false, true) => Verdict::Mixed,
        (_, false) if locked.is_empty() => Verdict::Mixed,
        _ => Verdict::Refuted,
    };
    let w = c[0].workers;
    let k = c[0].checks.increments.unwrap_or(0);
    let mut ev = format!(
        "{w} workers × {} increments. Lost by the racy mode — same CPU: {}; across CPUs: {}. ",
        fmt_count(k),
        none_if_empty(lost(Placement::SameCpu)),
        none_if_empty(lost(Placement::CrossCpu))
    );
    ev += if locks_exact {
        "Every atomic, mutex and mutex-batch run ended at exactly workers × increments. "
    } else {
        "Some locked run did not end exact. "
    };
    let total = |p: Placement| -> Option<f64> {
        let v: Vec<f64> = racy
            .iter()
            .filter(|r| r.placement == p)
            .map(|r| r.checks.lost_updates.unwrap_or(0.0))
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    if let (Some(one), Some(two)) = (total(Placement::SameCpu), total(Placement::CrossCpu)) {
        ev += if one < two {
            "Fewer were lost on one CPU than across CPUs, as expected where workers on one CPU take turns (an update is lost only when preemption falls between the load and the store) and workers on two CPUs run at once."
        } else {
            "As many or more were lost on one CPU as across CPUs: here taking turns on one CPU did not protect the updates."
        };
    }
    let worst = racy
        .iter()
        .max_by(|a, b| {
            let l = |r: &Record| r.checks.lost_updates.unwrap_or(0.0);
            l(a).total_cmp(&l(b))
        })
        .map(|r| {
            format!(
                "racy lost up to {} of {} ({} {}); ",
                grouped(r.checks.lost_updates.unwrap_or(0.0) as u64),
                grouped(r.checks.expected_value.unwrap_or(0)),
                r.backend,
                r.placement
            )
        })
        .unwrap_or_default();
    let headline = format!(
        "{worst}{}",
        if locks_exact {
            "every locked run exact"
        } else if locked.is_empty() {
            "no locked mode measured"
        } else {
            "a locked run was not exact"
        }
    );
    Claim {
        statement: CLAIM.statement,
        verdict,
        headline,
        evidence: ev,
        factor: None,
    }
}

/// 2419442 → "2,419,442".
fn grouped(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn none_if_empty(v: Vec<String>) -> String {
    if v.is_empty() {
        "not measured".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(5_000_000), "5,000,000");
        assert_eq!(super::grouped(2_419_442), "2,419,442");
    }
}
