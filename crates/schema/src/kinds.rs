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

/// Variants a record's `variant` field takes besides a workload's own
/// names: spelled once here, for the producer and the reader.
pub mod variant {
    /// ctx-switch: every member summed one working set shared through a
    /// mapping.
    pub const SHARED_WS: &str = "shared-ws";
    /// latency over every CPU pair: `pair <from>-<to>`.
    pub const PAIR_PREFIX: &str = "pair ";

    /// The (from, to) CPUs of a `pair <from>-<to>` variant.
    pub fn pair(v: &str) -> Option<(u32, u32)> {
        let (a, b) = v.strip_prefix(PAIR_PREFIX)?.split_once('-')?;
        Some((a.parse().ok()?, b.parse().ok()?))
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
    }
}

kind! {
    /// The unit of a record's values.
    Unit {
        Ns = "ns": "nanoseconds",
        BytesPerS = "bytes/s": "bytes per second",
        Bytes = "bytes": "bytes",
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
