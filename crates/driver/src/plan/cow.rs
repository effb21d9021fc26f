//! cow: parent heaps × fractions written × writers × page sizes.

use super::{cpu_map, memory_error, placements, samples, Machine};
use crate::choices;
use crate::flags::{size, Common};
use clap::Args;
use mpmt_core::schema::units::{fmt_bytes, fmt_count};
use mpmt_core::schema::{CowWrite, CowWriter};
use mpmt_core::workloads::cow::CowCase;
use mpmt_core::workloads::{Case, SweepPoint, Swept};
use mpmt_core::Placement;
use mpmt_core::WorkloadKind as W;

#[derive(Args, Debug, Clone, Default)]
pub struct CowArgs {
    /// Resident heaps of the parent, multiples of 2M [default: 64M,1G]
    #[arg(long = "parent-heap", value_delimiter = ',', value_parser = size)]
    pub parent_heap: Vec<u64>,

    /// Fractions of the heap's pages written after the fork, one byte
    /// each, as percentages [default: 0,1%,10%,100%]
    #[arg(long, value_delimiter = ',', value_parser = percent)]
    pub write: Vec<u32>,

    /// Who writes [default: child,parent,thread]
    #[arg(long, value_delimiter = ',', value_parser = choices::writer())]
    pub writer: Vec<CowWriter>,

    /// Transparent huge pages for the heap (`on`: MADV_HUGEPAGE)
    /// [default: off,on where the kernel offers them, else off]
    #[arg(long, value_delimiter = ',', value_parser = thp)]
    pub thp: Vec<bool>,

    /// Where mpmt runs (the child starts where its parent runs)
    /// [default: same-cpu]
    #[arg(long, value_delimiter = ',', value_parser = choices::placement(W::Cow))]
    pub placement: Vec<Placement>,

    #[command(flatten)]
    pub common: Common,
}

pub const DEFAULT_SAMPLES: usize = 3;
pub const DEFAULT_HEAPS: [u64; 2] = [64 << 20, 1 << 30];
pub const DEFAULT_WRITES: [u32; 4] = [0, 10_000, 100_000, 1_000_000];
pub const MAX_HEAP: u64 = 1 << 40;

/// `10%` (or a bare `0`) into parts per million.
fn percent(s: &str) -> Result<u32, String> {
    match s {
        "0" => Ok(0),
        s => CowWrite::parse_percent(s).ok_or_else(|| {
            format!("`{s}` is not a fraction written; allowed: 0 or a percentage from 0% to 100% (`1%`, `12.5%`)")
        }),
    }
}

fn thp(s: &str) -> Result<bool, String> {
    match s {
        "off" => Ok(false),
        "on" => Ok(true),
        _ => Err(format!("`{s}` is not a huge-page setting; allowed: off, on")),
    }
}

/// What the kernel does with MADV_HUGEPAGE here: `always`, `madvise` or
/// `never` (None: no THP at all).
pub fn thp_mode() -> Option<String> {
    let s = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let m = s.split_whitespace().find(|w| w.starts_with('['))?;
    Some(m.trim_matches(|c| c == '[' || c == ']').to_string())
}

pub fn cases(a: &CowArgs, cpus: &[u32], m: &Machine) -> Result<Vec<Box<dyn Case>>, String> {
    let samples = samples(&a.common, DEFAULT_SAMPLES)?;
    let heaps = super::given_or(&a.parent_heap, &DEFAULT_HEAPS);
    for &h in &heaps {
        super::bounded("--parent-heap", h, 2 << 20, MAX_HEAP, true)?;
        if h % (2 << 20) != 0 {
            return Err(format!(
                "--parent-heap {}: not a whole number of 2 MiB huge pages; allowed: multiples of 2M from 2M to {}",
                fmt_count(h),
                fmt_bytes(MAX_HEAP)
            ));
        }
    }
    let writes = super::given_or(&a.write, &DEFAULT_WRITES);
    let writers = super::given_or(&a.writer, CowWriter::ALL);
    let offered = matches!(thp_mode().as_deref(), Some("always" | "madvise"));
    let thps = match a.thp.is_empty() {
        true if offered => vec![false, true],
        true => vec![false],
        false => a.thp.clone(),
    };
    if thps.contains(&true) && !offered {
        return Err(format!(
            "--thp on: this kernel's transparent huge pages are `{}`; allowed here: off",
            thp_mode().unwrap_or_else(|| "absent".into())
        ));
    }
    let places = placements(&a.placement, cpus, &[Placement::SameCpu]);
    if let Some(p) = places.iter().find(|&&p| p == Placement::CrossCpu) {
        return Err(format!(
            "--placement {p}: a forked child starts where its parent runs; use same-cpu or os"
        ));
    }
    let (lo, hi) = (heaps.iter().min(), heaps.iter().max());
    let mut cases: Vec<Box<dyn Case>> = Vec::new();
    for &p in &places {
        for &h in &heaps {
            for &huge in &thps {
                for &writer in &writers {
                    for &ppm in &writes {
                        // A thread that writes nothing measures nothing.
                        if writer == CowWriter::Thread && ppm == 0 {
                            continue;
                        }
                        let case = CowCase {
                            write: CowWrite { writer, ppm, huge },
                            heap: h as usize,
                            placement: p,
                            cpu: cpu_map(p, 1, cpus)?[0],
                            samples,
                        };
                        memory_error(&case, m, format!("--parent-heap {}", fmt_count(h)))?;
                        // The claim reads the largest heap on small pages;
                        // the rest are points of the curves.
                        if Some(&h) == hi && !huge {
                            cases.push(Box::new(case));
                        } else {
                            let kind = match Some(&h) == lo {
                                true => SweepPoint::HEAPS,
                                false => SweepPoint::SIZES,
                            };
                            let point = SweepPoint::new(
                                format!(
                                    "cow heap={} {}",
                                    fmt_bytes(h),
                                    if huge { "thp" } else { "4k" }
                                ),
                                kind,
                                h,
                                p,
                            );
                            cases.push(Swept::boxed(Box::new(case), point));
                        }
                    }
                }
            }
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let m = super::super::machine();
        let a = CowArgs {
            thp: vec![false],
            ..Default::default()
        };
        // 2 heaps × (child, parent: 4 fractions; thread: 3).
        let c = cases(&a, &[0, 1], &m).unwrap();
        assert_eq!(c.len(), 2 * (4 + 4 + 3));
        assert_eq!(percent("12.5%"), Ok(125_000));
        let e = percent("150%").unwrap_err();
        assert!(e.contains("`150%`") && e.contains("0% to 100%"), "{e}");
        let a = CowArgs {
            parent_heap: vec![3 << 20],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--parent-heap 3M") && e.contains("2 MiB"), "{e}");
        let a = CowArgs {
            placement: vec![Placement::CrossCpu],
            ..Default::default()
        };
        let e = cases(&a, &[0, 1], &m).unwrap_err();
        assert!(e.contains("--placement cross-cpu"), "{e}");
    }
}
