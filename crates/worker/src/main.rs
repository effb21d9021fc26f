//! mpmt-worker: the process the `spawn` backend execs. It connects to the
//! parent's ipc-channel one-shot server named on its command line, receives
//! its job (role, channel ends, CPU), serves it, and writes its report to
//! the inherited result fd. It is not meant to be run by hand.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, flag, name] if flag == "--bootstrap" => {
            std::process::exit(mpmt_core::backend::worker_main(name))
        }
        _ => {
            eprintln!(
                "mpmt-worker is started by `mpmt` (spawn backend) and is not meant to be run by hand.\nusage: mpmt-worker --bootstrap <ipc-channel server name>"
            );
            std::process::exit(2);
        }
    }
}
