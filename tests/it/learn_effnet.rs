//! EfficientNet-Lite0 and Lite2 with their real ImageNet weights on the 118 ImageNet dog
//! photos in ../shared/datasets: the 1000-class head should name most breeds right.
//! Each size's structure (widths, kernels, repeats) is read from its weights, so this
//! also checks that both load as what they are. A size without its weights: see
//! `support::needs`.

use std::path::{Path, PathBuf};

use glean::dataset::{self, DecodeSpec, ScanOptions};
use glean::learn::backbone::effnet_lite::{Backbone, EffnetLite, FEATURE_DIM};
use glean::learn::trainer::prepare::default_backbone_weights;
use tch::{Device, Kind, Tensor};

use crate::support;

/// Top-1 of 118 measured here (2026-12-01) at each size's own input side, from photos
/// decoded at 224: Lite0 102 (PyTorch on the same weights with the package's own
/// preprocessing, shorter side to 256 and centre 224, names 104), Lite2 106; a photo
/// less passes.
fn floor(backbone: Backbone) -> usize {
    match backbone {
        Backbone::Lite0 => 101,
        Backbone::Lite2 => 105,
    }
}

#[test]
fn imagenet_head_names_the_dog_breeds() {
    let dogs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/imagenet-dogs");
    if !support::needs("../shared/datasets/imagenet-dogs", dogs.is_dir()) {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let opts = ScanOptions {
        label_pattern: Some(r"^n\d+_(.+)\.JPEG$".into()),
        ..Default::default()
    };
    let spec = DecodeSpec {
        channels: 3,
        size: 224,
    };
    let loaded = dataset::load(&dogs, &opts, Some(spec), cache.path()).unwrap();
    assert_eq!(loaded.pool.items.len(), 118);
    let n = loaded.pool.items.len() as i64;
    let images = Tensor::from_slice(&loaded.pool_pixels.data).view([n, 3, 224, 224]);
    // ImageNet's dog classes are 151..=268, in the order of their sorted synset ids.
    let synset = |id: &str| id.split('_').next().unwrap().to_string();
    let mut synsets: Vec<String> = loaded.pool.items.iter().map(|i| synset(&i.id)).collect();
    synsets.sort();

    for backbone in [Backbone::Lite0, Backbone::Lite2] {
        let weights: PathBuf = default_backbone_weights(backbone);
        let what = format!("{} (run {})", weights.display(), backbone.setup());
        if !support::needs(&what, weights.exists()) {
            continue;
        }
        let net = EffnetLite::load(backbone, &weights, Device::Cpu).unwrap();
        let features = net.features(&images).unwrap();
        assert_eq!(features.size(), [n, FEATURE_DIM]);
        let predicted = Vec::<i64>::try_from(
            net.imagenet_logits(&features)
                .unwrap()
                .argmax(1, false)
                .to_kind(Kind::Int64),
        )
        .unwrap();
        let correct = loaded
            .pool
            .items
            .iter()
            .zip(&predicted)
            .filter(|(item, &p)| {
                p == 151 + synsets.binary_search(&synset(&item.id)).unwrap() as i64
            })
            .count();
        eprintln!(
            "{} top-1 on the 118 dog photos: {correct}/118",
            backbone.name()
        );
        assert!(
            correct >= floor(backbone),
            "{}: top-1 {correct}/118, measured {}",
            backbone.name(),
            floor(backbone) + 1
        );
    }
}
