//! Validation: flags in, a plan of fully resolved tasks out, before any
//! worker starts. Every error names the flag, the value and what is allowed.

use crate::cli::RunArgs;
use mpmt_core::counter::{CounterCase, Mode};
use mpmt_core::creation::{Method, SpawnCase};
use mpmt_core::dataparallel::{DpCase, Variant};
use mpmt_core::units::{fmt_bytes, fmt_count};
use mpmt_core::workload::{channels_for, check_combination};
use mpmt_core::{BackendKind, Case, ChannelKind, Placement, Task, Workload};

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
            allowed_cpus: mpmt_core::env::allowed_cpus(),
            mem_available_bytes: mpmt_core::sys::mem_available_bytes(),
        }
    }
}

/// The validated run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tasks: Vec<Task>,
    pub cpus: Vec<u32>,
}

const MAX_WORKERS: usize = 256;

fn list<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses names with `parse`, or says which names exist.
fn names<T: Copy>(
    flag: &str,
    given: &[String],
    what: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>, String> {
    given
        .iter()
        .map(|g| {
            all.iter().copied().find(|x| name(*x) == g).ok_or_else(|| {
                format!(
                    "{flag} {g}: `{g}` is not a {what}; expected one of: {}",
                    all.iter().map(|x| name(*x)).collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect()
}

/// Refuses a flag, given as `shown`, that the workload does not use.
fn not_for(
    w: Workload,
    flag: &str,
    shown: Option<String>,
    used_by: &[Workload],
) -> Result<(), String> {
    match shown {
        Some(v) if !used_by.contains(&w) => {
            let hint = if w == Workload::CtxSwitch && flag == "--sizes" {
                " (ctx-switch passes an 8-byte token; use --working-set to give each worker memory to touch)"
            } else {
                ""
            };
            let users: Vec<&str> = used_by.iter().map(|x| x.name()).collect();
            Err(format!(
                "{flag} {v}: does not apply to {w}; it is used by: {}{hint}",
                users.join(", ")
            ))
        }
        _ => Ok(()),
    }
}

/// The flag's values as typed (comma list), if any were given.
fn shown<T: ToString>(v: &[T]) -> Option<String> {
    (!v.is_empty()).then(|| list(v))
}

fn default_sizes(w: Workload) -> Vec<u64> {
    match w {
        Workload::Latency => vec![8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20],
        Workload::Bandwidth => vec![4 << 10, 64 << 10, 1 << 20, 16 << 20],
        _ => vec![mpmt_core::workload::TOKEN_BYTES as u64],
    }
}

fn check_memory(need: u64, avail: Option<u64>, flag: String, label: String) -> Result<(), String> {
    match avail {
        Some(a) if need > a => Err(format!(
            "{flag}: `{label}` needs {} of memory but only {} is available",
            fmt_bytes(need),
            fmt_bytes(a)
        )),
        _ => Ok(()),
    }
}

/// Turns flags into tasks, or says exactly what is wrong.
pub fn plan(a: &RunArgs, m: &Machine) -> Result<Plan, String> {
    use Workload::*;
    let w = a.workload;
    let ring = [CtxSwitch, Latency, Bandwidth];
    let channels: Vec<&str> = a.channel.iter().map(|c| c.name()).collect();
    not_for(w, "--channel", shown(&channels), &ring)?;
    not_for(w, "--sizes", shown(&a.sizes), &[Latency, Bandwidth])?;
    not_for(w, "--working-set", shown(&a.working_set), &[CtxSwitch])?;
    not_for(w, "--variant", shown(&a.variant), &[DataParallel])?;
    not_for(w, "--elements", shown(&a.elements), &[DataParallel])?;
    let with_backend = [CtxSwitch, Latency, Bandwidth, Counter, Spawn];
    not_for(w, "--backend", shown(&a.backend), &with_backend)?;
    not_for(w, "--mode", shown(&a.mode), &[Counter])?;
    not_for(
        w,
        "--increments",
        a.increments.map(|k| k.to_string()),
        &[Counter],
    )?;
    not_for(w, "--parent-heap", shown(&a.parent_heap), &[Spawn])?;

    // CPUs.
    let cpus = if a.cpus.is_empty() {
        m.allowed_cpus.clone()
    } else {
        for &c in &a.cpus {
            if !m.allowed_cpus.contains(&c) {
                return Err(format!(
                    "--cpus {c}: CPU {c} does not exist or is not available to this process; available: {}",
                    list(&m.allowed_cpus)
                ));
            }
        }
        for (i, &c) in a.cpus.iter().enumerate() {
            if a.cpus[..i].contains(&c) {
                return Err(format!("--cpus {}: CPU {c} is listed twice", list(&a.cpus)));
            }
        }
        a.cpus.clone()
    };
    if cpus.is_empty() {
        return Err("no CPU is available to this process".into());
    }

    // Workers.
    let min_workers = if w == CtxSwitch { 2 } else { 1 };
    for &n in &a.workers {
        if n < min_workers || n > MAX_WORKERS {
            let why = if w == CtxSwitch {
                "a ring needs at least 2 workers (the initiator and one peer)"
            } else {
                "at least one worker is needed"
            };
            return Err(format!(
                "--workers {n}: {why}; allowed: {min_workers} to {MAX_WORKERS}"
            ));
        }
    }
    if matches!(w, Latency | Bandwidth) && !a.workers.is_empty() && a.workers != [2] {
        return Err(format!(
            "--workers {}: {w} runs between exactly 2 workers; --workers sets the ring size of ctx-switch",
            list(&a.workers)
        ));
    }
    let workers = if !a.workers.is_empty() {
        a.workers.clone()
    } else {
        match w {
            DataParallel => {
                let mut v = vec![1];
                while v[v.len() - 1] * 2 <= 2 * cpus.len() {
                    v.push(v[v.len() - 1] * 2);
                }
                v
            }
            Counter => vec![50],
            Spawn => vec![4],
            _ => vec![2],
        }
    };

    let samples = match a.samples {
        Some(0) => return Err("--samples 0: at least 1 sample is needed".into()),
        Some(n) => n,
        None => w.default_samples(),
    };

    let placements = if !a.placement.is_empty() {
        a.placement.clone()
    } else if matches!(w, DataParallel | Spawn) || cpus.len() < 2 {
        vec![if w == Spawn || w == DataParallel {
            Placement::Os
        } else {
            Placement::SameCpu
        }]
    } else {
        vec![Placement::SameCpu, Placement::CrossCpu]
    };
    let cpu_map = |p: Placement, n: usize| {
        p.cpu_map(n, &cpus).map_err(|e| {
            format!("--placement {p}: {e}; choose same-cpu or os, or give --cpus two CPUs")
        })
    };

    let mut tasks = Vec::new();
    match w {
        CtxSwitch | Latency | Bandwidth => {
            let backends = if a.backend.is_empty() {
                BackendKind::ALL.to_vec()
            } else {
                names(
                    "--backend",
                    &a.backend,
                    "backend",
                    &BackendKind::ALL,
                    BackendKind::name,
                )?
            };
            let sizes = if a.sizes.is_empty() {
                default_sizes(w)
            } else {
                a.sizes.clone()
            };
            for &s in &sizes {
                if s < mpmt_core::pattern::MIN_MESSAGE_BYTES as u64 {
                    return Err(format!(
                        "--sizes {s}: every message carries an 8-byte sequence header, so sizes start at 8 bytes"
                    ));
                }
            }
            let working_sets = if a.working_set.is_empty() {
                vec![0]
            } else {
                a.working_set.clone()
            };
            let channels = if a.channel.is_empty() {
                w.channels()
            } else {
                a.channel.clone()
            };
            let (b_exp, c_exp, p_exp) = (
                !a.backend.is_empty(),
                !a.channel.is_empty(),
                !a.placement.is_empty(),
            );
            for &n in &workers {
                for &ws in &working_sets {
                    for &size in &sizes {
                        for &b in &backends {
                            for &c in &channels {
                                for &p in &placements {
                                    if let Err(why) = check_combination(w, b, c, p) {
                                        // Refuse only what the user asked for by
                                        // name; defaults leave out what cannot exist.
                                        let explicit = if !channels_for(b).contains(&c) {
                                            b_exp && c_exp
                                        } else if !w.channels().contains(&c) {
                                            c_exp
                                        } else {
                                            c_exp && p_exp
                                        };
                                        if explicit {
                                            return Err(why);
                                        }
                                        continue;
                                    }
                                    tasks.push(Task::Ring(Case {
                                        workload: w,
                                        backend: b,
                                        channel: c,
                                        placement: p,
                                        cpus: cpu_map(p, n)?,
                                        workers: n,
                                        size_bytes: size as usize,
                                        working_set_bytes: ws as usize,
                                        samples,
                                    }));
                                }
                            }
                        }
                    }
                }
            }
            if tasks.is_empty() {
                return Err(format!(
                    "no valid combination in --backend {} --channel {} --placement {}; run `mpmt list` to see which combinations exist",
                    list(&backends),
                    list(&channels),
                    list(&placements)
                ));
            }
            let biggest = tasks.iter().filter_map(|t| match t {
                Task::Ring(c) => Some(c),
                _ => None,
            });
            if let Some(c) = biggest.max_by_key(|c| c.memory_bytes()) {
                let flag = if w == CtxSwitch {
                    format!("--working-set {}", fmt_bytes(c.working_set_bytes as u64))
                } else {
                    format!("--sizes {}", fmt_bytes(c.size_bytes as u64))
                };
                check_memory(c.memory_bytes(), m.mem_available_bytes, flag, c.label())?;
            }
        }
        DataParallel => {
            let variants = if a.variant.is_empty() {
                Variant::ALL.to_vec()
            } else {
                names(
                    "--variant",
                    &a.variant,
                    "data-parallel variant",
                    &Variant::ALL,
                    Variant::name,
                )?
            };
            let elements = if a.elements.is_empty() {
                vec![1 << 10, 32 << 10, 1 << 20, 16 << 20]
            } else {
                a.elements.clone()
            };
            for &e in &elements {
                if e == 0 {
                    return Err("--elements 0: the array needs at least 1 element".into());
                }
                for &v in &variants {
                    check_memory(
                        v.memory_bytes(e as usize),
                        m.mem_available_bytes,
                        format!("--elements {}", fmt_count(e)),
                        format!("data-parallel {v} with {} elements", fmt_count(e)),
                    )?;
                }
            }
            for &e in &elements {
                for &v in &variants {
                    for &n in &workers {
                        for &p in &placements {
                            tasks.push(Task::DataParallel(DpCase {
                                variant: v,
                                workers: n,
                                elements: e as usize,
                                placement: p,
                                cpus: cpu_map(p, n)?,
                                samples,
                            }));
                        }
                    }
                }
            }
        }
        Counter => {
            let backends = if a.backend.is_empty() {
                BackendKind::ALL.to_vec()
            } else {
                names(
                    "--backend",
                    &a.backend,
                    "backend",
                    &BackendKind::ALL,
                    BackendKind::name,
                )?
            };
            let modes = if a.mode.is_empty() {
                Mode::ALL.to_vec()
            } else {
                names("--mode", &a.mode, "counter mode", &Mode::ALL, Mode::name)?
            };
            let k = a.increments.unwrap_or(100_000);
            if k == 0 {
                return Err("--increments 0: each worker must add at least once".into());
            }
            for &mode in &modes {
                for &b in &backends {
                    for &p in &placements {
                        for &n in &workers {
                            tasks.push(Task::Counter(CounterCase {
                                backend: b,
                                mode,
                                workers: n,
                                increments: k,
                                placement: p,
                                cpus: cpu_map(p, n)?,
                                samples,
                                kill_lock_holder_after: None,
                            }));
                        }
                    }
                }
            }
        }
        Spawn => {
            let methods = if a.backend.is_empty() {
                Method::ALL.to_vec()
            } else {
                names(
                    "--backend",
                    &a.backend,
                    "creation method",
                    &Method::ALL,
                    Method::name,
                )?
            };
            if let Some(p) = placements.iter().find(|&&p| p == Placement::CrossCpu) {
                return Err(format!(
                    "--placement {p}: spawn measures creating a worker, which starts where its parent runs; use same-cpu or os"
                ));
            }
            let heaps = if a.parent_heap.is_empty() {
                vec![0, 64 << 20, 1 << 30]
            } else {
                a.parent_heap.clone()
            };
            for &h in &heaps {
                check_memory(
                    h,
                    m.mem_available_bytes,
                    format!("--parent-heap {}", fmt_bytes(h)),
                    format!("a parent heap of {}", fmt_bytes(h)),
                )?;
            }
            for &h in &heaps {
                for &method in &methods {
                    for &p in &placements {
                        for &n in &workers {
                            tasks.push(Task::Spawn(SpawnCase {
                                method,
                                parent_heap_bytes: h as usize,
                                samples,
                                alive: n,
                                placement: p,
                                cpu: cpu_map(p, 1)?[0],
                            }));
                        }
                    }
                }
            }
        }
    }
    Ok(Plan { tasks, cpus })
}

/// For `mpmt list`: every backend × channel pair and whether it is valid.
pub fn combinations() -> Vec<(BackendKind, ChannelKind, bool)> {
    BackendKind::ALL
        .iter()
        .flat_map(|&b| {
            ChannelKind::ALL
                .iter()
                .map(move |&c| (b, c, channels_for(b).contains(&c)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn args(w: Workload) -> RunArgs {
        RunArgs::defaults(w, Path::new("reports"))
    }

    fn machine() -> Machine {
        Machine {
            allowed_cpus: vec![0, 1],
            mem_available_bytes: Some(8 << 30),
        }
    }

    fn rings(p: &Plan) -> Vec<&Case> {
        p.tasks
            .iter()
            .filter_map(|t| match t {
                Task::Ring(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn default_ctx_switch_matrix() {
        let p = plan(&args(Workload::CtxSwitch), &machine()).unwrap();
        // thread: 5 blocking channels, fork/spawn: 4 each; 2 placements.
        assert_eq!(p.tasks.len(), (5 + 4 + 4) * 2);
        assert!(rings(&p).iter().all(|c| c.channel != ChannelKind::ShmSpin));
    }

    #[test]
    fn default_latency_skips_spin_same_cpu() {
        let p = plan(&args(Workload::Latency), &machine()).unwrap();
        assert!(!rings(&p)
            .iter()
            .any(|c| c.channel == ChannelKind::ShmSpin && c.placement == Placement::SameCpu));
        // (6 + 5 + 5) pairs × 2 placements − 3 spin/same-cpu, × 7 sizes.
        assert_eq!(p.tasks.len(), ((6 + 5 + 5) * 2 - 3) * 7);
    }

    #[test]
    fn explicit_invalid_pair_is_refused() {
        let mut a = args(Workload::Latency);
        a.backend = vec!["fork".into()];
        a.channel = vec![ChannelKind::Heap];
        let e = plan(&a, &machine()).unwrap_err();
        assert!(
            e.contains("heap") && e.contains("Valid channels for fork"),
            "{e}"
        );
    }

    #[test]
    fn one_cpu_refuses_cross_cpu() {
        let mut a = args(Workload::Latency);
        a.placement = vec![Placement::CrossCpu];
        a.cpus = vec![1];
        let e = plan(&a, &machine()).unwrap_err();
        assert!(
            e.contains("--placement cross-cpu") && e.contains("at least 2 CPUs"),
            "{e}"
        );
    }

    #[test]
    fn too_large_for_memory() {
        let mut a = args(Workload::Bandwidth);
        a.sizes = vec![1 << 40];
        let e = plan(&a, &machine()).unwrap_err();
        assert!(
            e.contains("--sizes 1024G") && e.contains("available"),
            "{e}"
        );
    }

    #[test]
    fn data_parallel_defaults_sweep_workers_to_twice_the_cpus() {
        let p = plan(&args(Workload::DataParallel), &machine()).unwrap();
        // 4 sizes × 6 variants × W ∈ {1, 2, 4} × os.
        assert_eq!(p.tasks.len(), 4 * 6 * 3);
        let mut a = args(Workload::DataParallel);
        a.elements = vec![0];
        assert!(plan(&a, &machine()).unwrap_err().contains("--elements 0"));
        a.elements = vec![1 << 30];
        let e = plan(&a, &machine()).unwrap_err();
        assert!(
            e.contains("--elements 1G") && e.contains("available"),
            "{e}"
        );
    }

    #[test]
    fn counter_defaults_and_bad_mode() {
        let p = plan(&args(Workload::Counter), &machine()).unwrap();
        assert_eq!(p.tasks.len(), 4 * 3 * 2);
        let mut a = args(Workload::Counter);
        a.mode = vec!["sloppy".into()];
        let e = plan(&a, &machine()).unwrap_err();
        assert!(
            e.contains("--mode sloppy") && e.contains("racy, atomic, mutex, mutex-batch"),
            "{e}"
        );
    }

    #[test]
    fn flags_for_other_workloads_are_refused() {
        let mut a = args(Workload::Counter);
        a.sizes = vec![64];
        let e = plan(&a, &machine()).unwrap_err();
        assert!(e.contains("--sizes 64: does not apply to counter"), "{e}");
    }
}
