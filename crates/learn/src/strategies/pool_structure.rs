//! What the structure-reading strategies (cluster-errors, adversarial, neighbour-kl) know
//! of the pool beyond one round's predictions, computed once per learner on a fixed
//! embedding: the graph's (deskewed PCA, the autoencoder, backbone PCA), else the
//! backbone's features, else a 50-dimensional PCA of the 2×2-averaged pixels (what the
//! cold start clusters).

use tch::{Device, Kind, Tensor};

use crate::config::QueryOptions;
use crate::graph::embed::{standardised, Pca};
use crate::graph::kmeans::kmeans;
use crate::graph::knn::KnnGraph;
use crate::strategy::Strategy;
use crate::LearnError;
use glean_rank::Csr;

/// Dimensions kept from the pixels when there is no other embedding.
const PIXEL_PCA_DIMS: usize = 50;
/// Lloyd iterations for the clusters (k-means stops sooner when they settle).
const KMEANS_ITERATIONS: usize = 50;
/// Neighbours per item when the learner has no graph of its own (the graph's default).
const NEIGHBOURS: usize = 10;

pub(crate) struct PoolStructure {
    /// `[N, D]`, each column standardised: the discriminator's input (adversarial).
    pub standardised: Option<Tensor>,
    /// Each pool item's k-means cluster, and how many clusters (cluster-errors).
    pub clusters: Option<(Vec<u32>, usize)>,
    /// The pool's kNN graph, for a learner without a graph of its own (neighbour-kl).
    pub knn: Option<Csr>,
}

impl PoolStructure {
    /// Builds what `strategy` reads from `embeddings` (`[N, D]` on the learner's device);
    /// `has_graph`: the learner's graph gives neighbour-kl its neighbours.
    pub fn build(
        embeddings: &Tensor,
        strategy: Strategy,
        options: QueryOptions,
        classes: usize,
        has_graph: bool,
        seed: u64,
    ) -> Result<PoolStructure, LearnError> {
        let n = embeddings.size()[0] as usize;
        let clusters = match strategy {
            Strategy::ClusterErrors => {
                let k = options.clusters.unwrap_or(classes).clamp(1, n.max(1));
                let fit = kmeans(embeddings, k, KMEANS_ITERATIONS, seed)?;
                let assignment = Vec::<i64>::try_from(fit.assignment.to_device(Device::Cpu))?;
                Some((assignment.into_iter().map(|c| c as u32).collect(), k))
            }
            _ => None,
        };
        let knn = match strategy {
            Strategy::NeighbourKl if !has_graph => Some(
                KnnGraph::build(embeddings, NEIGHBOURS.min(n.saturating_sub(1)).max(1))?.weights,
            ),
            _ => None,
        };
        Ok(PoolStructure {
            standardised: (strategy == Strategy::Adversarial).then(|| standardised(embeddings)),
            clusters,
            knn,
        })
    }
}

/// The pixels' fixed embedding: a PCA of the cold-start features (2×2 averages) when
/// they have more than `PIXEL_PCA_DIMS` dimensions.
pub(crate) fn pixel_embedding(
    features: &[f32],
    dim: usize,
    device: Device,
) -> Result<Tensor, LearnError> {
    let x = Tensor::f_from_slice(features)?
        .f_view([-1, dim as i64])?
        .f_to_kind(Kind::Float)?
        .f_to_device(device)?;
    if dim <= PIXEL_PCA_DIMS {
        return Ok(x);
    }
    let pca = Pca::fit(&x, PIXEL_PCA_DIMS)?;
    Ok(pca.transform(&x))
}
