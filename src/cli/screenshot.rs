//! `kitnotes screenshot`: draws the real app, after a given sequence of keys, into an SVG
//! picture (or plain text) without a terminal. This is how screenshots/ is made, from the same
//! code that draws the terminal.

use super::Env;
use crate::app::App;
use anyhow::Context;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keys to press first, in keymap notation, e.g. "<Down><Down><Enter>" or "?".
    #[arg(long, default_value = "")]
    pub keys: String,
    /// Terminal size as COLSxROWS.
    #[arg(long, default_value = "120x40", value_parser = parse_size)]
    pub size: (u16, u16),
    /// The time the app believes it is (RFC 3339), so pictures are the same every run.
    #[arg(long)]
    pub at: Option<jiff::Timestamp>,
    /// Where to write; `.svg` gives a picture, anything else plain text. Default: stdout, text.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("{s:?}: write the size as COLSxROWS, e.g. 120x40"))?;
    let n = |v: &str| {
        v.parse::<u16>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| format!("{v:?} in {s:?} is not a size between 1 and 1000"))
    };
    Ok((n(w)?, n(h)?))
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let store = env.open_existing_store()?;
    let keys: Vec<crate::keymap::Key> = if args.keys.is_empty() {
        Vec::new()
    } else {
        let seq: crate::keymap::KeySeq = args
            .keys
            .parse()
            .with_context(|| format!("--keys {:?}", args.keys))?;
        seq.keys().to_vec()
    };
    let at = args.at.unwrap_or_else(jiff::Timestamp::now);
    let mut app = super::build_app(
        env,
        store,
        Box::new(crate::clock::FixedClock::new(at)),
        super::Resuming::Off,
    )?;
    let (w, h) = args.size;
    app.resize(w, h);
    for k in keys {
        app.key(k.into());
    }
    let buffer = render(&app, w, h)?;
    let svg = args
        .output
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "svg"));
    let out = if svg {
        to_svg(&buffer)
    } else {
        to_text(&buffer)
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => write!(super::output::stdout(), "{out}")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One frame of the app at `w` x `h`.
pub fn render(app: &App, w: u16, h: u16) -> anyhow::Result<Buffer> {
    let mut terminal = Terminal::new(TestBackend::new(w, h))?;
    terminal.draw(|f| crate::ui::draw(f, app))?;
    Ok(terminal.backend().buffer().clone())
}

/// The frame as plain text, one line per row, trailing spaces trimmed.
pub fn to_text(b: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        for x in 0..b.area.width {
            line.push_str(b[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;
const FG: &str = "#d8d8d8";
const BG: &str = "#1c1c1c";

/// xterm's colours, which is what most terminals show for the 16 named ones.
fn hex(c: Color, default: &str) -> String {
    let named = match c {
        Color::Reset => return default.to_string(),
        Color::Black => "#000000",
        Color::Red => "#cd3131",
        Color::Green => "#0dbc79",
        Color::Yellow => "#e5e510",
        Color::Blue => "#2472c8",
        Color::Magenta => "#bc3fbc",
        Color::Cyan => "#11a8cd",
        Color::Gray => "#c0c0c0",
        Color::DarkGray => "#666666",
        Color::LightRed => "#f14c4c",
        Color::LightGreen => "#23d18b",
        Color::LightYellow => "#f5f543",
        Color::LightBlue => "#3b8eea",
        Color::LightMagenta => "#d670d6",
        Color::LightCyan => "#29b8db",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => return format!("#{0:02x}{0:02x}{0:02x}", i),
    };
    named.to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The frame as an SVG picture: a background rectangle per run of cells with the same
/// background, and the text in runs of the same style.
pub fn to_svg(b: &Buffer) -> String {
    let (w, h) = (b.area.width, b.area.height);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {0} {1}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">"#,
        (f32::from(w) * CELL_W).ceil(),
        (f32::from(h) * CELL_H).ceil()
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="{BG}"/>"#);
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &b[(x, y)];
            let style = cell_colors(cell);
            let start = x;
            let mut text = String::new();
            while x < w && cell_colors(&b[(x, y)]) == style {
                text.push_str(b[(x, y)].symbol());
                x += 1;
            }
            let (fg, bg, bold, underline, dim) = style;
            let (px, py) = (f32::from(start) * CELL_W, f32::from(y) * CELL_H);
            if bg != BG {
                let _ = writeln!(
                    s,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{:.1}" height="{CELL_H}" fill="{bg}"/>"#,
                    f32::from(x - start) * CELL_W
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let mut attrs = format!(r#"fill="{fg}""#);
            if bold {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if underline {
                attrs.push_str(r#" text-decoration="underline""#);
            }
            if dim {
                attrs.push_str(r#" opacity="0.6""#);
            }
            let _ = writeln!(
                s,
                r#"<text x="{px:.1}" y="{:.1}" {attrs} xml:space="preserve" textLength="{:.1}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                py + CELL_H * 0.78,
                f32::from(x - start) * CELL_W,
                escape(&text)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

type CellColors = (String, String, bool, bool, bool);

fn cell_colors(c: &ratatui::buffer::Cell) -> CellColors {
    let mut fg = hex(c.fg, FG);
    let mut bg = hex(c.bg, BG);
    if c.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    (
        fg,
        bg,
        c.modifier.contains(Modifier::BOLD),
        c.modifier.contains(Modifier::UNDERLINED),
        c.modifier.contains(Modifier::DIM),
    )
}
