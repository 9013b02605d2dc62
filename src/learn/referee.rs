//! Which of the hybrid learner's predictors to trust: the graph, the network, or their
//! average. Each round's predictions for the still unlabeled pool are remembered; when
//! the next labels arrive, each predictor is scored on them, on items none of them had
//! seen labeled. The predictor right most often over the last `WINDOW` such labels
//! ranks and predicts. No test split is needed, so the labeler decides the same way as
//! `glean simulate`, and the choice cannot peek at the test set it is measured on.

use std::collections::VecDeque;

/// Fresh labels the choice looks back over.
pub const WINDOW: usize = 200;
/// Fresh labels needed before anything but the graph is trusted: the graph is the
/// stronger one at very few labels, and a handful of labels is noise.
pub const MIN_EVIDENCE: usize = 20;

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

#[derive(Debug, Default)]
pub struct Referee {
    /// Per fresh label: whether graph, blend and network had it right.
    window: VecDeque<[bool; 3]>,
    labeled: Vec<bool>,
    /// Each predictor's class per pool item (`NONE`: no prediction).
    predicted: [Vec<u16>; 3],
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
    }

    /// The predictor to use now.
    pub fn pick(&self) -> Pick {
        if self.window.len() < MIN_EVIDENCE {
            return Pick::Graph;
        }
        let hits = self.hits();
        let mut best = Pick::Graph;
        for pick in Pick::ALL {
            if hits[pick as usize] > hits[best as usize] {
                best = pick;
            }
        }
        best
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
