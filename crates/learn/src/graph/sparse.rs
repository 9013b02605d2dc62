//! The kNN weight matrix (`glean_rank::Csr`, plain arrays) applied to tensors: on the
//! CPU through its own row loop (libtorch's sparse CSR product is several times slower
//! on this machine), on CUDA through libtorch's sparse CSR `mm`.

use glean_rank::Csr;
use tch::{Device, Kind, Tensor};

/// `W · X` for `X = [n, c]` float on any device: the CPU loop for CPU tensors, `cuda`
/// (the matrix as `to_sparse_tensor` made it) otherwise.
pub fn weight_product(w: &Csr, x: &Tensor, cuda: Option<&Tensor>) -> Tensor {
    match (x.device(), cuda) {
        (Device::Cpu, _) | (_, None) => cpu_product(w, x).to_device(x.device()),
        (_, Some(sparse)) => sparse.mm(x),
    }
}

#[allow(
    clippy::expect_used,
    reason = "a tensor made float and contiguous on the CPU always converts"
)]
fn cpu_product(w: &Csr, x: &Tensor) -> Tensor {
    let c = x.size()[1] as usize;
    let xs: Vec<f32> = Vec::try_from(
        x.to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .contiguous()
            .view([-1]),
    )
    .expect("a float tensor converts to Vec<f32>");
    Tensor::from_slice(&w.product(&xs, c)).view([w.n as i64, c as i64])
}

/// The matrix as a libtorch sparse CSR tensor on `device`.
pub fn to_sparse_tensor(w: &Csr, device: Device) -> Tensor {
    let as_i64 = |v: &[u32]| Tensor::from_slice(&v.iter().map(|&x| x as i64).collect::<Vec<_>>());
    Tensor::sparse_csr_tensor_crow_col_value_size(
        &as_i64(&w.row_ptr).to_device(device),
        &as_i64(&w.col).to_device(device),
        &Tensor::from_slice(&w.val).to_device(device),
        [w.n as i64, w.n as i64],
        (Kind::Float, device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_and_sparse_tensor_products_match_the_dense_one() {
        let m = Csr::from_triples(3, &[(0, 1, 1.5), (1, 0, 1.5), (2, 1, 2.0), (1, 2, 2.0)]);
        let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).view([3, 2]);
        let dense =
            Tensor::from_slice(&[0.0f32, 1.5, 0.0, 1.5, 0.0, 2.0, 0.0, 2.0, 0.0]).view([3, 3]);
        let diff = (weight_product(&m, &x, None) - dense.mm(&x))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-6);
        let sparse = to_sparse_tensor(&m, Device::Cpu);
        let diff = (sparse.mm(&x) - dense.mm(&x)).abs().max().double_value(&[]);
        assert!(diff < 1e-6);
    }
}
