use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = glean::cli::Cli::parse();
    glean::cli::run(cli)
}
