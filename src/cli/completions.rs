//! `runwisp completions bash|zsh|fish` (`clap_complete`) and `runwisp man` (a roff page from
//! `clap_mangen`), both generated from [`Cli::command`], the definitions the parser itself
//! uses, so they never drift from what `runwisp` accepts.
//!
//! The manual page is one page: the usual NAME, SYNOPSIS, DESCRIPTION and OPTIONS of
//! `runwisp`, then a COMMANDS section giving each subcommand's synopsis, description and own
//! options (the global `--config` and `--data` are described once, at the top).

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use super::Cli;

/// The shells `runwisp completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl From<Shell> for clap_complete::Shell {
    fn from(shell: Shell) -> Self {
        match shell {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
        }
    }
}

/// Prints the completion script of `shell` on stdout.
pub fn completions(shell: Shell) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(shell),
        &mut command,
        "runwisp",
        &mut out,
    );
    write_out(&out)
}

/// Prints the manual page (roff) on stdout.
pub fn man() -> anyhow::Result<i32> {
    write_out(&man_page()?)
}

fn write_out(bytes: &[u8]) -> anyhow::Result<i32> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    Ok(0)
}

/// The whole manual page, as roff.
pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let page = clap_mangen::Man::new(root.clone());
    let mut raw = Vec::new();
    page.render_title(&mut raw)?;
    page.render_name_section(&mut raw)?;
    page.render_synopsis_section(&mut raw)?;
    page.render_description_section(&mut raw)?;
    page.render_options_section(&mut raw)?;
    raw.extend_from_slice(b".SH COMMANDS\n");
    for sub in visible(&root) {
        command_section(sub, &mut raw)?;
    }
    page.render_version_section(&mut raw)?;
    Ok(tidy(&String::from_utf8_lossy(&raw)).into_bytes())
}

/// The two lines clap_mangen puts before every piece it renders, defining the apostrophe
/// (`\*(Aq`) its text uses.
const DEFINE_APOSTROPHE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];

/// `raw` with the page header (`.TH`) first and the apostrophe defined once, right after it,
/// rather than before every section.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut lines = raw.lines().filter(|l| !DEFINE_APOSTROPHE.contains(l));
    for line in lines.next().into_iter().chain(DEFINE_APOSTROPHE) {
        out.push_str(line);
        out.push('\n');
    }
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The subcommands of `command` that its help lists.
fn visible(command: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    command.get_subcommands().filter(|s| !s.is_hide_set())
}

/// One subcommand (and, after it, each of its own subcommands): a `.SS` heading with its full
/// name, then what clap_mangen renders for its synopsis, description and options, without
/// their `.SH` headings so that they sit under this one.
fn command_section(command: &clap::Command, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let name = command
        .get_bin_name()
        .unwrap_or_else(|| command.get_name())
        .to_string();
    // What every command takes is described once, at the top.
    let mut own = command.clone();
    let shared: Vec<clap::Id> = own
        .get_arguments()
        .filter(|a| a.is_global_set() || a.get_id() == "help")
        .map(|a| a.get_id().clone())
        .collect();
    for id in shared {
        own = own.mut_arg(id, |a| a.hide(true));
    }
    let page = clap_mangen::Man::new(own);
    let (mut synopsis, mut description, mut options) = (Vec::new(), Vec::new(), Vec::new());
    page.render_synopsis_section(&mut synopsis)?;
    page.render_description_section(&mut description)?;
    if page_has_options(command) {
        page.render_options_section(&mut options)?;
    }
    writeln!(out, ".SS \"{}\"", name.replace('"', ""))?;
    for (i, piece) in [synopsis, description, options].iter().enumerate() {
        if i == 1 {
            writeln!(out, ".PP")?;
        }
        for line in String::from_utf8_lossy(piece).lines() {
            if !line.starts_with(".SH ") {
                writeln!(out, "{line}")?;
            }
        }
    }
    for sub in visible(command) {
        command_section(sub, out)?;
    }
    Ok(())
}

/// Whether `command` takes anything of its own (an option or an argument) to describe.
fn page_has_options(command: &clap::Command) -> bool {
    command
        .get_arguments()
        .any(|a| !a.is_hide_set() && !a.is_global_set() && a.get_id() != "help")
}
