//! How a learner is chosen, as a user says it and a session stores it: plain enums with
//! their names, parsed from the command line and written into session files. What they
//! mean to libtorch (a `tch::Device`, a backbone's weights) is `glean-learn`'s business.

/// How the first batch is chosen, before there is any model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ColdStart {
    /// The items nearest the centres of k-means on the pool's embeddings.
    #[default]
    KMeans,
    Random,
    /// Random, with the classes as even as the pool allows: the papers' protocol. It
    /// needs every item's label, so only `glean simulate` offers it.
    Balanced,
}

impl ColdStart {
    pub fn name(self) -> &'static str {
        match self {
            ColdStart::KMeans => "kmeans",
            ColdStart::Random => "random",
            ColdStart::Balanced => "balanced",
        }
    }
}

impl std::str::FromStr for ColdStart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kmeans" | "k-means" => Ok(ColdStart::KMeans),
            "random" => Ok(ColdStart::Random),
            "balanced" => Ok(ColdStart::Balanced),
            other => Err(format!(
                "unknown cold start `{other}` (expected kmeans, random or balanced)"
            )),
        }
    }
}

/// What learns from the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LearnerKind {
    /// The network (CNN, or the head over backbone features) on the labels alone.
    Cnn,
    /// Poisson label propagation over the pool's kNN graph, no network.
    Graph,
    /// Propagation first (a ranking within a second), then the network trained on the
    /// labels plus the graph's confident pseudo-labels; predictions blend both.
    #[default]
    Hybrid,
}

impl LearnerKind {
    pub fn name(self) -> &'static str {
        match self {
            LearnerKind::Cnn => "cnn",
            LearnerKind::Graph => "graph",
            LearnerKind::Hybrid => "hybrid",
        }
    }

    pub fn uses_graph(self) -> bool {
        self != LearnerKind::Cnn
    }

    pub fn uses_network(self) -> bool {
        self != LearnerKind::Graph
    }

    /// Whether the network keeps its weights between rounds whatever `warm_start` says.
    pub fn always_warm(self) -> bool {
        self == LearnerKind::Hybrid
    }
}

impl std::str::FromStr for LearnerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cnn" | "network" => Ok(LearnerKind::Cnn),
            "graph" => Ok(LearnerKind::Graph),
            "hybrid" => Ok(LearnerKind::Hybrid),
            other => Err(format!(
                "unknown learner `{other}` (expected cnn, graph or hybrid)"
            )),
        }
    }
}

impl std::fmt::Display for LearnerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which network is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ModelKind {
    /// The backbone for colour images when its weights are installed, else the CNN.
    #[default]
    Auto,
    /// The small CNN on pixels.
    Cnn,
    /// A small head over frozen EfficientNet-Lite0 ImageNet features.
    EffnetLite0,
    /// The same over EfficientNet-Lite2's: about twice the cost an image, a few points
    /// better.
    EffnetLite2,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Auto => "auto",
            ModelKind::Cnn => "cnn",
            ModelKind::EffnetLite0 => "effnet-lite0",
            ModelKind::EffnetLite2 => "effnet-lite2",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ModelKind::Auto),
            "cnn" => Ok(ModelKind::Cnn),
            "effnet-lite0" | "efficientnet-lite0" | "effnet" => Ok(ModelKind::EffnetLite0),
            "effnet-lite2" | "efficientnet-lite2" => Ok(ModelKind::EffnetLite2),
            other => Err(format!(
                "unknown model `{other}` (expected auto, cnn, effnet-lite0 or effnet-lite2)"
            )),
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the kNN graph is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum EmbeddingKind {
    /// Both of the below where the autoencoder applies (images of at most
    /// `VAE_MAX_INPUTS` values), and the graph the labels favour (graph_choice.rs).
    #[default]
    Auto,
    /// PCA: of the deskewed pixels for grayscale images, of the backbone's features for
    /// photos with a backbone, of the plain pixels for other colour images.
    Pca,
    /// The latent means of a variational autoencoder trained on the pool's images
    /// (`graph/vae.rs`): learned from the images themselves, whatever they show.
    Vae,
}

impl EmbeddingKind {
    pub fn name(self) -> &'static str {
        match self {
            EmbeddingKind::Auto => "auto",
            EmbeddingKind::Pca => "pca",
            EmbeddingKind::Vae => "vae",
        }
    }
}

impl std::str::FromStr for EmbeddingKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(EmbeddingKind::Auto),
            "pca" => Ok(EmbeddingKind::Pca),
            "vae" | "autoencoder" => Ok(EmbeddingKind::Vae),
            other => Err(format!(
                "unknown embedding `{other}` (expected auto, pca or vae)"
            )),
        }
    }
}

impl std::fmt::Display for EmbeddingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether Poisson learning's scores go through Poisson-MBO's class-size step
/// (`graph/mbo.rs`: heat flow and projection to the class sizes the propagation predicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ClassPrior {
    /// On, unless the labels clearly favour leaving it out (graph_choice.rs).
    #[default]
    Auto,
    On,
    Off,
}

impl ClassPrior {
    pub fn name(self) -> &'static str {
        match self {
            ClassPrior::Auto => "auto",
            ClassPrior::On => "on",
            ClassPrior::Off => "off",
        }
    }
}

impl std::str::FromStr for ClassPrior {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ClassPrior::Auto),
            "on" | "yes" => Ok(ClassPrior::On),
            "off" | "no" => Ok(ClassPrior::Off),
            other => Err(format!(
                "unknown class-prior setting `{other}` (expected auto, on or off)"
            )),
        }
    }
}

impl std::fmt::Display for ClassPrior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How cluster-errors orders the items inside a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ClusterPick {
    /// Smallest margin first.
    #[default]
    Margin,
    /// A seeded shuffle.
    Random,
}

impl ClusterPick {
    pub fn name(self) -> &'static str {
        match self {
            ClusterPick::Margin => "margin",
            ClusterPick::Random => "random",
        }
    }
}

impl std::str::FromStr for ClusterPick {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "margin" => Ok(ClusterPick::Margin),
            "random" => Ok(ClusterPick::Random),
            other => Err(format!(
                "unknown cluster pick `{other}` (expected margin or random)"
            )),
        }
    }
}

impl std::fmt::Display for ClusterPick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings of the strategies that read the pool's structure (cluster-errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct QueryOptions {
    /// k-means clusters of the pool; None: one per class.
    pub clusters: Option<usize>,
    pub cluster_pick: ClusterPick,
}

/// The device a user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch sees one, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    format!("unknown device `{s}` (expected auto, cpu, cuda or cuda:N)")
                }),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for kind in [LearnerKind::Cnn, LearnerKind::Graph, LearnerKind::Hybrid] {
            assert_eq!(kind.name().parse::<LearnerKind>().unwrap(), kind);
        }
        for model in [
            ModelKind::Auto,
            ModelKind::Cnn,
            ModelKind::EffnetLite0,
            ModelKind::EffnetLite2,
        ] {
            assert_eq!(model.name().parse::<ModelKind>().unwrap(), model);
        }
        let e = "resnet".parse::<ModelKind>().unwrap_err();
        assert!(e.contains("effnet-lite0"), "{e}");
        assert!("bayes"
            .parse::<LearnerKind>()
            .unwrap_err()
            .contains("hybrid"));
        assert_eq!(" K-Means ".parse::<ColdStart>().unwrap(), ColdStart::KMeans);
        for e in [EmbeddingKind::Auto, EmbeddingKind::Pca, EmbeddingKind::Vae] {
            assert_eq!(e.name().parse::<EmbeddingKind>().unwrap(), e);
        }
        for p in [ClassPrior::Auto, ClassPrior::On, ClassPrior::Off] {
            assert_eq!(p.name().parse::<ClassPrior>().unwrap(), p);
        }
        assert!("umap".parse::<EmbeddingKind>().unwrap_err().contains("vae"));
        for p in [ClusterPick::Margin, ClusterPick::Random] {
            assert_eq!(p.name().parse::<ClusterPick>().unwrap(), p);
        }
    }
}
