//! Validation: flags in, a plan of fully resolved cases out, before any
//! worker starts. Every error names the flag, the value and what is allowed.

use crate::cli::RunArgs;
use mpmt_core::units::fmt_bytes;
use mpmt_core::workload::{channels_for, check_combination};
use mpmt_core::{BackendKind, Case, ChannelKind, Placement, Workload};

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
    pub cases: Vec<Case>,
    pub cpus: Vec<u32>,
}

const MAX_WORKERS: usize = 256;

fn list<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn default_sizes(w: Workload) -> Vec<u64> {
    match w {
        Workload::Latency => vec![8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20],
        Workload::Bandwidth => vec![4 << 10, 64 << 10, 1 << 20, 16 << 20],
        Workload::CtxSwitch => vec![mpmt_core::workload::TOKEN_BYTES as u64],
    }
}

/// Turns flags into cases, or says exactly what is wrong.
pub fn plan(a: &RunArgs, m: &Machine) -> Result<Plan, String> {
    let w = a.workload;

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
        let mut seen = Vec::new();
        for &c in &a.cpus {
            if seen.contains(&c) {
                return Err(format!("--cpus {}: CPU {c} is listed twice", list(&a.cpus)));
            }
            seen.push(c);
        }
        a.cpus.clone()
    };
    if cpus.is_empty() {
        return Err("no CPU is available to this process".into());
    }

    // Workers.
    let workers = if a.workers.is_empty() {
        vec![2]
    } else {
        for &n in &a.workers {
            if n < 2 {
                return Err(format!(
                    "--workers {n}: a ring needs at least 2 workers (the initiator and one peer); allowed: 2 to {MAX_WORKERS}"
                ));
            }
            if n > MAX_WORKERS {
                return Err(format!(
                    "--workers {n}: at most {MAX_WORKERS} workers are allowed"
                ));
            }
        }
        if w != Workload::CtxSwitch && a.workers != [2] {
            return Err(format!(
                "--workers {}: {w} runs between exactly 2 workers; --workers sets the ring size of ctx-switch",
                list(&a.workers)
            ));
        }
        a.workers.clone()
    };

    // Sizes.
    let sizes = if a.sizes.is_empty() {
        default_sizes(w)
    } else {
        if w == Workload::CtxSwitch {
            return Err(format!(
                "--sizes {}: ctx-switch passes an 8-byte token; use --working-set to give each worker memory to touch",
                list(&a.sizes)
            ));
        }
        for &s in &a.sizes {
            if s < mpmt_core::pattern::MIN_MESSAGE_BYTES as u64 {
                return Err(format!(
                    "--sizes {s}: every message carries an 8-byte sequence header, so sizes start at 8 bytes"
                ));
            }
        }
        a.sizes.clone()
    };

    // Working sets.
    let working_sets = if a.working_set.is_empty() {
        vec![0]
    } else {
        if w != Workload::CtxSwitch {
            return Err(format!(
                "--working-set {}: only ctx-switch has a working set",
                list(&a.working_set)
            ));
        }
        a.working_set.clone()
    };

    let samples = match a.samples {
        Some(0) => return Err("--samples 0: at least 1 sample is needed".into()),
        Some(n) => n,
        None => w.default_samples(),
    };

    let backends = if a.backend.is_empty() {
        BackendKind::ALL.to_vec()
    } else {
        a.backend.clone()
    };
    let channels = if a.channel.is_empty() {
        w.channels()
    } else {
        a.channel.clone()
    };
    let placements = if a.placement.is_empty() {
        if cpus.len() >= 2 {
            vec![Placement::SameCpu, Placement::CrossCpu]
        } else {
            vec![Placement::SameCpu]
        }
    } else {
        a.placement.clone()
    };

    let (b_exp, c_exp, p_exp) = (
        !a.backend.is_empty(),
        !a.channel.is_empty(),
        !a.placement.is_empty(),
    );
    let mut cases = Vec::new();
    for &n in &workers {
        for &ws in &working_sets {
            for &size in &sizes {
                for &b in &backends {
                    for &c in &channels {
                        for &p in &placements {
                            if let Err(why) = check_combination(w, b, c, p) {
                                // Refuse only what the user asked for by name;
                                // defaults leave out what cannot exist.
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
                            let cpu_map = p.cpu_map(n, &cpus).map_err(|e| {
                                format!("--placement {p}: {e}; choose same-cpu or os, or give --cpus two CPUs")
                            })?;
                            cases.push(Case {
                                workload: w,
                                backend: b,
                                channel: c,
                                placement: p,
                                cpus: cpu_map,
                                workers: n,
                                size_bytes: size as usize,
                                working_set_bytes: ws as usize,
                                samples,
                            });
                        }
                    }
                }
            }
        }
    }
    if cases.is_empty() {
        return Err(format!(
            "no valid combination in --backend {} --channel {} --placement {}; run `mpmt list` to see which combinations exist",
            list(&backends),
            list(&channels),
            list(&placements)
        ));
    }
    if let Some(avail) = m.mem_available_bytes {
        if let Some(c) = cases.iter().max_by_key(|c| c.memory_bytes()) {
            if c.memory_bytes() > avail {
                let flag = if w == Workload::CtxSwitch {
                    format!("--working-set {}", fmt_bytes(c.working_set_bytes as u64))
                } else {
                    format!("--sizes {}", fmt_bytes(c.size_bytes as u64))
                };
                return Err(format!(
                    "{flag}: the case `{}` needs {} of memory but only {} is available",
                    c.label(),
                    fmt_bytes(c.memory_bytes()),
                    fmt_bytes(avail)
                ));
            }
        }
    }
    Ok(Plan { cases, cpus })
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
    use std::path::PathBuf;

    fn args(w: Workload) -> RunArgs {
        RunArgs {
            workload: w,
            backend: vec![],
            channel: vec![],
            placement: vec![],
            workers: vec![],
            sizes: vec![],
            working_set: vec![],
            samples: None,
            cpus: vec![],
            out: PathBuf::from("reports"),
        }
    }

    fn machine() -> Machine {
        Machine {
            allowed_cpus: vec![0, 1],
            mem_available_bytes: Some(1 << 30),
        }
    }

    #[test]
    fn default_ctx_switch_matrix() {
        let p = plan(&args(Workload::CtxSwitch), &machine()).unwrap();
        // thread: 5 blocking channels, fork/spawn: 4 each; 2 placements.
        assert_eq!(p.cases.len(), (5 + 4 + 4) * 2);
        assert!(p.cases.iter().all(|c| c.channel != ChannelKind::ShmSpin));
    }

    #[test]
    fn default_latency_skips_spin_same_cpu() {
        let p = plan(&args(Workload::Latency), &machine()).unwrap();
        assert!(!p
            .cases
            .iter()
            .any(|c| c.channel == ChannelKind::ShmSpin && c.placement == Placement::SameCpu));
        // (6 + 5 + 5) pairs × 2 placements − 3 spin/same-cpu, × 7 sizes.
        assert_eq!(p.cases.len(), ((6 + 5 + 5) * 2 - 3) * 7);
    }

    #[test]
    fn explicit_invalid_pair_is_refused() {
        let mut a = args(Workload::Latency);
        a.backend = vec![BackendKind::Fork];
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
}
