//! libtorch draws every random number (weight init, batch order, augmentation, dropout,
//! BALD's masks) from one generator per process, and tch offers no other. A learner's
//! run is the same for the same seed only if nothing else draws from that generator
//! between its seeding and its last draw: two learners training at once in one process
//! (tests in parallel, a simulation beside a session) interleave their draws and both
//! change. So whoever seeds it holds it, under this lock, until done drawing.

use std::sync::{Mutex, MutexGuard};

// Tested in `tests/learn_determinism.rs`, a binary whose every draw takes this lock: in
// the library's unit tests, networks are built (and drawn for) without it.
static GENERATOR: Mutex<()> = Mutex::new(());

/// libtorch's generator, seeded, held by its owner until dropped. Hold it no longer
/// than the work that draws: other learners wait for it.
#[must_use = "the generator is only yours while this is held"]
pub struct SeededGenerator {
    _held: MutexGuard<'static, ()>,
}

/// Waits for the generator, then seeds it (the seed's low 63 bits).
pub fn seeded(seed: u64) -> SeededGenerator {
    // A holder that panicked left nothing half-done that matters: seeding resets it.
    let held = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed((seed & i64::MAX as u64) as i64);
    SeededGenerator { _held: held }
}
