//! What the tests of every crate share: the rule for data a machine may lack, and images
//! made on the fly. A dev-dependency only; it has no tch, so the crates that build
//! without libtorch can use it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure to make a fixture is the test's failure"
)]

mod jpeg;
mod png;
mod require;

pub use jpeg::{jpeg, with_exif_orientation};
pub use png::png;
pub use require::needs;
