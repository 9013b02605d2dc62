//! The on-disk cache of decoded pools: one file per (canonical root, options, spec) in
//! `cache_dir/pools/`, holding the scan fingerprint it was made from, the decode results
//! (which items failed and why) and the pixels. A file that is torn, corrupt, from
//! another format version or from a changed folder is ignored, never trusted.
//!
//! File format: MAGIC, u32 version, u64 header length, JSON header, pool pixels, test
//! pixels, u64 xxh3 checksum of everything before it (all integers little-endian).

use std::io::Write;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use super::{DecodeSpec, Fingerprint, ScanOptions, SkipReason, Skipped};

const MAGIC: &[u8; 8] = b"GLNPOOL\n";
/// Bump when the file layout or the decoding changes.
/// (2: photos keep the ImageNet centre crop; 3: EXIF orientation, large JPEGs decoded
/// at a reduced DCT scale.)
pub(crate) const FORMAT_VERSION: u32 = 3;

/// What the cache file says besides the pixels.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CacheHeader {
    pub fingerprint: Fingerprint,
    pub spec: DecodeSpec,
    /// Items the scan listed, before decode failures were dropped.
    pub pool_listed: usize,
    pub test_listed: usize,
    /// Indices (into the scanned lists) that failed to decode, with the reason.
    pub pool_failed: Vec<(u32, SkipReason)>,
    pub test_failed: Vec<(u32, SkipReason)>,
    /// The decode failures as they are reported.
    pub decode_skipped: Skipped,
    pub pool_bytes: u64,
    pub test_bytes: u64,
}

/// The cache file for this root, options and requested spec.
pub(crate) fn cache_file(
    cache_dir: &Path,
    root: &Path,
    opts: &ScanOptions,
    spec: Option<DecodeSpec>,
) -> PathBuf {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut key = format!(
        "v{FORMAT_VERSION}|{:?}|{:?}|{:?}|{:?}|{:?}",
        canonical(root),
        opts.test.as_deref().map(canonical),
        opts.label_pattern,
        opts.classes,
        spec
    );
    // Only when set, so the unsplit pool keeps its cache file; split and unsplit then
    // live side by side instead of overwriting each other.
    if let Some(holdout) = opts.holdout {
        key.push_str(&format!("|holdout={holdout:?}"));
    }
    if let Some(validation) = opts.validation {
        key.push_str(&format!("|validation={validation:?}"));
    }
    cache_dir
        .join("pools")
        .join(format!("{:032x}.pool", xxh3_128(key.as_bytes())))
}

/// The header and the pool and test pixels, if `path` holds a sound cache file made
/// from a scan with this fingerprint; `None` for anything else.
pub(crate) fn read(
    path: &Path,
    fingerprint: Fingerprint,
) -> Option<(CacheHeader, Vec<u8>, Vec<u8>)> {
    let bytes = std::fs::read(path).ok()?;
    match parse(&bytes, fingerprint) {
        Ok(found) => Some(found),
        Err(why) => {
            tracing::info!(path = %path.display(), why, "pool cache not used");
            None
        }
    }
}

fn parse(
    bytes: &[u8],
    fingerprint: Fingerprint,
) -> Result<(CacheHeader, Vec<u8>, Vec<u8>), &'static str> {
    const FIXED: usize = 8 + 4 + 8;
    if bytes.len() < FIXED + 8 || &bytes[..8] != MAGIC {
        return Err("not a pool cache file");
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if xxh3_64(body).to_le_bytes() != sum {
        return Err("checksum mismatch (torn or corrupt)");
    }
    let version = u32::from_le_bytes(*body[8..].first_chunk().ok_or("not a pool cache file")?);
    if version != FORMAT_VERSION {
        return Err("other format version");
    }
    let header_len =
        u64::from_le_bytes(*body[12..].first_chunk().ok_or("not a pool cache file")?) as usize;
    let header_end = FIXED
        .checked_add(header_len)
        .filter(|&e| e <= body.len())
        .ok_or("bad header length")?;
    let header: CacheHeader =
        serde_json::from_slice(&body[FIXED..header_end]).map_err(|_| "bad header")?;
    if header.fingerprint != fingerprint {
        return Err("folder changed since it was cached");
    }
    // Checked arithmetic throughout: a header is data, not a promise.
    let pool_end = usize::try_from(header.pool_bytes)
        .ok()
        .and_then(|n| header_end.checked_add(n));
    let total = usize::try_from(header.test_bytes)
        .ok()
        .and_then(|n| pool_end?.checked_add(n));
    let (Some(pool_end), Some(body_len)) = (pool_end, total) else {
        return Err("pixel lengths overflow");
    };
    if body_len != body.len() {
        return Err("pixel lengths do not add up");
    }
    header.spec.validate().map_err(|_| "bad spec")?;
    let item_len = header.spec.item_len() as u64;
    let kept =
        |listed: usize, failed: usize| (listed.checked_sub(failed)? as u64).checked_mul(item_len);
    if kept(header.pool_listed, header.pool_failed.len()) != Some(header.pool_bytes)
        || kept(header.test_listed, header.test_failed.len()) != Some(header.test_bytes)
    {
        return Err("pixel lengths do not match the item counts");
    }
    // Failure indices must be ascending and inside the lists (load drops by them).
    let sound = |failed: &[(u32, SkipReason)], listed: usize| {
        failed.windows(2).all(|w| w[0].0 < w[1].0)
            && failed.last().is_none_or(|f| (f.0 as usize) < listed)
    };
    if !sound(&header.pool_failed, header.pool_listed)
        || !sound(&header.test_failed, header.test_listed)
    {
        return Err("bad failure list");
    }
    let pool = body[header_end..pool_end].to_vec();
    let test = body[pool_end..].to_vec();
    Ok((header, pool, test))
}

/// Writes the cache file atomically (`files::replace_file`: a reader never sees half a
/// file; the checksum at its end guards the rest).
pub(crate) fn write(
    path: &Path,
    header: &CacheHeader,
    pool: &[u8],
    test: &[u8],
) -> std::io::Result<()> {
    let header_json = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    let mut head = Vec::with_capacity(20 + header_json.len());
    head.extend_from_slice(MAGIC);
    head.extend(FORMAT_VERSION.to_le_bytes());
    head.extend((header_json.len() as u64).to_le_bytes());
    head.extend_from_slice(&header_json);
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for part in [&head[..], pool, test] {
        hasher.update(part);
    }
    glean_core::files::replace_file(path, glean_core::files::Durability::Cached, |tmp| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(tmp)?);
        for part in [&head[..], pool, test, &hasher.digest().to_le_bytes()[..]] {
            out.write_all(part)?;
        }
        out.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> CacheHeader {
        CacheHeader {
            fingerprint: Fingerprint(7),
            spec: DecodeSpec {
                channels: 1,
                size: 2,
            },
            pool_listed: 3,
            test_listed: 1,
            pool_failed: vec![(1, SkipReason::Corrupt)],
            test_failed: vec![],
            decode_skipped: Skipped::default(),
            pool_bytes: 8,
            test_bytes: 4,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pools/x.pool");
        let (pool, test) = ((0..8).collect::<Vec<u8>>(), vec![9u8; 4]);
        write(&path, &header(), &pool, &test).unwrap();
        let (h, p, t) = read(&path, Fingerprint(7)).unwrap();
        assert_eq!((h, p, t), (header(), pool.clone(), test.clone()));
        assert!(read(&path, Fingerprint(8)).is_none(), "other fingerprint");

        // Headers with a valid checksum but impossible numbers are refused, not trusted.
        let mut huge = header();
        huge.pool_bytes = u64::MAX;
        let mut outside = header();
        outside.pool_failed = vec![(5, SkipReason::Corrupt)];
        for bad in [huge, outside] {
            write(&path, &bad, &pool, &test).unwrap();
            assert!(read(&path, Fingerprint(7)).is_none(), "{bad:?}");
        }
        // Only the finished file remains: temporaries are renamed away.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.pool"]);
    }
}
