//! Records the compiler version and git revision for the run metadata, and
//! builds `mpmt-noop` (noop/noop.c), the static exec target that the create
//! workload embeds.
use std::process::Command;

/// Compiles noop/noop.c into a static executable with no C runtime, using
/// the C compiler that links Rust programs on this target.
fn build_noop() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let exe = out.join("mpmt-noop");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-static", "-nostdlib", "-nostartfiles", "-O2", "-s", "-o"])
        .arg(&exe)
        .arg("noop/noop.c")
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!(
            "building mpmt-noop with `{cc}` failed ({other:?}): a C compiler is needed (the one Rust links with; set CC to choose another)"
        ),
    }
    println!("cargo:rerun-if-changed=noop/noop.c");
    println!("cargo:rerun-if-env-changed=CC");
}

fn main() {
    build_noop();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=MPMT_RUSTC_VERSION={}", version.trim());
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=MPMT_GIT_REVISION={}", rev.trim());
    for p in ["../../.git/HEAD", "../../.git/refs/heads"] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
