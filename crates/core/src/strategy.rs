//! Query strategies over plain probabilities and embeddings (no tch here).
//!
//! One convention everywhere: a higher score means "ask this item sooner". Probabilities
//! are row-major `n × classes` slices; MC-dropout samples are `t × n × classes`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// How the next items to label are chosen. Each is declared once, in
/// [`Strategy::about`]: its name, the other names it answers to, what it asks first
/// (the CLI's help and the manual's table read it) and what its ranking needs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, strum::EnumIter,
)]
pub enum Strategy {
    Random,
    LeastConfidence,
    Margin,
    Entropy,
    /// Mutual information between prediction and weights, from MC-dropout samples.
    Bald,
    /// k-center greedy on the model's embeddings (core-set), among all candidates.
    CoreSet,
    /// k-center greedy among the `DIVERSITY_POOL_FACTOR × batch` lowest-margin items:
    /// uncertain, and not all alike.
    MarginCoreSet,
    /// The batch split between k-means clusters of the pool in proportion to the
    /// labeled items of each that the predictor gets wrong (each cluster at least one),
    /// by margin inside a cluster.
    ClusterErrors,
    /// The items a discriminator over the pool's embedding is surest are unlabeled,
    /// weighted by margin (VAAL-style: unlike what is labeled, and uncertain).
    Adversarial,
    /// The KL divergence of an item's prediction from its graph neighbours' mean
    /// prediction: items the neighbourhood disagrees with.
    NeighbourKl,
}

/// How many times the batch size `MarginCoreSet` draws its uncertain candidates from.
pub const DIVERSITY_POOL_FACTOR: usize = 10;

/// What a strategy's ranking needs beside the predictor's probabilities of the
/// candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// Several stochastic (MC-dropout) forward passes.
    pub mc_samples: bool,
    /// The candidates' embeddings (the core-set methods measure distances in them).
    pub embeddings: bool,
    /// The predictor's probabilities for the labeled items too (cluster-errors counts
    /// its mistakes there; neighbour-kl averages over neighbours, labeled ones
    /// included).
    pub labeled_predictions: bool,
    /// The pool's fixed embedding (`pool_structure.rs`): its clusters, a discriminator
    /// over it, or its neighbours.
    pub pool_structure: bool,
}

/// A strategy as the person meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// The name `--strategy` takes and every file writes.
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// What it asks first, in a line.
    pub asks_first: &'static str,
    pub needs: Needs,
}

impl Strategy {
    /// The one declaration of each strategy.
    pub const fn about(self) -> About {
        const NONE: Needs = Needs {
            mc_samples: false,
            embeddings: false,
            labeled_predictions: false,
            pool_structure: false,
        };
        let (name, aliases, asks_first, needs): (_, &[&str], _, _) = match self {
            Strategy::Random => (
                "random",
                &[],
                "a seeded shuffle: labeling without active learning",
                NONE,
            ),
            Strategy::LeastConfidence => (
                "least-confidence",
                &["lc", "least-confident", "confidence"],
                "the lowest top probability",
                NONE,
            ),
            Strategy::Margin => (
                "margin",
                &[],
                "the smallest gap between the two likeliest classes (the default)",
                NONE,
            ),
            Strategy::Entropy => ("entropy", &[], "the most spread-out prediction", NONE),
            Strategy::Bald => (
                "bald",
                &[],
                "the most disagreement between MC-dropout passes (mutual information)",
                Needs {
                    mc_samples: true,
                    ..NONE
                },
            ),
            Strategy::CoreSet => (
                "coreset",
                &["core-set", "kcenter", "k-center"],
                "k-center greedy in the network's embedding, over the whole pool",
                Needs {
                    embeddings: true,
                    ..NONE
                },
            ),
            Strategy::MarginCoreSet => (
                "margin-coreset",
                &[],
                "k-center greedy among the 10 × batch smallest margins",
                Needs {
                    embeddings: true,
                    ..NONE
                },
            ),
            Strategy::ClusterErrors => (
                "cluster-errors",
                &[],
                "each batch split between k-means clusters of the pool by the labels the \
                 predictor gets wrong in each; by margin inside a cluster",
                Needs {
                    labeled_predictions: true,
                    pool_structure: true,
                    ..NONE
                },
            ),
            Strategy::Adversarial => (
                "adversarial",
                &["vaal", "discriminator"],
                "what a discriminator is surest is unlike the labeled items, times the \
                 margin (VAAL)",
                Needs {
                    pool_structure: true,
                    ..NONE
                },
            ),
            Strategy::NeighbourKl => (
                "neighbour-kl",
                &["neighbor-kl", "neighbour-kl-divergence"],
                "the largest KL divergence from its kNN neighbours' mean prediction",
                Needs {
                    labeled_predictions: true,
                    pool_structure: true,
                    ..NONE
                },
            ),
        };
        About {
            name,
            aliases,
            asks_first,
            needs,
        }
    }

    /// Every strategy, in declaration order.
    pub fn all() -> impl Iterator<Item = Strategy> {
        <Strategy as strum::IntoEnumIterator>::iter()
    }

    pub fn name(self) -> &'static str {
        self.about().name
    }

    /// Whether scoring needs several stochastic (MC-dropout) forward passes.
    pub fn needs_mc_samples(self) -> bool {
        self.about().needs.mc_samples
    }

    /// Whether ranking needs the candidates' embeddings.
    pub fn needs_embeddings(self) -> bool {
        self.about().needs.embeddings
    }

    /// Whether ranking needs the predictor's probabilities for the labeled items too.
    pub fn needs_labeled_predictions(self) -> bool {
        self.about().needs.labeled_predictions
    }

    /// Whether ranking reads the pool's fixed embedding.
    pub fn needs_pool_structure(self) -> bool {
        self.about().needs.pool_structure
    }

    /// The names, comma-separated, for messages and help.
    pub fn names() -> String {
        Strategy::all()
            .map(Strategy::name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Strategy::all()
            .find(|st| {
                let about = st.about();
                about.name == wanted || about.aliases.contains(&wanted.as_str())
            })
            .ok_or_else(|| {
                format!(
                    "unknown strategy `{s}` (expected one of: {})",
                    Strategy::names()
                )
            })
    }
}

/// Parses `margin,random,...` into strategies, rejecting empty lists and unknown names.
pub fn parse_list(list: &str) -> Result<Vec<Strategy>, String> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let st: Strategy = part.parse()?;
        if !out.contains(&st) {
            out.push(st);
        }
    }
    if out.is_empty() {
        return Err("no strategy given".into());
    }
    Ok(out)
}

fn rows(probs: &[f32], classes: usize) -> std::slice::Chunks<'_, f32> {
    assert!(
        classes > 0 && probs.len().is_multiple_of(classes),
        "probabilities are not n × classes"
    );
    probs.chunks(classes)
}

/// `1 − max p`.
pub fn least_confidence(probs: &[f32], classes: usize) -> Vec<f32> {
    rows(probs, classes)
        .map(|row| 1.0 - row.iter().copied().fold(f32::MIN, f32::max))
        .collect()
}

/// `1 − (p₁ − p₂)` where p₁ ≥ p₂ are the two largest probabilities.
pub fn margin(probs: &[f32], classes: usize) -> Vec<f32> {
    rows(probs, classes)
        .map(|row| {
            let (mut first, mut second) = (f32::MIN, f32::MIN);
            for &p in row {
                if p > first {
                    second = first;
                    first = p;
                } else if p > second {
                    second = p;
                }
            }
            if classes == 1 {
                second = 0.0;
            }
            1.0 - (first - second)
        })
        .collect()
}

fn row_entropy(row: &[f32]) -> f32 {
    -row.iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| p * p.ln())
        .sum::<f32>()
}

/// Shannon entropy `−Σ p ln p` (nats).
pub fn entropy(probs: &[f32], classes: usize) -> Vec<f32> {
    rows(probs, classes).map(row_entropy).collect()
}

/// BALD: `H(mean_t p_t) − mean_t H(p_t)` from `t` MC-dropout samples laid out
/// `t × n × classes`.
pub fn bald(samples: &[f32], t: usize, classes: usize) -> Vec<f32> {
    assert!(
        t > 0 && samples.len().is_multiple_of(t * classes),
        "samples are not t × n × classes"
    );
    let n = samples.len() / (t * classes);
    let mean = mean_probs(samples, t);
    let mut expected_entropy = vec![0.0f32; n];
    for pass in samples.chunks(n * classes) {
        for (acc, row) in expected_entropy.iter_mut().zip(pass.chunks(classes)) {
            *acc += row_entropy(row) / t as f32;
        }
    }
    mean.chunks(classes)
        .zip(expected_entropy)
        // Rounding can make the difference a hair below zero; information is never negative.
        .map(|(row, eh)| (row_entropy(row) - eh).max(0.0))
        .collect()
}

/// Mean over the `t` passes of `t × n × classes` samples: the predictive distribution.
pub fn mean_probs(samples: &[f32], t: usize) -> Vec<f32> {
    let per_pass = samples.len() / t;
    let mut mean = vec![0.0f32; per_pass];
    for pass in samples.chunks(per_pass) {
        for (m, &p) in mean.iter_mut().zip(pass) {
            *m += p / t as f32;
        }
    }
    mean
}

/// Uniform random scores in [0, 1), seeded.
pub fn random_scores(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random::<f32>()).collect()
}

/// Positions of the `k` highest scores, highest first; ties go to the lower position and
/// NaN scores come last, so the order is total and deterministic.
pub fn top_k(scores: &[f32], k: usize) -> Vec<usize> {
    let mut order = rank_order(scores);
    order.truncate(k);
    order
}

/// All positions sorted by descending score (ties: lower position first, NaN last).
pub fn rank_order(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (scores[a], scores[b]);
        match (sa.is_nan(), sb.is_nan()) {
            (true, true) => a.cmp(&b),
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => sb
                .partial_cmp(&sa)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b)),
        }
    });
    order
}

/// A seeded random subset of `0..n` of size `min(m, n)`, in ascending order.
pub fn random_subset(n: usize, m: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut all: Vec<usize> = (0..n).collect();
    let (chosen, _) = all.partial_shuffle(&mut rng, m.min(n));
    let mut chosen = chosen.to_vec();
    chosen.sort_unstable();
    chosen
}

/// `count` items drawn at random with the classes as even as `labels` allow (the
/// papers' protocol: "random class-balanced labels"): `count / classes` of every class,
/// the remainder one each to classes drawn at random; a class with too few items gives
/// all it has and the rest come from the others. Sorted pool indices.
pub fn balanced_random_subset(
    labels: &[u16],
    classes: usize,
    count: usize,
    seed: u64,
) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &c) in labels.iter().enumerate() {
        if let Some(items) = by_class.get_mut(c as usize) {
            items.push(i);
        }
    }
    for items in &mut by_class {
        items.shuffle(&mut rng);
    }
    let count = count.min(by_class.iter().map(Vec::len).sum());
    let mut class_order: Vec<usize> = (0..classes).collect();
    class_order.shuffle(&mut rng);
    // Round-robin over the classes in a random order: even shares, the remainder spread.
    let mut taken = vec![0usize; classes];
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count {
        for &c in &class_order {
            if chosen.len() == count {
                break;
            }
            if let Some(&i) = by_class[c].get(taken[c]) {
                chosen.push(i);
                taken[c] += 1;
            }
        }
    }
    chosen.sort_unstable();
    chosen
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Row `i` of a row-major `n × dim` matrix.
fn row(data: &[f32], dim: usize, i: usize) -> &[f32] {
    &data[i * dim..(i + 1) * dim]
}

/// k-center greedy (Sener & Savarese's core-set): repeatedly picks the candidate farthest
/// from everything labeled or already picked. `embeddings` is `n × dim`; `candidates` and
/// `labeled` index its rows. Returns the picks in order, with each pick's distance to
/// its nearest centre at the time it was chosen (its score). With nothing labeled the
/// first pick is the candidate farthest from the candidates' mean.
pub fn k_center_greedy(
    embeddings: &[f32],
    dim: usize,
    candidates: &[usize],
    labeled: &[usize],
    k: usize,
) -> Vec<(usize, f32)> {
    let mut min_sq: Vec<f32> = candidates
        .par_iter()
        .map(|&c| {
            let x = row(embeddings, dim, c);
            labeled
                .iter()
                .map(|&l| squared_distance(x, row(embeddings, dim, l)))
                .fold(f32::INFINITY, f32::min)
        })
        .collect();
    if labeled.is_empty() && !candidates.is_empty() {
        let mut mean = vec![0.0f32; dim];
        for &c in candidates {
            for (m, v) in mean.iter_mut().zip(row(embeddings, dim, c)) {
                *m += v / candidates.len() as f32;
            }
        }
        for (d, &c) in min_sq.iter_mut().zip(candidates) {
            *d = squared_distance(row(embeddings, dim, c), &mean);
        }
    }
    k_center_greedy_from(embeddings, dim, candidates, min_sq, k)
}

/// The greedy loop of [`k_center_greedy`], given each candidate's squared distance to
/// its nearest labeled item (computed elsewhere, e.g. with one big matrix product).
pub fn k_center_greedy_from(
    embeddings: &[f32],
    dim: usize,
    candidates: &[usize],
    mut min_sq: Vec<f32>,
    k: usize,
) -> Vec<(usize, f32)> {
    assert_eq!(min_sq.len(), candidates.len());
    let mut picks = Vec::with_capacity(k.min(candidates.len()));
    for _ in 0..k.min(candidates.len()) {
        let best = top_k(&min_sq, 1)[0];
        picks.push((candidates[best], min_sq[best].max(0.0).sqrt()));
        let centre = row(embeddings, dim, candidates[best]).to_vec();
        min_sq
            .par_iter_mut()
            .zip(candidates.par_iter())
            .for_each(|(d, &c)| *d = d.min(squared_distance(row(embeddings, dim, c), &centre)));
        min_sq[best] = f32::NEG_INFINITY;
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} != {b:?}");
        }
    }

    #[test]
    fn balanced_random_takes_even_shares_and_spreads_the_rest() {
        // Class 0 has 10 items, class 1 six, class 2 only two.
        let labels: Vec<u16> = [vec![0u16; 10], vec![1; 6], vec![2; 2]].concat();
        let count_of = |picks: &[usize], c: u16| picks.iter().filter(|&&i| labels[i] == c).count();
        let six = balanced_random_subset(&labels, 3, 6, 1);
        assert_eq!([0, 1, 2].map(|c| count_of(&six, c)), [2, 2, 2]);
        // Seven: one class gets a third, which one depends on the seed.
        let seven = balanced_random_subset(&labels, 3, 7, 1);
        let mut counts = [0, 1, 2].map(|c| count_of(&seven, c));
        counts.sort_unstable();
        assert_eq!(counts, [2, 2, 3]);
        // Class 2 runs out at two; the others share the rest.
        let twelve = balanced_random_subset(&labels, 3, 12, 4);
        assert_eq!([0, 1, 2].map(|c| count_of(&twelve, c)), [5, 5, 2]);
        assert_eq!(balanced_random_subset(&labels, 3, 100, 4).len(), 18);
        // Seeded: the same seed, the same items; sorted and distinct.
        assert_eq!(six, balanced_random_subset(&labels, 3, 6, 1));
        assert_ne!(six, balanced_random_subset(&labels, 3, 6, 2));
        assert!(twelve.windows(2).all(|w| w[0] < w[1]));
    }

    const PROBS: [f32; 9] = [
        0.7,
        0.2,
        0.1, // confident
        0.4,
        0.35,
        0.25, // unsure, close top two
        1.0 / 3.0,
        1.0 / 3.0,
        1.0 / 3.0, // uniform
    ];

    #[test]
    fn least_confidence_is_one_minus_max() {
        close(&least_confidence(&PROBS, 3), &[0.3, 0.6, 2.0 / 3.0]);
    }

    #[test]
    fn margin_is_one_minus_top_two_gap() {
        close(&margin(&PROBS, 3), &[0.5, 0.95, 1.0]);
        // Order of the classes does not matter.
        close(&margin(&[0.1, 0.2, 0.7], 3), &[0.5]);
    }

    #[test]
    fn entropy_matches_hand_values() {
        let e0 = -(0.7f32 * 0.7f32.ln() + 0.2 * 0.2f32.ln() + 0.1 * 0.1f32.ln());
        let e1 = -(0.4f32 * 0.4f32.ln() + 0.35 * 0.35f32.ln() + 0.25 * 0.25f32.ln());
        close(&entropy(&PROBS, 3), &[e0, e1, 3.0f32.ln()]);
        close(&entropy(&[1.0, 0.0], 2), &[0.0]);
    }

    #[test]
    fn bald_is_disagreement_between_passes() {
        // Item 0: both passes say [1, 0] → no disagreement. Item 1: passes say [1, 0] and
        // [0, 1] → mean [0.5, 0.5], H(mean) = ln 2, mean H = 0 → BALD = ln 2.
        // Item 2: both [0.5, 0.5] → H(mean) = ln 2 = mean H → 0 (uncertain, but not
        // about the weights).
        let samples = [
            1.0, 0.0, 1.0, 0.0, 0.5, 0.5, // pass 1
            1.0, 0.0, 0.0, 1.0, 0.5, 0.5, // pass 2
        ];
        close(&bald(&samples, 2, 2), &[0.0, 2.0f32.ln(), 0.0]);
        close(&mean_probs(&samples, 2), &[1.0, 0.0, 0.5, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn higher_score_means_less_sure_for_every_uncertainty_measure() {
        for scores in [
            least_confidence(&PROBS, 3),
            margin(&PROBS, 3),
            entropy(&PROBS, 3),
        ] {
            assert_eq!(rank_order(&scores), vec![2, 1, 0]);
        }
    }

    #[test]
    fn top_k_breaks_ties_by_position_and_puts_nan_last() {
        let scores = [0.5, f32::NAN, 0.9, 0.5, 0.9];
        assert_eq!(top_k(&scores, 3), vec![2, 4, 0]);
        assert_eq!(rank_order(&scores), vec![2, 4, 0, 3, 1]);
        assert_eq!(top_k(&scores, 10).len(), 5);
    }

    #[test]
    fn random_is_seeded() {
        assert_eq!(random_scores(5, 7), random_scores(5, 7));
        assert_ne!(random_scores(5, 7), random_scores(5, 8));
        let s = random_subset(100, 10, 3);
        assert_eq!(s, random_subset(100, 10, 3));
        assert_eq!(s.len(), 10);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(random_subset(5, 10, 3), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn k_center_picks_farthest_from_labeled_first() {
        // Points on a line: 0, 1, 2, 10, 11. Labeled: point 0 (x=0).
        let xs = [0.0f32, 1.0, 2.0, 10.0, 11.0];
        let picks = k_center_greedy(&xs, 1, &[1, 2, 3, 4], &[0], 2);
        // First the farthest (x=11, distance 11); then, measured to {0, 11}: x=2 (2) beats
        // x=1 (1) and x=10 (1).
        assert_eq!(picks[0].0, 4);
        assert!((picks[0].1 - 11.0).abs() < 1e-5);
        assert_eq!(picks[1].0, 2);
        assert!((picks[1].1 - 2.0).abs() < 1e-5);
    }

    #[test]
    fn parses_strategy_lists() {
        assert_eq!(
            parse_list("margin, random,bald,margin").unwrap(),
            vec![Strategy::Margin, Strategy::Random, Strategy::Bald]
        );
        assert_eq!(
            "least_confidence".parse::<Strategy>(),
            Ok(Strategy::LeastConfidence)
        );
        assert!(parse_list("margin,nope").unwrap_err().contains("nope"));
        assert!(parse_list("").is_err());
        for st in Strategy::all() {
            assert_eq!(st.name().parse::<Strategy>(), Ok(st));
            for alias in st.about().aliases {
                assert_eq!(alias.parse::<Strategy>(), Ok(st), "{alias}");
            }
        }
        assert_eq!(Strategy::all().count(), 10);
        // No name or alias answers for two strategies.
        let mut names: Vec<&str> = Strategy::all()
            .flat_map(|st| std::iter::once(st.name()).chain(st.about().aliases.iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
