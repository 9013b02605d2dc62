//! The k-nearest-neighbour graph over the pool: exact search in blocks of rows with
//! matmuls (‖a‖² + ‖b‖² − 2ab, then top-k), Gaussian weights scaled by each point's
//! k-th neighbour distance, symmetrised (W + Wᵀ). Test items are classified from their
//! nearest pool items with the same weights.

use tch::{Device, Kind, Tensor};

use glean_rank::{nn_descent, Csr};

use super::sparse;
use crate::LearnError;

/// Pools up to this size get the exact graph (MNIST's 60,000: 13 s here); larger ones
/// nearest-neighbour descent, where the exact search takes minutes to hours (300,000
/// items: 258 s against the descent's 40 s; a million, by n², about an hour:
/// `make results-neighbours`).
pub const EXACT_UP_TO: usize = 100_000;

/// Query rows per distance block: 1024 × 60,000 floats is 245 MB.
const BLOCK: i64 = 1024;

/// The `k` nearest rows of `base` to each row of `queries` (both `[·, D]` float on one
/// device): squared distances `[M, k]` ascending and indices `[M, k]` (i64). With
/// `exclude_self`, `queries` must be `base` and a row is never its own neighbour.
pub fn nearest(
    base: &Tensor,
    queries: &Tensor,
    k: usize,
    exclude_self: bool,
) -> Result<(Tensor, Tensor), LearnError> {
    let (n, d) = matrix_shape(base, "base")?;
    let (m, dq) = matrix_shape(queries, "queries")?;
    let available = if exclude_self { n - 1 } else { n };
    if dq != d || k == 0 || k as i64 > available {
        return Err(LearnError::Data(format!(
            "nearest neighbours: {k} of {n} points ({d} dims) for queries of {dq} dims"
        )));
    }
    let _guard = tch::no_grad_guard();
    let base = base.to_kind(Kind::Float);
    let base_t = base.tr().contiguous();
    let base_sq = base
        .square()
        .sum_dim_intlist(1, false, Kind::Float)
        .view([1, n]);
    let (mut dists, mut indices) = (Vec::new(), Vec::new());
    for start in (0..m).step_by(BLOCK as usize) {
        let len = BLOCK.min(m - start);
        let q = queries.narrow(0, start, len).to_kind(Kind::Float);
        // ‖b‖² − 2qb in one BLAS call; ‖q‖² is the same along a row, added after top-k.
        let partial = base_sq.addmm(&(&q * -2.0), &base_t);
        if exclude_self {
            let _ = partial
                .narrow(1, start, len)
                .diagonal(0, 0, 1)
                .fill_(f64::INFINITY);
        }
        let (values, idx) = partial.topk(k as i64, 1, false, true);
        let q_sq = q.square().sum_dim_intlist(1, true, Kind::Float);
        dists.push((values + q_sq).clamp_min(0.0));
        indices.push(idx);
    }
    Ok((Tensor::cat(&dists, 0), Tensor::cat(&indices, 0)))
}

fn matrix_shape(t: &Tensor, what: &str) -> Result<(i64, i64), LearnError> {
    match t.size().as_slice() {
        &[n, d] if n > 0 && d > 0 => Ok((n, d)),
        other => Err(LearnError::Data(format!(
            "{what}: need a non-empty [N, D] matrix, got {other:?}"
        ))),
    }
}

/// Gaussian weights `exp(−4 d² / d_k²)` with `d_k` the row's k-th (farthest) distance.
fn gaussian_weights(dist2: &Tensor) -> Tensor {
    let k = dist2.size()[1];
    let scale = dist2.narrow(1, k - 1, 1).clamp_min(1e-12);
    (dist2 * -4.0 / scale).exp()
}

/// The symmetric kNN weight matrix of the pool, with each node's degree.
pub struct KnnGraph {
    pub k: usize,
    pub weights: Csr,
    /// Row sums of `weights`, `[n]` float on `device`.
    pub degree: Tensor,
    /// Each node's connected component, `[n]` i64 on `device`, and how many there are:
    /// Poisson learning solves each component on its own.
    pub component: Tensor,
    pub components: usize,
    device: Device,
    /// The sparse tensor the CUDA product uses (None on the CPU).
    cuda: Option<Tensor>,
}

impl KnnGraph {
    /// Builds the graph over the rows of `embeddings` (`[N, D]`, on the device the
    /// graph will be used on).
    /// Up to `EXACT_UP_TO` rows the search is exact; above, nearest-neighbour descent
    /// ([`KnnGraph::build_approximate`]).
    pub fn build(embeddings: &Tensor, k: usize) -> Result<KnnGraph, LearnError> {
        let (n, _) = matrix_shape(embeddings, "kNN graph")?;
        if n as usize > EXACT_UP_TO {
            return Self::build_approximate(embeddings, k);
        }
        let (dist2, idx) = nearest(embeddings, embeddings, k, true)?;
        let idx: Vec<i64> = Vec::try_from(idx.to_device(Device::Cpu).view([-1]))?;
        Self::from_neighbours(&dist2, &idx, k, embeddings.device())
    }

    /// The graph over the rows of `embeddings` from neighbours found by
    /// nearest-neighbour descent on the CPU (`glean_rank::nn_descent`): approximate, and
    /// deterministic whatever the thread count.
    pub fn build_approximate(embeddings: &Tensor, k: usize) -> Result<KnnGraph, LearnError> {
        let (n, dim) = matrix_shape(embeddings, "kNN graph")?;
        if k as i64 >= n {
            return Err(LearnError::Data(format!(
                "a {k}-NN graph needs more than {k} items, got {n}"
            )));
        }
        let points: Vec<f32> = Vec::try_from(
            embeddings
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous()
                .view([-1]),
        )?;
        let (idx, dist2) =
            nn_descent::nearest_neighbours(&points, dim as usize, &nn_descent::Options::for_k(k));
        let dist2 = Tensor::from_slice(&dist2).view([n, k as i64]);
        let idx: Vec<i64> = idx.into_iter().map(i64::from).collect();
        Self::from_neighbours(&dist2, &idx, k, embeddings.device())
    }

    /// The symmetric graph of each row's `k` neighbours `idx` (row-major) at squared
    /// distances `dist2` (`[n, k]`, ascending), on `device`.
    fn from_neighbours(
        dist2: &Tensor,
        idx: &[i64],
        k: usize,
        device: Device,
    ) -> Result<KnnGraph, LearnError> {
        let weights = gaussian_weights(dist2);
        let n = dist2.size()[0] as usize;
        let w: Vec<f32> = Vec::try_from(weights.to_device(Device::Cpu).view([-1]))?;
        let mut triples = Vec::with_capacity(2 * idx.len());
        for (e, (&j, &wij)) in idx.iter().zip(&w).enumerate() {
            let i = (e / k) as u32;
            triples.push((i, j as u32, wij));
            triples.push((j as u32, i, wij));
        }
        Ok(Self::from_weights(
            Csr::from_triples(n, &triples),
            k,
            device,
        ))
    }

    /// The graph of `weights` (built for `k` neighbours an item), on `device`.
    pub fn from_weights(weights: Csr, k: usize, device: Device) -> KnnGraph {
        let degree = Tensor::from_slice(&weights.row_sums()).to_device(device);
        let cuda = (device != Device::Cpu).then(|| sparse::to_sparse_tensor(&weights, device));
        let (labels, components) = weights.components();
        let component = Tensor::from_slice(&labels).to_device(device);
        KnnGraph {
            k,
            weights,
            degree,
            component,
            components,
            device,
            cuda,
        }
    }

    pub fn len(&self) -> usize {
        self.weights.n
    }

    pub fn is_empty(&self) -> bool {
        self.weights.n == 0
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// `W · X` for `X = [n, c]` on the graph's device.
    pub fn weight_matmul(&self, x: &Tensor) -> Tensor {
        sparse::weight_product(&self.weights, x, self.cuda.as_ref())
    }

    /// `L · X = D X − W X`, the (unnormalised) graph Laplacian applied to `X`.
    pub fn laplacian_matmul(&self, x: &Tensor) -> Tensor {
        x * self.degree.unsqueeze(1) - self.weight_matmul(x)
    }
}

/// Each query item's nearest pool items and their Gaussian weights: how test items (or
/// any item outside the graph) get scores from the pool's.
pub struct Neighbours {
    /// `[M, k]` i64 pool indices.
    pub index: Tensor,
    /// `[M, k]` float weights, each row summing to 1.
    pub weight: Tensor,
}

impl Neighbours {
    pub fn find(pool: &Tensor, queries: &Tensor, k: usize) -> Result<Neighbours, LearnError> {
        let (dist2, index) = nearest(pool, queries, k, false)?;
        let w = gaussian_weights(&dist2);
        let weight = &w / w.sum_dim_intlist(1, true, Kind::Float);
        Ok(Neighbours { index, weight })
    }

    /// The weighted vote of the neighbours' scores: `pool_scores [N, C]` → `[M, C]`.
    pub fn classify(&self, pool_scores: &Tensor) -> Tensor {
        let (m, k) = (self.index.size()[0], self.index.size()[1]);
        let c = pool_scores.size()[1];
        let gathered = pool_scores
            .index_select(0, &self.index.view([-1]))
            .view([m, k, c]);
        (gathered * self.weight.unsqueeze(2)).sum_dim_intlist(1, false, Kind::Float)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: i64) -> Tensor {
        // Points 0, 1, 2, … on a line: each one's nearest neighbours are its neighbours.
        Tensor::arange(n, (Kind::Float, Device::Cpu)).view([n, 1])
    }

    #[test]
    fn nearest_matches_brute_force_and_skips_self() {
        let (d2, idx) = nearest(&line(6), &line(6), 2, true).unwrap();
        let idx: Vec<i64> = Vec::try_from(idx.view([-1])).unwrap();
        assert_eq!(&idx[..2], &[1, 2]);
        let row3 = &idx[6..8];
        assert!(row3 == [2, 4] || row3 == [4, 2], "{row3:?}");
        let d2: Vec<f32> = Vec::try_from(d2.view([-1])).unwrap();
        assert_eq!(&d2[..2], &[1.0, 4.0]);
        assert!(nearest(&line(3), &line(3), 3, true).is_err());
    }

    #[test]
    fn graph_is_symmetric_with_weights_in_range() {
        let g = KnnGraph::build(&line(20), 3).unwrap();
        let dense = g.weights;
        let dense = sparse::to_sparse_tensor(&dense, Device::Cpu).to_dense(None, false);
        assert!((&dense - dense.tr()).abs().max().double_value(&[]) < 1e-6);
        assert_eq!(
            dense
                .diagonal(0, 0, 1)
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            0.0
        );
        // Each edge is at most e^0 + e^0 (both directions) and at least one direction's.
        assert!(dense.max().double_value(&[]) <= 2.0 + 1e-6);
    }

    #[test]
    fn the_approximate_graph_shares_nearly_every_edge_of_the_exact_one() {
        let points = {
            let _generator = crate::torch_rng::seeded(4);
            Tensor::randn([600, 6], (Kind::Float, Device::Cpu))
        };
        let exact = KnnGraph::build(&points, 5).unwrap();
        let approximate = KnnGraph::build_approximate(&points, 5).unwrap();
        let edges = |g: &KnnGraph| -> std::collections::HashSet<(usize, u32)> {
            let w = &g.weights;
            (0..w.n)
                .flat_map(|i| {
                    let (lo, hi) = (w.row_ptr[i] as usize, w.row_ptr[i + 1] as usize);
                    w.col[lo..hi].iter().map(move |&j| (i, j))
                })
                .collect()
        };
        let (e, a) = (edges(&exact), edges(&approximate));
        let shared = e.intersection(&a).count() as f64 / e.len() as f64;
        assert!(shared > 0.95, "{shared:.3} of the exact edges found");
        assert_eq!(approximate.k, 5);
        assert!(KnnGraph::build_approximate(&points.narrow(0, 0, 5), 5).is_err());
    }

    #[test]
    fn neighbours_vote_with_normalised_weights() {
        let pool = line(10);
        let queries = Tensor::from_slice(&[0.2f32, 8.9]).view([2, 1]);
        let nb = Neighbours::find(&pool, &queries, 3).unwrap();
        let sums: Vec<f32> =
            Vec::try_from(nb.weight.sum_dim_intlist(1, false, Kind::Float)).unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
        // Scores: class 0 for points < 5, class 1 above.
        let scores = Tensor::cat(
            &[
                line(10).lt(5.0).to_kind(Kind::Float),
                line(10).ge(5.0).to_kind(Kind::Float),
            ],
            1,
        );
        let pred: Vec<i64> = Vec::try_from(nb.classify(&scores).argmax(1, false)).unwrap();
        assert_eq!(pred, vec![0, 1]);
    }
}
