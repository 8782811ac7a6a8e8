//! `man`: a manual page (roff, clap_mangen) for the tool and for every
//! command and subcommand, named as `man` looks them up: `cqrs-admin.1`,
//! `cqrs-admin-import.1`, `cqrs-admin-accounts-show.1`. Each page's
//! COMMANDS section names the pages below it, so every page it refers to is
//! written. The pages are written the way every file is ([`crate::files`]):
//! all targets checked before anything is written, each file new and
//! owner-only, an existing one replaced only with `--force`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use roff::{Inline, Roff, bold, italic, roman};
use serde::Serialize;

use crate::error::UserError;
use crate::files::{Guarded, Target, prepare_folder};

const WHAT: &str = "the manual pages";

/// One manual page: its file name and its roff text.
pub struct Page {
    pub file_name: String,
    pub roff: Vec<u8>,
}

/// The pages `man --out` wrote.
#[derive(Debug, Serialize)]
pub struct Written {
    pub folder: PathBuf,
    pub files: Vec<String>,
}

/// The command line as the pages describe it: built (so that every
/// subcommand knows its full name, `cqrs-admin-accounts`), and without
/// clap's `help` subcommand, which has no page of its own.
fn built(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// A page: clap_mangen's sections, with the synopsis written here (clap_mangen's
/// shows `[--db]` without the value an option takes), the start-here on the
/// main page laid out as written, and SEE ALSO naming the page above.
fn render(cmd: &clap::Command, parent: Option<&str>) -> Result<Page> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut roff = Vec::new();
    man.render_title(&mut roff)?;
    man.render_name_section(&mut roff)?;
    roff.extend(synopsis(cmd).to_roff().into_bytes());
    man.render_description_section(&mut roff)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut roff)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut roff)?;
    }
    let mut tail = Roff::new();
    if let Some(after) = cmd.get_after_help() {
        // Preformatted: the start-here is a layout of commands.
        tail.control("SH", ["START HERE"]).control("nf", []);
        let after = after.to_string();
        let lines = after.lines().skip_while(|l| *l == "Start here:");
        for line in lines {
            tail.text([roman(line)]);
        }
        tail.control("fi", []);
    }
    if let Some(parent) = parent {
        tail.control("SH", ["SEE ALSO"])
            .text([bold(parent), roman("(1)")]);
    }
    roff.extend(tail.to_roff().into_bytes());
    if cmd.get_version().is_some() {
        man.render_version_section(&mut roff)?;
    }
    Ok(Page {
        file_name: man.get_filename(),
        roff,
    })
}

/// `cqrs-admin audit [--category CATEGORY]... [--counts] ... [--db DB] ...`:
/// the command's own arguments, then the global options, each with the
/// value it takes.
fn synopsis(cmd: &clap::Command) -> Roff {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name());
    let mut line = vec![bold(name)];
    let visible = |a: &&clap::Arg| !a.is_hide_set();
    let options = cmd
        .get_arguments()
        .filter(visible)
        .filter(|a| !a.is_positional());
    let (own, global): (Vec<_>, Vec<_>) = options.partition(|a| !a.is_global_set());
    for arg in own.into_iter().chain(global) {
        line.push(roman(" "));
        line.extend(option(arg));
    }
    for arg in cmd.get_positionals().filter(visible) {
        let value = value_name(arg);
        line.push(roman(" "));
        if arg.is_required_set() {
            line.push(italic(value));
        } else {
            line.extend([roman("["), italic(value), roman("]")]);
        }
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        line.extend([roman(" "), italic("COMMAND")]);
    }
    let mut roff = Roff::new();
    // No hyphenation: an option's name is not to be broken.
    roff.control("SH", ["SYNOPSIS"])
        .control("nh", [])
        .text(line)
        .control("hy", []);
    roff
}

/// One option as the synopsis shows it: `[-y|--yes]`, `[--section SECTION]...`.
fn option(arg: &clap::Arg) -> Vec<Inline> {
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let mut out = Vec::new();
    let required = arg.is_required_set();
    if !required {
        out.push(roman("["));
    }
    out.push(bold(names.join("|")));
    if arg.get_action().takes_values() {
        out.extend([roman(" "), italic(value_name(arg))]);
    }
    if !required {
        out.push(roman("]"));
    }
    if matches!(arg.get_action(), clap::ArgAction::Append) {
        out.push(roman("..."));
    }
    out
}

fn value_name(arg: &clap::Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

/// The main page alone (`man` without `--out`).
pub fn main_page(cmd: clap::Command) -> Result<Page> {
    render(&built(cmd), None)
}

/// Every page: the tool's, then each visible command's, depth first.
pub fn pages(cmd: clap::Command) -> Result<Vec<Page>> {
    fn walk(cmd: &clap::Command, parent: Option<&str>, pages: &mut Vec<Page>) -> Result<()> {
        pages.push(render(cmd, parent)?);
        let name = cmd.get_display_name().unwrap_or(cmd.get_name());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, Some(name), pages)?;
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(&built(cmd), None, &mut pages)?;
    Ok(pages)
}

/// Writes `pages` into `folder` (created owner-only if missing). Every
/// target is checked first, so a refusal writes nothing; the store at `db`
/// is never written over.
pub fn write(pages: &[Page], folder: &Path, force: bool, db: &Path) -> Result<Written> {
    if folder.as_os_str() == "-" {
        return Err(UserError::Refused(
            "--out names the folder for the manual pages: leave --out out to print the main \
             page to standard output"
                .into(),
        )
        .into());
    }
    let guarded = Guarded::store(db);
    prepare_folder(folder, WHAT)?;
    let mut targets = Vec::new();
    for page in pages {
        let target = Target::check(&folder.join(&page.file_name), force, &guarded, WHAT)?;
        let Target::File(file) = target else {
            unreachable!("a page's path is never `-`")
        };
        targets.push(file);
    }
    let mut pending = Vec::new();
    for (page, target) in pages.iter().zip(&targets) {
        let mut out = target.create(WHAT)?;
        std::io::Write::write_all(&mut out, &page.roff).map_err(|e| {
            anyhow::Error::new(e).context(format!("writing {}", target.path().display()))
        })?;
        pending.push(out);
    }
    for file in pending {
        file.commit(&guarded, WHAT)?;
    }
    Ok(Written {
        folder: folder.to_path_buf(),
        files: pages.iter().map(|p| p.file_name.clone()).collect(),
    })
}
