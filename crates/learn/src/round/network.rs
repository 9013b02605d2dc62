//! The network side of a learner: a fresh network (random, or from a `--weights`
//! checkpoint), fitting it on labels and pseudo-labels, and saving it after a round.

use std::path::Path;

use tch::{nn, Device, Tensor};

use crate::config::ModelKind;
use crate::data::LearnData;
use crate::round::inputs::Inputs;
use crate::round::model::{Classifier, Cnn, Head};
use crate::round::round_input::{index_tensor, Labeled};
use crate::round::train::{self, FitProgress, TrainSchedule, TrainSet};
use crate::LearnError;

/// A network and the variables it trains.
pub(crate) struct Trained {
    pub(crate) vs: nn::VarStore,
    pub(crate) net: Box<dyn Classifier>,
}

/// What a network is built for: its inputs, the images' shape and classes, and the
/// checkpoint it starts from.
pub(crate) struct NetworkSpec<'a> {
    pub(crate) device: Device,
    pub(crate) inputs: &'a Inputs,
    pub(crate) data: &'a LearnData,
    pub(crate) model: ModelKind,
    pub(crate) weights: Option<&'a Path>,
}

impl Trained {
    /// A fresh network: random weights, or the checkpoint.
    pub(crate) fn new(spec: &NetworkSpec) -> Result<Trained, LearnError> {
        let mut vs = nn::VarStore::new(spec.device);
        let data = spec.data;
        let net: Box<dyn Classifier> = match spec.inputs {
            Inputs::Pixels { .. } => {
                Box::new(Cnn::new(&vs.root(), data.channels, data.size, data.classes))
            }
            Inputs::Features { pool, .. } => {
                Box::new(Head::new(&vs.root(), pool.size()[1], data.classes))
            }
        };
        if let Some(path) = spec.weights {
            vs.load(path).map_err(|e| {
                LearnError::Data(format!(
                    "--weights {}: does not fit the {} for {} classes: {e}",
                    path.display(),
                    spec.model.name(),
                    data.classes
                ))
            })?;
        }
        Ok(Trained { vs, net })
    }

    /// Fits the network on `lab` and the `pseudo` labels; returns the final loss.
    pub(crate) fn fit(
        &self,
        inputs: &Inputs,
        lab: &Labeled,
        pseudo: &[(usize, u16)],
        schedule: &TrainSchedule,
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(FitProgress),
    ) -> Result<f64, LearnError> {
        let device = self.vs.device();
        let indices = index_tensor(&lab.indices, device)?;
        let labels = Tensor::f_from_slice(&lab.classes)?.f_to_device(device)?;
        let pseudo_idx: Vec<usize> = pseudo.iter().map(|&(i, _)| i).collect();
        let pseudo_cls: Vec<i64> = pseudo.iter().map(|&(_, c)| c as i64).collect();
        let p_idx = index_tensor(&pseudo_idx, device)?;
        let p_cls = Tensor::f_from_slice(&pseudo_cls)?.f_to_device(device)?;
        let set = TrainSet {
            indices: &indices,
            labels: &labels,
            pseudo: (!pseudo.is_empty()).then_some((&p_idx, &p_cls)),
        };
        train::fit(
            &self.vs,
            self.net.as_ref(),
            inputs,
            set,
            schedule,
            cancelled,
            progress,
        )
    }

    /// Writes the network to `path` atomically (`files::replace_file`, synced), so a
    /// crash never leaves half a checkpoint.
    pub(crate) fn save(&self, path: &Path) -> Result<(), LearnError> {
        glean_core::files::replace_file(path, glean_core::files::Durability::Synced, |tmp| {
            self.vs.save(tmp).map_err(std::io::Error::other)
        })
        .map_err(|e| LearnError::Other(format!("saving the model to {}: {e}", path.display())))
    }
}
