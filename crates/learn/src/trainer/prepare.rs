//! Setting a learner up, once per pool: the device, which network (`--model auto`
//! resolved), its inputs (pixels, or the backbone's features of every image), and for
//! the graph learners the embeddings and kNN graph. The slow parts are cached by
//! `features`, so a second start on the same pool takes a moment.

use std::path::PathBuf;

use tch::{Device, Tensor};

use crate::backbone::effnet_lite::Backbone;
use crate::backbone::features::{self, PoolFeatures, VAE_MAX_INPUTS};
use crate::config::{ClassPrior, EmbeddingKind, LearnerConfig, ModelKind};
use crate::data::LearnData;
use crate::device::ResolveDevice;
use crate::graph::vae;
use crate::round::graph_choice::EmbeddedGraph;
use crate::round::inputs::Inputs;
use crate::round::propagation::{ChoiceRule, GraphLearner};
use crate::LearnError;
use crate::TrainerEvent;
pub use glean_core::BackgroundWork;

/// Where `backbone`'s weights are: the first of glean's model folders that holds them
/// (`glean_core::paths::model_dirs`), else where `scripts/setup-effnet.sh` puts them.
pub fn default_backbone_weights(backbone: Backbone) -> PathBuf {
    glean_core::paths::find_model(backbone.weights_file())
}

/// What `glean doctor` says of the backbones: where each one's weights were found, or
/// where glean looked and what installs them, and what colour photos will be learned
/// with under `--model auto`.
pub fn backbones_report() -> String {
    let mut out = String::from("backbones (for colour photos):\n");
    let mut used = None;
    for backbone in [Backbone::Lite2, Backbone::Lite0] {
        let path = default_backbone_weights(backbone);
        if path.is_file() {
            used.get_or_insert(backbone.name());
            out.push_str(&format!("  {:<14}{}\n", backbone.name(), path.display()));
        } else {
            out.push_str(&format!(
                "  {:<14}not installed: {} installs it\n",
                backbone.name(),
                backbone.setup()
            ));
        }
    }
    let looked: Vec<String> = glean_core::paths::model_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    out.push_str(&format!("  looked in     {}\n", looked.join(", ")));
    out.push_str(&format!(
        "  photos use    {}\n",
        match used {
            Some(name) => format!("{name} (--model auto)"),
            None =>
                "the small CNN on pixels: no backbone, no guesses before the first labels".into(),
        }
    ));
    out
}

/// The network `model` means for images of `channels` channels, whose backbones'
/// weights are found by `weights`: `auto` takes, for colour images, EfficientNet-Lite2
/// when its weights are installed, else Lite0, else the CNN on pixels. Lite2 costs about
/// 1.5 times Lite0 an image (10,000 CIFAR-10 photos on 2 cores in 4.1 against 2.8
/// minutes, `results/backbone-*.txt`) and gave the hybrid more at 20 to 100 labels on a
/// validation split of CIFAR-10's pool (`results/validation/`).
pub fn resolve_model(
    model: ModelKind,
    channels: usize,
    weights: &dyn Fn(Backbone) -> PathBuf,
) -> Result<ModelKind, LearnError> {
    match (model, Backbone::of(model)) {
        (ModelKind::Auto, _) => {
            if channels != 3 {
                return Ok(ModelKind::Cnn);
            }
            for (backbone, kind) in [
                (Backbone::Lite2, ModelKind::EffnetLite2),
                (Backbone::Lite0, ModelKind::EffnetLite0),
            ] {
                if weights(backbone).exists() {
                    return Ok(kind);
                }
            }
            tracing::info!(
                "no backbone weights at {} or {}: training the CNN on pixels (run {})",
                weights(Backbone::Lite2).display(),
                weights(Backbone::Lite0).display(),
                Backbone::Lite2.setup()
            );
            Ok(ModelKind::Cnn)
        }
        (_, Some(_)) if channels != 3 => Err(LearnError::Data(format!(
            "--model {} needs colour images, but these are {channels}-channel; use --model cnn",
            model.name()
        ))),
        (_, Some(backbone)) if !weights(backbone).exists() => Err(LearnError::Data(format!(
            "--model {}: no weights at {} (run {})",
            model.name(),
            weights(backbone).display(),
            backbone.setup()
        ))),
        (other, _) => Ok(other),
    }
}

/// What every preparation starts with: the device (with the thread count set) and the
/// checked batch size.
pub(crate) struct Setup {
    pub device: Device,
}

impl Setup {
    pub fn new(config: &LearnerConfig) -> Result<Self, LearnError> {
        let device = config.device.resolve()?;
        // Set on every learner, since the setting is the process's: a learner made after
        // a head learner must not inherit its single thread.
        tch::set_num_threads(config.threads.unwrap_or_else(default_threads).max(1) as i32);
        if config.batch == 0 {
            return Err(LearnError::Data("the batch size must be at least 1".into()));
        }
        Ok(Setup { device })
    }
}

impl LearnerConfig {
    /// Where `backbone`'s weights are.
    pub fn weights_of(&self, backbone: Backbone) -> PathBuf {
        match &self.models_dir {
            Some(dir) => dir.join(backbone.weights_file()),
            None => default_backbone_weights(backbone),
        }
    }

    /// The network `model` means for images of `channels` channels.
    pub fn resolve_model(&self, channels: usize) -> Result<ModelKind, LearnError> {
        resolve_model(self.model, channels, &|b| self.weights_of(b))
    }
}

/// A learner's parts, prepared for its pool.
pub(crate) struct Prepared {
    pub(crate) data: LearnData,
    pub(crate) config: LearnerConfig,
    pub(crate) device: Device,
    pub(crate) model: ModelKind,
    pub(crate) inputs: Inputs,
    pub(crate) graph: Option<GraphLearner>,
    /// A candidate graph still being built beside the rounds.
    pub(crate) background: Option<BackgroundGraph>,
}

impl Prepared {
    /// Prepares for `data`, reporting the slow steps through `progress`
    /// (`TrainerEvent::Preparing`) and stopping when `cancelled` says so.
    pub(crate) fn new(
        data: LearnData,
        config: LearnerConfig,
        progress: &mut dyn FnMut(TrainerEvent),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Self, LearnError> {
        let setup = Setup::new(&config)?;
        let model = config.resolve_model(data.channels)?;
        let features = match Backbone::of(model) {
            Some(backbone) => Some(features::backbone_features(
                &data,
                backbone,
                &config.weights_of(backbone),
                setup.device,
                config.cache_dir.as_deref(),
                &mut |done, total| {
                    progress(TrainerEvent::Preparing {
                        what: "backbone features",
                        done,
                        total,
                        per_second: None,
                    })
                },
                cancelled,
            )?),
            None => None,
        };
        Self::from_inputs(
            data,
            config,
            setup.device,
            model,
            features,
            progress,
            cancelled,
        )
    }

    /// Prepares over backbone features computed elsewhere (the labeler streams them in
    /// while the person labels); `data` may be `undecoded`.
    pub(crate) fn with_features(
        data: LearnData,
        config: LearnerConfig,
        model: ModelKind,
        features: PoolFeatures,
        progress: &mut dyn FnMut(TrainerEvent),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Self, LearnError> {
        if features.pool_len() != data.pool_len() || features.test_len() != data.test_len() {
            return Err(LearnError::Data(format!(
                "{} pool and {} test feature rows for {} pool and {} test items",
                features.pool_len(),
                features.test_len(),
                data.pool_len(),
                data.test_len()
            )));
        }
        let setup = Setup::new(&config)?;
        let features = PoolFeatures {
            pool: features.pool.f_to_device(setup.device)?,
            test: features.test.f_to_device(setup.device)?,
            cache_name: features.cache_name,
        };
        Self::from_inputs(
            data,
            config,
            setup.device,
            model,
            Some(features),
            progress,
            cancelled,
        )
    }

    /// The rest of the preparation, once the network's inputs are known: the head's
    /// thread count, the inputs on the device, and the graph.
    fn from_inputs(
        data: LearnData,
        config: LearnerConfig,
        device: Device,
        model: ModelKind,
        features: Option<PoolFeatures>,
        progress: &mut dyn FnMut(TrainerEvent),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Self, LearnError> {
        let cache = config.cache_dir.as_deref();
        if features.is_some() && device == Device::Cpu && config.threads.is_none() {
            // The head is a few small matmuls a step: a second OpenMP thread saves
            // little, and when anything else runs on the cores its spinning turns a
            // 0.9 s CIFAR round into 8-11 s.
            tch::set_num_threads(1);
        }
        // Pixels are uploaded once: the network's inputs, and the graph's when there is
        // no backbone.
        let (inputs, pixels) = match &features {
            Some(f) => (Inputs::features(&f.pool, &f.test), None),
            None => {
                let pool = pixel_tensor(&data, true, device)?;
                let test = pixel_tensor(&data, false, device)?;
                let inputs = Inputs::pixels(pool.shallow_clone(), test.shallow_clone());
                (inputs, Some((pool, test)))
            }
        };

        let k = config.graph.k;
        let mut background = None;
        let graph = if !config.learner.uses_graph() {
            None
        } else if data.pool_len() <= 2 * k {
            tracing::info!(
                "{} pool items are too few for a {k}-neighbour graph: the network learns alone",
                data.pool_len()
            );
            None
        } else {
            progress(TrainerEvent::Preparing {
                what: "graph",
                done: 0,
                total: 1,
                per_second: None,
            });
            // The autoencoder reads pixels: decoded, and small enough to be worth it.
            let vae_applies =
                data.pixels().is_ok() && data.channels * data.size * data.size <= VAE_MAX_INPUTS;
            let mut graphs = Vec::new();
            match config.graph.embedding {
                EmbeddingKind::Vae if !vae_applies => {
                    return Err(LearnError::Data(format!(
                        "--embedding vae learns from the pixels of images of at most {VAE_MAX_INPUTS} values; these have {}×{}×{}{}",
                        data.channels,
                        data.size,
                        data.size,
                        if data.pixels().is_ok() { "" } else { " and are not decoded" }
                    )))
                }
                EmbeddingKind::Vae => graphs.push(vae_graph(&data, device, k, cache, progress, cancelled)?),
                EmbeddingKind::Pca | EmbeddingKind::Auto => {
                    let (name, embeddings) = match (&features, &pixels) {
                        (Some(f), _) => ("backbone-pca", features::feature_graph_embeddings(f, cache)?),
                        _ if data.channels == 1 => (
                            "deskew-pca",
                            features::digit_graph_embeddings(&data, device, cache)?,
                        ),
                        (None, Some((pool, test))) => {
                            // Colour images without a backbone: PCA of the plain pixels.
                            // Shrunk first: a photo's 150,528 values a row would make
                            // the PCA and the graph's distances cost gigabytes.
                            let shrunk = data.size as i64 > vae::PIXEL_GRAPH_SIDE;
                            let pixels = PoolFeatures {
                                pool: vae::thumbnail_rows(pool, device)?,
                                test: vae::thumbnail_rows(test, device)?,
                                cache_name: data.cache_key.as_ref().map(|k| {
                                    if shrunk {
                                        format!("{k}-pixels{}", vae::PIXEL_GRAPH_SIDE)
                                    } else {
                                        format!("{k}-pixels")
                                    }
                                }),
                            };
                            ("pixel-pca", features::feature_graph_embeddings(&pixels, cache)?)
                        }
                        (None, None) => {
                            unreachable!("pixels are uploaded whenever there are no features")
                        }
                    };
                    if cancelled() {
                        return Err(LearnError::Cancelled);
                    }
                    graphs.push(embedded(name, embeddings, k, cache)?);
                    // Where PCA has nothing made for the images (no deskew, no backbone),
                    // the autoencoder is the one to use until the labels say otherwise:
                    // on the MNIST pool its graph beats PCA of the plain pixels by 2.6-8.4
                    // points at 10-40 labels (`results/embedding-mnist.txt`).
                    let prefer_vae = name == "pixel-pca";
                    let images = data.pool_len() + data.test_len();
                    if config.graph.embedding == EmbeddingKind::Auto
                        && vae_applies
                        && images >= config.graph.vae_min_images
                    {
                        if config.graph.background {
                            background = Some(BackgroundGraph::spawn(
                                data.clone(),
                                device,
                                k,
                                config.cache_dir.clone(),
                                prefer_vae,
                            ));
                        } else {
                            let vae = vae_graph(&data, device, k, cache, progress, cancelled)?;
                            if prefer_vae {
                                graphs.insert(0, vae);
                            } else {
                                graphs.push(vae);
                            }
                        }
                    }
                }
            }
            progress(TrainerEvent::Preparing {
                what: "graph",
                done: 1,
                total: 1,
                per_second: None,
            });
            let rule = ChoiceRule {
                graphs: config.graph.embedding == EmbeddingKind::Auto,
                prior: config.graph.class_prior == ClassPrior::Auto,
                // Under auto the class-size step is on until the labels clearly
                // favour leaving it out: on validation splits it paid on digits and
                // on backbone features (docs/RESULTS.md, "Poisson-MBO").
                prior_default: config.graph.class_prior != ClassPrior::Off,
            };
            tracing::info!(
                "graph learner over {} (embedding {}, Poisson-MBO {}{})",
                graphs
                    .iter()
                    .map(|g| g.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                config.graph.embedding,
                config.graph.class_prior,
                if background.is_some() {
                    "; the autoencoder's graph to come"
                } else {
                    ""
                }
            );
            Some(GraphLearner::new(graphs, rule))
        };
        Ok(Prepared {
            data,
            config,
            device,
            model,
            inputs,
            graph,
            background,
        })
    }
}

/// The autoencoder's graph: train (or read) the embedding, then build (or read) the graph.
fn vae_graph(
    data: &LearnData,
    device: Device,
    k: usize,
    cache: Option<&std::path::Path>,
    progress: &mut dyn FnMut(TrainerEvent),
    cancelled: &dyn Fn() -> bool,
) -> Result<EmbeddedGraph, LearnError> {
    let embeddings = features::vae_graph_embeddings(
        data,
        device,
        cache,
        &mut |done, total| {
            progress(TrainerEvent::Preparing {
                what: "autoencoder",
                done,
                total,
                per_second: None,
            })
        },
        cancelled,
    )?;
    embedded("vae", embeddings, k, cache)
}

fn embedded(
    name: &str,
    embeddings: PoolFeatures,
    k: usize,
    cache: Option<&std::path::Path>,
) -> Result<EmbeddedGraph, LearnError> {
    Ok(EmbeddedGraph {
        name: name.to_string(),
        graph: features::pool_graph(&embeddings, k, cache)?,
        embeddings: embeddings.pool,
    })
}

/// The autoencoder's graph trained on a thread of its own while the rounds go on with
/// the first graph; the learner takes it in at the first round after it is done.
pub(crate) struct BackgroundGraph {
    handle: Option<std::thread::JoinHandle<Result<EmbeddedGraph, LearnError>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Epochs done and planned, as the thread reports them (0 of 0 until it starts, and
    /// when it read its embedding from the cache).
    epochs: std::sync::Arc<[std::sync::atomic::AtomicUsize; 2]>,
    /// Whether the learner should move to this graph when it joins.
    pub(crate) preferred: bool,
}

impl BackgroundGraph {
    fn spawn(
        data: LearnData,
        device: Device,
        k: usize,
        cache: Option<PathBuf>,
        preferred: bool,
    ) -> BackgroundGraph {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let epochs = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let reported = std::sync::Arc::clone(&epochs);
        let handle = std::thread::Builder::new()
            .name("glean-autoencoder".into())
            .spawn(move || {
                let mut progress = |p: TrainerEvent| {
                    if let TrainerEvent::Preparing { done, total, .. } = p {
                        reported[1].store(total, Ordering::Relaxed);
                        reported[0].store(done, Ordering::Relaxed);
                    }
                };
                vae_graph(&data, device, k, cache.as_deref(), &mut progress, &|| {
                    stopped.load(Ordering::Relaxed)
                })
            })
            .ok();
        BackgroundGraph {
            handle,
            stop,
            epochs,
            preferred,
        }
    }

    /// How far the training is: epochs done of those planned.
    pub(crate) fn work(&self) -> BackgroundWork {
        use std::sync::atomic::Ordering;
        let total = self.epochs[1].load(Ordering::Relaxed);
        BackgroundWork {
            what: "autoencoder",
            done: self.epochs[0].load(Ordering::Relaxed).min(total),
            total,
            finished: self.is_done(),
        }
    }

    /// Whether the thread has ended (or never started).
    pub(crate) fn is_done(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// The graph, once the thread is done: None while it runs, and when it failed
    /// (logged; the rounds keep the graphs they have).
    pub(crate) fn take_if_done(&mut self) -> Option<EmbeddedGraph> {
        if !self.is_done() {
            return None;
        }
        match self.handle.take()?.join() {
            Ok(Ok(graph)) => Some(graph),
            Ok(Err(e)) => {
                tracing::warn!("the autoencoder's graph failed: {e}");
                None
            }
            Err(_) => {
                tracing::warn!("the autoencoder's thread panicked");
                None
            }
        }
    }
}

impl Drop for BackgroundGraph {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The intra-op threads a network gets unless told: `OMP_NUM_THREADS` when set, as
/// libtorch itself would, else one per core.
pub fn default_threads() -> usize {
    std::env::var("OMP_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

/// The pool's (or the test split's) pixels as one u8 tensor `N × C × H × W` on `device`.
fn pixel_tensor(data: &LearnData, pool: bool, device: Device) -> Result<Tensor, LearnError> {
    let [pool_pixels, test_pixels] = data.pixels()?;
    let (bytes, n) = if pool {
        (pool_pixels, data.pool_len())
    } else {
        (test_pixels, data.test_len())
    };
    let (c, s) = (data.channels as i64, data.size as i64);
    Ok(Tensor::f_from_slice(bytes.as_slice())?
        .f_view([n as i64, c, s, s])?
        .f_to_device(device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_the_strongest_backbone_installed_for_colour_images() {
        let dir = tempfile::tempdir().unwrap();
        let config = LearnerConfig {
            models_dir: Some(dir.path().to_path_buf()),
            ..LearnerConfig::default()
        };
        let install = |b: Backbone| std::fs::write(config.weights_of(b), b"").unwrap();
        assert_eq!(config.resolve_model(3).unwrap(), ModelKind::Cnn);
        install(Backbone::Lite0);
        assert_eq!(config.resolve_model(3).unwrap(), ModelKind::EffnetLite0);
        install(Backbone::Lite2);
        assert_eq!(config.resolve_model(3).unwrap(), ModelKind::EffnetLite2);
        assert_eq!(config.resolve_model(1).unwrap(), ModelKind::Cnn);
        let lite0 = LearnerConfig {
            model: ModelKind::EffnetLite0,
            ..config.clone()
        };
        assert_eq!(lite0.resolve_model(3).unwrap(), ModelKind::EffnetLite0);
        let e = lite0.resolve_model(1).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        std::fs::remove_file(config.weights_of(Backbone::Lite0)).unwrap();
        let e = lite0.resolve_model(3).unwrap_err().to_string();
        assert!(e.contains("make effnet"), "{e}");
    }
}
