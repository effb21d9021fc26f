//! Whether another task ran on the CPUs a case measured: the kernel's
//! per-CPU busy time (`/proc/stat`) over the case, less this process's
//! own CPU time and that of its reaped children (`/proc/self/stat`).
//! Both are counted in the same clock ticks, by the same tick sampling, so
//! what is left is time the measured CPUs gave to someone else: another
//! program, a kernel thread, an interrupt. (Per-task schedstat would be
//! finer, but kernels without CONFIG_SCHEDSTATS, like this VM's, report
//! zeros there.)

use std::time::Instant;

/// Clock ticks per second of `/proc/stat` and `/proc/<pid>/stat`.
pub fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// A reading of CPU time, to subtract from a later one.
#[derive(Debug, Clone)]
pub struct CpuUse {
    /// Busy ticks of each CPU (index = CPU number; None if not listed).
    busy: Vec<Option<u64>>,
    /// This process's user + system ticks, its reaped children's included.
    own: u64,
    at: Instant,
}

/// What other tasks took of some CPUs between two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Contention {
    /// Ticks other tasks ran on the CPUs. Signed: tick sampling of the
    /// CPUs and this process's precise run time differ by a tick or two
    /// either way, and summing rounds must let that cancel.
    pub other_ticks: f64,
    /// Ticks the CPUs had in all (wall time × CPUs).
    pub capacity_ticks: f64,
}

impl Contention {
    pub fn share(&self) -> f64 {
        if self.capacity_ticks > 0.0 {
            self.other_ticks.max(0.0) / self.capacity_ticks
        } else {
            0.0
        }
    }

    pub fn add(&mut self, o: Contention) {
        self.other_ticks += o.other_ticks;
        self.capacity_ticks += o.capacity_ticks;
    }
}

/// Busy ticks per CPU from the text of /proc/stat: user + nice + system.
/// Not idle, iowait or steal (no task's time), nor irq and softirq: without
/// IRQ time accounting those are ticks that hit an interrupt, mostly the
/// wake-ups the measured hand-offs cause themselves; softirq work that
/// another task does (ksoftirqd) is that task's system time.
fn parse_stat(text: &str) -> Vec<Option<u64>> {
    let mut busy: Vec<Option<u64>> = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(name) = f.next() else { continue };
        let Some(n) = name
            .strip_prefix("cpu")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let v: Vec<u64> = f.filter_map(|x| x.parse().ok()).collect();
        if v.len() < 7 {
            continue;
        }
        if busy.len() <= n {
            busy.resize(n + 1, None);
        }
        busy[n] = Some(v[0] + v[1] + v[2]);
    }
    busy
}

/// utime + stime + cutime + cstime from the text of /proc/<pid>/stat.
fn parse_own(text: &str) -> Option<u64> {
    // The command name may hold spaces: fields follow its closing ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14.
    let get = |field: usize| f.get(field - 3)?.parse::<i64>().ok();
    Some((get(14)? + get(15)? + get(16)? + get(17)?).max(0) as u64)
}

impl CpuUse {
    /// Reads now; None where /proc cannot tell.
    pub fn now() -> Option<CpuUse> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let own = parse_own(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
        Some(CpuUse {
            busy: parse_stat(&stat),
            own,
            at: Instant::now(),
        })
    }

    /// What others took of `cpus` between `self` and `later`. May be below
    /// zero: this process's time on CPUs outside `cpus`, and the sampling
    /// error of tick accounting, make it so.
    pub fn contention(&self, later: &CpuUse, cpus: &[u32]) -> Contention {
        let busy: u64 = cpus
            .iter()
            .filter_map(|&c| {
                let c = c as usize;
                Some(
                    later
                        .busy
                        .get(c)
                        .copied()??
                        .saturating_sub(self.busy.get(c).copied()??),
                )
            })
            .sum();
        let own = later.own.saturating_sub(self.own);
        let wall = later.at.duration_since(self.at).as_secs_f64() * ticks_per_s();
        Contention {
            other_ticks: busy as f64 - own as f64,
            capacity_ticks: wall * cpus.len() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_and_self_stat() {
        let stat = "cpu  10 0 5 100 0 0 0 0 0 0\ncpu0 4 1 2 50 3 1 1 9 0 0\ncpu1 6 0 3 50 0 0 0 0 0 0\nintr 1\n";
        assert_eq!(parse_stat(stat), vec![Some(7), Some(9)]);
        let own = "42 (a b) S 1 42 42 0 -1 4194304 100 0 0 0 7 3 2 1 20 0 1 0";
        assert_eq!(parse_own(own), Some(13));
    }

    #[test]
    fn a_busy_child_is_counted_as_another_task() {
        // The child spins until it has used 400 ms of CPU (however long
        // that takes on a loaded machine) and is not reaped before the
        // second reading, so its time is someone else's. /proc/stat
        // samples a CPU's time at each tick and gives a tick the
        // hypervisor stole to `steal`, not to the task, while the child's
        // own clock counts what it ran: on a busy host a make test saw 300
        // ms of spin as 190 ms of ticks. So half of it must show.
        let before = CpuUse::now().expect("/proc readable");
        // SAFETY: the child only spins on raw clock syscalls, then `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            loop {
                // SAFETY: a valid timespec to write; clock_gettime is a
                // raw vDSO call.
                unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                if ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9 >= 0.4 {
                    break;
                }
            }
            super::super::exit_now(0);
        }
        // Wait for it to exit without reaping it (WNOWAIT), bounded.
        let t0 = Instant::now();
        while !super::super::child::child_exited(pid) {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(120),
                "the child never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(5)); // untimed: polling a child
        }
        let after = CpuUse::now().unwrap();
        let _ = super::super::child::reap_timeout(pid, std::time::Duration::from_secs(5));
        let all: Vec<u32> = crate::sys::affinity::allowed_cpus();
        let c = before.contention(&after, &all);
        assert!(
            c.other_ticks >= 0.2 * ticks_per_s(),
            "the child's 400 ms of spinning should show at least half: {c:?}"
        );
    }
}
