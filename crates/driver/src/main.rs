//! mpmt: the command-line driver. Parses flags, validates them into a plan
//! before any worker starts, runs the plan case by case (writing results
//! after each), and prints a summary. Measuring lives in mpmt-core;
//! rendering in mpmt-report.

mod cli;
mod output;
mod plan;
mod run;
mod suite;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Run(a) => run::run(&a),
        cli::Command::Suite(a) => run::suite(&a),
        cli::Command::Report { run_dir } => run::report(&run_dir),
        cli::Command::Compare { a, b, out } => run::compare(&a, &b, out.as_deref()),
        cli::Command::List => {
            print!("{}", run::list_text());
            Ok(0)
        }
        cli::Command::Env(a) => run::env(&a),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
