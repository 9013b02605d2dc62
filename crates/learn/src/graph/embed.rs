//! Embeddings for grayscale digits: deskew each image (the classic moments-based shear
//! correction), then reduce to a few dozen dimensions by PCA. Deskewing matters: on
//! MNIST it halves the labels the graph needs for 95 %.

use tch::{Device, Kind, Tensor};

use crate::LearnError;

/// Images are deskewed and projected this many at a time (bounds the memory).
const CHUNK: i64 = 8192;

/// Deskewed, PCA-reduced embeddings of `pixels` (`[N, 1, H, W]`, u8 or float in 0..=255),
/// `[N, dims]` float on the pixels' device. Fit the PCA on everything that will be
/// compared (pool and test together) and split the rows afterwards.
pub fn digit_embeddings(pixels: &Tensor, dims: usize) -> Result<Tensor, LearnError> {
    let (n, h, w) = check_images(pixels)?;
    if dims == 0 || dims as i64 > h * w {
        return Err(LearnError::Data(format!(
            "PCA to {dims} dimensions: must be between 1 and the {} pixels of an image",
            h * w
        )));
    }
    let _guard = tch::no_grad_guard();
    let flat = Tensor::cat(
        &chunks(n)
            .map(|(start, len)| deskew(&pixels.narrow(0, start, len)).view([len, h * w]))
            .collect::<Vec<_>>(),
        0,
    );
    let pca = Pca::fit(&flat, dims)?;
    Ok(Tensor::cat(
        &chunks(n)
            .map(|(start, len)| pca.transform(&flat.narrow(0, start, len)))
            .collect::<Vec<_>>(),
        0,
    ))
}

fn chunks(n: i64) -> impl Iterator<Item = (i64, i64)> {
    (0..n)
        .step_by(CHUNK as usize)
        .map(move |s| (s, CHUNK.min(n - s)))
}

fn check_images(pixels: &Tensor) -> Result<(i64, i64, i64), LearnError> {
    match pixels.size().as_slice() {
        &[n, 1, h, w] if n > 0 && h > 1 && w > 1 => Ok((n, h, w)),
        other => Err(LearnError::Data(format!(
            "digit embeddings need a non-empty [N, 1, H, W] grayscale batch, got shape {other:?}"
        ))),
    }
}

/// Deskews a batch `[B, 1, H, W]` (u8 or float, 0..=255): each image is shifted so its
/// centre of mass sits at the centre and sheared by `alpha = cov(row, col) / var(row)`
/// so that its main axis is vertical, resampled bilinearly. Returns floats in 0..=1.
pub fn deskew(images: &Tensor) -> Tensor {
    let size = images.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    let device = images.device();
    let img = images.to_kind(Kind::Float) / 255.0;
    let plane = img.view([b, h, w]);
    let rows = Tensor::arange(h, (Kind::Float, device)).view([1, h, 1]);
    let cols = Tensor::arange(w, (Kind::Float, device)).view([1, 1, w]);
    let total = plane
        .sum_dim_intlist(&[1i64, 2][..], false, Kind::Float)
        .clamp_min(1e-8);
    let mean_of = |t: &Tensor| t.sum_dim_intlist(&[1i64, 2][..], false, Kind::Float) / &total;
    let centre_row = mean_of(&(&plane * &rows));
    let centre_col = mean_of(&(&plane * &cols));
    let dr = &rows - centre_row.view([b, 1, 1]);
    let dc = &cols - centre_col.view([b, 1, 1]);
    let var_row = mean_of(&(&plane * &dr * &dr));
    let cov = mean_of(&(&plane * &dr * &dc));
    // A blank or one-row image has no vertical spread: leave it unsheared.
    let alpha =
        cov.where_self(&var_row.gt(1e-6), &Tensor::zeros_like(&cov)) / var_row.clamp_min(1e-6);

    // Output pixel (r, c) samples the input at
    // (r + centre_row - h/2, c + alpha (r - h/2) + centre_col - w/2), as scipy's deskew.
    let (half_h, half_w) = (h as f64 / 2.0, w as f64 / 2.0);
    let out_r = Tensor::arange(h, (Kind::Float, device)).view([1, h, 1]);
    let out_c = Tensor::arange(w, (Kind::Float, device)).view([1, 1, w]);
    let src_r = (&out_r + centre_row.view([b, 1, 1]) - half_h).expand([b, h, w], false);
    let src_c =
        &out_c + alpha.view([b, 1, 1]) * (&out_r - half_h) + centre_col.view([b, 1, 1]) - half_w;
    // grid_sample with align_corners: -1 is the first pixel's centre, +1 the last's.
    let gx = src_c * (2.0 / (w - 1) as f64) - 1.0;
    let gy = src_r * (2.0 / (h - 1) as f64) - 1.0;
    let grid = Tensor::stack(&[gx, gy], 3);
    // Modes: 0 = bilinear, 0 = zeros padding.
    img.grid_sampler(&grid, 0, 0, true)
}

/// Widest data whose D×D covariance `Pca::fit` forms (128 MB in double); wider data
/// (the plain pixels of photos, 150,528 values each at 224×224) goes through a
/// randomized PCA whose memory grows with N·dims instead of D².
const MAX_COVARIANCE_DIM: i64 = 4096;
/// Extra directions the randomized PCA samples beyond `dims`, and its power iterations
/// (Halko, Martinsson & Tropp 2011: 5-10 and 2 give the top components to a few
/// digits on image data).
const OVERSAMPLE: i64 = 10;
const POWER_ITERATIONS: usize = 2;

/// Principal component analysis: the mean and the top `dims` eigenvectors of the
/// covariance (an eigendecomposition of the D×D covariance, cheaper than an SVD of the
/// N×D data when N ≫ D; a randomized range finder when D is too wide for that).
pub struct Pca {
    pub mean: Tensor,
    /// `[D, dims]`, columns by decreasing variance.
    pub components: Tensor,
    /// The variance along each component, decreasing.
    pub variances: Tensor,
}

impl Pca {
    /// Fits on the rows of `data` (`[N, D]` float).
    pub fn fit(data: &Tensor, dims: usize) -> Result<Pca, LearnError> {
        let size = data.size();
        let (n, d) = match size.as_slice() {
            &[n, d] if n > 0 && d > 0 => (n, d),
            other => {
                return Err(LearnError::Data(format!(
                    "PCA needs a non-empty [N, D] matrix, got shape {other:?}"
                )))
            }
        };
        if dims == 0 || dims as i64 > d {
            return Err(LearnError::Data(format!(
                "PCA to {dims} dimensions of {d}-dimensional data"
            )));
        }
        let _guard = tch::no_grad_guard();
        let data = data.f_to_kind(Kind::Float)?;
        let mean = data.f_mean_dim(0, false, Kind::Float)?;
        if d > MAX_COVARIANCE_DIM {
            return Self::fit_randomized(&data, mean, n, d, dims as i64);
        }
        // Accumulate in double: sums over tens of thousands of rows.
        let mut cov = Tensor::f_zeros([d, d], (Kind::Double, data.device()))?;
        for (start, len) in chunks(n) {
            let centred = data
                .f_narrow(0, start, len)?
                .f_sub(&mean)?
                .f_to_kind(Kind::Double)?;
            cov = cov.f_add(&centred.f_tr()?.f_mm(&centred)?)?;
        }
        let cov = cov.f_div_scalar(n as f64)?;
        let (values, vectors) = cov.f_linalg_eigh("L")?;
        // eigh sorts ascending: take the last `dims`, largest first.
        let order = Tensor::f_arange_start(d - dims as i64, d, (Kind::Int64, data.device()))?
            .f_flip([0])?;
        Ok(Pca {
            mean,
            components: vectors.f_index_select(1, &order)?.f_to_kind(Kind::Float)?,
            variances: values.f_index_select(0, &order)?.f_to_kind(Kind::Float)?,
        })
    }

    /// The top `dims` components of `[N, D]` data too wide for its covariance: the
    /// range of the centred data times a random `[D, dims + OVERSAMPLE]` matrix,
    /// sharpened by power iterations, then an exact SVD inside that small subspace.
    /// The random matrix comes from a fixed host seed (not libtorch's generator, which
    /// the round's caller may hold), so the same data gives the same components.
    fn fit_randomized(
        data: &Tensor,
        mean: Tensor,
        n: i64,
        d: i64,
        dims: i64,
    ) -> Result<Pca, LearnError> {
        use rand::SeedableRng;
        use rand_distr::Distribution;
        let device = data.device();
        let width = (dims + OVERSAMPLE).min(d).min(n.max(dims));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x9ca);
        let normal = rand_distr::StandardNormal;
        let omega: Vec<f32> = (0..d * width).map(|_| normal.sample(&mut rng)).collect();
        let omega = Tensor::f_from_slice(&omega)?
            .f_view([d, width])?
            .f_to_device(device)?;
        // X·M and Xᵀ·Y in row chunks, so the centred data is never whole in memory twice.
        let times = |m: &Tensor| -> Result<Tensor, LearnError> {
            let parts = chunks(n)
                .map(|(start, len)| data.f_narrow(0, start, len)?.f_sub(&mean)?.f_mm(m))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Tensor::f_cat(&parts, 0)?)
        };
        let transposed_times = |y: &Tensor| -> Result<Tensor, LearnError> {
            let mut out = Tensor::f_zeros([d, y.size()[1]], (Kind::Float, device))?;
            for (start, len) in chunks(n) {
                let centred = data.f_narrow(0, start, len)?.f_sub(&mean)?;
                out = out.f_add(&centred.f_tr()?.f_mm(&y.f_narrow(0, start, len)?)?)?;
            }
            Ok(out)
        };
        let orthonormal =
            |t: Tensor| -> Result<Tensor, LearnError> { Ok(Tensor::f_linalg_qr(&t, "reduced")?.0) };
        let mut q = orthonormal(times(&omega)?)?;
        for _ in 0..POWER_ITERATIONS {
            let z = orthonormal(transposed_times(&q)?)?;
            q = orthonormal(times(&z)?)?;
        }
        // B = Qᵀ X (width × D); its right singular vectors are the components: from the
        // eigenvectors U of the small B·Bᵀ (eigenvalues σ²), as Bᵀ·U / σ, in double.
        let b = transposed_times(&q)?.f_tr()?.f_to_kind(Kind::Double)?;
        let (values, vectors) = b.f_mm(&b.f_tr()?)?.f_linalg_eigh("L")?;
        let k = values.size()[0];
        // eigh sorts ascending: the last `dims`, largest first.
        let order = Tensor::f_arange_start(k - dims, k, (Kind::Int64, device))?.f_flip([0])?;
        let values = values.f_index_select(0, &order)?.f_clamp_min(1e-12)?;
        let vectors = vectors.f_index_select(1, &order)?;
        let components = b.f_tr()?.f_mm(&vectors)?.f_div(&values.f_sqrt()?)?;
        Ok(Pca {
            mean,
            components: components.f_to_kind(Kind::Float)?,
            variances: values.f_div_scalar(n as f64)?.f_to_kind(Kind::Float)?,
        })
    }

    /// Projects rows `[M, D]` onto the components: `[M, dims]`.
    pub fn transform(&self, data: &Tensor) -> Tensor {
        (data.to_kind(Kind::Float) - &self.mean).mm(&self.components)
    }

    /// [`Pca::transform`] in row chunks, with shape errors returned, not panicked.
    pub fn f_transform(&self, data: &Tensor) -> Result<Tensor, LearnError> {
        let n = data.size().first().copied().unwrap_or(0);
        let parts = chunks(n)
            .map(|(start, len)| {
                data.f_narrow(0, start, len)?
                    .f_to_kind(Kind::Float)?
                    .f_sub(&self.mean)?
                    .f_mm(&self.components)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if parts.is_empty() {
            return Ok(Tensor::f_zeros(
                [0, self.components.size()[1]],
                (Kind::Float, self.device()),
            )?);
        }
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    pub fn device(&self) -> Device {
        self.mean.device()
    }
}

/// `[N, D]` with each column at mean 0 and standard deviation 1 (constant columns at 0),
/// so that every dimension weighs the same (the backbone's features before their PCA, the
/// adversarial strategy's discriminator).
pub fn standardised(embeddings: &Tensor) -> Tensor {
    let mean = embeddings.mean_dim(0, true, Kind::Float);
    let std = embeddings.std_dim(0, false, true).clamp_min(1e-6);
    (embeddings - mean) / std
}

/// Several embeddings of the same rows side by side, each centred and scaled to a mean
/// squared row norm of one, so that each weighs the same in a distance.
pub fn joint_embedding(parts: &[&Tensor]) -> Result<Tensor, LearnError> {
    let rows = parts.first().map(|p| p.size()[0]);
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| p.dim() != 2 || Some(p.size()[0]) != rows)
    {
        return Err(LearnError::Data(
            "joining embeddings needs one or more [N, D] matrices with the same rows".into(),
        ));
    }
    let _guard = tch::no_grad_guard();
    let scaled: Vec<Tensor> = parts
        .iter()
        .map(|p| {
            let p = p.to_kind(Kind::Float);
            let centred = &p - p.mean_dim(0, true, Kind::Float);
            let spread = centred
                .square()
                .sum_dim_intlist(1, false, Kind::Float)
                .mean(Kind::Float)
                .sqrt()
                .clamp_min(1e-12);
            centred / spread
        })
        .collect();
    Ok(Tensor::cat(&scaled, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardised_columns_have_mean_zero_and_unit_spread() {
        let e = Tensor::from_slice(&[1.0f32, 10.0, 3.0, 10.0, 5.0, 10.0]).view([3, 2]);
        let s = Vec::<f32>::try_from(standardised(&e).view([-1])).unwrap();
        // Column 0: 1, 3, 5 → −1, 0, 1 (population sd 1.633: −1.2247, 0, 1.2247).
        assert!((s[0] + 1.2247).abs() < 1e-3 && s[2].abs() < 1e-6 && (s[4] - 1.2247).abs() < 1e-3);
        // Column 1 is constant: 0.
        assert_eq!([s[1], s[3], s[5]], [0.0, 0.0, 0.0]);
    }

    #[test]
    fn pca_finds_the_direction_of_largest_variance() {
        let _generator = crate::torch_rng::seeded(3);
        // Points spread along (1, 1, 0) with small noise elsewhere.
        let t = Tensor::randn([500, 1], (Kind::Float, Device::Cpu)) * 5.0;
        let noise = Tensor::randn([500, 3], (Kind::Float, Device::Cpu)) * 0.1;
        let dir = Tensor::from_slice(&[1.0f32, 1.0, 0.0]).view([1, 3]) / 2f64.sqrt();
        let data = t.mm(&dir) + noise + 7.0;
        let pca = Pca::fit(&data, 1).unwrap();
        let c: Vec<f32> = Vec::try_from(pca.components.view([3])).unwrap();
        let along = (c[0] * c[1]).abs();
        assert!((along - 0.5).abs() < 0.01, "component {c:?}");
        assert!(c[2].abs() < 0.05);
        assert_eq!(pca.transform(&data).size(), vec![500, 1]);
    }

    #[test]
    fn randomized_pca_agrees_with_the_covariance_one() {
        let _generator = crate::torch_rng::seeded(4);
        // Five directions of decreasing spread in 60 dimensions, and a little noise.
        let scales = Tensor::from_slice(&[9.0f32, 6.0, 4.0, 2.5, 1.5]).view([1, 5]);
        let latent = Tensor::randn([400, 5], (Kind::Float, Device::Cpu)) * scales;
        let basis = Tensor::linalg_qr(
            &Tensor::randn([60, 5], (Kind::Float, Device::Cpu)),
            "reduced",
        )
        .0
        .tr();
        let data = latent.mm(&basis) + Tensor::randn([400, 60], (Kind::Float, Device::Cpu)) * 0.05;
        let exact = Pca::fit(&data, 3).unwrap();
        let mean = data.mean_dim(0, false, Kind::Float);
        let fast = Pca::fit_randomized(&data, mean, 400, 60, 3).unwrap();
        // Components agree up to sign: |cos| near 1 column by column.
        let cos = exact
            .components
            .tr()
            .mm(&fast.components)
            .diagonal(0, 0, 1)
            .abs();
        let cos: Vec<f32> = Vec::try_from(cos).unwrap();
        assert!(cos.iter().all(|&c| c > 0.999), "{cos:?}");
        let ratio: Vec<f32> = Vec::try_from(&fast.variances / &exact.variances).unwrap();
        assert!(ratio.iter().all(|r| (r - 1.0).abs() < 1e-3), "{ratio:?}");
    }

    #[test]
    fn photo_sized_pixels_never_form_a_covariance() {
        // 3×224×224 values a row: a D×D covariance would be 181 GB; the randomized PCA
        // keeps to N·D.
        let _generator = crate::torch_rng::seeded(5);
        let d = 3 * 224 * 224;
        let direction = Tensor::randn([1, d], (Kind::Float, Device::Cpu));
        let direction = &direction / direction.norm();
        let spread = Tensor::randn([40, 1], (Kind::Float, Device::Cpu)) * 10.0;
        let data =
            spread.mm(&direction) + Tensor::randn([40, d], (Kind::Float, Device::Cpu)) * 0.01;
        let pca = Pca::fit(&data, 4).unwrap();
        assert_eq!(pca.components.size(), vec![d, 4]);
        let along = pca
            .components
            .narrow(1, 0, 1)
            .tr()
            .mm(&direction.tr())
            .abs();
        assert!(along.double_value(&[0, 0]) > 0.99);
        assert_eq!(pca.f_transform(&data).unwrap().size(), vec![40, 4]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let flat = Tensor::zeros([4, 784], (Kind::Uint8, Device::Cpu));
        assert!(digit_embeddings(&flat, 10).is_err());
        let imgs = Tensor::zeros([4, 1, 28, 28], (Kind::Uint8, Device::Cpu));
        assert!(digit_embeddings(&imgs, 0).is_err());
        assert!(digit_embeddings(&imgs, 785).is_err());
    }

    #[test]
    fn joined_embeddings_weigh_the_same() {
        let a = Tensor::from_slice(&[0.0f32, 10.0, 20.0, 30.0]).view([2, 2]);
        let b = Tensor::from_slice(&[1.0f32, 1.001]).view([2, 1]);
        let j = joint_embedding(&[&a, &b]).unwrap();
        assert_eq!(j.size(), vec![2, 3]);
        let norm = |t: Tensor| t.square().sum(Kind::Float).double_value(&[]) / 2.0;
        assert!((norm(j.narrow(1, 0, 2)) - 1.0).abs() < 1e-4);
        assert!((norm(j.narrow(1, 2, 1)) - 1.0).abs() < 1e-3);
        let short = Tensor::zeros([3, 1], (Kind::Float, Device::Cpu));
        assert!(joint_embedding(&[&a, &short]).is_err());
        assert!(joint_embedding(&[]).is_err());
    }

    #[test]
    fn a_blank_image_stays_blank() {
        let imgs = Tensor::zeros([2, 1, 28, 28], (Kind::Uint8, Device::Cpu));
        let out = deskew(&imgs);
        assert_eq!(out.size(), vec![2, 1, 28, 28]);
        assert_eq!(out.abs().sum(Kind::Float).double_value(&[]), 0.0);
    }
}
