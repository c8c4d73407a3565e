#!/usr/bin/env python3
"""programs.py TABLE: fails when the tests run a program that TABLE does not list.

TABLE (tests/harness/programs.txt) names every program the tests, the harness, `make
docker-test`, `make test-vm` and `make bench` run on the host, with the Debian package
it comes from; deps.sh installs those packages and check-deps.sh checks they are there.
A list kept by hand drifts from the code, so this reads the code and finds, on this
machine, every word in it that is run as a program:
  - tests/*.rs: the program a `Command::new` starts, and the commands in its shell strings;
  - the shell scripts (and the Makefile's recipes): each command's first word, and
    every word of a command that hands its arguments on to another program (`timeout
    N PROG`, `setpriv ... PROG`, a function of the script's own, an array `"${cmd[@]}"`);
    quoted strings are read as shell too (`sh -c '...'`); comments and here-documents
    (YAML, Python) are not;
  - the Python scripts: the first word of a `subprocess` call's argument list.
A word counts when it names an executable file: found on this machine's PATH and not a
shell builtin, or an absolute path into a bin directory that exists here. So the check
is as good as the machine it runs on, and best after deps.sh: a program missing here is
not seen, and check-deps.sh reports those anyway (from the table). tests/vm/init.sh is
not read: it runs inside the VM, on busybox.

Prints one line per problem and exits 1: a program run but not listed (in the set the
file belongs to: `test`, or `bench` for tests/bench/ and fresh-root.sh), a listed one
that nothing runs any more, or a Python script importing beyond the standard library.
"""

import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHELL_FILES = ["Makefile", "tests/docker-test.sh", "tests/vm/test-vm.sh"]
SHELL_DIRS = ["tests/harness", "tests/bench"]
FRESH_ROOT = "tests/harness/fresh-root.sh"  # a maintainer's tool, as the bench scripts are
# Commands that run their arguments as another command: every word after them counts.
WRAPPERS = {"timeout", "setpriv", "xargs", "unshare", "chroot", "env", "flock", "nice",
            "command", "exec", "script", "time"}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for",
            "case", "esac", "in", "function", "select", "!", "{", "}", "[[", "]]"}
LISTS = {"for", "case", "select"}  # what follows them is a name and words, not a command
SEPARATORS = re.compile(r"\$\(|&&|\|\||[|;&()`{}\n]")
# A command's first word is where a program may be, and after `VAR=x` or a keyword.
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
BIN_DIRS = {"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}
WORD = re.compile(r"^[A-Za-z0-9_./+-]+$")


def builtins():
    listed = subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True,
                            text=True, check=True).stdout.split()
    return set(listed)


BUILTINS = builtins()


def program(word, shell):
    """The program `word` names on this machine, or None."""
    if not WORD.match(word) or word.startswith("-"):
        return None
    if word.startswith("/"):
        runnable = os.path.isfile(word) and os.access(word, os.X_OK)
        return word if runnable and os.path.dirname(word) in BIN_DIRS else None
    if "/" in word or (shell and word in BUILTINS):
        return None
    return word if shutil.which(word) else None


def substitutions(text):
    """The code of each `$(...)` in text, quotes inside it or around it notwithstanding."""
    found = []
    for start in (m.end() for m in re.finditer(r"\$\(", text)):
        depth, end = 1, start
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        found.append(text[start:end - 1])
    return found


def unquote(text):
    """Shell code with its quoted strings blanked out, but for a single-quoted script
    after `-c`: messages, awk and sed programs are not run as commands (the `$(...)` in
    a double-quoted string are read by substitutions())."""

    def code(match):
        quoted = match.group(0)
        script = quoted.startswith("'") and re.search(r"-c\s*$", text[:match.start()])
        return "\n" + quoted[1:-1] + "\n" if script else " "

    return re.sub(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"", code, text)


def shell_programs(text, functions):
    """Programs run by shell code: see the module's doc."""
    found = set()
    for inner in substitutions(text):
        found |= shell_programs(inner, functions)
    for segment in SEPARATORS.split(unquote(text)):
        words = segment.split()
        while words and (words[0] in KEYWORDS - LISTS or ASSIGNMENT.match(words[0])):
            words.pop(0)
        if not words or words[0] in LISTS:
            continue  # `for NAME in WORDS`: no command
        first = words[0]
        if first in WRAPPERS or first in functions or first.startswith("${"):
            candidates = words
        else:
            candidates = [first]
        found.update(p for p in map(lambda w: program(w, True), candidates) if p)
    return found


def strip_shell(text):
    """Shell code without its comments and here-documents (but for the `$(...)` in an
    unquoted one: those run)."""
    out, end, quoted, body = [], None, False, []
    for line in text.splitlines():
        if end is not None:
            if line.strip() != end:
                body.append(line)
                continue
            if not quoted:
                out.extend(substitutions("\n".join(body)))
            end, body = None, []
            continue
        heredoc = re.search(r"<<-?\s*(['\"]?)([A-Za-z_]\w*)", line)  # not $((n << 20))
        if heredoc:
            quoted, end = bool(heredoc.group(1)), heredoc.group(2)
        out.append(re.sub(r"(^|\s)#.*$", "", line))
    return "\n".join(out)


def makefile_recipes(text):
    """The Makefile's shell: its recipes (`@` and `-` dropped) and $(shell ...) calls,
    make's variables erased (`X=$(A)/$(B) cmd` is an assignment, then cmd)."""
    code = [line[1:].lstrip("@-+") for line in text.splitlines() if line.startswith("\t")]
    code += re.findall(r"\$\(shell ([^)]*)\)", text)
    return re.sub(r"\$\([A-Za-z_@<^*D]*\)|\$(?=\$)", "", "\n".join(code))


def rust_host_strings(text):
    """The string literals of Rust source that reach a program on the host: those in a
    statement that builds a `Command` (or in a variable or constant that statement
    names, or in a later statement on the same binding), and scripts with a `#!`."""
    strings = []

    def hide(match):
        if match.group(0).startswith("'"):
            return "''"  # a char literal: its quote must not start a string
        strings.append(match.group(2) if match.group(2) is not None else match.group(3))
        return f"\0{len(strings) - 1}\0"

    literal = re.compile(r'r(#*)"(.*?)"\1|"((?:[^"\\]|\\.)*)"|\'(?:[^\'\\]|\\.)\'', re.S)
    code = literal.sub(hide, text)
    named = {m.group(1): int(m.group(2)) for m in
             re.finditer(r"(?:let|const|static)\s+(?:mut\s+)?(\w+)[^=;]*=\s*\0(\d+)\0\s*;", code)}
    statements = re.split(r";", code)
    chains, bindings = [], set()
    for statement in statements:
        head = re.match(r"\s*(?:let\s+(?:mut\s+)?(\w+)\s*=\s*)?", statement)
        if "Command::new(" in statement:
            chains.append(statement)
            if head.group(1):
                bindings.add(head.group(1))
        else:
            receiver = re.match(r"\s*(\w+)\s*\.", statement)
            if receiver and receiver.group(1) in bindings:
                chains.append(statement)
    used = set()
    for chain in chains:
        used.update(int(n) for n in re.findall(r"\0(\d+)\0", chain))
        used.update(named[w] for w in re.findall(r"\b(\w+)\b", chain) if w in named)
    used.update(i for i, s in enumerate(strings) if s.startswith("#!"))
    return [strings[i] for i in sorted(used)]


def scan():
    """{program: {file: set}} for every file the tests run, each in its set."""
    found = {}

    def add(programs, path):
        kind = "bench" if path.startswith("tests/bench/") or path == FRESH_ROOT else "test"
        for name in programs:
            found.setdefault(name, {})[path] = kind

    shells = SHELL_FILES + [f"{d}/{f}" for d in SHELL_DIRS
                            for f in sorted(os.listdir(os.path.join(REPO, d))) if f.endswith(".sh")]
    texts = {path: open(os.path.join(REPO, path)).read() for path in shells}
    functions = set()
    for text in texts.values():
        functions.update(re.findall(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{", text))
    for path, text in texts.items():
        code = makefile_recipes(text) if path == "Makefile" else strip_shell(text)
        add(shell_programs(code, functions), path)
    for name in sorted(os.listdir(os.path.join(REPO, "tests"))):
        if name.endswith(".rs"):
            path = f"tests/{name}"
            text = open(os.path.join(REPO, path)).read()
            direct = re.findall(r'Command::new\("([^"]+)"\)', text)
            add({p for p in (program(w, False) for w in direct) if p}, path)
            for string in rust_host_strings(text):
                add(shell_programs(string, set()), path)
    for d in SHELL_DIRS:
        for name in sorted(os.listdir(os.path.join(REPO, d))):
            if name.endswith(".py"):
                path = f"{d}/{name}"
                text = open(os.path.join(REPO, path)).read()
                calls = re.findall(r'subprocess\.\w+\(\s*\[\s*"([^"]+)"', text)
                add({p for p in (program(w, False) for w in calls) if p}, path)
    return found


def python_imports():
    """Problems with the Python scripts' imports: the standard library only (python3)."""
    problems = []
    local = {name[:-3] for d in SHELL_DIRS for name in os.listdir(os.path.join(REPO, d))}
    for d in SHELL_DIRS:
        for name in sorted(n[:-3] for n in os.listdir(os.path.join(REPO, d)) if n.endswith(".py")):
            text = open(os.path.join(REPO, d, name + ".py")).read()
            for module in re.findall(r"(?m)^\s*(?:import|from)\s+(\w+)", text):
                if module not in sys.stdlib_module_names and module not in local:
                    problems.append(f"{d}/{name}.py imports {module}, not in Python's standard "
                                    "library: add its Debian package (python3-...) to programs.txt")
    return problems


def main():
    table = {}
    for line in open(sys.argv[1]):
        fields = line.split("#", 1)[0].split()
        if fields:
            table[fields[0]] = fields[2]
    problems = python_imports()
    found = scan()
    for name, files in sorted(found.items()):
        want = "test" if "test" in files.values() else "bench"
        where = ", ".join(sorted(files))
        if name not in table:
            problems.append(f"{where} runs {name}, which programs.txt does not list: add "
                            f"`{name} PACKAGE {want}` (dpkg -S $(command -v {name}) names it)")
        elif want == "test" and table[name] not in ("test", "build"):
            problems.append(f"{where} runs {name}: programs.txt must list it for test")
    for name, kind in sorted(table.items()):
        if kind != "build" and name not in found and program(name, False):
            problems.append(f"programs.txt lists {name}, but nothing runs it any more: remove it")
    for problem in problems:
        print(f"check-deps: {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
