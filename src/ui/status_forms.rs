//! The status bar's part for a selected goal or list entry: the actions hinted there and the
//! short words for them. `status.rs` asks here after the popup on top (whose own hints live
//! with it, `app::component`), so these rules stay in one place.

use crate::app::{Action, App, KeyContext};
use crate::model::EntryKind;

/// Whether the timeline's selected entry is a goal or one of its check-ins.
fn on_goal(app: &App) -> bool {
    app.patient
        .as_ref()
        .and_then(|v| v.selected())
        .is_some_and(|e| matches!(e.kind, EntryKind::GoalSet | EntryKind::CheckIn))
}

/// Whether the timeline's selected entry is a problem, medication or allergy.
fn on_list_entry(app: &App) -> bool {
    app.patient
        .as_ref()
        .and_then(|v| v.selected())
        .is_some_and(|e| matches!(e.kind, EntryKind::List(_)))
}

/// The actions hinted on a selected goal or list entry and in the measure and goal popups;
/// `None` elsewhere.
pub(super) fn hinted(ctx: KeyContext, app: &App) -> Option<&'static [Action]> {
    Some(match (ctx, &app.popup) {
        (KeyContext::Timeline, None) if on_list_entry(app) => &[
            Action::Help,
            Action::Palette,
            Action::Open,
            Action::ListStop,
            Action::ListCorrect,
            Action::ListAdd,
            Action::Back,
            Action::Quit,
        ],
        (KeyContext::Detail, None) if on_list_entry(app) => &[
            Action::Help,
            Action::Palette,
            Action::ListStop,
            Action::ListCorrect,
            Action::ListAdd,
            Action::Back,
            Action::Quit,
        ],
        (KeyContext::Timeline, None) if on_goal(app) => &[
            Action::Help,
            Action::Palette,
            Action::Open,
            Action::GoalCheckIn,
            Action::NoteEdit,
            Action::GoalNew,
            Action::MeasureNew,
            Action::Back,
            Action::Quit,
        ],
        (KeyContext::Detail, None) if on_goal(app) => &[
            Action::Help,
            Action::Palette,
            Action::GoalCheckIn,
            Action::NoteEdit,
            Action::Back,
            Action::PageDown,
            Action::Quit,
        ],
        _ => return None,
    })
}

/// The word for a hint on a selected goal or in these popups; `None` leaves it to status.rs.
pub(super) fn hint_word(a: Action, app: &App) -> Option<&'static str> {
    Some(match a {
        Action::GoalCheckIn => "check in",
        Action::GoalNew => "goal",
        Action::MeasureNew => "measure",
        Action::ListStop => "stop",
        Action::ListCorrect => "correct",
        Action::ListAdd => "add to a list",
        Action::NoteEdit if app.popup.is_none() && on_goal(app) => "edit goal",
        _ => return None,
    })
}
