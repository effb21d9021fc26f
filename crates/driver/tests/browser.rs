//! The HTML report in a real headless browser (Debian's chromium): every
//! image loads with a non-zero size and the page logs nothing to the
//! console. Skipped with a note when chromium is not installed, unless
//! MPMT_REQUIRE_BROWSER=1 (as in CI), which makes a missing browser a
//! failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MPMT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn attr(dom: &str, name: &str) -> Option<u32> {
    let key = format!("{name}=\"");
    let i = dom.find(&key)? + key.len();
    dom[i..].split('"').next()?.parse().ok()
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        let msg =
            "chromium is not installed, so the browser check of the HTML report was skipped; \
                   install it with `apt-get install chromium` (Debian) to run it";
        assert!(std::env::var("MPMT_REQUIRE_BROWSER").is_err(), "{msg}");
        eprintln!("note: {msg}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../report/tests/fixtures/run-a/results.json");
    std::fs::copy(fixture, dir.path().join("results.json")).unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_mpmt"))
        .arg("report")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "file://{}",
            dir.path().join("index.html").display()
        ))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {log}");
    let total = attr(&dom, "data-images-total")
        .unwrap_or_else(|| panic!("the page's load check did not run; stderr: {log}"));
    let ok = attr(&dom, "data-images-ok").unwrap();
    assert_eq!(total, 8, "index.html should show 8 charts");
    assert_eq!(ok, total, "{} of {total} images failed to load", total - ok);
    assert!(
        !dom.contains("<p class=\"broken\""),
        "a broken-image marker was inserted"
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
}
