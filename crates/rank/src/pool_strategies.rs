//! The scores of the strategies that read the pool's structure besides the predictions
//! (no tch here): cluster-errors (k-means clusters and the labeled items the predictor
//! gets wrong), neighbour-kl (the pool's nearest-neighbour graph) and adversarial (a
//! discriminator's odds that an item is unlabeled, `discriminator.rs`).
//!
//! The same convention as `strategy.rs`: a higher score means "ask this item sooner".

use glean_core::strategy;

use crate::csr::Csr;

/// Below this a neighbourhood's mean probability counts as this, so that a class the
/// neighbours never predict costs a large but finite divergence.
const KL_FLOOR: f32 = 1e-6;

/// How many labeled items of each cluster the predictor gets wrong: `labeled` are
/// (pool index, class) in the order of `labeled_probs`' rows (`classes` wide), and
/// `cluster_of` gives each pool item's cluster, all below `clusters`.
pub fn cluster_errors(
    labeled: &[(usize, u16)],
    labeled_probs: &[f32],
    classes: usize,
    cluster_of: &[u32],
    clusters: usize,
) -> Vec<usize> {
    let mut errors = vec![0usize; clusters];
    for (&(item, class), row) in labeled.iter().zip(labeled_probs.chunks(classes)) {
        if strategy::top_k(row, 1)[0] != usize::from(class) {
            errors[cluster_of[item] as usize] += 1;
        }
    }
    errors
}

/// How many of `batch` picks each cluster gets: every cluster with unlabeled items
/// (`available`) one, the rest in proportion to its `errors` (largest remainders, then
/// the lower cluster) and no cluster more than it has: a full cluster's share goes to
/// the others with errors. What that cannot place (no errors anywhere) goes round the
/// clusters, most errors first, then most unlabeled items. When
/// the batch is smaller than the number of clusters, the clusters with most errors
/// (then most unlabeled items) get one each.
pub fn cluster_quota(batch: usize, errors: &[usize], available: &[usize]) -> Vec<usize> {
    assert_eq!(errors.len(), available.len(), "one error count per cluster");
    let mut quota = vec![0usize; errors.len()];
    let mut by_need: Vec<usize> = (0..errors.len()).filter(|&c| available[c] > 0).collect();
    by_need.sort_by(|&a, &b| {
        errors[b]
            .cmp(&errors[a])
            .then(available[b].cmp(&available[a]))
            .then(a.cmp(&b))
    });
    let total_available: usize = available.iter().sum();
    let mut left = batch.min(total_available);
    for &c in &by_need {
        if left == 0 {
            return quota;
        }
        quota[c] = 1;
        left -= 1;
    }
    // Proportional shares among the clusters with errors and room, again while a
    // full cluster's share is left over.
    loop {
        let open: Vec<usize> = by_need
            .iter()
            .copied()
            .filter(|&c| errors[c] > 0 && quota[c] < available[c])
            .collect();
        let total_errors: usize = open.iter().map(|&c| errors[c]).sum();
        if left == 0 || total_errors == 0 {
            break;
        }
        let share = left;
        let mut remainders = Vec::new();
        for &c in &open {
            let exact = share as f64 * errors[c] as f64 / total_errors as f64;
            let whole = (exact.floor() as usize).min(available[c] - quota[c]);
            quota[c] += whole;
            left -= whole;
            remainders.push((exact - exact.floor(), c));
        }
        remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, c) in remainders {
            if left > 0 && quota[c] < available[c] {
                quota[c] += 1;
                left -= 1;
            }
        }
    }
    while left > 0 {
        let before = left;
        for &c in &by_need {
            if left > 0 && quota[c] < available[c] {
                quota[c] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    quota
}

/// The batch cluster-errors picks: `order` lists candidate positions best first (by
/// margin, or shuffled); each cluster takes its `quota` from the front of the order.
/// The picks come back in `order`'s order.
pub fn cluster_picks(cluster_of_candidate: &[u32], quota: &[usize], order: &[usize]) -> Vec<usize> {
    let mut left = quota.to_vec();
    order
        .iter()
        .copied()
        .filter(|&p| {
            let c = cluster_of_candidate[p] as usize;
            let take = left[c] > 0;
            if take {
                left[c] -= 1;
            }
            take
        })
        .collect()
}

/// Each of `items`' neighbourhood mean prediction: the mean of its graph neighbours'
/// rows of `pool_probs` (`classes` wide, pool order), weighted by the graph's weights,
/// over the neighbours whose prediction is `known`. An item with no known neighbour
/// gets its own row, so that it scores zero.
pub fn neighbour_means(
    items: &[usize],
    pool_probs: &[f32],
    known: &[bool],
    classes: usize,
    graph: &Csr,
) -> Vec<f32> {
    let mut out = vec![0.0f32; items.len() * classes];
    for (&i, mean) in items.iter().zip(out.chunks_mut(classes)) {
        let (from, to) = (graph.row_ptr[i] as usize, graph.row_ptr[i + 1] as usize);
        let mut total = 0.0f32;
        for (&j, &w) in graph.col[from..to].iter().zip(&graph.val[from..to]) {
            let j = j as usize;
            if known[j] && j != i {
                total += w;
                for (m, &p) in mean
                    .iter_mut()
                    .zip(&pool_probs[j * classes..(j + 1) * classes])
                {
                    *m += w * p;
                }
            }
        }
        if total > 0.0 {
            mean.iter_mut().for_each(|m| *m /= total);
        } else {
            mean.copy_from_slice(&pool_probs[i * classes..(i + 1) * classes]);
        }
    }
    out
}

/// `KL(p ‖ q̄) = Σ p ln(p / q̄)` (nats) between each row of `probs` and the same row of
/// `neighbour_means`: how far an item's prediction is from its neighbourhood's.
pub fn neighbour_kl(probs: &[f32], neighbour_means: &[f32], classes: usize) -> Vec<f32> {
    assert_eq!(
        probs.len(),
        neighbour_means.len(),
        "one mean per prediction"
    );
    probs
        .chunks(classes)
        .zip(neighbour_means.chunks(classes))
        .map(|(p, q)| {
            p.iter()
                .zip(q)
                .filter(|(&p, _)| p > 0.0)
                .map(|(&p, &q)| p * (p / q.max(KL_FLOOR)).ln())
                .sum::<f32>()
                // Rounding can leave a hair below zero; a divergence never is.
                .max(0.0)
        })
        .collect()
}

/// The adversarial score: how sure the discriminator is that the item is unlabeled, as
/// the share of candidates it is less sure of (1 for the surest, near 0 for the least),
/// times the item's margin score (`1 − (p₁ − p₂)`): items unlike the labeled ones, and
/// uncertain. By rank rather than by the odds themselves: with a few labeled items
/// among thousands the discriminator is above 0.99 for nearly every candidate, and the
/// product would be margin's order.
pub fn adversarial(unlabeled_odds: &[f32], margins: &[f32]) -> Vec<f32> {
    assert_eq!(unlabeled_odds.len(), margins.len(), "one odds per item");
    let n = unlabeled_odds.len() as f32;
    let mut sureness = vec![0.0f32; unlabeled_odds.len()];
    for (pos, i) in strategy::rank_order(unlabeled_odds).into_iter().enumerate() {
        sureness[i] = 1.0 - pos as f32 / n;
    }
    sureness
        .iter()
        .zip(margins)
        .map(|(&sure, &margin)| sure * margin)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_errors_count_the_labeled_items_the_predictor_gets_wrong() {
        // Items 0, 2, 5 labeled; clusters: 0 → 0, 2 → 1, 5 → 1.
        let labeled = [(0, 1u16), (2, 0), (5, 1)];
        let probs = [
            0.7, 0.3, // item 0: predicted 0, labeled 1: wrong
            0.9, 0.1, // item 2: predicted 0, labeled 0: right
            0.4, 0.6, // item 5: predicted 1, labeled 1: right
        ];
        let cluster_of = [0, 0, 1, 1, 0, 1];
        assert_eq!(cluster_errors(&labeled, &probs, 2, &cluster_of, 2), [1, 0]);
        let wrong_5 = [0.7, 0.3, 0.9, 0.1, 0.6, 0.4];
        assert_eq!(
            cluster_errors(&labeled, &wrong_5, 2, &cluster_of, 2),
            [1, 1]
        );
    }

    #[test]
    fn the_quota_gives_every_cluster_one_and_the_rest_by_errors() {
        // 10 picks, errors 3 : 1 : 0. One each, then 7 split 3 : 1 = 5.25 : 1.75 : 0;
        // the larger remainder (0.75) takes the last one: 1 + 5, 1 + 2, 1.
        assert_eq!(cluster_quota(10, &[3, 1, 0], &[100, 100, 100]), [6, 3, 1]);
        // A cluster with nothing left to label gets nothing; a full one passes on.
        assert_eq!(cluster_quota(10, &[3, 1, 0], &[100, 100, 0]), [7, 3, 0]);
        assert_eq!(cluster_quota(10, &[3, 1, 0], &[2, 100, 100]), [2, 7, 1]);
        // No errors anywhere: round the clusters.
        assert_eq!(cluster_quota(7, &[0, 0, 0], &[100, 100, 100]), [3, 2, 2]);
        // Fewer picks than clusters: the most errors, then the most unlabeled items.
        assert_eq!(cluster_quota(2, &[0, 4, 0], &[5, 5, 9]), [0, 1, 1]);
        // Never more than the pool has.
        assert_eq!(cluster_quota(10, &[1, 1], &[1, 2]), [1, 2]);
    }

    #[test]
    fn each_cluster_takes_its_quota_from_the_front_of_the_order() {
        // Candidates 0..6 in clusters 0, 1, 0, 0, 1, 1; order by margin: 3, 4, 0, 5, 2, 1.
        let cluster_of = [0, 1, 0, 0, 1, 1];
        let order = [3, 4, 0, 5, 2, 1];
        assert_eq!(cluster_picks(&cluster_of, &[1, 2], &order), [3, 4, 5]);
        assert_eq!(cluster_picks(&cluster_of, &[3, 0], &order), [3, 0, 2]);
    }

    #[test]
    fn neighbour_kl_is_the_divergence_from_the_weighted_mean_of_known_neighbours() {
        // Path 0 - 1 - 2 with weights 1 (0-1) and 3 (1-2); item 3 alone.
        let graph = Csr::from_triples(4, &[(0, 1, 1.0), (1, 0, 1.0), (1, 2, 3.0), (2, 1, 3.0)]);
        let pool = [
            1.0, 0.0, // 0
            0.5, 0.5, // 1
            0.0, 1.0, // 2
            0.2, 0.8, // 3
        ];
        let known = [true, true, true, true];
        let means = neighbour_means(&[1, 0, 3], &pool, &known, 2, &graph);
        // Item 1: (1·[1, 0] + 3·[0, 1]) / 4; item 0: item 1's row; item 3: its own row.
        assert_eq!(means, [0.25, 0.75, 0.5, 0.5, 0.2, 0.8]);
        let kl = neighbour_kl(&[0.5, 0.5, 1.0, 0.0, 0.2, 0.8], &means, 2);
        // 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 ln(4/3) = 0.143841; ln 2; 0.
        assert!((kl[0] - 0.5 * (4.0f32 / 3.0).ln()).abs() < 1e-6, "{kl:?}");
        assert!((kl[1] - 2.0f32.ln()).abs() < 1e-6, "{kl:?}");
        assert_eq!(kl[2], 0.0);
        // Unknown neighbours are left out: item 1 with item 2 unknown sees only item 0.
        let means = neighbour_means(&[1], &pool, &[true, true, false, true], 2, &graph);
        assert_eq!(means, [1.0, 0.0]);
        // A class the neighbours never predict costs ln(p / 1e-6), not infinity.
        let kl = neighbour_kl(&[0.5, 0.5], &means, 2);
        let expected = 0.5 * 0.5f32.ln() + 0.5 * (0.5f32 / 1e-6).ln();
        assert!((kl[0] - expected).abs() < 1e-4, "{kl:?}");
    }

    #[test]
    fn adversarial_weights_the_rank_of_the_odds_of_being_unlabeled_by_margin() {
        // Odds 0.999, 0.99, 0.9999, 0.5: surest first 2, 0, 1, 3 → 1, 3/4, 1/2, 1/4.
        let scores = adversarial(&[0.999, 0.99, 0.9999, 0.5], &[0.5, 1.0, 0.2, 1.0]);
        assert_eq!(scores, [0.375, 0.5, 0.2, 0.25]);
    }
}
