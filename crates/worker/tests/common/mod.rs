//! The single-threaded test harness shared by the suites that fork: runs
//! each test on the main thread under an alarm (a hang fails instead of
//! stalling CI), then checks that the whole suite left no child process, fd,
//! /dev/shm entry or ipc-channel socket directory behind, and prints
//! `N passed, N failed`.

use std::collections::BTreeSet;
use std::time::Duration;

pub type TestResult = Result<(), String>;
pub type Test = (String, Box<dyn Fn() -> TestResult>);

fn dir_entries(path: &str, filter: impl Fn(&str) -> bool) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| filter(n))
                .collect()
        })
        .unwrap_or_default()
}

fn no_children_left() -> TestResult {
    let mut status = 0;
    // SAFETY: waitpid on any child with WNOHANG; status is a valid int.
    let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    if r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
        Ok(())
    } else {
        Err(format!("a child process remains (waitpid returned {r})"))
    }
}

/// Runs `tests` (those whose name contains the first non-flag argument, if
/// any), then the leak checks; exits non-zero on any failure.
pub fn run_suite(tests: Vec<Test>) -> ! {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // The kernel-event counters held for the process's life are opened
    // first: they are the run's, not a leak.
    mpmt_core::sys::perf::hold();
    let fds_before = mpmt_core::sys::proc::open_fds().expect("listing fds");
    let shm_before = dir_entries("/dev/shm", |_| true);
    let tmp_before = dir_entries("/tmp", |n| n.starts_with(".tmp"));
    std::env::set_var("MPMT_WORKER", env!("CARGO_BIN_EXE_mpmt-worker"));
    let (mut passed, mut failed) = (0, 0);
    let mut report = |name: &str, r: TestResult| match r {
        Ok(()) => {
            passed += 1;
            println!("test {name} ... ok");
        }
        Err(e) => {
            failed += 1;
            println!("test {name} ... FAILED: {e}");
        }
    };
    for (name, t) in &tests {
        if let Some(f) = &filter {
            if !name.contains(f.as_str()) {
                continue;
            }
        }
        // SAFETY: alarm only arms a timer; SIGALRM's default action ends
        // the suite if a test hangs.
        unsafe { libc::alarm(60) };
        report(name, t());
    }
    // SAFETY: disarms the timer.
    unsafe { libc::alarm(0) };

    std::thread::sleep(Duration::from_millis(50));
    report("no_children_left", no_children_left());
    let fds_after = mpmt_core::sys::proc::open_fds().expect("listing fds");
    report(
        "no_fd_leaked",
        if fds_after == fds_before {
            Ok(())
        } else {
            Err(format!(
                "open fds before {fds_before:?}, after {fds_after:?}"
            ))
        },
    );
    let shm_after = dir_entries("/dev/shm", |_| true);
    let new_shm: Vec<_> = shm_after.difference(&shm_before).collect();
    report(
        "dev_shm_clean",
        if new_shm.is_empty() {
            Ok(())
        } else {
            Err(format!("new in /dev/shm: {new_shm:?}"))
        },
    );
    let tmp_after = dir_entries("/tmp", |n| n.starts_with(".tmp"));
    let new_tmp: Vec<_> = tmp_after.difference(&tmp_before).collect();
    report(
        "no_socket_dirs_left",
        if new_tmp.is_empty() {
            Ok(())
        } else {
            Err(format!("new in /tmp: {new_tmp:?}"))
        },
    );
    println!("\n{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
