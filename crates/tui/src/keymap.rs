//! Keys to actions. Commands (undo, skip, …) have default keys that a user can change
//! in `keymap.ron` in glean's config folder; class keys come from the session. Whatever
//! a key does, and whatever the auto-oracle does, reaches the app as an [`Action`].

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use crossterm::event::KeyCode;

pub use glean_core::keys::Command;

/// The keymap file's name in the config folder.
pub const KEYMAP_FILE: &str = "keymap.ron";

/// Something the person (or the auto-oracle) does on the main screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Label the image on screen; `oracle` when the auto-oracle gave it.
    Label {
        class: u16,
        oracle: bool,
    },
    /// Label it with its `rank`-th guess (0: the first).
    AcceptGuess(usize),
    Pick,
    Undo,
    Skip,
    ToggleAuto,
    Help,
    Quit,
    /// Between the single-image labeler and review pages.
    ToggleReview,
    /// Review: move the cursor over the grid.
    MoveCursor(Direction),
    /// Review: mark the image under the cursor as `Some(class)` (a correction; the
    /// class it is shown as takes a mark back), or `None`: not that class, with no
    /// class given (it stays unlabeled).
    Mark {
        class: Option<u16>,
    },
    /// Review: label the page (its unmarked images with the class each is shown as,
    /// the marked ones with their mark); `oracle` when the auto-oracle gave the marks.
    ConfirmPage {
        oracle: bool,
    },
    /// Review: the page of the previous class that has predicted images.
    PrevClass,
    /// Review: the page of the next class that has predicted images.
    NextClass,
    /// Ask for the likely mistakes among the labels and show their queue.
    FindMistakes,
}

/// A move of the review grid's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

impl From<Command> for Action {
    fn from(command: Command) -> Action {
        match command {
            Command::AcceptGuess => Action::AcceptGuess(0),
            Command::Pick => Action::Pick,
            Command::Undo => Action::Undo,
            Command::Skip => Action::Skip,
            Command::Auto => Action::ToggleAuto,
            Command::Help => Action::Help,
            Command::Quit => Action::Quit,
            Command::Review => Action::ToggleReview,
            Command::NotThisClass => Action::Mark { class: None },
            Command::PrevClass => Action::PrevClass,
            Command::NextClass => Action::NextClass,
            Command::Mistakes => Action::FindMistakes,
        }
    }
}

/// Which keys run which command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Command, Vec<KeyCode>>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let bindings = Command::ALL
            .into_iter()
            .map(|command| {
                #[allow(
                    clippy::expect_used,
                    reason = "the default keys are fixed names, and a test parses them all"
                )]
                let keys = command
                    .default_keys()
                    .iter()
                    .map(|name| parse_key(name).expect("the default keys are valid key names"));
                (command, keys.collect())
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The command `code` runs, if any.
    pub fn command(&self, code: KeyCode) -> Option<Command> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&code))
            .map(|(&command, _)| command)
    }

    /// The keys of `command`, as the help names them (`q Esc`).
    pub fn describe(&self, command: Command) -> String {
        let keys = self.bindings.get(&command).map(Vec::as_slice);
        keys.unwrap_or_default()
            .iter()
            .map(|&code| key_name(code))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The first key of `command`, as the status line shows it (`⏎` for Enter).
    pub fn short(&self, command: Command) -> String {
        match self.bindings.get(&command).and_then(|keys| keys.first()) {
            Some(KeyCode::Enter) => "⏎".into(),
            Some(&code) => key_name(code),
            None => String::new(),
        }
    }

    /// Characters a command takes: a class whose key is one of them is reached by the
    /// picker instead.
    pub fn command_chars(&self) -> Vec<char> {
        self.bindings
            .values()
            .flatten()
            .filter_map(|code| match code {
                KeyCode::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// The defaults with the commands `text` binds (a RON map from command to key
    /// names, e.g. `{ undo: ["z", "Backspace"] }`) bound to those keys instead.
    pub fn from_ron(text: &str) -> Result<Keymap, String> {
        let changes: BTreeMap<Command, Vec<String>> = ron::from_str(text).map_err(|e| {
            format!(
                "line {}, column {}: {} (expected a map like {{ undo: [\"z\"], skip: [\"x\", \"Delete\"] }}; \
                 commands: {})",
                e.position.line,
                e.position.col,
                e.code,
                Command::ALL.map(Command::name).join(", ")
            )
        })?;
        let mut keymap = Keymap::default();
        for (command, names) in changes {
            if names.is_empty() {
                return Err(format!("{} has no key: give it one", command.name()));
            }
            let keys = names
                .iter()
                .map(|name| parse_key(name).map_err(|e| format!("{}: {e}", command.name())))
                .collect::<Result<Vec<_>, _>>()?;
            keymap.bindings.insert(command, keys);
        }
        // One key, one command.
        let mut owner: BTreeMap<String, Command> = BTreeMap::new();
        for (&command, keys) in &keymap.bindings {
            for &code in keys {
                if let Some(other) = owner.insert(key_name(code), command) {
                    return Err(format!(
                        "{} is the key of both {} and {}: give one of them another key",
                        key_name(code),
                        other.name(),
                        command.name()
                    ));
                }
            }
        }
        Ok(keymap)
    }

    /// The keymap of the config folder `dir`: the defaults when it has no keymap file.
    pub fn load(dir: &Path) -> anyhow::Result<Keymap> {
        let path = dir.join(KEYMAP_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Keymap::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Keymap::from_ron(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// Named keys a keymap may use, besides single characters.
const NAMED_KEYS: [(&str, KeyCode); 14] = [
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Backspace", KeyCode::Backspace),
    ("Tab", KeyCode::Tab),
    ("Space", KeyCode::Char(' ')),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("F1", KeyCode::F(1)),
];

fn parse_key(name: &str) -> Result<KeyCode, String> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_control() {
            return Err(format!("{name:?} is a control character, not a key"));
        }
        return Ok(KeyCode::Char(c));
    }
    NAMED_KEYS
        .iter()
        .find(|(named, _)| named.eq_ignore_ascii_case(name))
        .map(|&(_, code)| code)
        .ok_or_else(|| {
            format!(
                "unknown key {name:?} (a single character, or one of {})",
                NAMED_KEYS.map(|(named, _)| named).join(", ")
            )
        })
}

fn key_name(code: KeyCode) -> String {
    match NAMED_KEYS.iter().find(|&&(_, named)| named == code) {
        Some((name, _)) => name.to_string(),
        None => match code {
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_keys() {
        let keymap = Keymap::default();
        assert_eq!(keymap.command(KeyCode::Char('u')), Some(Command::Undo));
        assert_eq!(keymap.command(KeyCode::Esc), Some(Command::Quit));
        assert_eq!(keymap.command(KeyCode::Enter), Some(Command::AcceptGuess));
        assert_eq!(keymap.command(KeyCode::Char('z')), None);
        assert_eq!(keymap.describe(Command::Quit), "q Esc");
        assert_eq!(keymap.short(Command::AcceptGuess), "⏎");
        let mut chars = keymap.command_chars();
        chars.sort_unstable();
        let mut reserved: Vec<char> = glean_core::keys::reserved_chars().collect();
        reserved.sort_unstable();
        assert_eq!(chars, reserved);
    }

    #[test]
    fn a_keymap_file_rebinds_what_it_names() {
        // Space marks "not this class" in review by default: moved, it is free.
        let keymap = Keymap::from_ron(
            r#"{ undo: ["z", "Backspace"], auto: ["space"], not_this_class: ["x"] }"#,
        )
        .unwrap();
        assert_eq!(keymap.command(KeyCode::Char('z')), Some(Command::Undo));
        assert_eq!(keymap.command(KeyCode::Backspace), Some(Command::Undo));
        assert_eq!(keymap.command(KeyCode::Char(' ')), Some(Command::Auto));
        // The old keys are free, the rest keep their defaults.
        assert_eq!(keymap.command(KeyCode::Char('u')), None);
        assert_eq!(keymap.command(KeyCode::Char('a')), None);
        assert_eq!(keymap.command(KeyCode::Char('s')), Some(Command::Skip));
        assert_eq!(keymap.describe(Command::Undo), "z Backspace");
        assert!(keymap.command_chars().contains(&' '));
        assert!(!keymap.command_chars().contains(&'u'));
    }

    #[test]
    fn a_bad_keymap_file_says_what_is_wrong() {
        let error = |text: &str| Keymap::from_ron(text).unwrap_err();
        assert!(error(r#"{ undo: ["s"] }"#).contains("s is the key of both undo and skip"));
        // The review commands' keys are taken like the others'.
        assert!(error(r#"{ auto: ["Space"] }"#)
            .contains("Space is the key of both auto and not_this_class"));
        assert!(error(r#"{ undoo: ["z"] }"#).contains("commands: accept_guess, pick, undo"));
        assert!(error(r#"{ undo: ["Ctl"] }"#).contains("undo: unknown key \"Ctl\""));
        assert!(error(r#"{ undo: [] }"#).contains("undo has no key"));
        assert!(error("{ undo: [\"z\"]").starts_with("line 1,"));
    }

    #[test]
    fn a_missing_keymap_file_is_the_defaults_and_a_bad_one_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Keymap::load(dir.path()).unwrap(), Keymap::default());
        std::fs::write(dir.path().join(KEYMAP_FILE), "{ skip: [\"u\"] }").unwrap();
        let error = Keymap::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains(KEYMAP_FILE), "{error}");
        assert!(error.contains("both undo and skip"), "{error}");
    }
}
