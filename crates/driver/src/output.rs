//! The run folder: `<out>/<run-id>/results.json` and `results.csv`, each
//! rewritten atomically (a uniquely named temp file, then rename) after
//! every case, so a crash, an interrupt or a full disk keeps every finished
//! case; and `<out>/latest`, swapped atomically to the newest run that has
//! results.

use anyhow::{Context, Result};
use mpmt_core::schema::Results;
use std::path::{Path, PathBuf};

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

/// Creates `<out>/<id>/`, failing with the flag named if it cannot.
pub fn create_run_dir(out: &Path, id: &str) -> Result<PathBuf> {
    let dir = out.join(id);
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "--out {}: cannot create the run directory {}",
            out.display(),
            dir.display()
        )
    })?;
    Ok(dir)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    mpmt_report::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes results.json and results.csv into `dir`.
pub fn write_results(dir: &Path, results: &Results) -> Result<()> {
    let json = serde_json::to_vec_pretty(results)?;
    write_atomic(&dir.join("results.json"), &json)?;
    let csv = mpmt_report::csv_string(&results.records)?;
    write_atomic(&dir.join("results.csv"), csv.as_bytes())
}

/// Points `<out>/latest` at run `id` atomically: a new symlink under a
/// unique name, renamed over the old one, so `latest` always names a whole
/// run (never missing, never half-replaced).
pub fn point_latest(out: &Path, id: &str) -> Result<()> {
    let latest = out.join("latest");
    let tmp = out.join(format!(".latest.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(id, &tmp)
        .and_then(|()| std::fs::rename(&tmp, &latest))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("pointing {} at {id}", latest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_from_time() {
        let id = run_id("2026-11-23T02:15:30Z");
        assert!(id.starts_with("20261123-021530-"), "{id}");
    }
}
