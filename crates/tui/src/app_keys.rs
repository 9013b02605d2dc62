//! Key presses to actions, overlays first; the actions themselves.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{escape_name, Action, App, ClassPicker, Effect, Mode, Overlay, GUESS_KEYS};
use crate::keymap::{Command, Direction};

impl App {
    /// Handle one key event. Releases and repeats are ignored.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind != KeyEventKind::Press {
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return self.quit();
        }
        self.message = None;
        match &mut self.overlay {
            Overlay::Help => {
                self.overlay = Overlay::None;
                Vec::new()
            }
            Overlay::Picker(picker) => match key.code {
                KeyCode::Esc => {
                    self.overlay = Overlay::None;
                    Vec::new()
                }
                KeyCode::Enter => match picker.selected_class(&self.classes) {
                    // On a page the class marks the image under the cursor.
                    Some(class) if self.mode != Mode::Single => {
                        self.overlay = Overlay::None;
                        self.perform(Action::Mark { class: Some(class) })
                    }
                    Some(class) => {
                        self.overlay = Overlay::None;
                        self.label_current(class)
                    }
                    None => Vec::new(),
                },
                KeyCode::Up => {
                    picker.move_selection(-1, &self.classes);
                    Vec::new()
                }
                KeyCode::Down | KeyCode::Tab => {
                    picker.move_selection(1, &self.classes);
                    Vec::new()
                }
                KeyCode::Backspace => {
                    picker.pop_char();
                    Vec::new()
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    picker.push_char(c);
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Overlay::None => self.on_main_key(key),
        }
    }

    fn on_main_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let action = match self.mode {
            Mode::Single => self.action_for(key.code),
            Mode::Review | Mode::Mistakes => self.review_action_for(key.code),
        };
        match action {
            Some(action) => self.perform(action),
            None => Vec::new(),
        }
    }

    /// What a key on the review (or likely-mistakes) screen asks for: a command first
    /// (the first guess's key confirms the page), then the arrows, then a guess key
    /// (with more classes than keys: that guess of the image under the cursor) or a
    /// class key, which mark the image under the cursor.
    fn review_action_for(&mut self, code: KeyCode) -> Option<Action> {
        if let Some(command) = self.keymap.command(code) {
            return Some(match command {
                Command::AcceptGuess => Action::ConfirmPage { oracle: false },
                other => other.into(),
            });
        }
        let direction = match code {
            KeyCode::Left => Some(Direction::Left),
            KeyCode::Right => Some(Direction::Right),
            KeyCode::Up => Some(Direction::Up),
            KeyCode::Down => Some(Direction::Down),
            _ => None,
        };
        if let Some(direction) = direction {
            return Some(Action::MoveCursor(direction));
        }
        let KeyCode::Char(c) = code else {
            return None;
        };
        if self.many_classes {
            if let Some(rank) = GUESS_KEYS.iter().position(|&k| k == c) {
                let guess = self.cell_guesses().get(rank).copied();
                if guess.is_none() {
                    self.message = Some(format!("no guess number {} for this image", rank + 1));
                }
                return guess.map(|class| Action::Mark { class: Some(class) });
            }
        }
        match self.class_for_key(c) {
            Some(class) => Some(Action::Mark { class: Some(class) }),
            None => {
                self.message = Some(format!("no class on key {}", escape_name(&c.to_string())));
                None
            }
        }
    }

    /// What a key on the main screen asks for: a command first, then a guess key (with
    /// more classes than keys), then a class key.
    fn action_for(&mut self, code: KeyCode) -> Option<Action> {
        if let Some(command) = self.keymap.command(code) {
            return Some(command.into());
        }
        let KeyCode::Char(c) = code else {
            return None;
        };
        if self.many_classes {
            if let Some(rank) = GUESS_KEYS.iter().position(|&k| k == c) {
                return Some(Action::AcceptGuess(rank));
            }
        }
        match self.class_for_key(c) {
            Some(class) => Some(Action::Label {
                class,
                oracle: false,
            }),
            None => {
                self.message = Some(format!("no class on key {}", escape_name(&c.to_string())));
                None
            }
        }
    }

    /// Carry out an action, from a key or from the auto-oracle.
    pub fn perform(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Label { class, oracle } => self.label_current_by(class, oracle),
            Action::AcceptGuess(rank) => self.accept_guess(rank),
            Action::Pick => {
                let guesses = match self.mode {
                    Mode::Single => self
                        .current()
                        .and_then(|item| self.guesses_for(item))
                        .map(|(_, top)| top.iter().map(|p| p.class).collect())
                        .unwrap_or_default(),
                    _ if self.grid_cursor_item().is_none() => return self.no_page(),
                    _ => self.cell_guesses(),
                };
                self.overlay = Overlay::Picker(ClassPicker::with_guesses(guesses));
                Vec::new()
            }
            Action::Undo => self.undo(),
            Action::Skip if self.mode == Mode::Mistakes => {
                self.message =
                    Some("skip is for single images; a label left unmarked stands".into());
                Vec::new()
            }
            Action::Skip if self.mode == Mode::Review => {
                self.message = Some(format!(
                    "skip is for single images; {} marks an image as not this class",
                    self.keymap.short(Command::NotThisClass)
                ));
                Vec::new()
            }
            Action::Skip => self.skip(),
            Action::ToggleAuto => {
                self.toggle_auto();
                Vec::new()
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                Vec::new()
            }
            Action::Quit => self.quit(),
            Action::ToggleReview if self.mode == Mode::Mistakes => {
                self.leave_mistakes();
                Vec::new()
            }
            Action::ToggleReview => {
                self.set_review(self.mode == Mode::Single);
                Vec::new()
            }
            Action::MoveCursor(direction) => self.move_cursor(direction),
            Action::Mark { class } if self.mode == Mode::Mistakes => self.mark_mistake(class),
            Action::Mark { class } => self.mark(class),
            Action::ConfirmPage { oracle } if self.mode == Mode::Mistakes => {
                self.confirm_mistakes(oracle)
            }
            Action::ConfirmPage { oracle } => self.confirm_page(oracle),
            Action::PrevClass | Action::NextClass if self.mode == Mode::Mistakes => {
                self.message = Some(format!(
                    "the likely mistakes go page by page: {} confirms this one",
                    self.keymap.short(Command::AcceptGuess)
                ));
                Vec::new()
            }
            Action::PrevClass => self.other_class(-1),
            Action::NextClass => self.other_class(1),
            Action::FindMistakes => self.find_mistakes(),
        }
    }

    /// The guesses for the grid cell under the cursor, best first: the model's for a
    /// review page's image, the held-out propagation's class for a likely mistake.
    fn cell_guesses(&self) -> Vec<u16> {
        if self.mode == Mode::Mistakes {
            let page = self.mistakes_page();
            return page
                .and_then(|p| p.cells.get(p.cursor))
                .map(|s| vec![s.predicted])
                .unwrap_or_default();
        }
        self.grid_cursor_item()
            .and_then(|item| self.guesses_for(item))
            .map(|(_, top)| top.iter().map(|p| p.class).collect())
            .unwrap_or_default()
    }

    /// Label the image on screen with its `rank`-th guess (0: the first).
    fn accept_guess(&mut self, rank: usize) -> Vec<Effect> {
        let class = self
            .current_guesses()
            .and_then(|(_, top)| top.get(rank))
            .map(|p| p.class);
        match class {
            Some(class) => self.label_current(class),
            None => {
                self.message = Some(if rank == 0 {
                    "no guess for this image yet: / picks a class".into()
                } else {
                    format!("no guess number {} for this image", rank + 1)
                });
                Vec::new()
            }
        }
    }

    fn class_for_key(&self, c: char) -> Option<u16> {
        let exact = self.classes.iter().position(|class| class.key == Some(c));
        let folded = || {
            self.classes.iter().position(|class| {
                class
                    .key
                    .is_some_and(|k| k.to_lowercase().eq(c.to_lowercase()))
            })
        };
        exact.or_else(folded).and_then(|i| u16::try_from(i).ok())
    }
}
