//! Kernel event counts through `perf_event_open(2)`: the software events
//! (context switches, migrations, minor and major faults), tracepoints
//! that explain a cost without a PMU (`tlb:tlb_flush` by reason and page
//! count, `ipi:ipi_send_*`) and, where a PMU exists, hardware counters.
//!
//! Scope: the software (and hardware) events count the calling thread,
//! with `inherit`, opened before a case creates its workers, so every
//! thread, forked child and exec'd worker it then starts counts into the
//! same counters (the kernel folds an exited child's counts into its
//! parent's; a read sums the live ones): another tenant's switches do
//! not count. The tracepoints count per CPU, on every CPU this process
//! may use, every task: a tracepoint counter's close waits out an RCU
//! grace period, so they are opened once and kept (see [`Counters`]);
//! a shootdown taken on a CPU counts whoever it interrupts. The parent's
//! own waiting is in scope too, so a case enables the counters just
//! before it opens the start gate and disables them just after the last
//! worker is done: the timed phase only.
//!
//! Written on the raw syscall: the tracepoint counts must be split by a
//! filter (`reason == 1`, `pages != 0`) set by `PERF_EVENT_IOC_SET_FILTER`
//! on each fd, and ten lines of attr are all the rest needs.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `struct perf_event_attr` as of `PERF_ATTR_SIZE_VER5` (112 bytes).
#[repr(C)]
#[derive(Default)]
struct Attr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// Bit 0 `disabled`, bit 1 `inherit`, bit 5 `exclude_kernel`.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved: u16,
}

const TYPE_HARDWARE: u32 = 0;
const TYPE_SOFTWARE: u32 = 1;
const TYPE_TRACEPOINT: u32 = 2;
const TYPE_HW_CACHE: u32 = 3;
const FLAG_DISABLED: u64 = 1;
const FLAG_INHERIT: u64 = 1 << 1;
const FD_CLOEXEC: libc::c_ulong = 8;
const IOC_ENABLE: libc::c_ulong = 0x2400;
const IOC_DISABLE: libc::c_ulong = 0x2401;
const IOC_RESET: libc::c_ulong = 0x2403;
const IOC_SET_FILTER: libc::c_ulong = 0x4008_2406;

/// Where tracefs is (or is mounted, if root and it is not).
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// One event this module counts: its name in a record's `checks` (per
/// operation) and how the kernel spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    ContextSwitches,
    Migrations,
    MinorFaults,
    MajorFaults,
    /// `tlb:tlb_flush` with reason 0 (task switch): every switch to
    /// another address space, whether or not it flushed (pages 0: PCID
    /// kept the TLB).
    MmSwitches,
    /// `tlb:tlb_flush` with pages ≠ 0, but for reason 4 (that one marks
    /// the sending of a shootdown, not a flush): flushes that dropped
    /// entries, by any reason.
    TlbFlushes,
    /// `tlb:tlb_flush` reason 4: shootdown IPIs this process sent.
    ShootdownsSent,
    /// `tlb:tlb_flush` reason 1: shootdowns its CPUs took from a sibling.
    ShootdownsReceived,
    /// `ipi:ipi_send_cpu` and `ipi:ipi_send_cpumask`: IPIs sent, any kind.
    IpisSent,
    Cycles,
    Instructions,
    DtlbMisses,
    LlcMisses,
}

impl Event {
    pub const ALL: &'static [Event] = &[
        Event::ContextSwitches,
        Event::Migrations,
        Event::MinorFaults,
        Event::MajorFaults,
        Event::MmSwitches,
        Event::TlbFlushes,
        Event::ShootdownsSent,
        Event::ShootdownsReceived,
        Event::IpisSent,
        Event::Cycles,
        Event::Instructions,
        Event::DtlbMisses,
        Event::LlcMisses,
    ];

    /// The key in `checks`, per operation.
    pub fn key(self) -> &'static str {
        match self {
            Event::ContextSwitches => "context_switches_per_op",
            Event::Migrations => "migrations_per_op",
            Event::MinorFaults => "minor_faults_per_op",
            Event::MajorFaults => "major_faults_per_op",
            Event::MmSwitches => "mm_switches_per_op",
            Event::TlbFlushes => "tlb_flushes_per_op",
            Event::ShootdownsSent => "shootdowns_sent_per_op",
            Event::ShootdownsReceived => "shootdowns_received_per_op",
            Event::IpisSent => "ipis_sent_per_op",
            Event::Cycles => "cycles_per_op",
            Event::Instructions => "instructions_per_op",
            Event::DtlbMisses => "dtlb_misses_per_op",
            Event::LlcMisses => "llc_misses_per_op",
        }
    }

    /// How `perf stat -e` spells it (for `mpmt env` and the
    /// cross-check), with the filter a tracepoint needs.
    pub fn perf_name(self) -> &'static str {
        match self {
            Event::ContextSwitches => "context-switches",
            Event::Migrations => "cpu-migrations",
            Event::MinorFaults => "minor-faults",
            Event::MajorFaults => "major-faults",
            Event::MmSwitches => "tlb:tlb_flush --filter 'reason == 0'",
            Event::TlbFlushes => "tlb:tlb_flush --filter 'pages != 0 && reason != 4'",
            Event::ShootdownsSent => "tlb:tlb_flush --filter 'reason == 4'",
            Event::ShootdownsReceived => "tlb:tlb_flush --filter 'reason == 1'",
            Event::IpisSent => "ipi:ipi_send_cpu + ipi:ipi_send_cpumask",
            Event::Cycles => "cycles",
            Event::Instructions => "instructions",
            Event::DtlbMisses => "dTLB-load-misses",
            Event::LlcMisses => "LLC-load-misses",
        }
    }

    /// The attrs (type, config) and filters: one fd each, summed.
    fn sources(self) -> Result<Vec<Source>, String> {
        let sw = |c| Ok(vec![(TYPE_SOFTWARE, c, None)]);
        let tlb = |f| {
            Ok(vec![(
                TYPE_TRACEPOINT,
                tracepoint_id("tlb", "tlb_flush")?,
                Some(f),
            )])
        };
        match self {
            Event::ContextSwitches => sw(3),
            Event::Migrations => sw(4),
            Event::MinorFaults => sw(5),
            Event::MajorFaults => sw(6),
            Event::MmSwitches => tlb("reason == 0"),
            Event::TlbFlushes => tlb("pages != 0 && reason != 4"),
            Event::ShootdownsSent => tlb("reason == 4"),
            Event::ShootdownsReceived => tlb("reason == 1"),
            Event::IpisSent => Ok(vec![
                (TYPE_TRACEPOINT, tracepoint_id("ipi", "ipi_send_cpu")?, None),
                (
                    TYPE_TRACEPOINT,
                    tracepoint_id("ipi", "ipi_send_cpumask")?,
                    None,
                ),
            ]),
            Event::Cycles => Ok(vec![(TYPE_HARDWARE, 0, None)]),
            Event::Instructions => Ok(vec![(TYPE_HARDWARE, 1, None)]),
            // dTLB (3), read (0), miss (1); LL (2), read, miss.
            Event::DtlbMisses => Ok(vec![(TYPE_HW_CACHE, 3 | (1 << 16), None)]),
            Event::LlcMisses => Ok(vec![(TYPE_HW_CACHE, 2 | (1 << 16), None)]),
        }
    }

    fn hardware(self) -> bool {
        matches!(
            self,
            Event::Cycles | Event::Instructions | Event::DtlbMisses | Event::LlcMisses
        )
    }
}

/// One perf attr an event reads: its type, config and tracepoint filter.
type Source = (u32, u64, Option<&'static str>);

/// A tracepoint's id from tracefs (mounted at [`TRACEFS`] first if it is
/// not and we may: see [`mount_tracefs`]).
fn tracepoint_id(group: &str, name: &str) -> Result<u64, String> {
    let path = format!("{TRACEFS}/events/{group}/{name}/id");
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if !tracefs_mounted() => {
            format!("tracefs is not mounted at {TRACEFS}")
        }
        std::io::ErrorKind::NotFound => format!("this kernel has no tracepoint {group}:{name}"),
        std::io::ErrorKind::PermissionDenied => {
            format!("{path} is not readable (tracepoints need root)")
        }
        _ => format!("{path}: {e}"),
    })?;
    text.trim()
        .parse()
        .map_err(|_| format!("{path} holds `{}`, not an id", text.trim()))
}

fn tracefs_mounted() -> bool {
    std::path::Path::new(TRACEFS).join("events").is_dir()
}

/// Mounts tracefs at [`TRACEFS`] if it is not mounted and we are root.
/// Returns what it did, for `env` to say (`None`: nothing to do).
pub fn mount_tracefs() -> Option<String> {
    if tracefs_mounted() {
        return None;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(format!(
            "tracefs is not mounted at {TRACEFS}, and only root may mount it"
        ));
    }
    let c = |s: &str| CString::new(s).unwrap();
    let (src, target, fs) = (c("nodev"), c(TRACEFS), c("tracefs"));
    // SAFETY: every pointer is a NUL-terminated string that outlives the
    // call; no data argument.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fs.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    Some(match rc {
        0 => format!("mounted tracefs at {TRACEFS} (it was not mounted)"),
        _ => format!(
            "tracefs is not mounted at {TRACEFS} and mounting it failed: {}",
            std::io::Error::last_os_error()
        ),
    })
}

/// Opens one counter on the calling thread, disabled, inherited by
/// whatever it starts after.
fn open(kind: u32, config: u64, filter: Option<&str>) -> std::io::Result<OwnedFd> {
    let attr = Attr {
        kind,
        size: std::mem::size_of::<Attr>() as u32,
        config,
        flags: FLAG_DISABLED | FLAG_INHERIT,
        ..Default::default()
    };
    open_attr(&attr, filter, 0, -1)
}

/// Opens tracepoint `config` on `cpu`, every task, disabled.
fn open_on_cpu(config: u64, filter: Option<&str>, cpu: i32) -> std::io::Result<OwnedFd> {
    let attr = Attr {
        kind: TYPE_TRACEPOINT,
        size: std::mem::size_of::<Attr>() as u32,
        config,
        flags: FLAG_DISABLED,
        ..Default::default()
    };
    open_attr(&attr, filter, -1, cpu)
}

/// The tracepoint counters may hold at most 1/FD_SHARE of the fd limit.
const FD_SHARE: u64 = 8;

/// The per-CPU tracepoint counters [`probe`] opened, for [`per_cpu`].
static PROBED: std::sync::Mutex<Vec<(Event, OwnedFd)>> = std::sync::Mutex::new(Vec::new());

/// Opens `attr` for `pid` (0: the calling thread; -1: every task) on
/// `cpu` (-1: any), with `filter` set.
fn open_attr(
    attr: &Attr,
    filter: Option<&str>,
    pid: libc::pid_t,
    cpu: libc::c_int,
) -> std::io::Result<OwnedFd> {
    // SAFETY: `attr` is a valid perf_event_attr of the size it declares,
    // alive for the call; pid and cpu name a thread or a CPU.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const Attr,
            pid,
            cpu,
            -1 as libc::c_int,
            FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    if let Some(f) = filter {
        let f = CString::new(f).unwrap();
        // SAFETY: a valid fd and a NUL-terminated filter string alive for
        // the call.
        if unsafe { libc::ioctl(fd.as_raw_fd(), IOC_SET_FILTER, f.as_ptr()) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(fd)
}

/// Why an event cannot be counted here, in words a user can act on.
fn why(e: Event, err: &std::io::Error) -> String {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) | Some(libc::ENODEV) if e.hardware() => {
            "no hardware PMU (a VM that does not expose one)".into()
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            format!("not permitted (perf_event_paranoid is {paranoid}; run as root or lower it)")
        }
        Some(libc::ENOSYS) => "this kernel has no perf_event_open".into(),
        _ => format!("perf_event_open failed: {err}"),
    }
}

/// Which events this process can count, and why each other one cannot:
/// probed once by opening (and closing) each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Availability {
    pub counted: Vec<Event>,
    pub missing: Vec<(Event, String)>,
    /// What became of tracefs: mounted here, or why it is not there.
    pub tracefs: Option<String>,
}

pub fn probe() -> Availability {
    let mut a = Availability::default();
    // The tracepoint counters held for the run take an fd per source and
    // CPU: counted only if that is a small share of what the fd limit
    // allows (a run needs its fds for its channels).
    let cpus = crate::sys::affinity::allowed_cpus().len().max(1) as u64;
    let held = 6 * cpus;
    let nofile = crate::sys::limits::fds().map_or(u64::MAX, |h| h.limit);
    let room = held.saturating_mul(FD_SHARE) <= nofile;
    for &e in Event::ALL {
        let opened = e.sources().and_then(|srcs| {
            srcs.into_iter().try_for_each(|(k, c, f)| {
                if k != TYPE_TRACEPOINT {
                    return open(k, c, f).map(drop).map_err(|err| why(e, &err));
                }
                if !room {
                    return Err(format!(
                        "not counted: its per-CPU counters would hold {held} fds, more than 1/{FD_SHARE} of RLIMIT_NOFILE ({nofile})"
                    ));
                }
                // A tracepoint is opened on every allowed CPU, and kept:
                // these are the per-CPU counters every set then uses.
                let mut held = PROBED.lock().unwrap_or_else(|p| p.into_inner());
                for cpu in crate::sys::affinity::allowed_cpus() {
                    let fd = open_on_cpu(c, f, cpu as i32).map_err(|err| why(e, &err))?;
                    held.push((e, fd));
                }
                Ok(())
            })
        });
        match opened {
            Ok(()) => a.counted.push(e),
            Err(w) => a.missing.push((e, w)),
        }
    }
    a
}

/// The events this process can count, probed once (tracefs mounted first
/// if it may be).
pub fn available() -> &'static Availability {
    static A: std::sync::OnceLock<Availability> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        if std::env::var_os("MPMT_NO_KERNEL_EVENTS").is_some() {
            return Availability {
                counted: Vec::new(),
                missing: Event::ALL
                    .iter()
                    .map(|&e| (e, "not counted: MPMT_NO_KERNEL_EVENTS is set".to_string()))
                    .collect(),
                tracefs: None,
            };
        }
        let tracefs = mount_tracefs();
        Availability { tracefs, ..probe() }
    })
}

/// The tracepoint counters, one per source and allowed CPU, every task:
/// opened once and kept for the life of the process. A tracepoint
/// counter's close waits out an RCU grace period (30–40 ms here), so
/// opening one per case cost 0.4 s a case; per CPU it needs no inherit,
/// so no fork of a timed case copies it. Disabled, it is on no CPU's
/// list: a tracepoint hit in a timed region finds the list empty.
struct PerCpu {
    fds: Vec<(Event, OwnedFd)>,
}

fn per_cpu() -> &'static std::sync::Mutex<PerCpu> {
    static P: std::sync::OnceLock<std::sync::Mutex<PerCpu>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let counted = &available().counted;
        let mut probed = PROBED.lock().unwrap_or_else(|p| p.into_inner());
        // Only the events counted here (an event with one source missing
        // is not, and its other sources' counters go).
        let fds = std::mem::take(&mut *probed)
            .into_iter()
            .filter(|(e, _)| counted.contains(e))
            .collect();
        std::sync::Mutex::new(PerCpu { fds })
    })
}

/// Opens what the process holds for its life: the per-CPU tracepoint
/// counters (one fd per tracepoint source and allowed CPU). A leak check
/// takes its baseline after this.
pub fn hold() {
    let _ = per_cpu();
}

/// One open set of counters, disabled until [`Counters::enable`]: the
/// software (and hardware) events on the calling thread, inherited by
/// what it starts after; the tracepoints on every allowed CPU, held for
/// this set's life (one set counts at a time).
pub struct Counters {
    fds: Vec<(Event, OwnedFd)>,
    cpus: Option<std::sync::MutexGuard<'static, PerCpu>>,
}

/// What a set counted: each event's total.
pub type Counts = Vec<(Event, u64)>;

impl Counters {
    /// Opens every available event; call it before the workers start,
    /// on the thread that starts them.
    pub fn open() -> Counters {
        let mut fds = Vec::new();
        for &e in &available().counted {
            for (k, c, f) in e.sources().unwrap_or_default() {
                if k == TYPE_TRACEPOINT {
                    continue;
                }
                if let Ok(fd) = open(k, c, f) {
                    fds.push((e, fd));
                }
            }
        }
        let cpus = per_cpu().lock().unwrap_or_else(|p| p.into_inner());
        Counters {
            fds,
            cpus: Some(cpus),
        }
    }

    /// No counters: enabling and reading them does nothing.
    pub fn none() -> Counters {
        Counters {
            fds: Vec::new(),
            cpus: None,
        }
    }

    fn all(&self) -> impl Iterator<Item = &(Event, OwnedFd)> {
        self.fds
            .iter()
            .chain(self.cpus.iter().flat_map(|c| c.fds.iter()))
    }

    fn ioctl_all(&self, req: libc::c_ulong) {
        for (_, fd) in self.all() {
            // SAFETY: a perf fd we own; ENABLE/DISABLE/RESET take no
            // argument (0 is "this event only").
            unsafe { libc::ioctl(fd.as_raw_fd(), req, 0) };
        }
    }

    /// Zeroes and starts every counter (its inherited copies too).
    pub fn enable(&self) {
        self.ioctl_all(IOC_RESET);
        self.ioctl_all(IOC_ENABLE);
    }

    pub fn disable(&self) {
        self.ioctl_all(IOC_DISABLE);
    }

    /// Every event's total so far (an event with several sources or
    /// CPUs, summed).
    pub fn read(&self) -> Counts {
        let mut out: Counts = Vec::new();
        for (e, fd) in self.all() {
            let mut v = 0u64;
            // SAFETY: reading 8 bytes into a u64 we own from a perf fd
            // whose read_format is 0 (one u64).
            let n =
                unsafe { libc::read(fd.as_raw_fd(), &mut v as *mut u64 as *mut libc::c_void, 8) };
            if n != 8 {
                continue;
            }
            match out.iter_mut().find(|(o, _)| o == e) {
                Some((_, t)) => *t += v,
                None => out.push((*e, v)),
            }
        }
        out
    }
}

impl Drop for Counters {
    /// The shared per-CPU counters are left disabled for the next set.
    fn drop(&mut self) {
        if let Some(c) = &self.cpus {
            for (_, fd) in &c.fds {
                // SAFETY: a perf fd the process owns; DISABLE takes no
                // argument.
                unsafe { libc::ioctl(fd.as_raw_fd(), IOC_DISABLE, 0) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_is_the_size_the_kernel_knows() {
        assert_eq!(std::mem::size_of::<Attr>(), 112);
    }

    #[test]
    fn faults_in_a_child_thread_count_in_the_parents_counters() {
        let a = available();
        if !a.counted.contains(&Event::MinorFaults) {
            // Not permitted here: every event must then say why.
            assert!(a.missing.iter().all(|(_, w)| !w.is_empty()));
            return;
        }
        let c = Counters::open();
        c.enable();
        let pages = 256;
        std::thread::spawn(move || {
            let mut v = vec![0u8; pages * 4096];
            for p in v.chunks_mut(4096) {
                // SAFETY: a valid byte of the vector; volatile so the
                // store (and its fault) happens.
                unsafe { std::ptr::write_volatile(p.as_mut_ptr(), 1) };
            }
            drop(v);
        })
        .join()
        .unwrap();
        c.disable();
        let n = c
            .read()
            .iter()
            .find(|(e, _)| *e == Event::MinorFaults)
            .map(|x| x.1)
            .unwrap();
        assert!(n >= pages as u64, "{n} minor faults for {pages} pages");
    }
}
