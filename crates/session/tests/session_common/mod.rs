//! Helpers shared by the `session_*` integration tests.
#![allow(dead_code)]

use std::path::Path;

use glean_core::{ClassPrior, DeviceChoice, EmbeddingKind, LearnerKind, ModelKind, Strategy};
use glean_dataset::{Class, Layout};
use glean_session::{DataSpec, SessionConfig};

/// A configuration with three classes over a class-folder data set.
pub fn config(root: &Path) -> SessionConfig {
    SessionConfig {
        data: DataSpec {
            root: root.to_path_buf(),
            layout: Layout::ClassFolders,
            test: None,
            label_pattern: None,
            classes_arg: None,
            holdout: None,
        },
        classes: ["cat", "dog", "fox, red"]
            .iter()
            .enumerate()
            .map(|(i, n)| Class {
                name: n.to_string(),
                key: char::from_digit(i as u32 + 1, 10),
            })
            .collect(),
        pool_size: 10,
        strategy: Strategy::Margin,
        batch: 4,
        model: ModelKind::Cnn,
        device: DeviceChoice::Cpu,
        seed: 7,
        learner: LearnerKind::Hybrid,
        embedding: EmbeddingKind::Auto,
        class_prior: ClassPrior::Auto,
        query: Default::default(),
        audit_every: 0,
    }
}

/// Copies a session's snapshot and journal into `to`, as a crash would leave them.
pub fn copy_session(from: &Path, to: &Path, name: &str) {
    std::fs::create_dir_all(to).unwrap();
    for ext in ["ron", "journal"] {
        let file = format!("{name}.{ext}");
        std::fs::copy(from.join(&file), to.join(&file)).unwrap();
    }
}
