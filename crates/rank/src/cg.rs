//! Conjugate gradient on the graph Laplacian over plain CPU arrays, with the vector
//! updates fused into two passes per iteration. The tensor version in `poisson.rs` is
//! the same algorithm; on the CPU every small libtorch op wakes its OpenMP workers, and
//! on 2 busy cores those barriers cost more than the arithmetic (30 ms for an op on
//! 600,000 floats under load, against 0.3 ms of work), so CPU graphs solve here.

use rayon::prelude::*;

use crate::csr::Csr;

/// When conjugate gradient stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgOptions {
    /// Stop when every column's residual is below `tol` × its right-hand side's norm.
    pub tol: f64,
    pub max_iter: usize,
}

impl Default for CgOptions {
    fn default() -> Self {
        // Not 1e-3: the residual hardly sees the error in the graph's smooth components,
        // and warm starts carried it from round to round (MNIST, margin, seed 2: the
        // graph fell from 97.9 to 96.8 % between 690 and 950 labels; at 1e-4 it stays at
        // 97.5-98.1 %). A Poisson round takes 0.60 s instead of 0.53 (`cargo bench
        // --bench graph`); class decisions settle long before 1e-6.
        CgOptions {
            tol: 1e-4,
            max_iter: 500,
        }
    }
}

/// Rows per parallel task of the sparse product.
const ROWS_PER_TASK: usize = 2048;

/// Solves `A X = B` for `A = F (D − W) F`, `D` = `degree`, `F` the diagonal 0/1 mask
/// `free` (all ones when `None`), column by column with the Jacobi preconditioner.
/// `b` and `x` are row-major `[n, c]`; rows outside `free` must be zero in `b`; they are
/// zeroed in `x`. Returns the iterations and the largest relative residual.
/// `components` (each node's connected component, and their count), given for a
/// singular system (no fixed rows): the residual's mean over each component is removed
/// at every step. Float rounding leaves a little of it, which no step can reduce; with
/// tens of thousands of labels CG kept stepping against it until x overflowed to NaN.
#[allow(clippy::too_many_arguments)]
pub fn solve(
    w: &Csr,
    degree: &[f32],
    free: Option<&[bool]>,
    components: Option<(&[i64], usize)>,
    b: &[f32],
    x: &mut [f32],
    c: usize,
    opts: CgOptions,
) -> (usize, f64) {
    let n = w.n;
    let is_free = |i: usize| free.is_none_or(|f| f[i]);
    let inv_d: Vec<f32> = (0..n)
        .map(|i| {
            if is_free(i) {
                1.0 / degree[i].max(1e-12)
            } else {
                0.0
            }
        })
        .collect();
    for i in (0..n).filter(|&i| !is_free(i)) {
        x[i * c..i * c + c].fill(0.0);
    }
    let col_norms = |v: &[f32]| {
        let mut s = vec![0f64; c];
        for row in v.chunks_exact(c) {
            for (acc, &e) in s.iter_mut().zip(row) {
                *acc += (e as f64) * (e as f64);
            }
        }
        s
    };
    let b_norm: Vec<f64> = col_norms(b).iter().map(|s| s.sqrt().max(1e-30)).collect();
    let relative = |rr: &[f64]| {
        rr.iter()
            .zip(&b_norm)
            .map(|(s, bn)| s.sqrt() / bn)
            // NaN (a diverged solve) must not be hidden by max().
            .fold(0.0, |a: f64, b| {
                if b.is_nan() || a.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            })
    };

    let deflate = |r: &mut [f32]| {
        let Some((of, count)) = components.filter(|_| free.is_none()) else {
            return;
        };
        let mut sums = vec![0f64; count * c];
        let mut sizes = vec![0f64; count];
        for (row, &k) in r.chunks_exact(c).zip(of) {
            let k = k as usize;
            sizes[k] += 1.0;
            for (s, &v) in sums[k * c..k * c + c].iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        for (row, &k) in r.chunks_exact_mut(c).zip(of) {
            let k = k as usize;
            for (v, &s) in row.iter_mut().zip(&sums[k * c..k * c + c]) {
                *v -= (s / sizes[k]) as f32;
            }
        }
    };
    let mut ap = vec![0f32; n * c];
    apply(w, degree, &inv_d, x, &mut ap, c);
    let mut r: Vec<f32> = b.iter().zip(&ap).map(|(b, a)| b - a).collect();
    deflate(&mut r);
    let mut residual = relative(&col_norms(&r));
    let mut p: Vec<f32> = r
        .chunks_exact(c)
        .zip(&inv_d)
        .flat_map(|(row, &s)| row.iter().map(move |v| v * s))
        .collect();
    let mut rz = vec![0f64; c];
    for (i, row) in r.chunks_exact(c).enumerate() {
        for (k, &v) in row.iter().enumerate() {
            rz[k] += (v as f64) * (v as f64) * inv_d[i] as f64;
        }
    }
    let mut iterations = 0;
    while iterations < opts.max_iter && residual > opts.tol {
        let pap = apply(w, degree, &inv_d, &p, &mut ap, c);
        // A zero column (a class with no source) has p·Ap = 0: its step is 0, not NaN.
        let alpha: Vec<f32> = rz
            .iter()
            .zip(&pap)
            .map(|(a, b)| (a / b.max(1e-30)) as f32)
            .collect();
        let (mut rz_next, mut rr) = (vec![0f64; c], vec![0f64; c]);
        let rows = x
            .chunks_exact_mut(c)
            .zip(r.chunks_exact_mut(c))
            .zip(p.chunks_exact(c).zip(ap.chunks_exact(c)));
        for (((xi, ri), (pi, ai)), &s) in rows.zip(&inv_d) {
            let entries = xi.iter_mut().zip(ri.iter_mut()).zip(pi.iter().zip(ai));
            for (k, ((xv, rv), (&pv, &av))) in entries.enumerate() {
                *xv += alpha[k] * pv;
                *rv -= alpha[k] * av;
                let rv = *rv as f64;
                rz_next[k] += rv * rv * s as f64;
                rr[k] += rv * rv;
            }
        }
        if components.is_some() && free.is_none() {
            // The sums above saw r before its component means went: recount them.
            deflate(&mut r);
            rz_next.iter_mut().for_each(|v| *v = 0.0);
            rr.iter_mut().for_each(|v| *v = 0.0);
            for (row, &s) in r.chunks_exact(c).zip(&inv_d) {
                for (k, &v) in row.iter().enumerate() {
                    let v = v as f64;
                    rz_next[k] += v * v * s as f64;
                    rr[k] += v * v;
                }
            }
        }
        let beta: Vec<f32> = rz_next
            .iter()
            .zip(&rz)
            .map(|(a, b)| (a / b.max(1e-30)) as f32)
            .collect();
        for ((pi, ri), &s) in p.chunks_exact_mut(c).zip(r.chunks_exact(c)).zip(&inv_d) {
            for ((pv, &rv), &b) in pi.iter_mut().zip(ri).zip(&beta) {
                *pv = rv * s + b * *pv;
            }
        }
        rz = rz_next;
        iterations += 1;
        residual = relative(&rr);
    }
    (iterations, residual)
}

/// `out = F (D − W) F v` (rows with `inv_d == 0` are the fixed ones), returning the
/// column sums of `v ⊙ out`.
fn apply(w: &Csr, degree: &[f32], inv_d: &[f32], v: &[f32], out: &mut [f32], c: usize) -> Vec<f64> {
    out.par_chunks_mut(c * ROWS_PER_TASK)
        .enumerate()
        .map(|(task, chunk)| {
            let mut dots = vec![0f64; c];
            for (offset, acc) in chunk.chunks_mut(c).enumerate() {
                let i = task * ROWS_PER_TASK + offset;
                if inv_d[i] == 0.0 {
                    acc.fill(0.0);
                    continue;
                }
                let vi = &v[i * c..i * c + c];
                for (a, &x) in acc.iter_mut().zip(vi) {
                    *a = degree[i] * x;
                }
                let (lo, hi) = (w.row_ptr[i] as usize, w.row_ptr[i + 1] as usize);
                for (&j, &wij) in w.col[lo..hi].iter().zip(&w.val[lo..hi]) {
                    let j = j as usize;
                    if inv_d[j] == 0.0 {
                        continue;
                    }
                    for (a, &x) in acc.iter_mut().zip(&v[j * c..j * c + c]) {
                        *a -= wij * x;
                    }
                }
                for (d, (&a, &x)) in dots.iter_mut().zip(acc.iter().zip(vi)) {
                    *d += (a as f64) * (x as f64);
                }
            }
            dots
        })
        .reduce(
            || vec![0f64; c],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}
