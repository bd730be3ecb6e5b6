use clap::Parser;
use std::process::ExitCode;
use zkml_evm::cli::{run, Cli, Rejected};

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`zkml-evm calldata p.json | head -c 10`)
    // instead of panicking inside println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = zkml_evm::cpu_check() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", zkml_evm::cli::error_line(&e));
            if e.downcast_ref::<Rejected>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
