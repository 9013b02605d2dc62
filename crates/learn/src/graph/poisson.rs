//! Label propagation on the kNN graph: Poisson learning (Calder, Cook, Thorpe, Slepčev
//! 2020) with class-balanced sources, and plain Laplace (harmonic) propagation for
//! comparison. Both solve a Laplacian system by conjugate gradient, one column per
//! class run side by side, warm-started from the last round's solution.

use tch::{Device, Kind, Tensor};

use super::knn::KnnGraph;
use crate::LearnError;
use glean_rank::cg::{self, CgOptions};

/// A propagation result.
pub struct Solution {
    /// `[n, classes]` scores for every pool item; the prediction is the row's argmax.
    pub scores: Tensor,
    pub iterations: usize,
    /// Largest relative residual over the columns at the end.
    pub residual: f64,
}

/// Solves `A X = B` column by column (each column its own step sizes, all columns in one
/// pass over the matrix) for a symmetric positive (semi-)definite `A`, with the Jacobi
/// preconditioner `inv_diag` (`[n]`, the inverse of A's diagonal), from `x0`.
pub fn conjugate_gradient(
    apply: impl Fn(&Tensor) -> Tensor,
    b: &Tensor,
    inv_diag: &Tensor,
    x0: Tensor,
    opts: CgOptions,
) -> (Tensor, usize, f64) {
    let _guard = tch::no_grad_guard();
    let col_dot = |a: &Tensor, b: &Tensor| (a * b).sum_dim_intlist(0, false, Kind::Float);
    let inv_diag = inv_diag.unsqueeze(1);
    let b_norm = col_dot(b, b).sqrt().clamp_min(1e-30);
    let mut x = x0;
    let mut r = b - apply(&x);
    let rel = |r: &Tensor| (col_dot(r, r).sqrt() / &b_norm).max().double_value(&[]);
    let mut residual = rel(&r);
    let mut z = &r * &inv_diag;
    let mut p = z.copy();
    let mut rz = col_dot(&r, &z);
    let mut iterations = 0;
    while iterations < opts.max_iter && residual > opts.tol {
        let ap = apply(&p);
        // A zero column (a class with no source) has p·Ap = 0: its step is 0, not NaN.
        let alpha = &rz / col_dot(&p, &ap).clamp_min(1e-30);
        x += &p * &alpha;
        r -= &ap * &alpha;
        z = &r * &inv_diag;
        let rz_next = col_dot(&r, &z);
        let beta = &rz_next / rz.clamp_min(1e-30);
        p = &z + &p * beta;
        rz = rz_next;
        iterations += 1;
        residual = rel(&r);
    }
    (x, iterations, residual)
}

fn check_labels(
    graph: &KnnGraph,
    labeled: &[(usize, u16)],
    classes: usize,
) -> Result<(), LearnError> {
    if classes == 0 {
        return Err(LearnError::Data(
            "propagation needs at least one class".into(),
        ));
    }
    if labeled.is_empty() {
        return Err(LearnError::Data(
            "propagation needs at least one label".into(),
        ));
    }
    for &(i, c) in labeled {
        if i >= graph.len() || c as usize >= classes {
            return Err(LearnError::Data(format!(
                "label ({i}, class {c}) outside the pool of {} items and {classes} classes",
                graph.len()
            )));
        }
    }
    Ok(())
}

/// Solves `F L F X = B` (`F` = diagonal of `free` `[n, 1]`, all ones when `None`) from
/// `x0`: with the fused CPU loops of `glean_rank::cg` (`fused`) or with tensor ops on the
/// graph's device. Rows outside `free` come back zero.
pub(crate) fn solve_laplacian(
    graph: &KnnGraph,
    b: &Tensor,
    x0: Tensor,
    free: Option<&Tensor>,
    opts: CgOptions,
    fused: bool,
) -> Result<(Tensor, usize, f64), LearnError> {
    solve_laplacian_with(graph, b, x0, free, opts, fused, false)
}

/// `solve_laplacian`; with `deflate` (fused, no `free`) the residual's mean over each
/// connected component is removed at every step (`glean_rank::cg::solve`).
fn solve_laplacian_with(
    graph: &KnnGraph,
    b: &Tensor,
    x0: Tensor,
    free: Option<&Tensor>,
    opts: CgOptions,
    fused: bool,
    deflate: bool,
) -> Result<(Tensor, usize, f64), LearnError> {
    if !fused {
        let inv_degree = graph.degree.clamp_min(1e-12).reciprocal();
        let x0 = match free {
            Some(f) => x0 * f,
            None => x0,
        };
        let apply = |x: &Tensor| match free {
            Some(f) => graph.laplacian_matmul(&(x * f)) * f,
            None => graph.laplacian_matmul(x),
        };
        return Ok(conjugate_gradient(apply, b, &inv_degree, x0, opts));
    }
    let shape = b.size();
    let to_vec = super::cpu_floats;
    let free: Option<Vec<bool>> = free
        .map(|f| Ok::<_, LearnError>(to_vec(f)?.into_iter().map(|v| v != 0.0).collect()))
        .transpose()?;
    let mut x = to_vec(&x0)?;
    let component: Option<Vec<i64>> = deflate
        .then(|| Vec::try_from(graph.component.to_device(tch::Device::Cpu)))
        .transpose()?;
    let (iterations, residual) = cg::solve(
        &graph.weights,
        &graph.weights.row_sums(),
        free.as_deref(),
        component.as_deref().map(|c| (c, graph.components)),
        &to_vec(b)?,
        &mut x,
        shape[1] as usize,
        opts,
    );
    let x = Tensor::from_slice(&x)
        .view([shape[0], shape[1]])
        .to_device(graph.device());
    Ok((x, iterations, residual))
}

fn diverged(residual: f64) -> Result<(), LearnError> {
    if residual.is_finite() {
        Ok(())
    } else {
        Err(LearnError::Other(format!(
            "graph propagation diverged (residual {residual})"
        )))
    }
}

/// For rows `values` `[r, c]` in components `comp` `[r]`: each row's component mean
/// (weighted by `weight` `[r]` when given), `[r, c]`.
fn per_component_mean(
    graph: &KnnGraph,
    comp: &Tensor,
    values: &Tensor,
    weight: Option<&Tensor>,
) -> Tensor {
    let (count, c) = (graph.components as i64, values.size()[1]);
    let device = graph.device();
    let weight = match weight {
        Some(w) => w.shallow_clone(),
        None => Tensor::ones([values.size()[0]], (Kind::Float, device)),
    };
    let sums = Tensor::zeros([count, c], (Kind::Float, device)).index_add(
        0,
        comp,
        &(values * weight.unsqueeze(1)),
    );
    let totals = Tensor::zeros([count], (Kind::Float, device)).index_add(0, comp, &weight);
    (sums / totals.clamp_min(1e-30).unsqueeze(1)).index_select(0, comp)
}

pub(super) fn onehot_rows(
    graph: &KnnGraph,
    labeled: &[(usize, u16)],
    classes: usize,
) -> (Tensor, Tensor) {
    let device = graph.device();
    let idx = Tensor::from_slice(&labeled.iter().map(|&(i, _)| i as i64).collect::<Vec<_>>())
        .to_device(device);
    let cls = Tensor::from_slice(&labeled.iter().map(|&(_, c)| c as i64).collect::<Vec<_>>())
        .to_device(device);
    (idx, cls.one_hot(classes as i64).to_kind(Kind::Float))
}

fn warm_or_zero(graph: &KnnGraph, classes: usize, warm: Option<&Tensor>) -> Tensor {
    let shape = [graph.len() as i64, classes as i64];
    match warm {
        Some(w) if w.size() == shape => w.to_device(graph.device()).to_kind(Kind::Float),
        _ => Tensor::zeros(shape, (Kind::Float, graph.device())),
    }
}

/// Poisson learning: solves `L u = f` with the source `f` at the labeled items, each
/// weighted by 1 / (its class's label count) so that a class with many labels does not
/// drown the others, minus the mean over the labeled items so `f` sums to zero; the
/// solution is fixed by a zero degree-weighted mean. `warm` is the last solution.
pub fn poisson(
    graph: &KnnGraph,
    labeled: &[(usize, u16)],
    classes: usize,
    warm: Option<&Tensor>,
    opts: CgOptions,
) -> Result<Solution, LearnError> {
    check_labels(graph, labeled, classes)?;
    let _guard = tch::no_grad_guard();
    let device = graph.device();
    let (idx, onehot) = onehot_rows(graph, labeled, classes);
    let counts = onehot.sum_dim_intlist(0, true, Kind::Float).clamp_min(1.0);
    let balanced = &onehot / counts;
    // Sources sum to zero in every connected component (else that component's system
    // has no solution): subtract each component's mean over its labeled items.
    let comp_of_label = graph.component.index_select(0, &idx);
    let component_mean = per_component_mean(graph, &comp_of_label, &balanced, None);
    let rows = &balanced - &component_mean;
    let source = Tensor::zeros([graph.len() as i64, classes as i64], (Kind::Float, device))
        .index_add(0, &idx, &rows);
    // A class without labels has no source and its answer is zero: a warm start left
    // from rounds when it had some would be measured against a zero right-hand side
    // and blow the relative residual up to NaN.
    let has_labels = onehot.sum_dim_intlist(0, true, Kind::Float).gt(0.0);
    let x0 = warm_or_zero(graph, classes, warm) * has_labels.to_kind(Kind::Float);
    let fused = graph.device() == Device::Cpu;
    let (mut u, mut iterations, mut residual) =
        solve_laplacian(graph, &source, x0, None, opts, fused)?;
    if !residual.is_finite() && fused {
        // Seen once, at 39,000 of 60,000 MNIST labels: the solve overflowed. Again from
        // zero, with the residual's per-component mean (which no step reduces) removed.
        tracing::warn!(
            "Poisson solve with {} labels diverged (residual {residual}); solving again from zero, deflated",
            labeled.len()
        );
        let zero = Tensor::zeros_like(&source);
        (u, iterations, residual) =
            solve_laplacian_with(graph, &source, zero, None, opts, fused, true)?;
    }
    diverged(residual)?;
    // Fix the free constant of each component: zero degree-weighted mean.
    let mean = per_component_mean(graph, &graph.component, &u, Some(&graph.degree));
    // A component whose labels are all one class has no source left, so u = 0 there:
    // a vanishing multiple of the component's mean source breaks that tie (and only
    // that tie) in favour of its labels.
    let comp_source = Tensor::zeros(
        [graph.components as i64, classes as i64],
        (Kind::Float, device),
    )
    .index_copy(0, &comp_of_label, &component_mean)
    .index_select(0, &graph.component);
    let u = u - mean;
    let scale = 1e-6 * (u.abs().max().double_value(&[]) + 1e-12);
    Ok(Solution {
        scores: u + comp_source * scale,
        iterations,
        residual,
    })
}

/// Laplace (harmonic) propagation: labeled items clamped to their one-hot label, every
/// other item the weighted average of its neighbours (`L_uu u = W_ul y`).
pub fn laplace(
    graph: &KnnGraph,
    labeled: &[(usize, u16)],
    classes: usize,
    warm: Option<&Tensor>,
    opts: CgOptions,
) -> Result<Solution, LearnError> {
    check_labels(graph, labeled, classes)?;
    let _guard = tch::no_grad_guard();
    let device = graph.device();
    let n = graph.len() as i64;
    let (idx, onehot) = onehot_rows(graph, labeled, classes);
    let clamped =
        Tensor::zeros([n, classes as i64], (Kind::Float, device)).index_copy(0, &idx, &onehot);
    let free = Tensor::ones([n, 1], (Kind::Float, device)).index_fill(0, &idx, 0.0);
    let rhs = graph.weight_matmul(&clamped) * &free;
    let x0 = warm_or_zero(graph, classes, warm);
    let fused = graph.device() == Device::Cpu;
    let (u, iterations, residual) = solve_laplacian(graph, &rhs, x0, Some(&free), opts, fused)?;
    diverged(residual)?;
    Ok(Solution {
        scores: u * &free + clamped,
        iterations,
        residual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cg_matches_a_dense_solve() {
        let _generator = crate::torch_rng::seeded(11);
        let m = Tensor::randn([30, 30], (Kind::Float, Device::Cpu));
        let a = m.mm(&m.tr()) + Tensor::eye(30, (Kind::Float, Device::Cpu)) * 30.0;
        let b = Tensor::randn([30, 3], (Kind::Float, Device::Cpu));
        let inv_diag = a.diagonal(0, 0, 1).reciprocal();
        let x0 = Tensor::zeros([30, 3], (Kind::Float, Device::Cpu));
        let opts = CgOptions {
            tol: 1e-6,
            max_iter: 200,
        };
        let (x, iters, residual) = conjugate_gradient(|x| a.mm(x), &b, &inv_diag, x0, opts);
        let exact = Tensor::linalg_solve(&a.to_kind(Kind::Double), &b.to_kind(Kind::Double), true);
        let err = (x.to_kind(Kind::Double) - &exact)
            .abs()
            .max()
            .double_value(&[]);
        assert!(
            residual <= 1e-6 && iters > 0 && iters <= 30,
            "{iters} iterations, residual {residual}"
        );
        assert!(err < 1e-4, "max error {err}");
        // Warm-started at the answer, it stops at once.
        let (_, again, _) =
            conjugate_gradient(|y| a.mm(y), &b, &inv_diag, exact.to_kind(Kind::Float), opts);
        assert!(again <= 1, "{again}");
    }

    #[test]
    fn fused_cpu_loops_match_the_tensor_solver() {
        let _generator = crate::torch_rng::seeded(4);
        let pts = Tensor::randn([200, 3], (Kind::Float, Device::Cpu));
        let g = KnnGraph::build(&pts, 6).unwrap();
        let opts = CgOptions {
            tol: 1e-6,
            max_iter: 1000,
        };
        let b = Tensor::randn([200, 2], (Kind::Float, Device::Cpu));
        let b = &b - b.mean_dim(0, true, Kind::Float);
        let free = Tensor::ones([200, 1], (Kind::Float, Device::Cpu)).index_fill(
            0,
            &Tensor::from_slice(&[3i64, 50, 120]),
            0.0,
        );
        for mask in [None, Some(&free)] {
            let rhs = match mask {
                Some(f) => &b * f,
                None => b.shallow_clone(),
            };
            let x0 = Tensor::zeros([200, 2], (Kind::Float, Device::Cpu));
            let (a, _, ra) = solve_laplacian(&g, &rhs, x0.copy(), mask, opts, true).unwrap();
            let (t, _, rt) = solve_laplacian(&g, &rhs, x0, mask, opts, false).unwrap();
            assert!(ra <= 1e-6 && rt <= 1e-6, "residuals {ra} {rt}");
            // Without a mask the answer is fixed only up to a constant per column.
            let centre = |x: Tensor| &x - x.mean_dim(0, true, Kind::Float);
            let diff = (centre(a) - centre(t)).abs().max().double_value(&[]);
            assert!(diff < 1e-3, "fused and tensor solutions differ by {diff}");
        }
    }

    #[test]
    fn a_deflated_solve_ignores_a_constant_in_the_source_that_no_step_can_reduce() {
        let _generator = crate::torch_rng::seeded(5);
        let pts = Tensor::randn([300, 3], (Kind::Float, Device::Cpu));
        let g = KnnGraph::build(&pts, 6).unwrap();
        assert_eq!(g.components, 1);
        let opts = CgOptions {
            tol: 1e-6,
            max_iter: 2000,
        };
        let b = Tensor::randn([300, 2], (Kind::Float, Device::Cpu));
        let b = &b - b.mean_dim(0, true, Kind::Float);
        let zero = || Tensor::zeros([300, 2], (Kind::Float, Device::Cpu));
        let (plain, _, r_plain) = solve_laplacian(&g, &b, zero(), None, opts, true).unwrap();
        // The same source plus a constant: L u = b + c has no solution.
        let shifted = &b + 1e-2;
        let (_, _, r_undeflated) = solve_laplacian(&g, &shifted, zero(), None, opts, true).unwrap();
        let (deflated, _, r_deflated) =
            solve_laplacian_with(&g, &shifted, zero(), None, opts, true, true).unwrap();
        assert!(
            r_plain <= 1e-6 && r_deflated <= 1e-6,
            "{r_plain} {r_deflated}"
        );
        assert!(
            r_undeflated.is_nan() || r_undeflated > 1e-6,
            "without deflation the constant cannot be solved away ({r_undeflated})"
        );
        let centre = |x: &Tensor| x - x.mean_dim(0, true, Kind::Float);
        let diff = (centre(&plain) - centre(&deflated))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-3, "deflated and plain solutions differ by {diff}");
    }

    #[test]
    fn a_class_that_lost_its_labels_starts_from_zero_not_from_its_warm_start() {
        let _generator = crate::torch_rng::seeded(6);
        let pts = Tensor::randn([300, 2], (Kind::Float, Device::Cpu));
        let g = KnnGraph::build(&pts, 8).unwrap();
        let o = CgOptions::default();
        let all = [(0, 0), (1, 1), (2, 2)];
        let warm = poisson(&g, &all, 3, None, o).unwrap().scores;
        // Class 2's label is gone; its old answer must not poison the solve.
        let out = poisson(&g, &all[..2], 3, Some(&warm), o).unwrap();
        assert!(
            out.residual.is_finite() && out.residual <= o.tol,
            "{}",
            out.residual
        );
        let class2 = out.scores.narrow(1, 2, 1).abs().max().double_value(&[]);
        let class0 = out.scores.narrow(1, 0, 1).abs().max().double_value(&[]);
        assert!(
            class2 < 1e-6 * class0.max(1e-12) + 1e-12,
            "{class2} vs {class0}"
        );
    }

    #[test]
    fn bad_labels_are_errors() {
        let pts = Tensor::arange(10, (Kind::Float, Device::Cpu)).view([10, 1]);
        let g = KnnGraph::build(&pts, 2).unwrap();
        let o = CgOptions::default();
        assert!(poisson(&g, &[], 2, None, o).is_err());
        assert!(poisson(&g, &[(10, 0)], 2, None, o).is_err());
        assert!(laplace(&g, &[(0, 2)], 2, None, o).is_err());
        assert!(laplace(&g, &[(0, 0)], 0, None, o).is_err());
    }
}
