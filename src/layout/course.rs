//! The course view's areas: header, chart, goals and check-ins.

use ratatui::layout::{Constraint, Layout, Rect};

pub const HEADER_LINES: u16 = 4;

/// The areas of the view in `body` (the screen less the status bar).
pub struct Areas {
    pub header: Rect,
    pub chart: Rect,
    pub goals: Rect,
    pub check_ins: Rect,
}

pub fn areas(body: Rect) -> Areas {
    let header = Rect {
        height: HEADER_LINES.min(body.height),
        ..body
    };
    let rest = body.height.saturating_sub(header.height);
    let chart_h = (rest / 2).max(rest.min(8));
    let chart = Rect {
        y: header.bottom(),
        height: chart_h,
        ..body
    };
    let bottom = Rect {
        y: chart.bottom(),
        height: rest.saturating_sub(chart_h),
        ..body
    };
    let [goals, check_ins] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    Areas {
        header,
        chart,
        goals,
        check_ins,
    }
}

/// Goal rows shown at a terminal of `size` (the status bar takes the last line).
pub fn goal_rows(size: (u16, u16)) -> usize {
    let body = Rect::new(0, 0, size.0, size.1.saturating_sub(1));
    usize::from(areas(body).goals.height.saturating_sub(2)).max(1)
}
