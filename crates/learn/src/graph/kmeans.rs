//! k-means (k-means++ start, Lloyd iterations) on embeddings, seeded; and the cold
//! start it gives: the pool items nearest the centres, one per cluster, which need no
//! label knowledge and cover the pool far better than a random first batch.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use super::knn::nearest;
use crate::LearnError;

/// Points per distance block (65,536 × 50 centres is 13 MB).
const BLOCK: i64 = 65_536;

pub struct KMeans {
    /// `[k, D]`.
    pub centres: Tensor,
    /// `[N]` i64: each point's cluster.
    pub assignment: Tensor,
    /// Sum of squared distances of points to their centres.
    pub inertia: f64,
    pub iterations: usize,
}

/// Squared distances of every point to its nearest centre, and that centre.
fn assign(points: &Tensor, centres: &Tensor) -> (Tensor, Tensor) {
    let n = points.size()[0];
    let c_sq = centres
        .square()
        .sum_dim_intlist(1, false, Kind::Float)
        .view([1, -1]);
    let c_t = centres.tr();
    let (mut dists, mut labels) = (Vec::new(), Vec::new());
    for start in (0..n).step_by(BLOCK as usize) {
        let p = points.narrow(0, start, BLOCK.min(n - start));
        let d2 = p.mm(&c_t) * -2.0 + &c_sq + p.square().sum_dim_intlist(1, true, Kind::Float);
        let (d, l) = d2.min_dim(1, false);
        dists.push(d.clamp_min(0.0));
        labels.push(l);
    }
    (Tensor::cat(&dists, 0), Tensor::cat(&labels, 0))
}

/// Picks an index with probability proportional to `weights` (all equal if they sum to 0).
fn sample(weights: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return rng.random_range(0..weights.len());
    }
    let mut target = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if target < w {
            return i;
        }
        target -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// k-means++ centres, then Lloyd iterations until at most one point in a thousand
/// changes cluster, or `max_iter`. Same seed, same result.
pub fn kmeans(points: &Tensor, k: usize, max_iter: usize, seed: u64) -> Result<KMeans, LearnError> {
    let size = points.size();
    let n = match size.as_slice() {
        &[n, d] if n > 0 && d > 0 => n as usize,
        other => {
            return Err(LearnError::Data(format!(
                "k-means needs a non-empty [N, D] matrix, got {other:?}"
            )))
        }
    };
    if k == 0 || k > n {
        return Err(LearnError::Data(format!(
            "k-means with {k} clusters over {n} points"
        )));
    }
    let _guard = tch::no_grad_guard();
    let points = points.to_kind(Kind::Float);
    let device = points.device();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let first = rng.random_range(0..n) as i64;
    let mut chosen = vec![first];
    let mut min_d2 = (&points - points.get(first))
        .square()
        .sum_dim_intlist(1, false, Kind::Float);
    while chosen.len() < k {
        let weights: Vec<f64> = Vec::try_from(min_d2.to_device(Device::Cpu).to_kind(Kind::Double))?;
        let next = sample(&weights, &mut rng) as i64;
        chosen.push(next);
        let d2 = (&points - points.get(next))
            .square()
            .sum_dim_intlist(1, false, Kind::Float);
        min_d2 = min_d2.minimum(&d2);
    }
    let mut centres = points.index_select(0, &Tensor::from_slice(&chosen).to_device(device));

    let (mut d2, mut assignment) = assign(&points, &centres);
    let mut iterations = 0;
    while iterations < max_iter {
        // Cluster sums as one matmul with the one-hot assignment (a BLAS call, where
        // index_add loops over the points one row at a time).
        let onehot = assignment.one_hot(k as i64).to_kind(Kind::Float);
        let counts = onehot.sum_dim_intlist(0, false, Kind::Float);
        let sums = onehot.tr().mm(&points);
        // An emptied cluster keeps its old centre.
        let empty = counts.eq(0.0).unsqueeze(1);
        centres =
            (sums / counts.clamp_min(1.0).unsqueeze(1)).where_self(&empty.logical_not(), &centres);
        let (next_d2, next) = assign(&points, &centres);
        iterations += 1;
        let changed = next
            .ne_tensor(&assignment)
            .sum(Kind::Int64)
            .int64_value(&[]) as usize;
        d2 = next_d2;
        assignment = next;
        // Under one point in a thousand still moving: the centres have settled.
        if changed * 1000 <= n {
            break;
        }
    }
    let inertia = d2.sum(Kind::Double).double_value(&[]);
    Ok(KMeans {
        centres,
        assignment,
        inertia,
        iterations,
    })
}

/// For each centre, the nearest point not already taken by an earlier centre.
pub fn nearest_items(points: &Tensor, centres: &Tensor) -> Result<Vec<usize>, LearnError> {
    let (n, k) = (points.size()[0] as usize, centres.size()[0] as usize);
    if k > n {
        return Err(LearnError::Data(format!("{k} centres but only {n} points")));
    }
    let (_, idx) = nearest(
        &points.to_kind(Kind::Float),
        &centres.to_kind(Kind::Float),
        k,
        false,
    )?;
    let idx: Vec<i64> = Vec::try_from(idx.to_device(Device::Cpu).view([-1]))?;
    let mut picked: Vec<usize> = Vec::with_capacity(k);
    for row in idx.chunks(k) {
        // k candidates per centre, so at most k − 1 of them can be taken already.
        let free = row
            .iter()
            .map(|&i| i as usize)
            .find(|i| !picked.contains(i));
        let free = free.ok_or_else(|| {
            LearnError::Other("k-means: every candidate of a centre was taken".into())
        })?;
        picked.push(free);
    }
    Ok(picked)
}

/// The cold-start batch: the items nearest the centres of a `count`-means clustering.
pub fn kmeans_cold_start(
    points: &Tensor,
    count: usize,
    seed: u64,
) -> Result<Vec<usize>, LearnError> {
    let km = kmeans(points, count, 50, seed)?;
    nearest_items(points, &km.centres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let picks: Vec<usize> = (0..200)
            .map(|_| sample(&[0.0, 1.0, 0.0, 3.0], &mut rng))
            .collect();
        assert!(picks.iter().all(|&p| p == 1 || p == 3));
        let threes = picks.iter().filter(|&&p| p == 3).count();
        assert!((120..185).contains(&threes), "{threes}");
        assert!(sample(&[0.0, 0.0], &mut rng) < 2);
    }

    #[test]
    fn same_seed_same_clusters_and_bad_k_is_an_error() {
        let _generator = crate::torch_rng::seeded(5);
        let pts = Tensor::randn([300, 4], (Kind::Float, Device::Cpu));
        let a = kmeans(&pts, 5, 50, 9).unwrap();
        let b = kmeans(&pts, 5, 50, 9).unwrap();
        assert!(a.centres.equal(&b.centres));
        assert!(kmeans(&pts, 0, 10, 1).is_err());
        assert!(kmeans(&pts, 301, 10, 1).is_err());
        let picks = nearest_items(&pts, &a.centres).unwrap();
        let mut unique = picks.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 5);
    }

    #[test]
    fn cold_start_picks_the_middles_of_separated_clusters() {
        // Three tight clusters around 0, 100 and 200 on a line; the middle points are
        // exactly on the centres.
        let xs: Vec<f32> = [0.0f32, 100.0, 200.0]
            .iter()
            .flat_map(|&c| [c - 1.0, c, c + 1.0])
            .collect();
        let points = Tensor::from_slice(&xs).view([9, 1]);
        let mut picks = kmeans_cold_start(&points, 3, 1).unwrap();
        picks.sort_unstable();
        assert_eq!(picks, vec![1, 4, 7]);
    }

    #[test]
    fn cold_start_returns_k_distinct_items_even_with_duplicates() {
        let points = Tensor::from_slice(&[5.0f32; 8]).view([8, 1]);
        let mut picks = kmeans_cold_start(&points, 4, 2).unwrap();
        assert_eq!(picks.len(), 4);
        picks.sort_unstable();
        picks.dedup();
        assert_eq!(picks.len(), 4);
    }
}
