use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    glean::openmp::wait_passively();
    let cli = glean::cli::Cli::parse();
    let debug = cli.debug;
    match glean::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => glean::cli::report_error(&error, debug, &mut std::io::stderr().lock()),
    }
}
