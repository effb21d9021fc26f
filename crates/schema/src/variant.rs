//! What tells apart two records of one workload, backend, channel and
//! placement: a record's `variant`. One typed enum for every workload, so
//! the producer and the page cannot disagree on a spelling. In JSON it is
//! the same string it always was (`fork-shm`, `racy`, `pair 0-1`), so
//! results of every version load unchanged.

use crate::kinds::{
    Backend, Channel, CounterLayout, CounterMode, CounterWrite, CowWriter, CrashFault,
    CreateMethod, Recovery, VmOp,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// data-parallel: how the workers reach the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArrayAccess {
    /// In place on the shared heap (threads only).
    Heap,
    /// In place in a shared mapping, copied in and out.
    Shm,
    /// Each worker's slice sent over a channel and back.
    Sent(Channel),
}

/// data-parallel: the backend and how its workers reach the array,
/// named `<backend>-<heap|shm|channel>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArraySplit {
    pub backend: Backend,
    pub access: ArrayAccess,
}

impl ArraySplit {
    /// The variants a default run measures: the classic six.
    pub const CLASSIC: [ArraySplit; 6] = [
        ArraySplit::new(Backend::Thread, ArrayAccess::Heap),
        ArraySplit::new(Backend::Thread, ArrayAccess::Shm),
        ArraySplit::new(Backend::Fork, ArrayAccess::Shm),
        ArraySplit::new(Backend::Spawn, ArrayAccess::Shm),
        ArraySplit::new(Backend::Fork, ArrayAccess::Sent(Channel::Pipe)),
        ArraySplit::new(Backend::Spawn, ArrayAccess::Sent(Channel::IpcChannel)),
    ];

    pub const fn new(backend: Backend, access: ArrayAccess) -> ArraySplit {
        ArraySplit { backend, access }
    }

    pub fn name(self) -> String {
        let access = match self.access {
            ArrayAccess::Heap => "heap",
            ArrayAccess::Shm => "shm",
            ArrayAccess::Sent(c) => c.name(),
        };
        format!("{}-{access}", self.backend)
    }

    /// The variant spelled `s` (whether its backend can use its channel
    /// is the channel's to say, in mpmt-core). `heap` is threads only:
    /// sending heap buffers is what `thread-heap` does in place.
    pub fn parse(s: &str) -> Option<ArraySplit> {
        let (b, m) = s.split_once('-')?;
        let backend = Backend::parse(b)?;
        let access = match m {
            "heap" if backend == Backend::Thread => ArrayAccess::Heap,
            "heap" => return None,
            "shm" => ArrayAccess::Shm,
            c => ArrayAccess::Sent(Channel::parse(c).filter(|&c| c != Channel::Heap)?),
        };
        Some(ArraySplit { backend, access })
    }

    /// The channel that carries the data, if any (the record's `channel`).
    pub fn channel(self) -> Option<Channel> {
        match self.access {
            ArrayAccess::Sent(c) => Some(c),
            _ => None,
        }
    }

    /// Whether the workers work in place (no copy over a channel).
    pub fn in_place(self) -> bool {
        self.channel().is_none()
    }

    pub fn describe(self) -> String {
        match (self.backend, self.access) {
            (_, ArrayAccess::Heap) => {
                "threads double their slice of the heap array in place".into()
            }
            (Backend::Thread, ArrayAccess::Shm) => {
                "threads double in place in a shared mapping (copied in), as fork-shm does".into()
            }
            (Backend::Fork, ArrayAccess::Shm) => {
                "forked children double in place in a shared mapping (copied in)".into()
            }
            (_, ArrayAccess::Shm) => {
                "exec'd workers double in place in a memfd mapping (copied in)".into()
            }
            (b, ArrayAccess::Sent(c)) => format!(
                "{} get their slice over {c} and send it back",
                match b {
                    Backend::Thread => "threads",
                    Backend::Fork => "forked children",
                    Backend::Spawn => "exec'd workers",
                }
            ),
        }
    }
}

impl std::fmt::Display for ArraySplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// cow: who writes, how much of the heap, and whether the heap is
/// backed by transparent huge pages. Spelled `<writer>-<percent>%-<4k|thp>`
/// (`child-10%-4k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CowWrite {
    pub writer: CowWriter,
    /// The fraction of the heap's pages written, in parts per million.
    pub ppm: u32,
    /// The heap was advised MADV_HUGEPAGE.
    pub huge: bool,
}

impl CowWrite {
    /// The fraction written, 0 to 1.
    pub fn fraction(self) -> f64 {
        self.ppm as f64 / 1e6
    }

    /// `10%`, `0.5%`, `100%`.
    pub fn percent(self) -> String {
        let p = self.ppm as f64 / 1e4;
        let s = format!("{p:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s}%")
    }

    /// Parts per million of `10%` or `0.5%` (`None`: not a percentage
    /// from 0 to 100 with at most four decimals).
    pub fn parse_percent(s: &str) -> Option<u32> {
        let v: f64 = s.strip_suffix('%')?.parse().ok()?;
        let ppm = (v * 1e4).round();
        ((0.0..=1e6).contains(&ppm) && (ppm - v * 1e4).abs() < 1e-6).then_some(ppm as u32)
    }

    pub fn name(self) -> String {
        let pages = if self.huge { "thp" } else { "4k" };
        format!("{}-{}-{pages}", self.writer, self.percent())
    }

    pub fn parse(s: &str) -> Option<CowWrite> {
        let (rest, pages) = s.rsplit_once('-')?;
        let (writer, pct) = rest.rsplit_once('-')?;
        let huge = match pages {
            "4k" => false,
            "thp" => true,
            _ => return None,
        };
        Some(CowWrite {
            writer: CowWriter::parse(writer)?,
            ppm: CowWrite::parse_percent(pct)?,
            huge,
        })
    }
}

impl std::fmt::Display for CowWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// crash: how the crashed worker died and, on a `recover` record, what
/// the supervisor did then. Spelled `segv` or `segv-respawn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CrashRun {
    pub fault: CrashFault,
    pub policy: Option<Recovery>,
}

impl CrashRun {
    pub fn name(self) -> String {
        match self.policy {
            Some(p) => format!("{}-{p}", self.fault),
            None => self.fault.name().to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<CrashRun> {
        if let Some(fault) = CrashFault::parse(s) {
            return Some(CrashRun {
                fault,
                policy: None,
            });
        }
        let (f, p) = s.split_once('-')?;
        Some(CrashRun {
            fault: CrashFault::parse(f)?,
            policy: Some(Recovery::parse(p)?),
        })
    }
}

impl std::fmt::Display for CrashRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// A record's variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// ctx-switch: every member sums one working set shared through a
    /// mapping (`shared-ws`).
    SharedWs,
    /// latency over every CPU pair: this pair (`pair <from>-<to>`).
    Pair(u32, u32),
    /// bandwidth: untouched buffers, headers checked (`transfer-only`).
    TransferOnly,
    /// data-parallel: `fork-shm`, `spawn-ipc-channel`, …
    Split(ArraySplit),
    /// counter: the mode.
    Mode(CounterMode),
    /// messaging: senders × receivers per group (`20x20`).
    Fanout { senders: u32, receivers: u32 },
    /// false-sharing: where the counters sit and how each is written
    /// (`packed-shm-atomic`; a bare layout, as files before the write
    /// was chosen spell it, is a store).
    Layout(CounterLayout, CounterWrite),
    /// create: the method.
    Method(CreateMethod),
    /// vm-ops: the operation.
    Op(VmOp),
    /// cow: who writes how much of the heap, on which pages.
    Cow(CowWrite),
    /// crash: the fault, and the recovery a `recover` record times.
    Crash(CrashRun),
}

/// A false-sharing variant: `packed-shm-atomic`, or a bare layout (a
/// store, as files written before the write was chosen spell it).
fn parse_layout(s: &str) -> Option<Variant> {
    if let Some(l) = CounterLayout::parse(s) {
        return Some(Variant::Layout(l, CounterWrite::Store));
    }
    let (l, w) = s.rsplit_once('-')?;
    Some(Variant::Layout(
        CounterLayout::parse(l)?,
        CounterWrite::parse(w)?,
    ))
}

/// How a CPU pair is spelled.
const PAIR_PREFIX: &str = "pair ";

impl Variant {
    pub fn name(self) -> String {
        match self {
            Variant::SharedWs => "shared-ws".into(),
            Variant::Pair(a, b) => format!("{PAIR_PREFIX}{a}-{b}"),
            Variant::TransferOnly => "transfer-only".into(),
            Variant::Split(s) => s.name(),
            Variant::Mode(m) => m.name().into(),
            Variant::Fanout { senders, receivers } => format!("{senders}x{receivers}"),
            Variant::Layout(l, w) => format!("{l}-{w}"),
            Variant::Method(m) => m.name().into(),
            Variant::Op(o) => o.name().into(),
            Variant::Cow(c) => c.name(),
            Variant::Crash(c) => c.name(),
        }
    }

    /// The variant spelled `s`. Every spelling names one variant (the
    /// kinds' names are disjoint; a test holds them so).
    pub fn parse(s: &str) -> Option<Variant> {
        match s {
            "shared-ws" => return Some(Variant::SharedWs),
            "transfer-only" => return Some(Variant::TransferOnly),
            _ => {}
        }
        if let Some(p) = s.strip_prefix(PAIR_PREFIX) {
            let (a, b) = p.split_once('-')?;
            return Some(Variant::Pair(a.parse().ok()?, b.parse().ok()?));
        }
        if let Some((a, b)) = s.split_once('x') {
            if let (Ok(senders), Ok(receivers)) = (a.parse(), b.parse()) {
                return Some(Variant::Fanout { senders, receivers });
            }
        }
        CounterMode::parse(s)
            .map(Variant::Mode)
            .or_else(|| CreateMethod::parse(s).map(Variant::Method))
            .or_else(|| parse_layout(s))
            .or_else(|| VmOp::parse(s).map(Variant::Op))
            .or_else(|| CowWrite::parse(s).map(Variant::Cow))
            .or_else(|| CrashRun::parse(s).map(Variant::Crash))
            .or_else(|| ArraySplit::parse(s).map(Variant::Split))
    }

    pub fn op(self) -> Option<VmOp> {
        match self {
            Variant::Op(o) => Some(o),
            _ => None,
        }
    }

    pub fn crash(self) -> Option<CrashRun> {
        match self {
            Variant::Crash(c) => Some(c),
            _ => None,
        }
    }

    pub fn cow(self) -> Option<CowWrite> {
        match self {
            Variant::Cow(c) => Some(c),
            _ => None,
        }
    }

    pub fn mode(self) -> Option<CounterMode> {
        match self {
            Variant::Mode(m) => Some(m),
            _ => None,
        }
    }

    pub fn method(self) -> Option<CreateMethod> {
        match self {
            Variant::Method(m) => Some(m),
            _ => None,
        }
    }

    pub fn layout(self) -> Option<(CounterLayout, CounterWrite)> {
        match self {
            Variant::Layout(l, w) => Some((l, w)),
            _ => None,
        }
    }

    pub fn split(self) -> Option<ArraySplit> {
        match self {
            Variant::Split(s) => Some(s),
            _ => None,
        }
    }

    pub fn pair(self) -> Option<(u32, u32)> {
        match self {
            Variant::Pair(a, b) => Some((a, b)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Variant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Variant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Variant, D::Error> {
        let s = String::deserialize(d)?;
        Variant::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a variant mpmt writes (a counter mode, creation method, counter layout and write (`packed-shm-atomic`), vm-ops op, cow write (`child-10%-4k`), crash fault (`segv`, `segv-respawn`), data-parallel split, `shared-ws`, `transfer-only`, `pair A-B` or `SxR`)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every() -> Vec<Variant> {
        let mut v = vec![
            Variant::SharedWs,
            Variant::TransferOnly,
            Variant::Pair(0, 1),
            Variant::Pair(11, 3),
            Variant::Fanout {
                senders: 20,
                receivers: 20,
            },
        ];
        v.extend(CounterMode::ALL.iter().map(|&m| Variant::Mode(m)));
        v.extend(CreateMethod::ALL.iter().map(|&m| Variant::Method(m)));
        for &w in CounterWrite::ALL {
            v.extend(CounterLayout::ALL.iter().map(|&l| Variant::Layout(l, w)));
        }
        v.extend(VmOp::ALL.iter().map(|&o| Variant::Op(o)));
        for &writer in CowWriter::ALL {
            for ppm in [0, 5_000, 10_000, 100_000, 1_000_000] {
                for huge in [false, true] {
                    v.push(Variant::Cow(CowWrite { writer, ppm, huge }));
                }
            }
        }
        for &fault in CrashFault::ALL {
            v.push(Variant::Crash(CrashRun {
                fault,
                policy: None,
            }));
            for &p in Recovery::ALL {
                v.push(Variant::Crash(CrashRun {
                    fault,
                    policy: Some(p),
                }));
            }
        }
        for &b in Backend::ALL {
            v.push(Variant::Split(ArraySplit::new(b, ArrayAccess::Shm)));
            for &c in Channel::ALL {
                if c != Channel::Heap {
                    v.push(Variant::Split(ArraySplit::new(b, ArrayAccess::Sent(c))));
                }
            }
        }
        v.push(Variant::Split(ArraySplit::new(
            Backend::Thread,
            ArrayAccess::Heap,
        )));
        v
    }

    #[test]
    fn every_variant_round_trips_through_its_one_spelling() {
        let all = every();
        let names: std::collections::HashSet<String> = all.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), all.len(), "two variants share a spelling");
        for v in all {
            assert_eq!(Variant::parse(&v.name()), Some(v), "{v}");
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.name()));
            assert_eq!(serde_json::from_str::<Variant>(&json).unwrap(), v);
        }
    }

    #[test]
    fn unknown_spellings_are_refused() {
        for s in [
            "",
            "fork-heap",
            "spawn-heap",
            "pair 1",
            "x20",
            "Racy",
            "thread-",
            "child-10%",
            "child-101%-4k",
            "child-10%-2m",
            "child-0.00001%-4k",
            "segv-",
            "segv-reboot",
            "respawn",
            "packed-shm-",
            "packed-shm-relaxed",
        ] {
            assert_eq!(Variant::parse(s), None, "{s}");
        }
        assert_eq!(
            Variant::parse("parent-0.5%-thp").unwrap().name(),
            "parent-0.5%-thp"
        );
        // A layout alone is how files before the write was chosen spell a store.
        assert_eq!(
            Variant::parse("packed-shm"),
            Some(Variant::Layout(
                CounterLayout::PackedShm,
                CounterWrite::Store
            ))
        );
        assert_eq!(CowWrite::parse_percent("12.5%"), Some(125_000));
        let e = serde_json::from_str::<Variant>("\"fast\"").unwrap_err();
        assert!(e.to_string().contains("`fast` is not a variant"), "{e}");
    }
}
