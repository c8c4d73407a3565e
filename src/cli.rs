//! Hand-written argv lexing, shared by every command. No I/O, no list of flags of its
//! own: a simple `cmd/<verb>.rs` hands [`parse`] a table of the options it knows (`Opt`);
//! `run`, whose options are many and parsed as they come, walks the [`Lexer`] itself.
//!
//! Understood shapes: `--name=value`, `--name value`, `-n value`, `-nvalue`, `-n=value`,
//! clustered switches (`ps -aq`, as pflag allows), `--` (end of options).
//! Lexing stops at the first positional argument, so in `skiff run alpine ls -la` the
//! `-la` belongs to `ls`, exactly as with `docker run`.

use crate::error::{Error, Kind, Result};

/// One option as typed: `--env` or `-e`, with the value after `=` if there was one.
#[derive(Debug, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    inline: Option<String>,
    /// What follows a one-letter flag in the same word (`q` of `-aq`, `5` of `-n5`):
    /// its value if it takes one, or else more one-letter switches.
    attached: Option<String>,
}

pub struct Lexer {
    args: std::collections::VecDeque<String>,
}

impl Lexer {
    pub fn new(args: &[String]) -> Self {
        Lexer {
            args: args.iter().cloned().collect(),
        }
    }

    /// The next option, or `None` at the first positional argument or after `--`.
    pub fn next_flag(&mut self) -> Option<Flag> {
        let arg = self.args.front()?;
        if arg == "--" {
            self.args.pop_front();
            return None;
        }
        if !arg.starts_with('-') || arg == "-" {
            return None;
        }
        let arg = self.args.pop_front()?;
        if !arg.starts_with("--") {
            return Some(short_flag(&arg));
        }
        Some(match arg.split_once('=') {
            Some((name, value)) => Flag {
                name: name.to_string(),
                inline: Some(value.to_string()),
                attached: None,
            },
            None => Flag {
                name: arg,
                inline: None,
                attached: None,
            },
        })
    }

    /// The value of a flag that takes one: after `=`, or the next argument.
    pub fn value(&mut self, flag: &Flag) -> Result<String> {
        if let Some(value) = flag.inline.as_ref().or(flag.attached.as_ref()) {
            return Ok(value.clone());
        }
        self.args
            .pop_front()
            .ok_or_else(|| Error::usage(format!("flag needs an argument: {}", flag.name)))
    }

    /// A boolean flag: bare means true; `--rm=false` is accepted as Docker accepts it.
    /// The letters clustered after a one-letter switch are switches of their own.
    pub fn switch(&mut self, flag: &Flag) -> Result<bool> {
        if let Some(more) = &flag.attached {
            self.args.push_front(format!("-{more}"));
        }
        match flag.inline.as_deref() {
            None | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(Error::usage(format!(
                "invalid value {other:?} for {}: want true or false",
                flag.name
            ))),
        }
    }

    /// Everything not yet consumed, untouched.
    pub fn rest(self) -> Vec<String> {
        self.args.into()
    }
}

/// `-a`, `-aq`, `-n5`, `-e=A=1`: the first letter is the flag; the rest of the word is
/// its value after `=`, or else what is attached to it.
fn short_flag(arg: &str) -> Flag {
    let split = arg.char_indices().nth(2).map_or(arg.len(), |(i, _)| i);
    let (name, rest) = arg.split_at(split);
    let (inline, attached) = match rest.strip_prefix('=') {
        Some(value) => (Some(value.to_string()), None),
        None if rest.is_empty() => (None, None),
        None => (None, Some(rest.to_string())),
    };
    Flag {
        name: name.to_string(),
        inline,
        attached,
    }
}

/// One option a simple command knows: its names (`-q`, `--quiet`) and where its value goes.
pub enum Opt<'a> {
    /// On or off: bare means on; `-aq` clusters and `--quiet=false` work too.
    Switch(&'a [&'a str], &'a mut bool),
    /// Takes a value (`-o FILE`, `--output=FILE`, `-oFILE`); the last one given wins.
    Value(&'a [&'a str], &'a mut Option<String>),
    /// Takes a value and may be repeated (`--filter A --filter B`): every one is kept.
    List(&'a [&'a str], &'a mut Vec<String>),
}

impl Opt<'_> {
    fn names(&self) -> &[&str] {
        match self {
            Opt::Switch(names, _) | Opt::Value(names, _) | Opt::List(names, _) => names,
        }
    }
}

/// The flag loop every simple command would otherwise write: each flag named in `options`
/// fills its place, any other is a usage error. Returns the positional arguments.
///
/// `-h`/`--help` ends the command at once, as an error of kind `Help` carrying `usage`,
/// which `cmd::dispatch` prints before it exits 0 (Go's `flag.ErrHelp`, which Docker's
/// pflag returns, works the same way).
pub fn parse(
    argv: &[String],
    command: &str,
    usage: &str,
    options: &mut [Opt],
) -> Result<Vec<String>> {
    let mut lexer = Lexer::new(argv);
    while let Some(flag) = lexer.next_flag() {
        let name = flag.name.as_str();
        if name == "-h" || name == "--help" {
            return Err(Error::new(Kind::Help(usage.to_string())));
        }
        match options.iter_mut().find(|opt| opt.names().contains(&name)) {
            Some(Opt::Switch(_, on)) => **on = lexer.switch(&flag)?,
            Some(Opt::Value(_, value)) => **value = Some(lexer.value(&flag)?),
            Some(Opt::List(_, values)) => values.push(lexer.value(&flag)?),
            None => return Err(unknown(&flag, command)),
        }
    }
    Ok(lexer.rest())
}

/// `--help`: print the command's usage and succeed.
pub fn help(text: &str) -> Result<i32> {
    println!("{text}");
    Ok(0)
}

/// The positional arguments of a command that needs at least one (`rm A B`, `stop A`).
pub fn at_least_one(rest: Vec<String>, command: &str) -> Result<Vec<String>> {
    if rest.is_empty() {
        return Err(Error::usage(format!(
            "\"skiff {command}\" requires at least 1 argument.\nSee 'skiff {command} --help'."
        )));
    }
    Ok(rest)
}

/// The check of a command that takes no positional arguments (`ps`, `images`, `load`).
pub fn no_arguments(rest: &[String], command: &str) -> Result<()> {
    match rest.is_empty() {
        true => Ok(()),
        false => Err(Error::usage(format!(
            "\"skiff {command}\" accepts no arguments."
        ))),
    }
}

/// Prints rows in aligned columns, as Docker's tabwriter does.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut text = header.join("\t") + "\n";
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    print!("{}", crate::template::tabwrite(&text));
}

/// `--filter key=value`, repeatable: values given for one key are alternatives, and
/// every key given must hold.
pub struct Filters(Vec<(String, String)>);

impl Filters {
    pub fn parse(given: &[String], known: &[&str]) -> Result<Filters> {
        let mut filters = Vec::new();
        for filter in given {
            let Some((key, value)) = filter.split_once('=') else {
                return Err(Error::usage(format!(
                    "bad format of filter (expected name=value): {filter}"
                )));
            };
            if !known.contains(&key) {
                return Err(Error::usage(format!("invalid filter '{key}'")));
            }
            filters.push((key.to_string(), value.to_string()));
        }
        Ok(Filters(filters))
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Whether an item passes, `test(key, value)` saying if it has what one filter asks.
    pub fn allow(&self, test: impl Fn(&str, &str) -> bool) -> bool {
        let holds = |key: &str| self.0.iter().any(|(k, v)| k == key && test(k, v));
        self.0.iter().all(|(key, _)| holds(key))
    }
}

/// The filter `label=KEY` or `label=KEY=VALUE` against a container's or image's labels.
pub fn has_label(labels: Option<&std::collections::BTreeMap<String, String>>, value: &str) -> bool {
    let (key, wanted) = value
        .split_once('=')
        .map_or((value, None), |(k, v)| (k, Some(v)));
    let have = labels.and_then(|labels| labels.get(key));
    have.is_some_and(|have| wanted.is_none_or(|wanted| have == wanted))
}

/// A flag's whole number of seconds (`--stop-timeout 10`, `stop -t 3`).
pub fn seconds(text: &str) -> Result<u32> {
    text.parse()
        .map_err(|_| Error::usage(format!("invalid number of seconds: {text:?}")))
}

/// The error for a flag the command does not know.
pub fn unknown(flag: &Flag, command: &str) -> Error {
    Error::usage(format!(
        "unknown flag: {}\nSee 'skiff {command} --help'.",
        flag.name
    ))
}

/// `["-e", "A=1"]` as the argv the parsers take: for the unit tests of every command.
#[cfg(test)]
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_stop_at_the_first_positional() {
        let mut lexer = Lexer::new(&args(&["--rm", "alpine", "ls", "-la"]));
        assert_eq!(lexer.next_flag().unwrap().name, "--rm");
        assert_eq!(lexer.next_flag(), None);
        assert_eq!(lexer.rest(), args(&["alpine", "ls", "-la"]));
    }

    #[test]
    fn values_come_inline_or_next() {
        let mut lexer = Lexer::new(&args(&["--env=A=1", "-e", "B=2", "img"]));
        let flag = lexer.next_flag().unwrap();
        assert_eq!(lexer.value(&flag).unwrap(), "A=1");
        let flag = lexer.next_flag().unwrap();
        assert_eq!(lexer.value(&flag).unwrap(), "B=2");
        assert_eq!(lexer.rest(), args(&["img"]));
    }

    #[test]
    fn one_letter_switches_cluster_and_values_attach() {
        let mut lexer = Lexer::new(&args(&["-aq", "-n5", "-e=A=1", "-d=false", "img"]));
        let mut seen = Vec::new();
        while let Some(flag) = lexer.next_flag() {
            let value = match flag.name.as_str() {
                "-a" | "-q" | "-d" => lexer.switch(&flag).unwrap().to_string(),
                _ => lexer.value(&flag).unwrap(),
            };
            seen.push(format!("{}:{value}", flag.name));
        }
        assert_eq!(seen, ["-a:true", "-q:true", "-n:5", "-e:A=1", "-d:false"]);
        assert_eq!(lexer.rest(), args(&["img"]));
    }

    #[test]
    fn double_dash_ends_options() {
        let mut lexer = Lexer::new(&args(&["--", "--not-a-flag"]));
        assert_eq!(lexer.next_flag(), None);
        assert_eq!(lexer.rest(), args(&["--not-a-flag"]));
    }

    #[test]
    fn parse_fills_each_option_and_returns_the_rest() {
        let (mut all, mut quiet, mut force, mut output) = (false, false, true, None);
        let options = &mut [
            Opt::Switch(&["-a", "--all"], &mut all),
            Opt::Switch(&["-q", "--quiet"], &mut quiet),
            Opt::Switch(&["-f", "--force"], &mut force),
            Opt::Value(&["-o", "--output"], &mut output),
        ];
        let argv = args(&["-aq", "--force=false", "-o", "-h", "img", "-f"]);
        let rest = parse(&argv, "test", "usage", options).unwrap();
        assert_eq!(rest, args(&["img", "-f"]));
        assert_eq!((all, quiet, force), (true, true, false));
        assert_eq!(
            output.as_deref(),
            Some("-h"),
            "a value, even one that looks like help"
        );
    }

    #[test]
    fn help_anywhere_among_the_options_ends_the_command() {
        for argv in [&["--help"][..], &["-a", "-h", "img"], &["-ah"]] {
            let options = &mut [Opt::Switch(&["-a"], &mut false)];
            let err = parse(&args(argv), "test", "Usage:  skiff test", options).unwrap_err();
            assert!(matches!(err.kind(), Kind::Help(usage) if usage == "Usage:  skiff test"));
        }
    }

    #[test]
    fn unknown_flags_and_arguments_are_usage_errors() {
        let err = parse(&args(&["-x"]), "test", "usage", &mut []).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown flag: -x\nSee 'skiff test --help'."
        );
        assert_eq!(err.exit_code(), 125);
        let err = no_arguments(&args(&["img"]), "test").unwrap_err();
        assert_eq!(err.to_string(), "\"skiff test\" accepts no arguments.");
        assert!(no_arguments(&[], "test").is_ok());
    }

    #[test]
    fn missing_value_is_a_usage_error() {
        let mut lexer = Lexer::new(&args(&["-e"]));
        let flag = lexer.next_flag().unwrap();
        let err = lexer.value(&flag).unwrap_err();
        assert_eq!(err.to_string(), "flag needs an argument: -e");
        assert_eq!(err.exit_code(), 125);
    }
}
