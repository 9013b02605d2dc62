//! libtorch draws every random number (weight init, batch order, augmentation, dropout,
//! BALD's masks) from one generator per process, and tch offers no other. A learner's
//! run is the same for the same seed only if nothing else draws from that generator
//! between its seeding and its last draw: two learners training at once in one process
//! (tests in parallel, a simulation beside a session) interleave their draws and both
//! change. So whoever seeds it holds it, under this lock, until done drawing; every
//! place in glean that draws checks, in debug builds (the tests), that its thread holds
//! it (`expect_held`), so a draw outside the lock fails a test instead of quietly
//! changing another test's run.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard};

// Tested in `tests/learn_determinism.rs`.
static GENERATOR: Mutex<()> = Mutex::new(());

thread_local! {
    /// How many `SeededGenerator`s this thread holds (nested ones reseed, not relock).
    static HELD_HERE: Cell<u32> = const { Cell::new(0) };
}

/// libtorch's generator, seeded, held by its owner until dropped. Hold it no longer
/// than the work that draws: other learners wait for it.
#[must_use = "the generator is only yours while this is held"]
pub struct SeededGenerator {
    /// `None` when this thread already held it (a nested seeding).
    _held: Option<MutexGuard<'static, ()>>,
    /// Released on the thread that took it: the count above is per thread.
    _not_send: PhantomData<*const ()>,
}

/// Waits for the generator, then seeds it (the seed's low 63 bits). A thread that
/// already holds it seeds it again without waiting: what the outer holder draws after
/// that follows the new seed, the same way every run.
pub fn seeded(seed: u64) -> SeededGenerator {
    let held = if is_held() {
        None
    } else {
        // A holder that panicked left nothing half-done that matters: seeding resets it.
        Some(GENERATOR.lock().unwrap_or_else(|e| e.into_inner()))
    };
    HELD_HERE.with(|h| h.set(h.get() + 1));
    tch::manual_seed((seed & i64::MAX as u64) as i64);
    SeededGenerator {
        _held: held,
        _not_send: PhantomData,
    }
}

impl Drop for SeededGenerator {
    fn drop(&mut self) {
        HELD_HERE.with(|h| h.set(h.get() - 1));
    }
}

/// Whether this thread holds the generator.
pub fn is_held() -> bool {
    HELD_HERE.with(|h| h.get() > 0)
}

/// Called where glean draws from libtorch's generator: in debug builds, panics unless
/// this thread holds it (the draw would change whatever run holds it meanwhile).
#[track_caller]
pub(crate) fn expect_held(what: &str) {
    debug_assert!(
        is_held(),
        "{what} draws from libtorch's generator without holding it (torch_rng::seeded)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_seeding_holds_until_the_outer_one_ends() {
        assert!(!is_held());
        let outer = seeded(1);
        {
            let _inner = seeded(2);
            assert!(is_held());
        }
        assert!(is_held(), "the outer holder still holds it");
        drop(outer);
        assert!(!is_held());
        // Another thread can take it now (it would wait forever if the lock leaked).
        std::thread::spawn(|| drop(seeded(3))).join().unwrap();
    }

    #[test]
    fn a_nested_seeding_draws_as_a_fresh_one() {
        let fresh = {
            let _g = seeded(9);
            Vec::<f32>::try_from(tch::Tensor::rand([8], (tch::Kind::Float, tch::Device::Cpu)))
                .unwrap()
        };
        let _outer = seeded(1);
        let _inner = seeded(9);
        let nested =
            Vec::<f32>::try_from(tch::Tensor::rand([8], (tch::Kind::Float, tch::Device::Cpu)))
                .unwrap();
        assert_eq!(nested, fresh);
    }
}
