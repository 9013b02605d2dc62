//! Photos through a pretrained network: EfficientNet-Lite (`effnet_lite.rs`), its
//! features for every pool item, streamed and cached (`features.rs`, `features/`), and
//! its ImageNet head's guesses as a zero-shot prior over the folder's classes
//! (`zero_shot.rs`).

pub mod effnet_lite;
pub mod features;
pub mod zero_shot;
