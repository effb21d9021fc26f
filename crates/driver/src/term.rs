//! Terminal output that survives a closed stdout or stderr (`mpmt … | head
//! -1`, a terminal closed under a run). Rust ignores SIGPIPE, so a write to
//! a closed pipe fails with EPIPE, and `println!` would panic on it. Every
//! line mpmt prints goes through [`out`] or [`err`] instead: the first
//! write that fails ends the run as an interrupt does (as SIGPIPE would:
//! every worker stopped and reaped, the records kept, the run marked
//! interrupted, exit 128 + 13), and later writes are skipped.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// True once a write to stdout or stderr failed.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

fn failed() {
    if !CLOSED.swap(true, Ordering::SeqCst) {
        mpmt_core::sys::signal::interrupt_as(libc_sigpipe());
    }
}

fn libc_sigpipe() -> i32 {
    13
}

fn write(mut w: impl Write, args: fmt::Arguments) {
    if closed() {
        return;
    }
    if w.write_fmt(args).and_then(|()| w.flush()).is_err() {
        failed();
    }
}

/// Writes to stdout (no newline added).
pub fn out(args: fmt::Arguments) {
    write(std::io::stdout().lock(), args)
}

/// Writes to stderr (no newline added).
pub fn err(args: fmt::Arguments) {
    write(std::io::stderr().lock(), args)
}

/// `println!` that never panics: see the module doc.
#[macro_export]
macro_rules! say {
    () => { $crate::term::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::term::out(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` that never panics: see the module doc.
#[macro_export]
macro_rules! note {
    ($($t:tt)*) => { $crate::term::err(format_args!("{}\n", format_args!($($t)*))) };
}
