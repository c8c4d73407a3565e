//! `skiff run --trace` (or `SKIFF_TRACE=1`): narrate every kernel step on stderr as it
//! happens, so a reader can watch a container being assembled.
//!
//! Two levels: a *step* says why (from the `container` module's recipe), and a *call*
//! is printed by the `sys` wrapper that makes the system call, so the trace cannot drift
//! from what the code really does. Each line starts with the microseconds since the
//! trace began, so the trace also says where a start's time goes (`tests/bench/start.sh`
//! sums it per mechanism). The origin is a wall-clock time kept in `SKIFF_TRACE_T0`
//! (microseconds since 1970), which every process skiff forks or re-executes (the
//! sealed copy, `sealed_exe`) inherits, so they all count from the same instant; a
//! caller that sets it itself before starting skiff sees the process's own start-up too.

use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const ORIGIN: &str = "SKIFF_TRACE_T0";

static STARTED: OnceLock<u64> = OnceLock::new();

pub fn enable() {
    STARTED.get_or_init(|| {
        let inherited = std::env::var(ORIGIN).ok().and_then(|t| t.parse().ok());
        let origin = inherited.unwrap_or_else(now);
        std::env::set_var(ORIGIN, origin.to_string()); // skiff is one thread: no race
        origin
    });
}

pub fn on() -> bool {
    STARTED.get().is_some()
}

/// Why the next calls happen: one line per step of the recipe.
pub fn step(why: &str) {
    if let Some(started) = STARTED.get() {
        eprintln!("skiff: {:8} {why}", now().saturating_sub(*started));
    }
}

/// The system call itself, indented under its step.
pub fn call(what: fmt::Arguments) {
    if let Some(started) = STARTED.get() {
        eprintln!("skiff: {:8}     {what}", now().saturating_sub(*started));
    }
}

/// Microseconds since 1970.
fn now() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |d| d.as_micros() as u64)
}
