//! The root tests' helpers these tests share: images made on the fly, and the rule for
//! data a machine may lack.

#![allow(dead_code)]

#[path = "../../../../tests/support/require.rs"]
mod require;
#[allow(unused_imports)]
pub use require::needs;

#[path = "../../../../tests/support/png.rs"]
mod png;

pub mod fixtures {
    #[allow(unused_imports)]
    pub use super::png::png;
}
