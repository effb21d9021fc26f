//! The machine facts a run records: read from /proc and /sys, never guessed.

use mpmt_schema::EnvInfo;
use std::fs;

fn read_trim(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.split(':').next().map(|k| k.trim()) == Some(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

pub fn online_cpus() -> u32 {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    n.max(1) as u32
}

fn hypervisor(cpuinfo: &str) -> String {
    let flagged = cpuinfo_field(cpuinfo, "flags")
        .map(|f| f.split_whitespace().any(|x| x == "hypervisor"))
        .unwrap_or(false);
    if !flagged {
        return "none".into();
    }
    let vendor = read_trim("/sys/class/dmi/id/sys_vendor").unwrap_or_default();
    let product = read_trim("/sys/class/dmi/id/product_name").unwrap_or_default();
    let xen = read_trim("/sys/hypervisor/type");
    match (vendor.is_empty() && product.is_empty(), xen) {
        (_, Some(x)) => x,
        (true, None) => "yes (unidentified)".into(),
        (false, None) => format!("{vendor} {product}").trim().to_string(),
    }
}

/// The bracketed choice of a sysfs selector (`always [madvise] never`).
fn selected(path: &str) -> String {
    match read_trim(path) {
        None => "n/a".into(),
        Some(t) => t
            .split_whitespace()
            .find(|w| w.starts_with('[') && w.ends_with(']'))
            .map(|w| w.trim_matches(['[', ']']).to_string())
            .unwrap_or(t),
    }
}

/// `32K`, `1024K`, `32M` as sysfs writes cache sizes.
fn parse_cache_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1u64 << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// CPUs in a list like `0-3,8,10-11`.
fn count_cpu_list(s: &str) -> u32 {
    s.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => 1,
        })
        .sum()
}

/// CPU 0's caches from sysfs, smallest level first.
pub fn caches() -> Vec<mpmt_schema::Cache> {
    let base = "/sys/devices/system/cpu/cpu0/cache";
    let mut v = Vec::new();
    let Ok(dir) = fs::read_dir(base) else {
        return v;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("index") {
            continue;
        }
        let p = |f: &str| read_trim(&format!("{base}/{name}/{f}"));
        let (Some(level), Some(kind), Some(size)) = (
            p("level").and_then(|l| l.parse().ok()),
            p("type"),
            p("size").as_deref().and_then(parse_cache_size),
        ) else {
            continue;
        };
        v.push(mpmt_schema::Cache {
            level,
            kind,
            size_bytes: size,
            shared_by_cpus: p("shared_cpu_list")
                .map(|l| count_cpu_list(&l))
                .unwrap_or(1),
        });
    }
    v.sort_by(|a, b| (a.level, &a.kind).cmp(&(b.level, &b.kind)));
    v
}

/// The CPU flags that decide whether an address-space switch must flush
/// the TLB: `pcid` (entries tagged by address space) and `invpcid`
/// (selective invalidation). "none" when the CPU reports neither.
fn tlb_flags(cpuinfo: &str) -> String {
    let flags = cpuinfo_field(cpuinfo, "flags").unwrap_or_default();
    let have: Vec<&str> = ["pcid", "invpcid"]
        .into_iter()
        .filter(|f| flags.split_whitespace().any(|x| x == *f))
        .collect();
    if have.is_empty() {
        "none".into()
    } else {
        have.join(" ")
    }
}

/// Whether this process can count hardware events (cycles, here), and if
/// not, why: a machine without a PMU the kernel exposes (most VMs without
/// a virtual PMU) or a `kernel.perf_event_paranoid` setting that forbids
/// it. The same probe every record's kernel counts come from.
fn perf_counters() -> String {
    use crate::sys::perf::{available, Event};
    match available()
        .missing
        .iter()
        .find(|(e, _)| *e == Event::Cycles)
    {
        None => "available".into(),
        Some((_, why)) => format!("unavailable: {why}"),
    }
}

/// Every kernel event and whether it is counted here.
fn kernel_events() -> Vec<mpmt_schema::KernelEventState> {
    crate::measure::events::report()
        .into_iter()
        .map(|(key, perf, state)| mpmt_schema::KernelEventState {
            key: key.into(),
            perf: perf.into(),
            missing: state.err(),
        })
        .collect()
}

/// Every vulnerability the kernel lists, with its status.
fn mitigations() -> Vec<mpmt_schema::Mitigation> {
    let base = "/sys/devices/system/cpu/vulnerabilities";
    let mut v: Vec<mpmt_schema::Mitigation> = fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            read_trim(&format!("{base}/{name}"))
                .map(|status| mpmt_schema::Mitigation { name, status })
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Reads every fact now.
pub fn collect() -> EnvInfo {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let uname = nix::sys::utsname::uname().ok();
    let load = read_trim("/proc/loadavg").unwrap_or_default();
    let mut la = [0.0; 3];
    for (i, v) in load.split_whitespace().take(3).enumerate() {
        la[i] = v.parse().unwrap_or(0.0);
    }
    let mem_total = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    EnvInfo {
        cpu_model: cpuinfo_field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        online_cpus: online_cpus(),
        allowed_cpus: crate::sys::affinity::allowed_cpus(),
        smt: read_trim("/sys/devices/system/cpu/smt/control").unwrap_or_else(|| "unknown".into()),
        kernel: uname
            .map(|u| {
                format!(
                    "{} {} {}",
                    u.sysname().to_string_lossy(),
                    u.release().to_string_lossy(),
                    u.machine().to_string_lossy()
                )
            })
            .unwrap_or_else(|| "unknown".into()),
        hypervisor: hypervisor(&cpuinfo),
        governor: read_trim("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
            .unwrap_or_else(|| "n/a (no cpufreq)".into()),
        cgroup_cpu_quota: read_trim("/sys/fs/cgroup/cpu.max").unwrap_or_else(|| "n/a".into()),
        load_average: la,
        rustc: env!("MPMT_RUSTC_VERSION").to_string(),
        clocksource: read_trim("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_else(|| "unknown".into()),
        mem_total_bytes: mem_total,
        // SAFETY: sysconf has no memory effects.
        page_size_bytes: unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64,
        thp_enabled: selected("/sys/kernel/mm/transparent_hugepage/enabled"),
        thp_shmem_enabled: selected("/sys/kernel/mm/transparent_hugepage/shmem_enabled"),
        sched_autogroup: read_trim("/proc/sys/kernel/sched_autogroup_enabled")
            .unwrap_or_else(|| "n/a".into()),
        caches: caches(),
        tlb_flags: tlb_flags(&cpuinfo),
        perf_counters: perf_counters(),
        mitigations: mitigations(),
        kernel_events: kernel_events(),
        tracefs: crate::sys::perf::available()
            .tracefs
            .clone()
            .unwrap_or_default(),
    }
}

/// The git revision the binary was built from, if known.
pub fn git_revision() -> Option<String> {
    option_env!("MPMT_GIT_REVISION")
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A UNIX time as RFC 3339 UTC, to the second.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_and_cpu_lists_parse() {
        assert_eq!(parse_cache_size("32K"), Some(32 << 10));
        assert_eq!(parse_cache_size("1024K"), Some(1 << 20));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("x"), None);
        assert_eq!(count_cpu_list("0-3,8,10-11"), 7);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(count_cpu_list(""), 0);
    }

    #[test]
    fn this_machine_reports_its_caches_and_thp() {
        let e = collect();
        if std::path::Path::new("/sys/devices/system/cpu/cpu0/cache/index0").exists() {
            assert!(e.cache_bytes(1).is_some_and(|b| b > 0), "{:?}", e.caches);
        }
        if std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            assert!(
                ["always", "madvise", "never"].contains(&e.thp_enabled.as_str()),
                "{}",
                e.thp_enabled
            );
        }
    }
}
