//! Key presses to actions, overlays first; the actions themselves.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{escape_name, Action, App, ClassPicker, Effect, Overlay, GUESS_KEYS};

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
        match self.action_for(key.code) {
            Some(action) => self.perform(action),
            None => Vec::new(),
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
                let guesses = self
                    .current_guesses()
                    .map(|(_, top)| top.iter().map(|p| p.class).collect())
                    .unwrap_or_default();
                self.overlay = Overlay::Picker(ClassPicker::with_guesses(guesses));
                Vec::new()
            }
            Action::Undo => self.undo(),
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
        }
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
