//! The typed vocabulary of a record. Each kind has one spelling (its
//! kebab-case name, used in JSON, CSV, the CLI and the report), a one-line
//! description for `mpmt list`, and `ALL` in the order they are listed.

use serde::{Deserialize, Serialize};

/// Defines a kind: the enum, its names and descriptions, `ALL`, `name`,
/// `parse` (which also accepts the listed aliases) and `Display`.
macro_rules! kind {
    (
        $(#[$doc:meta])*
        $Kind:ident {
            $( $(#[$vdoc:meta])* $Var:ident = $name:literal $(| $alias:literal)* : $desc:literal, )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $Kind {
            $( $(#[$vdoc])* #[serde(rename = $name $(, alias = $alias)*)] $Var, )+
        }

        impl $Kind {
            pub const ALL: &'static [$Kind] = &[$($Kind::$Var),+];

            pub fn name(self) -> &'static str {
                match self { $($Kind::$Var => $name),+ }
            }

            pub fn describe(self) -> &'static str {
                match self { $($Kind::$Var => $desc),+ }
            }

            /// The kind named `s` (or one of its aliases).
            pub fn parse(s: &str) -> Option<$Kind> {
                match s {
                    $($name $(| $alias)* => Some($Kind::$Var),)+
                    _ => None,
                }
            }

            /// Every name, comma-separated (for error messages).
            pub fn names() -> String {
                Self::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $Kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kind! {
    /// What one measured operation is.
    Workload {
        CtxSwitch = "ctx-switch":
            "token around a ring of N workers; ns per switch minus the no-switch overhead",
        Latency = "latency":
            "round trip of an M-byte message, payload written and verified both ways",
        Bandwidth = "bandwidth":
            "one-way stream of M-byte chunks, written and verified; bytes/s",
        DataParallel = "data-parallel":
            "double every element of an array across W workers; setup/compute/teardown",
        Counter = "counter":
            "W workers add 1 to one shared counter K times; lost updates per mode",
        Messaging = "messaging":
            "G groups of S senders and R receivers, every sender to every receiver (hackbench's shape)",
        FalseSharing = "false-sharing":
            "W workers add 1 to their own counter K times, packed in one cache line or padded apart",
        /// Creation cost. Called `spawn` before schema 2; the old name is
        /// still accepted for one release.
        Create = "create" | "spawn":
            "create a worker, run an empty body, join/reap it; memory per live worker",
        VmOps = "vm-ops":
            "W workers each repeat one memory operation on their own memory; ns per op, shootdown IPIs per op",
        Memory = "memory":
            "W live workers, each with a private working set, all reading one shared region; PSS, USS, RSS and page tables per worker",
        Cow = "cow":
            "fork a parent with a resident heap, then the child or the parent writes a fraction of it; ns per copy-on-write fault",
        Crash = "crash":
            "W workers do verified work and one of them faults partway (segv, abort, panic, oom): who finishes, the work lost, time to detect and to recover",
    }
}

kind! {
    /// How a worker is born.
    Backend {
        Thread = "thread": "std::thread sharing this process's heap",
        Fork = "fork": "fork()ed child process (copy-on-write image of the parent)",
        Spawn = "spawn": "exec'd mpmt-worker process, bootstrapped over ipc-channel",
    }
}

kind! {
    /// How workers talk.
    Channel {
        Pipe = "pipe": "anonymous pipe (kernel copy in and out)",
        UnixSocket = "unix-socket": "AF_UNIX stream socketpair (kernel copy in and out)",
        Seqpacket = "seqpacket": "AF_UNIX SOCK_SEQPACKET socketpair (records of at most 64 KiB, kernel copy in and out)",
        ShmFutex = "shm-futex": "shared mapping, blocking wait on a futex word",
        ShmSpin = "shm-spin": "shared mapping, busy-polling the same word (no switch)",
        IpcChannel = "ipc-channel": "ipc-channel bytes channel (SOCK_SEQPACKET, Servo's IPC)",
        Heap = "heap": "threads only: buffers on the shared heap handed over by std mpsc",
        Eventfd = "eventfd": "shared mapping, blocking wait on an eventfd per direction",
        Mq = "mq": "POSIX message queue (unlinked once open; messages up to fs.mqueue.msgsize_max)",
    }
}

kind! {
    /// counter: how each worker adds 1 to the shared counter.
    CounterMode {
        Racy = "racy": "relaxed load, then relaxed store: loses updates",
        Atomic = "atomic": "fetch_add",
        Mutex = "mutex": "lock, increment, unlock, each time",
        MutexBatch = "mutex-batch": "lock held for the whole loop",
    }
}

kind! {
    /// create: how a worker is created, run and reaped.
    CreateMethod {
        Thread = "thread": "std::thread::spawn + join",
        Fork = "fork": "fork, child _exit(0), waitpid",
        ForkExec = "fork-exec": "fork, child execs mpmt-worker --noop, waitpid",
        PosixSpawn = "posix-spawn": "std::process::Command (posix_spawn) of mpmt-worker --noop, wait",
        ForkExecStatic = "fork-exec-static": "fork, child execs mpmt-noop (static, no loader, no runtime), waitpid",
        PosixSpawnStatic = "posix-spawn-static": "std::process::Command (posix_spawn) of mpmt-noop, wait",
    }
}

impl CreateMethod {
    /// The backend whose workers this method creates.
    pub fn backend(self) -> Backend {
        match self {
            CreateMethod::Thread => Backend::Thread,
            CreateMethod::Fork => Backend::Fork,
            CreateMethod::ForkExec
            | CreateMethod::PosixSpawn
            | CreateMethod::ForkExecStatic
            | CreateMethod::PosixSpawnStatic => Backend::Spawn,
        }
    }
}

/// false-sharing: two counters 8 B apart share one cache line; 128 B
/// apart they never do (two lines, whatever the adjacent-line prefetcher
/// pairs).
pub const PACKED_STRIDE: usize = 8;
pub const PADDED_STRIDE: usize = 128;

kind! {
    /// false-sharing: where the workers' counters sit.
    CounterLayout {
        PackedHeap = "packed-heap": "threads only: counters 8 B apart on the heap (one line)",
        PaddedHeap = "padded-heap": "threads only: counters 128 B apart on the heap",
        PackedShm = "packed-shm": "counters 8 B apart in a shared mapping (one line)",
        PaddedShm = "padded-shm": "counters 128 B apart in a shared mapping",
    }
}

impl CounterLayout {
    /// The layout packed or padded, on the heap or in a shared mapping.
    pub fn of(packed: bool, on_heap: bool) -> CounterLayout {
        match (packed, on_heap) {
            (true, true) => CounterLayout::PackedHeap,
            (false, true) => CounterLayout::PaddedHeap,
            (true, false) => CounterLayout::PackedShm,
            (false, false) => CounterLayout::PaddedShm,
        }
    }

    /// Bytes from one worker's counter to the next.
    pub fn stride(self) -> usize {
        match self {
            CounterLayout::PackedHeap | CounterLayout::PackedShm => PACKED_STRIDE,
            CounterLayout::PaddedHeap | CounterLayout::PaddedShm => PADDED_STRIDE,
        }
    }

    pub fn packed(self) -> bool {
        self.stride() == PACKED_STRIDE
    }

    pub fn on_heap(self) -> bool {
        matches!(self, CounterLayout::PackedHeap | CounterLayout::PaddedHeap)
    }

    /// Whether workers born by `b` can use it (the heap is one process's).
    pub fn valid_for(self, b: Backend) -> bool {
        b == Backend::Thread || !self.on_heap()
    }
}

kind! {
    /// false-sharing: how each worker adds 1 to its own counter. The two
    /// differ in what the cache line must do: a store can wait in the
    /// core's store buffer until the line comes back, a locked
    /// read-modify-write cannot.
    CounterWrite {
        Store = "store": "a load, an add and a store of the counter in memory (`c += 1` through a volatile pointer)",
        Atomic = "atomic": "one locked read-modify-write (`fetch_add`, x86 `lock add`): the line must be the writer's for each one",
    }
}

kind! {
    /// vm-ops: the memory operation each worker repeats on its own
    /// memory (will-it-scale's shapes). Threads share one address space,
    /// so one mmap_lock and one set of page tables; processes do not.
    VmOp {
        PageFault = "page-fault": "touch every page of a fresh anonymous mapping, then unmap it (one op per page)",
        Mmap = "mmap": "map and unmap an untouched anonymous region",
        Madvise = "madvise": "write one page, MADV_DONTNEED it (each drop flushes the TLB of every CPU the address space runs on)",
        Mprotect = "mprotect": "flip one page between read-only and read-write",
        MallocSmall = "malloc-small": "malloc and free 1 KiB through the process's allocator",
        MallocLarge = "malloc-large": "malloc and free 128 MiB through the process's allocator (an mmap and munmap each)",
    }
}

kind! {
    /// cow: who writes the heap after the fork.
    CowWriter {
        Child = "child": "the forked child writes its copy of the heap (each first write copies a page)",
        Parent = "parent": "the parent writes while the forked child still holds the old pages (the parent copies)",
        Thread = "thread": "a thread writes the same pages with no fork at all (nothing to copy): the baseline",
    }
}

kind! {
    /// crash: how the one worker that crashes dies.
    CrashFault {
        Segv = "segv": "writes through a null pointer (SIGSEGV)",
        Abort = "abort": "calls abort() (SIGABRT)",
        Panic = "panic": "a Rust panic with the default hook: it unwinds a thread, and ends a process",
        Oom = "oom": "maps memory until its process's RLIMIT_AS refuses, then fails as Rust's allocator does (abort)",
    }
}

kind! {
    /// crash: what the supervisor does once it knows a worker died.
    Recovery {
        Respawn = "respawn": "start a worker in the dead one's place and carry on from the shared state (a prefork server's way)",
        Restart = "restart": "stop every worker, reinitialise the shared state and start the whole team again (PostgreSQL's way after a backend crash)",
    }
}

kind! {
    /// Where workers run.
    Placement {
        SameCpu = "same-cpu": "all workers pinned to one CPU (pure switch cost)",
        CrossCpu = "cross-cpu": "workers pinned to distinct CPUs (wake-up and cache transfer)",
        Os = "os": "unpinned (the scheduler decides)",
    }
}

kind! {
    /// What one value of a record is.
    Metric {
        Switch = "switch": "one context switch (ctx-switch: per hop, overhead subtracted)",
        Rtt = "rtt": "one round trip of a message",
        Bandwidth = "bandwidth": "a one-way stream, bytes per second",
        Wall = "wall": "one run, wall time (data-parallel, messaging)",
        Increment = "increment": "one increment of the shared counter",
        Create = "create": "create a worker, run an empty body, join or reap it",
        Pss = "pss": "proportional set size of one live worker",
        VmOp = "vm-op": "one memory operation of one worker (vm-ops), all workers at once",
        Uss = "uss": "unique set size of one live worker: the private pages that leave with it",
        Rss = "rss": "resident set size of one live worker (shared pages counted whole)",
        PageTables = "page-tables": "page-table bytes of one live worker (VmPTE; a thread's share of its process's)",
        CowFault = "cow-fault": "one page written after fork: the copy-on-write fault and its copy (cow)",
        Fork = "fork": "fork of a parent with a resident heap, from the call until it returns in the parent (cow)",
        Survivors = "survivors": "how many of the other W - 1 workers finished their work after one crashed (crash)",
        WorkLost = "work-lost": "verified work planned but not done when the crashed team ended, bytes (crash)",
        Detect = "detect": "from the fault until the supervisor knows which worker died and how (crash)",
        Recover = "recover": "from detection until every replacement has done a verified unit of work (crash)",
        OwnerDead = "owner-dead": "from the fault until the next locker of the robust mutex the dead worker held gets EOWNERDEAD (crash)",
    }
}

kind! {
    /// Why a record's figure should be read with care.
    WarningKind {
        Contended = "contended": "other tasks took a share of the case's CPUs while it ran",
        Noisy = "noisy": "the round medians vary more than a steady figure does",
        ExtraSwitches = "extra-switches": "more context switches per operation than the hand-off makes: something else ran on the CPU",
        MissingSwitches = "missing-switches": "fewer context switches per operation than the hand-off needs: the members did not alternate",
        Short = "short": "fewer rounds than every case gets: the run ended first",
        PerWrite = "per-write": "bandwidth of schema 5 or older: the median of single writes, which reads high on a buffered channel (schema 6 times whole streams)",
        /// A warning of an older version whose kind this one does not know.
        Other = "other": "a warning written by an older mpmt",
    }
}

kind! {
    /// The unit of a record's values.
    Unit {
        Ns = "ns": "nanoseconds",
        BytesPerS = "bytes/s": "bytes per second",
        Bytes = "bytes": "bytes",
        Count = "count": "a count",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for &w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
        assert_eq!(Workload::parse("spawn"), Some(Workload::Create));
        assert_eq!(Workload::parse("Spawn"), None);
        let v: Workload = serde_json::from_str("\"spawn\"").unwrap();
        assert_eq!(v, Workload::Create);
        assert_eq!(
            serde_json::to_string(&Workload::Create).unwrap(),
            "\"create\""
        );
        assert_eq!(
            serde_json::to_string(&Unit::BytesPerS).unwrap(),
            "\"bytes/s\""
        );
        assert_eq!(Channel::parse("unix-socket"), Some(Channel::UnixSocket));
        assert_eq!(Backend::names(), "thread, fork, spawn");
    }
}
