//! Likely mistakes: labeled items whose label a predictor that did not see it
//! contradicts. The labels are split into seeded folds; each fold's items are judged by
//! the graph's Poisson propagation of the other folds' labels
//! (`GraphLearner::held_out_probs`), and ranked by how little that propagation believes
//! the label given. Pure here.

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Folds the labels are split into: each item is judged by a propagation of the other
/// 90 %.
pub const FOLDS: usize = 10;

/// A labeled item and what the propagation without its label says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suspect {
    pub pool_index: usize,
    /// The label the item has.
    pub given: u16,
    /// The class the held-out propagation puts first.
    pub predicted: u16,
    /// That propagation's probability of the label given.
    pub prob_given: f32,
}

/// The fold (0..folds) of each of `n` labels: a seeded shuffle dealt round, so the
/// folds differ in size by one at most.
pub fn fold_of(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut fold = vec![0; n];
    for (position, &label) in order.iter().enumerate() {
        fold[label] = position % folds.max(1);
    }
    fold
}

/// The labeled items, least believed first (ties in pool order). `held_out` holds one
/// row of class probabilities per label, in the order of `labeled`.
pub fn rank_suspects(labeled: &[(usize, u16)], held_out: &[f32], classes: usize) -> Vec<Suspect> {
    let mut suspects: Vec<Suspect> = labeled
        .iter()
        .zip(held_out.chunks(classes))
        .map(|(&(pool_index, given), row)| {
            let predicted = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
                .map_or(0, |(c, _)| c as u16);
            Suspect {
                pool_index,
                given,
                predicted,
                prob_given: row.get(usize::from(given)).copied().unwrap_or(0.0),
            }
        })
        .collect();
    suspects.sort_by(|a, b| {
        a.prob_given
            .total_cmp(&b.prob_given)
            .then(a.pool_index.cmp(&b.pool_index))
    });
    suspects
}

/// `labels` with `count` of them (a seeded choice) moved to another class, also
/// seeded: mis-keyed labels for measuring how many the suspects find. Returns the
/// labels and the flipped ones' pool indices.
pub fn flip_labels(
    labels: &[(usize, u16)],
    count: usize,
    classes: usize,
    seed: u64,
) -> (Vec<(usize, u16)>, Vec<usize>) {
    use rand::Rng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut positions: Vec<usize> = (0..labels.len()).collect();
    positions.shuffle(&mut rng);
    let mut out = labels.to_vec();
    let mut flipped = Vec::new();
    if classes < 2 {
        return (out, flipped);
    }
    for &p in positions.iter().take(count) {
        let shift = rng.random_range(1..classes) as u16;
        out[p].1 = (out[p].1 + shift) % classes as u16;
        flipped.push(out[p].0);
    }
    (out, flipped)
}

/// How many of `flipped` are among the first `first` suspects.
pub fn found_in_first(suspects: &[Suspect], flipped: &[usize], first: usize) -> usize {
    suspects
        .iter()
        .take(first)
        .filter(|s| flipped.contains(&s.pool_index))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cover_every_label_evenly_and_follow_the_seed() {
        let folds = fold_of(25, 10, 3);
        let mut sizes = [0; 10];
        folds.iter().for_each(|&f| sizes[f] += 1);
        assert!(sizes.iter().all(|&s| s == 2 || s == 3), "{sizes:?}");
        assert_eq!(folds, fold_of(25, 10, 3));
        assert_ne!(folds, fold_of(25, 10, 4));
    }

    #[test]
    fn flips_move_exactly_count_labels_to_another_class() {
        let labels: Vec<(usize, u16)> = (0..40).map(|i| (i * 3, (i % 4) as u16)).collect();
        let (flipped_labels, flipped) = flip_labels(&labels, 5, 4, 9);
        assert_eq!(flipped.len(), 5);
        let changed: Vec<usize> = labels
            .iter()
            .zip(&flipped_labels)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0)
            .collect();
        assert_eq!(changed.len(), 5);
        assert!(changed.iter().all(|i| flipped.contains(i)));
        assert!(flipped_labels.iter().all(|&(_, c)| c < 4));
        assert_eq!(flip_labels(&labels, 5, 4, 9).1, flipped);
        let suspects: Vec<Suspect> = flipped
            .iter()
            .rev()
            .chain(&[1, 2])
            .map(|&pool_index| Suspect {
                pool_index,
                given: 0,
                predicted: 1,
                prob_given: 0.1,
            })
            .collect();
        assert_eq!(found_in_first(&suspects, &flipped, 3), 3);
        assert_eq!(found_in_first(&suspects, &flipped, 7), 5);
    }

    #[test]
    fn the_least_believed_labels_come_first() {
        let labeled = [(7, 0), (3, 1), (9, 1), (1, 2)];
        #[rustfmt::skip]
        let held_out = [
            0.9, 0.05, 0.05, // 7: label 0 believed
            0.8, 0.1, 0.1,   // 3: label 1 doubted, 0 predicted
            0.3, 0.6, 0.1,   // 9: label 1 believed enough
            0.1, 0.8, 0.1,   // 1: label 2 doubted as much as 3's, 1 predicted
        ];
        let suspects = rank_suspects(&labeled, &held_out, 3);
        let order: Vec<(usize, u16, u16)> = suspects
            .iter()
            .map(|s| (s.pool_index, s.given, s.predicted))
            .collect();
        assert_eq!(order, [(1, 2, 1), (3, 1, 0), (9, 1, 1), (7, 0, 0)]);
        assert_eq!(suspects[0].prob_given, 0.1);
    }
}
