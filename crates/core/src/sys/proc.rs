//! Facts about this process and the machine read from /proc: per-thread
//! context switches (getrusage), thread and fd counts, available memory,
//! and a process's RSS and PSS.

use std::io;
use std::os::fd::RawFd;

/// Voluntary and involuntary context switches of the calling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    pub voluntary: u64,
    pub involuntary: u64,
}

impl Switches {
    /// getrusage(RUSAGE_THREAD): the calling thread only (in a
    /// single-threaded process that is the whole process).
    pub fn now() -> Switches {
        // SAFETY: zeroed rusage is valid plain data; the kernel fills it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a rusage for the duration of the call.
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        Switches {
            voluntary: ru.ru_nvcsw as u64,
            involuntary: ru.ru_nivcsw as u64,
        }
    }

    pub fn since(self, start: Switches) -> Switches {
        Switches {
            voluntary: self.voluntary.saturating_sub(start.voluntary),
            involuntary: self.involuntary.saturating_sub(start.involuntary),
        }
    }
}

/// Number of threads in this process, from /proc/self/task.
pub fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// `MemAvailable` from /proc/meminfo, in bytes.
pub fn mem_available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Open fds of this process (for leak checks).
pub fn open_fds() -> io::Result<Vec<RawFd>> {
    let mut v: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Rss and Pss of a process (`self` or a pid), in bytes, from smaps_rollup.
pub fn rss_pss(pid: &str) -> io::Result<(u64, u64)> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path)?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    match (field("Rss:"), field("Pss:")) {
        (Some(r), Some(p)) => Ok((r, p)),
        _ => Err(io::Error::other(format!("{path} has no Rss/Pss lines"))),
    }
}

/// What a process weighs, in bytes: `/proc/<pid>/smaps_rollup` (the
/// kernel's sums over every mapping, PSS kept to the byte before the
/// kB rounding) and `VmPTE` of `/proc/<pid>/status` (every level of its
/// page tables).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Weight {
    pub rss: u64,
    pub pss: u64,
    /// Private_Clean + Private_Dirty: what leaves with the process.
    pub uss: u64,
    pub swap: u64,
    /// AnonHugePages: anonymous memory mapped by huge pages.
    pub anon_huge: u64,
    pub page_tables: u64,
}

impl Weight {
    /// Reads `pid` (`self` or a number). A process that has ended (a
    /// zombie has no mappings left to show) is an error.
    pub fn of(pid: &str) -> io::Result<Weight> {
        let path = format!("/proc/{pid}/smaps_rollup");
        let text = std::fs::read_to_string(&path)?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        };
        let rollup = |name| field(&text, name);
        let (Some(rss), Some(pss)) = (rollup("Rss:"), rollup("Pss:")) else {
            return Err(io::Error::other(format!(
                "{path} has no Rss/Pss lines (the process has ended)"
            )));
        };
        let page_tables = field(&status, "VmPTE:")
            .ok_or_else(|| io::Error::other(format!("/proc/{pid}/status has no VmPTE line")))?;
        Ok(Weight {
            rss,
            pss,
            uss: rollup("Private_Clean:").unwrap_or(0) + rollup("Private_Dirty:").unwrap_or(0),
            swap: rollup("Swap:").unwrap_or(0),
            anon_huge: rollup("AnonHugePages:").unwrap_or(0),
            page_tables,
        })
    }

    /// Field by field `self / n` (a thread team's growth per thread).
    pub fn per(self, n: u64) -> Weight {
        let n = n.max(1);
        Weight {
            rss: self.rss / n,
            pss: self.pss / n,
            uss: self.uss / n,
            swap: self.swap / n,
            anon_huge: self.anon_huge / n,
            page_tables: self.page_tables / n,
        }
    }

    /// Field by field `self − before`, at least 0 (a thread team's
    /// growth over the process before it).
    pub fn growth_over(self, before: Weight) -> Weight {
        Weight {
            rss: self.rss.saturating_sub(before.rss),
            pss: self.pss.saturating_sub(before.pss),
            uss: self.uss.saturating_sub(before.uss),
            swap: self.swap.saturating_sub(before.swap),
            anon_huge: self.anon_huge.saturating_sub(before.anon_huge),
            page_tables: self.page_tables.saturating_sub(before.page_tables),
        }
    }
}

/// What the scheduler says a task is doing, from `/proc/<path>/stat`
/// (`path` is a pid, or `self/task/<tid>` for a thread of this process):
/// "running", "stopped (SIGSTOP)", "a zombie", …; None if it is gone.
pub fn task_state(path: &str) -> Option<&'static str> {
    let stat = std::fs::read_to_string(format!("/proc/{path}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // state is the first field after its last ')'.
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    Some(match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "in an uninterruptible wait",
        'T' => "stopped (SIGSTOP)",
        't' => "stopped by a tracer",
        'Z' => "a zombie (exited, not reaped)",
        'X' => "dead",
        'I' => "idle",
        _ => "in an unknown state",
    })
}
