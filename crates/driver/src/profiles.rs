//! Suite profiles, as data: each profile is a list of `mpmt run` command
//! lines, parsed and planned exactly as a user's would be. `smoke` takes
//! seconds (tests), `quick` under a minute, `default` (what `make bench`
//! runs) under five minutes on 2 vCPUs, `full` as long as it needs. A
//! profile only changes sweeps and samples. `{both}` stands for
//! `same-cpu,cross-cpu` (or `same-cpu` on a one-CPU machine), `{all}` for
//! those and `os`, `{spread}` for `cross-cpu` (or `same-cpu` on one CPU).
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
    "vm-ops --ops 20 --placement {both} --samples 1",
    "memory --workers 2 --private 0,1M --shared 0,4M --samples 1",
    "cow --parent-heap 4M --write 0,10%,100% --thp off --samples 1",
    "crash --workers 3 --units 8 --samples 1",
];

// Under a minute (its budget is 50 s) with every workload and channel:
// ring sweeps take their second size on one CPU only, data-parallel two
// sizes, counter 4 workers, and messaging one group.
const QUICK: &[&str] = &[
    "create --parent-heap 0,64M --samples 20",
    "ctx-switch --samples 100",
    "ctx-switch --channel pipe,shm-futex --placement same-cpu --working-set 256K --working-set-sharing private,shared --samples 100",
    "latency --sizes 8 --samples 300",
    "latency --sizes 64K --placement same-cpu --samples 300",
    "bandwidth --sizes 64K --placement same-cpu",
    "data-parallel --elements 1K,4M --workers 1,2 --samples 3",
    "counter --workers 4 --increments 500K --placement {both} --samples 1",
    "false-sharing --increments 1M --placement {both} --samples 1",
    "messaging --groups 1 --loops 50 --placement os",
    "vm-ops --op page-fault,mmap,madvise,mprotect --placement {spread} --samples 1",
    "memory --workers 4 --private 0 --shared 0,64M --samples 1",
    "cow --parent-heap 64M --write 100% --writer child,thread --thp off --samples 1",
    "crash --fault segv,panic --units 64 --samples 1",
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
    "vm-ops --placement {spread} --samples 2",
    "memory --workers 4,16 --samples 1",
    "cow --parent-heap 256M --thp off --samples 2",
    "cow --parent-heap 256M --thp on --write 0,100% --writer child --samples 2",
    "crash --units 64 --samples 2",
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
    "vm-ops --placement {all}",
    "memory --workers 1,4,16,64",
    "cow --parent-heap 64M,1G",
    "crash --workers 4,16",
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
    // Where a sibling on another CPU is the point (vm-ops' shootdowns).
    let spread = if m.allowed_cpus.len() >= 2 {
        "cross-cpu"
    } else {
        "same-cpu"
    };
    p.lines()
        .iter()
        .map(|line| {
            let line = line
                .replace("{both}", both)
                .replace("{all}", &all)
                .replace("{spread}", spread);
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

impl Profile {
    /// The profile's time budget unless --budget is given: `make bench`
    /// (default) measures for 4 min 30 s, leaving room for the build and
    /// the report within five minutes; quick 50 s; smoke and full none.
    pub fn budget(self) -> Option<std::time::Duration> {
        use std::time::Duration;
        match self {
            Profile::Quick => Some(Duration::from_secs(50)),
            Profile::Default => Some(Duration::from_secs(270)),
            Profile::Smoke | Profile::Full => None,
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

    #[test]
    fn the_default_profile_declares_which_cases_verdicts_read() {
        use mpmt_core::workloads::Role;
        let m = Machine {
            allowed_cpus: vec![0, 1],
            mem_available_bytes: Some(16 << 30),
        };
        let cases = plan_profile(Profile::Default, &m, Path::new("reports"))
            .unwrap()
            .cases;
        let verdicts = |w: WorkloadKind| -> Vec<String> {
            cases
                .iter()
                .filter(|c| c.workload() == w && c.role() == Role::Verdict)
                .map(|c| c.label())
                .collect()
        };
        let all = |w: WorkloadKind| cases.iter().filter(|c| c.workload() == w).count();
        for w in [
            WorkloadKind::CtxSwitch,
            WorkloadKind::Counter,
            WorkloadKind::FalseSharing,
            WorkloadKind::Messaging,
        ] {
            assert_eq!(verdicts(w).len(), all(w), "{w}: every case is read");
        }
        assert_eq!(
            verdicts(WorkloadKind::Latency),
            [
                "latency thread pipe same-cpu 8B",
                "latency fork pipe same-cpu 8B"
            ]
        );
        assert_eq!(
            verdicts(WorkloadKind::Bandwidth),
            [
                "bandwidth thread pipe same-cpu 64K",
                "bandwidth fork pipe same-cpu 64K"
            ]
        );
        assert!(verdicts(WorkloadKind::DataParallel)
            .iter()
            .all(|l| l.ends_with("e=16M")));
        assert_eq!(verdicts(WorkloadKind::DataParallel).len(), 18);
        let create = verdicts(WorkloadKind::Create);
        assert_eq!(create.len(), 12);
        assert!(create.iter().all(|l| !l.contains("heap=64M")), "{create:?}");
        // The points, and the order a short budget drops them in.
        let point = |label: &str| {
            cases
                .iter()
                .find(|c| c.label() == label)
                .and_then(|c| match c.role() {
                    Role::Curve(p) => Some(p),
                    Role::Verdict => None,
                })
                .unwrap_or_else(|| panic!("{label} is not a curve point"))
        };
        let bw_1m_cross = point("bandwidth thread pipe cross-cpu 1M");
        let bw_1m_same = point("bandwidth spawn unix-socket same-cpu 1M transfer-only");
        let bw_64k = point("bandwidth thread pipe cross-cpu 64K");
        let dp_1m = point("data-parallel fork-shm os w=2 e=1M");
        let heap = point("create fork os heap=64M");
        assert_eq!(bw_1m_cross.name, "bandwidth 1M cross-cpu");
        assert_eq!(bw_1m_same.name, "bandwidth 1M same-cpu");
        assert_eq!(heap.name, "create heap=64M");
        assert!(dp_1m.rank > bw_1m_cross.rank, "8 MiB of array first");
        assert!(bw_1m_cross.rank > bw_1m_same.rank);
        assert!(bw_1m_same.rank > bw_64k.rank);
        assert!(bw_64k.rank > heap.rank, "sizes before heaps");
    }
}
