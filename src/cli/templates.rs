//! `kitnotes templates [show ID]`: list the note templates in use, or one template's sections.
//!
//! Broken user template files are reported on standard error with file, line and column, and
//! make the command exit with 1, while everything that loaded is still listed: a typo in one
//! file is never silent and never hides the other templates.

use super::{Env, print_table};
use crate::templates::{self, LoadedTemplate};
use crate::text_safety::one_line;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<TemplatesCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum TemplatesCommand {
    /// Print one template's sections, prompts and starter text.
    Show {
        /// The template's id, as `kitnotes templates` lists it.
        id: String,
    },
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let loaded = templates::load(&env.paths.config_dir);
    let mut code = ExitCode::SUCCESS;
    match args.command {
        None => list(loaded.templates.iter())?,
        Some(TemplatesCommand::Show { id }) => match loaded.templates.loaded(&id) {
            Some(t) => show(t)?,
            None => {
                eprintln!(
                    "kitnotes: error: no template with id {id:?}; `kitnotes templates` lists them"
                );
                code = ExitCode::FAILURE;
            }
        },
    }
    if super::report_skipped("template", &loaded.errors) {
        code = ExitCode::FAILURE;
    }
    Ok(code)
}

fn list<'a>(templates: impl Iterator<Item = &'a LoadedTemplate>) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = templates
        .map(|l| {
            let t = &l.template;
            vec![
                t.id.clone(),
                t.kind.as_str().to_owned(),
                t.name.clone(),
                t.sections.len().to_string(),
                l.source.to_string(),
            ]
        })
        .collect();
    print_table(&["ID", "KIND", "NAME", "SECTIONS", "SOURCE"], &rows)
}

fn show(l: &LoadedTemplate) -> std::io::Result<()> {
    let mut out = super::output::stdout();
    let t = &l.template;
    // A template is a user's file: its text is made inert before it reaches the terminal.
    writeln!(out, "{} ({})", one_line(&t.name), one_line(&t.id))?;
    writeln!(out, "Kind: {}", t.kind.label())?;
    writeln!(out, "Source: {}", l.source)?;
    for (i, s) in t.sections.iter().enumerate() {
        writeln!(out)?;
        writeln!(
            out,
            "{}. {}{}",
            i + 1,
            one_line(&s.heading),
            if s.required {
                " (required to sign)"
            } else {
                ""
            }
        )?;
        if !s.prompt.is_empty() {
            writeln!(out, "   Prompt: {}", one_line(&s.prompt))?;
        }
        if !s.starter.is_empty() {
            writeln!(out, "   Starts with:")?;
            for line in s.starter.lines() {
                writeln!(out, "     | {}", one_line(line.trim_end()))?;
            }
        }
    }
    Ok(())
}
