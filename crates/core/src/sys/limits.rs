//! The limits a case must fit in, read fresh before each case: open files
//! (RLIMIT_NOFILE against the fds already open), address space (RLIMIT_AS
//! against this process's VmSize) and memory of the process's cgroup
//! (v2 `memory.max` − `memory.current`, the tightest along the path to the
//! root; v1 `memory.limit_in_bytes` − `memory.usage_in_bytes`).

use std::path::{Path, PathBuf};

/// Headroom left under one limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headroom {
    /// What the limit is called, for messages ("RLIMIT_NOFILE (ulimit -n)").
    pub name: String,
    /// The limit itself.
    pub limit: u64,
    /// How much of it is in use now.
    pub used: u64,
}

impl Headroom {
    pub fn free(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

fn rlimit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    // SAFETY: zeroed rlimit is valid plain data; the kernel fills it.
    let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer for the duration of the call.
    if unsafe { libc::getrlimit(resource, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    Some(r.rlim_cur)
}

/// File descriptors: the soft RLIMIT_NOFILE and how many are open.
pub fn fds() -> Option<Headroom> {
    Some(Headroom {
        name: "RLIMIT_NOFILE (ulimit -n)".into(),
        limit: rlimit(libc::RLIMIT_NOFILE)?,
        used: super::proc::open_fds().ok()?.len() as u64,
    })
}

/// Address space: the soft RLIMIT_AS and this process's VmSize.
pub fn address_space() -> Option<Headroom> {
    let limit = rlimit(libc::RLIMIT_AS)?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let used = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?
        * 1024;
    Some(Headroom {
        name: "RLIMIT_AS (ulimit -v)".into(),
        limit,
        used,
    })
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// Memory of this process's cgroup: the tightest limit from its own
/// cgroup up to the root, with that cgroup's usage. None when no limit is
/// set (or no cgroup hierarchy is mounted).
pub fn cgroup_memory() -> Option<Headroom> {
    let mounts = cgroup_mounts(&std::fs::read_to_string("/proc/self/mountinfo").ok()?);
    cgroup_memory_at(
        &std::fs::read_to_string("/proc/self/cgroup").ok()?,
        mounts.v2.as_deref(),
        mounts.v1_memory.as_deref(),
    )
}

/// Where the cgroup hierarchies that can limit memory are mounted.
#[derive(Debug, Default, PartialEq)]
pub struct CgroupMounts {
    pub v2: Option<PathBuf>,
    pub v1_memory: Option<PathBuf>,
}

/// Reads the cgroup2 mount and the v1 memory-controller mount from the
/// text of /proc/self/mountinfo.
pub fn cgroup_mounts(mountinfo: &str) -> CgroupMounts {
    let mut m = CgroupMounts::default();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let mut r = right.split(' ');
        let (fstype, _source, opts) = (r.next(), r.next(), r.next().unwrap_or(""));
        match fstype {
            Some("cgroup2") if m.v2.is_none() => m.v2 = Some(PathBuf::from(point)),
            Some("cgroup") if opts.split(',').any(|o| o == "memory") => {
                m.v1_memory = Some(PathBuf::from(point))
            }
            _ => {}
        }
    }
    m
}

/// [`cgroup_memory`] from the text of /proc/self/cgroup and the mount
/// points (separate for tests).
pub fn cgroup_memory_at(
    proc_cgroup: &str,
    v2: Option<&Path>,
    v1: Option<&Path>,
) -> Option<Headroom> {
    let mut best: Option<Headroom> = None;
    let mut consider = |root: &Path, rel: &str, limit_file: &str, usage_file: &str| {
        let mut d = root.join(rel.trim_start_matches('/'));
        loop {
            if let (Some(limit), Some(used)) =
                (read_u64(&d.join(limit_file)), read_u64(&d.join(usage_file)))
            {
                // v1 says "no limit" with a huge page-rounded number; v2
                // with "max", which does not parse.
                if limit < (1 << 60) {
                    let room = Headroom {
                        name: format!("the cgroup memory limit ({})", d.join(limit_file).display()),
                        limit,
                        used,
                    };
                    if best.as_ref().is_none_or(|b| room.free() < b.free()) {
                        best = Some(room);
                    }
                }
            }
            if !d.pop() || !d.starts_with(root) {
                break;
            }
        }
    };
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        match (controllers.is_empty(), v2, v1) {
            (true, Some(root), _) => consider(root, path, "memory.max", "memory.current"),
            (false, _, Some(root)) if controllers.split(',').any(|c| c == "memory") => {
                consider(root, path, "memory.limit_in_bytes", "memory.usage_in_bytes")
            }
            _ => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v2_takes_the_tightest_limit_on_the_path() {
        let root = tempfile_dir();
        let leaf = root.join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(root.join("a/memory.max"), "1000000\n").unwrap();
        std::fs::write(root.join("a/memory.current"), "900000\n").unwrap();
        std::fs::write(leaf.join("memory.max"), "max\n").unwrap();
        std::fs::write(leaf.join("memory.current"), "5\n").unwrap();
        let r = cgroup_memory_at("0::/a/b\n", Some(&root), None).unwrap();
        assert_eq!((r.limit, r.used, r.free()), (1_000_000, 900_000, 100_000));
        assert!(r.name.contains("a/memory.max"), "{}", r.name);
        // No limit anywhere: nothing to report.
        std::fs::write(root.join("a/memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_memory_at("0::/a/b\n", Some(&root), None), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn cgroup_v1_reads_the_memory_controller() {
        let root = tempfile_dir();
        let d = root.join("x");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("memory.limit_in_bytes"), "157286400\n").unwrap();
        std::fs::write(d.join("memory.usage_in_bytes"), "1000\n").unwrap();
        let r = cgroup_memory_at("4:cpu,cpuacct:/x\n7:memory:/x\n", None, Some(&root)).unwrap();
        assert_eq!(r.limit, 157_286_400);
        assert_eq!(r.used, 1000);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn mounts_come_from_mountinfo() {
        let text = "30 25 0:26 / /sys/fs/cgroup/unified rw,relatime shared:6 - cgroup2 cgroup2 rw\n\
                    35 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:11 - cgroup cgroup rw,memory\n\
                    36 25 0:32 / /sys/fs/cgroup/cpu rw,relatime shared:12 - cgroup cgroup rw,cpu\n";
        let m = cgroup_mounts(text);
        assert_eq!(m.v2.as_deref(), Some(Path::new("/sys/fs/cgroup/unified")));
        assert_eq!(
            m.v1_memory.as_deref(),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
    }

    fn tempfile_dir() -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "mpmt-limits-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
