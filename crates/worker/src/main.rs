//! mpmt-worker: the process the `spawn` backend execs. With `--bootstrap`
//! it connects to the parent's ipc-channel one-shot server named on its
//! command line, receives its job (ring member, data-parallel slice or
//! counter), runs it, and writes its report to the inherited result fd.
//! `--noop` exits at once (the creation-cost workload); `--park` writes one
//! byte to stdout and waits for stdin to close (the memory measurement).
//! It is not meant to be run by hand.

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, flag, name] if flag == "--bootstrap" => {
            std::process::exit(mpmt_core::process::worker_main(name))
        }
        [_, flag] if flag == "--noop" => {}
        [_, flag] if flag == "--park" => {
            let _ = std::io::stdout()
                .write_all(&[1])
                .and_then(|_| std::io::stdout().flush());
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        }
        _ => {
            eprintln!(
                "mpmt-worker is started by `mpmt` and is not meant to be run by hand.\n\
                 usage: mpmt-worker --bootstrap <ipc-channel server name> | --noop | --park"
            );
            std::process::exit(2);
        }
    }
}
