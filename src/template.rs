//! `--format`: the part of Go's text/template that scripts hand to `docker inspect -f`,
//! `docker ps --format` and the like, evaluated over a JSON value.
//!
//! A template is literal text with actions in `{{ }}`. An action is a pipeline:
//! commands separated by `|`, each command's value passed as the last argument of the
//! next. An argument is a field path from the current value, "dot" (`.State.Pid`; `.`
//! alone is dot itself), a literal (`"x"`, `3`, `true`), or a pipeline in parentheses. A command may start with a
//! function: `json`, `index`, `len`, `join`, `println`, `eq`, `not`. `{{if P}}` and `{{range P}}` take a body up to `{{end}}`, with an
//! optional `{{else}}` (or `{{else if P}}`); `range` sets dot to each element in turn. `{{- ` and ` -}}` trim the
//! white space before or after the action.
//!
//! Values print as Go's `fmt` prints what `encoding/json` decodes: a list as
//! `[a b]`, an object as `map[k:v]` (sorted by key), JSON's null as `<nil>`, and a
//! field or key that is not there as `<no value>`.
//! <https://pkg.go.dev/text/template>
//! <https://docs.docker.com/engine/cli/formatting/>

use miniserde::json::{self, Number, Object, Value};

use crate::error::{Error, Result};

pub struct Template {
    source: String,
    nodes: Vec<Node>,
    /// For a list command's rows, a field that is not there is an error, as Docker's
    /// typed rows make it; `inspect`'s JSON says `<no value>`, as Docker's does.
    strict: bool,
}

enum Node {
    Text(String),
    Print(Pipe),
    /// `if` or `range`, its body, and what `{{else}}` holds.
    Block(Block, Pipe, Vec<Node>, Vec<Node>),
}

#[derive(Clone, Copy)]
enum Block {
    If,
    Range,
}

/// `a | b | c`, each command a list of arguments.
type Pipe = Vec<Vec<Arg>>;

enum Arg {
    /// A field path from dot, or from a parenthesised pipeline; where it starts.
    Path(Option<Pipe>, Vec<String>, usize),
    Literal(Value),
    Func(String),
}

/// What ends a list of nodes.
#[derive(PartialEq)]
enum Stop {
    Eof,
    End,
    Else,
    ElseIf,
}

const FUNCTIONS: [&str; 7] = ["json", "index", "len", "join", "println", "eq", "not"];

impl Template {
    /// A template for one value (`inspect`'s), where a missing field is `<no value>`.
    pub fn parse(source: &str) -> Result<Template> {
        let mut parser = Parser {
            source,
            pos: 0,
            trim: false,
        };
        let (nodes, end) = parser.list()?;
        if end != Stop::Eof {
            return Err(parser.error("unexpected {{end}} or {{else}}"));
        }
        Ok(Template {
            source: source.to_string(),
            nodes,
            strict: false,
        })
    }

    /// The text of the template for `value`.
    pub fn render(&self, value: &Value) -> Result<String> {
        let mut out = String::new();
        self.nodes(&self.nodes, value, &mut out)?;
        Ok(out)
    }

    fn nodes(&self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<()> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Print(pipe) => out.push_str(&text(self.pipe(pipe, dot)?.as_ref())),
                Node::Block(block, pipe, body, other) => {
                    let value = self.pipe(pipe, dot)?;
                    let chosen: Vec<&Value> = match (block, &value) {
                        (_, value) if !truthy(value.as_ref()) => Vec::new(),
                        (Block::If, _) => vec![dot],
                        (Block::Range, Some(Value::Array(list))) => list.iter().collect(),
                        (Block::Range, Some(Value::Object(map))) => map.values().collect(),
                        (Block::Range, value) => value.iter().collect(),
                    };
                    if chosen.is_empty() {
                        self.nodes(other, dot, out)?;
                    }
                    for dot in chosen {
                        self.nodes(body, dot, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn pipe(&self, pipe: &Pipe, dot: &Value) -> Result<Option<Value>> {
        let mut last: Option<Option<Value>> = None;
        for command in pipe {
            let (function, args) = match command.split_first() {
                Some((Arg::Func(name), args)) => (Some(name), args),
                _ => (None, &command[..]),
            };
            let mut values = Vec::new();
            for arg in args {
                values.push(self.arg(arg, dot)?);
            }
            values.extend(last.take());
            last = Some(match function {
                Some(name) => call(name, values).map_err(|e| self.error(0, name, &e))?,
                None if values.len() == 1 => values.pop().flatten(),
                None => return Err(self.error(0, "", "can't give argument to non-function")),
            });
        }
        Ok(last.flatten())
    }

    fn arg(&self, arg: &Arg, dot: &Value) -> Result<Option<Value>> {
        let (base, path, at) = match arg {
            Arg::Literal(value) => return Ok(Some(value.clone())),
            Arg::Func(name) => return call(name, Vec::new()).map_err(|e| self.error(0, name, &e)),
            Arg::Path(base, path, at) => (base, path, *at),
        };
        let sub;
        let mut value = match base {
            None => Some(dot),
            Some(pipe) => {
                sub = self.pipe(pipe, dot)?;
                sub.as_ref()
            }
        };
        for name in path {
            value = match value {
                Some(Value::Object(map)) if map.contains_key(name) || !self.strict => map.get(name),
                None => None,
                _ => {
                    let what = format!("can't evaluate field {name}");
                    return Err(self.error(at, &format!(".{}", path.join(".")), &what));
                }
            };
        }
        Ok(value.cloned())
    }

    /// Go's execution error: `template: :1:2: executing "" at <.Foo>: …`.
    fn error(&self, at: usize, what: &str, message: &str) -> Error {
        let (line, column) = position(&self.source, at);
        Error::usage(format!(
            "template: :{line}:{column}: executing \"\" at <{what}>: {message}"
        ))
    }
}

/// Docker's `table` formats of the list commands: a header row (the template rendered
/// over the header names), and columns split at tabs and aligned. `\t` and `\n` may be
/// typed as two characters each, and `table` alone is the command's own columns.
pub struct Listing {
    template: Template,
    table: bool,
}

impl Listing {
    /// `format` as given (`None`: the default, `table`); `columns`: the default table.
    pub fn parse(format: Option<&str>, columns: &str) -> Result<Listing> {
        let format = format.unwrap_or("table");
        let (table, body) = match format.strip_prefix("table") {
            Some(rest) if rest.trim().is_empty() => (true, columns),
            Some(rest) => (true, rest),
            None => (false, format),
        };
        let body = body
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let mut template = Template::parse(&body)?;
        template.strict = true;
        Ok(Listing { template, table })
    }

    /// Prints one line per row, under the header if this is a table. `columns` names
    /// each field and its header (`("ID", "CONTAINER ID")`), in the order of each row's cells.
    pub fn print(&self, columns: &[(&str, &str)], rows: &[Vec<String>]) -> Result<()> {
        let header: Vec<String> = columns.iter().map(|(_, h)| h.to_string()).collect();
        let mut text = String::new();
        for row in self.table.then_some(&header).into_iter().chain(rows) {
            let mut fields = Object::new();
            for ((key, _), cell) in columns.iter().zip(row) {
                fields.insert(key.to_string(), Value::String(cell.clone()));
            }
            text.push_str(&self.template.render(&Value::Object(fields))?);
            text.push('\n');
        }
        match self.table {
            true => print!("{}", tabwrite(&text)),
            false => print!("{text}"),
        }
        Ok(())
    }
}

/// The format of a list command: `-q` (`quiet`) asks for the IDs alone, whatever
/// `--format` says.
pub fn quiet_or(quiet: bool, format: Option<&str>) -> Option<&str> {
    match quiet {
        true => Some("{{.ID}}"),
        false => format,
    }
}

/// Aligns tab-separated cells as Go's tabwriter does for Docker (minimum width 10,
/// padding 3): the text after a line's last tab is not a column and is left as is.
pub fn tabwrite(text: &str) -> String {
    tabwrite_min(text, 10)
}

/// [`tabwrite`] with columns at least `min` wide (`docker top` asks 20).
pub fn tabwrite_min(text: &str, min: usize) -> String {
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate().take(cells.len() - 1) {
            let width = (cell.chars().count() + 3).max(min);
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate() {
            match i + 1 == cells.len() {
                true => out.push_str(cell),
                false => out.push_str(&format!("{cell:<width$}", width = widths[i])),
            }
        }
        out.push('\n');
    }
    out
}

/// Line and column (from 0, in bytes) of a byte offset, as Go's errors give them.
fn position(source: &str, at: usize) -> (usize, usize) {
    let before = &source[..at.min(source.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, at - line_start)
}

struct Parser<'a> {
    source: &'a str,
    pos: usize,
    /// The last action ended with ` -}}`: the text after it loses its leading space.
    trim: bool,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.source[self.pos..]
    }

    fn error(&self, message: &str) -> Error {
        let (line, column) = position(self.source, self.pos);
        Error::usage(format!(
            "template parsing error: template: :{line}:{column}: {message}"
        ))
    }

    /// Nodes up to the end of the text, an `{{end}}` or an `{{else}}`.
    fn list(&mut self) -> Result<(Vec<Node>, Stop)> {
        let mut nodes = Vec::new();
        loop {
            let rest = &self.source[self.pos..];
            let open = rest.find("{{").unwrap_or(rest.len());
            let trim_left = rest[open..].starts_with("{{-")
                && rest[open..]
                    .get(3..)
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_whitespace()));
            let mut text = &rest[..open];
            if std::mem::take(&mut self.trim) {
                text = text.trim_start();
            }
            if trim_left {
                text = text.trim_end();
            }
            if !text.is_empty() {
                nodes.push(Node::Text(text.to_string()));
            }
            self.pos += open;
            if self.pos == self.source.len() {
                return Ok((nodes, Stop::Eof));
            }
            self.pos += if trim_left { 3 } else { 2 };
            let node = match self.keyword() {
                "end" => return self.close().map(|()| (nodes, Stop::End)),
                "else" if self.keyword() == "if" => return Ok((nodes, Stop::ElseIf)),
                "else" => return self.close().map(|()| (nodes, Stop::Else)),
                "if" => self.block(Block::If)?,
                "range" => self.block(Block::Range)?,
                _ => Node::Print(self.pipe("}}")?),
            };
            nodes.push(node);
        }
    }

    /// `{{if P}}`, `{{with P}}` or `{{range P}}` once its keyword is read: up to its `{{end}}`.
    fn block(&mut self, block: Block) -> Result<Node> {
        let pipe = self.pipe("}}")?;
        let (body, end) = self.list()?;
        let other = match end {
            Stop::End => Vec::new(),
            Stop::ElseIf => vec![self.block(Block::If)?],
            Stop::Else => match self.list()? {
                (other, Stop::End) => other,
                _ => return Err(self.error("expected {{end}}")),
            },
            Stop::Eof => return Err(self.error("unexpected EOF")),
        };
        Ok(Node::Block(block, pipe, body, other))
    }

    /// The next word if it is a keyword (consumed), else "" (nothing consumed).
    fn keyword(&mut self) -> &'static str {
        let word = self.rest().trim_start();
        let skipped = self.rest().len() - word.len();
        for keyword in ["end", "else", "if", "range"] {
            let after = word.strip_prefix(keyword);
            if after.is_some_and(|a| !a.starts_with(|c: char| c.is_ascii_alphanumeric())) {
                self.pos += skipped + keyword.len();
                return keyword;
            }
        }
        ""
    }

    fn skip_space(&mut self) {
        self.pos = self.source.len() - self.rest().trim_start().len();
    }

    /// Consumes `closer` (`}}`, which may be ` -}}`, or `)`) after any space.
    fn closes(&mut self, closer: &str) -> bool {
        self.skip_space();
        let spaced = self.source[..self.pos].ends_with(|c: char| c.is_ascii_whitespace());
        let trim = closer == "}}" && spaced && self.rest().starts_with("-}}");
        let len = match (trim, self.rest().starts_with(closer)) {
            (true, _) => 3,
            (false, true) => closer.len(),
            (false, false) => return false,
        };
        self.trim = trim;
        self.pos += len;
        true
    }

    fn close(&mut self) -> Result<()> {
        match self.closes("}}") {
            true => Ok(()),
            false => Err(self.error("unexpected input after keyword")),
        }
    }

    /// Commands separated by `|`, up to `closer`.
    fn pipe(&mut self, closer: &str) -> Result<Pipe> {
        let (mut pipe, mut command) = (Vec::new(), Vec::new());
        while !self.closes(closer) {
            match self.rest().chars().next() {
                None => return Err(self.error("unclosed action")),
                Some('|') if !command.is_empty() => {
                    self.pos += 1;
                    pipe.push(std::mem::take(&mut command));
                }
                Some(_) => command.push(self.arg()?),
            }
        }
        if command.is_empty() {
            return Err(self.error("missing value for command"));
        }
        pipe.push(command);
        Ok(pipe)
    }

    fn arg(&mut self) -> Result<Arg> {
        let at = self.pos;
        let first = self.rest().chars().next().unwrap_or(' ');
        Ok(match first {
            '.' => Arg::Path(None, self.fields(), at),
            '(' => {
                self.pos += 1;
                let pipe = self.pipe(")")?;
                Arg::Path(Some(pipe), self.fields(), at)
            }
            '"' => Arg::Literal(Value::String(self.string()?)),
            '-' | '0'..='9' => {
                let len = 1 + self.rest()[1..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(self.rest().len() - 1);
                let number = self.rest()[..len]
                    .parse()
                    .map_err(|_| self.error("bad number"))?;
                self.pos += len;
                Arg::Literal(Value::Number(Number::I64(number)))
            }
            c if c.is_ascii_alphabetic() => match self.word().as_str() {
                "true" => Arg::Literal(Value::Bool(true)),
                "false" => Arg::Literal(Value::Bool(false)),
                "nil" => Arg::Literal(Value::Null),
                name if FUNCTIONS.contains(&name) => Arg::Func(name.to_string()),
                name => {
                    self.pos = at;
                    return Err(self.error(&format!("function \"{name}\" not defined")));
                }
            },
            c => return Err(self.error(&format!("unexpected \"{c}\" in operand"))),
        })
    }

    /// `.A.B` as `["A", "B"]`; `.` alone as no field at all.
    fn fields(&mut self) -> Vec<String> {
        let mut path = Vec::new();
        while self.rest().starts_with('.') {
            self.pos += 1;
            match self.word() {
                name if name.is_empty() => break,
                name => path.push(name),
            }
        }
        path
    }

    fn word(&mut self) -> String {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let word = rest[..len].to_string();
        self.pos += len;
        word
    }

    /// A `"quoted"` string, with `\n`, `\t` and `\"`.
    fn string(&mut self) -> Result<String> {
        let mut text = String::new();
        let mut chars = self.rest()[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 't')) => text.push('\t'),
                    Some((_, c)) => text.push(c),
                    None => break,
                },
                '"' => {
                    self.pos += i + 2;
                    return Ok(text);
                }
                c => text.push(c),
            }
        }
        Err(self.error("unterminated quoted string"))
    }
}

/// A function's value for its evaluated arguments; Go's complaint if they do not fit.
fn call(name: &str, args: Vec<Option<Value>>) -> std::result::Result<Option<Value>, String> {
    let (min, max) = match name {
        "json" | "len" | "not" => (1, 1),
        "join" => (2, 2),
        "eq" => (2, usize::MAX),
        "index" => (1, usize::MAX),
        _ => (0, usize::MAX),
    };
    if args.len() < min || args.len() > max {
        return Err(format!(
            "wrong number of args for {name}: want {min} got {}",
            args.len()
        ));
    }
    let texts: Vec<String> = args.iter().map(|v| text(v.as_ref())).collect();
    Ok(Some(match (name, args.first()) {
        ("json", Some(value)) => {
            Value::String(value.as_ref().map_or("null".into(), json::to_string))
        }
        ("len", Some(Some(Value::Array(list)))) => count(list.len()),
        ("len", Some(Some(Value::Object(map)))) => count(map.len()),
        ("len", Some(Some(Value::String(text)))) => count(text.len()),
        ("len", _) => return Err(format!("error calling len: len of {}", texts[0])),
        ("join", Some(Some(Value::Array(list)))) => {
            let parts: Vec<String> = list.iter().map(|v| text(Some(v))).collect();
            Value::String(parts.join(&texts[1]))
        }
        ("join", _) => return Err(format!("error calling join: {} is not a list", texts[0])),
        ("println", _) => Value::String(texts.join(" ") + "\n"),
        ("not", Some(value)) => Value::Bool(!truthy(value.as_ref())),
        ("eq", _) => Value::Bool(texts[1..].contains(&texts[0])),
        _ => return index(args),
    }))
}

fn count(n: usize) -> Value {
    Value::Number(Number::U64(n as u64))
}

/// `index X K1 K2…`: X[K1][K2]…, by key into objects and by number into lists.
fn index(mut args: Vec<Option<Value>>) -> std::result::Result<Option<Value>, String> {
    let mut value = args.remove(0);
    for key in args {
        value = match (value, key) {
            (Some(Value::Object(mut map)), Some(Value::String(key))) => map.remove(&key),
            (Some(Value::Array(mut list)), Some(key @ Value::Number(_))) => {
                let i = text(Some(&key)).parse().unwrap_or(usize::MAX);
                if i >= list.len() {
                    return Err(format!(
                        "error calling index: index out of range: {}",
                        text(Some(&key))
                    ));
                }
                Some(list.swap_remove(i))
            }
            (None | Some(Value::Null), _) => None,
            (_, key) => {
                return Err(format!(
                    "error calling index: cannot index with {}",
                    text(key.as_ref())
                ))
            }
        };
    }
    Ok(value)
}

/// A value as Go's `fmt` prints what `encoding/json` decoded.
fn text(value: Option<&Value>) -> String {
    let list = |items: Vec<String>| items.join(" ");
    match value {
        None => "<no value>".into(),
        Some(Value::Null) => "<nil>".into(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(Number::U64(n))) => n.to_string(),
        Some(Value::Number(Number::I64(n))) => n.to_string(),
        // miniserde's shortest form (zmij, in the binary for JSON anyway; std's float
        // printer would add 9 KB), less the `.0` that Go's `%v` never prints.
        Some(Value::Number(Number::F64(n))) => {
            let mut text = json::to_string(n);
            if text.ends_with(".0") {
                text.truncate(text.len() - 2);
            }
            text
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            format!("[{}]", list(items.iter().map(|v| text(Some(v))).collect()))
        }
        Some(Value::Object(map)) => {
            let pairs = map.iter().map(|(k, v)| format!("{k}:{}", text(Some(v))));
            format!("map[{}]", list(pairs.collect()))
        }
    }
}

/// What `if` takes as true: not false, 0, null, missing or empty.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        Some(number) => text(Some(number)) != "0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, value: &str) -> String {
        let value: Value = json::from_str(value).unwrap();
        Template::parse(template).unwrap().render(&value).unwrap()
    }

    const CONTAINER: &str = r#"{"Id":"abc","State":{"Pid":42,"Running":true,"Health":null},
        "Config":{"Env":["A=1","B=2"],"Labels":{"b":"2","a":"1"},"Tty":false},
        "NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}}}"#;

    #[test]
    fn fields_print_as_go_prints_decoded_json() {
        assert_eq!(render("pid={{.State.Pid}}", CONTAINER), "pid=42");
        assert_eq!(render("{{.Config.Env}}", CONTAINER), "[A=1 B=2]");
        assert_eq!(render("{{.Config.Labels}}", CONTAINER), "map[a:1 b:2]");
        assert_eq!(
            render("{{.State.Health}}|{{.Nope}}", CONTAINER),
            "<nil>|<no value>"
        );
        assert_eq!(render("{{.Config.Tty}} {{.Id}}", CONTAINER), "false abc");
        assert_eq!(render("{{.A}} {{.B}}", r#"{"A":1.0,"B":-0.25}"#), "1 -0.25");
    }

    #[test]
    fn functions_and_pipelines() {
        assert_eq!(
            render("{{json .Config.Env}}", CONTAINER),
            r#"["A=1","B=2"]"#
        );
        assert_eq!(
            render("{{.Config.Labels | json}}", CONTAINER),
            r#"{"a":"1","b":"2"}"#
        );
        assert_eq!(render(r#"{{index .Config.Labels "b"}}"#, CONTAINER), "2");
        assert_eq!(render("{{index .Config.Env 1}}", CONTAINER), "B=2");
        let port = r#"{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}"#;
        assert_eq!(render(port, CONTAINER), "8080");
        assert_eq!(render(r#"{{join .Config.Env ","}}"#, CONTAINER), "A=1,B=2");
        assert_eq!(render("{{len .Config.Env}} {{len .Id}}", CONTAINER), "2 3");
        assert_eq!(render(r#"{{println .Id "x"}}"#, CONTAINER), "abc x\n");
    }

    #[test]
    fn blocks_and_trim_markers() {
        let env = "{{range .Config.Env}}[{{.}}]{{end}}";
        assert_eq!(render(env, CONTAINER), "[A=1][B=2]");
        let tty = "{{if .Config.Tty}}tty{{else if .State.Running}}up{{else}}no{{end}}";
        assert_eq!(render(tty, CONTAINER), "up");
        let eq = r#"{{if eq .Id "x" "abc"}}yes{{end}}{{if not .Nope}}!{{end}}"#;
        assert_eq!(render(eq, CONTAINER), "yes!");
        assert_eq!(
            render("{{range .Nope}}x{{else}}none{{end}}", CONTAINER),
            "none"
        );
        assert_eq!(render("a  {{- .Id -}}  \n b", CONTAINER), "aabcb");
    }

    #[test]
    fn errors_name_the_position() {
        let error = |t: &str| Template::parse(t).err().unwrap().to_string();
        assert_eq!(
            error("ab\ncd {{.Id}"),
            "template parsing error: template: :2:8: unexpected \"}\" in operand"
        );
        assert_eq!(
            error("{{.Id"),
            "template parsing error: template: :1:5: unclosed action"
        );
        assert!(error("{{nope .Id}}").contains(":1:2: function \"nope\" not defined"));
        assert!(error("{{if .Id}}x").contains("unexpected EOF"));
        assert!(error("{{end}}").contains("unexpected {{end}}"));
        let strict = Listing::parse(Some("{{.Nope}}"), "").unwrap();
        let err = strict.template.render(&Value::Object(Default::default()));
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("can't evaluate field Nope"));
    }

    #[test]
    fn tables_align_like_dockers_tabwriter() {
        assert_eq!(
            tabwrite("ID\tNAME\tSTATUS\nabcdef0123456\tx\tUp\n"),
            "ID              NAME      STATUS\nabcdef0123456   x         Up\n"
        );
    }
}
