#!/usr/bin/env python3
"""terminal.py SCRIPT -- COMMAND...: run COMMAND on a new pseudo-terminal, as a person
at a terminal would (its controlling terminal, in its own session), and play SCRIPT.

SCRIPT is a list of steps separated by ';;', each one of:
  size ROWS COLS   set the outer terminal's size (TIOCSWINSZ: the kernel sends SIGWINCH)
  send TEXT        type TEXT (Python escapes: \\r, \\x03 for Ctrl-C, \\x04 for Ctrl-D)
  expect TEXT      read until TEXT appears in the output (20 s at most)
  running NAME     wait until a descendant of COMMAND runs NAME (20 s at most)
  signal NUMBER    send COMMAND a signal
Then it waits for COMMAND to end and prints, one per line:
  status N         COMMAND's exit status (or 128 + the signal that ended it)
  settings-same    yes if the outer terminal's settings (what `stty -g` prints) at
                   the end equal those from before COMMAND started
  output REPR      everything COMMAND wrote, as a Python repr
Any step that times out prints `timeout STEP` and the output, and exits 1.
"""
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

DEADLINE = 20.0


def descendants(root):
    """pid -> command name of every process under `root`."""
    parents, names = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        names[int(entry)] = name
    found, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found[child] = names[child]
                frontier.append(child)
    return found


class Session:
    def __init__(self, command):
        self.master, self.slave = os.openpty()
        self.set_size(24, 80)
        slave = self.slave
        # As a person's shell left them, before COMMAND can change them.
        self.settings = termios.tcgetattr(slave)

        def controlling_terminal():
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.child = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        self.output = b""
        self.seen = 0  # `expect` looks only after what it matched last

    def set_size(self, rows, cols):
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read_some(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: no process holds the terminal any more
            data = b""
        self.output += data
        return bool(data)

    def expect(self, text):
        end = time.monotonic() + DEADLINE
        while True:
            at = self.output.find(text.encode(), self.seen)
            if at >= 0:
                self.seen = at + len(text)
                return True
            left = end - time.monotonic()
            if left <= 0 or not self.read_some(left) and self.child.poll() is not None:
                return False

    def running(self, name):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if name in descendants(self.child.pid).values():
                return True
            self.read_some(0.01)  # keeps the output flowing while it polls
        return False

    def step(self, step):
        verb, _, arg = step.strip().partition(" ")
        if verb == "size":
            rows, cols = map(int, arg.split())
            self.set_size(rows, cols)
        elif verb == "send":
            os.write(self.master, arg.encode().decode("unicode_escape").encode())
        elif verb == "expect":
            return self.expect(arg.encode().decode("unicode_escape"))
        elif verb == "running":
            return self.running(arg)
        elif verb == "signal":
            os.kill(self.child.pid, int(arg))
        else:
            raise SystemExit(f"terminal.py: unknown step {step!r}")
        return True

    def finish(self):
        end = time.monotonic() + DEADLINE
        while self.child.poll() is None and time.monotonic() < end:
            self.read_some(0.05)
        if self.child.poll() is None:
            self.child.kill()
            return None
        while self.read_some(0):
            pass
        return self.child.returncode


def main():
    split = sys.argv.index("--")
    script, command = " ".join(sys.argv[1:split]), sys.argv[split + 1 :]
    session = Session(command)
    for step in filter(str.strip, script.split(";;")):
        if not session.step(step):
            print(f"timeout {step.strip()}")
            print(f"output {session.output!r}")
            session.child.kill()
            session.child.wait()
            sys.exit(1)
    status = session.finish()
    code = "timeout" if status is None else status if status >= 0 else 128 - status
    print(f"status {code}")
    final = termios.tcgetattr(session.slave)
    same = session.settings == final
    print(f"settings-same {'yes' if same else 'no'}")
    print(f"output {session.output!r}")


if __name__ == "__main__":
    main()
