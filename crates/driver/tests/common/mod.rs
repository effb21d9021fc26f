//! Helpers shared by the driver's test binaries.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn worker_path() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_mpmt"))
        .parent()
        .unwrap()
        .join("mpmt-worker");
    assert!(
        p.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so mpmt-worker is built",
        p.display()
    );
    p
}

pub fn mpmt() -> Command {
    let mut c = Command::cargo_bin("mpmt").unwrap();
    c.env("MPMT_WORKER", worker_path());
    c
}

/// The one run folder in `out` (besides `latest`, which, when present,
/// must point at it).
pub fn only_run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("latest"))
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run directory in {}: {dirs:?}",
        out.display()
    );
    if let Ok(target) = std::fs::read_link(out.join("latest")) {
        assert_eq!(out.join(target), dirs[0], "latest points elsewhere");
    }
    dirs[0].clone()
}

/// The results.json of the one run folder in `out`, parsed.
pub fn only_results(out: &Path) -> serde_json::Value {
    let dir = only_run_dir(out);
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// Child processes of `pid` (every thread's children).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// Tasks of `pid` other than its main thread.
pub fn threads_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .filter(|&t| t != pid)
                .collect()
        })
        .unwrap_or_default()
}
