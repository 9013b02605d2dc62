//! Poisson-MBO (Calder et al. 2020, Algorithm 2): from Poisson learning's prediction,
//! alternate a short heat flow over the graph, forced at the labeled items, with a
//! projection to one label per item whose class sizes follow the priors (the volume
//! step of `balance.rs`). The heat flow lets a border settle where the graph is thin
//! rather than where the Poisson scores happened to cross; the projection keeps a class
//! from swallowing its neighbours. The paper's constants are used as they are.

use tch::{Device, Kind, Tensor};

use super::balance;
use super::cpu_floats as floats;
use super::knn::KnnGraph;
use super::poisson::onehot_rows;
use crate::LearnError;

/// The paper's iteration counts and fidelity (`graphlearning.ssl.poisson_mbo`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MboOptions {
    /// Heat-flow and projection rounds (at least one is run).
    pub outer: usize,
    /// Heat-flow steps per round.
    pub inner: usize,
    /// Weight of the labeled items' source in the flow.
    pub fidelity: f64,
}

impl Default for MboOptions {
    fn default() -> Self {
        MboOptions {
            outer: 20,
            inner: 40,
            fidelity: 1.0,
        }
    }
}

/// Poisson-MBO's scores for the pool (`[n, classes]`, on the graph's device): the heat
/// flow's last state reweighted to `priors`, whose row argmax is the method's
/// prediction (soft, so that a ranking can still tell sure items from unsure ones).
/// `poisson` is Poisson learning's solution for the same `labeled`.
pub fn poisson_mbo(
    graph: &KnnGraph,
    labeled: &[(usize, u16)],
    classes: usize,
    poisson: &Tensor,
    priors: &[f64],
    opts: MboOptions,
) -> Result<Tensor, LearnError> {
    if labeled.is_empty() || graph.is_empty() {
        return Ok(poisson.shallow_clone());
    }
    let _guard = tch::no_grad_guard();
    let device = graph.device();
    let (idx, onehot) = onehot_rows(graph, labeled, classes);
    // Explicit Euler on du/dt = -L u + fidelity · source is stable for dt ≤ 1 / max degree.
    let dt = 1.0 / graph.degree.max().double_value(&[]).max(1e-12);
    let rows = &onehot - onehot.mean_dim(0, true, Kind::Float);
    let forcing = Tensor::zeros([graph.len() as i64, classes as i64], (Kind::Float, device))
        .index_add(0, &idx, &rows)
        * (opts.fidelity * dt);
    // Each projection's weight search starts from the last one's weights: the scores
    // move little from round to round, so those are most of the way there.
    let (first, _, mut weights) = balance::balanced_from(poisson, priors, vec![1.0; classes])?;
    let mut u = projected(&first);
    let cpu = (device == Device::Cpu)
        .then(|| -> Result<_, LearnError> { Ok((floats(&graph.degree)?, floats(&forcing)?)) })
        .transpose()?;
    for round in 1..=opts.outer.max(1) {
        let flowed = match &cpu {
            // The same steps as below, in one pass over the matrix each.
            Some((degree, forcing)) => {
                let mut x = floats(&u)?;
                graph
                    .weights
                    .heat_steps(&mut x, classes, degree, dt as f32, forcing, opts.inner);
                Tensor::from_slice(&x).view([graph.len() as i64, classes as i64])
            }
            None => {
                let mut x = u;
                for _ in 0..opts.inner {
                    x = &x - graph.laplacian_matmul(&x) * dt + &forcing;
                }
                x
            }
        };
        let (balanced, _, found) = balance::balanced_from(&flowed, priors, weights)?;
        weights = found;
        // The last round's scores are the answer; every other round projects them.
        if round >= opts.outer {
            return Ok(balanced);
        }
        u = projected(&balanced);
    }
    unreachable!("the loop returns in its last round")
}

/// Poisson-MBO at the class sizes `poisson` (Poisson learning's solution for
/// `labeled`) predicts, with the paper's constants: what glean runs.
pub fn at_predicted_sizes(
    graph: &KnnGraph,
    labeled: &[(usize, u16)],
    classes: usize,
    poisson: &Tensor,
) -> Result<Tensor, LearnError> {
    let sizes = balance::predicted_priors(poisson)?;
    poisson_mbo(
        graph,
        labeled,
        classes,
        poisson,
        &sizes,
        MboOptions::default(),
    )
}

/// One-hot rows of the argmax of `balanced` (scores already reweighted to the sizes).
fn projected(balanced: &Tensor) -> Tensor {
    balanced
        .argmax(1, false)
        .one_hot(balanced.size()[1])
        .to_kind(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{poisson, CgOptions};

    /// Forty items on a line, 0.1 apart, with a gap of 0.25 between the 20th and the
    /// 21st: two classes the 4-NN graph joins only by the weaker edges across the gap.
    fn a_line_with_a_gap() -> (KnnGraph, Vec<i64>) {
        let xs: Vec<f32> = (0..40)
            .map(|i| i as f32 * 0.1 + if i >= 20 { 0.15 } else { 0.0 })
            .collect();
        let flat: Vec<f32> = xs.iter().flat_map(|&x| [x, 0.0]).collect();
        let graph = KnnGraph::build(&Tensor::from_slice(&flat).view([40, 2]), 4).unwrap();
        assert_eq!(graph.components, 1);
        (graph, (0..40).map(|i| i64::from(i >= 20)).collect())
    }

    fn predicted(scores: &Tensor) -> Vec<i64> {
        Vec::<i64>::try_from(scores.argmax(1, false)).unwrap()
    }

    /// Poisson learning then Poisson-MBO at `priors`, with the paper's constants.
    fn mbo_after_poisson(graph: &KnnGraph, labeled: &[(usize, u16)], priors: &[f64]) -> Tensor {
        let p = poisson(graph, labeled, 2, None, CgOptions::default()).unwrap();
        poisson_mbo(graph, labeled, 2, &p.scores, priors, MboOptions::default()).unwrap()
    }

    #[test]
    fn the_border_stays_at_the_gap() {
        let (graph, truth) = a_line_with_a_gap();
        let scores = mbo_after_poisson(&graph, &[(15, 0), (39, 1)], &[0.5, 0.5]);
        assert_eq!(scores.size(), [40, 2]);
        assert_eq!(predicted(&scores), truth);
    }

    #[test]
    fn the_class_sizes_follow_the_priors() {
        let (graph, _) = a_line_with_a_gap();
        let scores = mbo_after_poisson(&graph, &[(0, 0), (39, 1)], &[0.75, 0.25]);
        let predicted = predicted(&scores);
        assert_eq!(
            predicted.iter().filter(|&&c| c == 0).count(),
            30,
            "{predicted:?}"
        );
        assert_eq!(predicted[0], 0);
        assert_eq!(predicted[39], 1);
    }

    #[test]
    fn the_fused_heat_steps_equal_the_tensor_steps() {
        let (graph, _) = a_line_with_a_gap();
        // Fixed values, not libtorch's generator, which other tests may be holding.
        let wave = |f: f64| {
            (Tensor::arange(120, (Kind::Float, tch::Device::Cpu)) * f)
                .sin()
                .view([40, 3])
        };
        let (u0, forcing) = (wave(0.37), wave(1.3) * 0.01);
        let dt = 0.1;
        let mut by_tensor = u0.shallow_clone();
        for _ in 0..5 {
            by_tensor = &by_tensor - graph.laplacian_matmul(&by_tensor) * dt + &forcing;
        }
        let mut fused = floats(&u0).unwrap();
        graph.weights.heat_steps(
            &mut fused,
            3,
            &floats(&graph.degree).unwrap(),
            dt as f32,
            &floats(&forcing).unwrap(),
            5,
        );
        let by_tensor = floats(&by_tensor).unwrap();
        for (a, b) in fused.iter().zip(&by_tensor) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn without_labels_the_poisson_scores_are_returned() {
        let (graph, _) = a_line_with_a_gap();
        let p = Tensor::ones([40, 2], (Kind::Float, tch::Device::Cpu));
        let out = poisson_mbo(&graph, &[], 2, &p, &[0.5, 0.5], MboOptions::default()).unwrap();
        assert!(out.equal(&p));
    }
}
