//! From key presses to actions, and the questions the UI asks of the keymap: which keys does
//! help list here, which key does the status bar show for an action, what may follow `g`.
//!
//! Lookup order in a context: its own bindings, then `global` if the context inherits it
//! ([`KeyContext::inherits_global`]). Within one map a key sequence that starts a longer
//! binding waits for more keys (loading guarantees it is not also bound on its own); a context's
//! binding, noop or longer sequence therefore hides a `global` binding for the same keys.

use super::notation::{Key, KeySeq};
use super::{Binding, ContextMap, Keymap};
use crate::action::{Action, KeyContext};
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

/// What a key press means, given the keys pressed before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Run this action.
    Action(Action),
    /// The keys so far start one or more bindings: wait for the next key (and show
    /// [`Keymap::pending_next`]).
    Pending,
    /// Bound to `noop`: do nothing.
    Noop,
    /// `<Esc>` while keys were pending: the sequence is dropped, nothing runs.
    Cancelled,
    /// No binding: the keys pressed, including any pending ones. A text field may type them.
    Unbound(KeySeq),
    /// Not a key press a keymap can name (a key release, a lone modifier, a media key, Super
    /// held): pending keys stay pending. A text field may still use the raw event.
    Ignored,
}

/// What a whole key sequence means in a context; [`Keymap::resolve`] is this, one key at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup<'a> {
    Binding(&'a Binding),
    Pending,
    Noop,
    Unbound,
}

/// A key that may follow the pending ones, for the "which key" hint.
#[derive(Debug, Clone, PartialEq)]
pub struct NextKey<'a> {
    pub key: Key,
    pub step: NextStep<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep<'a> {
    /// This key completes a binding.
    Runs(&'a Binding),
    /// More keys follow; this many bindings start this way.
    More(usize),
}

impl ContextMap {
    fn lookup(&self, keys: &[Key]) -> Option<Lookup<'_>> {
        if self
            .bindings
            .iter()
            .any(|b| b.keys.len() > keys.len() && b.keys.starts_with(keys))
        {
            return Some(Lookup::Pending);
        }
        if let Some(binding) = self.bindings.iter().find(|b| *b.keys == *keys) {
            return Some(Lookup::Binding(binding));
        }
        if self.noops.iter().any(|n| *n.keys == *keys) {
            return Some(Lookup::Noop);
        }
        None
    }
}

impl Keymap {
    fn map(&self, context: KeyContext) -> Option<&ContextMap> {
        self.contexts.get(&context)
    }

    /// The maps a key is looked up in, in order.
    fn layers(&self, context: KeyContext) -> impl Iterator<Item = &ContextMap> {
        let global = (context != KeyContext::Global && context.inherits_global())
            .then(|| self.map(KeyContext::Global))
            .flatten();
        self.map(context).into_iter().chain(global)
    }

    /// What the key sequence `keys` means in `context`.
    pub fn lookup(&self, context: KeyContext, keys: &[Key]) -> Lookup<'_> {
        if keys.is_empty() {
            return Lookup::Unbound;
        }
        self.layers(context)
            .find_map(|map| map.lookup(keys))
            .unwrap_or(Lookup::Unbound)
    }

    /// Resolves one key event. `pending` holds the keys of a sequence begun earlier; it is
    /// extended on [`Resolved::Pending`], left alone on [`Resolved::Ignored`] and emptied on
    /// everything else. The app keeps it in its state (and should clear it when the context
    /// changes under it, e.g. a popup opening on its own).
    pub fn resolve(&self, context: KeyContext, pending: &mut KeySeq, event: &KeyEvent) -> Resolved {
        // Releases only arrive with the kitty protocol's event types; a held key's repeats act
        // like presses, so holding <Down> keeps moving.
        if event.kind == KeyEventKind::Release {
            return Resolved::Ignored;
        }
        let Some(key) = Key::from_event(event) else {
            return Resolved::Ignored;
        };
        if key == Key::ESC && !pending.is_empty() {
            pending.clear();
            return Resolved::Cancelled;
        }
        pending.push(key);
        match self.lookup(context, pending) {
            Lookup::Pending => Resolved::Pending,
            Lookup::Binding(binding) => {
                pending.clear();
                Resolved::Action(binding.action)
            }
            Lookup::Noop => {
                pending.clear();
                Resolved::Noop
            }
            Lookup::Unbound => Resolved::Unbound(std::mem::take(pending)),
        }
    }

    /// Whether pressing `binding`'s keys in `context` runs it (and not something that hides it).
    fn reaches(&self, context: KeyContext, binding: &Binding) -> bool {
        (1..binding.keys.len()).all(|n| self.lookup(context, &binding.keys[..n]) == Lookup::Pending)
            && matches!(self.lookup(context, &binding.keys),
                        Lookup::Binding(found) if std::ptr::eq(found, binding))
    }

    /// The bindings help lists for `context`: its own, then the `global` ones it inherits, in
    /// priority order, leaving out noops and anything hidden by a binding that comes first.
    pub fn bindings(&self, context: KeyContext) -> impl Iterator<Item = &Binding> {
        self.layers(context)
            .flat_map(|map| &map.bindings)
            .filter(move |b| self.reaches(context, b))
    }

    /// Every key sequence that runs `action` in `context`, best first: the first is the one to
    /// show in a status-bar hint. Empty if nothing there runs it.
    pub fn keys_for(&self, context: KeyContext, action: Action) -> Vec<KeySeq> {
        self.bindings(context)
            .filter(|b| b.action == action)
            .map(|b| b.keys.clone())
            .collect()
    }

    /// The first key for `action` in any context, `global` first and then in
    /// [`KeyContext::ALL`] order, for the palette. `None` if nothing is bound to it.
    pub fn first_key_anywhere(&self, action: Action) -> Option<(KeyContext, &KeySeq)> {
        KeyContext::ALL.into_iter().find_map(|context| {
            self.bindings(context)
                .find(|b| b.action == action)
                .map(|b| (context, &b.keys))
        })
    }

    /// The keys that may follow `pending` in `context`, in priority order, each once.
    pub fn pending_next(&self, context: KeyContext, pending: &[Key]) -> Vec<NextKey<'_>> {
        let mut next: Vec<NextKey<'_>> = Vec::new();
        for binding in self.bindings(context) {
            if binding.keys.len() <= pending.len() || !binding.keys.starts_with(pending) {
                continue;
            }
            let key = binding.keys[pending.len()];
            let completes = binding.keys.len() == pending.len() + 1;
            match next.iter_mut().find(|n| n.key == key) {
                // Reachable bindings never both end at and continue past the same key, so an
                // existing entry here is always a `More`.
                Some(NextKey {
                    step: NextStep::More(count),
                    ..
                }) => *count += 1,
                Some(_) => {}
                None => next.push(NextKey {
                    key,
                    step: if completes {
                        NextStep::Runs(binding)
                    } else {
                        NextStep::More(1)
                    },
                }),
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::Preset;
    use std::path::Path;

    fn seq(text: &str) -> KeySeq {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// vim's `gg` in the panes, and the user's global `g` and `<C-w>` sequences.
    fn keymap() -> Keymap {
        let user = "[global]\nprepend_keymap = [\n\
                    { on = \"g\", run = \"focus.roster\" },\n\
                    { on = [\"<C-w>\", \"l\"], run = \"focus.detail\" },\n]\n\
                    [roster]\nprepend_keymap = [ { on = [\"<C-w>\", \"w\"], run = \"focus.next\" } ]\n";
        Keymap::load(Preset::Vim, Some((Path::new("keymap.toml"), user)))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_context_sequence_hides_a_shorter_global_key_there_only() {
        let map = keymap();
        assert_eq!(map.lookup(KeyContext::Roster, &seq("g")), Lookup::Pending);
        assert!(map.bindings(KeyContext::Roster).all(|b| b.keys != seq("g")));
        // The note editor has no gg, so the global g works there.
        assert!(matches!(
            map.lookup(KeyContext::EditorNormal, &seq("g")),
            Lookup::Binding(b) if b.action == Action::FocusRoster
        ));
    }

    #[test]
    fn a_sequence_begun_in_the_context_may_end_in_global() {
        let map = keymap();
        assert!(matches!(
            map.lookup(KeyContext::Roster, &seq("<C-w>l")),
            Lookup::Binding(b) if b.action == Action::FocusDetail
        ));
        let next: Vec<String> = map
            .pending_next(KeyContext::Roster, &seq("<C-w>"))
            .iter()
            .map(|n| match n.step {
                NextStep::Runs(b) => format!("{} {}", n.key, b.action),
                NextStep::More(count) => format!("{} +{count}", n.key),
            })
            .collect();
        assert_eq!(next, ["w focus.next", "l focus.detail"]);
        assert_eq!(map.lookup(KeyContext::Roster, &[]), Lookup::Unbound);
    }
}
