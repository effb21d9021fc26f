//! Claims vs measurements: each classic statement about processes and
//! threads (from the study notes this project grew from), with the verdict
//! this run's numbers give and the numbers themselves, one file per claim.
//! A claim whose data the run did not collect says so instead of guessing.

use mpmt_schema::{Record, Results};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Supported,
    Refuted,
    /// True in part: the text says which part.
    Mixed,
    NotMeasured,
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Supported => "supported here",
            Verdict::Refuted => "not supported here",
            Verdict::Mixed => "partly supported here",
            Verdict::NotMeasured => "not measured in this run",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Claim {
    pub statement: &'static str,
    pub verdict: Verdict,
    /// The one number behind the verdict, for the verdict table.
    pub headline: String,
    /// Every number behind it.
    pub evidence: String,
    /// How many times the side the statement names as dearer costs the
    /// other in the one number (process over thread for a claim that
    /// processes cost more; below 1 when it is the other way here). None
    /// where the claim has no such ratio.
    pub factor: Option<f64>,
}

impl Claim {
    /// A claim the run has no data for, and why.
    pub(crate) fn not_measured(statement: &'static str, why: impl Into<String>) -> Claim {
        Claim {
            statement,
            verdict: Verdict::NotMeasured,
            headline: "—".into(),
            evidence: why.into(),
            factor: None,
        }
    }

    /// The chart that shows this claim's numbers.
    pub fn chart(&self) -> Option<&'static str> {
        CLAIMS
            .iter()
            .find(|c| c.statement == self.statement)
            .map(|c| c.chart)
    }
}

/// One classic claim: its key (for tests and links), its statement, the
/// chart behind it, which side it says pays, and the judge that reads
/// this run's numbers. A new claim is its file and one line in
/// [`CLAIMS`].
pub struct ClaimDef {
    pub key: &'static str,
    pub statement: &'static str,
    pub chart: &'static str,
    pub says: Says,
    pub judge: fn(&Results) -> Claim,
}

/// Which side a claim's statement says pays more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Says {
    ProcessesPay,
    ThreadsPay,
    /// "threads and processes alike", or a claim about neither.
    Alike,
}

/// The claims, in the page's order, one line each: the module (its file,
/// which holds its `CLAIM`).
macro_rules! claims {
    ($( $module:ident ),+ $(,)?) => {
        $( mod $module; )+

        /// The classic claims, in the page's order.
        pub static CLAIMS: &[&ClaimDef] = &[$( &$module::CLAIM ),+];
    };
}

claims! {
    switch,
    sharing,
    counter,
    creation,
    cache,
    false_sharing,
    messaging,
    vm_ops,
    memory,
    cow,
    crash,
}

/// The claim with `key`.
pub fn by_key(key: &str) -> Option<&'static ClaimDef> {
    CLAIMS.iter().copied().find(|c| c.key == key)
}

pub(crate) fn find(res: &Results, f: impl Fn(&Record) -> bool) -> Option<&Record> {
    res.records.iter().find(|r| f(r))
}

/// True if `a` is clearly above `b`: `a`'s CI lies wholly above `b`'s,
/// and `a`'s median is above `b`'s by more than a rerun of `a`'s
/// workload at its placement moves a median (the threshold `compare`
/// applies, from A/A runs: [`crate::readings::noise`]). A difference the
/// next run would not repeat is no difference to a verdict: CIs alone are
/// one run's spread, and two runs of `make bench` disagreed on verdicts
/// that hung on a few percent.
pub(crate) fn clearly_above(a: &Record, b: &Record) -> bool {
    a.stats.ci95_low > b.stats.ci95_high && beyond_noise(a, b)
}

/// Whether `a`'s median is above `b`'s by more than a rerun of `a`'s
/// workload at its placement moves a median, sure or not.
pub(crate) fn beyond_noise(a: &Record, b: &Record) -> bool {
    a.stats.median > b.stats.median * (1.0 + crate::readings::noise(a.workload, a.placement))
}

/// [`clearly_above`] for one of `family` pairs a verdict counts: each
/// CI is taken again from the rounds' medians at 1 − 5 %/`family`
/// (Bonferroni), so that all the pairs together hold at 95 %. Tested
/// alone at 95 %, one of 19 pairs of equal cases comes out apart far
/// more often than one run in 20, and a verdict that turns on "any of
/// them" flipped with the rounds a case got. A record of one round keeps
/// its samples' 95 % CI (its samples are not kept).
pub(crate) fn clearly_above_among(a: &Record, b: &Record, family: usize) -> bool {
    if family <= 1 {
        return clearly_above(a, b);
    }
    let level = 1.0 - 0.05 / family as f64;
    let ci = |r: &Record| {
        if r.round_medians.len() < 2 {
            return (r.stats.ci95_low, r.stats.ci95_high);
        }
        let mut v: Vec<f64> = r
            .round_medians
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(|x, y| x.total_cmp(y));
        mpmt_schema::stats::median_ci_sorted(&v, level)
    };
    let ((a_low, _), (_, b_high)) = (ci(a), ci(b));
    a_low > b_high && beyond_noise(a, b)
}

/// A family of pairs a verdict reads, each `(a, b)` with `a` the side
/// the claim says pays more, tested at the family's level
/// ([`clearly_above_among`]).
pub(crate) struct Tally {
    pub n: usize,
    /// Pairs where `a` is clearly above `b`, and clearly below.
    pub clear_for: usize,
    pub clear_against: usize,
    /// Pairs whose `a` median is above `b`'s by more than a rerun moves
    /// one, sure or not.
    pub beyond_noise: usize,
}

impl Tally {
    pub fn of<'a>(pairs: &[(&'a Record, &'a Record)]) -> Tally {
        Tally::among(pairs, pairs.len())
    }

    /// `pairs` as part of a family of `family` pairs (a verdict that
    /// reads two groups of one family at once).
    pub fn among<'a>(pairs: &[(&'a Record, &'a Record)], family: usize) -> Tally {
        let count =
            |f: &dyn Fn(&Record, &Record) -> bool| pairs.iter().filter(|(a, b)| f(a, b)).count();
        Tally {
            n: pairs.len(),
            clear_for: count(&|a, b| clearly_above_among(a, b, family)),
            clear_against: count(&|a, b| clearly_above_among(b, a, family)),
            beyond_noise: count(&beyond_noise),
        }
    }

    /// Supported when at least one pair is clearly the claim's way, none
    /// clearly the other, and every median points the claim's way by
    /// more than a rerun moves one (a pair whose CI is too wide to be
    /// sure does not count against a claim its median bears out);
    /// refuted when none is clearly the claim's way; mixed otherwise.
    pub fn verdict(&self) -> Verdict {
        if self.n == 0 {
            Verdict::NotMeasured
        } else if self.clear_for == 0 {
            Verdict::Refuted
        } else if self.clear_against == 0 && self.beyond_noise == self.n {
            Verdict::Supported
        } else {
            Verdict::Mixed
        }
    }
}

/// Every claim with its verdict.
pub fn all(res: &Results) -> Vec<Claim> {
    CLAIMS.iter().map(|c| (c.judge)(res)).collect()
}

/// The verdict of the claim with `key`.
pub fn judge(res: &Results, key: &str) -> Option<Claim> {
    by_key(key).map(|c| (c.judge)(res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_have_one_key_statement_and_chart_each() {
        for c in CLAIMS {
            assert_eq!(
                CLAIMS.iter().filter(|d| d.key == c.key).count(),
                1,
                "{}",
                c.key
            );
            assert_eq!(by_key(c.key).map(|d| d.statement), Some(c.statement));
            assert!(c.chart.ends_with(".svg"), "{}", c.chart);
        }
        assert!(by_key("no-such-claim").is_none());
    }

    fn rec(medians: &[f64]) -> Record {
        let mut v = medians.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let (lo, hi) = mpmt_schema::stats::median_ci95_sorted(&v);
        Record {
            workload: mpmt_schema::Workload::Messaging,
            backend: mpmt_schema::Backend::Fork,
            channel: None,
            variant: None,
            placement: mpmt_schema::Placement::SameCpu,
            cpus: vec![],
            workers: 2,
            size_bytes: 0,
            working_set_bytes: 0,
            metric: mpmt_schema::Metric::Wall,
            unit: mpmt_schema::Unit::Ns,
            ops_per_sample: 1,
            samples: medians.len(),
            stats: mpmt_schema::Stats {
                median: mpmt_schema::stats::quantile_sorted(&v, 0.5),
                ci95_low: lo,
                ci95_high: hi,
                ..Default::default()
            },
            rounds: medians.len() as u32,
            round_medians: medians.to_vec(),
            modes: vec![],
            setup_ns: 0,
            checks: Default::default(),
            warnings: vec![],
            values: vec![],
        }
    }

    #[test]
    fn a_family_is_supported_when_its_sure_pairs_agree_and_its_medians_point_one_way() {
        let dear = rec(&[202.0, 205.0, 190.0]);
        let cheap = rec(&[70.0, 66.0, 72.0]);
        // Three times dearer but one round far out: not sure, yet the
        // median is beyond a rerun's noise.
        let wide = rec(&[686.0, 143.0, 218.0]);
        let alike = rec(&[71.0, 69.0, 73.0]);
        let t = Tally::of(&[(&dear, &cheap), (&dear, &cheap), (&wide, &cheap)]);
        assert_eq!(
            (t.n, t.clear_for, t.clear_against, t.beyond_noise),
            (3, 2, 0, 3)
        );
        assert_eq!(t.verdict(), Verdict::Supported);
        // A pair whose medians are alike keeps it partly.
        let t = Tally::of(&[(&dear, &cheap), (&alike, &cheap)]);
        assert_eq!((t.clear_for, t.beyond_noise), (1, 1));
        assert_eq!(t.verdict(), Verdict::Mixed);
        // One clearly the other way: partly.
        let t = Tally::of(&[(&dear, &cheap), (&cheap, &dear)]);
        assert_eq!((t.clear_for, t.clear_against), (1, 1));
        assert_eq!(t.verdict(), Verdict::Mixed);
        // None clearly the claim's way: refuted, even if medians point so.
        let t = Tally::of(&[(&wide, &cheap), (&alike, &cheap)]);
        assert_eq!(t.verdict(), Verdict::Refuted);
        assert_eq!(Tally::of(&[]).verdict(), Verdict::NotMeasured);
    }

    #[test]
    fn a_pair_among_many_must_stay_apart_at_the_familys_level() {
        // The 05:01 run's fork and thread messaging rounds (ms): apart at
        // 95 % and 1.49x, beyond the 35 % noise; not among 8 pairs.
        let fork = rec(&[60.1, 49.3, 47.6, 63.1]);
        let thread = rec(&[39.3, 33.2, 36.2, 37.4]);
        assert!(clearly_above(&fork, &thread));
        assert!(clearly_above_among(&fork, &thread, 1));
        assert!(!clearly_above_among(&fork, &thread, 8));
        // Three times dearer in every round stays apart among 15.
        let spawn = rec(&[202.0, 205.0, 190.0]);
        let th = rec(&[70.0, 66.0, 72.0]);
        assert!(clearly_above_among(&spawn, &th, 15));
        assert!(!clearly_above_among(&th, &spawn, 15));
    }
}
