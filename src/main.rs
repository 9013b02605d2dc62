use clap::Parser;

fn main() -> anyhow::Result<()> {
    glean::openmp::wait_passively();
    let cli = glean::cli::Cli::parse();
    glean::cli::run(cli)
}
