//! Claims vs measurements: each classic statement about processes and
//! threads (from the study notes this project grew from), with the verdict
//! this run's numbers give and the numbers themselves, one file per claim.
//! A claim whose data the run did not collect says so instead of guessing.

mod cache;
mod counter;
mod creation;
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
    pub evidence: String,
}

/// The five classic claims, in order.
pub const STATEMENTS: [&str; 5] = [
    "A process switch costs more than a thread switch.",
    "Threads share data for free, while processes need IPC.",
    "Unsynchronized increments lose updates, and a lock fixes it.",
    "Creating a process costs more than creating a thread.",
    "Processes switch slower because their caches are lost at every switch.",
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
    ]
}
