//! The app's state and everything that changes it: named actions, focus, modes. No drawing and
//! no terminal I/O here; `ui` reads this state and `tui` feeds it events.

pub mod action;

pub use action::{Action, KeyContext};
