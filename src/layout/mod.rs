//! Where things go on the screen, as a pure function of the terminal size and focus, so the
//! app can page by exactly one screen and tests can check the layout without drawing. Below
//! both `app` and `ui`: the app asks it how many rows a list shows, the ui where to draw.

use crate::action::KeyContext;
use ratatui::layout::{Constraint, Flex, Layout, Rect};

pub mod console;
pub mod course;
pub mod summary;

/// The three panes. Narrow terminals show two of them at a time, wide ones all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Roster,
    Timeline,
    Detail,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Roster, Pane::Timeline, Pane::Detail];

    pub fn context(self) -> KeyContext {
        match self {
            Pane::Roster => KeyContext::Roster,
            Pane::Timeline => KeyContext::Timeline,
            Pane::Detail => KeyContext::Detail,
        }
    }
}

/// Below this the app draws only a "terminal too small" message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// From this width on, all three panes are shown.
pub const THREE_PANES_FROM: u16 = 110;
/// From this width on, two panes are shown; below it only the focused one.
pub const TWO_PANES_FROM: u16 = 64;

/// The regions of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    pub status: Rect,
    /// The panes shown, left to right.
    pub panes: Vec<(Pane, Rect)>,
    pub too_small: bool,
}

impl Screen {
    pub fn new(area: Rect, focus: Pane) -> Self {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            return Self {
                header: Rect::default(),
                status: Rect::default(),
                panes: Vec::new(),
                too_small: true,
            };
        }
        let [header, body, status] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let panes = if area.width >= THREE_PANES_FROM {
            let [r, t, d] = Layout::horizontal([
                Constraint::Length(28),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ])
            .areas(body);
            vec![(Pane::Roster, r), (Pane::Timeline, t), (Pane::Detail, d)]
        } else if area.width >= TWO_PANES_FROM {
            // A window of two neighbouring panes that slides with focus.
            let (left, right, left_width) = match focus {
                Pane::Roster => (Pane::Roster, Pane::Timeline, Constraint::Length(28)),
                Pane::Timeline | Pane::Detail => {
                    (Pane::Timeline, Pane::Detail, Constraint::Percentage(48))
                }
            };
            let [l, r] = Layout::horizontal([left_width, Constraint::Fill(1)]).areas(body);
            vec![(left, l), (right, r)]
        } else {
            vec![(focus, body)]
        };
        Self {
            header,
            status,
            panes,
            too_small: false,
        }
    }

    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }
}

/// A centred popup of at most `width` x `height` cells inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// The help and palette popup's frame for a terminal of `size`.
pub fn list_popup_area(area: Rect) -> Rect {
    let width = (area.width * 4 / 5).max(MIN_WIDTH.min(area.width)).min(100);
    let height = (area.height * 4 / 5).max(8.min(area.height));
    centered(area, width, height)
}

/// How many rows of a list the help or palette popup shows (border, filter line and footer
/// take four).
pub fn popup_list_rows(size: (u16, u16)) -> usize {
    let area = list_popup_area(Rect::new(0, 0, size.0, size.1));
    area.height.saturating_sub(4).max(1) as usize
}

/// The search popup's frame: wider than help, since each result has a line of text.
pub fn search_popup_area(area: Rect) -> Rect {
    let width = area
        .width
        .saturating_sub(4)
        .clamp(MIN_WIDTH.min(area.width), 110);
    let height = area.height.saturating_sub(4).max(8.min(area.height));
    centered(area, width, height)
}

/// Lines above the search results (query, scope, count) and below them (key hints).
pub const SEARCH_HEAD_LINES: u16 = 3;
pub const SEARCH_FOOT_LINES: u16 = 1;

/// How many results the search popup shows at once; each takes two lines.
pub fn search_result_rows(size: (u16, u16)) -> usize {
    let area = search_popup_area(Rect::new(0, 0, size.0, size.1));
    let lines = area
        .height
        .saturating_sub(2 + SEARCH_HEAD_LINES + SEARCH_FOOT_LINES);
    (lines / 2).max(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_follow_the_width() {
        let wide = Screen::new(Rect::new(0, 0, 120, 40), Pane::Roster);
        assert_eq!(wide.panes.len(), 3);
        let mid = Screen::new(Rect::new(0, 0, 80, 24), Pane::Detail);
        let shown: Vec<Pane> = mid.panes.iter().map(|p| p.0).collect();
        assert_eq!(shown, [Pane::Timeline, Pane::Detail]);
        let thin = Screen::new(Rect::new(0, 0, 50, 24), Pane::Timeline);
        assert_eq!(thin.panes.len(), 1);
        assert!(Screen::new(Rect::new(0, 0, 20, 5), Pane::Roster).too_small);
        assert_eq!(
            wide.header.height + wide.status.height + wide.panes[0].1.height,
            40
        );
    }
}
