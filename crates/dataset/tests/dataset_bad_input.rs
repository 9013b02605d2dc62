//! Hostile and broken input: every bad file is skipped and counted with its reason, the
//! scan never stops, nothing panics, and a folder with nothing usable is a clear error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to set up or to read a result is the test's failure"
)]

use std::fs;
use std::io::Cursor;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use glean_dataset::{self as dataset, DatasetError, DecodeSpec, ScanOptions, SkipReason};

use glean_test_support::png;

fn jpeg_bytes(side: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(side, side, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .unwrap();
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose IHDR claims `side`×`side` pixels, followed by a tiny IDAT and IEND.
fn png_claiming(side: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(side.to_be_bytes());
    ihdr.extend(side.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit grayscale
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

fn spec() -> Option<DecodeSpec> {
    Some(DecodeSpec {
        channels: 1,
        size: 8,
    })
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Builds class folders `cat/` and `dog/` with 3 good images each and one bad file of
/// every kind. Returns how many good images there are.
fn build_hostile_folder(root: &Path) -> usize {
    let cat = root.join("cat");
    let dog = root.join("dog");
    fs::create_dir_all(&cat).unwrap();
    fs::create_dir_all(&dog).unwrap();
    for i in 0..3 {
        fs::write(cat.join(format!("good{i}.png")), png(8, 10 + i)).unwrap();
        fs::write(dog.join(format!("good{i}.jpg")), jpeg_bytes(16)).unwrap();
    }
    // Good images with hostile names: non-UTF-8 bytes and a terminal escape sequence.
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.png");
    fs::write(cat.join(raw), png(8, 200)).unwrap();
    fs::write(dog.join("\x1b[31mred\x1b[0m.png"), png(8, 100)).unwrap();

    fs::write(cat.join("empty.png"), b"").unwrap();
    let whole = png(64, 7);
    fs::write(cat.join("truncated.png"), &whole[..whole.len() / 2]).unwrap();
    let jpg = jpeg_bytes(64);
    fs::write(dog.join("truncated.jpg"), &jpg[..jpg.len() / 3]).unwrap();
    fs::write(
        dog.join("letter.jpg"),
        b"Dear reader, this is plain text.\n",
    )
    .unwrap();
    fs::write(cat.join("huge.png"), png_claiming(30_000)).unwrap();
    fs::write(root.join("dog/notes.txt"), b"not an image").unwrap();
    fs::write(dog.join("\x1b]0;pwned\x07.txt"), b"escape in the name").unwrap();
    // Unreadable, three ways: no permission (root reads it anyway), a dangling symlink,
    // a folder named like an image.
    let locked = cat.join("locked.png");
    fs::write(&locked, png(8, 1)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    symlink("nowhere.png", dog.join("dangling.png")).unwrap();
    fs::create_dir(dog.join("folder.png")).unwrap();
    // Symlink loops: a link to itself and a folder link back to an ancestor.
    symlink("self.png", cat.join("self.png")).unwrap();
    symlink("..", cat.join("up")).unwrap();
    // A FIFO named like an image would block a naive reader forever.
    let fifo = dog.join("pipe.png");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !made_fifo {
        eprintln!("note: mkfifo unavailable, FIFO case not built");
    }
    // A loose image next to the class folders has no class.
    fs::write(root.join("loose.png"), png(8, 3)).unwrap();
    8 + usize::from(is_root())
}

#[test]
fn hostile_folder_is_scanned_completely_with_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let good = build_hostile_folder(&root);
    let cache = tmp.path().join("cache");
    let loaded = dataset::load(&root, &ScanOptions::default(), spec(), &cache).unwrap();
    let pool = &loaded.pool;
    let names: Vec<_> = pool.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["cat", "dog"]);
    assert_eq!(pool.items.len(), good, "{:#?}", pool.items);
    assert_eq!(loaded.pool_pixels.len(), good);

    let s = &pool.skipped;
    assert_eq!(s.count(SkipReason::EmptyFile), 1);
    assert_eq!(
        s.count(SkipReason::Corrupt),
        2,
        "{:?}",
        s.examples(SkipReason::Corrupt)
    );
    assert_eq!(s.count(SkipReason::TooLarge), 1);
    // letter.jpg by content; notes.txt and the escape-named .txt by extension.
    assert_eq!(s.count(SkipReason::NotImage), 3);
    let unreadable = if is_root() { 1 } else { 2 };
    assert_eq!(s.count(SkipReason::Unreadable), unreadable);
    let fifo = usize::from(root.join("dog/pipe.png").exists());
    assert_eq!(s.count(SkipReason::NotRegularFile), 1 + fifo);
    assert_eq!(s.count(SkipReason::SymlinkLoop), 2);
    assert_eq!(s.count(SkipReason::NoLabel), 1);
    assert_eq!(s.total(), 11 + fifo + unreadable);

    // Names reach the report escaped, never raw.
    let report = dataset::report::render(&loaded);
    assert!(
        !report.contains('\x1b') && !report.contains('\x07'),
        "{report}"
    );
    assert!(report.contains("\\x1b]0;pwned\\x07.txt"), "{report}");
    // The non-UTF-8 and escape-named images made it into the pool with stable ids.
    assert!(pool
        .items
        .iter()
        .any(|i| i.id == "cat/caf\u{fffd}-\u{fffd}.png"));
    assert!(pool
        .items
        .iter()
        .any(|i| i.id == "dog/\x1b[31mred\x1b[0m.png"));
}

#[test]
fn decode_failures_come_back_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    build_hostile_folder(&root);
    let cache = tmp.path().join("cache");
    let cold = dataset::load(&root, &ScanOptions::default(), spec(), &cache).unwrap();
    let warm = dataset::load(&root, &ScanOptions::default(), spec(), &cache).unwrap();
    assert!(!cold.from_cache && warm.from_cache);
    assert_eq!(warm.pool.skipped, cold.pool.skipped);
    assert_eq!(warm.pool.items, cold.pool.items);
    assert_eq!(warm.pool_pixels, cold.pool_pixels);
}

#[test]
fn empty_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = dataset::scan(tmp.path(), &ScanOptions::default()).unwrap_err();
    assert!(matches!(err, DatasetError::NoImages { .. }), "{err}");
    assert!(err.to_string().contains("no usable image"), "{err}");
}

#[test]
fn folder_of_only_bad_files_is_an_error_naming_the_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("cat")).unwrap();
    fs::write(root.join("cat/a.png"), b"").unwrap();
    fs::write(root.join("cat/b.jpg"), b"text").unwrap();
    // The empty file fails the scan; the text file only fails when decoded.
    let err = dataset::load(
        &root,
        &ScanOptions::default(),
        spec(),
        &tmp.path().join("c"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no usable image"), "{err}");
    assert!(
        err.contains("1 not an image") && err.contains("1 empty file"),
        "{err}"
    );
}

#[test]
fn single_class_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("only")).unwrap();
    fs::write(root.join("only/a.png"), png(8, 9)).unwrap();
    let loaded =
        dataset::load(&root, &ScanOptions::default(), None, &tmp.path().join("c")).unwrap();
    assert_eq!(loaded.pool.classes.len(), 1);
    assert_eq!(loaded.pool.items[0].label, Some(0));
    // An 8×8 grayscale PNG keeps its native size automatically.
    assert_eq!(
        loaded.spec(),
        DecodeSpec {
            channels: 1,
            size: 8
        }
    );
    assert_eq!(loaded.pool_pixels.item(0), &[9u8; 64][..]);
}

#[test]
fn missing_root_and_file_root_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = dataset::scan(&tmp.path().join("nope"), &ScanOptions::default()).unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
    let file = tmp.path().join("file.png");
    fs::write(&file, png(4, 0)).unwrap();
    let err = dataset::scan(&file, &ScanOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn non_utf8_names_that_collide_as_ids_are_counted_not_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("cat")).unwrap();
    // Both names read as "cat/\u{fffd}.png" in lossy UTF-8.
    for (raw, value) in [(&b"\xff.png"[..], 1u8), (&b"\xfe.png"[..], 2)] {
        let name = std::ffi::OsStr::from_bytes(raw);
        fs::write(root.join("cat").join(name), png(8, value)).unwrap();
    }
    let pool = dataset::scan(&root, &ScanOptions::default()).unwrap();
    assert_eq!(pool.items.len(), 1);
    assert_eq!(pool.items[0].id, "cat/\u{fffd}.png");
    assert_eq!(pool.skipped.count(SkipReason::DuplicateId), 1);
}
