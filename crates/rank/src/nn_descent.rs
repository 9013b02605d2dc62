//! An approximate k-nearest-neighbour graph by nearest-neighbour descent (Dong, Moses
//! and Li, 2011): every item starts with random neighbours, and in each pass the
//! neighbours of each item meet one another (a neighbour's neighbour is likely a
//! neighbour), each list keeping the closest it has met. A pass costs about
//! `n · (2·sample)² · dim`, against the exact search's `n² · dim`: the pool sizes where
//! the exact graph takes hours are the ones this is for.
//!
//! Deterministic per seed whatever the thread count: a pass reads the lists as the
//! pass before left them, and each list takes what the pass found for it in one order
//! (by distance, then index).

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// How the descent runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Neighbours an item ends with.
    pub k: usize,
    /// Neighbours an item keeps while the descent runs (at least `k`): a longer list
    /// meets more of the true neighbours for few neighbours asked.
    pub list: usize,
    /// Most passes.
    pub passes: usize,
    /// New neighbours (and as many of the items that found it) an item introduces to
    /// each other in a pass.
    pub sample: usize,
    /// Stop once a pass changes fewer than this share of all neighbour places.
    pub min_change: f64,
    pub seed: u64,
}

impl Options {
    /// Settings for `k` neighbours an item: lists of at least 16, 20 passes at most,
    /// samples as long as the lists.
    pub fn for_k(k: usize) -> Options {
        let list = k.max(16);
        Options {
            k,
            list,
            passes: 20,
            sample: list,
            min_change: 0.001,
            seed: 0x6e6e_6465,
        }
    }
}

/// One place in a list: squared distance, the neighbour, and whether it came in the
/// last pass (only new neighbours are introduced to others).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Place {
    dist: f32,
    item: u32,
    new: bool,
}

/// Each row of `points` (`n × dim`, row-major) with its `opts.k` nearest other rows as
/// far as the descent found them: `(indices, squared distances)`, `n × k` row-major,
/// nearest first (ties by index). Needs more than `k` rows.
pub fn nearest_neighbours(points: &[f32], dim: usize, opts: &Options) -> (Vec<u32>, Vec<f32>) {
    let n = points.len() / dim.max(1);
    let wanted = opts.k.min(n.saturating_sub(1));
    let k = opts.list.max(opts.k).min(n.saturating_sub(1));
    if wanted == 0 {
        return (Vec::new(), Vec::new());
    }
    let row = |i: u32| &points[i as usize * dim..(i as usize + 1) * dim];
    let dist = |a: u32, b: u32| squared_distance(row(a), row(b));
    let mut lists: Vec<Vec<Place>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(
                opts.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let mut list: Vec<Place> = sample(&mut rng, n - 1, k)
                .into_iter()
                .map(|j| {
                    let j = if j >= i { j + 1 } else { j } as u32;
                    Place {
                        dist: dist(i as u32, j),
                        item: j,
                        new: true,
                    }
                })
                .collect();
            list.sort_unstable_by(by_closeness);
            list
        })
        .collect();
    for _ in 0..opts.passes {
        let (new, old) = introductions(&mut lists, opts.sample);
        // What each item's meeting proposes, only where it would enter a list.
        let worst: Vec<f32> = lists.iter().map(|l| l[k - 1].dist).collect();
        let mut proposals: Vec<(u32, u32, f32)> = (0..n)
            .into_par_iter()
            .flat_map_iter(|u| {
                let (new, old) = (&new[u], &old[u]);
                let mut found = Vec::new();
                for (a, &p) in new.iter().enumerate() {
                    for &q in new[a + 1..].iter().chain(old.iter()) {
                        if p == q {
                            continue;
                        }
                        let d = dist(p, q);
                        if d < worst[p as usize] {
                            found.push((p, q, d));
                        }
                        if d < worst[q as usize] {
                            found.push((q, p, d));
                        }
                    }
                }
                found
            })
            .collect();
        proposals.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)).then(a.1.cmp(&b.1))
        });
        let starts = group_starts(&proposals, n);
        let changed: usize = lists
            .par_iter_mut()
            .enumerate()
            .map(|(i, list)| merge(list, &proposals[starts[i]..starts[i + 1]]))
            .sum();
        if (changed as f64) < opts.min_change * (n * k) as f64 {
            break;
        }
    }
    let mut indices = Vec::with_capacity(n * wanted);
    let mut dists = Vec::with_capacity(n * wanted);
    for list in &lists {
        indices.extend(list[..wanted].iter().map(|p| p.item));
        dists.extend(list[..wanted].iter().map(|p| p.dist));
    }
    (indices, dists)
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn by_closeness(a: &Place, b: &Place) -> std::cmp::Ordering {
    a.dist.total_cmp(&b.dist).then(a.item.cmp(&b.item))
}

/// Who each item introduces in this pass: its nearest `sample` new neighbours and the
/// items whose new (old) neighbour it is, the first `sample` of those by index; the
/// introduced new ones count as old from now on.
fn introductions(lists: &mut [Vec<Place>], sample: usize) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let n = lists.len();
    let mut new: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut old: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (u, list) in lists.iter_mut().enumerate() {
        let mut taken = 0;
        for place in list.iter_mut() {
            if place.new && taken < sample {
                place.new = false;
                taken += 1;
                new[u].push(place.item);
            } else if !place.new {
                old[u].push(place.item);
            }
        }
    }
    let (mut reverse_new, mut reverse_old) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    for u in 0..n {
        for &v in &new[u] {
            if reverse_new[v as usize].len() < sample {
                reverse_new[v as usize].push(u as u32);
            }
        }
        for &v in &old[u] {
            if reverse_old[v as usize].len() < sample {
                reverse_old[v as usize].push(u as u32);
            }
        }
    }
    let join = |mut own: Vec<u32>, reverse: Vec<u32>| {
        own.extend(reverse);
        own.sort_unstable();
        own.dedup();
        own
    };
    let new: Vec<Vec<u32>> = new
        .into_iter()
        .zip(reverse_new)
        .map(|(a, b)| join(a, b))
        .collect();
    let old = old
        .into_iter()
        .zip(reverse_old)
        .zip(&new)
        .map(|((a, b), new)| {
            let mut old = join(a, b);
            old.retain(|i| new.binary_search(i).is_err());
            old
        })
        .collect();
    (new, old)
}

/// Where each target's proposals start in `proposals` (sorted by target), and `n` last.
fn group_starts(proposals: &[(u32, u32, f32)], n: usize) -> Vec<usize> {
    let mut starts = vec![0usize; n + 1];
    for &(target, _, _) in proposals {
        starts[target as usize + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    starts
}

/// Takes the closest of `proposals` (one target's, closest first) into `list`, which
/// keeps its length; returns how many places changed.
fn merge(list: &mut Vec<Place>, proposals: &[(u32, u32, f32)]) -> usize {
    let k = list.len();
    let mut changed = 0;
    for &(_, item, dist) in proposals {
        let place = Place {
            dist,
            item,
            new: true,
        };
        if by_closeness(&place, &list[k - 1]).is_ge() || list.iter().any(|p| p.item == item) {
            continue;
        }
        let at = list.partition_point(|p| by_closeness(p, &place).is_lt());
        list.insert(at, place);
        list.truncate(k);
        changed += 1;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points in `dim` dimensions around 8 centres, seeded.
    fn blobs(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Vec<f32> = (0..8 * dim).map(|_| rng.random_range(-5.0..5.0)).collect();
        (0..n)
            .flat_map(|i| {
                let c = &centres[(i % 8) * dim..(i % 8 + 1) * dim];
                c.iter()
                    .map(|&x| x + rng.random_range(-1.0f32..1.0))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn exact(points: &[f32], dim: usize, k: usize) -> Vec<u32> {
        let n = points.len() / dim;
        (0..n)
            .flat_map(|i| {
                let mut all: Vec<(f32, u32)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| {
                        let d = squared_distance(
                            &points[i * dim..(i + 1) * dim],
                            &points[j * dim..(j + 1) * dim],
                        );
                        (d, j as u32)
                    })
                    .collect();
                all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                all.into_iter().take(k).map(|(_, j)| j).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_descent_finds_nearly_every_true_neighbour() {
        let (n, dim, k) = (3000, 12, 10);
        let points = blobs(n, dim, 3);
        let (found, dists) = nearest_neighbours(&points, dim, &Options::for_k(k));
        assert_eq!((found.len(), dists.len()), (n * k, n * k));
        let truth = exact(&points, dim, k);
        let mut hits = 0;
        for i in 0..n {
            let row = &found[i * k..(i + 1) * k];
            assert!(!row.contains(&(i as u32)), "item {i} is its own neighbour");
            assert!(dists[i * k..(i + 1) * k].windows(2).all(|w| w[0] <= w[1]));
            hits += truth[i * k..(i + 1) * k]
                .iter()
                .filter(|t| row.contains(t))
                .count();
        }
        let recall = hits as f64 / (n * k) as f64;
        eprintln!("recall@{k} on {n} points: {recall:.4}");
        assert!(recall > 0.97, "recall@{k} {recall:.3}");
    }

    #[test]
    fn one_seed_gives_one_graph_on_any_number_of_threads() {
        let (dim, k) = (6, 5);
        let points = blobs(800, dim, 9);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| nearest_neighbours(&points, dim, &Options::for_k(k)))
        };
        let one = run(1);
        assert_eq!(one, run(3));
        let other = Options {
            seed: 1,
            ..Options::for_k(k)
        };
        assert_eq!(nearest_neighbours(&points, dim, &Options::for_k(k)), one);
        assert_eq!(
            nearest_neighbours(&points[..dim * 4], dim, &other).0.len(),
            4 * 3
        );
    }
}
