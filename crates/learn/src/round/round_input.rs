//! What a round works on: the labels given, checked, and what every ranking of the round
//! shares (the candidates, the labeled rows on the device, the strategy, the seed).

use std::collections::HashMap;

use tch::{Device, Tensor};

use crate::backbone::zero_shot::{refine_with_prior, ZeroShotPrior};
use crate::config::ClusterPick;
use crate::graph::cpu_floats;
use crate::ranking::{top_classes, Ranking};
use crate::round::prior_blend::PriorBlend;
use crate::strategies::pool_structure::PoolStructure;
use crate::strategy::Strategy;
use crate::LearnError;
use glean_rank::select::PoolContext;
use glean_rank::Csr;

/// Labeled pool indices and classes, checked, each item once.
pub(crate) struct Labeled {
    pub(crate) indices: Vec<usize>,
    pub(crate) classes: Vec<i64>,
}

impl Labeled {
    /// Checks `labeled` (pool index, class) against a pool of `pool_len` items and
    /// `classes` classes; a relabeled item counts once, with its newest label.
    pub(crate) fn check(
        labeled: &[(usize, u16)],
        pool_len: usize,
        classes: usize,
    ) -> Result<Labeled, LearnError> {
        let mut seen = vec![false; pool_len];
        let mut indices = Vec::with_capacity(labeled.len());
        let mut classes_of = Vec::with_capacity(labeled.len());
        for &(i, c) in labeled {
            if i >= pool_len {
                return Err(LearnError::Data(format!(
                    "pool index {i} is beyond the {pool_len} pool items"
                )));
            }
            if c as usize >= classes {
                return Err(LearnError::Data(format!(
                    "class {c} is not below the {classes} classes"
                )));
            }
            if seen[i] {
                if let Some(at) = indices.iter().position(|&j| j == i) {
                    classes_of[at] = c as i64;
                }
                continue;
            }
            seen[i] = true;
            indices.push(i);
            classes_of.push(c as i64);
        }
        Ok(Labeled {
            indices,
            classes: classes_of,
        })
    }

    pub(crate) fn pairs(&self) -> Vec<(usize, u16)> {
        self.indices
            .iter()
            .zip(&self.classes)
            .map(|(&i, &c)| (i, c as u16))
            .collect()
    }

    /// Moves the first `first` labels and those of the items in `audited` to the front,
    /// each part in its order, and counts them.
    pub(crate) fn put_first(&mut self, first: usize, audited: &[usize]) -> usize {
        let n = self.indices.len();
        let audited: std::collections::HashSet<usize> = audited.iter().copied().collect();
        let front: Vec<bool> = (0..n)
            .map(|at| at < first || audited.contains(&self.indices[at]))
            .collect();
        let order: Vec<usize> = (0..n)
            .filter(|&at| front[at])
            .chain((0..n).filter(|&at| !front[at]))
            .collect();
        self.indices = order.iter().map(|&at| self.indices[at]).collect();
        self.classes = order.iter().map(|&at| self.classes[at]).collect();
        front.iter().filter(|&&f| f).count()
    }

    /// Which of `pool_len` items are labeled.
    pub(crate) fn mask(&self, pool_len: usize) -> Vec<bool> {
        let mut is_labeled = vec![false; pool_len];
        for &i in &self.indices {
            is_labeled[i] = true;
        }
        is_labeled
    }
}

/// What every ranking of one round shares, the graph's and the network's alike.
pub(crate) struct RankingInputs<'a> {
    /// The unlabeled items to rank (a random subset with `--pool-subset`).
    pub(crate) candidates: &'a [usize],
    /// `candidates` as i64 indices on the device.
    pub(crate) candidate_rows: &'a Tensor,
    /// The labeled pool indices on the device (the core-set methods' distances).
    pub(crate) labeled_rows: &'a Tensor,
    /// (pool index, class), in `labeled_rows`' order.
    pub(crate) labeled: &'a [(usize, u16)],
    pub(crate) pool_len: usize,
    pub(crate) strategy: Strategy,
    pub(crate) batch: usize,
    pub(crate) classes: usize,
    pub(crate) job: u64,
    pub(crate) seed: u64,
    /// Every this many places of a ranking, an audit pick (`glean_rank::audit`); 0: none.
    pub(crate) audit_every: usize,
    /// The pool's clusters and embedding, for the strategies that read them.
    pub(crate) structure: Option<&'a PoolStructure>,
    /// The discriminator's odds for the candidates (adversarial).
    pub(crate) unlabeled_odds: Option<&'a [f32]>,
    pub(crate) cluster_pick: ClusterPick,
    /// The zero-shot head's prior for this round's candidates and test items, where the
    /// learner has one: every prediction the round hands out is refined into it.
    pub(crate) prior: Option<&'a RoundPrior>,
}

/// The zero-shot prior as one round reads it (`zero_shot::refine_with_prior`).
pub(crate) struct RoundPrior {
    candidates: Tensor,
    test: Tensor,
    /// `[classes]`: 1 for each class with a label.
    known: Tensor,
    blend: PriorBlend,
}

impl RoundPrior {
    pub(crate) fn new(
        prior: &ZeroShotPrior,
        candidate_rows: &Tensor,
        labeled: &[(usize, u16)],
        blend: PriorBlend,
        classes: usize,
        device: Device,
    ) -> Result<RoundPrior, LearnError> {
        let mut known = vec![0f32; classes];
        for &(_, c) in labeled {
            known[usize::from(c)] = 1.0;
        }
        Ok(RoundPrior {
            candidates: prior.pool.f_index_select(0, candidate_rows)?,
            test: prior.test.shallow_clone(),
            known: Tensor::f_from_slice(&known)?.f_to_device(device)?,
            blend,
        })
    }
}

impl<'a> RankingInputs<'a> {
    /// The candidates' probabilities refined into the prior
    /// (`zero_shot::refine_with_prior`), before the blend with it.
    pub(crate) fn refined_only(&self, probs: Tensor) -> Result<Tensor, LearnError> {
        match self.prior {
            Some(p) => refine_with_prior(&probs, &p.candidates, &p.known),
            None => Ok(probs),
        }
    }

    /// `refined` (from `refined_only`) blended with the prior, as handed out.
    pub(crate) fn blended(&self, refined: &Tensor) -> Result<Tensor, LearnError> {
        match self.prior {
            Some(p) => p.blend.apply(refined, &p.candidates),
            None => Ok(refined.shallow_clone()),
        }
    }

    /// Where there is a prior, each of `ranking`'s items shows its classes as
    /// `handed_out` (`[candidates, classes]`, the blend) gives them: the strategy
    /// ranked by the trained predictor, the screens and files read the blend.
    pub(crate) fn show_handed_out(
        &self,
        ranking: &mut Ranking,
        handed_out: &Tensor,
    ) -> Result<(), LearnError> {
        if self.prior.is_none() {
            return Ok(());
        }
        let probs = cpu_floats(handed_out)?;
        let row: HashMap<usize, usize> = self
            .candidates
            .iter()
            .enumerate()
            .map(|(r, &i)| (i, r))
            .collect();
        let classes = self.classes;
        for item in &mut ranking.items {
            if let Some(&r) = row.get(&item.pool_index) {
                let k = item.top.len();
                item.top = top_classes(&probs[r * classes..(r + 1) * classes], k);
            }
        }
        Ok(())
    }

    /// Gives `ranking`'s audit places to random items (`glean_rank::audit`).
    pub(crate) fn place_audits(&self, ranking: &mut Ranking) {
        glean_rank::audit::interleave(ranking, self.audit_every, self.seed);
    }

    /// The same for the test items' probabilities.
    pub(crate) fn refined_test(&self, probs: Tensor) -> Result<Tensor, LearnError> {
        match self.prior {
            Some(p) if p.test.size()[0] > 0 => p
                .blend
                .apply(&refine_with_prior(&probs, &p.test, &p.known)?, &p.test),
            _ => Ok(probs),
        }
    }

    /// The pool context of a ranking by a predictor whose probabilities for the labeled
    /// items are `labeled_probs`, over the graph `neighbours` (the learner's, or the
    /// structure's own when it has none).
    pub(crate) fn pool_context(
        &self,
        labeled_probs: Option<Vec<f32>>,
        neighbours: Option<&'a Csr>,
    ) -> PoolContext<'a> {
        PoolContext {
            pool_len: self.pool_len,
            labeled: self.labeled,
            labeled_probs,
            clusters: self
                .structure
                .and_then(|s| s.clusters.as_ref())
                .map(|(c, k)| (c.as_slice(), *k)),
            cluster_pick: self.cluster_pick,
            neighbours: neighbours.or(self.structure.and_then(|s| s.knn.as_ref())),
            unlabeled_odds: self.unlabeled_odds,
        }
    }
}

pub(crate) fn index_tensor(indices: &[usize], device: Device) -> Result<Tensor, LearnError> {
    let v: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Ok(Tensor::f_from_slice(&v)?.f_to_device(device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_batch_and_the_audit_picks_go_first_each_in_its_order() {
        // Item 7 is labeled twice: it counts once, with its newer class, in its place.
        let labeled = [(5, 0), (7, 1), (2, 0), (9, 1), (4, 0), (7, 0), (3, 1)];
        let mut lab = Labeled::check(&labeled, 10, 2).unwrap();
        assert_eq!(lab.indices, [5, 7, 2, 9, 4, 3]);
        // The first two, and the audit picks 9 and 3 (8 is not labeled).
        assert_eq!(lab.put_first(2, &[3, 8, 9]), 4);
        assert_eq!(lab.indices, [5, 7, 9, 3, 2, 4]);
        assert_eq!(lab.classes, [0, 0, 1, 1, 0, 0]);
        let mut lab = Labeled::check(&labeled, 10, 2).unwrap();
        assert_eq!(lab.put_first(20, &[]), 6, "a first batch beyond the labels");
        assert_eq!(lab.indices, [5, 7, 2, 9, 4, 3]);
    }
}
