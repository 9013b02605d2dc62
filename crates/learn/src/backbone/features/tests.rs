use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::backbone::effnet_lite::Backbone;
use crate::graph::{KnnGraph, Neighbours};
use glean_dataset::{self as dataset, DecodeSpec, ScanOptions};

fn in_crate(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn close(a: &Tensor, b: &Tensor, tol: f64) -> bool {
    a.size() == b.size() && a.allclose(b, tol, tol, false)
}

fn random_features(pool: i64, test: i64, name: Option<&str>) -> PoolFeatures {
    let _generator = crate::torch_rng::seeded(7);
    let opts = (Kind::Float, Device::Cpu);
    PoolFeatures {
        pool: Tensor::randn([pool, 96], opts),
        test: Tensor::randn([test, 96], opts),
        cache_name: name.map(String::from),
    }
}

/// What a graph cache stores of `pg`: its weights, k, and the test items' neighbours.
type GraphParts = (glean_rank::Csr, usize, Option<(Vec<i64>, Vec<f32>)>);

fn graph_parts(pg: &PoolGraph) -> GraphParts {
    let test = pg.test.as_ref().map(|nb| {
        (
            Vec::<i64>::try_from(nb.index.view([-1])).unwrap(),
            Vec::<f32>::try_from(nb.weight.view([-1])).unwrap(),
        )
    });
    (pg.graph.weights.clone(), pg.graph.k, test)
}

#[test]
fn embeddings_cache_is_read_and_bad_files_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let feats = random_features(40, 7, Some("pool-abc"));
    let first = feature_graph_embeddings(&feats, Some(dir.path())).unwrap();
    assert_eq!(
        (first.pool.size(), first.test.size()),
        (vec![40, 64], vec![7, 64])
    );
    assert_eq!(first.cache_name.as_deref(), Some("pool-abc-pca64"));
    let file = dir.path().join("features/pool-abc-pca64.safetensors");
    assert!(file.exists());

    // A valid file with other values is served as is: the second call reads it.
    let zeros = |d: i64| {
        (
            Tensor::zeros([40, d], (Kind::Float, Device::Cpu)),
            Tensor::zeros([7, d], (Kind::Float, Device::Cpu)),
        )
    };
    let (zp, zt) = zeros(64);
    cache::write_matrices(&file, &zp, &zt);
    let served = feature_graph_embeddings(&feats, Some(dir.path())).unwrap();
    assert!(close(&served.pool, &zp, 0.0) && close(&served.test, &zt, 0.0));

    // Garbage, then the wrong shape: recomputed, equal to the first result, and replaced.
    let (wp, wt) = zeros(3);
    for corrupt in [Some(b"not a safetensors file".to_vec()), None] {
        match corrupt {
            Some(bytes) => std::fs::write(&file, bytes).unwrap(),
            None => cache::write_matrices(&file, &wp, &wt),
        }
        let again = feature_graph_embeddings(&feats, Some(dir.path())).unwrap();
        assert!(close(&again.pool, &first.pool, 1e-4) && close(&again.test, &first.test, 1e-4));
        let (p, t) = cache::read_matrices(&file, (40, 7), 64, Device::Cpu).expect("file replaced");
        assert!(close(&p, &first.pool, 1e-4) && close(&t, &first.test, 1e-4));
    }

    // No name, no cache: nothing is written.
    let other = tempfile::tempdir().unwrap();
    feature_graph_embeddings(&random_features(40, 7, None), Some(other.path())).unwrap();
    assert!(!other.path().join("features").exists());
}

#[test]
fn feature_embeddings_ignore_the_scale_of_each_dimension() {
    // Standardisation: scaling and shifting one feature column leaves the geometry (the
    // Gram matrix, which does not depend on the signs PCA picks) unchanged.
    let feats = random_features(60, 5, None);
    let mut scale = vec![1.0f32; 96];
    scale[0] = 1000.0;
    let stretched = PoolFeatures {
        pool: &feats.pool * Tensor::from_slice(&scale) + 3.0,
        test: &feats.test * Tensor::from_slice(&scale) + 3.0,
        cache_name: None,
    };
    let gram = |f: &PoolFeatures| {
        let e = feature_graph_embeddings(f, None).unwrap().all();
        e.mm(&e.tr())
    };
    assert!(close(&gram(&feats), &gram(&stretched), 1e-3));
    // With no more dimensions than the PCA keeps, the PCA only rotates: distances are
    // those of the standardised, unit-length rows.
    let opts = (Kind::Float, Device::Cpu);
    let _generator = crate::torch_rng::seeded(8);
    let small = PoolFeatures {
        pool: Tensor::randn([50, 48], opts) * 4.0 + 2.0,
        test: Tensor::randn([5, 48], opts),
        cache_name: None,
    };
    let emb = feature_graph_embeddings(&small, None).unwrap();
    assert_eq!(emb.dim(), 48);
    let all = small.all();
    let z = (&all - all.mean_dim(0, true, Kind::Float)) / all.std_dim(0, false, true);
    let z = &z / z.norm_scalaropt_dim(2.0, [1i64], true);
    let dist = |x: &Tensor| Tensor::cdist(x, x, 2.0, None::<i64>);
    assert!(close(&dist(&emb.all()), &dist(&z), 1e-3));
}

#[test]
fn no_test_split_round_trips_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let feats = random_features(30, 0, Some("no-test"));
    let emb = feature_graph_embeddings(&feats, Some(dir.path())).unwrap();
    assert_eq!(emb.test.size(), vec![0, 64]);
    let again = feature_graph_embeddings(&feats, Some(dir.path())).unwrap();
    assert!(close(&again.pool, &emb.pool, 0.0) && again.test_len() == 0);
    let built = pool_graph(&emb, 5, Some(dir.path())).unwrap();
    assert!(built.test.is_none());
    let loaded = pool_graph(&emb, 5, Some(dir.path())).unwrap();
    assert_eq!(graph_parts(&loaded), graph_parts(&built));
}

#[test]
fn digit_embeddings_and_their_graph_are_cached() {
    let root = in_crate("assets/mnist");
    let dir = tempfile::tempdir().unwrap();
    let loaded = dataset::load(&root, &ScanOptions::default(), None, dir.path()).unwrap();
    let data = LearnData::from_loaded(&loaded).unwrap();
    let (n, m) = (data.pool_len() as i64, data.test_len() as i64);
    let emb = digit_graph_embeddings(&data, Device::Cpu, Some(dir.path())).unwrap();
    assert_eq!(
        (emb.pool.size(), emb.test.size()),
        (vec![n, 50], vec![m, 50])
    );
    assert!(emb.cache_name.as_deref().unwrap().ends_with(&format!(
        "-1x28-d{}-digits-pca50",
        glean_dataset::DECODE_VERSION
    )));
    let again = digit_graph_embeddings(&data, Device::Cpu, Some(dir.path())).unwrap();
    assert!(close(&again.all(), &emb.all(), 0.0));

    let built = pool_graph(&emb, 10, Some(dir.path())).unwrap();
    let loaded_graph = pool_graph(&emb, 10, Some(dir.path())).unwrap();
    assert_eq!(graph_parts(&loaded_graph), graph_parts(&built));

    // The embeddings are good enough to classify digits from their pool neighbours.
    let labels: Vec<i64> = loaded
        .pool
        .items
        .iter()
        .map(|i| i.label.unwrap() as i64)
        .collect();
    let one_hot = Tensor::from_slice(&labels).one_hot(10).to_kind(Kind::Float);
    let votes = built.test.as_ref().unwrap().classify(&one_hot);
    let acc = crate::graph::accuracy(&votes, &data.test_labels);
    assert!(
        acc > 0.8,
        "10-NN test accuracy on the digit embeddings: {acc}"
    );

    // A valid graph file of other content is served; bad ones are rebuilt and replaced.
    let file = cache::file(
        dir.path(),
        &format!("{}-knn10", emb.cache_name.as_ref().unwrap()),
        "safetensors",
    );
    assert!(file.exists());
    let shuffled = emb.pool.flip([0]);
    let other = PoolGraph::from_parts(
        KnnGraph::build(&shuffled, 10).unwrap(),
        Some(Neighbours::find(&shuffled, &emb.test, 10).unwrap()),
    );
    cache::write_graph(&file, &other);
    let served = pool_graph(&emb, 10, Some(dir.path())).unwrap();
    assert_eq!(graph_parts(&served), graph_parts(&other));
    assert_ne!(graph_parts(&served), graph_parts(&built));
    let wrong_k = PoolGraph::build(&emb.pool, Some(&emb.test), 5).unwrap();
    for bad in [None, Some(b"not a safetensors file".to_vec())] {
        match bad {
            None => cache::write_graph(&file, &wrong_k),
            Some(bytes) => std::fs::write(&file, bytes).unwrap(),
        }
        let rebuilt = pool_graph(&emb, 10, Some(dir.path())).unwrap();
        assert_eq!(graph_parts(&rebuilt), graph_parts(&built));
        let stored = cache::read_graph(&file, (n, m), 10, Device::Cpu).expect("replaced");
        assert_eq!(graph_parts(&stored), graph_parts(&built));
    }
}

fn rgb_data(channels: usize, cache_key: Option<&str>) -> LearnData {
    let item = channels * 8 * 8;
    let mut data = LearnData::new(
        channels,
        8,
        2,
        Arc::new(vec![9; 3 * item]),
        Arc::new(vec![]),
        vec![],
    )
    .unwrap();
    data.cache_key = cache_key.map(String::from);
    data
}

#[test]
fn backbone_input_errors_are_clear() {
    let none = &mut |_: usize, _: usize| {};
    let gray = backbone_features(
        &rgb_data(1, None),
        Backbone::Lite0,
        Path::new("x"),
        Device::Cpu,
        None,
        none,
        &|| false,
    );
    let msg = gray.err().expect("grayscale rejected").to_string();
    assert!(msg.contains("3-channel"), "{msg}");
    let missing = Path::new("/nonexistent/efficientnet-lite0.safetensors");
    let msg = backbone_features(
        &rgb_data(3, Some("k")),
        Backbone::Lite0,
        missing,
        Device::Cpu,
        None,
        none,
        &|| false,
    )
    .err()
    .expect("missing weights")
    .to_string();
    assert!(
        msg.contains("setup-effnet.sh") && msg.contains("make effnet"),
        "{msg}"
    );
    let msg = digit_graph_embeddings(&rgb_data(3, None), Device::Cpu, None)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("grayscale"), "{msg}");
}

#[test]
fn backbone_features_of_dog_photos() {
    let weights = glean_core::paths::cache_dir().join("models/efficientnet-lite0.safetensors");
    let dogs = in_crate("../shared/datasets/imagenet-dogs");
    if !weights.exists() || !dogs.is_dir() {
        eprintln!("SKIP: needs scripts/setup-effnet.sh and ../shared/datasets/imagenet-dogs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Unlabeled (the breeds do not matter here); photos get the backbone's 224 × 224.
    let unlabeled = ScanOptions {
        classes: Some(vec!["dog".into(), "not a dog".into()]),
        ..Default::default()
    };
    let loaded = dataset::load(&dogs, &unlabeled, None, dir.path()).unwrap();
    let spec = loaded.pool_pixels.spec;
    assert_eq!(
        spec,
        DecodeSpec {
            channels: 3,
            size: 224
        }
    );
    // Six photos as the pool and two as the test split.
    let item = spec.item_len();
    let px = &loaded.pool_pixels.data;
    let mut data = LearnData::new(
        3,
        224,
        2,
        Arc::new(px[..6 * item].to_vec()),
        Arc::new(px[6 * item..8 * item].to_vec()),
        vec![0, 0],
    )
    .unwrap();
    data.cache_key = Some("dogs".into());

    // Lite0 on the CPU with the cache in `dir`.
    let lite0 = |data: &LearnData,
                 weights: &Path,
                 progress: &mut dyn FnMut(usize, usize),
                 cancelled: &dyn Fn() -> bool| {
        backbone_features(
            data,
            Backbone::Lite0,
            weights,
            Device::Cpu,
            Some(dir.path()),
            progress,
            cancelled,
        )
    };
    let seen = RefCell::new(Vec::new());
    let mut progress = |done, total| seen.borrow_mut().push((done, total));
    let feats = lite0(&data, &weights, &mut progress, &|| false).unwrap();
    assert_eq!(
        (feats.pool.size(), feats.test.size()),
        (vec![6, 1280], vec![2, 1280])
    );
    // Pool then test rows, 4 at a time on a CPU.
    assert_eq!(*seen.borrow(), vec![(4, 8), (8, 8)]);
    let net = EffnetLite::load(Backbone::Lite0, &weights, Device::Cpu).unwrap();
    let direct = net
        .features(&Tensor::from_slice(&px[..8 * item]).view([8, 3, 224, 224]))
        .unwrap();
    assert!(close(&feats.all(), &direct, 1e-4));

    // From the cache: no weights needed, same values.
    let missing = Path::new("/nonexistent/weights.safetensors");
    let cached = lite0(&data, missing, &mut |_, _| {}, &|| false).unwrap();
    assert!(close(&cached.all(), &feats.all(), 0.0));

    // Cancelled after the first batch: the cache keeps that batch, and the next pass
    // reads it back (reported first, in one step) and computes only the rest.
    let mut resumable = data.clone();
    resumable.cache_key = Some("dogs-cut-short".into());
    seen.borrow_mut().clear();
    let after_first_batch = || !seen.borrow().is_empty();
    let mut progress = |done, total| seen.borrow_mut().push((done, total));
    let outcome = lite0(&resumable, &weights, &mut progress, &after_first_batch);
    assert!(matches!(outcome, Err(LearnError::Cancelled)));
    assert_eq!(*seen.borrow(), vec![(4, 8)]);
    let partial = dir.path().join(format!(
        "features/{}.partial",
        backbone_cache_name("dogs-cut-short", Backbone::Lite0, net.precision())
    ));
    assert!(partial.exists());
    seen.borrow_mut().clear();
    let mut progress = |done, total| seen.borrow_mut().push((done, total));
    let resumed = lite0(&resumable, &weights, &mut progress, &|| false).unwrap();
    assert_eq!(*seen.borrow(), vec![(4, 8), (8, 8)]);
    assert!(close(&resumed.all(), &feats.all(), 1e-4));
    assert!(!partial.exists());
    let outcome = backbone_features(
        &data,
        Backbone::Lite0,
        &weights,
        Device::Cpu,
        None,
        &mut |_, _| {},
        &|| true,
    );
    assert!(matches!(outcome, Err(LearnError::Cancelled)));
}

#[test]
fn a_graph_cache_with_a_damaged_k_is_rebuilt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("graph.safetensors");
    let empty = |kind| Tensor::zeros([0], (kind, Device::Cpu));
    let tensors = [
        ("row_ptr", Tensor::from_slice(&[0i32, 0])),
        ("col", empty(Kind::Int)),
        ("val", empty(Kind::Float)),
        ("k", empty(Kind::Int64)),
    ];
    Tensor::write_safetensors(&tensors, &file).unwrap();
    assert!(cache::read_graph(&file, (1, 0), 10, Device::Cpu).is_none());
}
