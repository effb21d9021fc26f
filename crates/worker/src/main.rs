//! mpmt-worker: the process the `spawn` backend execs. With `--bootstrap`
//! it connects to the parent's ipc-channel one-shot server named on its
//! command line, receives its job and runs it through the workload
//! registry, and writes its report to the inherited result fd. `--noop`
//! exits at once (the create workload's exec target). It is not meant to be
//! run by hand.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, flag, name] if flag == "--bootstrap" => std::process::exit(
            mpmt_core::backend::process::worker_main(name, mpmt_core::workloads::dispatch),
        ),
        [_, flag] if flag == "--noop" => {}
        _ => {
            eprintln!(
                "mpmt-worker is started by `mpmt` and is not meant to be run by hand.\n\
                 usage: mpmt-worker --bootstrap <ipc-channel server name> | --noop"
            );
            std::process::exit(2);
        }
    }
}
