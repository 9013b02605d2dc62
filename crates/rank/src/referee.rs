//! Which of the hybrid learner's predictions to use: the graph's alone, or the average
//! of the graph's and the network's. Each round's graph and network predictions for the
//! still unlabeled pool are remembered; when the next labels arrive, both are scored on
//! them, on items neither had seen labeled. No test split is needed, so the labeler
//! decides the same way as `glean simulate`, and the choice cannot peek at the test set
//! it is measured on.
//!
//! The fresh labels are not a fair sample: they are the items the predictor that
//! ranked was least sure of, so that predictor always looks worse on them than it is.
//! Picking whichever was right most often made the choice flip (MNIST, margin: the
//! graph taken back at 400 labels with the blend at 98.7 % and the graph at 97.9 %), and
//! a sign test against the current pick only made the wrong stretches last longer
//! (8-10 rounds at 97.9 % when the blend was at 98.9 %). What is nearly fair is graph
//! against network while the blend ranks: the blend is unsure where the two disagree.
//! Nearly, because the blend's doubt follows the sharper network's, so a healthy network
//! still loses more of those labels than it wins (see `HEALTHY_GRAPH_SHARE`). So the
//! referee asks one question of the window: on the labels only one of them got right,
//! does the graph win more than it does against a healthy network, by `SWITCH_Z`
//! standard deviations? Then the network is failing, and the graph ranks and predicts
//! alone. Otherwise their blend does, which on MNIST beats each of them alone from
//! about 40 labels on, and beats the graph even while the network is several points
//! behind it (`tests/it/learn_referee.rs`).

use std::collections::VecDeque;

/// Fresh labels the choice looks back over.
pub const WINDOW: usize = 200;
/// Fresh labels needed before anything but the graph is trusted: the graph is the
/// stronger one at very few labels, and a handful of labels is noise.
pub const MIN_EVIDENCE: usize = 20;

/// The share of the labels only one of them got right that the graph wins against a
/// healthy network, at most. On MNIST with margin the share climbs from 0.55 at 100
/// labels to 0.62-0.66 past 600, while the network stays 0.6-0.9 points ahead of the
/// graph on the test split: the more labels, the sharper the network and the more the
/// blend's doubt follows it. A network that learned nothing (one class everywhere) lost
/// 80 of 92 at 180 labels (`tests/it/learn_referee.rs`).
pub const HEALTHY_GRAPH_SHARE: f64 = 2.0 / 3.0;

/// How many standard deviations the graph's share must pass `HEALTHY_GRAPH_SHARE` by for
/// the graph to be used alone. Testing against an even share instead (at 2 and then 4
/// standard deviations) gave the graph a healthy network's rounds: 7 of 93 rounds at 2,
/// 7 of 270 at 4, each at about 98.0 % while the blend stood at 98.7-99.0 % (MNIST,
/// margin, to 1,000 labels).
pub const SWITCH_Z: f64 = 3.0;

const NONE: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Graph,
    Blend,
}

/// Positions in `Referee::window` and `Referee::predicted`.
const GRAPH: usize = 0;
const NETWORK: usize = 1;

#[derive(Debug)]
pub struct Referee {
    current: Pick,
    /// Per fresh label: whether the graph and the network had it right.
    window: VecDeque<[bool; 2]>,
    labeled: Vec<bool>,
    /// The graph's and the network's class per pool item (`NONE`: no prediction).
    predicted: [Vec<u16>; 2],
}

impl Default for Referee {
    fn default() -> Self {
        Self {
            current: Pick::Graph,
            window: VecDeque::new(),
            labeled: Vec::new(),
            predicted: Default::default(),
        }
    }
}

impl Referee {
    /// Scores the remembered predictions on the labels that are new since they were
    /// made.
    pub fn observe(&mut self, labeled: &[(usize, u16)]) {
        if self.labeled.is_empty() {
            return;
        }
        for &(i, class) in labeled {
            if self.labeled.get(i).copied().unwrap_or(true) {
                continue;
            }
            let hits = [GRAPH, NETWORK].map(|p| self.predicted[p].get(i) == Some(&class));
            let any = (0..2).any(|p| self.predicted[p].get(i).is_some_and(|&c| c != NONE));
            if any {
                self.window.push_back(hits);
                if self.window.len() > WINDOW {
                    self.window.pop_front();
                }
            }
            // Scored once, even if the same item comes again in a later job.
            self.labeled[i] = true;
        }
        self.reconsider();
    }

    /// The predictor to use now.
    pub fn pick(&self) -> Pick {
        self.current
    }

    /// The graph alone when it beats the network by more than it beats a healthy one,
    /// else the blend.
    fn reconsider(&mut self) {
        if self.window.len() < MIN_EVIDENCE {
            return;
        }
        self.current = if self.graph_lead() > SWITCH_Z {
            Pick::Graph
        } else {
            Pick::Blend
        };
    }

    /// How far the graph's share of the labels only one of them got right passes
    /// `HEALTHY_GRAPH_SHARE`, in standard deviations of that share were it the true one
    /// (0 without such labels).
    pub fn graph_lead(&self) -> f64 {
        let [graph, network] = self.split();
        let split = (graph + network) as f64;
        if split == 0.0 {
            return 0.0;
        }
        let p = HEALTHY_GRAPH_SHARE;
        (graph as f64 - p * split) / (split * p * (1.0 - p)).sqrt()
    }

    /// Over the window, the labels only the graph got right and those only the network
    /// got right.
    pub fn split(&self) -> [usize; 2] {
        self.window.iter().fold([0, 0], |[g, n], h| {
            [
                g + (h[GRAPH] && !h[NETWORK]) as usize,
                n + (h[NETWORK] && !h[GRAPH]) as usize,
            ]
        })
    }

    /// Right answers of the graph and the network over the window.
    #[cfg(test)]
    fn hits(&self) -> [usize; 2] {
        let mut hits = [0; 2];
        for h in &self.window {
            for p in [GRAPH, NETWORK] {
                hits[p] += h[p] as usize;
            }
        }
        hits
    }

    /// Fresh labels in the window.
    #[cfg(test)]
    fn evidence(&self) -> usize {
        self.window.len()
    }

    /// The share of the items the network scored in the last remembered round on which
    /// it and the graph predict different classes.
    pub fn disagreement(&self) -> f64 {
        let (mut scored, mut differ) = (0usize, 0usize);
        for (g, n) in self.predicted[GRAPH].iter().zip(&self.predicted[NETWORK]) {
            if *n != NONE {
                scored += 1;
                differ += (g != n) as usize;
            }
        }
        differ as f64 / scored.max(1) as f64
    }

    /// Remembers this round's predictions of the graph and the network, one entry per
    /// pool item (None: that predictor did not score the item).
    pub fn remember(&mut self, is_labeled: &[bool], predicted: [Vec<Option<u16>>; 2]) {
        self.labeled = is_labeled.to_vec();
        self.predicted = predicted.map(|p| p.into_iter().map(|c| c.unwrap_or(NONE)).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(n: usize, graph: u16, network: u16) -> [Vec<Option<u16>>; 2] {
        [vec![Some(graph); n], vec![Some(network); n]]
    }

    #[test]
    fn the_graph_leads_until_there_is_evidence_then_the_blend() {
        let mut r = Referee::default();
        assert_eq!(r.pick(), Pick::Graph);
        // 100 items, none labeled; the network says 1 everywhere, the graph 0.
        r.remember(&[false; 100], preds(100, 0, 1));
        // 15 fresh labels of class 1: the network is right, but that is too little.
        let labels: Vec<(usize, u16)> = (0..15).map(|i| (i, 1)).collect();
        r.observe(&labels);
        assert_eq!((r.evidence(), r.pick()), (15, Pick::Graph));
        // Seen labels are not scored twice; 10 new ones make the evidence enough.
        let more: Vec<(usize, u16)> = (0..25).map(|i| (i, 1)).collect();
        r.observe(&more);
        assert_eq!(r.evidence(), 25);
        assert_eq!(r.hits(), [0, 25]);
        assert_eq!(r.split(), [0, 25]);
        // 0 wins where a healthy network would concede 25·⅔, whose sd is √(25·⅔·⅓).
        assert!((r.graph_lead() + 50.0 / 3.0 / (50.0f64 / 9.0).sqrt()).abs() < 1e-9);
        assert_eq!(r.disagreement(), 1.0);
        // Only the items the network scored count.
        r.remember(
            &[false; 4],
            [
                vec![Some(0), Some(0), Some(0), Some(2)],
                vec![Some(0), None, Some(1), None],
            ],
        );
        assert_eq!(r.disagreement(), 0.5);
        assert_eq!(r.pick(), Pick::Blend);
    }

    #[test]
    fn the_graph_is_used_alone_only_when_it_clearly_beats_the_network() {
        // Every item: the graph says 0, the network 1.
        let mut r = Referee::default();
        let mut is_labeled = vec![false; 1000];
        let mut next = 0;
        let mut label = |r: &mut Referee, class: u16, n: usize| {
            r.remember(&is_labeled, preds(1000, 0, 1));
            let labels: Vec<(usize, u16)> = (next..next + n).map(|i| (i, class)).collect();
            r.observe(&labels);
            is_labeled[next..next + n]
                .iter_mut()
                .for_each(|l| *l = true);
            next += n;
        };
        label(&mut r, 0, 70);
        label(&mut r, 1, 30);
        // The graph wins 70 of 100: more than half, but not past what it wins against a
        // healthy network.
        assert_eq!(r.hits(), [70, 30]);
        assert!((r.graph_lead() - 0.707).abs() < 1e-3, "{}", r.graph_lead());
        assert_eq!(r.pick(), Pick::Blend);
        label(&mut r, 0, 40);
        // 110 of 140: 16.7 past ⅔ of 140, under 3 · √(140·⅔·⅓) ≈ 16.73.
        assert!((r.graph_lead() - 2.988).abs() < 1e-3, "{}", r.graph_lead());
        assert_eq!(r.pick(), Pick::Blend);
        label(&mut r, 0, 1);
        // 111 of 141: 17 past ⅔, over 3 · 5.60.
        assert_eq!(r.pick(), Pick::Graph);
        label(&mut r, 1, 5);
        // 111 of 146: the blend again.
        assert_eq!(r.pick(), Pick::Blend);
        // Old evidence ages out: a whole window of graph-only hits.
        label(&mut r, 0, WINDOW);
        assert_eq!(r.evidence(), WINDOW);
        assert_eq!(r.hits(), [WINDOW, 0]);
        assert_eq!(r.pick(), Pick::Graph);
    }
}
