//! The labeler's commands and their default keys: the one list that class keys handed
//! out from folder names avoid and that the labeler's keymap starts from.

use serde::{Deserialize, Serialize};

/// What a key can do besides labeling: the labeler binds each to keys, and a user's
/// `keymap.ron` names them in snake case (`undo`, `accept_guess`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Label with the first guess.
    AcceptGuess,
    /// Open the class picker.
    Pick,
    Undo,
    Skip,
    /// The auto-oracle on or off.
    Auto,
    Help,
    Quit,
    /// Switch between labeling one image at a time and reviewing pages of the images
    /// the model assigns to one class.
    Review,
    /// Review: mark the image under the cursor as not the page's class (it stays
    /// unlabeled).
    NotThisClass,
    /// Review: the previous class's page.
    PrevClass,
    /// Review: the next class's page.
    NextClass,
    /// The likely-mistakes queue: labels the graph's held-out propagation doubts,
    /// least believed first, a page at a time (computed anew each time).
    Mistakes,
}

impl Command {
    pub const ALL: [Command; 12] = [
        Command::AcceptGuess,
        Command::Pick,
        Command::Undo,
        Command::Skip,
        Command::Auto,
        Command::Help,
        Command::Quit,
        Command::Review,
        Command::NotThisClass,
        Command::PrevClass,
        Command::NextClass,
        Command::Mistakes,
    ];

    /// The name a keymap file uses.
    pub fn name(self) -> &'static str {
        match self {
            Command::AcceptGuess => "accept_guess",
            Command::Pick => "pick",
            Command::Undo => "undo",
            Command::Skip => "skip",
            Command::Auto => "auto",
            Command::Help => "help",
            Command::Quit => "quit",
            Command::Review => "review",
            Command::NotThisClass => "not_this_class",
            Command::PrevClass => "prev_class",
            Command::NextClass => "next_class",
            Command::Mistakes => "mistakes",
        }
    }

    /// Its default keys, by name (a character, or `Enter`, `Esc`…).
    pub fn default_keys(self) -> &'static [&'static str] {
        match self {
            Command::AcceptGuess => &["Enter"],
            Command::Pick => &["/"],
            Command::Undo => &["u"],
            Command::Skip => &["s"],
            Command::Auto => &["a"],
            Command::Help => &["?"],
            Command::Quit => &["q", "Esc"],
            // None of these is a character a class key can be (`0-9a-z`).
            Command::Review => &["Tab"],
            Command::NotThisClass => &["Space"],
            Command::PrevClass => &["[", "PageUp"],
            Command::NextClass => &["]", "PageDown"],
            // Upper case: class keys are `0-9a-z`, so no folder's class loses its key
            // (a lower-case `m` would move every class named m… to another key).
            Command::Mistakes => &["M"],
        }
    }
}

/// The characters the commands take by default (a space too): no class is given one as
/// its key.
pub fn reserved_chars() -> impl Iterator<Item = char> {
    Command::ALL.into_iter().flat_map(|command| {
        command.default_keys().iter().filter_map(|&name| {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ if name == "Space" => Some(' '),
                _ => None,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_characters_are_the_single_character_defaults() {
        let reserved: String = reserved_chars().collect();
        assert_eq!(reserved, "/usa?q []M");
    }

    #[test]
    fn names_match_serde() {
        for command in Command::ALL {
            let text = ron::to_string(&command).unwrap();
            assert_eq!(text, command.name());
        }
    }
}
