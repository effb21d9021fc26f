//! Suite profiles, as data: each profile is a list of `mpmt run` command
//! lines, parsed and planned exactly as a user's would be. `smoke` takes
//! seconds (tests), `quick` under a minute, `default` (what `make bench`
//! runs) under five minutes on 2 vCPUs, `full` as long as it needs. A
//! profile only changes sweeps and samples. `{both}` stands for
//! `same-cpu,cross-cpu` (or `same-cpu` on a one-CPU machine), `{all}` for
//! those and `os`.
//!
//! Creation cost runs first, while the parent is smallest: fork's cost
//! grows with everything the parent has resident.

use crate::cli::Profile;
use crate::plan::WorkloadArgs;
use crate::plan::{self, Machine, Plan};
use clap::Parser;
use std::path::Path;

const SMOKE: &[&str] = &[
    "create --parent-heap 0,1M --workers 2 --samples 3",
    "ctx-switch --channel pipe,shm-futex --placement same-cpu --working-set 0,16K --samples 20",
    "ctx-switch --channel pipe --placement same-cpu --working-set 0,16K --working-set-sharing shared --samples 20",
    "latency --channel pipe,shm-futex --placement same-cpu --sizes 8,4K --samples 50",
    "bandwidth --channel pipe,shm-futex --placement same-cpu --sizes 64K --samples 2",
    "data-parallel --elements 1K,16K --workers 1,2 --samples 1",
    "counter --workers 4 --increments 2000 --placement {both} --samples 1",
    "false-sharing --increments 20000 --placement {both} --samples 1",
    "messaging --groups 1 --senders 3 --receivers 2 --loops 20 --placement os --samples 1",
];

// Under a minute with every workload and channel: ring sweeps take their
// second size on one CPU only, and messaging one group.
const QUICK: &[&str] = &[
    "create --parent-heap 0,64M --samples 20",
    "ctx-switch --samples 100",
    "ctx-switch --channel pipe,shm-futex --placement same-cpu --working-set 256K --working-set-sharing private,shared --samples 100",
    "latency --sizes 8 --samples 300",
    "latency --sizes 64K --placement same-cpu --samples 300",
    "bandwidth --sizes 64K --placement same-cpu",
    "data-parallel --elements 1K,1M,4M --workers 1,2 --samples 3",
    "counter --placement {both} --samples 1",
    "false-sharing --increments 1M --placement {both} --samples 1",
    "messaging --groups 1 --loops 50 --placement os",
];

// Fewer points than `mpmt run`'s defaults (which stay as they are): with
// nine channels and eight workloads the default sweeps alone take over
// five minutes here. Every channel is measured at working set 0; the
// working-set sweep (private and shared) runs over pipe and shm-futex on
// one CPU, where the switch is the switch.
const DEFAULT: &[&str] = &[
    "create --parent-heap 0,64M,512M",
    "ctx-switch",
    "ctx-switch --channel pipe,shm-futex --placement same-cpu --working-set 64K,1M,4M --working-set-sharing private,shared",
    "ctx-switch --channel pipe,shm-futex --placement same-cpu --working-set-sharing shared",
    "latency --sizes 8,64,4K,64K,1M",
    "bandwidth --sizes 4K,64K,1M",
    "data-parallel --elements 1K,1M,16M",
    "counter --placement {both}",
    "false-sharing --placement {both}",
    "messaging --groups 1,4 --placement os,same-cpu",
];

const FULL: &[&str] = &[
    "create --parent-heap 0,64M,1G,2G",
    "ctx-switch --workers 2,4,8 --working-set 0,16K,64K,256K,1M,4M",
    "ctx-switch --placement same-cpu --working-set 0,16K,64K,256K,1M,4M --working-set-sharing shared",
    "latency --placement {all}",
    "bandwidth --placement {all}",
    "data-parallel --elements 1K,32K,1M,16M,128M",
    "counter --placement {all} --samples 5",
    "false-sharing --workers 2,4 --placement {all} --samples 5",
    "messaging --groups 1,2,4,8 --placement {all} --samples 3",
];

impl Profile {
    /// The profile's `mpmt run` command lines (without `mpmt run`).
    pub fn lines(self) -> &'static [&'static str] {
        match self {
            Profile::Smoke => SMOKE,
            Profile::Quick => QUICK,
            Profile::Default => DEFAULT,
            Profile::Full => FULL,
        }
    }
}

/// One profile line, parsed as `mpmt run` parses its arguments.
#[derive(Parser, Debug)]
#[command(name = "run")]
struct Line {
    #[command(subcommand)]
    workload: WorkloadArgs,
}

/// The profile's runs, parsed as `mpmt run` would parse them.
pub fn runs(p: Profile, m: &Machine, out: &Path) -> Result<Vec<WorkloadArgs>, String> {
    let both = if m.allowed_cpus.len() >= 2 {
        "same-cpu,cross-cpu"
    } else {
        "same-cpu"
    };
    let all = format!("{both},os");
    p.lines()
        .iter()
        .map(|line| {
            let line = line.replace("{both}", both).replace("{all}", &all);
            let argv = std::iter::once("run").chain(line.split_whitespace());
            let mut run =
                Line::try_parse_from(argv).map_err(|e| format!("profile {p:?}, `{line}`: {e}"))?;
            run.workload.common_mut().out = out.to_path_buf();
            Ok(run.workload)
        })
        .collect()
}

/// Every case of the profile, validated like `mpmt run`, and the CPUs.
impl Profile {
    /// The profile's cap on rounds per case, unless --max-rounds is given:
    /// smoke takes its 3 rounds and no more, quick one extra at most (so
    /// it stays under a minute), default and full the policy's own.
    pub fn max_rounds(self) -> Option<u32> {
        match self {
            Profile::Smoke => Some(3),
            Profile::Quick => Some(4),
            Profile::Default | Profile::Full => None,
        }
    }
}

pub fn plan_profile(p: Profile, m: &Machine, out: &Path) -> Result<Plan, String> {
    let mut all = Plan {
        cases: Vec::new(),
        cpus: m.allowed_cpus.clone(),
    };
    for w in runs(p, m, out)? {
        let one =
            plan::plan(&w, m).map_err(|e| format!("profile {}, {}: {e}", p.name(), w.kind()))?;
        all.cpus = one.cpus;
        all.cases.extend(one.cases);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpmt_core::WorkloadKind;

    #[test]
    fn every_profile_covers_every_workload() {
        let m = Machine {
            allowed_cpus: vec![0, 1],
            mem_available_bytes: Some(16 << 30),
        };
        for p in [
            Profile::Smoke,
            Profile::Quick,
            Profile::Default,
            Profile::Full,
        ] {
            let cases = plan_profile(p, &m, Path::new("reports")).unwrap().cases;
            let mut seen: Vec<WorkloadKind> = cases.iter().map(|c| c.workload()).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), WorkloadKind::ALL.len(), "{p:?} covers {seen:?}");
            assert_eq!(
                cases[0].workload(),
                WorkloadKind::Create,
                "{p:?} starts with create"
            );
        }
    }

    #[test]
    fn one_cpu_machines_get_same_cpu_only() {
        let m = Machine {
            allowed_cpus: vec![0],
            mem_available_bytes: Some(16 << 30),
        };
        assert!(plan_profile(Profile::Smoke, &m, Path::new("reports")).is_ok());
    }
}
