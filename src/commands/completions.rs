//! `completions SHELL`: the script that registers the tool's completion with
//! a shell. It uses clap_complete's dynamic protocol: at each TAB the shell
//! runs `cqrs-admin` with [`COMPLETE_VAR`] set and the words typed so far,
//! and the binary answers from its own command line (main.rs, before any
//! parsing or store). So subcommands, options and their values (import
//! kinds, `--format`, `--category`, `--section`, shells, export files) and
//! file paths are completed by the same parser that will read them, in
//! bash, zsh, fish, elvish and PowerShell alike. The static scripts clap
//! writes for bash never matched a subcommand of a hyphenated binary name
//! (clap issues #6421, #6529).

use anyhow::{Result, anyhow};
use clap_complete::env::Shells;

use crate::cli::COMPLETE_VAR;

/// The name the shell runs at each TAB: found on PATH as the user runs it,
/// so the script is the same whatever path generated it.
pub const COMPLETER: &str = "cqrs-admin";

/// The registration script for `shell`.
pub fn registration(shell: clap_complete::Shell, cmd: &mut clap::Command) -> Result<String> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| anyhow!("no completion for {name}"))?;
    cmd.build();
    let bin = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let mut out = Vec::new();
    completer.write_registration(COMPLETE_VAR, cmd.get_name(), &bin, COMPLETER, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
