//! `skiff completion bash|zsh|fish`: a script that teaches the shell skiff's commands
//! and each command's flags and subcommands. It is generated from the dispatch table
//! and from each command's help text, the one place that says what a command accepts,
//! so it cannot drift from what the parser takes.
//!
//! bash calls a function for each Tab (`complete -F`) with the words typed in
//! `COMP_WORDS`, and offers what it puts in `COMPREPLY`. zsh runs the same function
//! through its bash emulation (`bashcompinit`); fish takes one `complete` line per
//! candidate, each with the condition under which it applies.
//! <https://www.gnu.org/software/bash/manual/html_node/Programmable-Completion.html>
//! <https://fishshell.com/docs/current/completions.html>

use super::COMMANDS;
use crate::cli;
use crate::error::{Error, Result};

pub const HELP: &str = "Usage:  skiff completion bash|zsh|fish

Print a shell's completion script, to load with `source <(skiff completion bash)`";

/// zsh's emulation of bash's `complete` needs its own completion system loaded.
const ZSH: &str = "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }
autoload -U +X bashcompinit && bashcompinit
";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "completion", HELP, &mut [])?;
    match rest.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["bash"] => print!("{}", bash()),
        ["zsh"] => print!("{ZSH}{}", bash()),
        ["fish"] => fish(),
        _ => return Err(Error::usage(HELP)),
    }
    Ok(0)
}

/// What a command accepts, read from its help: the flags of its "Options:" and the
/// names of its "Commands:".
fn words(help: &str) -> Vec<&str> {
    let (mut words, mut section) = (Vec::new(), "");
    for line in help.lines() {
        let mut tokens = line.split_whitespace();
        match section {
            _ if !line.starts_with(' ') => section = line,
            "Commands:" => words.extend(tokens.next()),
            "Options:" => words.extend(
                tokens
                    .map(|t| t.trim_end_matches(','))
                    .take_while(|t| t.starts_with('-')),
            ),
            _ => {}
        }
    }
    words
}

fn bash() -> String {
    let names: Vec<&str> = COMMANDS.iter().map(|(name, ..)| *name).collect();
    let mut cases = String::new();
    for (name, _, _, help) in COMMANDS {
        cases += &format!("        {name}) words=\"{}\" ;;\n", words(help).join(" "));
    }
    format!(
        "_skiff() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} words=\"{}\"
    [ \"$COMP_CWORD\" -gt 1 ] && case ${{COMP_WORDS[1]}} in
{cases}        *) words= ;;
    esac
    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))
}}
complete -o default -F _skiff skiff
",
        names.join(" ")
    )
}

fn fish() {
    for (name, summary, _, help) in COMMANDS {
        let summary = summary.replace('\'', "\\'");
        println!("complete -c skiff -n __fish_use_subcommand -a {name} -d '{summary}'");
        for word in words(help) {
            let word = match (word.strip_prefix("--"), word.strip_prefix('-')) {
                (Some(long), _) => format!("-l {long}"),
                (None, Some(short)) => format!("-s {short}"),
                _ => format!("-a {word}"),
            };
            println!("complete -c skiff -n '__fish_seen_subcommand_from {name}' {word}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_flags_of_options_and_the_names_of_commands() {
        let help = "Usage:  skiff x [OPTIONS]

Options:
  -a, --all             Show all
      --format string   Format output, like -q
                        or --quiet
  -h, --help            Print usage

Commands:
  ls          List";
        assert_eq!(
            words(help),
            ["-a", "--all", "--format", "-h", "--help", "ls"]
        );
    }

    #[test]
    fn every_command_has_a_help_that_names_it() {
        for (name, _, _, help) in COMMANDS {
            let create = *name == "create"; // `run`'s help, renamed when printed
            assert!(create || help.contains(&format!("skiff {name}")), "{name}");
        }
    }
}
