//! A symmetric sparse weight matrix in compressed-sparse-row form, with the product
//! `W · X` the solvers need hundreds of times a round. On the CPU the product is a
//! hand-written row-parallel loop (libtorch's sparse CSR product is several times
//! slower on this machine); on CUDA it is libtorch's sparse CSR `mm`.

use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::LearnError;

const MAGIC: &[u8; 8] = b"GLNKNN01";

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

    /// `W · X` for `X = [n, c]` float (any device: the CPU loop for CPU tensors, the
    /// given CUDA sparse matrix otherwise).
    pub fn matmul(&self, x: &Tensor, cuda: Option<&Tensor>) -> Tensor {
        match (x.device(), cuda) {
            (Device::Cpu, _) | (_, None) => self.matmul_cpu(x).to_device(x.device()),
            (_, Some(sparse)) => sparse.mm(x),
        }
    }

    #[allow(
        clippy::expect_used,
        reason = "a tensor made float and contiguous on the CPU always converts"
    )]
    fn matmul_cpu(&self, x: &Tensor) -> Tensor {
        let c = x.size()[1] as usize;
        let xs: Vec<f32> = Vec::try_from(
            x.to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous()
                .view([-1]),
        )
        .expect("a float tensor converts to Vec<f32>");
        let mut out = vec![0f32; self.n * c];
        // One thread on purpose: the product takes milliseconds, and rayon's workers
        // fighting libtorch's spinning OpenMP threads for 2 cores made it 20× slower.
        out.chunks_mut(c * 256)
            .enumerate()
            .for_each(|(block, chunk)| {
                for (offset, acc) in chunk.chunks_mut(c).enumerate() {
                    let i = block * 256 + offset;
                    let (lo, hi) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
                    for (&j, &w) in self.col[lo..hi].iter().zip(&self.val[lo..hi]) {
                        let xj = &xs[j as usize * c..j as usize * c + c];
                        for (a, &v) in acc.iter_mut().zip(xj) {
                            *a += w * v;
                        }
                    }
                }
            });
        Tensor::from_slice(&out).view([self.n as i64, c as i64])
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

    /// The matrix as a libtorch sparse CSR tensor on `device`.
    pub fn to_sparse_tensor(&self, device: Device) -> Tensor {
        let as_i64 =
            |v: &[u32]| Tensor::from_slice(&v.iter().map(|&x| x as i64).collect::<Vec<_>>());
        Tensor::sparse_csr_tensor_crow_col_value_size(
            &as_i64(&self.row_ptr).to_device(device),
            &as_i64(&self.col).to_device(device),
            &Tensor::from_slice(&self.val).to_device(device),
            [self.n as i64, self.n as i64],
            (Kind::Float, device),
        )
    }

    /// Little-endian bytes: magic, extra header words, n, nnz, row_ptr, col, val.
    pub fn to_bytes(&self, header: &[u64]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(16 + 8 * (header.len() + 2) + 4 * (self.n + 1 + 2 * self.nnz()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        for &h in header.iter().chain(&[self.n as u64, self.nnz() as u64]) {
            out.extend_from_slice(&h.to_le_bytes());
        }
        self.row_ptr
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        self.col
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        self.val
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        out
    }

    /// Reads what `to_bytes` wrote; returns the extra header words too. Every count and
    /// index is checked, so a truncated or corrupt cache is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Csr, Vec<u64>), LearnError> {
        let bad = |what: &str| LearnError::Data(format!("graph cache: {what}"));
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad("not a glean kNN graph (wrong magic)"));
        }
        let mut at = 8usize;
        let mut word = || -> Result<u64, LearnError> {
            let w = bytes
                .get(at..)
                .and_then(<[u8]>::first_chunk)
                .ok_or_else(|| bad("truncated header"))?;
            at += 8;
            Ok(u64::from_le_bytes(*w))
        };
        let extra = word()?;
        if extra > 64 {
            return Err(bad("header too long"));
        }
        let header = (0..extra).map(|_| word()).collect::<Result<Vec<_>, _>>()?;
        let (n, nnz) = (word()? as usize, word()? as usize);
        let need = (n as u128 + 1 + 2 * nnz as u128) * 4;
        if (bytes.len() - at) as u128 != need {
            return Err(bad(&format!(
                "expected {need} bytes of arrays, found {}",
                bytes.len() - at
            )));
        }
        let words = |from: usize, count: usize| -> Vec<[u8; 4]> {
            bytes[from..from + 4 * count].as_chunks::<4>().0.to_vec()
        };
        let row_ptr: Vec<u32> = words(at, n + 1)
            .into_iter()
            .map(u32::from_le_bytes)
            .collect();
        let col: Vec<u32> = words(at + 4 * (n + 1), nnz)
            .into_iter()
            .map(u32::from_le_bytes)
            .collect();
        let val: Vec<f32> = words(at + 4 * (n + 1 + nnz), nnz)
            .into_iter()
            .map(f32::from_le_bytes)
            .collect();
        let ptr_ok = row_ptr.first() == Some(&0)
            && row_ptr.last().map(|&l| l as usize) == Some(nnz)
            && row_ptr.windows(2).all(|w| w[0] <= w[1]);
        if !ptr_ok || col.iter().any(|&c| c as usize >= n) || val.iter().any(|v| !v.is_finite()) {
            return Err(bad("inconsistent arrays"));
        }
        Ok((
            Csr {
                n,
                row_ptr,
                col,
                val,
            },
            header,
        ))
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
    fn matmul_matches_dense() {
        let m = small();
        let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).view([3, 2]);
        let dense =
            Tensor::from_slice(&[0.0f32, 1.5, 0.0, 1.0, 0.0, 2.0, 0.0, 2.0, 0.0]).view([3, 3]);
        let diff = (m.matmul(&x, None) - dense.mm(&x))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-6);
        let sparse = m.to_sparse_tensor(Device::Cpu);
        let diff = (sparse.mm(&x) - dense.mm(&x)).abs().max().double_value(&[]);
        assert!(diff < 1e-6);
    }

    #[test]
    fn bytes_round_trip_and_corruption_is_an_error() {
        let m = small();
        let bytes = m.to_bytes(&[7, 9]);
        let (back, header) = Csr::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(header, vec![7, 9]);
        assert!(Csr::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Csr::from_bytes(b"nonsense").is_err());
        let mut bad_index = bytes.clone();
        let col_at = bytes.len() - 4 * 4 - 4 * 4;
        bad_index[col_at..col_at + 4].copy_from_slice(&99u32.to_le_bytes());
        assert!(Csr::from_bytes(&bad_index).is_err());
    }
}
