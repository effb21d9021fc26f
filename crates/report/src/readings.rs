//! How the report reads each workload's records, one entry per workload:
//! the noise threshold `compare` applies to it and what its size column
//! says. A new workload is one entry here (a test holds every workload to
//! exactly one).

use mpmt_schema::units::{fmt_bytes, fmt_count};
use mpmt_schema::{Placement, Record, Workload};

/// One workload's reading.
pub struct Reading {
    pub workload: Workload,
    /// compare's default threshold on one CPU and elsewhere (a fraction):
    /// the relative difference between two medians that A/A runs on a
    /// 2-vCPU VM stayed under for 19 cases in 20 (`mpmt selftest aa`
    /// measures it anew). Blocking hand-offs across CPUs wait for the
    /// hypervisor to wake a vCPU and vary most between runs; on one CPU
    /// they repeat closely.
    pub noise_one_cpu: f64,
    pub noise: f64,
    /// The table's size column for one record.
    pub size: fn(&Record) -> String,
}

fn message(r: &Record) -> String {
    fmt_bytes(r.size_bytes)
}

fn increments(r: &Record) -> String {
    format!("×{}", fmt_count(r.checks.increments.unwrap_or(0)))
}

/// Every workload's reading, in listing order.
pub static READINGS: &[Reading] = &[
    Reading {
        workload: Workload::CtxSwitch,
        noise_one_cpu: 0.10,
        noise: 0.30,
        size: |r| match r.working_set_bytes {
            0 => "-".into(),
            ws => format!("ws {}", fmt_bytes(ws)),
        },
    },
    Reading {
        workload: Workload::Latency,
        noise_one_cpu: 0.10,
        noise: 0.30,
        size: message,
    },
    Reading {
        workload: Workload::Bandwidth,
        noise_one_cpu: 0.10,
        noise: 0.30,
        size: message,
    },
    Reading {
        workload: Workload::DataParallel,
        noise_one_cpu: 0.35,
        noise: 0.35,
        size: |r| format!("{} el", fmt_count(r.size_bytes / 8)),
    },
    Reading {
        workload: Workload::Counter,
        noise_one_cpu: 0.30,
        noise: 0.30,
        size: increments,
    },
    Reading {
        workload: Workload::Messaging,
        noise_one_cpu: 0.35,
        noise: 0.35,
        size: |r| format!("{} g × {}B", r.checks.groups.unwrap_or(0), r.size_bytes),
    },
    Reading {
        workload: Workload::FalseSharing,
        noise_one_cpu: 0.30,
        noise: 0.30,
        size: increments,
    },
    Reading {
        workload: Workload::Create,
        noise_one_cpu: 0.15,
        noise: 0.15,
        size: |r| format!("heap {}", fmt_bytes(r.size_bytes)),
    },
    Reading {
        workload: Workload::VmOps,
        // Not yet measured by `selftest aa`: the threshold of the other
        // kernel-bound gate workloads.
        noise_one_cpu: 0.30,
        noise: 0.30,
        size: |r| format!("{} × {}", fmt_bytes(r.size_bytes), r.workers),
    },
    Reading {
        workload: Workload::Memory,
        // Page counts: a weighing repeats to the page, bar what the
        // runtime allocates.
        noise_one_cpu: 0.05,
        noise: 0.05,
        // A case writes four records: the metric leads, so the rows
        // tell apart.
        size: |r| {
            format!(
                "{} · {} × (private {}, shared {})",
                r.metric,
                r.workers,
                fmt_bytes(r.working_set_bytes),
                fmt_bytes(r.size_bytes)
            )
        },
    },
    Reading {
        workload: Workload::Cow,
        noise_one_cpu: 0.15,
        noise: 0.15,
        size: |r| format!("{} · heap {}", r.metric, fmt_bytes(r.size_bytes)),
    },
    Reading {
        workload: Workload::Crash,
        // Not yet measured by `selftest aa`: a death and a wake-up on a
        // busy CPU, the least steady figure mpmt records.
        noise_one_cpu: 0.50,
        noise: 0.50,
        size: |r| format!("{} · {} × {}", r.metric, r.workers, fmt_bytes(r.size_bytes)),
    },
];

/// The reading of `w`.
pub fn of(w: Workload) -> &'static Reading {
    READINGS
        .iter()
        .find(|r| r.workload == w)
        .expect("every workload has a reading (tested)")
}

/// compare's default threshold for a case of `w` at `p`.
pub fn noise(w: Workload, p: Placement) -> f64 {
    let r = of(w);
    match p {
        Placement::SameCpu => r.noise_one_cpu,
        _ => r.noise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_has_one_reading() {
        for &w in Workload::ALL {
            assert_eq!(
                READINGS.iter().filter(|r| r.workload == w).count(),
                1,
                "{w}"
            );
        }
        assert_eq!(READINGS.len(), Workload::ALL.len());
    }
}
