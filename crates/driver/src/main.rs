//! mpmt: the command-line driver, read as the pipeline it runs:
//! parse (`cli`) → plan (`plan`, one module per workload; `profiles` for
//! suites) → run (`run`: floors, each case, results written after each) →
//! report (`mpmt-report`). Measuring lives in mpmt-core; rendering in
//! mpmt-report.

mod budget;
mod choices;
mod cli;
mod executor;
mod flags;
mod output;
mod plan;
mod profiles;
mod progress;
mod run;
mod schedule;
mod term;

use clap::Parser;

fn main() {
    // A panic is caught at the case boundary and reported as that case's
    // error; the default hook would print a backtrace note on top of it.
    std::panic::set_hook(Box::new(|info| {
        // Never a panic inside the hook (a closed stderr would abort).
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "mpmt: internal error at {}",
            info.location().map(|l| l.to_string()).unwrap_or_default()
        );
    }));
    let cli = cli::Cli::try_parse().unwrap_or_else(|e| {
        if e.kind() == clap::error::ErrorKind::InvalidSubcommand
            && std::env::args().nth(1).as_deref() == Some("run")
        {
            // clap's usage line says <COMMAND>; name the workloads.
            let names = mpmt_core::WorkloadKind::names();
            crate::note!("{}\nworkloads: {names}", e.render().to_string().trim_end());
            std::process::exit(2);
        }
        e.exit()
    });
    let code = match cli.command {
        cli::Command::Run(a) => run::run(&a),
        cli::Command::Suite(a) => run::suite(&a),
        cli::Command::Report { run_dir } => run::report(&run_dir),
        cli::Command::Compare(a) => run::compare(&a),
        cli::Command::Export(a) => run::export(&a),
        cli::Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = cli::Cli::command();
            clap_complete::generate(shell, &mut cmd, "mpmt", &mut std::io::stdout());
            Ok(0)
        }
        cli::Command::Selftest {
            test: cli::Selftest::Aa(a),
        } => run::selftest_aa(&a),
        cli::Command::List => {
            crate::term::out(format_args!("{}", run::list_text()));
            Ok(0)
        }
        cli::Command::Env(a) => run::env(&a),
    };
    match code {
        // Output cut short after the run ended (`… | head -1`): as SIGPIPE.
        Ok(0) if term::closed() => std::process::exit(128 + 13),
        Ok(c) => std::process::exit(c),
        Err(e) => {
            crate::note!("error: {}", run::chain(&e));
            // 2: the input cannot be run; 1: a measurement or a write failed.
            let bad_input = e.downcast_ref::<run::BadInput>().is_some();
            std::process::exit(if bad_input { 2 } else { 1 });
        }
    }
}
