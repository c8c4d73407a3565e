//! `skiff run --trace` (or `SKIFF_TRACE=1`): narrate every kernel step on stderr as it
//! happens, so a reader can watch a container being assembled.
//!
//! Two levels: a *step* says why (from the `container` module's recipe), and a *call*
//! is printed by the `sys` wrapper that makes the system call, so the trace cannot drift
//! from what the code really does. Each line starts with the microseconds since the
//! trace began, so the trace also says where a start's time goes (`tests/bench/start.sh`
//! sums it per mechanism). The origin is a wall-clock time (microseconds since 1970):
//! forked processes share it, and the re-executed sealed copy (`sealed_exe`) is given
//! it as `SKIFF_TRACE_T0`, so all of a start's processes count from the same instant.
//! A caller that sets `SKIFF_TRACE_T0` itself before starting skiff (the bench) sees
//! the process's own start-up too.

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const ORIGIN: &str = "SKIFF_TRACE_T0";

static STARTED: OnceLock<u64> = OnceLock::new();

pub fn enable() {
    STARTED.get_or_init(|| {
        let inherited = std::env::var(ORIGIN).ok().and_then(|t| t.parse().ok());
        inherited.unwrap_or_else(now)
    });
}

/// `SKIFF_TRACE_T0=ORIGIN` for the environment of a process skiff re-executes, unless
/// skiff's own has it already; `None` when not tracing.
pub fn origin_env() -> Option<OsString> {
    let started = STARTED.get()?;
    let inherited = std::env::var_os(ORIGIN).is_some();
    (!inherited).then(|| format!("{ORIGIN}={started}").into())
}

pub fn on() -> bool {
    STARTED.get().is_some()
}

/// Why the next calls happen: one line per step of the recipe.
pub fn step(why: &str) {
    line("", format_args!("{why}"));
}

/// The system call itself, indented under its step.
pub fn call(what: fmt::Arguments) {
    line("    ", what);
}

fn line(indent: &str, what: fmt::Arguments) {
    if let Some(started) = STARTED.get() {
        let line = format!(
            "skiff: {:8} {indent}{what}\n",
            now().saturating_sub(*started)
        );
        // One write(2): eprintln! writes each piece apart (stderr is unbuffered), and the
        // parent's lines and PID 1's, written at the same time, would cut into each other.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// Microseconds since 1970.
fn now() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |d| d.as_micros() as u64)
}
