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
