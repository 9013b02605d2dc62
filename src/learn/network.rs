//! The network side of a learner: a fresh network (random, or from a `--weights`
//! checkpoint), fitting it on labels and pseudo-labels, and saving it after a round.

use tch::{nn, Tensor};

use super::inputs::Inputs;
use super::learner::{index_tensor, Labeled, Learner};
use super::model::{Classifier, Cnn, Head};
use super::train::{self, FitProgress, TrainSet};
use super::LearnError;

/// A network and the variables it trains.
pub(super) struct Trained {
    pub(super) vs: nn::VarStore,
    pub(super) net: Box<dyn Classifier>,
}

impl Learner {
    /// A fresh network: random weights, or the configured checkpoint.
    pub(super) fn new_network(&self) -> Result<Trained, LearnError> {
        let mut vs = nn::VarStore::new(self.device);
        let net: Box<dyn Classifier> = match &self.inputs {
            Inputs::Pixels { .. } => Box::new(Cnn::new(
                &vs.root(),
                self.data.channels,
                self.data.size,
                self.data.classes,
            )),
            Inputs::Features { pool, .. } => {
                Box::new(Head::new(&vs.root(), pool.size()[1], self.data.classes))
            }
        };
        if let Some(path) = &self.config.weights {
            vs.load(path).map_err(|e| {
                LearnError::Data(format!(
                    "--weights {}: does not fit the {} for {} classes: {e}",
                    path.display(),
                    self.model.name(),
                    self.data.classes
                ))
            })?;
        }
        Ok(Trained { vs, net })
    }

    pub(super) fn fit(
        &mut self,
        lab: &Labeled,
        pseudo: &[(usize, u16)],
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(FitProgress),
    ) -> Result<f64, LearnError> {
        let warm = self.config.warm_start || self.config.learner.always_warm();
        if !warm || self.trained.is_none() {
            self.trained = Some(self.new_network()?);
        }
        let model = self.trained.as_ref().expect("just built");
        let indices = index_tensor(&lab.indices, self.device)?;
        let labels = Tensor::f_from_slice(&lab.classes)?.f_to_device(self.device)?;
        let pseudo_idx: Vec<usize> = pseudo.iter().map(|&(i, _)| i).collect();
        let pseudo_cls: Vec<i64> = pseudo.iter().map(|&(_, c)| c as i64).collect();
        let p_idx = index_tensor(&pseudo_idx, self.device)?;
        let p_cls = Tensor::f_from_slice(&pseudo_cls)?.f_to_device(self.device)?;
        let set = TrainSet {
            indices: &indices,
            labels: &labels,
            pseudo: (!pseudo.is_empty()).then_some((&p_idx, &p_cls)),
        };
        let result = train::fit(
            &model.vs,
            model.net.as_ref(),
            &self.inputs,
            set,
            &self.config.schedule,
            cancelled,
            progress,
        );
        if result.is_err() {
            // A half-trained or diverged model must not be warm-started from.
            self.trained = None;
        }
        result
    }

    /// Writes the trained network where the config asks, atomically (a temporary
    /// file renamed over the old one), so a crash never leaves half a checkpoint.
    pub(super) fn save_model(&self) -> Result<(), LearnError> {
        let (Some(path), Some(model)) = (&self.config.save_model, &self.trained) else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp.safetensors");
        let fail = |e: &dyn std::fmt::Display| {
            LearnError::Other(format!("saving the model to {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        model.vs.save(&tmp).map_err(|e| fail(&e))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(&e))
    }
}
