//! Placement: where workers run. The exact member→CPU map it produces goes
//! into every record.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Every member pinned to the first selected CPU: pure switch cost.
    SameCpu,
    /// Consecutive members pinned to distinct CPUs (round-robin over the
    /// selected CPUs): wake-up and cache-line transfer cost.
    CrossCpu,
    /// Unpinned: wherever the scheduler puts them.
    Os,
}

impl Placement {
    pub const ALL: [Placement; 3] = [Placement::SameCpu, Placement::CrossCpu, Placement::Os];

    pub fn name(self) -> &'static str {
        match self {
            Placement::SameCpu => "same-cpu",
            Placement::CrossCpu => "cross-cpu",
            Placement::Os => "os",
        }
    }

    pub fn parse(s: &str) -> Option<Placement> {
        Placement::ALL.into_iter().find(|p| p.name() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Placement::SameCpu => "all workers pinned to one CPU (pure switch cost)",
            Placement::CrossCpu => "workers pinned to distinct CPUs (wake-up and cache transfer)",
            Placement::Os => "unpinned (the scheduler decides)",
        }
    }

    /// CPU of each of `members` members, given the selected CPUs.
    pub fn cpu_map(self, members: usize, cpus: &[u32]) -> Result<Vec<Option<u32>>, String> {
        match self {
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
}

impl std::fmt::Display for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps() {
        assert_eq!(
            Placement::SameCpu.cpu_map(3, &[4, 5]).unwrap(),
            vec![Some(4); 3]
        );
        assert_eq!(
            Placement::CrossCpu.cpu_map(3, &[0, 1]).unwrap(),
            vec![Some(0), Some(1), Some(0)]
        );
        assert_eq!(Placement::Os.cpu_map(2, &[0]).unwrap(), vec![None, None]);
        let e = Placement::CrossCpu.cpu_map(2, &[0]).unwrap_err();
        assert!(e.contains("at least 2 CPUs"), "{e}");
    }
}
