//! Keymaps: key notation, loading and layering of the keymap files, and resolving key presses
//! to actions. This first part is the notation every keymap file, help line and hint uses.

mod notation;

pub use notation::{Key, KeyCode, KeySeq, MAX_FUNCTION_KEY, Modifiers, NotationError};
