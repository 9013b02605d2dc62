//! A real terminal for end-to-end tests: tmux on a private socket, driven as a person
//! would (send-keys, capture-pane), with the glean binary started in it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether tmux can be run here; tests skip with a note when it cannot.
pub fn available() -> bool {
    Command::new("tmux").arg("-V").output().is_ok()
}

pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    pub fn run(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.tmux(args).stdout).into_owned()
    }

    /// Starts `command` in a new detached session `name`, 120×40. Sessions are never
    /// killed one by one (the server exits with its last session, and a session started
    /// at that moment is lost); `Drop` ends the whole server.
    pub fn start(&self, name: &str, command: &str) {
        self.start_sized(name, command, 120, 40);
    }

    /// [`Tmux::start`] in a terminal of `width`×`height`.
    pub fn start_sized(&self, name: &str, command: &str, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        let args = [
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &width,
            "-y",
            &height,
            command,
        ];
        let out = self.tmux(&args);
        assert!(
            out.status.success(),
            "tmux new-session {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn screen(&self, name: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", name])
    }

    pub fn keys(&self, name: &str, keys: &str) {
        self.run(&["send-keys", "-t", name, keys]);
    }

    /// Wait until the screen satisfies `ok`; panics with the screen after `timeout`.
    pub fn wait(
        &self,
        name: &str,
        timeout: Duration,
        what: &str,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        self.try_wait(name, timeout, ok)
            .unwrap_or_else(|report| panic!("timed out waiting for {what}; {report}"))
    }

    /// Wait until the screen satisfies `ok`; after `timeout`, the panes and the screen.
    pub fn try_wait(
        &self,
        name: &str,
        timeout: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let screen = self.screen(name);
            if ok(&screen) {
                return Ok(screen);
            }
            if start.elapsed() > timeout {
                let panes = self.run(&[
                    "list-panes",
                    "-a",
                    "-F",
                    "#{session_name} dead=#{pane_dead} pid=#{pane_pid} cmd=#{pane_current_command}",
                ]);
                return Err(format!("panes:\n{panes}\nscreen:\n{screen}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Every thread's stack of a live process (gdb), to tell a hang from a slow start.
pub fn stacks(pid: &str) -> String {
    Command::new("gdb")
        .args(["-p", pid, "-batch", "-ex", "thread apply all bt 12"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("(gdb: {e})"))
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// A shell command line that runs glean with every folder it writes inside `dirs`, the
/// halfblock renderer (no terminal queries), and prints its exit code when it ends.
pub fn glean_command(dirs: &Path, args: &str) -> String {
    format!(
        "env GLEAN_RENDER=halfblocks GLEAN_SESSION_DIR={d}/sessions GLEAN_DATA_DIR={d}/data \
         GLEAN_CACHE_DIR={d}/cache GLEAN_CONFIG_DIR={d}/config {bin} {args}; echo GLEAN-EXIT=$?; \
         sleep 600",
        d = dirs.display(),
        bin = env!("CARGO_BIN_EXE_glean"),
    )
}

/// The pid of the program the pane's shell started (glean itself: `env` execs it).
pub fn program_pid(tmux: &Tmux, name: &str) -> Option<String> {
    let shell = tmux.run(&["display-message", "-p", "-t", name, "#{pane_pid}"]);
    let child = Command::new("pgrep")
        .args(["-P", shell.trim()])
        .output()
        .ok()?;
    let pid = String::from_utf8_lossy(&child.stdout).trim().to_string();
    (!pid.is_empty()).then_some(pid)
}

/// The labeled count of the status line, `labeled N/M`.
pub fn labeled(screen: &str) -> Option<usize> {
    let at = screen.find("labeled ")?;
    screen[at + 8..].split('/').next()?.trim().parse().ok()
}

/// The model version the status line shows (`model v3`), 0 before the first.
pub fn model_version(screen: &str) -> u64 {
    screen
        .find("model v")
        .and_then(|at| screen[at + 7..].split(' ').next()?.parse().ok())
        .unwrap_or(0)
}
