//! Claims vs measurements: each classic statement about processes and
//! threads (from the study notes this project grew from), with the verdict
//! this run's numbers give and the numbers themselves, one file per claim.
//! A claim whose data the run did not collect says so instead of guessing.

mod cache;
mod counter;
mod creation;
mod false_sharing;
mod messaging;
mod sharing;
mod switch;

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
}

impl Claim {
    /// A claim the run has no data for, and why.
    pub(crate) fn not_measured(statement: &'static str, why: impl Into<String>) -> Claim {
        Claim {
            statement,
            verdict: Verdict::NotMeasured,
            headline: "—".into(),
            evidence: why.into(),
        }
    }

    /// The chart that shows this claim's numbers.
    pub fn chart(&self) -> Option<&'static str> {
        STATEMENTS
            .iter()
            .position(|s| *s == self.statement)
            .map(|i| CHARTS[i])
    }
}

/// The classic claims, in order.
pub const STATEMENTS: [&str; 7] = [
    "A process switch costs more than a thread switch.",
    "Threads share data for free, while processes need IPC.",
    "Unsynchronized increments lose updates, and a lock fixes it.",
    "Creating a process costs more than creating a thread.",
    "Processes switch slower because their caches are lost at every switch.",
    "Writers that share a cache line slow each other down, threads and processes alike.",
    "Threads pass messages faster than processes.",
];

/// The chart behind each statement, in the same order.
pub const CHARTS: [&str; 7] = [
    "switch-cost.svg",
    "data-parallel-time.svg",
    "counter.svg",
    "creation.svg",
    "switch-vs-working-set.svg",
    "false-sharing.svg",
    "messaging.svg",
];

pub(crate) fn find(res: &Results, f: impl Fn(&Record) -> bool) -> Option<&Record> {
    res.records.iter().find(|r| f(r))
}

/// True if `a`'s CI lies wholly above `b`'s.
pub(crate) fn clearly_above(a: &Record, b: &Record) -> bool {
    a.stats.ci95_low > b.stats.ci95_high
}

/// Every claim with its verdict.
pub fn all(res: &Results) -> Vec<Claim> {
    vec![
        switch::claim(res),
        sharing::claim(res),
        counter::claim(res),
        creation::claim(res),
        cache::claim(res),
        false_sharing::claim(res),
        messaging::claim(res),
    ]
}
