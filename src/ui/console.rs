//! The session console, full screen: who and what at the top, the time since dose in large
//! digits, the checklist, vitals with their flags and a sparkline, ratings, and the timed
//! observations; the input line at the bottom when one is open. Calm by design: colour only
//! where something needs the clinician (a flag, an overdue checkpoint).

use super::theme::Theme;
use crate::app::console::Console;
use crate::app::{Action, App, KeyContext};
use crate::model::EntryField;
use crate::model::monitoring::{self, LiveFlag};
use crate::protocols::CheckpointState;
use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};
use tui_big_text::{BigText, PixelSize};

use crate::layout::console::areas;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, c: &Console, theme: &Theme) {
    let now = app.now();
    // Worked out once a frame: the clock shows the live flags, the vitals each reading's.
    let live = monitoring::live_flags(&c.session, &c.thresholds());
    let a = areas(area, c.input.is_some());
    header(frame, a.header, c, theme);
    clock(frame, a.clock, app, c, now, &live, theme);
    let [checks, vitals, ratings] = Layout::vertical([
        Constraint::Length(c.protocol.checkpoints.len() as u16 + 2),
        Constraint::Min(6),
        Constraint::Length(4),
    ])
    .areas(a.left);
    checklist(frame, checks, c, now, theme);
    vitals_box(frame, vitals, app, c, theme);
    ratings_box(frame, ratings, app, c, theme);
    observations(frame, a.right, app, c, theme);
    if c.input.is_some() {
        input_line(frame, a.input, app, c, theme);
    }
}

fn boxed<'a>(title: String, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(
            format!(" {} ", super::safe(&title)),
            theme.title,
        ))
}

fn header(frame: &mut Frame, area: Rect, c: &Console, theme: &Theme) {
    let s = &c.session;
    let p = &c.patient;
    let dose = match (s.dose_in_mg(), s.dose_mg_per_kg) {
        (Some(mg), Some(k)) => format!(" {mg} mg ({k} mg/kg)"),
        (Some(mg), None) => format!(" {mg} mg"),
        _ => String::new(),
    };
    let devices = s
        .dose_in_mg()
        .filter(|_| c.is_rems())
        .and_then(monitoring::esketamine_devices)
        .map_or(String::new(), |d| format!(" ({d} devices)"));
    let weight = p.weight_kg.map_or(String::new(), |w| format!(" · {w} kg"));
    let number = s
        .number
        .map_or(String::new(), |n| format!("  │  session {n}"));
    let lot = match &s.lot {
        Some(lot) => Span::styled(format!(" · lot {}", super::safe(lot)), theme.text),
        None => Span::styled(" · no lot yet", theme.draft),
    };
    // The fullest line that fits: the route, the weight, the devices and the session number
    // give way first; the name, medication, dose and lot never do.
    let width = usize::from(area.width);
    let variants = [
        (true, true, true, true),
        (false, true, true, true),
        (false, false, true, false),
        (false, false, false, false),
    ];
    let mut line = Line::default();
    for (route, wt, dev, num) in variants {
        let mut spans = vec![Span::styled(
            format!(" {}", super::safe(&p.name)),
            theme.heading,
        )];
        if wt {
            spans.push(Span::styled(weight.clone(), theme.dim));
        }
        spans.push(Span::styled("  │  ", theme.dim));
        let mut what = super::safe(&s.medication);
        if route {
            what.push(' ');
            what.push_str(s.route.label());
        }
        what.push_str(&dose);
        if dev {
            what.push_str(&devices);
        }
        spans.push(Span::styled(what, theme.text));
        if let Some(k) = s.corrections_of(EntryField::Dose, 0).last() {
            spans.push(Span::styled(" ", theme.text));
            spans.push(Span::styled(super::safe(&k.old), struck(theme)));
        }
        if !s.dose_overrides().is_empty() {
            spans.push(Span::styled(
                " (outside the protocol, confirmed)",
                theme.draft,
            ));
        }
        spans.push(lot.clone());
        if let Some(k) = s.corrections_of(EntryField::Lot, 0).last() {
            spans.push(Span::styled(" ", theme.text));
            spans.push(Span::styled(super::safe(&k.old), struck(theme)));
        }
        if s.dose_in_mg().is_none() {
            spans.push(Span::styled(" · no dose yet", theme.flag));
        }
        if num {
            spans.push(Span::styled(number.clone(), theme.dim));
        }
        line = Line::from(spans);
        let used: usize = line
            .spans
            .iter()
            .map(|s| crate::text_safety::width(&s.content))
            .sum();
        if used <= width {
            break;
        }
    }
    frame.render_widget(Paragraph::new(line), area);
}

/// The time since dose, large, and what it means beside it.
fn clock(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    c: &Console,
    now: Timestamp,
    flags: &[LiveFlag],
    theme: &Theme,
) {
    let s = &c.session;
    let tz = app.settings.time_zone.clone();
    let hm = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%H:%M").to_string();
    let end = s.discharge.as_ref().map(|d| d.at);
    let (digits, style) = match s.dose_time {
        Some(t0) => {
            let secs = end.unwrap_or(now).duration_since(t0).as_secs().max(0);
            (format!("{}:{:02}", secs / 60, secs % 60), theme.heading)
        }
        None => ("--:--".to_string(), theme.dim),
    };
    let big_w = if area.width >= 100 { 8 } else { 4 };
    let clock_w = (digits.chars().count() as u16 * big_w + 2).min(area.width / 2);
    let [big, side] =
        Layout::horizontal([Constraint::Length(clock_w), Constraint::Min(0)]).areas(area);
    let big_rect = Rect {
        x: big.x + 1,
        y: big.y,
        width: big.width.saturating_sub(1),
        height: big.height.min(4),
    };
    frame.render_widget(
        BigText::builder()
            .pixel_size(if big_w == 8 {
                PixelSize::HalfHeight
            } else {
                PixelSize::Quadrant
            })
            .style(style)
            .lines(vec![Line::from(digits)])
            .build(),
        big_rect,
    );
    let min = c.thresholds().min_observation_minutes;
    let mut lines = Vec::new();
    // What the clock means comes first, then the live flags and the next check; the
    // observation time last, as it is the first to give way on a small screen.
    let mut observe = None;
    match (s.dose_time, end) {
        (None, None) => {
            lines.push(Line::from(Span::styled("PRE-DOSE", theme.label)));
            lines.push(Line::from(Span::styled(
                format!(
                    "session started {}; {} marks the dose (T0)",
                    hm(s.at),
                    app.key_hint(KeyContext::Console, Action::SessionMarkDose)
                ),
                theme.dim,
            )));
        }
        (Some(t0), None) => {
            let m = c.minutes(now).unwrap_or_default();
            let mut spans = vec![
                // A clock set back below T0 (corrected, or the machine's) says so rather than
                // "+-8 min".
                Span::styled(
                    if m < 0 {
                        format!("{} min before T0 by this clock", -m)
                    } else {
                        format!("+{m} min since dose")
                    },
                    theme.label,
                ),
                Span::styled(
                    format!("  ·  T0 {}", t0.to_zoned(tz.clone()).strftime("%H:%M:%S")),
                    theme.dim,
                ),
            ];
            if let Some(k) = s.corrections_of(EntryField::DoseTime, 0).last() {
                spans.push(Span::styled(" ", theme.dim));
                spans.push(Span::styled(k.old.clone(), struck(theme)));
            }
            lines.push(Line::from(spans));
            let until = t0 + jiff::SignedDuration::from_mins(i64::from(min));
            observe = Some(if now >= until {
                Line::from(Span::styled(
                    format!("{min} min of observation met at {}", hm(until)),
                    theme.signed,
                ))
            } else {
                Line::from(Span::styled(
                    format!("observe until {} ({min} min)", hm(until)),
                    theme.text,
                ))
            });
        }
        (_, Some(at)) => {
            let after = c
                .minutes(at)
                .map_or(String::new(), |m| format!(", +{m} min after dose"));
            lines.push(Line::from(Span::styled(
                format!("ENDED at {}{after}", hm(at)),
                theme.label,
            )));
        }
    }
    // Every flag that holds now, each cleared by a later normal reading of its kind (the
    // readings keep theirs in the vitals box); flags of one reading share its stamp. They may
    // take every row but the one for the next check; what does not fit ends in "…".
    if !flags.is_empty() {
        let mut parts: Vec<String> = Vec::new();
        for (i, f) in flags.iter().enumerate() {
            let mut part = f.short();
            if flags.get(i + 1).is_none_or(|n| n.at() != f.at()) {
                // A no-break space, so a stamp is never cut across rows.
                let stamp = c.stamp(f.at(), &tz).replace(' ', "\u{a0}");
                part.push_str(&format!(" ({stamp})"));
            }
            parts.push(part);
        }
        let text = if flags.len() == 1 {
            format!("⚠ {}", parts.join(" · "))
        } else {
            format!("⚠ {} flags: {}", flags.len(), parts.join(" · "))
        };
        let budget = usize::from(side.height)
            .saturating_sub(lines.len() + usize::from(end.is_none()))
            .max(1);
        let width = usize::from(side.width).max(10);
        let mut rows: Vec<String> = textwrap::wrap(&text, width)
            .into_iter()
            .map(|r| r.into_owned())
            .collect();
        if rows.len() > budget {
            rows.truncate(budget);
            if let Some(last) = rows.last_mut() {
                let keep = width.saturating_sub(1);
                *last = last.chars().take(keep).collect::<String>() + "…";
            }
        }
        for r in rows {
            lines.push(Line::from(Span::styled(r, theme.flag)));
        }
    }
    if end.is_none()
        && let Some(next) = next_check(c, now)
    {
        lines.push(next.line(theme));
    }
    lines.extend(observe);
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        side,
    );
}

/// The check to look at next: the longest overdue, else one due now, else the next upcoming.
enum NextCheck {
    Overdue {
        label: String,
        minutes: i64,
    },
    /// Due for `minutes` already.
    Due {
        label: String,
        minutes: i64,
    },
    Upcoming {
        label: String,
        in_minutes: i64,
    },
}

impl NextCheck {
    fn line(&self, theme: &Theme) -> Line<'static> {
        match self {
            NextCheck::Overdue { label, minutes } => Line::from(Span::styled(
                format!("! OVERDUE {minutes} min: {label}"),
                theme.flag,
            )),
            NextCheck::Due { label, minutes } => Line::from(Span::styled(
                format!("● due now ({minutes} min): {label}"),
                theme.draft,
            )),
            NextCheck::Upcoming { label, in_minutes } => Line::from(Span::styled(
                format!("next: {label} in {in_minutes} min"),
                theme.text,
            )),
        }
    }
}

fn next_check(c: &Console, now: Timestamp) -> Option<NextCheck> {
    let states = crate::protocols::checkpoint_states(&c.session, &c.protocol, now);
    let mins = |a: Timestamp, b: Timestamp| b.duration_since(a).as_secs().max(0) / 60;
    let overdue = states
        .iter()
        .filter_map(|(cp, s)| match s {
            CheckpointState::Overdue { since } => Some((cp, *since)),
            _ => None,
        })
        .min_by_key(|(_, since)| *since);
    if let Some((cp, since)) = overdue {
        return Some(NextCheck::Overdue {
            label: cp.label.clone(),
            minutes: mins(since, now),
        });
    }
    if let Some((cp, since)) = states.iter().find_map(|(cp, s)| match s {
        CheckpointState::Due { since } => Some((cp, *since)),
        _ => None,
    }) {
        return Some(NextCheck::Due {
            label: cp.label.clone(),
            minutes: mins(since, now),
        });
    }
    states
        .iter()
        .filter_map(|(cp, s)| match s {
            CheckpointState::Upcoming { due } => Some((cp, *due)),
            _ => None,
        })
        .min_by_key(|(_, due)| *due)
        .map(|(cp, due)| NextCheck::Upcoming {
            label: cp.label.clone(),
            // Rounded up, so "in 0 min" never shows before it is due.
            in_minutes: (due.duration_since(now).as_secs().max(0) + 59) / 60,
        })
}

fn checklist(frame: &mut Frame, area: Rect, c: &Console, now: Timestamp, theme: &Theme) {
    let mut title = c.protocol.name.clone();
    if !c.protocol_installed {
        title.push_str(" (profile not installed: default rules)");
    }
    let block = boxed(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let states = crate::protocols::checkpoint_states(&c.session, &c.protocol, now);
    let lines: Vec<Line> = states
        .iter()
        .map(|(cp, state)| {
            let (mark, text, style) = match state {
                CheckpointState::Done { .. } => ("✓", "done".to_string(), theme.signed),
                CheckpointState::Due { .. } => ("●", "due now".to_string(), theme.draft),
                CheckpointState::Overdue { since } => (
                    "!",
                    format!("overdue {}m", now.duration_since(*since).as_mins().max(0)),
                    theme.flag,
                ),
                CheckpointState::Upcoming { due } => (
                    "○",
                    match c.session.dose_time {
                        Some(t0) => crate::model::session::minutes_label(t0, *due),
                        None => "later".to_string(),
                    },
                    theme.dim,
                ),
                CheckpointState::NotYet => ("○", "after T0".to_string(), theme.dim),
            };
            // " ✓ " label, at least one space, the state at the right edge.
            let w = usize::from(inner.width).saturating_sub(text.chars().count() + 4);
            Line::from(vec![
                Span::styled(format!(" {mark} "), style),
                Span::styled(format!("{} ", super::fit(&cp.label, w)), theme.text),
                Span::styled(text, style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn vitals_box(frame: &mut Frame, area: Rect, app: &App, c: &Console, theme: &Theme) {
    let s = &c.session;
    // The lines the readings are flagged at under the box, and where they come from above it.
    let t = c.thresholds();
    let from = if t.absolute_are_defaults() {
        " clinic defaults "
    } else {
        " protocol's flags "
    };
    let block = boxed(format!("Vitals ({})", s.vitals.len()), theme)
        .title(ratatui::text::Line::from(Span::styled(from, theme.dim)).right_aligned())
        .title_bottom(Span::styled(
            {
                let lines = t.absolute_short();
                // Without the dots when the box is narrow, so SpO2's line is not cut.
                if crate::text_safety::width(&lines) + 4 > usize::from(area.width) {
                    format!(" {} ", lines.replace(" · ", " "))
                } else {
                    format!(" {lines} ")
                }
            },
            theme.dim,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let tz = &app.settings.time_zone;
    let spark_h = if s.vitals.len() >= 2 && inner.height >= 5 {
        2
    } else {
        0
    };
    let [table, spark] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(spark_h)]).areas(inner);
    let width = usize::from(table.width);
    // One group of lines per reading: the reading, flags that do not fit beside it, originals.
    let mut groups: Vec<Vec<Line>> = Vec::new();
    for (vi, v) in s.vitals.iter().enumerate() {
        let mut lines: Vec<Line> = Vec::new();
        let bp = match (v.systolic, v.diastolic) {
            (Some(a), Some(b)) => format!("{a}/{b}"),
            (Some(a), None) => format!("{a}/-"),
            _ => "-".into(),
        };
        let hr = v.heart_rate.map_or("-".into(), |h| h.to_string());
        let o2 = v.spo2.map_or("-".into(), |o| format!("{o}%"));
        let reading = format!(" {:<9}{bp:>7} {hr:>4} {o2:>4}", c.stamp(v.at, tz));
        let mut spans = vec![Span::styled(reading.clone(), theme.text)];
        let mut used = reading.chars().count();
        for f in monitoring::reading_flags(s, v, &c.thresholds()) {
            let flag = format!("  ⚠ {}", f.short());
            // A flag that does not fit goes on its own line under the reading, never cut.
            if used + flag.chars().count() > width {
                lines.push(Line::from(std::mem::take(&mut spans)));
                spans.push(Span::raw("          "));
                used = 10;
            }
            used += flag.chars().count();
            spans.push(Span::styled(flag, theme.flag));
        }
        lines.push(Line::from(spans));
        for k in s.corrections_of(EntryField::Vitals, vi) {
            lines.push(Line::from(vec![
                Span::raw("          "),
                Span::styled(super::safe(&k.old), struck(theme)),
            ]));
            let why = super::safe(&corrected_by(k, tz));
            for row in textwrap::wrap(&why, width.saturating_sub(11).max(10)) {
                lines.push(Line::from(vec![
                    Span::raw("          "),
                    Span::styled(row.into_owned(), theme.dim),
                ]));
            }
        }
        groups.push(lines);
    }
    // The latest readings when they do not all fit, each whole with its reading line first.
    let rows = usize::from(table.height);
    let mut lines: Vec<Line> = Vec::new();
    for group in groups.into_iter().rev() {
        if lines.len() + group.len() > rows {
            if lines.is_empty() {
                lines = group.into_iter().take(rows).collect();
            }
            break;
        }
        lines.splice(0..0, group);
    }
    if lines.is_empty() {
        none_yet(
            frame,
            table,
            app,
            Action::SessionVitals,
            "records BP, HR, SpO2",
            theme,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), table);
    }
    if spark_h > 0 {
        let sys: Vec<u64> = s
            .vitals
            .iter()
            .filter_map(|v| v.systolic.map(u64::from))
            .collect();
        let hr: Vec<u64> = s
            .vitals
            .iter()
            .filter_map(|v| v.heart_rate.map(u64::from))
            .collect();
        for (i, (label, data)) in [("SBP", sys), ("HR ", hr)].into_iter().enumerate() {
            let row = Rect {
                y: spark.y + i as u16,
                height: 1,
                ..spark
            };
            let [l, g] =
                Layout::horizontal([Constraint::Length(14), Constraint::Min(0)]).areas(row);
            let range = match (data.first(), data.last()) {
                (Some(a), Some(b)) => format!(" {label} {a}→{b}"),
                _ => format!(" {label} -"),
            };
            frame.render_widget(Paragraph::new(Span::styled(range, theme.dim)), l);
            // Scaled from just under the lowest reading, so a rise shows.
            let lo = data.iter().min().copied().unwrap_or(0).saturating_sub(5);
            let scaled: Vec<u64> = data.iter().map(|v| v - lo).collect();
            frame.render_widget(Sparkline::default().data(&scaled).style(theme.label), g);
        }
    }
}

/// "none yet: o writes one": an empty list says which key fills it.
fn none_yet(frame: &mut Frame, area: Rect, app: &App, action: Action, does: &str, theme: &Theme) {
    let key = app.key_hint(KeyContext::Console, action);
    frame.render_widget(
        Paragraph::new(Span::styled(format!(" none yet: {key} {does}"), theme.dim)),
        area,
    );
}

fn ratings_box(frame: &mut Frame, area: Rect, app: &App, c: &Console, theme: &Theme) {
    let s = &c.session;
    let tz = &app.settings.time_zone;
    let block = boxed("Ratings".into(), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let pre = s.predose_moaas();
    let mut moaas = vec![Span::styled(" MOAA/S ", theme.label)];
    if s.sedation.is_empty() {
        moaas.push(Span::styled("none yet", theme.dim));
    }
    for (ri, r) in s.sedation.iter().enumerate().rev().take(4).rev() {
        let sedated =
            s.dose_time.is_some_and(|t0| r.at > t0) && monitoring::is_sedated(pre, r.moaas);
        if let Some(k) = s.corrections_of(EntryField::Sedation, ri).last() {
            moaas.push(Span::styled(k.old.clone(), struck(theme)));
            moaas.push(Span::raw(" "));
        }
        moaas.push(Span::styled(
            format!("{} {}  ", r.moaas, c.stamp(r.at, tz)),
            if sedated { theme.flag } else { theme.text },
        ));
    }
    let mut diss = vec![Span::styled(" Dissoc. ", theme.label)];
    if s.dissociation.is_empty() {
        diss.push(Span::styled("none yet", theme.dim));
    }
    for (ri, r) in s.dissociation.iter().enumerate().rev().take(3).rev() {
        if let Some(k) = s.corrections_of(EntryField::Dissociation, ri).last() {
            diss.push(Span::styled(super::safe(&k.old), struck(theme)));
            diss.push(Span::raw(" "));
        }
        diss.push(Span::styled(
            format!(
                "{} {} {}  ",
                super::safe(&r.scale),
                r.total,
                c.stamp(r.at, tz)
            ),
            theme.text,
        ));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(moaas), Line::from(diss)]),
        inner,
    );
}

fn observations(frame: &mut Frame, area: Rect, app: &App, c: &Console, theme: &Theme) {
    let s = &c.session;
    let block = boxed(format!("Observations ({})", s.observations.len()), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let tz = &app.settings.time_zone;
    if s.observations.is_empty() {
        none_yet(
            frame,
            inner,
            app,
            Action::SessionObserve,
            "writes one, stamped with the time since dose",
            theme,
        );
        return;
    }
    // Each observation wrapped under its stamp; drawn from the list's offset, moved on
    // until the selected one fits entirely.
    let stamp_w = 10;
    let text_w = usize::from(inner.width).saturating_sub(stamp_w + 1).max(10);
    let wrap = |text: &str| -> Vec<String> {
        // Line breaks stay; everything else a terminal would act on shows as a stand-in.
        let text = crate::text_safety::paragraph(text);
        textwrap::wrap(&text, text_w)
            .into_iter()
            .map(|l| l.into_owned())
            .collect()
    };
    // Each observation's rows: its text, then each original it replaced (struck through) with
    // who corrected it, when and why, and for an adverse event whether it is resolved.
    let wrapped: Vec<(usize, Vec<(String, Row)>)> = s
        .observations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let text = if o.adverse {
                format!("⚠ ADVERSE {}", o.text)
            } else {
                o.text.clone()
            };
            let mut rows: Vec<(String, Row)> =
                wrap(&text).into_iter().map(|r| (r, Row::Text)).collect();
            for k in s.corrections_of(EntryField::Observation, i) {
                rows.extend(wrap(&k.old).into_iter().map(|r| (r, Row::Struck)));
                rows.extend(
                    wrap(&corrected_by(k, tz))
                        .into_iter()
                        .map(|r| (r, Row::Note)),
                );
            }
            if o.adverse
                && let Some(r) = s.adverse_resolved().iter().find(|r| r.event_at == o.at)
            {
                rows.push((
                    format!("resolved {} ({})", c.stamp(r.at, tz), r.by),
                    Row::Note,
                ));
            }
            (i, rows)
        })
        .collect();
    let h = usize::from(inner.height);
    let selected = c.observations.selected.min(wrapped.len() - 1);
    let mut first = c.observations.offset.min(selected);
    while first < selected
        && wrapped[first..=selected]
            .iter()
            .map(|(_, r)| r.len())
            .sum::<usize>()
            > h
    {
        first += 1;
    }
    let mut lines: Vec<Line> = Vec::new();
    for (i, rows) in &wrapped[first..] {
        let o = &s.observations[*i];
        let style = if o.adverse { theme.flag } else { theme.text };
        let chosen = *i == selected && c.input.is_none();
        for (n, (row, kind)) in rows.iter().enumerate() {
            let stamp = if n == 0 {
                c.stamp(o.at, tz)
            } else {
                String::new()
            };
            // The selected one (the one `e` corrects) is marked, not painted over.
            let mark = if chosen && n == 0 { "▸" } else { " " };
            let row_style = match kind {
                Row::Text => style,
                Row::Struck => struck(theme),
                Row::Note => theme.dim,
            };
            lines.push(Line::from(vec![
                Span::styled(mark, theme.key),
                Span::styled(format!("{stamp:<9}"), theme.dim),
                Span::styled(row.clone(), row_style),
            ]));
        }
        if lines.len() >= h {
            break;
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A row of the observation list.
#[derive(Clone, Copy)]
enum Row {
    Text,
    /// An original, replaced by a correction.
    Struck,
    /// Who corrected it, when and why; an adverse event's resolution.
    Note,
}

/// The style of a replaced original: struck through, and dim so the current value leads.
fn struck(theme: &Theme) -> ratatui::style::Style {
    theme
        .dim
        .add_modifier(ratatui::style::Modifier::CROSSED_OUT)
}

/// "corrected by Dr. Rivera 15:42: typo in the BP".
fn corrected_by(k: &crate::model::Correction, tz: &jiff::tz::TimeZone) -> String {
    format!(
        "corrected by {} {}: {}",
        k.by,
        k.at.to_zoned(tz.clone()).strftime("%H:%M"),
        k.why
    )
}

fn input_line(frame: &mut Frame, area: Rect, app: &App, c: &Console, theme: &Theme) {
    let Some(input) = &c.input else {
        return;
    };
    let prompt = c.prompt(input, &app.settings.time_zone);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .border_type(theme.border_type_focused)
        .title(Span::styled(
            format!(" {} ", super::safe(&prompt)),
            theme.title,
        ));
    let enter = app.key_hint(KeyContext::Popup, Action::PopupConfirm);
    let esc = app.key_hint(KeyContext::Popup, Action::PopupClose);
    use crate::app::console::InputKind;
    let hint = match input.kind {
        _ if input.kind.is_ending_question() => {
            format!(" {enter} answers · {esc} does not end: the session goes on ")
        }
        InputKind::CorrectionReason | InputKind::DoseOverrideReason => {
            format!(" {enter} stores it with your name · {esc} back to the value ")
        }
        _ if input.editing.is_some() => {
            format!(" {enter} then why · {esc} leaves the entry as it was ")
        }
        _ => format!(" {enter} stores it · {esc} keeps it as a draft "),
    };
    let block = match &input.error {
        Some(e) => block.title_bottom(Span::styled(format!(" {} ", super::safe(e)), theme.error)),
        None => block.title_bottom(Span::styled(hint, theme.dim)),
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Scrolled sideways so the cursor, and the end of a long entry, stay in view.
    super::popups::prompt_line(
        frame,
        inner,
        input.field.text(),
        input.field.cursor_column(),
        None,
        theme,
    );
}
