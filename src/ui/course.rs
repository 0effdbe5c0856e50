//! The Course view of one patient: where the current course is (a re-induction has its own
//! baseline, session numbers and check-ins), every course the current one first, how PHQ-9 and
//! GAD-7 moved against the doses (a chart with the sessions on the time axis), the goals with
//! their latest progress, and the check-ins that are due next. Laid out to read at 80x24.

use super::theme::Theme;
use super::{fit, safe};
use crate::app::App;
use crate::app::views::{CourseView, goals_in_order};
use crate::model::cadence::{self, CheckInState, ScheduledCheckIn};
use crate::model::course::{self, CoursePeriod, ScorePoint, progress, series};
use crate::model::{GoalStatus, Instrument, IntegrationGoal, PatientRecords};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use crate::layout::course::areas;

pub fn draw(frame: &mut Frame, body: Rect, app: &App, view: &CourseView, theme: &Theme) {
    let Some(p) = &app.patient else {
        return;
    };
    let r = &p.records;
    let tz = &app.settings.time_zone;
    let now = app.now();
    let a = areas(body);
    // The current course's records: its own baseline, numbering and check-in schedule.
    let (all, current) = (&p.course.all, &p.course.current);
    header(frame, a.header, app, p, all, current, theme);
    chart(frame, a.chart, r, now, tz, theme);
    goals(frame, a.goals, r, view, tz, theme);
    let schedule = cadence::schedule(current, &app.settings.cadence, now, tz);
    check_ins(frame, a.check_ins, &schedule, now, tz, theme);
}

fn header(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    v: &crate::app::PatientView,
    all: &[CoursePeriod],
    current: &PatientRecords,
    theme: &Theme,
) {
    let r = &v.records;
    let patient = &r.patient;
    let active = r
        .goals
        .iter()
        .filter(|g| g.status == GoalStatus::Active)
        .count();
    let mut first = vec![
        Span::styled(format!(" {}", safe(&patient.name)), theme.title),
        Span::styled(
            format!(
                " · {} · {} goal{}, {active} active",
                app.course_words(v),
                r.goals.len(),
                if r.goals.len() == 1 { "" } else { "s" },
            ),
            theme.text,
        ),
    ];
    if !app.settings.store_label.is_empty() {
        first.push(Span::styled(
            format!("  [{}]", safe(&app.settings.store_label)),
            theme.dim,
        ));
    }
    let mut lines = vec![Line::from(first)];
    for instrument in [Instrument::Phq9, Instrument::Gad7] {
        let mut spans = vec![Span::raw(" ")];
        match progress(current, instrument) {
            Some(pr) => {
                spans.push(Span::styled(pr.describe(), theme.text));
                if let Some(v) = pr.latest.item9 {
                    spans.push(Span::raw("  "));
                    spans.push(Span::styled(
                        format!(" ITEM 9 = {v}: thoughts of self-harm, follow up "),
                        theme.flag,
                    ));
                }
                spans.push(Span::styled(
                    format!(
                        "  {}",
                        pr.latest
                            .at
                            .to_zoned(app.settings.time_zone.clone())
                            .strftime("%Y-%m-%d")
                    ),
                    theme.dim,
                ));
            }
            None => spans.push(Span::styled(
                format!("{}: none recorded", instrument.label()),
                theme.dim,
            )),
        }
        lines.push(Line::from(spans));
    }
    // Every course, the current one first; a suggestion to start over after a long gap.
    let tz = &app.settings.time_zone;
    let mut spans = vec![Span::raw(" ")];
    if let Some(s) = course::suggestion(all, app.settings.reinduction_gap, app.now(), tz) {
        spans.push(Span::styled(
            format!(
                "{s}: {} starts one",
                app.key_hint(
                    crate::app::KeyContext::Course,
                    crate::app::Action::CourseStart
                )
            ),
            theme.draft,
        ));
        spans.push(Span::raw("  "));
    }
    let listed = course::course_lines(all, tz);
    if listed.is_empty() {
        spans.push(Span::styled("Courses: none yet", theme.dim));
    } else {
        spans.push(Span::styled("Courses: ", theme.label));
        for (i, l) in listed.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", theme.dim));
            }
            spans.push(Span::styled(
                l.clone(),
                if i == 0 { theme.text } else { theme.dim },
            ));
        }
    }
    lines.push(Line::from(spans));
    frame.render_widget(Paragraph::new(lines), area);
}

/// Days since `start`, the chart's x value.
fn days(at: Timestamp, start: Timestamp) -> f64 {
    at.duration_since(start).as_secs_f64() / 86_400.0
}

fn chart(
    frame: &mut Frame,
    area: Rect,
    r: &PatientRecords,
    now: Timestamp,
    tz: &TimeZone,
    theme: &Theme,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(
            " PHQ-9 and GAD-7 over time · doses marked ",
            theme.title,
        ));
    let phq = series(r, Instrument::Phq9);
    let gad = series(r, Instrument::Gad7);
    let doses: Vec<Timestamp> = r.sessions.iter().filter_map(|s| s.dose_time).collect();
    let times = phq
        .iter()
        .chain(&gad)
        .map(|p| p.at)
        .chain(doses.iter().copied());
    let Some(start) = times.clone().min() else {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(
            Paragraph::new(" No scores or doses yet: the chart fills in as the course goes.")
                .style(theme.dim),
            inner,
        );
        return;
    };
    let end = times.max().unwrap_or(start).max(now);
    let span = days(end, start).max(1.0);
    let points = |s: &[ScorePoint]| -> Vec<(f64, f64)> {
        s.iter()
            .map(|p| (days(p.at, start), f64::from(p.total)))
            .collect()
    };
    let phq_points = points(&phq);
    let gad_points = points(&gad);
    let item9_points: Vec<(f64, f64)> = phq
        .iter()
        .filter(|p| p.item9.is_some())
        .map(|p| (days(p.at, start), f64::from(p.total)))
        .collect();
    // A dose is a bar from the axis to the top: the scores read against it.
    let dose_points: Vec<(f64, f64)> = doses.iter().map(|t| (days(*t, start), 27.0)).collect();
    let mono = theme.kind == crate::app::ThemeKind::Monochrome;
    let color = |c: Color| {
        if mono {
            Style::new()
        } else {
            Style::new().fg(c)
        }
    };
    let dose_style = if mono {
        Style::new().add_modifier(Modifier::DIM)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    let (phq_style, gad_style) = (color(Color::LightYellow), color(Color::LightCyan));
    let gad_marker = if mono { Marker::Dot } else { Marker::Braille };
    let mut datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Bar)
            .style(dose_style)
            .data(&dose_points),
    ];
    // A line only between scores close in time: months with no score are a gap, not a
    // straight line that looks like measurements.
    for part in unbroken(&phq_points) {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(phq_style)
                .data(part),
        );
    }
    for part in unbroken(&gad_points) {
        datasets.push(
            Dataset::default()
                .marker(gad_marker)
                .graph_type(GraphType::Line)
                .style(gad_style)
                .data(part),
        );
    }
    // A score with no neighbour near it is a point: a line needs two.
    for part in unbroken(&phq_points).into_iter().filter(|p| p.len() == 1) {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Scatter)
                .style(phq_style)
                .data(part),
        );
    }
    for part in unbroken(&gad_points).into_iter().filter(|p| p.len() == 1) {
        datasets.push(
            Dataset::default()
                .marker(gad_marker)
                .graph_type(GraphType::Scatter)
                .style(gad_style)
                .data(part),
        );
    }
    if !item9_points.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(theme.flag)
                .data(&item9_points),
        );
    }
    // The legend is the block's bottom line, so it is there at every size (ratatui's own
    // legend hides itself in a small chart).
    let mut legend = vec![
        Span::raw(" "),
        Span::styled("━ PHQ-9", phq_style),
        Span::raw("  "),
        Span::styled(if mono { "• GAD-7" } else { "━ GAD-7" }, gad_style),
        Span::raw("  "),
        Span::styled("│ dose", dose_style),
    ];
    if !item9_points.is_empty() {
        legend.push(Span::raw("  "));
        legend.push(Span::styled("█ item 9 > 0", theme.flag));
    }
    legend.push(Span::styled(
        format!("  · a gap: no score for {} weeks ", GAP_DAYS as u32 / 7),
        theme.dim,
    ));
    let block = block.title_bottom(Line::from(legend));
    let date = |d: f64| -> String {
        let t = start
            .checked_add(jiff::SignedDuration::from_secs_f64(d * 86_400.0))
            .unwrap_or(start);
        let fmt = if span > 330.0 { "%b %Y" } else { "%-d %b" };
        t.to_zoned(tz.clone()).strftime(fmt).to_string()
    };
    let x_labels = vec![
        Span::styled(date(0.0), theme.dim),
        Span::styled(date(span / 2.0), theme.dim),
        Span::styled(date(span), theme.dim),
    ];
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([0.0, span])
                .labels(x_labels)
                .style(theme.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 27.0])
                .labels(["0", "9", "18", "27"].map(|s| Span::styled(s, theme.dim)))
                .style(theme.dim),
        )
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// Scores further apart than this (in days) are not joined by a line.
const GAP_DAYS: f64 = 42.0;

/// `points` (in time order) cut where two in a row are more than [`GAP_DAYS`] apart.
fn unbroken(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    let mut parts = Vec::new();
    let mut from = 0;
    for i in 1..points.len() {
        if points[i].0 - points[i - 1].0 > GAP_DAYS {
            parts.push(&points[from..i]);
            from = i;
        }
    }
    if from < points.len() {
        parts.push(&points[from..]);
    }
    parts
}

fn status_mark(s: GoalStatus) -> &'static str {
    match s {
        GoalStatus::Active => "●",
        GoalStatus::Achieved => "✓",
        GoalStatus::Paused => "‖",
        GoalStatus::Dropped => "✗",
    }
}

/// The last few progress values as a tiny bar chart: "▂▃▅▆".
fn trend(g: &IntegrationGoal, n: usize) -> String {
    const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut c: Vec<_> = g.check_ins.iter().collect();
    c.sort_by_key(|c| c.at);
    c.iter()
        .rev()
        .take(n)
        .rev()
        .map(|c| BARS[(usize::from(c.progress.min(10)) * 8).div_ceil(10)])
        .collect()
}

fn goals(
    frame: &mut Frame,
    area: Rect,
    r: &PatientRecords,
    view: &CourseView,
    tz: &TimeZone,
    theme: &Theme,
) {
    let list = goals_in_order(r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .border_type(theme.border_type_focused)
        .title(Span::styled(
            format!(" Goals ({}) · latest progress ", list.len()),
            theme.title,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if list.is_empty() {
        frame.render_widget(
            Paragraph::new(" No goals yet. Promote an intention from a preparation note.")
                .style(theme.dim),
            inner,
        );
        return;
    }
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let wide = width >= 56;
    let tail_w = if wide { 6 + 1 + 6 + 1 + 6 } else { 6 };
    let title_w = width.saturating_sub(2 + 2 + tail_w + 1);
    let mut cursor = view.cursor;
    cursor.keep_visible(list.len(), height);
    let lines: Vec<Line> = list[cursor.visible(list.len(), height)]
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let selected = cursor.offset + i == cursor.selected;
            let latest = g.latest_check_in();
            let progress =
                latest.map_or("  –/10".to_string(), |c| format!("{:>3}/10", c.progress));
            let title_style = if g.status == GoalStatus::Active {
                theme.text
            } else {
                theme.dim
            };
            let mut spans = vec![
                Span::styled(if selected { "▶ " } else { "  " }, theme.key),
                Span::styled(format!("{} ", status_mark(g.status)), title_style),
                Span::styled(fit(&g.title, title_w), title_style),
                Span::raw(" "),
                Span::styled(progress, theme.label),
            ];
            if wide {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(fit(&trend(g, 6), 6), theme.signed));
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    latest.map_or("      ".into(), |c| {
                        c.at.to_zoned(tz.clone()).strftime("%d %b").to_string()
                    }),
                    theme.dim,
                ));
            }
            let line = Line::from(spans);
            if selected {
                line.patch_style(theme.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn check_ins(
    frame: &mut Frame,
    area: Rect,
    schedule: &[ScheduledCheckIn],
    now: Timestamp,
    tz: &TimeZone,
    theme: &Theme,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(" Check-ins ", theme.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    let width = usize::from(inner.width);
    // What is left to do first, then what became of the latest dose's steps, then a count
    // over the whole course (every step of every dose listed would bury the next one).
    let open = cadence::open_check_ins(schedule);
    let latest_dose = schedule.last().map(|c| &c.session);
    let recent = schedule.iter().rev().filter(|c| {
        Some(&c.session) == latest_dose
            && matches!(c.state, CheckInState::Done(_) | CheckInState::Missed)
    });
    let day = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%-d %b").to_string();
    let mut lines: Vec<Line> = Vec::new();
    let past: Vec<&ScheduledCheckIn> = schedule
        .iter()
        .filter(|c| matches!(c.state, CheckInState::Done(_) | CheckInState::Missed))
        .collect();
    let done = past
        .iter()
        .filter(|c| matches!(c.state, CheckInState::Done(_)))
        .count();
    let room = height.saturating_sub(usize::from(!past.is_empty()));
    for c in open.into_iter().chain(recent).take(room) {
        let (label, style, when) = match c.state {
            CheckInState::Overdue => ("overdue", theme.draft, day(c.due)),
            CheckInState::Upcoming if c.due <= now => ("due", theme.text, day(c.due)),
            CheckInState::Upcoming => ("next", theme.text, day(c.due)),
            CheckInState::Done(at) => ("done", theme.signed, day(at)),
            CheckInState::Missed => ("missed", theme.dim, day(c.due)),
        };
        let what_w = width.saturating_sub(1 + 8 + 7);
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(fit(label, 8), style),
            Span::styled(fit(&c.describe(), what_w), theme.text),
            Span::styled(format!(" {when:>6}"), theme.dim),
        ]));
    }
    if !past.is_empty() && lines.len() < height {
        lines.push(Line::from(Span::styled(
            format!(" This course: {done} of {} done", past.len()),
            theme.dim,
        )));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            " None due: check-ins follow each dose once a goal is active.",
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::unbroken;

    #[test]
    fn scores_months_apart_are_not_joined() {
        let points = [
            (0.0, 20.0),
            (7.0, 18.0),
            (14.0, 15.0),
            (120.0, 19.0),
            (127.0, 17.0),
            (300.0, 9.0),
        ];
        let parts: Vec<usize> = unbroken(&points).iter().map(|p| p.len()).collect();
        assert_eq!(parts, vec![3, 2, 1]);
        assert!(unbroken(&[]).is_empty());
    }
}
