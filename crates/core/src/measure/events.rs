//! The kernel's counts over a timed phase ([`crate::sys::perf`]), turned
//! into a record's per-operation `checks`: open before the workers start,
//! [`Phase::begin`] just before the gate opens (or the first timed
//! batch), [`Phase::end`] just after the last worker is done.

use crate::sys::perf::{self, Counters, Event};
use mpmt_schema::KernelEvents;

/// One timed phase's counters.
pub struct Phase(Counters);

impl Phase {
    /// Opens every available counter on the calling thread (the one that
    /// then starts the workers), disabled; `count` false: none (a timed
    /// run, which the counters' own cost must stay out of).
    pub fn open(count: bool) -> Phase {
        Phase(match count {
            true => Counters::open(),
            false => Counters::none(),
        })
    }

    pub fn begin(&self) {
        self.0.enable();
    }

    pub fn end(&self) {
        self.0.disable();
    }

    /// The counts per operation over `ops` operations, and why each event
    /// not counted is missing.
    pub fn per_op(&self, ops: u64) -> KernelEvents {
        per_op(&self.0.read(), ops)
    }
}

/// Counts over `ops` operations as a record's per-op fields.
pub fn per_op(counts: &perf::Counts, ops: u64) -> KernelEvents {
    let mut k = KernelEvents {
        kernel_events_missing: missing(),
        ..Default::default()
    };
    let ops = ops.max(1) as f64;
    for (key, slot) in k.fields_mut() {
        if let Some((_, n)) = counts.iter().find(|(e, _)| e.key() == key) {
            *slot = Some(*n as f64 / ops);
        }
    }
    k
}

/// The events not counted, one clause per reason, or `None`.
pub fn missing() -> Option<String> {
    let a = perf::available();
    let mut by: Vec<(&str, Vec<&str>)> = Vec::new();
    for (e, why) in &a.missing {
        match by.iter_mut().find(|(w, _)| w == why) {
            Some((_, keys)) => keys.push(e.key()),
            None => by.push((why, vec![e.key()])),
        }
    }
    (!by.is_empty()).then(|| {
        by.iter()
            .map(|(why, keys)| format!("{}: {why}", keys.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Every event and whether it is counted here, for `mpmt env`: its key,
/// how perf spells it, and `Ok` or why not.
pub fn report() -> Vec<(&'static str, &'static str, Result<(), String>)> {
    let a = perf::available();
    Event::ALL
        .iter()
        .map(|&e| {
            let state = match a.missing.iter().find(|(m, _)| *m == e) {
                Some((_, why)) => Err(why.clone()),
                None => Ok(()),
            };
            (e.key(), e.perf_name(), state)
        })
        .collect()
}
