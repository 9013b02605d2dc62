//! Command-line interface: clap definitions and the wiring from each command to the
//! modules that do the work. No logic of its own lives here.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "glean",
    version,
    about = "Active-learning image labeler for the terminal"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// On an error, print its whole chain with a backtrace (also with GLEAN_DEBUG=1).
    #[arg(long, global = true, env = "GLEAN_DEBUG")]
    pub debug: bool,
}

/// How glean ends on an error: its message, one line, and exit status 1, whatever
/// RUST_BACKTRACE says (a user's mistake is not a bug: the message says what to do);
/// the chain with anyhow's backtrace only under `--debug`. Output cut off by a closed
/// pipe (`glean export … | head`) ends quietly, with success.
pub fn report_error(
    error: &anyhow::Error,
    debug: bool,
    stderr: &mut dyn std::io::Write,
) -> std::process::ExitCode {
    let broken_pipe = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return std::process::ExitCode::SUCCESS;
    }
    // Nothing more can be said if stderr itself is gone.
    let _ = if debug {
        writeln!(stderr, "glean: {error:?}")
    } else {
        writeln!(stderr, "glean: {}", message(error))
    };
    std::process::ExitCode::FAILURE
}

/// The error and its causes on one line, `a: b: c`, leaving out a cause whose text the
/// line already holds (an I/O error that its wrapper names and also gives as source).
pub fn message(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// `text` on stdout, as an error (a closed pipe among them) rather than print!'s panic.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the libtorch set-up: the devices it sees, and a tensor computed on one.
    Doctor,
    /// Scan and decode a data folder (using the pool cache); print what was found.
    Scan(ScanArgs),
    /// List saved sessions: name, data folder, labeled / pool, last test accuracy,
    /// strategy, last used.
    Sessions(SessionsArgs),
    /// Write a session's labels (item path, class name, source, time) as CSV or JSON;
    /// with --all every pool item, the unlabeled ones with their predicted class.
    Export(ExportArgs),
    /// Label a data folder in the terminal, most useful image first (resumes the
    /// session when it exists).
    Label(LabelArgs),
    /// Resume the named session, or the most recent one.
    Resume(ResumeArgs),
    /// Run the labeling loop headless with the auto-oracle and compare strategies:
    /// writes curves.csv, summary.json, curves.svg and curves.png (and curves.plot.json,
    /// what `glean plot` needs to draw them again).
    Simulate(SimulateArgs),
    /// Draw the plots of `glean simulate` output folders again from what the run wrote
    /// (curves.csv or review.csv, and the plot.json beside it), without simulating:
    /// rewrites curves.svg/png or review.svg/png in each folder.
    Plot(PlotArgs),
}

/// Arguments of `glean plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// Folders written by `glean simulate --out DIR`.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<std::path::PathBuf>,
}

/// Arguments of `glean simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The data folder (its labels come from folder or file names, or IDX labels).
    pub data: std::path::PathBuf,
    #[command(flatten)]
    pub dataset: DataArgs,
    /// Query strategies to compare, comma-separated.
    #[arg(long, default_value = "margin,random", value_delimiter = ',', value_parser = strategy_values())]
    pub strategies: Vec<String>,
    /// Size of the first batch (chosen by the cold start).
    #[arg(long, default_value_t = 20)]
    pub init: usize,
    /// Labels added per round.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Total labels at which each trial stops.
    #[arg(long, default_value_t = 300)]
    pub budget: usize,
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Seed of trial 1 (trial n uses seed + n - 1).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: std::path::PathBuf,
    #[command(flatten)]
    pub learning: LearningArgs,
    /// First batch: kmeans (items nearest k-means centres), random, or balanced
    /// (random with every class equally often, the papers' protocol), for every
    /// strategy. Unset: kmeans, except for the random strategy, whose first batch is
    /// random too, so that it is the no-active-learning baseline.
    #[arg(long, value_name = "kmeans|random|balanced")]
    pub cold_start: Option<String>,
    /// Score only a seeded random subset of this many unlabeled items per round.
    #[arg(long, value_name = "N")]
    pub pool_subset: Option<usize>,
    /// Keep the network's weights between rounds instead of retraining from scratch
    /// (the hybrid learner always does).
    #[arg(long)]
    pub warm_start: bool,
    /// Also train once on every pool label and draw that accuracy as a line.
    #[arg(long)]
    pub full_baseline: bool,
    /// Leave the backbone's ImageNet classifier out of the rounds: no prior, no row at
    /// 0 labels, every prediction from the labels alone (to measure what it adds).
    #[arg(long)]
    pub without_zero_shot: bool,
    /// Measure on a validation split instead of the test split: a count (1000) or a
    /// fraction (0.2) of the pool left after any --holdout, stratified by class and the
    /// same files every time. The test split is not read, so constants chosen from
    /// these figures never saw it.
    #[arg(long, value_name = "N|FRAC")]
    pub validation: Option<crate::dataset::Holdout>,
    /// Measure accuracy on the test split, or on the pool items still unlabeled after
    /// each round (the graph-learning papers' protocol; no test split needed).
    #[arg(long, value_name = "test|pool", default_value = "test")]
    pub accuracy_on: crate::simulate::AccuracyOn,
    /// After the single labels (--budget; 0: pages from the ImageNet head's guesses
    /// before any label), review pages as a person would: each round one page per
    /// class of the items the predictor assigns to it, surest first (classes with
    /// fewer than a page share one); the oracle marks exactly the wrong ones with
    /// their right class. Writes
    /// the accuracy of the whole exported folder against keypresses (review.csv,
    /// review.json, review.svg) instead of the learning curves.
    #[arg(long)]
    pub review: bool,
    /// Items on a review page (60 fill the grid of a 120×40 terminal).
    #[arg(long, default_value_t = 60, requires = "review")]
    pub page_size: usize,
    /// With --review: a trial stops after this many keypresses (single labels, marks
    /// and page confirms), or when every item is labeled.
    #[arg(long, default_value_t = 2000, requires = "review")]
    pub keypresses: usize,
    /// With --review: pages confirmed between two rounds (default: one per class).
    #[arg(long, value_name = "N", requires = "review")]
    pub pages_per_round: Option<usize>,
}

/// What learns and where: shared by `label` and `simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct LearningArgs {
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: crate::learn::DeviceChoice,
    /// The network: cnn (on pixels), effnet-lite2 or effnet-lite0 (a head over frozen
    /// ImageNet features; Lite2 is stronger, Lite0 twice as fast), or auto (for colour
    /// images the first of those `make effnet` has installed, else cnn).
    #[arg(long, default_value = "auto")]
    pub model: crate::learn::ModelKind,
    /// What learns from the labels: cnn (the network alone), graph (label propagation
    /// over the pool's nearest-neighbour graph), or hybrid (both: the network also
    /// trains on the graph's confident pseudo-labels, and predictions blend the two).
    #[arg(long, default_value = "hybrid")]
    pub learner: crate::learn::LearnerKind,
    /// A checkpoint (safetensors, e.g. a session's NAME.model.safetensors) every new network
    /// starts from instead of random weights.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<std::path::PathBuf>,
    /// What the graph is built on: pca (of deskewed pixels for grayscale, of the
    /// backbone's features for photos, of the pixels for other colour images), vae (an
    /// autoencoder trained on the images: about 3 minutes for 70,000 digits on 2
    /// cores, cached), or auto (both where the autoencoder applies, and the one the
    /// labels favour, judged by cross-validation).
    #[arg(long, value_name = "auto|pca|vae", default_value = "auto")]
    pub embedding: crate::learn::EmbeddingKind,
    /// Poisson-MBO after the propagation: the scores diffused over the graph and
    /// projected to the class sizes the propagation predicts, twenty times (Calder et
    /// al. 2020): on, off, or auto (on unless cross-validation on the labels clearly
    /// favours it off).
    #[arg(long, value_name = "auto|on|off", default_value = "auto")]
    pub class_prior: crate::learn::ClassPrior,
    /// The cluster-errors strategy's k-means clusters of the pool (default: one per
    /// class).
    #[arg(long, value_name = "K", value_parser = parse_clusters)]
    pub clusters: Option<usize>,
    /// How cluster-errors takes the items inside a cluster: margin (least sure first)
    /// or random.
    #[arg(long, value_name = "margin|random", default_value = "margin")]
    pub cluster_pick: crate::learn::ClusterPick,
    /// Every N-th image asked for is drawn at random from the unlabeled pool instead of
    /// by the strategy (not under random, which is all random). Those labels judge the
    /// predictors and fit the probabilities' calibration without the strategy's bias
    /// (its picks are where the model is weakest). 0: none. A session keeps the
    /// setting it was made with.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub audit_every: usize,
}

impl LearningArgs {
    /// The structure-reading strategies' settings.
    pub fn query(&self) -> crate::learn::QueryOptions {
        crate::learn::QueryOptions {
            clusters: self.clusters,
            cluster_pick: self.cluster_pick,
        }
    }
}

fn parse_clusters(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if k >= 1 => Ok(k),
        _ => Err(format!("`{s}` is not a number of clusters (1 or more)")),
    }
}

/// Arguments of `glean label`.
#[derive(Debug, clap::Args)]
pub struct LabelArgs {
    /// The data folder: class folders, train/ + test/, a flat folder, or MNIST IDX files.
    pub data: std::path::PathBuf,
    #[command(flatten)]
    pub dataset: DataArgs,
    /// Session name (default: the data folder's name).
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
    /// Folder of saved sessions (default: the platform data folder).
    #[arg(long, env = "GLEAN_SESSION_DIR", value_name = "DIR")]
    pub session_dir: Option<std::path::PathBuf>,
    /// Query strategy: which image to ask next.
    #[arg(long, default_value = "margin", value_parser = strategy_values())]
    pub strategy: String,
    /// Labels per training round.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    #[command(flatten)]
    pub learning: LearningArgs,
    /// How images are drawn.
    #[arg(long, env = "GLEAN_RENDER", default_value = "auto", value_parser = choices::<crate::tui::render_mode::RenderMode>())]
    pub render: crate::tui::render_mode::RenderMode,
    /// Start with the auto-oracle on (labels from the file or folder names).
    #[arg(long)]
    pub oracle: bool,
    /// Start on the review screen: pages of the images the model assigns to one class,
    /// surest first, confirmed a page at a time (Tab switches).
    #[arg(long)]
    pub review: bool,
    /// Seed of everything random.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Arguments of `glean resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// Session name (default: the most recently used).
    pub name: Option<String>,
    /// Folder of saved sessions (default: the platform data folder).
    #[arg(long, env = "GLEAN_SESSION_DIR", value_name = "DIR")]
    pub session_dir: Option<std::path::PathBuf>,
    /// How images are drawn.
    #[arg(long, env = "GLEAN_RENDER", default_value = "auto", value_parser = choices::<crate::tui::render_mode::RenderMode>())]
    pub render: crate::tui::render_mode::RenderMode,
    /// Start with the auto-oracle on.
    #[arg(long)]
    pub oracle: bool,
    /// Override the session's device: auto, cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
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
    #[arg(long, default_value = "csv", value_parser = choices::<crate::session::ExportFormat>())]
    pub format: crate::session::ExportFormat,
    /// Every pool item, not only the labeled ones: its label and source (human,
    /// oracle, confirmed), or the class the last ranking predicted (source predicted)
    /// with its probability.
    #[arg(long)]
    pub all: bool,
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
    #[command(flatten)]
    pub dataset: DataArgs,
    /// Decode to this square side (default: chosen from the images).
    #[arg(long, requires = "channels")]
    pub size: Option<u32>,
    /// Decode to 1 (grayscale) or 3 (RGB) channels.
    #[arg(long, requires = "size")]
    pub channels: Option<u8>,
}

/// How a data folder is read: the flags `scan`, `label` and `simulate` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DataArgs {
    /// An explicit test folder (labeled: class folders, or flat with --label-pattern).
    #[arg(long, value_name = "DIR")]
    pub test: Option<std::path::PathBuf>,
    /// Regex with one capture group that takes the class from the file name.
    #[arg(long, value_name = "REGEX")]
    pub label_pattern: Option<String>,
    /// Class names, comma-separated, in key order (names an unlabeled folder's classes,
    /// or keeps only these).
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub classes: Option<Vec<String>>,
    /// Hold out a test split from a labeled pool that has none: a count (2000) or a
    /// fraction (0.2), stratified by class; the same files always give the same split.
    #[arg(long, value_name = "N|FRAC", conflicts_with = "test")]
    pub holdout: Option<crate::dataset::Holdout>,
}

impl DataArgs {
    /// The scan options these flags ask for, checked for combinations scan refuses.
    pub fn scan_options(&self) -> anyhow::Result<crate::dataset::ScanOptions> {
        let opts = crate::dataset::ScanOptions {
            test: self.test.clone(),
            label_pattern: self.label_pattern.clone(),
            classes: self.classes.clone(),
            holdout: self.holdout,
            validation: None,
        };
        opts.validate()?;
        Ok(opts)
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Label(args) => crate::label::label(crate::label::LabelOptions {
            scan: args.dataset.scan_options()?,
            data: args.data,
            session: args.session,
            session_dir: args.session_dir,
            strategy: args.strategy,
            batch: args.batch,
            device: args.learning.device,
            model: args.learning.model,
            learner: args.learning.learner,
            query: args.learning.query(),
            audit_every: args.learning.audit_every,
            weights: args.learning.weights,
            embedding: args.learning.embedding,
            class_prior: args.learning.class_prior,
            render: args.render,
            oracle: args.oracle,
            review: args.review,
            seed: args.seed,
        }),
        Command::Resume(args) => crate::label::resume(crate::label::ResumeOptions {
            name: args.name,
            session_dir: args.session_dir,
            render: args.render,
            oracle: args.oracle,
            device: args.device,
        }),
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
                args.all,
                args.output.as_deref(),
                std::io::stdout().lock(),
                std::io::stderr().lock(),
            )?;
            Ok(())
        }
        Command::Scan(args) => {
            let opts = args.dataset.scan_options()?;
            let spec = args
                .size
                .zip(args.channels)
                .map(|(size, channels)| crate::dataset::DecodeSpec { channels, size });
            let loaded = crate::dataset::load(&args.dir, &opts, spec, &crate::paths::cache_dir())?;
            print_out(&crate::dataset::report::render(&loaded))?;
            Ok(())
        }
        Command::Simulate(args) => {
            // No screen to keep clean: log to stderr (`GLEAN_LOG=glean=debug` shows
            // each hybrid round's predictors).
            let filter = tracing_subscriber::EnvFilter::try_from_env("GLEAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_env_filter(filter)
                .try_init();
            let opts = crate::simulate::SimulateOptions {
                scan: crate::dataset::ScanOptions {
                    validation: args.validation,
                    ..args.dataset.scan_options()?
                },
                data: args.data,
                strategies: crate::learn::strategy::parse_list(&args.strategies.join(","))
                    .map_err(|e| anyhow::anyhow!("--strategies: {e}"))?,
                init: args.init,
                batch: args.batch,
                budget: args.budget,
                trials: args.trials,
                seed: args.seed,
                out: args.out,
                device: args.learning.device,
                learner: args.learning.learner,
                model: args.learning.model,
                query: args.learning.query(),
                weights: args.learning.weights,
                cold_start: args
                    .cold_start
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--cold-start: {e}"))?,
                pool_subset: args.pool_subset,
                audit_every: args.learning.audit_every,
                full_baseline: args.full_baseline,
                without_zero_shot: args.without_zero_shot,
                warm_start: args.warm_start,
                schedule: crate::learn::TrainSchedule::default(),
                cache_dir: crate::paths::cache_dir(),
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
                accuracy_on: args.accuracy_on,
                graph: crate::learn::GraphConfig {
                    embedding: args.learning.embedding,
                    class_prior: args.learning.class_prior,
                    ..crate::learn::GraphConfig::default()
                },
                review: args
                    .review
                    .then_some(crate::simulate::review::ReviewOptions {
                        page_size: args.page_size,
                        keypresses: args.keypresses,
                        pages_per_round: args.pages_per_round,
                    }),
            };
            crate::simulate::run_and_print(&opts)
        }
        Command::Plot(args) => {
            for dir in &args.dirs {
                let written = crate::simulate::plot::redraw(dir)?;
                let names: Vec<String> = written
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                print_out(&format!("{}: {}\n", dir.display(), names.join(", ")))?;
            }
            Ok(())
        }
        Command::Doctor => {
            let mut report = crate::learn::device::doctor()?;
            report.push_str(&crate::learn::trainer::prepare::backbones_report());
            report.push_str(&caches_report(&crate::paths::cache_dir()));
            print_out(&report)?;
            Ok(())
        }
    }
}

/// What `glean doctor` says of the cache: its folder and what each entry in it holds
/// (decoded pools, features, MNIST, libtorch), largest first.
fn caches_report(dir: &std::path::Path) -> String {
    let mut out = format!("cache: {}\n", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push_str("  (empty: nothing cached yet)\n");
        return out;
    };
    let mut sizes: Vec<(u64, String)> = entries
        .filter_map(Result::ok)
        .map(|entry| {
            let bytes = walkdir::WalkDir::new(entry.path())
                .into_iter()
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum();
            (bytes, entry.file_name().to_string_lossy().into_owned())
        })
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    for (bytes, name) in sizes {
        out.push_str(&format!("  {name:<24}{:>10.1} MB\n", bytes as f64 / 1e6));
    }
    out
}

/// The values of an option that takes one of a library enum's variants, by their
/// lower-case names, each with its doc comment as help (the library crates declare
/// them with strum, not clap).
fn choices<T>() -> impl clap::builder::TypedValueParser<Value = T>
where
    T: strum::IntoEnumIterator
        + strum::EnumMessage
        + std::fmt::Display
        + std::str::FromStr<Err = strum::ParseError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    use clap::builder::{PossibleValue, TypedValueParser};
    clap::builder::PossibleValuesParser::new(T::iter().map(|value| {
        let possible = PossibleValue::new(value.to_string());
        match value.get_documentation() {
            Some(doc) => possible.help(doc.trim().to_string()),
            None => possible,
        }
    }))
    .try_map(|name| name.parse::<T>())
}

/// The strategies `--strategy` and `--strategies` take, each with what it asks first,
/// from their one declaration (`Strategy::about`); `least_confidence` is
/// `least-confidence` too.
fn strategy_values() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    clap::builder::PossibleValuesParser::new(crate::learn::Strategy::all().map(|st| {
        let about = st.about();
        let underscored = about.name.replace('-', "_");
        let value = PossibleValue::new(about.name)
            .help(about.asks_first)
            .aliases(about.aliases.iter().copied());
        if underscored == about.name {
            value
        } else {
            value.alias(underscored)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manual's table of strategies names each strategy `Strategy::about` declares,
    /// and nothing else: a strategy added is a row to write.
    #[test]
    fn the_manuals_strategy_table_names_every_strategy() {
        let manual = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/USAGE.md"),
        )
        .unwrap();
        let table = manual
            .split("| strategy | asks first |")
            .nth(1)
            .expect("docs/USAGE.md has the strategies' table");
        let mut in_table: Vec<String> = table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .flat_map(|row| {
                let first = row.split('|').nth(1).unwrap_or_default().to_string();
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        in_table.sort();
        let mut declared: Vec<String> = crate::learn::Strategy::all()
            .map(|st| st.name().to_string())
            .collect();
        declared.sort();
        assert_eq!(in_table, declared);
        // And the README's usage of `glean label` lists them all.
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
        )
        .unwrap();
        let usage = readme
            .split("[--strategy ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("the README's usage names --strategy");
        let mut listed: Vec<String> = usage
            .split(['|', ' ', '\n'])
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect();
        listed.sort();
        assert_eq!(listed, declared);
    }

    #[test]
    fn a_cause_the_message_already_gives_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let wrapped =
            anyhow::Error::new(io).context("append to s.journal: No space left on device");
        assert_eq!(
            message(&wrapped),
            "append to s.journal: No space left on device"
        );
        let plain = anyhow::anyhow!("disk gone").context("saving the queue");
        assert_eq!(message(&plain), "saving the queue: disk gone");
    }
}
