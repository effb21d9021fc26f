//! Getting mpmt onto a machine: `make install` gives a working `mpmt` on
//! the PATH, and completion scripts for each shell.

mod common;

use common::mpmt;
use predicates::prelude::*;
use std::path::Path;

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef mpmt"),
        ("fish", "complete -c mpmt"),
    ] {
        let out = mpmt().args(["completions", shell]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(text.contains(marker), "{shell}: {text}");
        for sub in ["suite", "compare", "export"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    mpmt()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

/// `make install` (its copying half, over this test build) puts mpmt and
/// mpmt-worker side by side; in a fresh environment with only that folder
/// on PATH, `mpmt list` works and a spawn run finds its worker next to
/// mpmt.
#[test]
fn make_install_gives_a_working_mpmt_on_the_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = Path::new(env!("CARGO_BIN_EXE_mpmt")).parent().unwrap();
    common::worker_path();
    let prefix = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("make")
        .current_dir(&root)
        .args(["--no-print-directory", "install-files"])
        .arg(format!("BINSRC={}", built.display()))
        .arg(format!("PREFIX={}", prefix.path().display()))
        .output()
        .expect("make runs");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let bin = prefix.path().join("bin");
    assert!(bin.join("mpmt").is_file() && bin.join("mpmt-worker").is_file());
    let fresh = |args: &[&str]| {
        std::process::Command::new("mpmt")
            .args(args)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .current_dir(prefix.path())
            .output()
            .unwrap()
    };
    let list = fresh(&["list"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(String::from_utf8_lossy(&list.stdout).contains("workloads (mpmt run <workload>):"));
    let out = prefix.path().join("r");
    let run = fresh(&[
        "run",
        "latency",
        "--backend",
        "spawn",
        "--channel",
        "pipe",
        "--placement",
        "same-cpu",
        "--sizes",
        "8",
        "--samples",
        "20",
        "--rounds",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("latency   spawn"));
}
