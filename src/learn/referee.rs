//! Which of the hybrid learner's predictors to trust: the graph, the network, or their
//! average. Each round's predictions for the still unlabeled pool are remembered; when
//! the next labels arrive, each predictor is scored on them, on items none of them had
//! seen labeled. No test split is needed, so the labeler decides the same way as
//! `glean simulate`, and the choice cannot peek at the test set it is measured on.
//!
//! The fresh labels are not a fair sample: they are the items the predictor that
//! ranked was least sure of, so that predictor looks worse on them than it is. Picking
//! whichever was right most often therefore flipped between them (MNIST, margin: the
//! graph taken back at 400 labels with the blend at 98.7 % and the graph at 97.9 %). So
//! the referee keeps its pick until another predictor beats it by a paired sign test
//! over the window: it must win `SWITCH_Z` standard deviations more of the labels on
//! which the two disagree than it loses.

use std::collections::VecDeque;

/// Fresh labels the choice looks back over.
pub const WINDOW: usize = 200;
/// Fresh labels needed before anything but the graph is trusted: the graph is the
/// stronger one at very few labels, and a handful of labels is noise.
pub const MIN_EVIDENCE: usize = 20;

/// How many standard deviations a challenger's net wins must reach to take over.
pub const SWITCH_Z: f64 = 2.0;

const NONE: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Graph,
    Blend,
    Network,
}

impl Pick {
    /// In order of preference on a tie.
    const ALL: [Pick; 3] = [Pick::Graph, Pick::Blend, Pick::Network];
}

#[derive(Debug)]
pub struct Referee {
    current: Pick,
    /// Per fresh label: whether graph, blend and network had it right.
    window: VecDeque<[bool; 3]>,
    labeled: Vec<bool>,
    /// Each predictor's class per pool item (`NONE`: no prediction).
    predicted: [Vec<u16>; 3],
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
            let hits = [0, 1, 2].map(|p| self.predicted[p].get(i) == Some(&class));
            let any = (0..3).any(|p| self.predicted[p].get(i).is_some_and(|&c| c != NONE));
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

    /// Hands the pick to the challenger with the largest significant lead, if any.
    fn reconsider(&mut self) {
        if self.window.len() < MIN_EVIDENCE {
            return;
        }
        let mut best: Option<(Pick, usize)> = None;
        for challenger in Pick::ALL {
            let (wins, losses) = self.paired(challenger, self.current);
            let lead = wins.saturating_sub(losses);
            let significant = lead as f64 > SWITCH_Z * ((wins + losses) as f64).sqrt();
            if significant && best.is_none_or(|(_, l)| lead > l) {
                best = Some((challenger, lead));
            }
        }
        if let Some((pick, _)) = best {
            self.current = pick;
        }
    }

    /// Over the window: labels `a` had right and `b` wrong, and the reverse.
    fn paired(&self, a: Pick, b: Pick) -> (usize, usize) {
        let (a, b) = (a as usize, b as usize);
        self.window.iter().fold((0, 0), |(w, l), h| {
            (w + (h[a] && !h[b]) as usize, l + (h[b] && !h[a]) as usize)
        })
    }

    /// Right answers of graph, blend and network over the window, and its length.
    pub fn hits(&self) -> [usize; 3] {
        let mut hits = [0; 3];
        for h in &self.window {
            for p in 0..3 {
                hits[p] += h[p] as usize;
            }
        }
        hits
    }

    pub fn evidence(&self) -> usize {
        self.window.len()
    }

    /// Remembers this round's predictions of graph, blend and network, one entry per
    /// pool item (None: that predictor did not score the item).
    pub fn remember(&mut self, is_labeled: &[bool], predicted: [Vec<Option<u16>>; 3]) {
        self.labeled = is_labeled.to_vec();
        self.predicted = predicted.map(|p| p.into_iter().map(|c| c.unwrap_or(NONE)).collect());
    }
}

impl Pick {
    pub fn name(self) -> &'static str {
        match self {
            Pick::Graph => "graph",
            Pick::Blend => "blend",
            Pick::Network => "network",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(n: usize, graph: u16, blend: u16, network: u16) -> [Vec<Option<u16>>; 3] {
        [
            vec![Some(graph); n],
            vec![Some(blend); n],
            vec![Some(network); n],
        ]
    }

    #[test]
    fn the_graph_leads_until_another_is_right_more_often() {
        let mut r = Referee::default();
        assert_eq!(r.pick(), Pick::Graph);
        // 100 items, none labeled; the network says 1 everywhere, the graph 0.
        r.remember(&[false; 100], preds(100, 0, 0, 1));
        // 15 fresh labels of class 1: the network is right, but that is too little.
        let labels: Vec<(usize, u16)> = (0..15).map(|i| (i, 1)).collect();
        r.observe(&labels);
        assert_eq!((r.evidence(), r.pick()), (15, Pick::Graph));
        // Seen labels are not scored twice; 10 new ones make the evidence enough.
        let more: Vec<(usize, u16)> = (0..25).map(|i| (i, 1)).collect();
        r.observe(&more);
        assert_eq!(r.evidence(), 25);
        assert_eq!(r.hits(), [0, 0, 25]);
        assert_eq!(r.pick(), Pick::Network);
    }

    #[test]
    fn the_pick_changes_only_on_a_significant_paired_lead() {
        // Every item: the graph says 0, the blend 1, the network 2 (never right).
        let mut r = Referee::default();
        let mut is_labeled = vec![false; 1000];
        let mut next = 0;
        let mut label = |r: &mut Referee, class: u16, n: usize| {
            r.remember(&is_labeled, preds(1000, 0, 1, 2));
            let labels: Vec<(usize, u16)> = (next..next + n).map(|i| (i, class)).collect();
            r.observe(&labels);
            is_labeled[next..next + n]
                .iter_mut()
                .for_each(|l| *l = true);
            next += n;
        };
        label(&mut r, 0, 40);
        label(&mut r, 1, 60);
        // The blend leads by 60 - 40 = 20, not more than 2·√100.
        assert_eq!(r.hits(), [40, 60, 0]);
        assert_eq!(r.pick(), Pick::Graph);
        label(&mut r, 1, 1);
        // 21 > 2·√101 ≈ 20.1.
        assert_eq!(r.pick(), Pick::Blend);
        label(&mut r, 0, 30);
        // The graph has more right (70 to 61) but leads by 9 < 2·√131: the blend stays.
        assert_eq!(r.hits(), [70, 61, 0]);
        assert_eq!(r.pick(), Pick::Blend);
        label(&mut r, 0, 40);
        // 110 to 61: 49 > 2·√171 ≈ 26.2.
        assert_eq!(r.pick(), Pick::Graph);
    }

    #[test]
    fn ties_prefer_the_graph_then_the_blend_and_old_evidence_ages_out() {
        let mut r = Referee::default();
        r.remember(&[false; 1000], preds(1000, 3, 3, 3));
        r.observe(&(0..30).map(|i| (i, 3)).collect::<Vec<_>>());
        assert_eq!(r.pick(), Pick::Graph);
        // Now only the blend is right, for a whole window: the old ties age out.
        let mut is_labeled = vec![false; 1000];
        is_labeled[..30].iter_mut().for_each(|l| *l = true);
        r.remember(&is_labeled, preds(1000, 0, 5, 0));
        r.observe(&(30..30 + WINDOW).map(|i| (i, 5)).collect::<Vec<_>>());
        assert_eq!(r.evidence(), WINDOW);
        assert_eq!(r.hits(), [0, WINDOW, 0]);
        assert_eq!(r.pick(), Pick::Blend);
    }
}
