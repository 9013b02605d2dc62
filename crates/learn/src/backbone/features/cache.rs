//! The on-disk cache of what is computed once per pool: feature matrices as
//! safetensors (`pool` and `test`), and the kNN graph with the test items' neighbours
//! as safetensors too (`row_ptr`, `col`, `val`, `k`, and `test_index`, `test_weight`
//! where there are test items). It is only a cache: a file that is missing, unreadable or of the wrong
//! shape is reported as absent (with a warning when it existed), and a failed write is a
//! warning, never an error, since the caller already holds the values.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};

use crate::graph::{KnnGraph, Neighbours, PoolGraph};
use glean_dataset::SkipReason;
use glean_rank::Csr;

/// `dir/features/<name>.<ext>`; characters outside `[A-Za-z0-9._-]` in the name become
/// `_` so a key can never leave the folder.
pub fn file(dir: &Path, name: &str, ext: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    dir.join("features").join(format!("{safe}.{ext}"))
}

/// Reads `(pool, test)` float matrices of `rows.0` and `rows.1` rows and `dim` columns
/// onto `device`; None when the file is absent or does not hold exactly that.
pub fn read_matrices(
    path: &Path,
    rows: (i64, i64),
    dim: i64,
    device: Device,
) -> Option<(Tensor, Tensor)> {
    let found = read_features(path, dim, device)?;
    let (p, t) = (found.pool.size()[0], found.test.size()[0]);
    if (p, t) != rows {
        tracing::warn!(
            "ignoring the cache file {}: {p} pool and {t} test rows, expected {} and {}; recomputing",
            path.display(),
            rows.0,
            rows.1
        );
        return None;
    }
    Some((found.pool, found.test))
}

/// What a features file holds: the `pool` and `test` matrices, and which rows of the
/// folder as scanned were left out of them because they did not decode, with why
/// (`failed`: pool rows then test rows, counted over both; empty when the file has no
/// list).
pub struct FeaturesFile {
    pub pool: Tensor,
    pub test: Tensor,
    pub failed: Vec<(usize, SkipReason)>,
}

/// Reads a features file with `dim` columns onto `device`, whatever its row counts;
/// None (with a warning when it existed) when it is absent or malformed.
pub fn read_features(path: &Path, dim: i64, device: Device) -> Option<FeaturesFile> {
    if !path.exists() {
        return None;
    }
    let checked = || -> Result<FeaturesFile, String> {
        let mut tensors = Tensor::read_safetensors(path).map_err(|e| e.to_string())?;
        let mut take = |name: &str| -> Option<Tensor> {
            let at = tensors.iter().position(|(k, _)| k == name)?;
            Some(tensors.swap_remove(at).1)
        };
        let failed = match take("failed") {
            Some(t) if t.kind() == Kind::Int64 && t.dim() == 2 && t.size()[1] == 2 => {
                let pairs = Vec::<i64>::try_from(t.view([-1])).map_err(|e| e.to_string())?;
                pairs
                    .chunks_exact(2)
                    .map(|p| {
                        let row = usize::try_from(p[0]).map_err(|_| "a negative row")?;
                        let reason = u8::try_from(p[1])
                            .ok()
                            .and_then(SkipReason::from_code)
                            .ok_or("an unknown reason")?;
                        Ok((row, reason))
                    })
                    .collect::<Result<Vec<_>, &str>>()?
            }
            Some(t) => return Err(format!("`failed` is {:?} {:?}", t.kind(), t.size())),
            None => Vec::new(),
        };
        let mut matrix = |name: &str| -> Result<Tensor, String> {
            let t = take(name).ok_or(format!("no `{name}` tensor"))?;
            if t.kind() != Kind::Float || t.dim() != 2 || t.size()[1] != dim {
                return Err(format!(
                    "`{name}` is {:?} {:?}, expected Float [·, {dim}]",
                    t.kind(),
                    t.size()
                ));
            }
            t.f_to_device(device).map_err(|e| e.to_string())
        };
        Ok(FeaturesFile {
            pool: matrix("pool")?,
            test: matrix("test")?,
            failed,
        })
    };
    checked()
        .inspect_err(|why| {
            tracing::warn!(
                "ignoring the cache file {}: {why}; recomputing",
                path.display()
            )
        })
        .ok()
}

/// Writes `pool` and `test` (moved to the CPU) atomically.
pub fn write_matrices(path: &Path, pool: &Tensor, test: &Tensor) {
    write_features(path, pool, test, &[]);
}

/// Writes `pool`, `test` and, when some rows did not decode, their list (row and
/// reason code per row), atomically.
pub fn write_features(path: &Path, pool: &Tensor, test: &Tensor, failed: &[(usize, SkipReason)]) {
    store(path, |tmp| {
        let cpu = |t: &Tensor| t.to_device(Device::Cpu).contiguous();
        let mut tensors = vec![("pool", cpu(pool)), ("test", cpu(test))];
        if !failed.is_empty() {
            let pairs: Vec<i64> = failed
                .iter()
                .flat_map(|&(row, reason)| [row as i64, i64::from(reason.code())])
                .collect();
            tensors.push(("failed", Tensor::from_slice(&pairs).view([-1, 2])));
        }
        Tensor::write_safetensors(&tensors, tmp).map_err(|e| e.to_string())
    });
}

/// Reads a graph over `rows.0` pool items of degree `k`, with the neighbours of
/// `rows.1` test items (none when 0); None when absent or not exactly that.
pub fn read_graph(path: &Path, rows: (i64, i64), k: usize, device: Device) -> Option<PoolGraph> {
    if !path.exists() {
        return None;
    }
    let checked = || -> Result<PoolGraph, String> {
        let tensors = Tensor::read_safetensors(path).map_err(|e| e.to_string())?;
        let get = |name: &str, kind: Kind| -> Result<&Tensor, String> {
            let t = tensors
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| format!("no `{name}`"))?;
            if t.kind() != kind {
                return Err(format!("`{name}` is {:?}, not {kind:?}", t.kind()));
            }
            Ok(t)
        };
        let ints = |name: &str| -> Result<Vec<u32>, String> {
            let v = Vec::<i32>::try_from(get(name, Kind::Int)?.view([-1]))
                .map_err(|e| e.to_string())?;
            v.into_iter()
                .map(|x| u32::try_from(x).map_err(|_| format!("a negative `{name}`")))
                .collect()
        };
        let floats = |name: &str| -> Result<Vec<f32>, String> {
            Vec::<f32>::try_from(get(name, Kind::Float)?.view([-1])).map_err(|e| e.to_string())
        };
        let stored_k = get("k", Kind::Int64)?;
        if stored_k.numel() != 1 {
            return Err(format!("`k` holds {} numbers, not one", stored_k.numel()));
        }
        let stored_k = stored_k.int64_value(&[0]);
        let weights = Csr::from_parts(
            rows.0 as usize,
            ints("row_ptr")?,
            ints("col")?,
            floats("val")?,
        )?;
        if stored_k != k as i64 {
            return Err(format!("a {stored_k}-NN graph, expected {k}-NN"));
        }
        let graph = KnnGraph::from_weights(weights, k, device);
        let has_test = tensors.iter().any(|(n, _)| n == "test_index");
        let test = match (has_test, rows.1) {
            (false, 0) => None,
            (true, m) if m > 0 => {
                let index = get("test_index", Kind::Int)?;
                let weight = get("test_weight", Kind::Float)?;
                if index.size() != [m, k as i64] || weight.size() != index.size() {
                    return Err(format!(
                        "test neighbours {:?}, expected [{m}, {k}]",
                        index.size()
                    ));
                }
                let outside = index
                    .lt(0)
                    .logical_or(&index.ge(rows.0))
                    .any()
                    .int64_value(&[]);
                if outside != 0 || weight.isfinite().logical_not().any().int64_value(&[]) != 0 {
                    return Err("a test neighbour outside the pool or a bad weight".into());
                }
                Some(Neighbours {
                    index: index.to_kind(Kind::Int64).to_device(device),
                    weight: weight.to_device(device),
                })
            }
            (_, m) => return Err(format!("test neighbours do not match {m} test items")),
        };
        Ok(PoolGraph::from_parts(graph, test))
    };
    checked()
        .inspect_err(|why| {
            tracing::warn!(
                "ignoring the cache file {}: {why}; rebuilding",
                path.display()
            )
        })
        .ok()
}

/// Writes the graph and the test neighbours as one safetensors file (no test
/// tensors: no test items).
pub fn write_graph(path: &Path, pg: &PoolGraph) {
    store(path, |tmp| {
        let w = &pg.graph.weights;
        let int = |v: &[u32]| Tensor::from_slice(&v.iter().map(|&x| x as i32).collect::<Vec<_>>());
        let mut tensors = vec![
            ("row_ptr", int(&w.row_ptr)),
            ("col", int(&w.col)),
            ("val", Tensor::from_slice(&w.val)),
            ("k", Tensor::from_slice(&[pg.graph.k as i64])),
        ];
        if let Some(nb) = &pg.test {
            tensors.push((
                "test_index",
                nb.index.to_device(Device::Cpu).to_kind(Kind::Int),
            ));
            tensors.push(("test_weight", nb.weight.to_device(Device::Cpu)));
        }
        Tensor::write_safetensors(&tensors, tmp).map_err(|e| e.to_string())
    });
}

/// Writes through `write` to a temporary file beside `path`, then renames it over
/// `path` (`files::replace_file`), so a reader never sees half a file; a failure is
/// logged (a cache is computed again).
fn store(path: &Path, write: impl FnOnce(&Path) -> Result<(), String>) {
    let result =
        glean_core::files::replace_file(path, glean_core::files::Durability::Cached, |tmp| {
            write(tmp).map_err(std::io::Error::other)
        });
    if let Err(why) = result {
        tracing::warn!("could not write the cache file {}: {why}", path.display());
    }
}
