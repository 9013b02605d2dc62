//! Audit picks: a ranking's every `every`-th place given to an item drawn at random
//! from the whole ranking. A strategy's picks are where its predictor is weakest, so
//! their labels say little about how right or how sure the predictor is elsewhere; the
//! audit picks' labels are a fair sample of the pool, which the learner uses to judge
//! its predictors and fit their calibration. The person does not see which items they
//! are.

use glean_core::ranking::{RankedItem, Ranking};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// At most this many audit picks in one ranking: more places than a person labels
/// before the next ranking arrives.
pub const MAX_AUDITS: usize = 64;

/// Gives places `every - 1`, `2 · every - 1`, … (up to `MAX_AUDITS` of them) of
/// `ranking` to items drawn uniformly at random (seeded by `seed`) from all its items,
/// marked `audit`; the other items keep their order. `every` below 2 changes nothing.
pub fn interleave(ranking: &mut Ranking, every: usize, seed: u64) {
    let n = ranking.items.len();
    if every < 2 || n < every {
        return;
    }
    let count = (n / every).min(MAX_AUDITS);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6175_6469_745f_7069);
    let drawn = sample(&mut rng, n, count).into_vec();
    let mut is_drawn = vec![false; n];
    for &p in &drawn {
        is_drawn[p] = true;
    }
    let items = std::mem::take(&mut ranking.items);
    // In the order drawn (random), so that each audit place gets a uniform draw.
    let mut audits = drawn
        .iter()
        .map(|&p| RankedItem {
            audit: true,
            ..items[p].clone()
        })
        .collect::<Vec<_>>()
        .into_iter();
    let mut rest = items
        .into_iter()
        .enumerate()
        .filter(|&(p, _)| !is_drawn[p])
        .map(|(_, item)| RankedItem {
            audit: false,
            ..item
        });
    // The audit places come before the last of the rest, so the rest never runs out
    // before the audits do.
    ranking.items = (0..n)
        .filter_map(|place| {
            let audit = ((place + 1) % every == 0).then(|| audits.next()).flatten();
            audit.or_else(|| rest.next()).or_else(|| audits.next())
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use glean_core::ranking::{RankingSource, TopClasses};
    use glean_core::strategy::Strategy;

    fn ranking(n: usize) -> Ranking {
        Ranking {
            job: 1,
            strategy: Strategy::Margin,
            source: RankingSource::Graph,
            items: (0..n)
                .map(|i| RankedItem {
                    pool_index: 100 + i,
                    score: -(i as f32),
                    top: TopClasses::new(),
                    audit: false,
                })
                .collect(),
        }
    }

    #[test]
    fn every_tenth_place_is_an_audit_and_the_rest_keep_their_order() {
        let mut r = ranking(1000);
        interleave(&mut r, 10, 7);
        let items: Vec<usize> = r.items.iter().map(|it| it.pool_index).collect();
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (100..1100).collect::<Vec<_>>(), "each item once");
        for (place, it) in r.items.iter().enumerate() {
            assert_eq!(it.audit, (place + 1) % 10 == 0 && place < 10 * MAX_AUDITS);
        }
        let rest: Vec<usize> = r
            .items
            .iter()
            .filter(|it| !it.audit)
            .map(|it| it.pool_index)
            .collect();
        assert!(
            rest.windows(2).all(|w| w[0] < w[1]),
            "the strategy's order stands"
        );
        // Drawn from the whole ranking, not from its top: most come from below place 100.
        let audits: Vec<usize> = r
            .items
            .iter()
            .filter(|it| it.audit)
            .map(|it| it.pool_index - 100)
            .collect();
        assert_eq!(audits.len(), MAX_AUDITS);
        assert!(
            audits.iter().filter(|&&p| p >= 100).count() > MAX_AUDITS / 2,
            "{audits:?}"
        );
        // Seeded: the same seed, the same picks; another seed, others.
        let mut again = ranking(1000);
        interleave(&mut again, 10, 7);
        assert_eq!(again, r);
        let mut other = ranking(1000);
        interleave(&mut other, 10, 8);
        assert_ne!(other, r);
    }

    #[test]
    fn a_short_ranking_or_no_audit_rate_is_left_alone() {
        let mut r = ranking(5);
        interleave(&mut r, 10, 1);
        assert_eq!(r, ranking(5));
        let mut r = ranking(50);
        interleave(&mut r, 0, 1);
        assert_eq!(r, ranking(50));
        let mut r = ranking(20);
        interleave(&mut r, 10, 1);
        assert_eq!(r.items.iter().filter(|it| it.audit).count(), 2);
        assert!(r.items[9].audit && r.items[19].audit);
    }
}
