//! The run folder: `<out>/<run-id>/results.json` and `results.csv`, each
//! rewritten atomically (a uniquely named temp file, then rename) after
//! every case, so a crash, an interrupt or a full disk keeps every finished
//! case; and `<out>/latest`, swapped atomically to the newest run that has
//! results.

use anyhow::{Context, Result};
use mpmt_core::schema::Results;
use mpmt_report::OutDir;
use std::path::Path;

/// A run id from the start time: `YYYYMMDD-HHMMSS-<pid>`.
pub fn run_id(start_rfc3339: &str) -> String {
    let digits: String = start_rfc3339
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{date}-{time}-{}", std::process::id())
}

/// A run's folder and the `--out` folder it is in, both open.
pub struct RunDir {
    pub out: OutDir,
    pub run: OutDir,
}

/// Creates `<out>/<id>/` and opens it, failing with the flag named if it
/// cannot. `<out>` is created as needed; the run's own folder must not
/// exist yet (an entry of that name, a planted symlink included, is
/// refused, never followed), and every file of the run is written through
/// the descriptor returned.
pub fn create_run_dir(out: &Path, id: &str) -> Result<RunDir> {
    let dir = out.join(id);
    let base = std::fs::create_dir_all(out)
        .and_then(|()| OutDir::open(out))
        .with_context(|| format!("--out {}: cannot create or open it", out.display()))?;
    let run = base.create_dir(id).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "--out {}: {} already exists (refusing to write a run into an entry mpmt did not create)",
                out.display(),
                dir.display()
            )
        } else {
            anyhow::Error::new(e).context(format!(
                "--out {}: cannot create the run directory {}",
                out.display(),
                dir.display()
            ))
        }
    })?;
    Ok(RunDir { out: base, run })
}

fn write_in(dir: &OutDir, name: &str, bytes: &[u8]) -> Result<()> {
    dir.write_atomic(name, bytes)
        .with_context(|| format!("cannot write {}", dir.join(name).display()))
}

/// Writes results.json and results.csv into `dir`.
pub fn write_results(dir: &OutDir, results: &Results) -> Result<()> {
    let json = serde_json::to_vec_pretty(results)?;
    write_in(dir, "results.json", &json)?;
    let csv = mpmt_report::csv_string(&results.records)?;
    write_in(dir, "results.csv", csv.as_bytes())
}

/// Points `<out>/latest` at run `id` atomically (a new symlink under a
/// unique name, renamed over the old one), so `latest` always names a
/// whole run.
pub fn point_latest(out: &OutDir, id: &str) -> Result<()> {
    out.symlink_atomic(id, "latest")
        .with_context(|| format!("pointing {} at {id}", out.join("latest").display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_planted_at_the_run_id_is_refused_not_followed() {
        let out = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(victim.path(), out.path().join("20261201-000000-1")).unwrap();
        let e = create_run_dir(out.path(), "20261201-000000-1")
            .err()
            .expect("a planted link must be refused");
        assert!(format!("{e:#}").contains("already exists"), "{e:#}");
        assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 0);
        // A fresh id works, and its files land inside it.
        let d = create_run_dir(out.path(), "20261201-000000-2").unwrap();
        d.run.write_atomic("results.json", b"{}").unwrap();
        assert!(out.path().join("20261201-000000-2/results.json").is_file());
    }

    #[test]
    fn run_id_from_time() {
        let id = run_id("2026-11-23T02:15:30Z");
        assert!(id.starts_with("20261123-021530-"), "{id}");
    }
}
