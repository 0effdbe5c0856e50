//! The chart to hand over, as a PDF: the Markdown chart's content (the same sections, in the same
//! order) laid out on US Letter pages, every page headed with the patient's name, date of birth
//! and id and footed with "page N of M".
//!
//! Written with `pdf-writer` in the PDF's base-14 fonts (Helvetica, Helvetica-Bold and their
//! obliques) in WinAnsiEncoding, so no font file is embedded or needed; lines are wrapped with
//! Helvetica's own glyph widths ([`metrics`]). Text outside WinAnsi (Western European) shows a
//! readable ASCII stand-in (`→` as `->`, `−` as `-`, `≥` as `>=`) or `?` (emoji, CJK, letters
//! of other alphabets).
//!
//! The layout reads the Markdown chart line by line: `#` headings bold and larger, `-` lists
//! indented with a bullet, tables as aligned columns (cells wrapped, the header row repeated on a
//! new page), `**bold**`, `*italic*` and `~~struck through~~` (a correction's original stays
//! readable under its line). A page break comes before the first dated entry (the summary ends
//! there), before any later part with its own `##` heading, and where a heading would otherwise
//! be left alone at the foot of a page. Like the Markdown chart, the output depends only on the
//! records and the options: the same data gives the same bytes.

mod metrics;

use super::ExportSummary;
use super::markdown::{self, ChartOptions};
use crate::model::PatientRecords;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::io::{self, Write};

/// US Letter, in points: charts handed over in the US (records requests, REMS) are printed on it.
const PAGE_WIDTH: f32 = 612.0;
const PAGE_HEIGHT: f32 = 792.0;
const MARGIN: f32 = 54.0;
/// The first baseline below the running header, and the lowest one above the footer.
const CONTENT_TOP: f32 = PAGE_HEIGHT - 66.0;
const CONTENT_BOTTOM: f32 = 58.0;
const BODY_SIZE: f32 = 9.5;
const LEADING: f32 = 1.3;
const LIST_INDENT: f32 = 14.0;
const CELL_GAP: f32 = 8.0;

/// A patient's chart as a PDF, with its page count and what it contains.
#[derive(Debug, Clone)]
pub struct PdfChart {
    pub bytes: Vec<u8>,
    pub pages: usize,
    pub summary: ExportSummary,
}

/// One patient's chart as a PDF.
pub fn render(records: &PatientRecords, opts: &ChartOptions) -> PdfChart {
    let (text, summary) = markdown::render(records, opts);
    let p = &records.patient;
    let name = one_line(&p.name);
    let mut running = vec![Run::new(Face::Bold, &name)];
    let mut rest = String::new();
    if let Some(born) = p.born {
        rest.push_str(&format!(", born {born}"));
    }
    rest.push_str(&format!(" · patient {}", one_line(p.id.as_str())));
    running.push(Run::new(Face::Regular, &rest));
    let pages = Layout::chart(&text);
    PdfChart {
        bytes: write(&pages, &running, &name),
        pages: pages.len(),
        summary,
    }
}

/// Writes one patient's chart as a PDF.
pub fn write_pdf(
    out: &mut impl Write,
    records: &PatientRecords,
    opts: &ChartOptions,
) -> io::Result<ExportSummary> {
    let chart = render(records, opts);
    out.write_all(&chart.bytes)?;
    out.flush()?;
    Ok(chart.summary)
}

fn one_line(s: &str) -> String {
    markdown::strip_controls(s)
        .replace(['\n', '\t'], " ")
        .trim()
        .to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
    Italic,
    BoldItalic,
}

impl Face {
    const ALL: [Face; 4] = [Face::Regular, Face::Bold, Face::Italic, Face::BoldItalic];

    fn bold(self) -> bool {
        matches!(self, Face::Bold | Face::BoldItalic)
    }

    fn with(bold: bool, italic: bool) -> Face {
        match (bold, italic) {
            (false, false) => Face::Regular,
            (true, false) => Face::Bold,
            (false, true) => Face::Italic,
            (true, true) => Face::BoldItalic,
        }
    }

    fn emboldened(self) -> Face {
        match self {
            Face::Regular | Face::Bold => Face::Bold,
            Face::Italic | Face::BoldItalic => Face::BoldItalic,
        }
    }

    /// The font's name in each page's resources.
    fn resource(self) -> Name<'static> {
        Name(match self {
            Face::Regular => b"F1",
            Face::Bold => b"F2",
            Face::Italic => b"F3",
            Face::BoldItalic => b"F4",
        })
    }

    fn base_font(self) -> Name<'static> {
        Name(match self {
            Face::Regular => b"Helvetica",
            Face::Bold => b"Helvetica-Bold",
            Face::Italic => b"Helvetica-Oblique",
            Face::BoldItalic => b"Helvetica-BoldOblique",
        })
    }
}

/// Text in one face, as WinAnsi bytes.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    face: Face,
    strike: bool,
    text: Vec<u8>,
}

impl Run {
    fn new(face: Face, s: &str) -> Run {
        Run {
            face,
            strike: false,
            text: metrics::encode(s),
        }
    }

    fn width(&self, size: f32) -> f32 {
        metrics::text_width(&self.text, self.face.bold()) * size
    }
}

fn runs_width(runs: &[Run], size: f32) -> f32 {
    runs.iter().map(|r| r.width(size)).sum()
}

/// A line of the Markdown chart as runs: `\x` is a literal x, `**` toggles bold, `*` italic and
/// `~~` strike-through. As in Markdown, a marker opens only before a non-space and closes only
/// after one, so "5 * 3" in a note stays as typed.
fn spans(line: &str) -> Vec<Run> {
    let chars: Vec<char> = line.chars().collect();
    let mut runs: Vec<Run> = Vec::new();
    let (mut bold, mut italic, mut strike) = (false, false, false);
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            current.push(chars.get(i + 1).copied().unwrap_or('\\'));
            i += 2;
            continue;
        }
        let double = chars.get(i + 1) == Some(&c);
        let marker = match c {
            '*' if double => Some((2, 0)),
            '*' => Some((1, 1)),
            '~' if double => Some((2, 2)),
            _ => None,
        };
        if let Some((len, which)) = marker {
            let on = [bold, italic, strike][which];
            let solid = |ch: Option<&char>| ch.is_some_and(|ch| !ch.is_whitespace());
            let toggles = if on {
                i > 0 && solid(chars.get(i - 1))
            } else {
                solid(chars.get(i + len))
            };
            if toggles {
                if !current.is_empty() {
                    runs.push(Run {
                        face: Face::with(bold, italic),
                        strike,
                        text: metrics::encode(&current),
                    });
                    current.clear();
                }
                match which {
                    0 => bold = !bold,
                    1 => italic = !italic,
                    _ => strike = !strike,
                }
            } else {
                current.extend(&chars[i..i + len]);
            }
            i += len;
            continue;
        }
        current.push(c);
        i += 1;
    }
    if !current.is_empty() {
        runs.push(Run {
            face: Face::with(bold, italic),
            strike,
            text: metrics::encode(&current),
        });
    }
    runs
}

/// Breaks runs into lines no wider than `width`, at spaces; a word wider than a line is cut.
fn wrap(runs: &[Run], width: f32, size: f32) -> Vec<Vec<Run>> {
    // A hair of slack, so text measured at exactly the width (a table column) fits it.
    let width = width + 0.01;
    // Words are the non-space stretches, possibly in several faces ("**18**,").
    struct Word {
        space: Option<Run>,
        parts: Vec<Run>,
    }
    let mut words: Vec<Word> = Vec::new();
    let mut pending_space: Option<Run> = None;
    let mut in_word = false;
    for r in runs {
        for piece in r.text.split_inclusive(|&b| b == b' ') {
            let (body, spaced) = match piece.strip_suffix(b" ") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            if !body.is_empty() {
                let part = Run {
                    text: body.to_vec(),
                    ..r.clone()
                };
                match words.last_mut() {
                    Some(w) if in_word => w.parts.push(part),
                    _ => words.push(Word {
                        space: pending_space.take(),
                        parts: vec![part],
                    }),
                }
                in_word = true;
            }
            if spaced {
                in_word = false;
                pending_space = Some(Run {
                    text: b" ".to_vec(),
                    ..r.clone()
                });
            }
        }
    }
    let mut lines: Vec<Vec<Run>> = Vec::new();
    let mut line: Vec<Run> = Vec::new();
    let mut used = 0.0;
    for w in words {
        let word_width = runs_width(&w.parts, size);
        let space_width = w.space.as_ref().map_or(0.0, |s| s.width(size));
        if !line.is_empty() && used + space_width + word_width > width {
            lines.push(std::mem::take(&mut line));
            used = 0.0;
        }
        if !line.is_empty()
            && let Some(s) = w.space
        {
            used += s.width(size);
            line.push(s);
        }
        if word_width <= width - used {
            used += word_width;
            line.extend(w.parts);
            continue;
        }
        // Longer than a whole line: cut it byte by byte (WinAnsi is one byte a character).
        for part in w.parts {
            let mut cut = Run {
                text: Vec::new(),
                ..part.clone()
            };
            for &b in &part.text {
                let bw = metrics::width(b, part.face.bold()) * size;
                if used + bw > width && (!line.is_empty() || !cut.text.is_empty()) {
                    if !cut.text.is_empty() {
                        line.push(cut.clone());
                        cut.text.clear();
                    }
                    lines.push(std::mem::take(&mut line));
                    used = 0.0;
                }
                cut.text.push(b);
                used += bw;
            }
            if !cut.text.is_empty() {
                line.push(cut);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines.into_iter().map(merged).collect()
}

/// Neighbouring runs in the same face joined, so a line is drawn in as few pieces as it has faces.
fn merged(runs: Vec<Run>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    for r in runs {
        match out.last_mut() {
            Some(last) if last.face == r.face && last.strike == r.strike => {
                last.text.extend_from_slice(&r.text);
            }
            _ => out.push(r),
        }
    }
    out
}

/// Something drawn on a page.
#[derive(Debug, Clone)]
enum Mark {
    Text { x: f32, y: f32, size: f32, run: Run },
    Rule { x1: f32, x2: f32, y: f32 },
}

#[derive(Debug, Default)]
struct Page {
    marks: Vec<Mark>,
}

/// Lays the chart out page by page.
struct Layout {
    pages: Vec<Page>,
    /// The baseline of the last line placed on the current page.
    y: f32,
    /// Space owed before the next line (a blank line of the Markdown), dropped at a page's top.
    gap: f32,
    seen_entry: bool,
}

impl Layout {
    fn chart(text: &str) -> Vec<Page> {
        let mut l = Layout {
            pages: vec![Page::default()],
            y: CONTENT_TOP,
            gap: 0.0,
            seen_entry: false,
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].trim_end();
            if line.starts_with('|') {
                let start = i;
                while i < lines.len() && lines[i].trim_start().starts_with('|') {
                    i += 1;
                }
                l.table(&lines[start..i]);
                continue;
            }
            i += 1;
            if line.is_empty() {
                l.gap = l.gap.max(BODY_SIZE * 0.6);
            } else if let Some(h) = line.strip_prefix("# ") {
                l.heading(1, h);
            } else if let Some(h) = line.strip_prefix("## ") {
                l.heading(2, h);
            } else if let Some(h) = line.strip_prefix("### ") {
                l.heading(3, h);
            } else if let Some(h) = line.strip_prefix("#### ") {
                l.heading(4, h);
            } else if line == "---" {
                l.new_page();
            } else {
                let indent = line.len() - line.trim_start().len();
                let rest = line.trim_start();
                let depth = (indent / 2) as f32;
                match rest.strip_prefix("- ").or_else(|| rest.strip_prefix("* ")) {
                    Some(item) => l.list_item(depth, item),
                    None => {
                        let x = MARGIN + depth * LIST_INDENT;
                        l.paragraph(x, &spans(rest), BODY_SIZE);
                    }
                }
            }
        }
        l.pages
    }

    fn at_top(&self) -> bool {
        self.pages.last().is_none_or(|p| p.marks.is_empty())
    }

    fn new_page(&mut self) {
        if !self.at_top() {
            self.pages.push(Page::default());
        }
        self.y = CONTENT_TOP + BODY_SIZE * LEADING;
        self.gap = 0.0;
    }

    /// Makes room for `height` below the current line, on a new page if needed; returns the
    /// first baseline for a line of `size`.
    fn room(&mut self, height: f32, size: f32) -> f32 {
        let gap = if self.at_top() { 0.0 } else { self.gap };
        if self.y - gap - height < CONTENT_BOTTOM && !self.at_top() {
            self.new_page();
        }
        if self.at_top() {
            self.y = CONTENT_TOP + size * LEADING;
            self.gap = 0.0;
        }
        self.y -= self.gap;
        self.gap = 0.0;
        self.y - size * LEADING
    }

    fn place(&mut self, x: f32, y: f32, size: f32, runs: Vec<Run>) {
        let Some(page) = self.pages.last_mut() else {
            return;
        };
        let mut x = x;
        for run in runs {
            let w = run.width(size);
            page.marks.push(Mark::Text { x, y, size, run });
            x += w;
        }
    }

    fn line(&mut self, x: f32, size: f32, runs: Vec<Run>) {
        let y = self.room(size * LEADING, size);
        self.place(x, y, size, runs);
        self.y = y;
    }

    fn paragraph(&mut self, x: f32, runs: &[Run], size: f32) {
        for l in wrap(runs, PAGE_WIDTH - MARGIN - x, size) {
            self.line(x, size, l);
        }
    }

    fn list_item(&mut self, depth: f32, item: &str) {
        let x = MARGIN + depth * LIST_INDENT;
        let text_x = x + LIST_INDENT * 0.8;
        let lines = wrap(&spans(item), PAGE_WIDTH - MARGIN - text_x, BODY_SIZE);
        for (n, l) in lines.into_iter().enumerate() {
            let y = self.room(BODY_SIZE * LEADING, BODY_SIZE);
            if n == 0 {
                self.place(x, y, BODY_SIZE, vec![Run::new(Face::Regular, "•")]);
            }
            self.place(text_x, y, BODY_SIZE, l);
            self.y = y;
        }
    }

    fn heading(&mut self, level: u8, text: &str) {
        let dated = text.starts_with(|c: char| c.is_ascii_digit());
        if level == 1 {
            self.new_page();
        } else if level == 2 {
            // The summary ends at the first dated entry; a later part of its own starts a page.
            if (dated && !self.seen_entry) || (!dated && self.seen_entry) {
                self.new_page();
            }
            self.seen_entry |= dated;
        }
        let (size, before) = match level {
            1 => (16.0, 0.0),
            2 => (12.0, 10.0),
            3 => (10.5, 6.0),
            _ => (BODY_SIZE, 4.0),
        };
        let runs: Vec<Run> = spans(text)
            .into_iter()
            .map(|r| Run {
                face: r.face.emboldened(),
                ..r
            })
            .collect();
        let lines = wrap(&runs, PAGE_WIDTH - 2.0 * MARGIN, size);
        // Never alone at a page's foot: the heading and three lines after it fit, or a new page.
        self.gap = self.gap.max(before);
        let needed = lines.len() as f32 * size * LEADING + 3.0 * BODY_SIZE * LEADING;
        if !self.at_top() && self.y - self.gap - needed < CONTENT_BOTTOM {
            self.new_page();
        }
        for l in lines {
            self.line(MARGIN, size, l);
        }
        self.gap = BODY_SIZE * 0.3;
    }

    /// A Markdown table as aligned columns: widths from the cells' text, the widest columns
    /// narrowed (their cells wrapped) when the whole is wider than the page.
    fn table(&mut self, rows: &[&str]) {
        let is_separator = |cells: &[String]| {
            !cells.is_empty()
                && cells.iter().all(|c| {
                    let c = c.trim().trim_matches(':');
                    !c.is_empty() && c.chars().all(|ch| ch == '-')
                })
        };
        let parsed: Vec<Vec<String>> = rows.iter().map(|r| cells(r)).collect();
        let header_rows = usize::from(parsed.get(1).is_some_and(|r| is_separator(r)));
        let rows: Vec<(bool, Vec<Vec<Run>>)> = parsed
            .iter()
            .enumerate()
            .filter(|(_, r)| !is_separator(r))
            .map(|(i, r)| {
                let header = i < header_rows;
                let runs = r
                    .iter()
                    .map(|c| {
                        let mut runs = spans(c.trim());
                        if header {
                            for run in &mut runs {
                                run.face = run.face.emboldened();
                            }
                        }
                        runs
                    })
                    .collect();
                (header, runs)
            })
            .collect();
        let columns = rows.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        if columns == 0 {
            return;
        }
        let size = BODY_SIZE;
        let mut natural = vec![0.0f32; columns];
        for (_, r) in &rows {
            for (c, runs) in r.iter().enumerate() {
                natural[c] = natural[c].max(runs_width(runs, size));
            }
        }
        let available = PAGE_WIDTH - 2.0 * MARGIN - CELL_GAP * (columns as f32 - 1.0);
        let widths = fit_columns(&natural, available);
        let header: Option<Vec<Vec<Run>>> =
            rows.first().filter(|(h, _)| *h).map(|(_, r)| r.clone());
        for (is_header, r) in &rows {
            let height = self.row_lines(r, &widths, size).len_lines() as f32 * size * LEADING;
            if !self.at_top() && self.y - self.gap - height < CONTENT_BOTTOM {
                self.new_page();
                // A table that goes on to a new page repeats its header row there.
                if let (Some(h), false) = (&header, *is_header) {
                    self.table_row(h, &widths, size, true);
                }
            }
            self.table_row(r, &widths, size, *is_header);
        }
    }

    fn row_lines(&self, cells: &[Vec<Run>], widths: &[f32], size: f32) -> RowLines {
        RowLines(
            widths
                .iter()
                .enumerate()
                .map(|(c, &w)| match cells.get(c) {
                    Some(runs) => wrap(runs, w, size),
                    None => Vec::new(),
                })
                .collect(),
        )
    }

    /// Places a table row below the current line, its cells side by side, a rule under a
    /// header row. A row taller than a page goes on over the next one.
    fn table_row(&mut self, cells: &[Vec<Run>], widths: &[f32], size: f32, header: bool) {
        let lines = self.row_lines(cells, widths, size);
        let count = lines.len_lines();
        let height = (count as f32 * size * LEADING).min(CONTENT_TOP - CONTENT_BOTTOM);
        let mut y = self.room(height, size);
        for k in 0..count {
            if k > 0 {
                y -= size * LEADING;
                if y < CONTENT_BOTTOM {
                    self.new_page();
                    y = CONTENT_TOP;
                }
            }
            let mut x = MARGIN;
            for (cell, &w) in lines.0.iter().zip(widths) {
                if let Some(l) = cell.get(k) {
                    self.place(x, y, size, l.clone());
                }
                x += w + CELL_GAP;
            }
        }
        if header && let Some(page) = self.pages.last_mut() {
            page.marks.push(Mark::Rule {
                x1: MARGIN,
                x2: PAGE_WIDTH - MARGIN,
                y: y - size * 0.35,
            });
        }
        self.y = y;
    }
}

/// A table row's cells, each wrapped to its column.
struct RowLines(Vec<Vec<Vec<Run>>>);

impl RowLines {
    fn len_lines(&self) -> usize {
        self.0.iter().map(Vec::len).max().unwrap_or(1).max(1)
    }
}

/// The cells of a Markdown table row: split at every `|` that is not escaped.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let mut out = vec![String::new()];
    let mut chars = row.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(cell) = out.last_mut() {
                    cell.push('\\');
                    if let Some(next) = chars.next() {
                        cell.push(next);
                    }
                }
            }
            '|' => out.push(String::new()),
            c => {
                if let Some(cell) = out.last_mut() {
                    cell.push(c);
                }
            }
        }
    }
    if out.last().is_some_and(|c| c.trim().is_empty()) {
        out.pop();
    }
    out
}

/// Column widths that fit `available`: each column its natural width, the widest ones narrowed
/// to a common cap when the whole does not fit (so short columns stay whole).
fn fit_columns(natural: &[f32], available: f32) -> Vec<f32> {
    let total: f32 = natural.iter().sum();
    if total <= available {
        return natural.to_vec();
    }
    let mut sorted = natural.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mut cap = available / natural.len() as f32;
    let mut below = 0.0;
    for (i, &w) in sorted.iter().enumerate() {
        let rest = (sorted.len() - i) as f32;
        let candidate = (available - below) / rest;
        if w > candidate {
            cap = candidate;
            break;
        }
        below += w;
    }
    natural.iter().map(|&w| w.min(cap).max(20.0)).collect()
}

/// The PDF: pages with their running header and "page N of M" footer, the four base-14 faces.
fn write(pages: &[Page], running: &[Run], name: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    let font = |f: Face| {
        Ref::new(
            4 + Face::ALL
                .iter()
                .position(|&g| g == f)
                .and_then(|i| i32::try_from(i).ok())
                .unwrap_or(0),
        )
    };
    let first_page = 8;
    let page_ref = |i: usize| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(0));
    let content_ref = |i: usize| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(0) + 1);

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.document_info(info)
        .title(TextStr(&format!("Chart of {name}")))
        .producer(TextStr("kitnotes"));
    for f in Face::ALL {
        pdf.type1_font(font(f))
            .base_font(f.base_font())
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let total = pages.len();
    for (i, page) in pages.iter().enumerate() {
        let mut content = Content::new();
        // The running header: who this page is about, and a rule under it.
        let header_y = PAGE_HEIGHT - 38.0;
        let mut x = MARGIN;
        content.set_fill_gray(0.25);
        for run in running {
            text(&mut content, x, header_y, 9.0, run);
            x += run.width(9.0);
        }
        let label = Run::new(Face::Regular, "Clinical chart");
        text(
            &mut content,
            PAGE_WIDTH - MARGIN - label.width(9.0),
            header_y,
            9.0,
            &label,
        );
        content.set_line_width(0.5);
        content.set_stroke_gray(0.5);
        content
            .move_to(MARGIN, header_y - 6.0)
            .line_to(PAGE_WIDTH - MARGIN, header_y - 6.0)
            .stroke();
        let footer = Run::new(Face::Regular, &format!("page {} of {total}", i + 1));
        text(
            &mut content,
            (PAGE_WIDTH - footer.width(9.0)) / 2.0,
            32.0,
            9.0,
            &footer,
        );
        content.set_fill_gray(0.0);
        content.set_stroke_gray(0.0);
        for mark in &page.marks {
            match mark {
                Mark::Text { x, y, size, run } => {
                    text(&mut content, *x, *y, *size, run);
                    if run.strike {
                        let mid = y + size * 0.3;
                        content
                            .move_to(*x, mid)
                            .line_to(x + run.width(*size), mid)
                            .stroke();
                    }
                }
                Mark::Rule { x1, x2, y } => {
                    content.move_to(*x1, *y).line_to(*x2, *y).stroke();
                }
            }
        }
        pdf.stream(content_ref(i), &content.finish());
        let mut p = pdf.page(page_ref(i));
        p.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .contents(content_ref(i));
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        for f in Face::ALL {
            fonts.pair(f.resource(), font(f));
        }
        fonts.finish();
        resources.finish();
        p.finish();
    }
    pdf.finish()
}

fn text(content: &mut Content, x: f32, y: f32, size: f32, run: &Run) {
    if run.text.is_empty() {
        return;
    }
    content
        .begin_text()
        .set_font(run.face.resource(), size)
        .next_line(x, y)
        .show(Str(&run.text))
        .end_text();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(runs: &[Run]) -> String {
        runs.iter()
            .map(|r| String::from_utf8_lossy(&r.text).into_owned())
            .collect()
    }

    #[test]
    fn markdown_emphasis_and_escapes_become_faces() {
        let runs = spans("**Signed** by a\\*b *now* ~~128/84~~ → 130/84, 5 * 3 ** 2");
        let faces: Vec<(Face, bool, String)> = runs
            .iter()
            .map(|r| {
                (
                    r.face,
                    r.strike,
                    String::from_utf8_lossy(&r.text).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            faces,
            vec![
                (Face::Bold, false, "Signed".into()),
                (Face::Regular, false, " by a*b ".into()),
                (Face::Italic, false, "now".into()),
                (Face::Regular, false, " ".into()),
                (Face::Regular, true, "128/84".into()),
                (Face::Regular, false, " -> 130/84, 5 * 3 ** 2".into()),
            ]
        );
    }

    #[test]
    fn lines_wrap_at_spaces_within_the_width_and_long_words_are_cut() {
        let runs = spans("alpha beta gamma delta epsilon");
        let width = runs_width(&spans("alpha beta gamma"), 10.0) + 1.0;
        let lines: Vec<String> = wrap(&runs, width, 10.0).iter().map(|l| plain(l)).collect();
        assert_eq!(lines, vec!["alpha beta gamma", "delta epsilon"]);
        let long = wrap(&spans("x".repeat(400).as_str()), 100.0, 10.0);
        assert!(long.len() > 1);
        assert!(long.iter().all(|l| runs_width(l, 10.0) <= 100.0 + 1e-3));
    }

    #[test]
    fn table_cells_split_at_unescaped_bars_and_columns_fit() {
        assert_eq!(cells("| a | b\\|c | d |"), vec![" a ", " b\\|c ", " d "]);
        let w = fit_columns(&[50.0, 400.0, 300.0], 500.0);
        assert!((w.iter().sum::<f32>() - 500.0).abs() < 1e-3, "{w:?}");
        assert_eq!(w[0], 50.0);
    }

    #[test]
    fn odd_markdown_stays_on_its_pages() {
        let long = "x".repeat(6000);
        let wide = format!(
            "| {} |\n| {} |\n| {long} | {long} |\n",
            vec!["a"; 60].join(" | "),
            vec!["---"; 60].join(" | ")
        );
        let text = format!(
            "# {long}\n\n## {long}\n{wide}\\\n**open *emph ~~strike\n- \n|\n---\n- {long}\n"
        );
        let pages = Layout::chart(&text);
        assert!(pages.len() > 3);
        for (i, page) in pages.iter().enumerate() {
            assert!(!page.marks.is_empty(), "page {} is empty", i + 1);
            for mark in &page.marks {
                if let Mark::Text { y, .. } = mark {
                    assert!(
                        (CONTENT_BOTTOM - 0.01..=CONTENT_TOP + 0.01).contains(y),
                        "a line at {y} on page {} is off the page",
                        i + 1
                    );
                }
            }
        }
        let pdf = write(&pages, &[Run::new(Face::Bold, "A")], "A");
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
