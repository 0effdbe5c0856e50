//! A cursor over a list that may be far longer than the screen: which row is selected and
//! which row is at the top, so only the visible rows are ever drawn.

/// Selection and scroll position of one list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    pub selected: usize,
    /// The first visible row.
    pub offset: usize,
}

impl ListCursor {
    /// Moves by `delta` rows (negative is up), staying inside `len` rows, and scrolls so the
    /// selection stays within a viewport of `height` rows.
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            *self = Self::default();
            return;
        }
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, len as isize - 1) as usize;
        self.keep_visible(len, height);
    }

    pub fn top(&mut self, len: usize, height: usize) {
        self.selected = 0;
        self.keep_visible(len, height);
    }

    pub fn bottom(&mut self, len: usize, height: usize) {
        self.selected = len.saturating_sub(1);
        self.keep_visible(len, height);
    }

    /// Puts the selection at `index` (clamped).
    pub fn select(&mut self, index: usize, len: usize, height: usize) {
        self.selected = index.min(len.saturating_sub(1));
        self.keep_visible(len, height);
    }

    /// After the list or the viewport changed: clamp, and scroll the selection into view
    /// with as little movement as possible.
    pub fn keep_visible(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        // Never leave blank rows at the bottom while earlier rows are hidden.
        let max_offset = len.saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }

    /// Moves for a movement action (up, down, a page, the first or last row) in a list of
    /// `len` rows with `height` on screen; false for any other action.
    pub fn navigate(&mut self, action: super::Action, len: usize, height: usize) -> bool {
        use super::Action;
        match action {
            Action::MoveUp => self.step(-1, len, height),
            Action::MoveDown => self.step(1, len, height),
            Action::PageUp => self.step(-(height as isize), len, height),
            Action::PageDown => self.step(height as isize, len, height),
            Action::MoveTop => self.top(len, height),
            Action::MoveBottom => self.bottom(len, height),
            _ => return false,
        }
        true
    }

    /// The rows to draw: `offset..end`.
    pub fn visible(&self, len: usize, height: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(len);
        start..(start + height).min(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolls_only_when_the_selection_leaves_the_view() {
        let mut c = ListCursor::default();
        c.step(3, 100, 5);
        assert_eq!((c.selected, c.offset), (3, 0));
        c.step(3, 100, 5);
        assert_eq!((c.selected, c.offset), (6, 2));
        c.step(-1, 100, 5);
        assert_eq!(
            (c.selected, c.offset),
            (5, 2),
            "moving up inside the view keeps it"
        );
        c.bottom(100, 5);
        assert_eq!((c.selected, c.offset), (99, 95));
        assert_eq!(c.visible(100, 5), 95..100);
        c.step(-1000, 100, 5);
        assert_eq!((c.selected, c.offset), (0, 0));
    }

    #[test]
    fn a_shrinking_list_pulls_the_view_back() {
        let mut c = ListCursor {
            selected: 50,
            offset: 48,
        };
        c.keep_visible(10, 5);
        assert_eq!((c.selected, c.offset), (9, 5));
        c.keep_visible(0, 5);
        assert_eq!(c.visible(0, 5), 0..0);
    }
}
