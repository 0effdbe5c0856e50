//! The session console's areas: header, clock, the two columns and the input line.

use ratatui::layout::{Constraint, Layout, Rect};

/// Where each part of the console goes in `area` (the screen above the status bar).
pub struct Areas {
    pub header: Rect,
    pub clock: Rect,
    pub left: Rect,
    pub right: Rect,
    pub input: Rect,
}

pub fn areas(area: Rect, input_open: bool) -> Areas {
    let input_h = if input_open { 3 } else { 0 };
    let [header, clock, body, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Min(0),
        Constraint::Length(input_h),
    ])
    .areas(area);
    let left_w = if area.width >= 110 {
        50
    } else {
        area.width / 2
    };
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Min(0)]).areas(body);
    Areas {
        header,
        clock,
        left,
        right,
        input,
    }
}

/// Rows of the observation list at terminal `size`, for scrolling.
pub fn observation_rows(size: (u16, u16)) -> usize {
    let area = Rect::new(0, 0, size.0, size.1.saturating_sub(1));
    usize::from(areas(area, true).right.height.saturating_sub(2)).max(1)
}
