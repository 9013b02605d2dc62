//! A symmetric sparse weight matrix in compressed-sparse-row form, with the product
//! `W · X` the solvers need hundreds of times a round, over plain row-major arrays
//! (libtorch's sparse CSR product is several times slower on this machine; glean-learn
//! puts tensors around this one and uses libtorch's on CUDA).

use rayon::prelude::*;

/// Row `i`'s neighbours are `col[row_ptr[i]..row_ptr[i + 1]]` (sorted) with weights
/// `val[..]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub n: usize,
    pub row_ptr: Vec<u32>,
    pub col: Vec<u32>,
    pub val: Vec<f32>,
}

impl Csr {
    /// Builds from (row, col, weight) triples, summing duplicates.
    pub fn from_triples(n: usize, triples: &[(u32, u32, f32)]) -> Csr {
        let mut counts = vec![0u32; n + 1];
        for &(r, _, _) in triples {
            counts[r as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut slots = vec![(0u32, 0f32); triples.len()];
        for &(r, c, w) in triples {
            slots[fill[r as usize] as usize] = (c, w);
            fill[r as usize] += 1;
        }
        let rows: Vec<Vec<(u32, f32)>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut row = slots[counts[i] as usize..counts[i + 1] as usize].to_vec();
                row.sort_unstable_by_key(|&(c, _)| c);
                let mut merged: Vec<(u32, f32)> = Vec::with_capacity(row.len());
                for (c, w) in row {
                    match merged.last_mut() {
                        Some(last) if last.0 == c => last.1 += w,
                        _ => merged.push((c, w)),
                    }
                }
                merged
            })
            .collect();
        let mut row_ptr = Vec::with_capacity(n + 1);
        row_ptr.push(0u32);
        let nnz: usize = rows.iter().map(Vec::len).sum();
        let (mut col, mut val) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        for row in rows {
            for (c, w) in row {
                col.push(c);
                val.push(w);
            }
            row_ptr.push(col.len() as u32);
        }
        Csr {
            n,
            row_ptr,
            col,
            val,
        }
    }

    pub fn nnz(&self) -> usize {
        self.col.len()
    }

    /// Sum of each row's weights.
    pub fn row_sums(&self) -> Vec<f32> {
        (0..self.n)
            .map(|i| {
                self.val[self.row_ptr[i] as usize..self.row_ptr[i + 1] as usize]
                    .iter()
                    .sum()
            })
            .collect()
    }

    /// Connected components (union-find over the edges): each node's component,
    /// numbered in order of first appearance, and the count.
    pub fn components(&self) -> (Vec<i64>, usize) {
        let mut parent: Vec<u32> = (0..self.n as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                parent[i as usize] = parent[parent[i as usize] as usize];
                i = parent[i as usize];
            }
            i
        }
        for i in 0..self.n {
            for &j in &self.col[self.row_ptr[i] as usize..self.row_ptr[i + 1] as usize] {
                let (a, b) = (root(&mut parent, i as u32), root(&mut parent, j));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
        let mut number = vec![u32::MAX; self.n];
        let mut count = 0usize;
        let labels = (0..self.n as u32)
            .map(|i| {
                let r = root(&mut parent, i) as usize;
                if number[r] == u32::MAX {
                    number[r] = count as u32;
                    count += 1;
                }
                number[r] as i64
            })
            .collect();
        (labels, count)
    }

    /// `W · X` for `x` = `[n, c]` row-major.
    pub fn product(&self, xs: &[f32], c: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.n * c];
        // One thread on purpose: the product takes milliseconds, and rayon's workers
        // fighting libtorch's spinning OpenMP threads for 2 cores made it 20× slower.
        for (i, acc) in out.chunks_mut(c).enumerate() {
            let (lo, hi) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
            for (&j, &w) in self.col[lo..hi].iter().zip(&self.val[lo..hi]) {
                let xj = &xs[j as usize * c..j as usize * c + c];
                for (a, &v) in acc.iter_mut().zip(xj) {
                    *a += w * v;
                }
            }
        }
        out
    }

    /// `steps` explicit Euler steps of the forced heat flow `u ← u − dt (D − W) u + f`
    /// on `u` (`[n, c]` row-major), with `D` = `degree`: one pass over the matrix a
    /// step, no tensor in between (Poisson-MBO takes 800 of them).
    pub fn heat_steps(
        &self,
        u: &mut Vec<f32>,
        c: usize,
        degree: &[f32],
        dt: f32,
        forcing: &[f32],
        steps: usize,
    ) {
        let mut next = vec![0f32; u.len()];
        // Rows in two halves on two threads: each row is computed the same way whichever
        // thread takes it, so the result does not depend on the split.
        let half = (self.n.div_ceil(2) * c).min(next.len());
        for _ in 0..steps {
            let x: &[f32] = u;
            let (first, second) = next.split_at_mut(half);
            std::thread::scope(|scope| {
                scope.spawn(|| self.heat_rows(first, 0, x, c, degree, dt, forcing));
                self.heat_rows(second, half / c, x, c, degree, dt, forcing);
            });
            std::mem::swap(u, &mut next);
        }
    }

    /// One heat step for the rows from `start` on, into `out`.
    #[allow(clippy::too_many_arguments)]
    fn heat_rows(
        &self,
        out: &mut [f32],
        start: usize,
        x: &[f32],
        c: usize,
        degree: &[f32],
        dt: f32,
        forcing: &[f32],
    ) {
        for (offset, out) in out.chunks_mut(c).enumerate() {
            let i = start + offset;
            let keep = 1.0 - dt * degree[i];
            let own = &x[i * c..i * c + c];
            let f = &forcing[i * c..i * c + c];
            for ((o, &x), &f) in out.iter_mut().zip(own).zip(f) {
                *o = keep * x + f;
            }
            let (lo, hi) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
            for (&j, &w) in self.col[lo..hi].iter().zip(&self.val[lo..hi]) {
                let xj = &x[j as usize * c..j as usize * c + c];
                let w = dt * w;
                for (o, &x) in out.iter_mut().zip(xj) {
                    *o += w * x;
                }
            }
        }
    }

    /// The matrix from its arrays (as a cache stored them), every count and index
    /// checked, so a truncated or corrupt cache is an error, never a panic.
    pub fn from_parts(
        n: usize,
        row_ptr: Vec<u32>,
        col: Vec<u32>,
        val: Vec<f32>,
    ) -> Result<Csr, String> {
        let nnz = col.len();
        let ptr_ok = row_ptr.len() == n + 1
            && row_ptr.first() == Some(&0)
            && row_ptr.last().map(|&l| l as usize) == Some(nnz)
            && row_ptr.windows(2).all(|w| w[0] <= w[1]);
        if !ptr_ok
            || val.len() != nnz
            || col.iter().any(|&c| c as usize >= n)
            || val.iter().any(|v| !v.is_finite())
        {
            return Err("inconsistent sparse-matrix arrays".into());
        }
        Ok(Csr {
            n,
            row_ptr,
            col,
            val,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Csr {
        Csr::from_triples(
            3,
            &[
                (0, 1, 1.0),
                (1, 0, 1.0),
                (0, 1, 0.5),
                (2, 1, 2.0),
                (1, 2, 2.0),
            ],
        )
    }

    #[test]
    fn duplicates_are_summed_and_rows_sorted() {
        let m = small();
        assert_eq!(m.row_ptr, vec![0, 1, 3, 4]);
        assert_eq!(m.col, vec![1, 0, 2, 1]);
        assert_eq!(m.val, vec![1.5, 1.0, 2.0, 2.0]);
        assert_eq!(m.row_sums(), vec![1.5, 3.0, 2.0]);
        assert_eq!(m.components(), (vec![0, 0, 0], 1));
        let split = Csr::from_triples(4, &[(0, 2, 1.0), (2, 0, 1.0), (1, 3, 1.0), (3, 1, 1.0)]);
        assert_eq!(split.components(), (vec![0, 1, 0, 1], 2));
    }

    #[test]
    fn the_product_matches_the_dense_one() {
        let m = small();
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let dense = [[0.0f32, 1.5, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]];
        let expected: Vec<f32> = dense
            .iter()
            .flat_map(|row| (0..2).map(move |j| (0..3).map(|k| row[k] * x[k * 2 + j]).sum()))
            .collect();
        assert_eq!(m.product(&x, 2), expected);
    }

    #[test]
    fn parts_are_checked() {
        let m = small();
        let back = Csr::from_parts(3, m.row_ptr.clone(), m.col.clone(), m.val.clone()).unwrap();
        assert_eq!(back, m);
        assert!(Csr::from_parts(4, m.row_ptr.clone(), m.col.clone(), m.val.clone()).is_err());
        let mut far = m.col.clone();
        far[0] = 99;
        assert!(Csr::from_parts(3, m.row_ptr.clone(), far, m.val.clone()).is_err());
        assert!(Csr::from_parts(3, m.row_ptr.clone(), m.col.clone(), vec![1.0]).is_err());
        let mut nan = m.val.clone();
        nan[1] = f32::NAN;
        assert!(Csr::from_parts(3, m.row_ptr, m.col, nan).is_err());
    }
}
