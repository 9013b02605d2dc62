//! Learning from the unlabeled pool: embeddings (deskew + PCA for digits), a kNN graph
//! over the pool, label propagation on it (Poisson learning, Laplace for comparison)
//! and a k-means cold start. Everything is tch tensors on the device given (the sparse
//! product on the CPU is a rayon loop over plain arrays), and everything random is
//! seeded.
//!
//! Typical use, once per pool and then once per round:
//! ```ignore
//! let emb = digit_embeddings(&pixels_pool_and_test, 50)?;          // [N+M, 50]
//! let (pool, test) = (emb.narrow(0, 0, n), emb.narrow(0, n, m));
//! let first = kmeans_cold_start(&pool, 20, seed)?;                 // items to ask
//! let mut pg = PoolGraph::build(&pool, Some(&test), 10)?;          // cache pg.graph.to_bytes()
//! let round = pg.propagate(Propagation::Poisson, &labels, classes, CgOptions::default())?;
//! ```

pub mod balance;
pub mod embed;
pub mod kmeans;
pub mod knn;
pub mod mbo;
pub mod poisson;
pub mod sparse;
pub mod vae;

pub use embed::{deskew, digit_embeddings, joint_embedding, Pca};
pub use glean_rank::cg::CgOptions;
pub use glean_rank::nn_descent;
pub use kmeans::{kmeans, kmeans_cold_start, nearest_items, KMeans};
pub use knn::{nearest, KnnGraph, Neighbours};
pub use mbo::{poisson_mbo, MboOptions};
pub use poisson::{conjugate_gradient, laplace, poisson, Solution};
pub use vae::{vae_embeddings, VaeOptions, VaeProgress};

use tch::Tensor;

use crate::LearnError;

/// Which propagation a round uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Propagation {
    /// Poisson learning with class-balanced sources: the strong one at very few labels.
    Poisson,
    /// Harmonic extension with labels clamped: the classic baseline.
    Laplace,
}

/// One round's propagated scores.
pub struct Propagated {
    /// `[pool, classes]`.
    pub pool: Tensor,
    /// `[test, classes]` when the graph knows the test items' neighbours.
    pub test: Option<Tensor>,
    pub iterations: usize,
    pub residual: f64,
}

/// The pool's graph, the test items' pool neighbours, and each method's last solution
/// (the next round's warm start).
pub struct PoolGraph {
    pub graph: KnnGraph,
    pub test: Option<Neighbours>,
    last: Vec<(Propagation, Tensor)>,
}

impl PoolGraph {
    /// Builds the `k`-NN graph of `pool` (`[N, D]`) and finds the `k` pool neighbours of
    /// each `test` row.
    pub fn build(pool: &Tensor, test: Option<&Tensor>, k: usize) -> Result<PoolGraph, LearnError> {
        let graph = KnnGraph::build(pool, k)?;
        Self::with_graph(graph, pool, test)
    }

    /// Uses a graph built (or loaded from a cache) before.
    pub fn with_graph(
        graph: KnnGraph,
        pool: &Tensor,
        test: Option<&Tensor>,
    ) -> Result<PoolGraph, LearnError> {
        if pool.size().first().copied() != Some(graph.len() as i64) {
            return Err(LearnError::Data(format!(
                "the graph has {} nodes but the pool {:?} rows",
                graph.len(),
                pool.size().first()
            )));
        }
        let test = test
            .map(|t| Neighbours::find(pool, t, graph.k))
            .transpose()?;
        Ok(PoolGraph {
            graph,
            test,
            last: Vec::new(),
        })
    }

    /// Uses a graph and test neighbours both loaded from a cache (`KnnGraph::load`,
    /// `Neighbours::from_bytes`): nothing is searched.
    pub fn from_parts(graph: KnnGraph, test: Option<Neighbours>) -> PoolGraph {
        PoolGraph {
            graph,
            test,
            last: Vec::new(),
        }
    }

    /// Propagates `labeled` (pool index, class) over the graph, warm-started from this
    /// method's previous round, and classifies the test items from their neighbours.
    pub fn propagate(
        &mut self,
        method: Propagation,
        labeled: &[(usize, u16)],
        classes: usize,
        opts: CgOptions,
    ) -> Result<Propagated, LearnError> {
        let solution = self.solve(method, labeled, classes, opts)?;
        self.last.retain(|(m, _)| *m != method);
        self.last.push((method, solution.scores.shallow_clone()));
        let test = self.test.as_ref().map(|nb| nb.classify(&solution.scores));
        Ok(Propagated {
            pool: solution.scores,
            test,
            iterations: solution.iterations,
            residual: solution.residual,
        })
    }

    /// Propagates like `propagate`, from this method's last solution, but leaves that
    /// warm start as it was and classifies no test item: a trial propagation (on part
    /// of the labels, say) that must not disturb the rounds.
    pub fn propagate_trial(
        &self,
        method: Propagation,
        labeled: &[(usize, u16)],
        classes: usize,
        opts: CgOptions,
    ) -> Result<Tensor, LearnError> {
        Ok(self.solve(method, labeled, classes, opts)?.scores)
    }

    /// `method`'s solution for `labeled`, warm-started from its last one.
    fn solve(
        &self,
        method: Propagation,
        labeled: &[(usize, u16)],
        classes: usize,
        opts: CgOptions,
    ) -> Result<Solution, LearnError> {
        let warm = self.last.iter().find(|(m, _)| *m == method).map(|(_, t)| t);
        match method {
            Propagation::Poisson => poisson(&self.graph, labeled, classes, warm, opts),
            Propagation::Laplace => laplace(&self.graph, labeled, classes, warm, opts),
        }
    }

    /// Poisson-MBO on a Poisson propagation's result for `labeled` (`mbo.rs`), with the
    /// class sizes that propagation predicts: the pool scores are replaced by MBO's and
    /// the test items classified again from them. The warm start keeps the raw solution.
    pub fn mbo(
        &self,
        out: &mut Propagated,
        labeled: &[(usize, u16)],
        classes: usize,
    ) -> Result<(), LearnError> {
        let pool = mbo::at_predicted_sizes(&self.graph, labeled, classes, &out.pool)?;
        out.test = self.test.as_ref().map(|nb| nb.classify(&pool));
        out.pool = pool;
        Ok(())
    }

    /// Forgets the warm starts (after an undo, say; they stay valid but start farther).
    pub fn reset(&mut self) {
        self.last.clear();
    }
}

/// A float tensor's values in row-major order, copied to the CPU.
pub(crate) fn cpu_floats(t: &Tensor) -> Result<Vec<f32>, LearnError> {
    Ok(Vec::try_from(
        t.to_device(tch::Device::Cpu)
            .to_kind(tch::Kind::Float)
            .contiguous()
            .view([-1]),
    )?)
}

/// Fraction of rows whose argmax equals `truth` (i64 labels on any device).
#[allow(
    clippy::expect_used,
    reason = "argmax gives an i64 tensor, which converts"
)]
pub fn accuracy(scores: &Tensor, truth: &[u16]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let pred: Vec<i64> = Vec::try_from(scores.argmax(1, false).to_device(tch::Device::Cpu))
        .expect("argmax gives i64");
    let hits = pred
        .iter()
        .zip(truth)
        .filter(|(p, t)| **p == **t as i64)
        .count();
    hits as f64 / truth.len() as f64
}
