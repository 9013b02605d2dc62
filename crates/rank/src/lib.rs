//! The parts of a learning round that are plain Rust over plain arrays, so they build
//! and test without libtorch (`make test-without-torch`): glean-learn computes the
//! predictions with tch and hands them here.
//!
//! - `audit`: random places in a ranking, whose labels judge the predictors fairly;
//! - `select`: from the scored candidates' predictions to the `Ranking` the rest of the
//!   program sees, through the strategy (`glean_core::strategy` for the ones over plain
//!   probabilities, `pool_strategies` for those that read the pool's clusters, graph
//!   and the labeled items' predictions);
//! - `referee`: which of the hybrid learner's predictors ranks and predicts, judged on
//!   the labels as they arrive;
//! - `csr`: the symmetric kNN weight matrix and its product, and `cg`: conjugate
//!   gradient on its Laplacian, the Poisson propagation's CPU solver;
//! - `nn_descent`: an approximate k-nearest-neighbour graph, for pools too large for
//!   the exact search.

pub mod audit;
pub mod cg;
pub mod csr;
pub mod nn_descent;
pub mod pool_strategies;
pub mod referee;
pub mod select;

pub use csr::Csr;
pub use select::{PoolContext, Predictions, Scored};
