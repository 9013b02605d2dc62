//! Writes MNIST IDX digits out as PNG split/class folders (`OUT/train/<digit>/*.png`,
//! `OUT/test/<digit>/*.png`), the layout `glean scan` and the benchmark read.
//!
//! Usage: cargo run --release --example write_mnist_png -- OUT [IDX_DIR] [LIMIT]
//! IDX_DIR defaults to `<cache>/mnist/package/data`; LIMIT keeps the first LIMIT digits
//! of each split (default: all 60,000 + 10,000).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: write_mnist_png OUT [IDX_DIR] [LIMIT]");
        return ExitCode::from(2);
    };
    let idx_dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| glean::paths::cache_dir().join("mnist/package/data"));
    let limit = match args.get(2).map(|s| s.parse::<usize>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => {
            eprintln!("LIMIT must be a number: {e}");
            return ExitCode::from(2);
        }
    };
    match glean::dataset::export::write_idx_as_png(&idx_dir, &out, limit) {
        Ok(written) => {
            println!(
                "wrote {} train + {} test digits into {}",
                written.train,
                written.test,
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
