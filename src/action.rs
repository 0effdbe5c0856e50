//! Everything a user can make happen, by name: the `run = "..."` of a keymap binding, the rows
//! of the command palette and of help. The name and description live here once, so help can
//! never disagree with what a key does.

use std::fmt;

/// Where a key press is resolved. Each has its own section in a keymap file; `global` bindings
/// apply under every pane, and `popup` is used by every popup and text field (filter, help,
/// palette, forms), whose unbound keys are typed into the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyContext {
    Global,
    Roster,
    Timeline,
    Detail,
    EditorNormal,
    EditorInsert,
    Popup,
    Console,
    Today,
    Course,
}

impl KeyContext {
    pub const ALL: [KeyContext; 10] = [
        KeyContext::Global,
        KeyContext::Roster,
        KeyContext::Timeline,
        KeyContext::Detail,
        KeyContext::EditorNormal,
        KeyContext::EditorInsert,
        KeyContext::Popup,
        KeyContext::Console,
        KeyContext::Today,
        KeyContext::Course,
    ];

    /// The section name in a keymap file.
    pub fn name(self) -> &'static str {
        match self {
            KeyContext::Global => "global",
            KeyContext::Roster => "roster",
            KeyContext::Timeline => "timeline",
            KeyContext::Detail => "detail",
            KeyContext::EditorNormal => "editor_normal",
            KeyContext::EditorInsert => "editor_insert",
            KeyContext::Popup => "popup",
            KeyContext::Console => "console",
            KeyContext::Today => "today",
            KeyContext::Course => "course",
        }
    }

    /// Where it is, in words, for help's title.
    pub fn words(self) -> &'static str {
        match self {
            KeyContext::Global => "everywhere",
            KeyContext::Roster => "the patient list",
            KeyContext::Timeline => "the timeline",
            KeyContext::Detail => "the detail",
            KeyContext::EditorNormal => "the note editor, normal mode",
            KeyContext::EditorInsert => "the note editor",
            KeyContext::Popup => "this form or list",
            KeyContext::Console => "the session console",
            KeyContext::Today => "Today",
            KeyContext::Course => "the course view",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether `global` bindings also apply here. Popups and the insert-mode editor take
    /// typing, so a global single-letter key must not steal a typed letter; the session
    /// console has its own calm set of keys.
    pub fn inherits_global(self) -> bool {
        !matches!(
            self,
            KeyContext::Popup | KeyContext::EditorInsert | KeyContext::Console
        )
    }
}

impl fmt::Display for KeyContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal : $desc:literal,)*) => {
        /// A named thing the user can do. `Action::ALL` is the palette's list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in keymap files, e.g. `"move.down"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What it does, in a clinician's words; shown in help and the palette.
            pub fn description(self) -> &'static str {
                match self {
                    $(Action::$variant => $desc,)*
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    Quit = "app.quit": "Quit kitnotes",
    Help = "app.help": "Show the keys for this pane (type to filter)",
    Palette = "app.palette": "Open the command palette: every action, fuzzy-filtered",
    ToggleTheme = "app.cycle_theme": "Switch theme: standard, high contrast, monochrome",
    Privacy = "app.privacy": "Blank the whole screen at once (a patient may glance at it); the same key brings it back",
    Lock = "app.lock": "Lock now: save drafts and hide the screen until unlocked",

    FocusNext = "focus.next": "Move focus to the next pane",
    FocusPrev = "focus.prev": "Move focus to the previous pane",
    FocusRoster = "focus.roster": "Go to the patient list",
    FocusTimeline = "focus.timeline": "Go to the patient's timeline",
    FocusDetail = "focus.detail": "Go to the selected entry's details",

    MoveUp = "move.up": "Move up one row",
    MoveDown = "move.down": "Move down one row",
    MoveTop = "move.top": "Go to the first row",
    MoveBottom = "move.bottom": "Go to the last row",
    PageUp = "move.page_up": "Move up one page",
    PageDown = "move.page_down": "Move down one page",
    Open = "entry.open": "Open the selected patient or entry",
    Back = "entry.back": "Go back to the previous pane",

    RosterFilter = "roster.filter": "Find a patient by name (fuzzy)",
    ToggleArchived = "roster.toggle_archived": "Show or hide archived patients",
    PatientNew = "patient.new": "Add a patient",
    PatientEdit = "patient.edit": "Edit the selected patient's details",
    PatientArchive = "patient.archive": "Archive the selected patient, or bring them back",

    PopupClose = "popup.close": "Close the popup, keeping nothing typed unsaved",
    PopupConfirm = "popup.confirm": "Run the chosen item or save the form",
    FieldNext = "form.next_field": "Go to the next field",
    SearchOrder = "search.order": "Search results: best match, oldest or newest first",
    NoteDiscard = "note.discard": "Discard the selected draft note (asks once; never a signed note)",
    SearchNext = "search.next": "Open the next result of the last search",
    SearchPrev = "search.prev": "Open the previous result of the last search",
    FieldPrev = "form.prev_field": "Go to the previous field",

    NoteNew = "note.new": "Write a new note for this patient: pick a template, start typing",
    NoteEdit = "note.edit": "Continue writing the selected draft note, or edit the selected goal",
    NoteSign = "note.sign": "Sign the note: shows what becomes final and asks once",
    NoteAddendum = "note.addendum": "Add a signed addendum to the selected signed note",
    DraftsList = "drafts.list": "List unsigned drafts of all patients, oldest first",
    ViewToday = "view.today": "Today, across all patients: item-9 follow-ups, sessions, check-ins due, drafts",
    ViewCourse = "view.course": "The patient's course: PHQ-9 and GAD-7 over time, goals, check-ins",
    ViewSummary = "view.summary": "The course view's one-page summary: scores, sessions, goals (again: the chart)",

    MeasureNew = "measure.new": "Record a PHQ-9, GAD-7 or a scale total",
    GoalNew = "goal.new": "Promote an intention to an integration goal, or set a new one",
    GoalCheckIn = "goal.check_in": "Check in on a goal: progress 0-10 and a short note",
    SafetyFollowUp = "safety.follow_up": "Record a safety follow-up of a PHQ-9 item 9 answer: risk assessed, plan, by whom",
    ChartPdf = "chart.pdf": "Write the patient's chart as a PDF to hand over (psychotherapy notes left out) into the exports folder",
    CourseStart = "course.start": "Start a course: induction, re-induction (own baseline and numbering) or maintenance",
    ListAdd = "list.add": "Add a problem, a medication (with its class) or an allergy to the patient's lists",
    ListStop = "list.stop": "Stop the selected problem, medication or allergy: a stop date, and it stays readable",
    ListCorrect = "list.correct": "Correct the selected problem, medication or allergy (the original is kept)",

    SearchPatient = "search.patient": "Search this patient's notes, observations, goals and check-ins",
    SearchAll = "search.all": "Search the notes, observations, goals and check-ins of every patient",

    SessionStart = "session.start": "Start a dosing session from a protocol, or go back to the open one",
    SessionObserve = "session.observe": "Add an observation, stamped with the time since dose",
    SessionAdverse = "session.adverse": "Record an adverse event (a flagged observation)",
    SessionVitals = "session.vitals": "Record vitals: 128/84 76 98 (BP, heart rate, SpO2; any part)",
    SessionSedation = "session.sedation": "Rate sedation: MOAA/S 0-5",
    SessionDissociation = "session.dissociation": "Record a dissociation score, e.g. CADSS 12",
    SessionDose = "session.dose": "Set the dose: mg, or mg/kg with the patient's weight",
    SessionLot = "session.lot": "Set the medication's lot number",
    SessionMarkDose = "session.mark_dose": "Mark the dose as given now (T0): the clock starts",
    SessionEditObservation = "session.edit_observation": "Correct the selected observation (the original stays, struck through)",
    SessionCorrect = "session.correct": "Correct any entry: vitals, a rating, the dose, lot or T0 (the original stays)",
    SessionResolveAdverse = "session.resolve_adverse": "Mark the selected adverse event resolved (its live flag clears)",
    SessionEnd = "session.end": "End the session: discharge, then write the session note",
    SessionLeave = "session.leave": "Leave the console; the session stays open",
    SessionRemsSummary = "session.rems_summary": "Write the session's REMS summary to a private file",

    EditorClose = "editor.close": "Leave the note editor (the draft is saved)",
    EditorSave = "editor.save": "Save the draft now (it also saves itself as you type)",
    SectionNext = "section.next": "Go to the note's next section",
    SectionPrev = "section.prev": "Go to the note's previous section",
    Undo = "edit.undo": "Undo the last change in this section",
    Redo = "edit.redo": "Redo what was undone",
    EditorInsert = "editor.insert": "Type into the note at the cursor (insert mode)",
    EditorAppend = "editor.append": "Type into the note after the cursor",
    EditorOpenLine = "editor.open_line": "Start a new line below and type into it",
    EditorNormal = "editor.normal": "Stop typing: keys move and edit (normal mode)",
    CursorLeft = "cursor.left": "Move the cursor left",
    CursorRight = "cursor.right": "Move the cursor right",
    CursorUp = "cursor.up": "Move the cursor up a line",
    CursorDown = "cursor.down": "Move the cursor down a line",
    CursorWordNext = "cursor.word_next": "Move to the next word",
    CursorWordPrev = "cursor.word_prev": "Move to the previous word",
    CursorLineStart = "cursor.line_start": "Move to the start of the line",
    CursorLineEnd = "cursor.line_end": "Move to the end of the line",
    DeleteChar = "edit.delete_char": "Delete the character under the cursor",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
            assert!(seen.insert(a.name()), "{} twice", a.name());
            assert!(
                !a.description().is_empty(),
                "{} has no description",
                a.name()
            );
        }
        assert_eq!(Action::from_name("noop"), None);
    }

    #[test]
    fn contexts_round_trip() {
        for c in KeyContext::ALL {
            assert_eq!(KeyContext::from_name(c.name()), Some(c));
        }
    }
}
