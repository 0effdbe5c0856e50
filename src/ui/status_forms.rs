//! The status bar's part for measures and goals: the mode shown while their popups are open,
//! the actions hinted there and on a selected goal, and the short words for them. `status.rs`
//! asks here first, so these rules stay in one place.

use crate::app::goals::GoalPopup;
use crate::app::measures::MeasureStep;
use crate::app::{Action, App, KeyContext, Popup};
use crate::model::EntryKind;

/// The mode word while a measure or goal popup is open.
pub(super) fn mode(app: &App) -> Option<&'static str> {
    match &app.popup {
        Some(Popup::Measure(_)) => Some("MEASURE"),
        Some(Popup::Goal(GoalPopup::CheckIn(_) | GoalPopup::Pick { .. })) => Some("CHECK-IN"),
        Some(Popup::Goal(_)) => Some("GOAL"),
        Some(Popup::Record(f)) => Some(match f.purpose {
            crate::app::record_form::FormPurpose::SafetyFollowUp { .. } => "SAFETY",
            crate::app::record_form::FormPurpose::Course => "COURSE",
            crate::app::record_form::FormPurpose::ListAdd
            | crate::app::record_form::FormPurpose::ListStop { .. }
            | crate::app::record_form::FormPurpose::ListCorrect { .. } => "LIST",
        }),
        _ => None,
    }
}

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

fn measure_step(app: &App) -> Option<&MeasureStep> {
    match &app.popup {
        Some(Popup::Measure(f)) => Some(&f.step),
        _ => None,
    }
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
        (KeyContext::Popup, Some(Popup::Measure(f))) => match f.step {
            MeasureStep::Pick(_) => &[
                Action::PopupConfirm,
                Action::PopupClose,
                Action::MoveDown,
                Action::MoveUp,
            ],
            MeasureStep::Items(_) => &[Action::PopupConfirm, Action::MoveUp, Action::PopupClose],
            MeasureStep::Total(_) => &[Action::PopupConfirm, Action::PopupClose],
        },
        (KeyContext::Popup, Some(Popup::Goal(GoalPopup::Form(_) | GoalPopup::CheckIn(_)))) => &[
            Action::FieldNext,
            Action::FieldPrev,
            Action::PopupConfirm,
            Action::PopupClose,
        ],
        (KeyContext::Popup, Some(Popup::Goal(_))) => &[
            Action::PopupConfirm,
            Action::PopupClose,
            Action::MoveDown,
            Action::MoveUp,
        ],
        _ => return None,
    })
}

/// The word for a hint on a selected goal or in these popups; `None` leaves it to status.rs.
pub(super) fn hint_word(a: Action, app: &App) -> Option<&'static str> {
    let choosing = matches!(measure_step(app), Some(MeasureStep::Pick(_)))
        || matches!(
            app.popup,
            Some(Popup::Goal(
                GoalPopup::Intentions { .. } | GoalPopup::Pick { .. }
            ))
        );
    let in_form = matches!(
        measure_step(app),
        Some(MeasureStep::Items(_) | MeasureStep::Total(_))
    ) || matches!(
        app.popup,
        Some(Popup::Goal(GoalPopup::Form(_) | GoalPopup::CheckIn(_)))
    );
    Some(match a {
        Action::GoalCheckIn => "check in",
        Action::GoalNew => "goal",
        Action::MeasureNew => "measure",
        Action::ListStop => "stop",
        Action::ListCorrect => "correct",
        Action::ListAdd => "add to a list",
        Action::NoteEdit if app.popup.is_none() && on_goal(app) => "edit goal",
        Action::MoveUp if matches!(measure_step(app), Some(MeasureStep::Items(_))) => "back",
        Action::PopupConfirm if choosing => "choose",
        Action::PopupConfirm if in_form => "save",
        Action::PopupClose if in_form => "close, kept",
        _ => return None,
    })
}
