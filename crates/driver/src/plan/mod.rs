//! Validation: flags in, a plan of fully resolved cases out, before any
//! worker starts. One module per workload turns its flags into its cases;
//! the checks they share (CPUs, samples, worker counts, memory, placement)
//! live here. Every error names the flag, the value and what is allowed.

mod ring;

use crate::flags::Common;
use mpmt_core::schema::units::{fmt_bytes, fmt_count};
use mpmt_core::workloads::Case;
use mpmt_core::{Placement, WorkloadKind};

/// What the machine offers, as far as planning is concerned.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPUs this process may run on.
    pub allowed_cpus: Vec<u32>,
    pub mem_available_bytes: Option<u64>,
}

impl Machine {
    pub fn probe() -> Machine {
        Machine {
            allowed_cpus: mpmt_core::sys::affinity::allowed_cpus(),
            mem_available_bytes: mpmt_core::sys::proc::mem_available_bytes(),
        }
    }
}

/// The validated run.
#[derive(Debug)]
pub struct Plan {
    pub cases: Vec<Box<dyn Case>>,
    pub cpus: Vec<u32>,
}

/// Most workers any case may have.
pub const MAX_WORKERS: usize = 256;
/// Most samples per case (their values alone take 80 MB).
pub const MAX_SAMPLES: usize = 10_000_000;
/// Most increments of one counter case, all workers together (~2 h at the
/// fastest measured rate): W × K must stay well inside u64.
pub const MAX_TOTAL_INCREMENTS: u64 = 1 << 40;
/// Largest message or chunk (latency, bandwidth).
pub const MAX_MESSAGE_BYTES: u64 = 1 << 30;
/// Largest ctx-switch working set.
pub const MAX_WORKING_SET_BYTES: u64 = 1 << 34;
/// Most data-parallel elements (a 512 GiB array).
pub const MAX_ELEMENTS: u64 = 1 << 36;
/// Largest resident parent heap for create.
pub const MAX_PARENT_HEAP_BYTES: u64 = 1 << 40;

/// Refuses a size or count outside `lo..=hi`, naming the flag, the value
/// and the range (sizes in bytes when `bytes`). Runs before any sum or
/// product over the value, so nothing later can overflow.
fn bounded(flag: &str, v: u64, lo: u64, hi: u64, bytes: bool) -> Result<(), String> {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    let f = |x: u64| if bytes { fmt_bytes(x) } else { x.to_string() };
    // The value as the user wrote it (exact: 4097, not 4.0K).
    Err(format!(
        "{flag} {}: out of range; allowed: {} to {}",
        fmt_count(v),
        f(lo),
        f(hi)
    ))
}

/// The workloads `mpmt run` takes, one line each: the subcommand, its
/// flags (defined in its plan file, which also turns them into cases) and
/// its kind, whose description is the subcommand's help, as in `mpmt list`.
macro_rules! workloads {
    ($( $(#[$attr:meta])* $Var:ident($module:ident::$Args:ident) = $kind:expr ),+ $(,)?) => {
        $( mod $module; )+

        /// One subcommand per workload.
        #[derive(clap::Subcommand, Debug, Clone)]
        pub enum WorkloadArgs {
            $(
                #[command(about = $kind.describe())]
                $(#[$attr])*
                $Var($module::$Args),
            )+
        }

        impl WorkloadArgs {
            pub fn kind(&self) -> WorkloadKind {
                match self { $( WorkloadArgs::$Var(_) => $kind, )+ }
            }

            /// The flags every workload takes.
            pub fn common(&self) -> &Common {
                match self { $( WorkloadArgs::$Var(a) => &a.common, )+ }
            }

            pub fn common_mut(&mut self) -> &mut Common {
                match self { $( WorkloadArgs::$Var(a) => &mut a.common, )+ }
            }

            fn cases(&self, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
                match self { $( WorkloadArgs::$Var(a) => $module::cases(a, cpus, m), )+ }
            }
        }
    };
}

workloads! {
    CtxSwitch(ctx_switch::CtxSwitchArgs) = WorkloadKind::CtxSwitch,
    Latency(latency::LatencyArgs) = WorkloadKind::Latency,
    Bandwidth(bandwidth::BandwidthArgs) = WorkloadKind::Bandwidth,
    DataParallel(data_parallel::DataParallelArgs) = WorkloadKind::DataParallel,
    Counter(counter::CounterArgs) = WorkloadKind::Counter,
    Messaging(messaging::MessagingArgs) = WorkloadKind::Messaging,
    FalseSharing(false_sharing::FalseSharingArgs) = WorkloadKind::FalseSharing,
    #[command(alias = "spawn")]
    Create(create::CreateArgs) = WorkloadKind::Create,
    VmOps(vm_ops::VmOpsArgs) = WorkloadKind::VmOps,
    Memory(memory::MemoryArgs) = WorkloadKind::Memory,
    Cow(cow::CowArgs) = WorkloadKind::Cow,
    Crash(crash::CrashArgs) = WorkloadKind::Crash,
}

/// Turns one workload's flags into its cases, or says exactly what is wrong.
pub fn plan(w: &WorkloadArgs, m: &Machine) -> Result<Plan, String> {
    let cpus = cpus(w.common(), m)?;
    let cases = w.cases(&cpus, m)?;
    Ok(Plan {
        cases: distinct(cases),
        cpus,
    })
}

/// The cases with every repeat merged into its first (`--sizes 8K,8K`,
/// `--backend thread --backend fork,thread`, `--sizes 8K,8192`): a case
/// is known by its label, which names every dimension that tells it apart.
pub fn distinct(cases: Vec<Box<dyn Case>>) -> Vec<Box<dyn Case>> {
    let mut seen = std::collections::HashSet::new();
    cases
        .into_iter()
        .filter(|c| seen.insert(c.label()))
        .collect()
}

pub fn list<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The CPUs to use: `--cpus` checked against what the process may use.
fn cpus(c: &Common, m: &Machine) -> Result<Vec<u32>, String> {
    let cpus = if c.cpus.is_empty() {
        m.allowed_cpus.clone()
    } else {
        for &cpu in &c.cpus {
            if !m.allowed_cpus.contains(&cpu) {
                return Err(format!(
                    "--cpus {cpu}: CPU {cpu} does not exist or is not available to this process; available: {}",
                    list(&m.allowed_cpus)
                ));
            }
        }
        for (i, &cpu) in c.cpus.iter().enumerate() {
            if c.cpus[..i].contains(&cpu) {
                return Err(format!(
                    "--cpus {}: CPU {cpu} is listed twice",
                    list(&c.cpus)
                ));
            }
        }
        c.cpus.clone()
    };
    if cpus.is_empty() {
        return Err("no CPU is available to this process".into());
    }
    Ok(cpus)
}

/// `--samples`, or the workload's default.
fn samples(c: &Common, default: usize) -> Result<usize, String> {
    match c.samples {
        Some(0) => Err("--samples 0: at least 1 sample is needed; allowed: 1 to 10000000".into()),
        Some(n) => {
            bounded("--samples", n as u64, 1, MAX_SAMPLES as u64, false)?;
            Ok(n)
        }
        None => Ok(default),
    }
}

/// `--increments k` for workers `counts`: at least one, and the largest
/// case's workers × increments within [`MAX_TOTAL_INCREMENTS`].
fn check_increments(counts: &[usize], k: u64) -> Result<(), String> {
    if k == 0 {
        return Err(format!(
            "--increments 0: each worker must add at least once; allowed: 1 to {MAX_TOTAL_INCREMENTS}"
        ));
    }
    bounded("--increments", k, 1, MAX_TOTAL_INCREMENTS, false)?;
    if let Some(&w) = counts.iter().max() {
        if (w as u64).saturating_mul(k) > MAX_TOTAL_INCREMENTS {
            return Err(format!(
                "--workers {w} --increments {k}: {w} × {k} increments in one case is more than the {MAX_TOTAL_INCREMENTS} allowed; lower either"
            ));
        }
    }
    Ok(())
}

/// The values a list flag was given, or `default` when it was not.
fn given_or<T: Clone>(given: &[T], default: &[T]) -> Vec<T> {
    if given.is_empty() {
        default.to_vec()
    } else {
        given.to_vec()
    }
}

/// `--workers`, each within `min..=MAX_WORKERS`, or `default`.
fn workers(
    given: &[usize],
    min: usize,
    why: &str,
    default: Vec<usize>,
) -> Result<Vec<usize>, String> {
    for &n in given {
        if n < min {
            return Err(format!(
                "--workers {n}: {why}; allowed: {min} to {MAX_WORKERS}"
            ));
        }
        if n > MAX_WORKERS {
            return Err(format!(
                "--workers {n}: more workers than mpmt runs in one case; allowed: {min} to {MAX_WORKERS}"
            ));
        }
    }
    Ok(if given.is_empty() {
        default
    } else {
        given.to_vec()
    })
}

/// `--placement`, or `default` (with one CPU, same-cpu stands in for
/// cross-cpu).
fn placements(given: &[Placement], cpus: &[u32], default: &[Placement]) -> Vec<Placement> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let mut v: Vec<Placement> = default
        .iter()
        .copied()
        .filter(|&p| p != Placement::CrossCpu || cpus.len() >= 2)
        .collect();
    if v.is_empty() {
        v.push(Placement::SameCpu);
    }
    v
}

/// The member→CPU map of `p`, with the flag named if it cannot exist.
fn cpu_map(p: Placement, n: usize, cpus: &[u32]) -> Result<Vec<Option<u32>>, String> {
    mpmt_core::sys::affinity::cpu_map(p, n, cpus).map_err(|e| {
        format!("--placement {p}: {e}; choose same-cpu or os, or give --cpus two CPUs")
    })
}

/// Refuses `case` if the machine lacks the memory it needs, naming `flag`.
fn memory_error(case: &dyn Case, m: &Machine, flag: String) -> Result<(), String> {
    match m.mem_available_bytes {
        Some(avail) if case.memory_bytes() > avail => Err(format!(
            "{flag}: `{}` needs {} of memory but only {} is available",
            case.label(),
            fmt_bytes(case.memory_bytes()),
            fmt_bytes(avail)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) fn machine() -> Machine {
    Machine {
        allowed_cpus: vec![0, 1],
        mem_available_bytes: Some(8 << 30),
    }
}

#[cfg(test)]
mod registry_tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn every_workload_kind_is_one_subcommand_of_its_name() {
        let cmd =
            <WorkloadArgs as clap::Subcommand>::augment_subcommands(clap::Command::new("run"));
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        let kinds: Vec<&str> = WorkloadKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, kinds);
        for &k in WorkloadKind::ALL {
            let cli = crate::cli::Cli::try_parse_from(["mpmt", "run", k.name()]).unwrap();
            let crate::cli::Command::Run(r) = cli.command else {
                panic!("not a run")
            };
            assert_eq!(r.workload.kind(), k);
            let about = cmd
                .find_subcommand(k.name())
                .and_then(|c| c.get_about())
                .map(|a| a.to_string());
            assert_eq!(about.as_deref(), Some(k.describe()), "{k}");
        }
    }
}
