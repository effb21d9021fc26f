//! CPU pinning: the calling thread's affinity mask, a guard that restores
//! it, and the member→CPU map a placement gives. `pin_current` is
//! allocation-free: a forked child may call it.

use mpmt_schema::Placement;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Pins the calling thread (or single-threaded process) to `cpu`.
/// Allocation-free: safe in a forked child.
pub fn pin_current(cpu: u32) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu as usize >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `cpu` was bounds-checked against CPU_SETSIZE above.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    set_affinity(&set)
}

/// Sets the calling thread's affinity mask.
pub fn set_affinity(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` points to a valid cpu_set_t of the size passed; pid 0 is
    // the calling thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling thread's affinity mask.
pub fn get_affinity() -> io::Result<libc::cpu_set_t> {
    // SAFETY: zeroed cpu_set_t is valid; the kernel fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer and size for the duration of the call.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r == 0 {
        Ok(set)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CPUs in an affinity mask, ascending.
pub fn cpus_in(set: &libc::cpu_set_t) -> Vec<u32> {
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `c` < CPU_SETSIZE, inside the set.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, set) })
        .map(|c| c as u32)
        .collect()
}

/// Set when an [`AffinityGuard`] could not restore a mask: every later
/// pin fails, so no record can claim a placement that did not hold.
static RESTORE_FAILED: AtomicBool = AtomicBool::new(false);

/// Restores the calling thread's affinity when dropped.
pub struct AffinityGuard(libc::cpu_set_t);

impl AffinityGuard {
    /// Saves the current mask and pins to `cpu` if given. Fails if an
    /// earlier guard could not restore its mask (the thread may still be
    /// pinned where the caller believes it is free).
    pub fn pin(cpu: Option<u32>) -> io::Result<Self> {
        if RESTORE_FAILED.load(Ordering::Relaxed) {
            return Err(io::Error::other(
                "an earlier CPU pin could not be undone, so this thread's placement is unknown",
            ));
        }
        let saved = get_affinity()?;
        if let Some(c) = cpu {
            pin_current(c)?;
        }
        Ok(AffinityGuard(saved))
    }
}

impl Drop for AffinityGuard {
    fn drop(&mut self) {
        if set_affinity(&self.0).is_err() {
            RESTORE_FAILED.store(true, Ordering::Relaxed);
        }
    }
}

/// CPUs this process may run on.
pub fn allowed_cpus() -> Vec<u32> {
    get_affinity().map(|s| cpus_in(&s)).unwrap_or_default()
}

/// CPU of each of `members` members under `placement`, given the selected
/// CPUs: `same-cpu` puts all on the first, `cross-cpu` round-robins (so
/// consecutive members differ), `os` pins none.
pub fn cpu_map(
    placement: Placement,
    members: usize,
    cpus: &[u32],
) -> Result<Vec<Option<u32>>, String> {
    match placement {
        Placement::Os => Ok(vec![None; members]),
        Placement::SameCpu => {
            let c = *cpus.first().ok_or("no CPU is available to pin to")?;
            Ok(vec![Some(c); members])
        }
        Placement::CrossCpu => {
            if cpus.len() < 2 {
                return Err(format!(
                    "cross-cpu needs at least 2 CPUs, but only {} {} available ({})",
                    cpus.len(),
                    if cpus.len() == 1 { "is" } else { "are" },
                    cpus.iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
            Ok((0..members).map(|i| Some(cpus[i % cpus.len()])).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps() {
        assert_eq!(
            cpu_map(Placement::SameCpu, 3, &[4, 5]).unwrap(),
            vec![Some(4); 3]
        );
        assert_eq!(
            cpu_map(Placement::CrossCpu, 3, &[0, 1]).unwrap(),
            vec![Some(0), Some(1), Some(0)]
        );
        assert_eq!(cpu_map(Placement::Os, 2, &[0]).unwrap(), vec![None, None]);
        let e = cpu_map(Placement::CrossCpu, 2, &[0]).unwrap_err();
        assert!(e.contains("at least 2 CPUs"), "{e}");
    }
}
