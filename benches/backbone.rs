//! How fast photos go through the backbone on this machine, against PyTorch running the
//! same network on the same images with the same thread count
//! (`scripts/bench-effnet-pytorch.py`, with the PyTorch that `scripts/setup-libtorch.sh`
//! installed). Prints images per second for:
//! - glean's network alone, on images decoded beforehand (what PyTorch is timed on);
//! - glean's whole pass as the labeler runs it: files decoded on worker threads while
//!   the network runs, features kept in the cache as they come;
//! - PyTorch as a plain port would run it (float32, NCHW), and as glean runs it (its
//!   precision, channels last), with the ratio of glean's network to each;
//!
//! and what that makes of the 10,000 CIFAR-10 photos.
//!
//! `cargo bench --bench backbone`. Knobs (environment):
//! - GLEAN_BENCH_PHOTOS: a folder of photos of one size (default
//!   ../shared/datasets/cifar10-test); the first GLEAN_BENCH_LIMIT (default 1000) files,
//!   in path order, are used
//! - GLEAN_BENCH_BACKBONE: `lite0` (default) or `lite2`
//! - OMP_NUM_THREADS: the threads both sides use (default: one per core)
//! - OMP_WAIT_POLICY: glean, like the bench, waits passively unless this is set (an
//!   empty value gives OpenMP's default, a short spin)
//! - GLEAN_PYTHON: the python with PyTorch (default: the one setup-libtorch.sh installs)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

mod support;

use support::env_or;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use glean::dataset::{decode_file, DecodeSpec, Source};
use glean::learn::backbone::effnet_lite::{Backbone, EffnetLite, Precision};
use glean::learn::backbone::features::{
    batch_for, compute_backbone_features, FeatureRequest, FileRows, PixelRows,
};
use glean::learn::trainer::prepare::{default_backbone_weights, default_threads};
use tch::{Device, Tensor};

fn image_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    files.sort();
    files
}

fn python() -> PathBuf {
    std::env::var_os("GLEAN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| glean::paths::cache_dir().join("torch-2.13.0/bin/python"))
}

fn main() -> anyhow::Result<()> {
    // As glean itself runs (`OMP_WAIT_POLICY=spin` in the environment measures spinning).
    glean::openmp::wait_passively();
    let root: PathBuf = std::env::var_os("GLEAN_BENCH_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/cifar10-test")
        });
    let backbone = match std::env::var("GLEAN_BENCH_BACKBONE").as_deref() {
        Ok("lite2") => Backbone::Lite2,
        _ => Backbone::Lite0,
    };
    let weights = default_backbone_weights(backbone);
    if !root.is_dir() || !weights.exists() {
        println!(
            "backbone bench: needs {} and {} (make effnet); skipped",
            root.display(),
            weights.display()
        );
        return Ok(());
    }
    let limit: usize = env_or("GLEAN_BENCH_LIMIT", 1000);
    let threads = default_threads();
    tch::set_num_threads(threads as i32);
    let files: Vec<PathBuf> = image_files(&root).into_iter().take(limit).collect();
    let first = image::image_dimensions(&files[0])?;
    let spec = DecodeSpec {
        channels: 3,
        size: first.0.min(first.1).min(224),
    };
    let device = Device::Cpu;
    let batch = batch_for(device);
    let net = EffnetLite::load(backbone, &weights, device)?;
    println!(
        "{} on {}: {} photos decoded at {}, {threads} thread(s), batches of {batch}, {:?}",
        backbone.name(),
        root.display(),
        files.len(),
        spec,
        net.precision()
    );

    // The network alone, on pixels decoded beforehand.
    let item = spec.item_len();
    let mut pixels = vec![0u8; files.len() * item];
    for (file, out) in files.iter().zip(pixels.chunks_mut(item)) {
        decode_file(file, spec, out).map_err(|r| anyhow::anyhow!("{}: {r:?}", file.display()))?;
    }
    let side = spec.size as i64;
    let forward = |chunk: &[u8]| -> anyhow::Result<Tensor> {
        let n = (chunk.len() / item) as i64;
        Ok(net.features(&Tensor::from_slice(chunk).view([n, 3, side, side]))?)
    };
    let _warm_up = forward(&pixels[..batch * item])?;
    let t = Instant::now();
    let mut ours = Vec::new();
    for chunk in pixels.chunks(batch * item) {
        ours.push(forward(chunk)?);
    }
    let network_rate = files.len() as f64 / t.elapsed().as_secs_f64();
    println!("glean, network alone: {network_rate:.1} images/s");
    let ours = Tensor::cat(&ours, 0);

    // The labeler's pass: decoding on workers overlapped with the network.
    let sources: Vec<Source> = files.iter().cloned().map(Source::File).collect();
    let request = FeatureRequest {
        images: Arc::new(FileRows {
            sources,
            spec,
            thumbnails: None,
        }),
        pool_len: files.len(),
        order: Vec::new(),
        cache_name: None,
    };
    let t = Instant::now();
    let streamed = compute_backbone_features(&net, &request, None, &mut |_| {}, &|| false)?;
    let pass_rate = files.len() as f64 / t.elapsed().as_secs_f64();
    println!("glean, whole pass from the files: {pass_rate:.1} images/s");
    anyhow::ensure!(
        streamed.features.pool.allclose(&ours, 1e-4, 1e-4, false),
        "the pass and the network alone disagree"
    );
    // Decoded pixels from memory give the same features (what simulate runs on).
    let in_memory = FeatureRequest {
        images: Arc::new(PixelRows {
            pixels: vec![Arc::new(pixels.clone())],
            side: spec.size as usize,
        }),
        ..request
    };
    let again = compute_backbone_features(&net, &in_memory, None, &mut |_| {}, &|| false)?;
    anyhow::ensure!(again.features.pool.allclose(&ours, 1e-4, 1e-4, false));

    // PyTorch on the same pixels, network alone, same threads and batch: as a plain
    // port would run it, and with glean's precision and layout.
    let scratch = tempfile::tempdir()?;
    let raw = scratch.path().join("pixels.u8");
    std::fs::write(&raw, &pixels)?;
    let check = scratch.path().join("ours.f32");
    let head: Vec<f32> =
        Vec::<f32>::try_from(ours.narrow(0, 0, 16.min(files.len() as i64)).view([-1]))?;
    std::fs::write(
        &check,
        head.iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    let precision = match net.precision() {
        Precision::BFloat16 => "bf16",
        _ => "f32",
    };
    let configs: [(&str, &[&str]); 2] = [
        ("float32, NCHW", &["--precision", "f32"]),
        (
            if precision == "bf16" {
                "bfloat16, channels last"
            } else {
                "float32, channels last"
            },
            &["--precision", precision, "--channels-last"],
        ),
    ];
    for (what, extra) in configs {
        let out = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench-effnet-pytorch.py"))
            .arg(&weights)
            .arg(&raw)
            .args(["--side", &spec.size.to_string()])
            .args(["--input-side", &backbone.input_size().to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--batch", &batch.to_string()])
            .args(["--limit", &files.len().to_string()])
            .arg("--check")
            .arg(&check)
            .args(extra)
            .output();
        match out {
            Ok(out) if out.status.success() => {
                let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                let rate = report["images_per_s"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "PyTorch {} ({what}): {rate:.1} images/s, glean / PyTorch {:.2}; features differ from glean's by at most {:.1e}",
                    report["torch"].as_str().unwrap_or("?"),
                    network_rate / rate,
                    report["max_abs_diff"].as_f64().unwrap_or(f64::NAN)
                );
            }
            Ok(out) => println!(
                "PyTorch ({what}): the script failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => println!("PyTorch: cannot run {}: {e}", python().display()),
        }
    }
    println!(
        "10,000 such photos: {:.1} min at the pass's rate",
        10_000.0 / pass_rate / 60.0
    );
    Ok(())
}
