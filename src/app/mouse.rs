//! The mouse, when the user turned it on: the wheel scrolls, a click focuses and selects.

use super::layer::Layer;
use super::{Action, App, Pane, Popup};

impl App {
    /// A mouse event (only sent when the user turned the mouse on): the wheel scrolls the pane
    /// under the pointer, a click focuses a pane and selects the row under it.
    pub fn mouse(&mut self, m: ratatui::crossterm::event::MouseEvent) {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        // Moving the pointer is not using kitnotes: only clicks and the wheel keep it unlocked.
        let layer = self.layer();
        if layer == Layer::Lock || m.kind == MouseEventKind::Moved || !self.user_activity() {
            return;
        }
        let wheel = match m.kind {
            MouseEventKind::ScrollDown => Some(Action::MoveDown),
            MouseEventKind::ScrollUp => Some(Action::MoveUp),
            _ => None,
        };
        match layer {
            // The wheel moves a popup's list; search's list knows its height.
            Layer::Popup => {
                if let Some(a) = wheel {
                    if matches!(self.popup, Some(Popup::Search(_))) {
                        self.update_search_popup(a);
                    } else if let Some(p) = self.popup.as_mut() {
                        p.component_mut().navigate(a);
                    }
                }
                return;
            }
            Layer::Panes(_) => {}
            // The editor, the console, the views and the filter line: the keyboard's.
            _ => return,
        }
        let screen = crate::layout::Screen::new(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.focus,
        );
        let pos = ratatui::layout::Position::new(m.column, m.row);
        let Some(&(pane, rect)) = screen.panes.iter().find(|(_, r)| r.contains(pos)) else {
            return;
        };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                if self.focus != pane {
                    self.focus_pane(pane);
                }
                if self.focus == pane {
                    let step = if m.kind == MouseEventKind::ScrollDown {
                        1
                    } else {
                        -1
                    };
                    self.move_by(step);
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus_pane(pane);
                if self.focus != pane || m.row <= rect.y || m.row + 1 >= rect.bottom() {
                    return;
                }
                let row = (m.row - rect.y - 1) as usize;
                let h = self.list_height(pane);
                match pane {
                    Pane::Roster => {
                        // The filter line, when shown, takes the first row.
                        let filter_rows = usize::from(!self.roster.query.is_empty());
                        if row >= filter_rows {
                            let index = self.roster.cursor.offset + row - filter_rows;
                            if index < self.roster.rows.len() {
                                self.roster.cursor.select(index, self.roster.rows.len(), h);
                                self.load_selected_patient();
                            }
                        }
                    }
                    Pane::Timeline => {
                        if let Some(v) = self.patient.as_mut() {
                            let index = v.cursor.offset + row;
                            if index < v.entries.len() {
                                v.cursor.select(index, v.entries.len(), h);
                                v.detail_scroll = 0;
                                v.found = None;
                            }
                        }
                    }
                    Pane::Detail => {}
                }
            }
            _ => {}
        }
    }
}
