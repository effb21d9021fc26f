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
    a.stats.ci95_low > b.stats.ci95_high
        && a.stats.median > b.stats.median * (1.0 + crate::readings::noise(a.workload, a.placement))
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
}
