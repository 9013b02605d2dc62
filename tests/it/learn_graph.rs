//! The graph learner on data whose answer is known: Gaussian blobs (propagation from one
//! label per blob classifies all; k-means finds the centres), a sheared bar (deskew
//! straightens it), a Laplacian system (CG against a dense solve), and the 1,000 + 300
//! real digits of `assets/mnist` (20 k-means-chosen labels, Poisson learning; warm-started
//! rounds against a cold solve).

use std::path::Path;

use glean::dataset::{self, ScanOptions};
use glean::learn::graph::{
    accuracy, conjugate_gradient, deskew, digit_embeddings, kmeans, kmeans_cold_start, CgOptions,
    KnnGraph, PoolGraph, Propagation,
};
use tch::{Device, Kind, Tensor};

use crate::support;

const CPU: (Kind, Device) = (Kind::Float, Device::Cpu);

/// `per` points around each of `centres` (rows), spread `sd`; labels are the blob index.
fn blobs(centres: &[[f32; 2]], per: i64, sd: f64, seed: i64) -> (Tensor, Vec<u16>) {
    let _generator = glean::learn::torch_rng::seeded(seed as u64);
    let parts: Vec<Tensor> = centres
        .iter()
        .map(|c| Tensor::randn([per, 2], CPU) * sd + Tensor::from_slice(c).view([1, 2]))
        .collect();
    let labels = (0..centres.len()).flat_map(|b| std::iter::repeat_n(b as u16, per as usize));
    (Tensor::cat(&parts, 0), labels.collect())
}

const CENTRES: [[f32; 2]; 3] = [[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]];
/// Blobs close enough that their graph is one connected piece.
const NEAR: [[f32; 2]; 3] = [[0.0, 0.0], [5.0, 0.0], [2.5, 4.5]];

#[test]
fn one_label_per_blob_classifies_every_point() {
    let (points, truth) = blobs(&NEAR, 150, 1.0, 1);
    let (test, test_truth) = blobs(&NEAR, 30, 1.0, 2);
    let mut pg = PoolGraph::build(&points, Some(&test), 10).unwrap();
    assert_eq!(pg.graph.components, 1);
    let labeled = [(0usize, 0u16), (150, 1), (300, 2)];
    for method in [Propagation::Poisson, Propagation::Laplace] {
        let round = pg
            .propagate(method, &labeled, 3, CgOptions::default())
            .unwrap();
        let (on_pool, on_test) = (
            accuracy(&round.pool, &truth),
            accuracy(round.test.as_ref().unwrap(), &test_truth),
        );
        // The blobs touch: a few points in the overlap may go either way.
        assert!(
            on_pool > 0.95 && on_test > 0.93,
            "{method:?}: pool {on_pool}, test {on_test}"
        );
        assert!(round.iterations > 0);
        // The next round starts from this one's answer and needs fewer iterations.
        let again = pg
            .propagate(method, &labeled, 3, CgOptions::default())
            .unwrap();
        assert!(
            again.iterations < round.iterations,
            "{method:?}: warm start did not help"
        );
    }
}

#[test]
fn separate_blobs_each_take_their_label() {
    // Far apart: every blob is its own component of the graph.
    let (points, truth) = blobs(&CENTRES, 100, 1.0, 1);
    let (test, test_truth) = blobs(&CENTRES, 20, 1.0, 2);
    let mut pg = PoolGraph::build(&points, Some(&test), 8).unwrap();
    assert_eq!(pg.graph.components, 3);
    let labeled = [(0usize, 0u16), (100, 1), (200, 2)];
    for method in [Propagation::Poisson, Propagation::Laplace] {
        let round = pg
            .propagate(method, &labeled, 3, CgOptions::default())
            .unwrap();
        assert_eq!(accuracy(&round.pool, &truth), 1.0, "{method:?} on the pool");
        assert_eq!(
            accuracy(round.test.as_ref().unwrap(), &test_truth),
            1.0,
            "{method:?} on test"
        );
    }
}

#[test]
fn poisson_balances_classes_with_unequal_label_counts() {
    // Blob 0 gets 15 labels, the others one each: without the 1/count weights, blob 0's
    // source would swamp the rest.
    let (points, truth) = blobs(&NEAR, 100, 1.0, 3);
    let mut labeled: Vec<(usize, u16)> = (0..15).map(|i| (i, 0)).collect();
    labeled.extend([(100, 1), (200, 2)]);
    let graph = KnnGraph::build(&points, 10).unwrap();
    assert_eq!(graph.components, 1);
    let solution =
        glean::learn::graph::poisson(&graph, &labeled, 3, None, CgOptions::default()).unwrap();
    let acc = accuracy(&solution.scores, &truth);
    assert!(acc > 0.95, "accuracy {acc}");
}

#[test]
fn kmeans_finds_the_blob_centres() {
    let (points, _) = blobs(&CENTRES, 200, 1.0, 4);
    let km = kmeans(&points, 3, 100, 7).unwrap();
    let found: Vec<f32> = Vec::try_from(km.centres.view([-1])).unwrap();
    for c in CENTRES {
        let best = found
            .chunks(2)
            .map(|f| ((f[0] - c[0]).powi(2) + (f[1] - c[1]).powi(2)).sqrt())
            .fold(f32::INFINITY, f32::min);
        assert!(best < 0.3, "no centre found near {c:?}: {found:?}");
    }
    // The cold start takes one item from each blob.
    let mut blobs_hit: Vec<usize> = kmeans_cold_start(&points, 3, 7)
        .unwrap()
        .iter()
        .map(|i| i / 200)
        .collect();
    blobs_hit.sort_unstable();
    assert_eq!(blobs_hit, vec![0, 1, 2]);
}

#[test]
fn deskew_straightens_a_sheared_bar() {
    // A bar 3 pixels wide running from (row 4, col 8) down to (row 23, col 18): slanted.
    let mut img = vec![0u8; 28 * 28];
    for r in 4..24 {
        let centre = 8.0 + (r - 4) as f32 * 0.5;
        for c in 0..28 {
            if (c as f32 - centre).abs() <= 1.0 {
                img[r * 28 + c] = 255;
            }
        }
    }
    let batch = Tensor::from_slice(&img).view([1, 1, 28, 28]);
    let slant = |t: &Tensor| {
        // Covariance of row and column under the image's mass, over the row variance.
        let p = t.to_kind(Kind::Float).view([28, 28]);
        let rows = Tensor::arange(28, CPU).view([28, 1]);
        let cols = Tensor::arange(28, CPU).view([1, 28]);
        let total = p.sum(Kind::Float);
        let mr = (&p * &rows).sum(Kind::Float) / &total;
        let mc = (&p * &cols).sum(Kind::Float) / &total;
        let var = (&p * (&rows - &mr).square()).sum(Kind::Float) / &total;
        let cov = (&p * (&rows - &mr) * (&cols - &mc)).sum(Kind::Float) / &total;
        (cov / var).double_value(&[])
    };
    let before = slant(&batch);
    let straight = deskew(&batch);
    let after = slant(&straight);
    assert!(before > 0.4, "the test bar should lean: {before}");
    assert!(after.abs() < 0.05, "still leaning after deskew: {after}");
    // The ink is kept (bilinear resampling moves it, does not lose it).
    let ink = |t: &Tensor, scale: f64| {
        t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]) / scale
    };
    let ratio = ink(&straight, 1.0) / ink(&batch, 255.0);
    assert!((ratio - 1.0).abs() < 0.05, "ink ratio {ratio}");
}

#[test]
fn conjugate_gradient_solves_a_graph_laplacian_system() {
    let (points, _) = blobs(&CENTRES[..1], 60, 1.0, 5);
    let graph = KnnGraph::build(&points, 5).unwrap();
    // A regularised Laplacian L + I is positive definite: a unique answer.
    let dense_w = glean::learn::graph::sparse::to_sparse_tensor(&graph.weights, Device::Cpu)
        .to_dense(None, false);
    let a = Tensor::diag_embed(&(&graph.degree + 1.0), 0, -2, -1) - &dense_w;
    let b = {
        let _generator = glean::learn::torch_rng::seeded(12);
        Tensor::randn([60, 4], CPU)
    };
    let apply = |x: &Tensor| graph.laplacian_matmul(x) + x;
    let inv_diag = (&graph.degree + 1.0).reciprocal();
    let opts = CgOptions {
        tol: 1e-7,
        max_iter: 500,
    };
    let (x, _, residual) =
        conjugate_gradient(apply, &b, &inv_diag, Tensor::zeros([60, 4], CPU), opts);
    let exact = Tensor::linalg_solve(&a.to_kind(Kind::Double), &b.to_kind(Kind::Double), true);
    let err = (x.to_kind(Kind::Double) - exact)
        .abs()
        .max()
        .double_value(&[]);
    assert!(residual <= 1e-7, "residual {residual}");
    assert!(err < 1e-4, "max error against the dense solve {err}");
}

/// The digit embeddings of `assets/mnist`: (pool, test, pool labels, test labels).
fn digits() -> Option<(Tensor, Tensor, Vec<u16>, Vec<u16>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
    if !support::needs("assets/mnist", root.exists()) {
        return None;
    }
    let cache = tempfile::tempdir().unwrap();
    let loaded = dataset::load(&root, &ScanOptions::default(), None, cache.path()).unwrap();
    let (n, m) = (
        loaded.pool_pixels.len() as i64,
        loaded.test_pixels.len() as i64,
    );
    let side = loaded.spec().size as i64;
    let pixels = Tensor::cat(
        &[
            Tensor::from_slice(&loaded.pool_pixels.data),
            Tensor::from_slice(&loaded.test_pixels.data),
        ],
        0,
    )
    .view([n + m, 1, side, side]);
    let truth: Vec<u16> = loaded.pool.items.iter().map(|i| i.label.unwrap()).collect();
    let test_truth: Vec<u16> = loaded.pool.test.iter().map(|i| i.label.unwrap()).collect();

    let emb = digit_embeddings(&pixels, 50).unwrap();
    let (pool, test) = (emb.narrow(0, 0, n), emb.narrow(0, n, m));
    Some((pool, test, truth, test_truth))
}

#[test]
fn twenty_kmeans_labels_on_real_digits() {
    let Some((pool, test, truth, test_truth)) = digits() else {
        return;
    };
    let picks = kmeans_cold_start(&pool, 20, 1).unwrap();
    let labeled: Vec<(usize, u16)> = picks.iter().map(|&i| (i, truth[i])).collect();
    let mut pg = PoolGraph::build(&pool, Some(&test), 10).unwrap();
    let poisson = pg
        .propagate(Propagation::Poisson, &labeled, 10, CgOptions::default())
        .unwrap();
    let laplace = pg
        .propagate(Propagation::Laplace, &labeled, 10, CgOptions::default())
        .unwrap();
    let (p_acc, l_acc) = (
        accuracy(poisson.test.as_ref().unwrap(), &test_truth),
        accuracy(laplace.test.as_ref().unwrap(), &test_truth),
    );
    println!("1,000-digit pool, 20 k-means labels: Poisson {p_acc:.3}, Laplace {l_acc:.3} on 300 test digits");
    // Chance is 0.10.
    assert!(p_acc > POISSON_BAR, "Poisson test accuracy {p_acc}");
}

/// Measured 0.887 (Laplace 0.893) with seed 1; the bar sits well below, far above
/// chance (0.10).
const POISSON_BAR: f64 = 0.75;

/// Warm starts must not drift: labels added ten at a time where the graph is least
/// sure (as margin picks them), each round warm-started from the last, end where a
/// solve from scratch to a tight tolerance does, within 1e-4 of its norm.
#[test]
fn warm_started_rounds_of_boundary_labels_agree_with_a_cold_solve() {
    let Some((pool, _, truth, _)) = digits() else {
        return;
    };
    let opts = CgOptions::default();
    let mut pg = PoolGraph::build(&pool, None, 10).unwrap();
    let mut labeled: Vec<(usize, u16)> = kmeans_cold_start(&pool, 20, 1)
        .unwrap()
        .into_iter()
        .map(|i| (i, truth[i]))
        .collect();
    for _ in 0..30 {
        let scores = pg
            .propagate(Propagation::Poisson, &labeled, 10, opts)
            .unwrap()
            .pool;
        let top2 = scores.topk(2, 1, true, true).0;
        let margin = Vec::<f32>::try_from(top2.select(1, 0) - top2.select(1, 1)).unwrap();
        let mut order: Vec<usize> = (0..margin.len())
            .filter(|i| !labeled.iter().any(|l| l.0 == *i))
            .collect();
        order.sort_by(|&a, &b| margin[a].total_cmp(&margin[b]));
        labeled.extend(order[..10].iter().map(|&i| (i, truth[i])));
    }
    let warm = pg
        .propagate(Propagation::Poisson, &labeled, 10, opts)
        .unwrap()
        .pool;
    let exact = CgOptions {
        tol: 1e-6,
        max_iter: 2000,
    };
    let cold = PoolGraph::build(&pool, None, 10)
        .unwrap()
        .propagate(Propagation::Poisson, &labeled, 10, exact)
        .unwrap()
        .pool;
    let same = warm
        .argmax(1, false)
        .eq_tensor(&cold.argmax(1, false))
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    let error = (&warm - &cold).norm().double_value(&[]) / cold.norm().double_value(&[]);
    // Measured: agreement 1.0 and error 3.7e-5; at the former tolerance, 1e-3, the
    // error was 4.2e-4 (and on the full MNIST the graph lost a point in 30 rounds).
    assert!(
        same >= 0.995 && error < 1e-4,
        "agreement {same}, error {error}"
    );
}
