//! libtorch's OpenMP threads spin while they wait for their next piece of work. On a
//! machine where anything else runs, the spinning threads take turns on the cores with
//! the ones that have work, and every step waits for the slowest: with a `yes` busy on
//! one of this machine's 2 cores, EfficientNet-Lite0 ran 20.0 images/s with OpenMP's
//! default waiting and 38.1 waiting passively (`make results-backbone`,
//! `results/backbone-lite0-busy*.txt`). The policy is read once, when the OpenMP
//! runtime is loaded with the program, before `main`; so glean starts itself again with
//! `OMP_WAIT_POLICY=PASSIVE` unless the environment already chooses a policy.

use std::ffi::OsString;

const WAIT_POLICY: &str = "OMP_WAIT_POLICY";

/// Replaces this process with itself under a passive OpenMP wait policy, once; returns
/// when a policy is already set (or when the restart fails: glean then runs as it is).
pub fn wait_passively() {
    if std::env::var_os(WAIT_POLICY).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0: OsString = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = std::process::Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .env(WAIT_POLICY, "PASSIVE")
            .exec();
        eprintln!("glean: could not restart with {WAIT_POLICY}=PASSIVE ({error}); going on");
    }
    #[cfg(not(unix))]
    let _ = (arg0, args);
}
