//! What a test needs that a machine may lack: `../shared` data, the backbone's weights,
//! the full MNIST, tmux. On a user's machine such a test says what is missing and does
//! nothing. `GLEAN_REQUIRE_DATA` turns that into a failure with the reason, so that a
//! test that ran nothing is not counted as passed: `1` requires everything, `installed`
//! everything but the data sets in `../shared/datasets` beside the checkout (which `make`
//! cannot fetch). `.ci/run` sets `1` when that folder is there, else `installed`, and
//! says which tests it therefore did not run.

/// Whether the test may go on: true when `present`; otherwise a note, or a panic when
/// `GLEAN_REQUIRE_DATA` requires `what` (a `../shared/…` path for the shared data sets).
pub fn needs(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    let required = match std::env::var("GLEAN_REQUIRE_DATA").as_deref() {
        Ok("1") => true,
        Ok("installed") => !what.starts_with("../shared/"),
        _ => false,
    };
    if required {
        panic!("GLEAN_REQUIRE_DATA requires {what}, which this test needs and is missing");
    }
    eprintln!("SKIPPED: this test needs {what}, which is missing");
    false
}
