//! What the strategies that read the pool need from libtorch: the pool's fixed
//! structure (clusters and neighbours on one embedding, `pool_structure.rs`) and a
//! discriminator's odds that an item is unlabeled (`discriminator.rs`). The strategies
//! themselves are plain Rust in glean-rank and glean-core.

pub mod discriminator;
pub(crate) mod pool_structure;
