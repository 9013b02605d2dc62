//! Command-line interface: clap definitions and the wiring from each command to the
//! modules that do the work. No logic of its own lives here.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "glean", version, about = "Active-learning image labeler for the terminal")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print libtorch's version and the devices it sees.
    Doctor,
    /// Scan and decode a data folder (using the pool cache); print what was found.
    Scan(ScanArgs),
    /// List saved sessions: name, data folder, labeled / pool, last test accuracy,
    /// strategy, last used.
    Sessions(SessionsArgs),
    /// Write a session's labels (item path, class name, source, time) as CSV or JSON.
    Export(ExportArgs),
}

/// Arguments of `glean sessions`.
#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    /// Folder of saved sessions (default: the platform data folder).
    #[arg(long, env = "GLEAN_SESSION_DIR", value_name = "DIR")]
    pub session_dir: Option<std::path::PathBuf>,
}

/// Arguments of `glean export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The session's name.
    pub name: String,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::session::ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Folder of saved sessions (default: the platform data folder).
    #[arg(long, env = "GLEAN_SESSION_DIR", value_name = "DIR")]
    pub session_dir: Option<std::path::PathBuf>,
}

/// Arguments of `glean scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The data folder: class folders, train/ + test/, a flat folder, or MNIST IDX files.
    pub dir: std::path::PathBuf,
    /// An explicit test folder (labeled: class folders, or flat with --label-pattern).
    #[arg(long)]
    pub test: Option<std::path::PathBuf>,
    /// Regex with one capture group that takes the class from the file name.
    #[arg(long, value_name = "REGEX")]
    pub label_pattern: Option<String>,
    /// Class names, comma-separated (names an unlabeled folder's classes).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// Decode to this square side (default: chosen from the images).
    #[arg(long, requires = "channels")]
    pub size: Option<u32>,
    /// Decode to 1 (grayscale) or 3 (RGB) channels.
    #[arg(long, requires = "size")]
    pub channels: Option<u8>,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sessions(args) => {
            let dir = args.session_dir.unwrap_or_else(crate::paths::session_dir);
            crate::session::commands::print_sessions(&dir, std::io::stdout().lock())?;
            Ok(())
        }
        Command::Export(args) => {
            let dir = args.session_dir.unwrap_or_else(crate::paths::session_dir);
            crate::session::commands::export_session(
                &dir,
                &args.name,
                args.format,
                args.output.as_deref(),
                std::io::stdout().lock(),
                std::io::stderr().lock(),
            )?;
            Ok(())
        }
        Command::Scan(args) => {
            let opts = crate::dataset::ScanOptions {
                test: args.test,
                label_pattern: args.label_pattern,
                classes: args.classes,
            };
            let spec = args
                .size
                .zip(args.channels)
                .map(|(size, channels)| crate::dataset::DecodeSpec { channels, size });
            let loaded =
                crate::dataset::load(&args.dir, &opts, spec, &crate::paths::cache_dir())?;
            print!("{}", crate::dataset::report::render(&loaded));
            Ok(())
        }
        Command::Doctor => {
            println!("cuda available: {}", tch::Cuda::is_available());
            println!("cuda devices:   {}", tch::Cuda::device_count());
            let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
            println!("libtorch works: sum(1,2,3) = {}", t.sum(tch::Kind::Float).double_value(&[]));
            Ok(())
        }
    }
}
