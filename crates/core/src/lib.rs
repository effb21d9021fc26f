//! mpmt-core: the measuring half of mpmt. It never prints and never parses
//! command-line flags. Layers, each importing only from those below it:
//!
//! ```text
//! workloads/  what one measured operation is: Workload + Case + Job per
//!             workload, one registry (the worker binary dispatches on it)
//! backend/    how a member is born (thread, fork, spawn): Job, Team, the
//!             worker protocol; never names a workload
//! channel/    how members talk: the Channel contract, one file per channel,
//!             capabilities as constants, the registry macro
//! shm/        shared mappings and the start gate
//! measure/    clock, sampler, floors, environment, the one Record builder
//! sys/        raw Linux: futex, affinity, fds, children, /proc, signals
//! ```
//!
//! The result types themselves (records, kinds, statistics) live in
//! `mpmt-schema`, which the report reads without linking any of this.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod backend;
pub mod channel;
pub mod error;
pub mod measure;
pub mod shm;
pub mod sys;
pub mod workloads;

pub use error::{Error, Result};
pub use mpmt_schema as schema;
pub use mpmt_schema::{Backend, Channel as ChannelKind, Placement, Workload as WorkloadKind};

#[cfg(test)]
mod layering {
    //! The layer diagram above, checked: no file imports from a layer
    //! above its own.

    use std::path::Path;

    /// Layers bottom-up; `error` sits between `sys` and everything else.
    const LAYERS: [&str; 7] = [
        "sys",
        "error",
        "measure",
        "shm",
        "channel",
        "backend",
        "workloads",
    ];

    fn rank(name: &str) -> Option<usize> {
        // The channel registry macro is exported at the crate root.
        let name = if name == "with_channel" {
            "channel"
        } else {
            name
        };
        LAYERS.iter().position(|l| *l == name)
    }

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("reading src") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn imports_only_point_down() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let mut bad = Vec::new();
        for f in &all {
            let rel = f.strip_prefix(&src).expect("under src");
            let top = rel.components().next().expect("a component");
            let top = top.as_os_str().to_string_lossy();
            let Some(own) = rank(top.trim_end_matches(".rs")) else {
                continue; // lib.rs
            };
            let text = std::fs::read_to_string(f).expect("reading a source file");
            for (i, line) in text.lines().enumerate() {
                for part in line.split("crate::").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if let Some(r) = rank(&name) {
                        if r > own {
                            bad.push(format!("{}:{}: {}", rel.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
        assert!(bad.is_empty(), "imports pointing up:\n{}", bad.join("\n"));
        assert!(all.len() > 20, "found only {} files", all.len());
    }
}
