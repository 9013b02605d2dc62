//! The keymap: what each key press does to the app, overlays first.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{escape_name, App, ClassPicker, Effect, Overlay, GUESS_KEYS};

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
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => self.quit(),
            KeyCode::Char('?') => {
                self.overlay = Overlay::Help;
                Vec::new()
            }
            KeyCode::Char('/') => {
                let guesses = self
                    .current_guesses()
                    .map(|(_, top)| top.iter().map(|p| p.class).collect())
                    .unwrap_or_default();
                self.overlay = Overlay::Picker(ClassPicker::with_guesses(guesses));
                Vec::new()
            }
            KeyCode::Enter => self.accept_guess(0),
            KeyCode::Char('u') => self.undo(),
            KeyCode::Char('s') => self.skip(),
            KeyCode::Char('a') => {
                self.toggle_auto();
                Vec::new()
            }
            KeyCode::Char(c) if self.many_classes && GUESS_KEYS.contains(&c) => {
                let rank = GUESS_KEYS
                    .iter()
                    .position(|&k| k == c)
                    .expect("a guess key");
                self.accept_guess(rank)
            }
            KeyCode::Char(c) => match self.class_for_key(c) {
                Some(class) => self.label_current(class),
                None => {
                    self.message = Some(format!("no class on key {}", escape_name(&c.to_string())));
                    Vec::new()
                }
            },
            _ => Vec::new(),
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
