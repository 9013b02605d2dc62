//! A person's own photo folder, end to end in tmux: colour JPEGs of 500×375 and of
//! 4000×3000 (phone size), made on the fly, labeled by the auto-oracle in `glean
//! label` with no backbone installed and, where `make effnet` ran, with one. Each run
//! must finish a trained round (model v1 or later) with no error on the status line
//! and no panic in the log, and say on the screen when photos are learned from pixels.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support;
use support::{glean_command, model_version, Tmux};

/// Photos a class; two classes.
const PER_CLASS: u32 = 12;

/// `PER_CLASS` JPEGs of `width`×`height` in each of two class folders: warm discs on
/// a noisy background, and cool stripes. Made on two threads: a 12-MP JPEG takes a
/// while to encode.
fn photo_folder(root: &Path, width: u32, height: u32) {
    let classes = ["discs", "stripes"];
    for class in classes {
        std::fs::create_dir_all(root.join(class)).unwrap();
    }
    std::thread::scope(|scope| {
        for half in 0..2u32 {
            scope.spawn(move || {
                for n in (0..PER_CLASS * 2).filter(|n| n % 2 == half) {
                    let (class, i) = (n % 2, n / 2);
                    let image = photo(class, i, width, height);
                    let mut bytes = Vec::new();
                    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(
                        Cursor::new(&mut bytes),
                        85,
                    );
                    image.write_with_encoder(encoder).unwrap();
                    let path = root
                        .join(classes[class as usize])
                        .join(format!("{i:03}.jpg"));
                    std::fs::write(path, bytes).unwrap();
                }
            });
        }
    });
}

fn photo(class: u32, i: u32, width: u32, height: u32) -> image::DynamicImage {
    let (w, h) = (width as f32, height as f32);
    let shift = i as f32 / PER_CLASS as f32;
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / w, y as f32 / h);
        let noise = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ i) % 40) as u8;
        if class == 0 {
            let (dx, dy) = (fx - 0.3 - 0.4 * shift, fy - 0.5);
            if dx * dx + dy * dy < 0.06 {
                image::Rgb([230 - noise, 120 + noise, 40])
            } else {
                image::Rgb([90 + noise, 70, 60 + noise])
            }
        } else if (((fy + 0.1 * shift) * 12.0) as u32).is_multiple_of(2) {
            image::Rgb([40, 90 + noise, 220 - noise])
        } else {
            image::Rgb([200 - noise, 220, 230])
        }
    }))
}

/// Labels the folder with the auto-oracle until a round has trained; returns the
/// screen then, and the log.
fn label_until_a_round(
    tmux: &Tmux,
    dirs: &Path,
    window: &str,
    env: &str,
    folder: &Path,
) -> (String, String) {
    let args = format!(
        "label {} --session {window} --batch 10 --device cpu --oracle",
        folder.display()
    );
    tmux.start(window, &format!("{env}{}", glean_command(dirs, &args)));
    let screen = tmux.wait(window, Duration::from_secs(300), "a trained round", |s| {
        // A trained model needs a batch of labels: v1 is the round on the first ten.
        model_version(s) >= 1 || s.contains("error:")
    });
    tmux.keys(window, "q");
    let end = tmux.wait(window, Duration::from_secs(30), "glean to exit", |s| {
        s.contains("GLEAN-EXIT=")
    });
    assert!(
        !screen.contains("error:"),
        "{window}: an error on the screen:\n{screen}"
    );
    assert!(end.contains("GLEAN-EXIT=0"), "{window}:\n{end}");
    let log = std::fs::read_to_string(dirs.join("data/logs/glean.log")).unwrap_or_default();
    assert!(
        !log.contains("panicked"),
        "{window}: a panic in the log:\n{log}"
    );
    (screen, log)
}

#[test]
fn photo_folders_learn_with_and_without_a_backbone() {
    if !support::needs("tmux", support::available()) {
        return;
    }
    let lite2 = glean::learn::trainer::prepare::default_backbone_weights(
        glean::learn::backbone::effnet_lite::Backbone::Lite2,
    );
    let with_backbone = support::needs("the Lite2 weights (make effnet)", lite2.is_file());
    let tmux = Tmux {
        socket: format!("glean-photo-folders-{}", std::process::id()),
    };
    for (name, width, height) in [("small", 500, 375), ("phone", 4000, 3000)] {
        let data = tempfile::tempdir().unwrap();
        let folder: PathBuf = data.path().join(name);
        photo_folder(&folder, width, height);

        // No backbone: an empty model folder. The screen says so before the first photo.
        let dirs = tempfile::tempdir().unwrap();
        let empty = dirs.path().join("no-models");
        std::fs::create_dir_all(&empty).unwrap();
        let env = format!("GLEAN_MODELS_DIR={} ", empty.display());
        let window = format!("{name}-pixels");
        tmux.start(
            &window,
            &format!(
                "{env}{}",
                glean_command(
                    dirs.path(),
                    &format!("label {} --session first", folder.display())
                )
            ),
        );
        let first = tmux.wait(&window, Duration::from_secs(30), "the first photo", |s| {
            s.contains("No backbone installed")
        });
        assert!(first.contains("effnet"), "{first}");
        tmux.keys(&window, "q");
        tmux.wait(&window, Duration::from_secs(30), "glean to exit", |s| {
            s.contains("GLEAN-EXIT=0")
        });
        let (_, log) =
            label_until_a_round(&tmux, dirs.path(), &format!("{name}-cnn"), &env, &folder);
        assert!(log.contains("training the CNN on pixels"), "{log}");

        if with_backbone {
            let dirs = tempfile::tempdir().unwrap();
            let (_, log) =
                label_until_a_round(&tmux, dirs.path(), &format!("{name}-lite2"), "", &folder);
            assert!(!log.contains("No backbone installed"), "{log}");
        }
    }
}
