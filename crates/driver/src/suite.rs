//! Suite profiles: every workload, with sweeps and sample counts sized to a
//! time budget on a 2-vCPU machine. `smoke` takes seconds (tests), `quick`
//! under a minute, `default` (what `make bench` runs) under five minutes,
//! `full` as long as it needs. A profile only changes sweeps and samples.

use crate::cli::RunArgs;
use crate::plan::{self, Machine};
use clap::ValueEnum;
use mpmt_core::{Placement, Task, Workload};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Smoke,
    Quick,
    Default,
    Full,
}

fn base(w: Workload, out: &Path) -> RunArgs {
    RunArgs::defaults(w, out)
}

const K: u64 = 1 << 10;
const M: u64 = 1 << 20;
const G: u64 = 1 << 30;

/// The run arguments of each workload under `p`.
pub fn args(p: Profile, m: &Machine, out: &Path) -> Vec<RunArgs> {
    use mpmt_core::ChannelKind::*;
    use Workload::*;
    let two_cpus = m.allowed_cpus.len() >= 2;
    let both = if two_cpus {
        vec![Placement::SameCpu, Placement::CrossCpu]
    } else {
        vec![Placement::SameCpu]
    };
    let mut v = Vec::new();
    match p {
        Profile::Smoke => {
            let mut a = base(CtxSwitch, out);
            a.channel = vec![Pipe, ShmFutex];
            a.placement = vec![Placement::SameCpu];
            a.working_set = vec![0, 16 * K];
            a.samples = Some(20);
            v.push(a);
            let mut a = base(Latency, out);
            a.channel = vec![Pipe, ShmFutex];
            a.placement = vec![Placement::SameCpu];
            a.sizes = vec![8, 4 * K];
            a.samples = Some(50);
            v.push(a);
            let mut a = base(Bandwidth, out);
            a.channel = vec![Pipe, ShmFutex];
            a.placement = vec![Placement::SameCpu];
            a.sizes = vec![64 * K];
            a.samples = Some(5);
            v.push(a);
            let mut a = base(DataParallel, out);
            a.elements = vec![K, 16 * K];
            a.workers = vec![1, 2];
            a.samples = Some(1);
            v.push(a);
            let mut a = base(Counter, out);
            a.workers = vec![4];
            a.increments = Some(2000);
            a.placement = both.clone();
            a.samples = Some(1);
            v.push(a);
            let mut a = base(Spawn, out);
            a.parent_heap = vec![0, M];
            a.workers = vec![2];
            a.samples = Some(3);
            v.push(a);
        }
        Profile::Quick => {
            let mut a = base(CtxSwitch, out);
            a.working_set = vec![0, 256 * K];
            a.samples = Some(100);
            v.push(a);
            let mut a = base(Latency, out);
            a.sizes = vec![8, K, 64 * K, M];
            a.samples = Some(300);
            v.push(a);
            let mut a = base(Bandwidth, out);
            a.sizes = vec![64 * K, M];
            a.samples = Some(20);
            v.push(a);
            let mut a = base(DataParallel, out);
            a.elements = vec![K, 64 * K, M, 4 * M];
            a.workers = vec![1, 2];
            a.samples = Some(3);
            v.push(a);
            let mut a = base(Counter, out);
            a.placement = both.clone();
            a.samples = Some(1);
            v.push(a);
            let mut a = base(Spawn, out);
            a.parent_heap = vec![0, 64 * M];
            a.samples = Some(20);
            v.push(a);
        }
        Profile::Default => {
            let mut a = base(CtxSwitch, out);
            a.working_set = vec![0, 64 * K, M, 4 * M];
            v.push(a);
            v.push(base(Latency, out));
            v.push(base(Bandwidth, out));
            v.push(base(DataParallel, out));
            let mut a = base(Counter, out);
            a.placement = both.clone();
            v.push(a);
            v.push(base(Spawn, out));
        }
        Profile::Full => {
            let mut a = base(CtxSwitch, out);
            a.workers = vec![2, 4, 8];
            a.working_set = vec![0, 16 * K, 64 * K, 256 * K, M, 4 * M];
            v.push(a);
            let mut a = base(Latency, out);
            a.placement = [both.clone(), vec![Placement::Os]].concat();
            v.push(a);
            let mut a = base(Bandwidth, out);
            a.placement = [both.clone(), vec![Placement::Os]].concat();
            v.push(a);
            let mut a = base(DataParallel, out);
            a.elements = vec![K, 32 * K, M, 16 * M, 128 * M];
            v.push(a);
            let mut a = base(Counter, out);
            a.placement = [both, vec![Placement::Os]].concat();
            a.samples = Some(5);
            v.push(a);
            let mut a = base(Spawn, out);
            a.parent_heap = vec![0, 64 * M, G, 2 * G];
            v.push(a);
        }
    }
    // Creation cost first, while the parent is smallest: fork's cost grows
    // with everything the parent has resident.
    v.sort_by_key(|a| a.workload != Spawn);
    v
}

/// Every task of the profile, validated like `mpmt run`.
pub fn tasks(p: Profile, m: &Machine, out: &Path) -> Result<(Vec<Task>, Vec<u32>), String> {
    let mut all = Vec::new();
    let mut cpus = m.allowed_cpus.clone();
    for a in args(p, m, out) {
        let plan = plan::plan(&a, m).map_err(|e| format!("profile {p:?}, {}: {e}", a.workload))?;
        cpus = plan.cpus;
        all.extend(plan.tasks);
    }
    Ok((all, cpus))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let (tasks, _) = tasks(p, &m, Path::new("reports")).unwrap();
            let mut seen: Vec<&str> = tasks
                .iter()
                .map(|t| match t {
                    Task::Ring(c) => c.workload.name(),
                    Task::DataParallel(_) => "data-parallel",
                    Task::Counter(_) => "counter",
                    Task::Spawn(_) => "spawn",
                })
                .collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 6, "{p:?} covers {seen:?}");
        }
    }
}
